/* Tickets, versions 1 and 2: seal and open (the layout is in ss_ticket.h). */
#include <string.h>
#include <sodium.h>
#include <apr_strings.h>

#include "ss_base64.h"
#include "ss_bytes.h"
#include "ss_ticket.h"

/* the largest ticket, decoded, and the largest payload a version-1 ticket
 * can carry (a version-2 one carries SS_STATE_BYTES less) */
#define SS_TICKET_MAX_BYTES SS_B64_DECODED_MAX(SS_TICKET_MAX_CHARS)
#define SS_PAYLOAD_MAX      (SS_TICKET_MAX_BYTES - SS_TICKET_HEADER_BYTES - SS_TAG_BYTES)
#define SS_AD_MAX           (1 + SS_KID_BYTES + SS_SITE_ID_MAX + SS_STATE_BYTES)
#define SS_MODE_FLOW_BITS   0x0f

_Static_assert(SS_STATE_CHARS == SS_B64URL_LEN(SS_STATE_BYTES), "S in base64url");

/* Only bytes 0x21-0x7e: nothing that could split a header or a log line.
 * Eight bytes at a time (the filter checks the session once per target
 * site on every page): a word has a byte below 0x21 exactly when
 * (w - 0x21..21) & ~w & 0x80..80 is not zero, and one above 0x7e exactly
 * when ((w + 0x01..01) | w) & 0x80..80 is not zero. */
#define SS_ONES UINT64_C(0x0101010101010101)
#define SS_HIGH UINT64_C(0x8080808080808080)

static int ss_printable(const char *s, size_t len)
{
    size_t i = 0;
    uint64_t w, bad = 0;

    for (; i + 8 <= len; i += 8) {
        memcpy(&w, s + i, 8);
        bad |= ((w - SS_ONES * 0x21) & ~w) | ((w + SS_ONES * (127 - 0x7e)) | w);
    }
    if (bad & SS_HIGH) {
        return 0;
    }
    for (; i < len; i++) {
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
            return 0;
        }
    }
    return 1;
}

static int ss_site_id_valid(const char *id, size_t len)
{
    return len >= 1 && len <= SS_SITE_ID_MAX && ss_printable(id, len);
}

int ss_next_valid(const char *next, size_t len)
{
    if (len == 0) {
        return 1;
    }
    /* "//host" and "/\host" are taken by browsers as another host */
    if (next[0] != '/' || (len > 1 && (next[1] == '/' || next[1] == '\\'))) {
        return 0;
    }
    return ss_printable(next, len) && !memchr(next, '\\', len) && !memchr(next, '#', len);
}

int ss_session_valid(const char *session, size_t len)
{
    return len > 0 && ss_printable(session, len);
}

void ss_state_digest(const char *cookie_text, size_t len, unsigned char S[SS_STATE_BYTES])
{
    crypto_generichash(S, SS_STATE_BYTES, (const unsigned char *)cookie_text, len, NULL, 0);
}

/* The clear header's size for a version, 0 for a version that has none. */
static size_t ss_header_bytes(unsigned version)
{
    return version == SS_TICKET_VERSION ? SS_TICKET_HEADER_BYTES
         : version == SS_TICKET_VERSION_2 ? SS_TICKET_HEADER_BYTES_2 : 0;
}

/* AD = version || kid || dst, and S for version 2; returns its length. */
static size_t ss_ad_build(unsigned char ad[SS_AD_MAX], unsigned version,
                          const unsigned char *kid, const char *dst, size_t dstlen,
                          const unsigned char *state)
{
    size_t n = 0;

    ad[n++] = (unsigned char)version;
    memcpy(ad + n, kid, SS_KID_BYTES);
    n += SS_KID_BYTES;
    memcpy(ad + n, dst, dstlen);
    n += dstlen;
    if (version == SS_TICKET_VERSION_2) {
        memcpy(ad + n, state, SS_STATE_BYTES);
        n += SS_STATE_BYTES;
    }
    return n;
}

