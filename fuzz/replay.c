/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The main of a fuzz target when it is not built for libFuzzer (BUILD_FUZZERS=OFF): runs every
 * file of the directories (or the files) named on the command line through
 * LLVMFuzzerTestOneInput, in name order, so the committed corpus is an ordinary ctest.
 * Each input gets a buffer of exactly its size, so sanitizers see reads past its end. */
#include "base/prelude.h"

#include <dirent.h>
#include <sys/stat.h>

#include "base/xalloc.h"
#include "fuzz.h"

#define INPUT_MAX (1 << 20)

/* Reads path into a new buffer of exactly its size; -1 if it cannot be read. */
static long read_input(const char *path, uint8_t **out)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    uint8_t *tmp = xmalloc(INPUT_MAX);
    size_t n = fread(tmp, 1, INPUT_MAX, fp);
    bool ok = !ferror(fp) && n < INPUT_MAX;
    fclose(fp);
    *out = ok ? xmalloc(n ? n : 1) : NULL;
    if (ok && n)
        memcpy(*out, tmp, n);
    free(tmp);
    return ok ? (long)n : -1;
}

static int run_file(const char *path)
{
    uint8_t *data = NULL;
    long n = read_input(path, &data);
    if (n < 0) {
        fprintf(stderr, "replay: cannot read '%s'\n", path);
        return -1;
    }
    LLVMFuzzerTestOneInput(data, (size_t)n);
    free(data);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of dir (dotfiles skipped); returns how many, or -1. */
static long run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        names = xrealloc(names, (n + 1) * sizeof(*names));
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_names);
    long done = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        struct stat stt;
        if (stat(path, &stt) == 0 && S_ISREG(stt.st_mode)) {
            if (run_file(path) < 0)
                done = -1;
            else if (done >= 0)
                done++;
        }
        free(names[i]);
    }
    free(names);
    return done;
}

int main(int argc, char **argv)
{
    long total = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-')
            continue; /* libFuzzer flags: meaningless here */
        struct stat stt;
        bool is_dir = stat(argv[i], &stt) == 0 && S_ISDIR(stt.st_mode);
        long n = is_dir ? run_dir(argv[i]) : run_file(argv[i]) == 0 ? 1 : -1;
        if (n < 0) {
            fprintf(stderr, "replay: cannot read '%s'\n", argv[i]);
            return 1;
        }
        total += n;
    }
    if (total == 0) {
        fprintf(stderr, "replay: no inputs (usage: %s DIR|FILE...)\n", argv[0]);
        return 1;
    }
    printf("%s: %ld inputs replayed, all invariants held\n", argv[0], total);
    return 0;
}
