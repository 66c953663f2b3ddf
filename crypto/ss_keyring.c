/* Master keys, derived keys and the keyring (docs/PROTOCOL.md, "Keys"). */
#include <string.h>
#include <sodium.h>
#include <apr_strings.h>
#include <apr_file_io.h>

#include "ss_base64.h"
#include "ss_keyring.h"

/* A key array and its size, for the cleanup that wipes it. */
typedef struct ss_key_block {
    ss_key *keys;
    int n;
} ss_key_block;

void ss_key_derive(ss_key *out, const unsigned char master[SS_MASTER_KEY_BYTES])
{
    unsigned char id[crypto_kdf_BYTES_MIN];

    crypto_kdf_derive_from_key(out->ek, sizeof(out->ek), 1, SS_KDF_CONTEXT, master);
    crypto_kdf_derive_from_key(id, sizeof(id), 2, SS_KDF_CONTEXT, master);
    memcpy(out->kid, id, SS_KID_BYTES);
    crypto_kdf_derive_from_key(out->gk, sizeof(out->gk), 3, SS_KDF_CONTEXT, master);
    sodium_memzero(id, sizeof(id));
}

static int ss_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* 0xff when lo <= c <= hi, else 0 (all below 256), without a branch: a
 * key's characters must not steer the CPU. */
static unsigned ss_ct_in(unsigned c, unsigned lo, unsigned hi)
{
    return ((((c - lo) | (hi - c)) >> 8) & 0xffU) ^ 0xffU;
}

/* 1 when text[0..len) is 64 hex digits: a 32-byte key written in hex
 * (openssl rand -hex 32), which is also valid base64 (of 48 bytes). */
static int ss_key_text_is_hex(const char *text, size_t len)
{
    unsigned all = 0xffU;
    size_t i;

    if (len != 2 * SS_MASTER_KEY_BYTES) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        unsigned c = (unsigned char)text[i];

        all &= ss_ct_in(c, '0', '9') | ss_ct_in(c | 0x20U, 'a', 'f');
    }
    return all == 0xffU;
}

/* Why a key text is refused: ss_key_parse says it in words, the file
 * loader with the file's name and what it decoded to. */
typedef enum {
    SS_KEY_TEXT_OK = 0,
    SS_KEY_TEXT_EMPTY,
    SS_KEY_TEXT_TOO_LONG,
    SS_KEY_TEXT_NOT_BASE64,
    SS_KEY_TEXT_HEX,
    SS_KEY_TEXT_SIZE,          /* base64, of another size than 32 bytes */
    SS_KEY_TEXT_ALL_ZERO
} ss_key_text;

#define SS_KEY_MAKE_ONE "make one with shared-session-tool keygen"

static const char *const ss_key_text_why[] = {
    NULL,
    "empty (make a key with shared-session-tool keygen)",
    "too long to be a key (a key is 32 bytes in base64)",
    "not valid base64",
    "not base64 (it looks like hex: a key file holds the 32 bytes in base64; "
    "convert it with xxd -r -p FILE | base64, or " SS_KEY_MAKE_ONE ")",
    "does not decode to 32 bytes (make a key with shared-session-tool keygen)",
    "all 32 bytes are zero: not a secret (" SS_KEY_MAKE_ONE ")",
};

/* Parses the text of a key, also telling how many bytes well-formed
 * base64 decoded to (*decoded, or 0 when it was not base64 at all). */
static ss_key_text ss_key_parse_text(ss_key *out, const char *text, size_t len,
                                     size_t *decoded)
{
    unsigned char buf[SS_B64_DECODED_MAX(SS_KEYFILE_MAX)];
    size_t n = 0;
    ss_key_text verdict;

    *decoded = 0;
    memset(out, 0, sizeof(*out));
    while (len > 0 && ss_is_space(text[0])) {
        text++;
        len--;
    }
    while (len > 0 && ss_is_space(text[len - 1])) {
        len--;
    }
    if (len == 0) {
        verdict = SS_KEY_TEXT_EMPTY;
    }
    else if (len > SS_KEYFILE_MAX) {
        verdict = SS_KEY_TEXT_TOO_LONG;
    }
    else if (ss_key_text_is_hex(text, len)) {
        verdict = SS_KEY_TEXT_HEX;
    }
    else if (ss_b64_decode(SS_B64_STD, buf, sizeof(buf), &n, text, len) != 0) {
        verdict = SS_KEY_TEXT_NOT_BASE64;
    }
    else if ((*decoded = n) != SS_MASTER_KEY_BYTES) {
        verdict = SS_KEY_TEXT_SIZE;
    }
    else if (sodium_is_zero(buf, SS_MASTER_KEY_BYTES)) {
        /* constant time, like every look at the key */
        verdict = SS_KEY_TEXT_ALL_ZERO;
    }
    else {
        ss_key_derive(out, buf);
        verdict = SS_KEY_TEXT_OK;
    }
    sodium_memzero(buf, sizeof(buf));
    return verdict;
}

apr_status_t ss_key_parse(ss_key *out, const char *text, size_t len,
                          const char **err)
{
    size_t decoded;
    ss_key_text verdict = ss_key_parse_text(out, text, len, &decoded);

    *err = ss_key_text_why[verdict];
    return verdict == SS_KEY_TEXT_OK ? APR_SUCCESS : APR_EINVAL;
}

