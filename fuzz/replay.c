/* Replays fuzz inputs through a target's LLVMFuzzerTestOneInput without
 * libFuzzer, so that every committed corpus file (and every regression
 * input) runs in make check, with the normal compiler, under valgrind and
 * under the sanitizer build.  A TAP test with one "ok" line.
 *
 *   fuzz/replay_<name>                 every file of the target's corpus:
 *                                      $FUZZ_CORPUS_DIR, else
 *                                      $top_srcdir/fuzz/corpus/<name>
 *   fuzz/replay_<name> PATH...         these files, or every file of these
 *                                      directories (e.g. a crash-* file)
 *
 * A broken property or a crash aborts; the input's path is printed first. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#define REPLAY_MAX_BYTES (1024 * 1024)   /* libFuzzer's -max_len is far below */

static void replay_on_signal(int sig)
{
    /* async-signal-safe: write(2) only */
    static const char msg[] = "\n# replay: crashed on input ";
    ssize_t rc;

    rc = write(2, msg, sizeof(msg) - 1);
    if (fuzz_current_input) {
        rc = write(2, fuzz_current_input, strlen(fuzz_current_input));
    }
    rc = write(2, "\n", 1);
    (void)rc;
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Runs one file; returns 0, or -1 when it cannot be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    size_t n;

    if (!f) {
        fprintf(stderr, "# replay: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    buf = malloc(REPLAY_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        return -1;
    }
    n = fread(buf, 1, REPLAY_MAX_BYTES + 1, f);
    fclose(f);
    if (n > REPLAY_MAX_BYTES) {
        fprintf(stderr, "# replay: %s is larger than %d bytes\n", path, REPLAY_MAX_BYTES);
        free(buf);
        return -1;
    }
    /* an exact-size copy, as libFuzzer passes it: overreads are caught */
    {
        unsigned char *data = malloc(n ? n : 1);

        if (!data) {
            free(buf);
            return -1;
        }
        memcpy(data, buf, n);
        free(buf);
        fuzz_current_input = path;
        LLVMFuzzerTestOneInput(data, n);
        fuzz_current_input = NULL;
        free(data);
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of dir (sorted, so runs are reproducible);
 * adds to *count; returns the number of unreadable entries. */
static int replay_dir(const char *dir, int *count)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    int bad = 0;

    if (!d) {
        fprintf(stderr, "# replay: cannot open directory %s: %s\n", dir, strerror(errno));
        return 1;
    }
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') {
            continue;   /* ".", "..", hidden files (.gitkeep) */
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof(*names));
            if (!names) {
                abort();
            }
        }
        names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
        if (!names[n]) {
            abort();
        }
        sprintf(names[n], "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n) {
        qsort(names, n, sizeof(*names), by_name);
    }
    for (i = 0; i < n; i++) {
        struct stat st;

        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(names[i]) == 0) {
                (*count)++;
            }
            else {
                bad++;
            }
        }
        free(names[i]);
    }
    free(names);
    return bad;
}

static int replay_path(const char *path, int *count)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "# replay: %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (S_ISDIR(st.st_mode)) {
        return replay_dir(path, count);
    }
    if (replay_file(path) != 0) {
        return 1;
    }
    (*count)++;
    return 0;
}

int main(int argc, char **argv)
{
    const char *env = getenv("FUZZ_CORPUS_DIR");
    const char *top = getenv("top_srcdir");
    char *dir = NULL;
    int count = 0, bad = 0, i;

    signal(SIGABRT, replay_on_signal);
    signal(SIGSEGV, replay_on_signal);
    signal(SIGBUS, replay_on_signal);
    signal(SIGFPE, replay_on_signal);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("1..1\n");
    if (argc > 1) {
        for (i = 1; i < argc; i++) {
            bad += replay_path(argv[i], &count);
        }
    }
    else {
        if (env && *env) {
            dir = strdup(env);
        }
        else {
            top = (top && *top) ? top : ".";
            dir = malloc(strlen(top) + strlen(fuzz_target_name) + sizeof("/fuzz/corpus/"));
            if (dir) {
                sprintf(dir, "%s/fuzz/corpus/%s", top, fuzz_target_name);
            }
        }
        if (!dir) {
            abort();
        }
        bad += replay_path(dir, &count);
    }
    fuzz_input_done();
    if (bad || count == 0) {
        printf("not ok 1 - fuzz corpus %s: %d inputs replayed, %d unreadable%s\n",
               fuzz_target_name, count, bad, count == 0 ? " (corpus empty or missing)" : "");
        free(dir);
        return 1;
    }
    printf("ok 1 - fuzz corpus %s: %d inputs replayed\n", fuzz_target_name, count);
    free(dir);
    return 0;
}
