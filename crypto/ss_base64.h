/* Base64 (standard, for key files) and base64url without padding (tickets).
 * Plain C, no httpd. Decoding is strict: characters outside the alphabet,
 * impossible lengths and non-zero unused trailing bits are rejected, so every
 * byte string has exactly one accepted encoding.  Character mapping is
 * branch-free so that decoding a key does not leak it through timing. */
#ifndef SS_BASE64_H
#define SS_BASE64_H

#include <stddef.h>

typedef enum {
    SS_B64_URL_NOPAD = 1, /* RFC 4648 section 5, no '=' */
    SS_B64_STD       = 2  /* RFC 4648 section 4, '=' padding optional */
} ss_b64_variant;

/* Characters needed to encode n bytes without padding (no NUL). */
#define SS_B64URL_LEN(n) ((((n) / 3) * 4) + (((n) % 3) ? ((n) % 3) + 1 : 0))
/* Upper bound of bytes a base64 text of n characters decodes to. */
#define SS_B64_DECODED_MAX(n) ((((n) + 3) / 4) * 3)

/* Writes the base64url (no padding) text of in[0..inlen) and a NUL to out.
 * outcap must be >= SS_B64URL_LEN(inlen) + 1.  Returns the characters
 * written (without the NUL), or 0 when outcap is too small and inlen > 0. */
size_t ss_b64url_encode(char *out, size_t outcap,
                        const unsigned char *in, size_t inlen);

/* The same, with the SSSE3 code path (x86-64 CPUs that have it) allowed
 * (simd 1) or not (simd 0): both paths are tested against each other. */
size_t ss_b64url_encode_with(char *out, size_t outcap, const unsigned char *in,
                             size_t inlen, int simd);

/* How many characters at the start of s[0..len) are in the base64url
 * alphabet (letters, digits, '-', '_'): len when all are.  For public
 * text (ticket names); not constant-time. */
size_t ss_b64url_span(const char *s, size_t len);

/* Decodes in[0..inlen) into out.  Returns 0 and sets *outlen, or -1 on any
 * invalid input (bad character, impossible length, non-canonical trailing
 * bits, padding where the variant has none, output larger than outcap). */
int ss_b64_decode(ss_b64_variant variant, unsigned char *out, size_t outcap,
                  size_t *outlen, const char *in, size_t inlen);

#endif
