/* Base64 and base64url (RFC 4648), strict and branch-free in the data:
 * key files go through here, so neither the character mapping nor the
 * validity test may depend on a secret byte through a branch or a table. */
#include <stdint.h>
#include <sodium.h>

#include "ss_base64.h"

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

/* 6-bit value to its character; c62/c63 are the variant's last two. */
static unsigned ss_b64_char(unsigned v, unsigned c62, unsigned c63)
{
    return (ct_lt(v, 26) & (v + 'A'))
         | (ct_ge(v, 26) & ct_lt(v, 52) & (v + ('a' - 26)))
         | (ct_ge(v, 52) & ct_lt(v, 62) & (v - (52 - '0')))
         | (ct_eq(v, 62) & c62)
         | (ct_eq(v, 63) & c63);
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

size_t ss_b64url_encode(char *out, size_t outcap,
                        const unsigned char *in, size_t inlen)
{
    size_t i, o = 0;
    uint32_t acc;

    /* the first test keeps SS_B64URL_LEN from wrapping */
    if (inlen > (SIZE_MAX / 4) * 3 - 3 || outcap < SS_B64URL_LEN(inlen) + 1) {
        return 0;
    }
    for (i = 0; i + 3 <= inlen; i += 3) {
        acc = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        out[o++] = (char)ss_b64_char((acc >> 18) & 63, '-', '_');
        out[o++] = (char)ss_b64_char((acc >> 12) & 63, '-', '_');
        out[o++] = (char)ss_b64_char((acc >> 6) & 63, '-', '_');
        out[o++] = (char)ss_b64_char(acc & 63, '-', '_');
    }
    if (inlen - i == 1) {
        acc = (uint32_t)in[i] << 16;
        out[o++] = (char)ss_b64_char((acc >> 18) & 63, '-', '_');
        out[o++] = (char)ss_b64_char((acc >> 12) & 63, '-', '_');
    }
    else if (inlen - i == 2) {
        acc = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8);
        out[o++] = (char)ss_b64_char((acc >> 18) & 63, '-', '_');
        out[o++] = (char)ss_b64_char((acc >> 12) & 63, '-', '_');
        out[o++] = (char)ss_b64_char((acc >> 6) & 63, '-', '_');
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
