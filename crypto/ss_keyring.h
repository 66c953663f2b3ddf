/* Master keys, derived keys and the keyring (docs/PROTOCOL.md, "Keys").
 * Plain C on APR + libsodium, no httpd. */
#ifndef SS_KEYRING_H
#define SS_KEYRING_H

#include <apr_pools.h>
#include <apr_errno.h>

#define SS_MASTER_KEY_BYTES 32
#define SS_EK_BYTES         32
#define SS_GK_BYTES         32   /* the generation key (ss_gen.h) */
#define SS_KID_BYTES        4
#define SS_KDF_CONTEXT      "ShSessV1"
#define SS_KEYFILE_MAX      4096   /* a key file larger than this is refused */

/* One usable key: what seals/opens tickets, derived from a master key. */
typedef struct ss_key {
    unsigned char kid[SS_KID_BYTES];
    unsigned char ek[SS_EK_BYTES];
    unsigned char gk[SS_GK_BYTES];  /* keys the digest of generations */
} ss_key;

/* Keys in the order configured: keys[0] seals, all open. */
typedef struct ss_keyring {
    int nkeys;
    int nalloc;
    ss_key *keys;   /* wiped by a cleanup of the pool it lives in */
} ss_keyring;

/* EK, kid and GK from a master key (docs/PROTOCOL.md, "Keys"). */
void ss_key_derive(ss_key *out, const unsigned char master[SS_MASTER_KEY_BYTES]);

/* Parses a key file's text: base64 of exactly 32 bytes, not all zero,
 * white space around it ignored.  Returns APR_SUCCESS, or APR_EINVAL with
 * *err a static one-line reason that contains no key material (64 hex
 * digits are named as such).  Wipes every temporary copy. */
apr_status_t ss_key_parse(ss_key *out, const char *text, size_t len,
                          const char **err);

/* What ss_keyfile_load reports in *loose_perms, or-ed together. */
#define SS_KEYFILE_READABLE 1   /* by group or others */
#define SS_KEYFILE_WRITABLE 2   /* by group or others */

/* Reads and parses a key file.  *loose_perms (may be NULL) is set to the
 * SS_KEYFILE_* bits of the file's mode, 0 when only its owner may read and
 * write it.  On failure *err is a one-line reason (allocated in p; names the
 * file, no key material; for a missing file, how to create one). */
apr_status_t ss_keyfile_load(ss_key *out, apr_pool_t *p, const char *path,
                             int *loose_perms, const char **err);

/* An empty keyring in p; its keys are wiped when p is cleared. */
ss_keyring *ss_keyring_make(apr_pool_t *p);

/* Appends a key (copied). Returns APR_SUCCESS, or APR_EEXIST when a key with
 * the same kid is already there (the copy is not added). */
apr_status_t ss_keyring_add(ss_keyring *kr, apr_pool_t *p, const ss_key *key);

/* The key with this kid, or NULL.  Compares in constant time per key. */
const ss_key *ss_keyring_find(const ss_keyring *kr,
                              const unsigned char kid[SS_KID_BYTES]);

/* The sealing key (keys[0]) or NULL when the keyring is empty. */
const ss_key *ss_keyring_sealer(const ss_keyring *kr);

#endif