/* 1 when (version, mode byte) opens: see the table in ss_ticket.h. */
static int ss_mode_pair_valid(unsigned version, unsigned mode)
{
    unsigned flow = mode & ~(unsigned)SS_MODE_COOKIE_PAIRS;

    if (version == SS_TICKET_VERSION) {
        return flow == SS_MODE_SCRIPT || flow == SS_MODE_NAVIGATION;
    }
    return version == SS_TICKET_VERSION_2 && flow == SS_MODE_NAVIGATION;
}

apr_status_t ss_ticket_batch_init(apr_pool_t *p, ss_ticket_batch *b,
                                  const ss_key *key, ss_ticket *t)
{
    size_t srclen, nextlen, sesslen, ptlen, i;
    unsigned version;
    const char *next;
    unsigned char *pt;

    memset(b, 0, sizeof(*b));
    if (!key || !t || !t->src || !t->session) {
        return APR_EINVAL;
    }
    version = t->version == 0 ? SS_TICKET_VERSION : (unsigned)t->version;
    next = t->next ? t->next : "";
    srclen = strlen(t->src);
    nextlen = strlen(next);
    sesslen = strlen(t->session);
    /* t->mode is the flow alone: the cookie-pairs bit is t->cookie_pairs */
    if (!ss_site_id_valid(t->src, srclen)
        || !ss_header_bytes(version)
        || (t->mode != SS_MODE_SCRIPT && t->mode != SS_MODE_NAVIGATION)
        || !ss_mode_pair_valid(version, (unsigned)t->mode)
        || (t->mode == SS_MODE_SCRIPT && nextlen > 0)
        || !ss_next_valid(next, nextlen)
        || !ss_session_valid(t->session, sesslen)) {
        return APR_EINVAL;
    }
    /* this also keeps nextlen within its 16 bits */
    ptlen = 8 + 1 + 1 + srclen + 2 + nextlen + sesslen;
    if (ptlen > SS_PAYLOAD_MAX - (ss_header_bytes(version) - SS_TICKET_HEADER_BYTES)) {
        return APR_ENOSPC;
    }
    /* idempotent, so callers need no init of their own; only the random
     * nonce needs it (hashing and AEAD work on the portable code before) */
    if (sodium_init() < 0) {
        return APR_EGENERAL;
    }
    memcpy(t->kid, key->kid, SS_KID_BYTES);

    pt = apr_palloc(p, ptlen);
    ss_be64_put(pt, (uint64_t)t->iat);
    i = 8;
    pt[i++] = (unsigned char)(t->mode | (t->cookie_pairs ? SS_MODE_COOKIE_PAIRS : 0));
    pt[i++] = (unsigned char)srclen;
    memcpy(pt + i, t->src, srclen);
    i += srclen;
    pt[i++] = (unsigned char)(nextlen >> 8);
    pt[i++] = (unsigned char)nextlen;
    memcpy(pt + i, next, nextlen);
    i += nextlen;
    memcpy(pt + i, t->session, sesslen);

    b->key = key;
    b->pt = pt;
    b->ptlen = ptlen;
    b->version = (unsigned char)version;
    if (version == SS_TICKET_VERSION_2) {
        memcpy(b->state, t->state, SS_STATE_BYTES);
    }
    b->chars = SS_B64URL_LEN(ss_header_bytes(version) + ptlen + SS_TAG_BYTES);
    return APR_SUCCESS;
}

apr_status_t ss_ticket_batch_seal(const ss_ticket_batch *b, const char *dst,
                                  const unsigned char *nonce, char *out)
{
    unsigned char raw[SS_TICKET_MAX_BYTES];
    unsigned char ad[SS_AD_MAX];
    size_t dstlen, rawlen, adlen, hdr, i = 0;

    if (!b->pt || !dst || !nonce) {
        return APR_EINVAL;
    }
    dstlen = strlen(dst);
    if (!ss_site_id_valid(dst, dstlen)) {
        return APR_EINVAL;
    }
    hdr = ss_header_bytes(b->version);
    raw[i++] = b->version;
    memcpy(raw + i, b->key->kid, SS_KID_BYTES);
    i += SS_KID_BYTES;
    if (b->version == SS_TICKET_VERSION_2) {
        memcpy(raw + i, b->state, SS_STATE_BYTES);
        i += SS_STATE_BYTES;
    }
    memcpy(raw + i, nonce, SS_NONCE_BYTES);
    adlen = ss_ad_build(ad, b->version, b->key->kid, dst, dstlen, b->state);
    crypto_aead_xchacha20poly1305_ietf_encrypt(raw + hdr, NULL, b->pt, b->ptlen,
                                               ad, adlen, NULL, nonce, b->key->ek);
    rawlen = hdr + b->ptlen + SS_TAG_BYTES;
    ss_b64url_encode(out, b->chars + 1, raw, rawlen);
    return APR_SUCCESS;
}

