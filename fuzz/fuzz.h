/* Shared by the fuzz targets (fuzz/fuzz_<name>.c), which are built twice:
 * with libFuzzer by ./dev fuzz (clang -fsanitize=fuzzer,address,undefined),
 * and with the normal compiler as fuzz/replay_<name>, which feeds every
 * committed corpus file to the same LLVMFuzzerTestOneInput (make check).
 *
 * A target checks properties, not only "no crash": FUZZ_CHECK aborts with
 * the failed condition, so a wrong answer is as loud as a crash. */
#ifndef SS_FUZZ_H
#define SS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>

/* The target's corpus name (fuzz/corpus/<name>/); each target defines it. */
extern const char fuzz_target_name[];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reports a broken property and aborts (libFuzzer saves the input). */
void fuzz_fail(const char *file, int line, const char *what)
    __attribute__((noreturn));

#define FUZZ_CHECK(cond) \
    do { if (!(cond)) fuzz_fail(__FILE__, __LINE__, #cond); } while (0)

/* Once per process: apr_initialize, sodium_init, a long-lived pool for the
 * target's fixed state (keys, site lists).  Idempotent. */
apr_pool_t *fuzz_global_pool(void);

/* A fresh pool for one input.  Between fuzz_input_pool() and
 * fuzz_input_done(), every apr_palloc/apr_pcalloc (also those made inside
 * APR: apr_pstrdup, apr_pstrcat, apr_table_*) is a separate malloc block,
 * so that AddressSanitizer and valgrind see an overrun of a pool string as
 * what it is (inside an APR pool block it would go unnoticed).  The blocks
 * are freed by fuzz_input_done(), after the pool is destroyed. */
apr_pool_t *fuzz_input_pool(void);
void fuzz_input_done(void);

/* A NUL-terminated copy of data[0..size) in its own malloc block (so that a
 * read past the end is caught), freed by fuzz_input_done(). */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* Splits data at the first byte sep: the part before it in *head (a
 * NUL-terminated malloc copy, freed by fuzz_input_done), the rest after it
 * in *rest and *restlen.  Returns 0 when sep does not occur (then *head is all of
 * data and *restlen is 0). */
int fuzz_split(const uint8_t *data, size_t size, uint8_t sep, char **head,
               const uint8_t **rest, size_t *restlen);

/* Replay only: the corpus file being run (NULL under libFuzzer). */
extern const char *fuzz_current_input;

#endif
