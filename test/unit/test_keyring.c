/* Unit tests of crypto/ss_keyring.c: key derivation (docs/PROTOCOL.md, "Keys"),
 * key text and key files, the keyring and the wiping of its keys. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <sodium.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "ss_keyring.h"

/* K = 0x00..0x1f of docs/PROTOCOL.md, "Test vectors" */
#define VECTOR_KEY_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
static const unsigned char vector_kid[SS_KID_BYTES] = { 0x05, 0x3f, 0x25, 0x38 };
/* bytes 0x00..0x1e and 0x00..0x20: one short, one long */
#define B31 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg=="
#define B33 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"
/* 32 bytes 0xff: "/" is in the standard alphabet only */
#define FF_STD "//////////////////////////////////////////8="

typedef struct fixture {
    apr_pool_t *pool;
    char dir[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));

    if (!f || apr_pool_create(&f->pool, NULL) != APR_SUCCESS) {
        return -1;
    }
    strcpy(f->dir, "/tmp/ss_keyring_XXXXXX");
    if (!mkdtemp(f->dir)) {
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    struct dirent *e;
    DIR *d = opendir(f->dir);
    const char *path;

    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            path = apr_pstrcat(f->pool, f->dir, "/", e->d_name, NULL);
            if (unlink(path) != 0) {
                rmdir(path);
            }
        }
    }
    if (d) {
        closedir(d);
    }
    rmdir(f->dir);
    apr_pool_destroy(f->pool);
    free(f);
    return 0;
}

/* Writes a file with exactly this mode (umask aside); returns its path. */
static const char *write_file(fixture *f, const char *name, const char *data,
                              size_t len, mode_t mode)
{
    const char *path = apr_pstrcat(f->pool, f->dir, "/", name, NULL);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
    return path;
}

static int is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < n; i++) {
        if (b[i]) {
            return 0;
        }
    }
    return 1;
}

static void test_derive_vector(void **state)
{
    unsigned char master[SS_MASTER_KEY_BYTES], ek[SS_EK_BYTES];
    ss_key key;
    int i;

    for (i = 0; i < SS_MASTER_KEY_BYTES; i++) {
        master[i] = (unsigned char)i;
    }
    ss_key_derive(&key, master);
    assert_memory_equal(key.kid, vector_kid, SS_KID_BYTES);
    assert_int_equal(crypto_kdf_derive_from_key(ek, sizeof(ek), 1, "ShSessV1", master), 0);
    assert_memory_equal(key.ek, ek, SS_EK_BYTES);
    /* the kid is not a piece of EK */
    assert_memory_not_equal(key.kid, key.ek, SS_KID_BYTES);
}

static void check_parse_ok(const char *text)
{
    const char *err = NULL;
    ss_key key;

    assert_int_equal(ss_key_parse(&key, text, strlen(text), &err), APR_SUCCESS);
    assert_memory_equal(key.kid, vector_kid, SS_KID_BYTES);
}

static void test_parse_valid(void **state)
{
    check_parse_ok(VECTOR_KEY_B64);
    check_parse_ok(VECTOR_KEY_B64 "\n");                  /* openssl rand -base64 32 */
    check_parse_ok(" \t\r\n" VECTOR_KEY_B64 "\r\n\t \n");
    check_parse_ok("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"); /* padding optional */
}

/* Rejected with a one-line reason containing why, and out wiped. */
static void check_parse_bad(const char *text, size_t len, const char *why)
{
    const char *err = NULL;
    ss_key key;

    memset(&key, 0xaa, sizeof(key));
    assert_int_equal(ss_key_parse(&key, text, len, &err), APR_EINVAL);
    assert_non_null(err);
    assert_non_null(strstr(err, why));
    assert_null(strchr(err, '\n'));
    assert_true(is_zero(&key, sizeof(key)));
}

static void test_parse_invalid(void **state)
{
    static char long_text[SS_KEYFILE_MAX + 1];
    char ff[] = FF_STD;
    const char *err = NULL;
    ss_key key;
    size_t i;

    memset(long_text, 'A', sizeof(long_text));
    check_parse_bad("", 0, "empty");
    check_parse_bad(" \r\n\t ", 5, "empty");
    check_parse_bad("not base64 at all!", 18, "not valid base64");
    check_parse_bad(B31, strlen(B31), "32 bytes");
    check_parse_bad(B33, strlen(B33), "32 bytes");
    check_parse_bad("AAECAwQFBgcICQoLDA0O DxAREhMUFRYXGBkaGxwdHh8=", 45, "not valid base64");
    check_parse_bad("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==", 45, "not valid base64");
    check_parse_bad("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=", 44, "not valid base64");
    check_parse_bad(VECTOR_KEY_B64, 41, "not valid base64");
    check_parse_bad(long_text, sizeof(long_text), "too long");
    /* a NUL inside the given length is not white space */
    check_parse_bad(VECTOR_KEY_B64 "\0", sizeof(VECTOR_KEY_B64), "not valid base64");
    /* the error never carries the key text */
    assert_int_equal(ss_key_parse(&key, B33, strlen(B33), &err), APR_EINVAL);
    assert_null(strstr(err, "AAECAwQF"));
    /* standard alphabet only: 0xff.. is "//..." there, "__..." in base64url */
    assert_int_equal(ss_key_parse(&key, ff, strlen(ff), &err), APR_SUCCESS);
    for (i = 0; ff[i]; i++) {
        ff[i] = ff[i] == '/' ? '_' : ff[i];
    }
    check_parse_bad(ff, strlen(ff), "not valid base64");
}