void ss_ticket_batch_clear(ss_ticket_batch *b)
{
    if (b->pt) {
        sodium_memzero(b->pt, b->ptlen);
    }
    memset(b, 0, sizeof(*b));
}

apr_status_t ss_ticket_seal(apr_pool_t *p, const ss_key *key, const char *dst,
                            ss_ticket *t, const unsigned char *nonce,
                            char **out)
{
    ss_ticket_batch b;
    apr_status_t rv;
    char *text;

    /* an invalid destination is EINVAL before a session that is too large */
    if (!dst || !ss_site_id_valid(dst, strlen(dst))) {
        return APR_EINVAL;
    }
    if ((rv = ss_ticket_batch_init(p, &b, key, t)) != APR_SUCCESS) {
        return rv;
    }
    if (nonce) {
        memcpy(t->nonce, nonce, SS_NONCE_BYTES);
    }
    else {
        randombytes_buf(t->nonce, SS_NONCE_BYTES);
    }
    text = apr_palloc(p, b.chars + 1);
    rv = ss_ticket_batch_seal(&b, dst, t->nonce, text);
    ss_ticket_batch_clear(&b);
    if (rv == APR_SUCCESS) {
        *out = text;
    }
    return rv;
}

/* Splits a decrypted payload into t (strings copied to p).  Every length
 * is checked against what is left before it is used.  Returns SS_OK;
 * SS_R_BAD_TICKET when a field breaks its rules; then SS_R_MALFORMED for a
 * (version, mode) pair that does not open. */
static ss_reason ss_payload_parse(apr_pool_t *p, unsigned version, const unsigned char *pt,
                                  size_t ptlen, ss_ticket *t)
{
    size_t pos, srclen, nextlen;
    uint64_t iat;
    unsigned mode, flow;

    if (ptlen < 8 + 1 + 1) {
        return SS_R_BAD_TICKET;
    }
    iat = ss_be64_get(pt);
    pos = 8;
    mode = pt[pos++];
    flow = mode & SS_MODE_FLOW_BITS;
    srclen = pt[pos++];
    /* a valid site id is 1-255 printable bytes: srclen 0 is refused here */
    if (ptlen - pos < srclen + 2 || !ss_site_id_valid((const char *)pt + pos, srclen)) {
        return SS_R_BAD_TICKET;
    }
    t->src = apr_pstrmemdup(p, (const char *)pt + pos, srclen);
    pos += srclen;
    nextlen = ((size_t)pt[pos] << 8) | pt[pos + 1];
    pos += 2;
    if (ptlen - pos < nextlen
        || (flow == SS_MODE_SCRIPT && nextlen > 0)
        || !ss_next_valid((const char *)pt + pos, nextlen)) {
        return SS_R_BAD_TICKET;
    }
    t->next = apr_pstrmemdup(p, (const char *)pt + pos, nextlen);
    pos += nextlen;
    if (!ss_session_valid((const char *)pt + pos, ptlen - pos)) {
        return SS_R_BAD_TICKET;
    }
    if (!ss_mode_pair_valid(version, mode)) {
        return SS_R_MALFORMED;
    }
    t->session = apr_pstrmemdup(p, (const char *)pt + pos, ptlen - pos);
    t->iat = (int64_t)iat;
    t->mode = (ss_mode)flow;
    t->cookie_pairs = (mode & SS_MODE_COOKIE_PAIRS) != 0;
    return SS_OK;
}

/* Decodes ticket into raw (SS_TICKET_MAX_BYTES) and reads its clear header
 * into t: the checks before a key is needed. */
