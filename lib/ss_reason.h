/* Why a ticket was not taken: the reason every outcome of the handler
 * carries (the protocol document's list of reasons), shared by the ticket
 * code that finds the first few and the handler that finds the rest.
 * Plain C, no httpd. */
#ifndef SS_REASON_H
#define SS_REASON_H

typedef enum {
    SS_OK = 0,
    /* found by opening the ticket (crypto/ss_ticket.c); keep this order */
    SS_R_MALFORMED,
    SS_R_UNKNOWN_KEY,
    SS_R_BAD_TICKET,
    SS_R_EXPIRED,
    SS_R_FUTURE,
    /* found by the receiving site */
    SS_R_UNKNOWN_SOURCE,
    SS_R_MODE,
    SS_R_REFERER,
    SS_R_REPLAYED,
    SS_R_CACHE_UNAVAILABLE,
    SS_R_NO_SESSION,          /* mod_session is not on where the handler is */
    SS_R_NO_SITE,             /* the request's host is not a SharedSessionSites entry */
    SS_R_STATE,               /* navigation ticket not bound to this browser's state */
    SS_R_FETCH_DEST,          /* script ticket not fetched by a <script> */
    SS_R_KIND                 /* payload kind (session entries, cookie pairs) is not this site's */
} ss_reason;

/* "malformed", "unknown-key", ... ; "-" for SS_OK, "?" out of range. */
const char *ss_reason_name(ss_reason reason);

#endif
