/* Base64 and base64url (RFC 4648), strict.  Standard base64 is for key
 * files: its character mapping and validity test are branch-free, so that
 * they do not depend on a secret byte through a branch or a table.
 * Base64url is for tickets only, which are public (they travel in URLs and
 * pages): a table maps them, several times faster, and the filter encodes
 * one ticket per target site on every page. */
#include <stdint.h>
#include <sodium.h>

#include "ss_base64.h"

/* x86-64 with GCC or clang: an SSSE3 encoder, used when the CPU has it */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SS_B64_SSSE3 1
#else
#define SS_B64_SSSE3 0
#endif

/* 0xff when the condition holds, else 0; x and y are in 0..255. */
static unsigned ct_eq(unsigned x, unsigned y)
{
    return (((x ^ y) - 1U) >> 8) & 0xffU;
}

static unsigned ct_lt(unsigned x, unsigned y)
{
    return ((x - y) >> 8) & 0xffU;
}

static unsigned ct_ge(unsigned x, unsigned y)
{
    return ct_lt(x, y) ^ 0xffU;
}

static const char ss_b64url_chars[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url character to its 6-bit value, 0xff when not in the alphabet */
static const unsigned char ss_b64url_values[256] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3e, 0xff, 0xff,
    0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
    0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0xff, 0xff, 0xff, 0xff, 0x3f,
    0xff, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

size_t ss_b64url_span(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len && ss_b64url_values[(unsigned char)s[i]] != 0xff) {
        i++;
    }
    return i;
}

/* Character to its 6-bit value, or 0xff when it is not in the alphabet. */
static unsigned ss_b64_value(unsigned c, unsigned c62, unsigned c63)
{
    unsigned v = (ct_ge(c, 'A') & ct_lt(c, 'Z' + 1) & (c - 'A'))
               | (ct_ge(c, 'a') & ct_lt(c, 'z' + 1) & (c - ('a' - 26)))
               | (ct_ge(c, '0') & ct_lt(c, '9' + 1) & (c + (52 - '0')))
               | (ct_eq(c, c62) & 62)
               | (ct_eq(c, c63) & 63);

    /* v == 0 is only valid for 'A' */
    return v | (ct_eq(v, 0) & (ct_eq(c, 'A') ^ 0xffU));
}

/* Whole 3-byte quanta of in[0..n) (n % 3 == 0) to out, no NUL; returns
 * the characters written. */
static size_t b64url_quanta_portable(char *out, const unsigned char *in, size_t n)
{
    const unsigned char *end = in + n;
    char *o = out;
    uint32_t acc;

    for (; in < end; in += 3, o += 4) {
        acc = ((uint32_t)in[0] << 16) | ((uint32_t)in[1] << 8) | in[2];
        o[0] = ss_b64url_chars[acc >> 18];
        o[1] = ss_b64url_chars[(acc >> 12) & 63];
        o[2] = ss_b64url_chars[(acc >> 6) & 63];
        o[3] = ss_b64url_chars[acc & 63];
    }
    return (size_t)(o - out);
}

#if SS_B64_SSSE3
#include <immintrin.h>

/* 12 bytes to 16 characters per step with SSSE3 (W. Mula's method, as in
 * "Faster Base64 Encoding and Decoding Using AVX2 Instructions", Mula and
 * Lemire, 2018): one shuffle spreads each 3 bytes over 4 lanes, two
 * multiplies put the four 6-bit values in place, and a 16-entry shuffle
 * table adds the offset of each value's range of the alphabet.  It reads
 * 16 bytes per step, so it stops while fewer than 16 are left; the
 * portable loop does the rest.  No secret goes through it (tickets are
 * public), and it is branch-free anyway. */
__attribute__((target("ssse3")))
static size_t b64url_quanta_ssse3(char *out, const unsigned char *in, size_t n)
{
    const __m128i spread = _mm_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1);
    const __m128i offsets = _mm_setr_epi8('a' - 26, '0' - 52, '0' - 52, '0' - 52,
                                          '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                                          '0' - 52, '0' - 52, '0' - 52, '-' - 62,
                                          '_' - 63, 'A', 0, 0);
    size_t done = 0;

    while (n - done >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(in + done));
        __m128i hi, lo, idx, range;

        v = _mm_shuffle_epi8(v, spread);
        hi = _mm_mulhi_epu16(_mm_and_si128(v, _mm_set1_epi32(0x0fc0fc00)),
                             _mm_set1_epi32(0x04000040));
        lo = _mm_mullo_epi16(_mm_and_si128(v, _mm_set1_epi32(0x003f03f0)),
                             _mm_set1_epi32(0x01000010));
        idx = _mm_or_si128(hi, lo);
        /* range: 13 for A-Z (0-25), 0 for a-z (26-51), 1-10 for digits,
         * 11 for '-' (62), 12 for '_' (63) */
        range = _mm_subs_epu8(idx, _mm_set1_epi8(51));
        range = _mm_or_si128(range, _mm_and_si128(_mm_cmpgt_epi8(_mm_set1_epi8(26), idx),
                                                  _mm_set1_epi8(13)));
        v = _mm_add_epi8(_mm_shuffle_epi8(offsets, range), idx);
        _mm_storeu_si128((__m128i *)(void *)(out + done / 3 * 4), v);
        done += 12;
    }
    return done / 3 * 4 + b64url_quanta_portable(out + done / 3 * 4, in + done, n - done);
}