static void test_keyfile_valid(void **state)
{
    fixture *f = *state;
    const char *err = NULL, *path;
    int loose = -1;
    ss_key key;

    path = write_file(f, "k600", VECTOR_KEY_B64 "\n", 45, 0600);
    assert_int_equal(ss_keyfile_load(&key, f->pool, path, &loose, &err), APR_SUCCESS);
    assert_memory_equal(key.kid, vector_kid, SS_KID_BYTES);
    assert_int_equal(loose, 0);
    /* loose_perms may be NULL */
    assert_int_equal(ss_keyfile_load(&key, f->pool, path, NULL, &err), APR_SUCCESS);

    path = write_file(f, "kspace", "\n\n  \t" VECTOR_KEY_B64 " \r\n\r\n", 54, 0400);
    assert_int_equal(ss_keyfile_load(&key, f->pool, path, &loose, &err), APR_SUCCESS);
    assert_memory_equal(key.kid, vector_kid, SS_KID_BYTES);
    assert_int_equal(loose, 0);
}

static void test_keyfile_perms(void **state)
{
    enum { R = SS_KEYFILE_READABLE, W = SS_KEYFILE_WRITABLE };
    static const struct { mode_t mode; int loose; } cases[] = {
        { 0600, 0 }, { 0400, 0 }, { 0700, 0 }, { 0610, 0 }, { 0601, 0 },
        { 0644, R }, { 0640, R }, { 0604, R }, { 0440, R }, { 0444, R },
        /* whoever may write the file may put a key of their own in it */
        { 0620, W }, { 0602, W }, { 0420, W }, { 0402, W }, { 0622, W },
        { 0660, R | W }, { 0606, R | W }, { 0666, R | W }, { 0642, R | W }, { 0777, R | W },
    };
    fixture *f = *state;
    const char *err = NULL, *path;
    int loose;
    size_t i;
    ss_key key;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        path = write_file(f, apr_psprintf(f->pool, "k%o", (unsigned)cases[i].mode),
                          VECTOR_KEY_B64, 44, cases[i].mode);
        loose = -1;
        assert_int_equal(ss_keyfile_load(&key, f->pool, path, &loose, &err), APR_SUCCESS);
        assert_int_equal(loose, cases[i].loose);
    }
}

/* Refused with a one-line reason naming the file and containing why. */
static void check_keyfile_bad(fixture *f, const char *path, const char *why)
{
    const char *err = NULL;
    ss_key key;

    memset(&key, 0xaa, sizeof(key));
    assert_int_not_equal(ss_keyfile_load(&key, f->pool, path, NULL, &err), APR_SUCCESS);
    assert_non_null(err);
    assert_non_null(strstr(err, path));
    if (!strstr(err, why)) {
        fail_msg("\"%s\" does not contain \"%s\"", err, why);
    }
    assert_null(strchr(err, '\n'));
    assert_true(is_zero(&key, sizeof(key)));
}

