/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The quarterly audit (issue #17 item 4; `opendni audit`): the pure parts. A reproducible random
 * sample of calls (a seed and the calls' order decide it), the Wilson score interval of an
 * accuracy, and the reading of a marked audit CSV back into accuracy by attribution method.
 * The CLI (cli/cmd_audit.c) reads the store and writes the files.
 * Pure functions; safe from any thread. */
#ifndef OPENDNI_REPORT_AUDIT_H
#define OPENDNI_REPORT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* The z of a two-sided 95 % interval. */
#define AUDIT_Z95 1.959963984540054

/* Chooses min(k, n) of the indices 0..n-1, each k-subset equally likely, from seed alone
 * (selection sampling over a splitmix64 stream): the same seed, n and k give the same indices.
 * out: ascending indices, returns how many. */
size_t audit_sample(uint64_t seed, size_t n, size_t k, size_t *out);

/* The Wilson score interval of `right` successes in n trials at z (AUDIT_Z95): [*lo, *hi] in
 * [0, 1]; n == 0 gives [0, 1]. */
void audit_wilson(int64_t right, int64_t n, double z, double *lo, double *hi);

/* A checker's mark: 1 right ("right", "r", "yes", "y", "1", "true", "correct", "ok", "x"…),
 * 0 wrong ("wrong", "w", "no", "n", "0", "false", "incorrect"), -1 empty, -2 not understood.
 * Case and edge spaces do not matter; a leading ' (CSV neutralization) is ignored. */
int audit_mark(const char *s);

#define AUDIT_METHODS_MAX 16

struct audit_score {
    size_t n_methods;
    struct {
        char method[32];
        int64_t right, marked;
    } m[AUDIT_METHODS_MAX];
    int64_t right, marked;  /* all methods */
    int64_t unmarked;       /* rows with an empty mark */
    int64_t not_understood; /* rows whose mark is neither right nor wrong (first: bad_row) */
    int64_t bad_row;        /* its 1-based line number, 0 if none */
    char bad_mark[64];
};

/* Reads a marked audit CSV (RFC 4180; lines starting with '#' before the header are comments):
 * the header row names the columns `method` and `correct`, every row after it is one call.
 * out: *sc. ERR_OK, ERR_INVALID (eb: no header with those columns, a broken quote, too many
 * methods). */
int audit_score_csv(const char *text, size_t len, struct audit_score *sc, struct errbuf *eb);

#endif