static int b64_have_ssse3(void)
{
    /* idempotent and cheap after the first call (libgcc's or compiler-rt's
     * constructor has usually run it already) */
    __builtin_cpu_init();
    return __builtin_cpu_supports("ssse3");
}
#endif

size_t ss_b64url_encode(char *out, size_t outcap,
                        const unsigned char *in, size_t inlen)
{
    return ss_b64url_encode_with(out, outcap, in, inlen, 1);
}

size_t ss_b64url_encode_with(char *out, size_t outcap, const unsigned char *in,
                             size_t inlen, int simd)
{
    size_t whole = inlen - inlen % 3, o;
    uint32_t acc;

    /* the first test keeps SS_B64URL_LEN from wrapping */
    if (inlen > (SIZE_MAX / 4) * 3 - 3 || outcap < SS_B64URL_LEN(inlen) + 1) {
        return 0;
    }
#if SS_B64_SSSE3
    if (simd && b64_have_ssse3()) {
        o = b64url_quanta_ssse3(out, in, whole);
    }
    else
#endif
    {
        (void)simd;
        o = b64url_quanta_portable(out, in, whole);
    }
    in += whole;
    switch (inlen - whole) {
    case 1:
        acc = (uint32_t)in[0] << 16;
        out[o++] = ss_b64url_chars[acc >> 18];
        out[o++] = ss_b64url_chars[(acc >> 12) & 63];
        break;
    case 2:
        acc = ((uint32_t)in[0] << 16) | ((uint32_t)in[1] << 8);
        out[o++] = ss_b64url_chars[acc >> 18];
        out[o++] = ss_b64url_chars[(acc >> 12) & 63];
        out[o++] = ss_b64url_chars[(acc >> 6) & 63];
        break;
    }
    out[o] = '\0';
    return o;
}

int ss_b64_decode(ss_b64_variant variant, unsigned char *out, size_t outcap,
                  size_t *outlen, const char *in, size_t inlen)
{
    const unsigned char *s = (const unsigned char *)in;
    unsigned c62, c63, v, bad = 0;
    uint32_t acc = 0;
    size_t i, n, rem, o = 0;

    if (variant == SS_B64_STD) {
        c62 = '+';
        c63 = '/';
        /* padding is optional, but when present it completes the last
         * quantum exactly: "Zg==", "Zm8=", never "Zg=" or "Zm8==" (any
         * other '=' is then a bad character) */
        if (inlen >= 4 && inlen % 4 == 0 && s[inlen - 1] == '=') {
            inlen -= (s[inlen - 2] == '=') ? 2 : 1;
        }
    }
    else if (variant == SS_B64_URL_NOPAD) {
        c62 = '-';
        c63 = '_';
    }
    else {
        return -1;
    }
    rem = inlen % 4;
    if (rem == 1) {
        return -1;
    }
    n = (inlen / 4) * 3 + (rem ? rem - 1 : 0);
    if (n > outcap) {
        return -1;
    }
    if (variant == SS_B64_URL_NOPAD) {
        /* a ticket: whole quanta through the table, then the rest */
        for (i = 0; i + 4 <= inlen; i += 4) {
            unsigned a = ss_b64url_values[s[i]], b = ss_b64url_values[s[i + 1]];
            unsigned c = ss_b64url_values[s[i + 2]], d = ss_b64url_values[s[i + 3]];

            bad |= a | b | c | d;
            acc = ((uint32_t)a << 18) | ((uint32_t)b << 12) | ((uint32_t)c << 6) | d;
            out[o++] = (unsigned char)(acc >> 16);
            out[o++] = (unsigned char)(acc >> 8);
            out[o++] = (unsigned char)acc;
        }
        for (acc = 0; i < inlen; i++) {
            v = ss_b64url_values[s[i]];
            bad |= v;
            acc = (acc << 6) | (v & 63);
        }
    }
    else {
        for (i = 0; i < inlen; i++) {
            v = ss_b64_value(s[i], c62, c63);
            bad |= v;
            acc = (acc << 6) | (v & 63);
            if (i % 4 == 3) {
                out[o++] = (unsigned char)(acc >> 16);
                out[o++] = (unsigned char)(acc >> 8);
                out[o++] = (unsigned char)acc;
                acc = 0;
            }
        }
    }
    /* the unused low bits of the last character must be zero, so that
     * every byte string has one encoding (no ticket malleability) */
    if (rem == 2) {
        bad |= ct_eq(acc & 0x0f, 0) ^ 0xffU;
        out[o++] = (unsigned char)(acc >> 4);
    }
    else if (rem == 3) {
        bad |= ct_eq(acc & 0x03, 0) ^ 0xffU;
        out[o++] = (unsigned char)(acc >> 10);
        out[o++] = (unsigned char)(acc >> 2);
    }
    if (bad & 0xc0) {
        sodium_memzero(out, n);
        return -1;
    }
    *outlen = n;
    return 0;
}
