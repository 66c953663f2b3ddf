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
    sodium_memzero(id, sizeof(id));
}

static int ss_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* ss_key_parse, also telling how many bytes a well-formed text decoded
 * to (*decoded, or 0 when it was not base64 at all). */
static apr_status_t ss_key_parse_text(ss_key *out, const char *text, size_t len,
                                      size_t *decoded, const char **err)
{
    unsigned char buf[SS_B64_DECODED_MAX(SS_KEYFILE_MAX)];
    size_t n = 0;
    apr_status_t rv = APR_EINVAL;

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
        *err = "empty (make a key with shared-session-tool keygen)";
        goto leave;
    }
    if (len > SS_KEYFILE_MAX) {
        *err = "too long to be a key (a key is 32 bytes in base64)";
        goto leave;
    }
    if (ss_b64_decode(SS_B64_STD, buf, sizeof(buf), &n, text, len) != 0) {
        *err = "not valid base64";
        goto leave;
    }
    *decoded = n;
    if (n != SS_MASTER_KEY_BYTES) {
        *err = "does not decode to 32 bytes (make a key with "
               "shared-session-tool keygen)";
        goto leave;
    }
    ss_key_derive(out, buf);
    rv = APR_SUCCESS;
leave:
    sodium_memzero(buf, sizeof(buf));
    return rv;
}

apr_status_t ss_key_parse(ss_key *out, const char *text, size_t len,
                          const char **err)
{
    size_t decoded;

    return ss_key_parse_text(out, text, len, &decoded, err);
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
    const char *why;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    if (loose_perms) {
        *loose_perms = 0;
    }
    /* stat before open: opening a FIFO would block */
    rv = apr_stat(&fi, path, APR_FINFO_TYPE | APR_FINFO_SIZE | APR_FINFO_PROT, p);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "cannot read key file %s: %s", path,
                            apr_strerror(rv, msg, sizeof(msg)));
        goto leave;
    }
    if (loose_perms && (fi.protection & (APR_GREAD | APR_WREAD))) {
        *loose_perms = 1;
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
    rv = ss_key_parse_text(out, buf, got, &decoded, &why);
    if (rv != APR_SUCCESS && decoded > 0) {
        *err = apr_psprintf(p, "key file %s: decodes to %" APR_SIZE_T_FMT " bytes, a key "
                            "must be 32 bytes (make one with shared-session-tool keygen)",
                            path, decoded);
    }
    else if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "key file %s: %s", path, why);
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
