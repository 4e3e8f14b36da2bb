/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Fuzz target: the group_by of GET /v1/reports/calls (report/report.h report_dims_parse).
 * Invariants: ERR_OK or ERR_INVALID naming "group_by" with a message; what it accepts is a
 * comma-separated list of distinct dimension names with spaces around them (a reference split
 * here gives the same dimensions in the same order); the names joined by "," parse back to the
 * same dimensions; a refused list leaves the output alone. */
#include "base/prelude.h"

#include "base/err.h"
#include "report/report.h"
#include "fuzz.h"

/* The reference: split on ',', trim spaces, look each name up among the REPORT_N_DIMS. */
static bool ref_parse(const char *s, struct report_dims *out)
{
    memset(out, 0, sizeof(*out));
    if (!*s)
        return true;
    for (const char *p = s;;) {
        size_t n = strcspn(p, ",");
        const char *b = p, *e = p + n;
        while (b < e && *b == ' ')
            b++;
        while (e > b && e[-1] == ' ')
            e--;
        size_t d = 0;
        while (d < REPORT_N_DIMS &&
               !(strlen(report_dim_name((enum report_dim)d)) == (size_t)(e - b) &&
                 memcmp(report_dim_name((enum report_dim)d), b, e - b) == 0))
            d++;
        if (d == REPORT_N_DIMS)
            return false;
        for (size_t i = 0; i < out->n; i++)
            if (out->dim[i] == d)
                return false;
        out->dim[out->n++] = (enum report_dim)d;
        if (!p[n])
            return true;
        p += n + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 512)
        return 0; /* the handler refuses 255 bytes or more */
    char *s = fuzz_cstr(data, size);
    struct report_dims dims = {.n = 99}, want;
    struct errbuf eb = {{0}, NULL};
    int rc = report_dims_parse(s, &dims, &eb);
    bool ok = ref_parse(s, &want);
    FUZZ_CHECK(rc == ERR_OK || rc == ERR_INVALID);
    FUZZ_CHECK((rc == ERR_OK) == ok);
    if (rc != ERR_OK) {
        FUZZ_CHECK(eb.msg[0] && eb.field && strcmp(eb.field, "group_by") == 0);
        FUZZ_CHECK(dims.n == 99);
        free(s);
        return 0;
    }
    FUZZ_CHECK(dims.n == want.n && dims.n <= REPORT_N_DIMS);
    char joined[256] = "";
    int len = 0;
    for (size_t i = 0; i < dims.n; i++) {
        FUZZ_CHECK(dims.dim[i] == want.dim[i] && (size_t)dims.dim[i] < REPORT_N_DIMS);
        len += snprintf(joined + len, sizeof(joined) - (size_t)len, "%s%s", i ? "," : "",
                        report_dim_name(dims.dim[i]));
    }
    struct report_dims again;
    FUZZ_CHECK(report_dims_parse(joined, &again, NULL) == ERR_OK && again.n == dims.n);
    FUZZ_CHECK(memcmp(again.dim, dims.dim, dims.n * sizeof(dims.dim[0])) == 0);
    struct report_dims none = {.n = 7};
    FUZZ_CHECK(report_dims_parse(NULL, &none, NULL) == ERR_OK && none.n == 0);
    free(s);
    return 0;
}