static void test_keyfile_invalid(void **state)
{
    fixture *f = *state;
    char text[SS_KEYFILE_MAX + 2];
    const char *path, *err = NULL;
    int loose = -1;
    ss_key key;

    check_keyfile_bad(f, write_file(f, "empty", "", 0, 0600), "empty");
    check_keyfile_bad(f, write_file(f, "blank", "\n \n", 3, 0600), "empty");
    check_keyfile_bad(f, write_file(f, "text", "secret=hunter2\n", 15, 0600),
                      "not valid base64");
    check_keyfile_bad(f, write_file(f, "b31", B31 "\n", 45, 0600), "decodes to 31 bytes");
    check_keyfile_bad(f, write_file(f, "b33", B33 "\n", 45, 0600), "decodes to 33 bytes");
    check_keyfile_bad(f, write_file(f, "b33", B33 "\n", 45, 0600), "keygen");
    /* two keys in one file are not one key */
    check_keyfile_bad(f, write_file(f, "two", VECTOR_KEY_B64 "\n" VECTOR_KEY_B64 "\n", 90, 0600),
                      "not valid base64");
    check_keyfile_bad(f, apr_pstrcat(f->pool, f->dir, "/missing", NULL),
                      "No such file or directory");
    /* a missing file: how to make one */
    path = apr_pstrcat(f->pool, f->dir, "/missing", NULL);
    check_keyfile_bad(f, path, apr_pstrcat(f->pool, "shared-session-tool keygen --out ", path,
                                           NULL));
    check_keyfile_bad(f, path, apr_pstrcat(f->pool, "umask 077; shared-session-tool keygen > ",
                                           path, NULL));
    check_keyfile_bad(f, f->dir, "not a regular file");

    /* exactly the limit is read; one byte more is refused */
    memset(text, ' ', sizeof(text));
    memcpy(text, VECTOR_KEY_B64, 44);
    path = write_file(f, "max", text, SS_KEYFILE_MAX, 0600);
    assert_int_equal(ss_keyfile_load(&key, f->pool, path, NULL, &err), APR_SUCCESS);
    assert_memory_equal(key.kid, vector_kid, SS_KID_BYTES);
    check_keyfile_bad(f, write_file(f, "big", text, SS_KEYFILE_MAX + 1, 0600), "larger than");
    check_keyfile_bad(f, write_file(f, "huge", text, SS_KEYFILE_MAX + 2, 0600), "larger than");

    /* loose permissions are reported even when the key is bad */
    path = write_file(f, "badloose", "x", 1, 0644);
    assert_int_equal(ss_keyfile_load(&key, f->pool, path, &loose, &err), APR_EINVAL);
    assert_int_equal(loose, 1);

    /* unreadable whoever runs the test (root reads mode 0000 files) */
    path = write_file(f, "plain", VECTOR_KEY_B64, 44, 0600);
    check_keyfile_bad(f, apr_pstrcat(f->pool, path, "/key", NULL), "Not a directory");
}

/* 32 zero bytes; the same with the last byte 1 */
#define ZERO_B64 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define ZERO_BUT_ONE_B64 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE="
/* the bytes of VECTOR_KEY_B64 in hex, as openssl rand -hex 32 writes a key */
#define VECTOR_KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static void test_parse_all_zero(void **state)
{
    const char *err = NULL;
    ss_key key;

    (void)state;
    check_parse_bad(ZERO_B64, strlen(ZERO_B64), "all 32 bytes are zero");
    check_parse_bad("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", 44, "zero");
    check_parse_bad(ZERO_B64, strlen(ZERO_B64), "keygen");
    /* one bit set is a key (weak keys are not this parser's business) */
    assert_int_equal(ss_key_parse(&key, ZERO_BUT_ONE_B64, strlen(ZERO_BUT_ONE_B64), &err),
                     APR_SUCCESS);
}

static void test_parse_hex(void **state)
{
    static const char *const hex[] = {
        VECTOR_KEY_HEX, VECTOR_KEY_HEX "\n", "  " VECTOR_KEY_HEX "\r\n",
        "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "0000000000000000000000000000000000000000000000000000000000000000",
    };
    const char *err = NULL;
    ss_key key;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(hex) / sizeof(hex[0]); i++) {
        check_parse_bad(hex[i], strlen(hex[i]), "not base64 (it looks like hex: ");
        assert_int_equal(ss_key_parse(&key, hex[i], strlen(hex[i]), &err), APR_EINVAL);
        assert_null(strstr(err, "0a0b0c0d"));
        assert_null(strstr(err, "48 bytes"));
    }
    /* 64 characters that are not all hex digits, or 60 and 68 hex digits:
     * base64 of the wrong size, not hex */
    check_parse_bad(VECTOR_KEY_HEX, 60, "does not decode to 32 bytes");
    check_parse_bad("g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 64,
                    "does not decode to 32 bytes");
    check_parse_bad(VECTOR_KEY_HEX "0a0b", 68, "does not decode to 32 bytes");
}

static void test_keyfile_all_zero_and_hex(void **state)
{
    fixture *f = *state;
    const char *path, *err = NULL;
    ss_key key;

    path = write_file(f, "zero", ZERO_B64 "\n", 45, 0600);
    check_keyfile_bad(f, path, apr_pstrcat(f->pool, "key file ", path,
                                           ": all 32 bytes are zero", NULL));
    path = write_file(f, "hex", VECTOR_KEY_HEX "\n", 65, 0600);
    check_keyfile_bad(f, path, apr_pstrcat(f->pool, "key file ", path,
                                           ": not base64 (it looks like hex: ", NULL));
    check_keyfile_bad(f, path, apr_pstrcat(f->pool, "xxd -r -p ", path, " | base64", NULL));
    assert_int_equal(ss_keyfile_load(&key, f->pool, path, NULL, &err), APR_EINVAL);
    assert_null(strstr(err, "decodes to"));
    assert_null(strstr(err, "0a0b0c0d"));
}

