/* Key-file parsing, crypto/ss_keyring.h: ss_key_parse on the input, and
 * ss_keyfile_load on the same bytes written to a file.
 *
 * Properties: a key is accepted exactly when the text, without surrounding
 * white space (space, tab, CR, LF), is canonical base64 of 32 bytes (checked
 * with the project's strict decoder, itself fuzzed by fuzz_base64) and those
 * bytes are not all zero, and then it is ss_key_derive of them; a refusal has a one-line reason that
 * never contains the input (no key material in logs); the file loader
 * agrees with the parser, and refuses files over SS_KEYFILE_MAX bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

#include "fuzz.h"
#include "ss_base64.h"
#include "ss_keyring.h"

const char fuzz_target_name[] = "keyfile";

static char keypath[256];

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void make_keyfile_path(void)
{
    const char *tmp = getenv("TMPDIR");

    /* a memory file system where there is one: the file is rewritten per input */
    if (!tmp || !*tmp) {
        tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    }
    snprintf(keypath, sizeof(keypath), "%s/ss-fuzz-keyfile-%ld",
             tmp, (long)getpid());
}

static void remove_keyfile(void)
{
    unlink(keypath);
}

/* msg without the key file's path (which the fuzzer's text may match). */
static const char *without_path(apr_pool_t *p, const char *msg)
{
    const char *at = strstr(msg, keypath);

    if (!at) {
        return msg;
    }
    return apr_pstrcat(p, apr_pstrmemdup(p, msg, (size_t)(at - msg)),
                       at + strlen(keypath), NULL);
}

/* 1 when s could be (part of) a key: 16 or more base64 characters.
 * (Shorter or other text may well appear in a reason by chance.) */
static int keylike(const char *s)
{
    size_t n = strlen(s);

    return n >= 16 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                "0123456789+/=") == n;
}

static int all_zero(const unsigned char *b, size_t n)
{
    unsigned char acc = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        acc |= b[i];
    }
    return acc == 0;
}

static int one_line(const char *s)
{
    return s && *s && !strchr(s, '\n') && !strchr(s, '\r');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_input_pool();
    char *text = fuzz_strndup(data, size), *trimmed;
    const char *err = NULL, *ferr = NULL;
    size_t b = 0, e = size, n = 0;
    unsigned char raw[SS_B64_DECODED_MAX(SS_KEYFILE_MAX) + 4];
    ss_key key, want, loaded;
    apr_status_t rv, frv;
    int expect, loose = -1;
    FILE *f;

    if (!keypath[0]) {
        make_keyfile_path();
        atexit(remove_keyfile);
    }
    while (b < e && is_ws(data[b])) {
        b++;
    }
    while (e > b && is_ws(data[e - 1])) {
        e--;
    }
    trimmed = fuzz_strndup(data + b, e - b);
    expect = e > b && e - b <= SS_KEYFILE_MAX
             && ss_b64_decode(SS_B64_STD, raw, sizeof(raw), &n, text + b, e - b) == 0
             && n == SS_MASTER_KEY_BYTES && !all_zero(raw, n);
    if (expect) {
        ss_key_derive(&want, raw);
    }

    rv = ss_key_parse(&key, text, size, &err);
    FUZZ_CHECK((rv == APR_SUCCESS) == expect);
    if (expect) {
        FUZZ_CHECK(memcmp(&key, &want, sizeof(key)) == 0);
    }
    else {
        FUZZ_CHECK(rv == APR_EINVAL && one_line(err));
        /* the reason never repeats the text (a key must not reach a log) */
        FUZZ_CHECK(!keylike(trimmed) || !strstr(err, trimmed));
    }

    /* the same bytes as a key file */
    f = fopen(keypath, "wb");
    if (f) {
        if (size) {
            fwrite(data, 1, size, f);
        }
        fclose(f);
        frv = ss_keyfile_load(&loaded, p, keypath, &loose, &ferr);
        FUZZ_CHECK(loose >= 0 && loose <= (SS_KEYFILE_READABLE | SS_KEYFILE_WRITABLE));
        if (size > SS_KEYFILE_MAX) {
            FUZZ_CHECK(frv != APR_SUCCESS);
        }
        else {
            FUZZ_CHECK((frv == APR_SUCCESS) == expect);
        }
        if (frv == APR_SUCCESS) {
            FUZZ_CHECK(memcmp(&loaded, &want, sizeof(loaded)) == 0);
        }
        else {
            FUZZ_CHECK(one_line(ferr));
            FUZZ_CHECK(!keylike(trimmed) || !strstr(without_path(p, ferr), trimmed));
        }
    }
    fuzz_input_done();
    return 0;
}