apr_status_t ss_keyfile_load(ss_key *out, apr_pool_t *p, const char *path,
                             int *loose_perms, const char **err)
{
    /* one byte more than allowed tells a file that is too large */
    char buf[SS_KEYFILE_MAX + 1];
    char msg[120];
    apr_file_t *f = NULL;
    apr_finfo_t fi;
    apr_size_t got = 0;
    size_t decoded;
    ss_key_text verdict;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    if (loose_perms) {
        *loose_perms = 0;
    }
    /* stat before open: opening a FIFO would block */
    rv = apr_stat(&fi, path, APR_FINFO_TYPE | APR_FINFO_SIZE | APR_FINFO_PROT, p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        *err = apr_psprintf(p, "cannot read key file %s: %s (create it with "
                            "shared-session-tool keygen --out %s, or umask 077; "
                            "shared-session-tool keygen > %s)", path,
                            apr_strerror(rv, msg, sizeof(msg)), path, path);
        goto leave;
    }
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "cannot read key file %s: %s", path,
                            apr_strerror(rv, msg, sizeof(msg)));
        goto leave;
    }
    if (loose_perms) {
        *loose_perms = ((fi.protection & (APR_GREAD | APR_WREAD)) ? SS_KEYFILE_READABLE : 0)
                     | ((fi.protection & (APR_GWRITE | APR_WWRITE)) ? SS_KEYFILE_WRITABLE : 0);
    }
    rv = APR_EINVAL;
    if (fi.filetype != APR_REG) {
        *err = apr_psprintf(p, "key file %s: not a regular file", path);
        goto leave;
    }
    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, APR_OS_DEFAULT, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_read_full(f, buf, sizeof(buf), &got);
    }
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        *err = apr_psprintf(p, "cannot read key file %s: %s", path,
                            apr_strerror(rv, msg, sizeof(msg)));
        goto leave;
    }
    if (got > SS_KEYFILE_MAX) {
        rv = APR_EINVAL;
        *err = apr_psprintf(p, "key file %s: larger than %d bytes, not a key file",
                            path, SS_KEYFILE_MAX);
        goto leave;
    }
    verdict = ss_key_parse_text(out, buf, got, &decoded);
    rv = verdict == SS_KEY_TEXT_OK ? APR_SUCCESS : APR_EINVAL;
    if (verdict == SS_KEY_TEXT_SIZE) {
        *err = apr_psprintf(p, "key file %s: decodes to %" APR_SIZE_T_FMT " bytes, a key "
                            "must be 32 bytes (" SS_KEY_MAKE_ONE ")", path, decoded);
    }
    else if (verdict == SS_KEY_TEXT_HEX) {
        *err = apr_psprintf(p, "key file %s: not base64 (it looks like hex: a key file "
                            "holds the 32 bytes in base64; convert it with "
                            "xxd -r -p %s | base64, or " SS_KEY_MAKE_ONE ")", path, path);
    }
    else if (verdict != SS_KEY_TEXT_OK) {
        *err = apr_psprintf(p, "key file %s: %s", path, ss_key_text_why[verdict]);
    }
leave:
    sodium_memzero(buf, sizeof(buf));
    if (f) {
        apr_file_close(f);
    }
    return rv;
}

static apr_status_t ss_key_block_wipe(void *data)
{
    ss_key_block *b = data;

    sodium_memzero(b->keys, sizeof(ss_key) * (size_t)b->n);
    return APR_SUCCESS;
}

/* A wiped-on-cleanup array of n keys in p. */
static ss_key *ss_key_block_make(apr_pool_t *p, int n)
{
    ss_key_block *b = apr_palloc(p, sizeof(*b));

    b->keys = apr_pcalloc(p, sizeof(ss_key) * (size_t)n);
    b->n = n;
    apr_pool_cleanup_register(p, b, ss_key_block_wipe, apr_pool_cleanup_null);
    return b->keys;
}

ss_keyring *ss_keyring_make(apr_pool_t *p)
{
    return apr_pcalloc(p, sizeof(ss_keyring));
}

apr_status_t ss_keyring_add(ss_keyring *kr, apr_pool_t *p, const ss_key *key)
{
    ss_key *keys;
    int nalloc;

    if (ss_keyring_find(kr, key->kid)) {
        return APR_EEXIST;
    }
    if (kr->nkeys == kr->nalloc) {
        nalloc = kr->nalloc ? kr->nalloc * 2 : 4;
        keys = ss_key_block_make(p, nalloc);
        if (kr->nkeys > 0) {
            memcpy(keys, kr->keys, sizeof(ss_key) * (size_t)kr->nkeys);
            /* the old block stays in its pool until cleared: wipe it now */
            sodium_memzero(kr->keys, sizeof(ss_key) * (size_t)kr->nkeys);
        }
        kr->keys = keys;
        kr->nalloc = nalloc;
    }
    kr->keys[kr->nkeys++] = *key;
    return APR_SUCCESS;
}

const ss_key *ss_keyring_find(const ss_keyring *kr,
                              const unsigned char kid[SS_KID_BYTES])
{
    const ss_key *found = NULL;
    int i;

    if (!kr) {
        return NULL;
    }
    /* every key is compared, so timing tells nothing about which matched */
    for (i = 0; i < kr->nkeys; i++) {
        if (sodium_memcmp(kr->keys[i].kid, kid, SS_KID_BYTES) == 0 && !found) {
            found = &kr->keys[i];
        }
    }
    return found;
}

const ss_key *ss_keyring_sealer(const ss_keyring *kr)
{
    return (kr && kr->nkeys > 0) ? &kr->keys[0] : NULL;
}