static ss_reason ss_header_read(const char *ticket, size_t len, unsigned char *raw,
                                size_t *rawlen, ss_ticket *t)
{
    size_t i;

    memset(t, 0, sizeof(*t));
    /* the length alone decides before a byte is read */
    if (!ticket || len > SS_TICKET_MAX_CHARS
        || ss_b64_decode(SS_B64_URL_NOPAD, raw, SS_TICKET_MAX_BYTES, rawlen, ticket, len) != 0
        || *rawlen < SS_TICKET_MIN_BYTES) {
        return SS_R_MALFORMED;
    }
    if (!ss_header_bytes(raw[0])) {
        t->version = raw[0];
        return SS_R_UNKNOWN_KEY;
    }
    if (raw[0] == SS_TICKET_VERSION_2 && *rawlen < SS_TICKET_MIN_BYTES_2) {
        return SS_R_MALFORMED;
    }
    t->version = raw[0];
    i = 1;
    memcpy(t->kid, raw + i, SS_KID_BYTES);
    i += SS_KID_BYTES;
    if (t->version == SS_TICKET_VERSION_2) {
        memcpy(t->state, raw + i, SS_STATE_BYTES);
        i += SS_STATE_BYTES;
    }
    memcpy(t->nonce, raw + i, SS_NONCE_BYTES);
    return SS_OK;
}

ss_reason ss_ticket_peek(const char *ticket, size_t len, ss_ticket *t)
{
    unsigned char raw[SS_TICKET_MAX_BYTES];
    size_t rawlen = 0;

    return ss_header_read(ticket, len, raw, &rawlen, t);
}

ss_reason ss_ticket_open(apr_pool_t *p, const ss_keyring *kr, const char *dst,
                         const char *ticket, size_t len, int64_t now,
                         int timeout, ss_ticket *t)
{
    unsigned char raw[SS_TICKET_MAX_BYTES];
    unsigned char pt[SS_PAYLOAD_MAX];
    unsigned char ad[SS_AD_MAX];
    unsigned long long ptlen = 0;
    size_t rawlen = 0, dstlen, adlen, hdr;
    ss_ticket h;
    const ss_key *key;
    ss_reason reason;
    uint64_t age;

    memset(t, 0, sizeof(*t));
    if ((reason = ss_header_read(ticket, len, raw, &rawlen, &h)) != SS_OK) {
        return reason;
    }
    if (!(key = ss_keyring_find(kr, h.kid))) {
        return SS_R_UNKNOWN_KEY;
    }
    /* a destination that cannot be valid authenticates nothing */
    dstlen = dst ? strlen(dst) : 0;
    if (!ss_site_id_valid(dst, dstlen)) {
        return SS_R_BAD_TICKET;
    }
    hdr = ss_header_bytes((unsigned)h.version);
    adlen = ss_ad_build(ad, (unsigned)h.version, h.kid, dst, dstlen, h.state);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &ptlen, NULL, raw + hdr, rawlen - hdr,
                                                   ad, adlen, h.nonce, key->ek) != 0) {
        return SS_R_BAD_TICKET;
    }
    if ((reason = ss_payload_parse(p, (unsigned)h.version, pt, (size_t)ptlen, t)) != SS_OK) {
        memset(t, 0, sizeof(*t));
        goto leave;
    }
    t->version = h.version;
    memcpy(t->state, h.state, SS_STATE_BYTES);
    memcpy(t->nonce, h.nonce, SS_NONCE_BYTES);
    memcpy(t->kid, h.kid, SS_KID_BYTES);

    /* unsigned differences: no overflow whatever iat the ticket carries */
    if (timeout < 0) {
        timeout = 0;
    }
    if (t->iat < now) {
        age = (uint64_t)now - (uint64_t)t->iat;
        if (age > (uint64_t)timeout) {
            reason = SS_R_EXPIRED;
        }
    }
    else if ((uint64_t)t->iat - (uint64_t)now > SS_CLOCK_SKEW) {
        reason = SS_R_FUTURE;
    }
leave:
    sodium_memzero(pt, (size_t)ptlen);
    return reason;
}