static ss_key make_key(unsigned char seed)
{
    unsigned char master[SS_MASTER_KEY_BYTES];
    ss_key key;

    memset(master, seed, sizeof(master));
    ss_key_derive(&key, master);
    return key;
}

static void test_keyring(void **state)
{
    fixture *f = *state;
    ss_keyring *kr = ss_keyring_make(f->pool);
    ss_key keys[9], other = make_key(200), twin;
    int i, j;

    assert_non_null(kr);
    assert_int_equal(kr->nkeys, 0);
    assert_null(ss_keyring_sealer(kr));
    assert_null(ss_keyring_find(kr, other.kid));
    assert_null(ss_keyring_sealer(NULL));
    assert_null(ss_keyring_find(NULL, other.kid));

    /* more than one allocation's worth, to cover growth */
    for (i = 0; i < 9; i++) {
        keys[i] = make_key((unsigned char)(i + 1));
        assert_int_equal(ss_keyring_add(kr, f->pool, &keys[i]), APR_SUCCESS);
        assert_int_equal(kr->nkeys, i + 1);
        assert_ptr_equal(ss_keyring_sealer(kr), &kr->keys[0]);
        assert_memory_equal(ss_keyring_sealer(kr), &keys[0], sizeof(ss_key));
        for (j = 0; j <= i; j++) {
            assert_non_null(ss_keyring_find(kr, keys[j].kid));
            assert_memory_equal(ss_keyring_find(kr, keys[j].kid), &keys[j], sizeof(ss_key));
        }
    }
    assert_null(ss_keyring_find(kr, other.kid));
    /* a key already there (same kid) is not added twice */
    twin = keys[4];
    twin.ek[0] ^= 1;
    assert_int_equal(ss_keyring_add(kr, f->pool, &keys[4]), APR_EEXIST);
    assert_int_equal(ss_keyring_add(kr, f->pool, &twin), APR_EEXIST);
    assert_int_equal(kr->nkeys, 9);
    assert_memory_equal(ss_keyring_find(kr, keys[4].kid), &keys[4], sizeof(ss_key));
    /* the keyring copies: changing the caller's key changes nothing */
    keys[0].ek[0] ^= 1;
    assert_memory_not_equal(ss_keyring_sealer(kr)->ek, keys[0].ek, SS_EK_BYTES);
}

/* Registered before the keyring, so it runs after the keyring's own
 * cleanups (LIFO) while the pool's memory is still there. */
static const ss_keyring *wiped_kr;
static int wiped_ok = -1;

static apr_status_t check_wiped(void *data)
{
    wiped_ok = wiped_kr && is_zero(wiped_kr->keys, sizeof(ss_key) * (size_t)wiped_kr->nalloc);
    return APR_SUCCESS;
}

static void test_keyring_wiped(void **state)
{
    fixture *f = *state;
    apr_pool_t *p;
    ss_keyring *kr;
    const ss_key *old;
    ss_key key;
    int i;

    assert_int_equal(apr_pool_create(&p, f->pool), APR_SUCCESS);
    apr_pool_cleanup_register(p, NULL, check_wiped, apr_pool_cleanup_null);
    kr = ss_keyring_make(p);
    wiped_kr = kr;
    for (i = 0; i < 4; i++) {
        key = make_key((unsigned char)(i + 1));
        assert_int_equal(ss_keyring_add(kr, p, &key), APR_SUCCESS);
    }
    old = kr->keys;
    assert_int_equal(kr->nalloc, 4);
    assert_false(is_zero(old, sizeof(ss_key) * 4));
    /* growing moves the keys and wipes the block they leave */
    key = make_key(5);
    assert_int_equal(ss_keyring_add(kr, p, &key), APR_SUCCESS);
    assert_ptr_not_equal(kr->keys, old);
    assert_true(is_zero(old, sizeof(ss_key) * 4));
    assert_false(is_zero(kr->keys, sizeof(ss_key) * 5));
    wiped_ok = -1;
    apr_pool_destroy(p);
    assert_int_equal(wiped_ok, 1);
    wiped_kr = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_derive_vector),
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_parse_all_zero),
        cmocka_unit_test(test_parse_hex),
        cmocka_unit_test_setup_teardown(test_keyfile_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyfile_perms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyfile_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyfile_all_zero_and_hex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyring, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyring_wiped, setup, teardown),
    };

    /* no sodium_init(): the library must work without one */
    if (apr_initialize() != APR_SUCCESS) {
        return 1;
    }
    atexit(apr_terminate);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
