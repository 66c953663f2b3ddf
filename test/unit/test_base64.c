/* Unit tests of crypto/ss_base64.c: RFC 4648 vectors, both alphabets,
 * and the strictness that makes every byte string have one encoding. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "ss_base64.h"

static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Decodes a NUL-terminated text; returns the length or -1. */
static long decode(ss_b64_variant v, const char *in, unsigned char *out, size_t cap)
{
    size_t n = 12345;

    if (ss_b64_decode(v, out, cap, &n, in, strlen(in)) != 0) {
        assert_int_equal(n, 12345); /* untouched on failure */
        return -1;
    }
    return (long)n;
}

static void test_rfc4648_vectors(void **state)
{
    static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
    static const char *const url[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
    static const char *const std[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                       "Zm9vYmFy" };
    char text[16];
    unsigned char bin[16];
    size_t i, n;

    for (i = 0; i < 7; i++) {
        n = strlen(plain[i]);
        assert_int_equal(ss_b64url_encode(text, sizeof(text), (const unsigned char *)plain[i], n),
                         strlen(url[i]));
        assert_string_equal(text, url[i]);
        assert_int_equal(SS_B64URL_LEN(n), strlen(url[i]));
        assert_int_equal(decode(SS_B64_URL_NOPAD, url[i], bin, sizeof(bin)), n);
        assert_memory_equal(bin, plain[i], n);
        /* standard: with and without padding */
        assert_int_equal(decode(SS_B64_STD, std[i], bin, sizeof(bin)), n);
        assert_memory_equal(bin, plain[i], n);
        assert_int_equal(decode(SS_B64_STD, url[i], bin, sizeof(bin)), n);
        assert_memory_equal(bin, plain[i], n);
    }
}

static void test_alphabets(void **state)
{
    static const unsigned char hi[] = { 0xfb, 0xff, 0xbf };
    unsigned char bin[4];
    char text[8];

    assert_int_equal(ss_b64url_encode(text, sizeof(text), hi, 3), 4);
    assert_string_equal(text, "-_-_");
    assert_int_equal(decode(SS_B64_URL_NOPAD, "-_-_", bin, sizeof(bin)), 3);
    assert_memory_equal(bin, hi, 3);
    assert_int_equal(decode(SS_B64_STD, "+/+/", bin, sizeof(bin)), 3);
    assert_memory_equal(bin, hi, 3);
    /* each variant refuses the other's two characters */
    assert_int_equal(decode(SS_B64_URL_NOPAD, "+/+/", bin, sizeof(bin)), -1);
    assert_int_equal(decode(SS_B64_URL_NOPAD, "AAA+", bin, sizeof(bin)), -1);
    assert_int_equal(decode(SS_B64_URL_NOPAD, "AAA/", bin, sizeof(bin)), -1);
    assert_int_equal(decode(SS_B64_STD, "-_-_", bin, sizeof(bin)), -1);
    assert_int_equal(decode(SS_B64_STD, "AAA-", bin, sizeof(bin)), -1);
    assert_int_equal(decode(SS_B64_STD, "AAA_", bin, sizeof(bin)), -1);
    /* an unknown variant */
    assert_int_equal(decode((ss_b64_variant)0, "AAAA", bin, sizeof(bin)), -1);
}

/* Every byte value in the last place of a full quantum: accepted exactly
 * when it is in the alphabet (or is padding), with its index as value (checks the
 * branch-free mapping against the table). */
static void check_every_byte(ss_b64_variant v, const char *alphabet)
{
    char in[4] = { 'A', 'A', 'A', 0 };
    unsigned char bin[3];
    size_t n;
    int c;
    const char *pos;

    for (c = 0; c < 256; c++) {
        in[3] = (char)c;
        pos = c ? strchr(alphabet, c) : NULL;
        if (pos) {
            assert_int_equal(ss_b64_decode(v, bin, sizeof(bin), &n, in, 4), 0);
            assert_int_equal(n, 3);
            assert_int_equal(bin[0], 0);
            assert_int_equal(bin[1], 0);
            assert_int_equal(bin[2], (unsigned)(pos - alphabet));
        }
        else if (v == SS_B64_STD && c == '=') {
            /* "AAA=" is padding: two bytes */
            assert_int_equal(ss_b64_decode(v, bin, sizeof(bin), &n, in, 4), 0);
            assert_int_equal(n, 2);
        }
        else {
            assert_int_equal(ss_b64_decode(v, bin, sizeof(bin), &n, in, 4), -1);
        }
        /* the same character first in the quantum */
        in[0] = (char)c;
        in[3] = 'A';
        assert_int_equal(ss_b64_decode(v, bin, sizeof(bin), &n, in, 4), pos ? 0 : -1);
        if (pos) {
            assert_int_equal(bin[0] >> 2, (unsigned)(pos - alphabet));
        }
        in[0] = 'A';
    }
}

/* ss_b64url_span: the alphabet that routes a ticket name is the decoder's */
static void test_url_span(void **state)
{
    char one[2] = { 0, 0 }, text[] = "AZaz09-_x+y";
    unsigned char out[4];
    size_t n;
    int c;

    (void)state;
    for (c = 1; c < 256; c++) {
        int in_alphabet = strchr(url_alphabet, c) != NULL;
        char quad[5] = { (char)c, 'A', 'A', 'A', 0 };

        one[0] = (char)c;
        if (ss_b64url_span(one, 1) != (size_t)in_alphabet) {
            fail_msg("byte 0x%02x: span %zu", c, ss_b64url_span(one, 1));
        }
        /* the decoder takes exactly the same bytes */
        assert_int_equal(ss_b64_decode(SS_B64_URL_NOPAD, out, sizeof(out), &n, quad, 4) == 0,
                         in_alphabet);
    }
    assert_int_equal(ss_b64url_span(text, strlen(text)), 9);
    assert_int_equal(ss_b64url_span(text, 4), 4);
    assert_int_equal(ss_b64url_span(text, 0), 0);
    assert_int_equal(ss_b64url_span("a\0b", 3), 1);
}

static void test_every_byte(void **state)
{
    check_every_byte(SS_B64_URL_NOPAD, url_alphabet);
    check_every_byte(SS_B64_STD, std_alphabet);
}

static void test_encode_every_value(void **state)
{
    unsigned char b[3];
    char text[5];
    int v;

    for (v = 0; v < 64; v++) {
        b[0] = (unsigned char)(v << 2);
        b[1] = 0;
        b[2] = (unsigned char)v;
        assert_int_equal(ss_b64url_encode(text, sizeof(text), b, 3), 4);
        assert_int_equal(text[0], url_alphabet[v]);
        assert_int_equal(text[3], url_alphabet[v]);
    }
}

/* Only the canonical last character is accepted: its unused bits are 0. */
static void test_trailing_bits(void **state)
{
    unsigned char bin[4];
    char in[4] = { 'Z', 0, 0, 0 };
    int i, j;

    assert_int_equal(decode(SS_B64_URL_NOPAD, "Zh", bin, sizeof(bin)), -1);
    assert_int_equal(decode(SS_B64_STD, "Zh==", bin, sizeof(bin)), -1);
    assert_int_equal(decode(SS_B64_URL_NOPAD, "Zm9", bin, sizeof(bin)), -1);
    assert_int_equal(decode(SS_B64_STD, "Zm9=", bin, sizeof(bin)), -1);
    for (i = 0; i < 64; i++) {
        in[1] = url_alphabet[i];
        in[2] = 0;
        assert_int_equal(decode(SS_B64_URL_NOPAD, in, bin, sizeof(bin)),
                         (i & 0x0f) ? -1 : 1);
        for (j = 0; j < 64; j++) {
            in[2] = url_alphabet[j];
            assert_int_equal(decode(SS_B64_URL_NOPAD, in, bin, sizeof(bin)),
                             (j & 0x03) ? -1 : 2);
        }
    }
}

static void test_lengths_and_padding(void **state)
{
    static const char *const bad_std[] = {
        "Z", "Zm9vY", "Zg=", "Zm8==", "Zg===", "=", "==", "===", "====", "Z===",
        "Zm9v====", "Zm9v=", "Zg==Zg==", "Zg=a", "=Zg=", "Zm9v\n", " Zm9v", "Zm 9v",
    };
    static const char *const bad_url[] = {
        "Z", "Zm9vY", "Zg==", "Zm8=", "Zg=", "=", "Zm9v ", "Zm9v\n",
    };
    unsigned char bin[8];
    size_t i, n;

    for (i = 0; i < sizeof(bad_std) / sizeof(bad_std[0]); i++) {
        assert_int_equal(decode(SS_B64_STD, bad_std[i], bin, sizeof(bin)), -1);
    }
    for (i = 0; i < sizeof(bad_url) / sizeof(bad_url[0]); i++) {
        assert_int_equal(decode(SS_B64_URL_NOPAD, bad_url[i], bin, sizeof(bin)), -1);
    }
    /* a NUL inside the given length is a bad character, not an end */
    assert_int_equal(ss_b64_decode(SS_B64_URL_NOPAD, bin, sizeof(bin), &n, "Zm\0v", 4), -1);
    assert_int_equal(ss_b64_decode(SS_B64_STD, bin, sizeof(bin), &n, "Zg==", 3), -1);
    /* the length given is what counts, not the NUL */
    assert_int_equal(ss_b64_decode(SS_B64_URL_NOPAD, bin, sizeof(bin), &n, "Zm9vYmFy", 4), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(bin, "foo", 3);
    /* empty text is zero bytes in both variants */
    assert_int_equal(decode(SS_B64_URL_NOPAD, "", bin, sizeof(bin)), 0);
    assert_int_equal(decode(SS_B64_STD, "", bin, sizeof(bin)), 0);
}

static void test_capacity(void **state)
{
    unsigned char bin[6];
    char text[9];

    /* decode: the exact size fits, one byte less does not */
    assert_int_equal(decode(SS_B64_URL_NOPAD, "Zm9vYmFy", bin, 6), 6);
    assert_int_equal(decode(SS_B64_URL_NOPAD, "Zm9vYmFy", bin, 5), -1);
    assert_int_equal(decode(SS_B64_URL_NOPAD, "Zm9vYmE", bin, 5), 5);
    assert_int_equal(decode(SS_B64_URL_NOPAD, "Zm9vYmE", bin, 4), -1);
    assert_int_equal(decode(SS_B64_STD, "Zm9vYg==", bin, 4), 4);
    assert_int_equal(decode(SS_B64_STD, "Zm9vYg==", bin, 3), -1);
    /* encode: needs room for the NUL */
    assert_int_equal(ss_b64url_encode(text, 9, (const unsigned char *)"foobar", 6), 8);
    assert_int_equal(ss_b64url_encode(text, 8, (const unsigned char *)"foobar", 6), 0);
    assert_int_equal(ss_b64url_encode(text, 1, (const unsigned char *)"", 0), 0);
    assert_string_equal(text, "");
    assert_int_equal(ss_b64url_encode(text, 0, (const unsigned char *)"f", 1), 0);
}

/* The SSSE3 path (taken on this machine when the CPU has it) and the
 * portable one write the same text: every length up to 400 bytes, at
 * every alignment, over bytes that reach all 64 values in each position
 * of a 16-byte step. */
static void test_simd_equals_portable(void **state)
{
    unsigned char buf[416];
    char fast[SS_B64URL_LEN(400) + 2], slow[SS_B64URL_LEN(400) + 2];
    size_t len, off, i;
    uint32_t x = 12345;

    (void)state;
    for (i = 0; i < sizeof(buf); i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
    for (off = 0; off < 16; off++) {
        for (len = 0; len <= 400; len++) {
            size_t a, b;

            memset(fast, '#', sizeof(fast));
            memset(slow, '#', sizeof(slow));
            a = ss_b64url_encode_with(fast, sizeof(fast), buf + off, len, 1);
            b = ss_b64url_encode_with(slow, sizeof(slow), buf + off, len, 0);
            assert_int_equal(a, SS_B64URL_LEN(len));
            assert_int_equal(a, b);
            assert_memory_equal(fast, slow, a + 1);
            /* nothing written past the NUL */
            assert_int_equal(fast[a + 1], '#');
        }
    }
    /* every 6-bit value in every lane: 0x00 .. 0xff repeated */
    for (i = 0; i < 384; i++) {
        buf[i] = (unsigned char)i;
    }
    for (i = 0; i < 4; i++) {
        size_t a = ss_b64url_encode_with(fast, sizeof(fast), buf + i, 384 - 3 * i, 1);

        assert_int_equal(ss_b64url_encode_with(slow, sizeof(slow), buf + i, 384 - 3 * i, 0), a);
        assert_memory_equal(fast, slow, a + 1);
    }
}

static void test_round_trip(void **state)
{
    unsigned char in[200], bin[200];
    char text[SS_B64URL_LEN(200) + 1], std[SS_B64URL_LEN(200) + 4];
    size_t len, i, n, tl;

    for (i = 0; i < sizeof(in); i++) {
        in[i] = (unsigned char)(i * 151 + 7);
    }
    for (len = 0; len <= sizeof(in); len++) {
        tl = ss_b64url_encode(text, sizeof(text), in, len);
        assert_int_equal(tl, SS_B64URL_LEN(len));
        assert_true(SS_B64_DECODED_MAX(tl) >= len);
        assert_int_equal(ss_b64_decode(SS_B64_URL_NOPAD, bin, sizeof(bin), &n, text, tl), 0);
        assert_int_equal(n, len);
        assert_memory_equal(bin, in, len);
        /* the same in the standard alphabet, padded */
        for (i = 0; i < tl; i++) {
            std[i] = text[i] == '-' ? '+' : text[i] == '_' ? '/' : text[i];
        }
        while (i % 4) {
            std[i++] = '=';
        }
        assert_int_equal(ss_b64_decode(SS_B64_STD, bin, sizeof(bin), &n, std, i), 0);
        assert_int_equal(n, len);
        assert_memory_equal(bin, in, len);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_alphabets),
        cmocka_unit_test(test_url_span),
        cmocka_unit_test(test_every_byte),
        cmocka_unit_test(test_encode_every_value),
        cmocka_unit_test(test_trailing_bits),
        cmocka_unit_test(test_lengths_and_padding),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_simd_equals_portable),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
