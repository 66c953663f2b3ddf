/* mod_session's identity encoding ("k=v&k2=v2", urlencoded), done without
 * httpd so that the sender can put a session into a ticket and the receiver
 * can take it out; and what an empty session is.  The reserved key "expiry"
 * is never carried. */
#ifndef SS_SESSION_CODEC_H
#define SS_SESSION_CODEC_H

#include <apr_pools.h>
#include <apr_tables.h>

#define SS_SESSION_RESERVED_KEY "expiry"

/* The one definition of what a session holds: an entry counts when neither
 * its key nor its value is empty and its key is not the reserved "expiry",
 * compared case-sensitively as mod_session does ("Expiry" is an ordinary
 * entry).  The encoder carries exactly the entries that count. */
int ss_session_entry_counts(const char *key, const char *val);

/* 1 when no entry of the table counts: an empty session (no loader, "go"
 * sends no ticket, a ticket may replace it). */
int ss_session_entries_empty(const apr_table_t *entries);

/* SharedSessionLocal: entries that stay on their site.  keys is an array of
 * const char * (NULL: none); names compare case-sensitively. */
int ss_session_key_listed(const apr_array_header_t *keys, const char *key);

/* An entry that counts and is not local: it travels in tickets. */
int ss_session_entry_shared(const char *key, const char *val,
                            const apr_array_header_t *local);

/* The site's one definition of an empty session: no entry besides "expiry"
 * and the local keys; a generation (shared-session-gen, a tombstone) is an
 * entry, so a session that holds one is not empty. */
int ss_session_entries_empty_except(const apr_table_t *entries,
                                    const apr_array_header_t *local);

/* Encodes the entries that count (ss_session_entry_counts) as mod_session
 * does (ap_escape_urlencoded: alnum and ".-*_" kept, space as '+', the rest
 * %XX).  Returns "" when none counts. */
char *ss_session_encode(apr_pool_t *p, const apr_table_t *entries);

/* The same, leaving out the local keys as well: what a ticket carries. */
char *ss_session_encode_except(apr_pool_t *p, const apr_table_t *entries,
                               const apr_array_header_t *local);

/* Decodes into out as session_identity_decode does: apr_table_set per key
 * ('+' is a space, %XX a byte), skipping "expiry" (that very name) and pairs that
 * do not unescape (bad %XX, %00).  A pair without a value ("k", "k=")
 * removes k, by its raw name, as mod_session does.  Returns the number of
 * entries in out afterwards (pass an empty table to count the session's). */
int ss_session_decode(apr_pool_t *p, const char *encoded, apr_table_t *out);

/* Decodes a form-urlencoded value in place ('+' is a space, %XX a byte), as
 * ap_unescape_urlencoded does.  Returns 1, or 0 for a bad %XX or %00 (the
 * string is then unusable). */
int ss_form_unescape(char *s);

#endif
