/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Metrics in memory, rendered in the Prometheus text format. A mutex guards the small tables;
 * the critical sections are a few comparisons, far below the cost of a request. */
#include "base/prelude.h"
#include "app/metrics.h"

#include <pthread.h>

#include "base/xalloc.h"
#include "store/store.h"

#define MAX_SERIES 256
#define MAX_COUNTERS 32

static const double bucket_s[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                  0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define N_BUCKETS (sizeof(bucket_s) / sizeof(bucket_s[0]))

struct series {
    const char *route;
    int status;
    uint64_t n;
};

struct metrics {
    pthread_mutex_t mu;
    struct series series[MAX_SERIES];
    size_t n_series;
    uint64_t buckets[N_BUCKETS + 1]; /* last: +Inf */
    double sum_s;
    uint64_t count;
    struct {
        const char *name, *help;
        uint64_t n;
    } counters[MAX_COUNTERS];
    size_t n_counters;
};

struct metrics *metrics_new(void)
{
    struct metrics *m = xcalloc(1, sizeof(*m));
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void metrics_request(struct metrics *m, const char *route, int status, int64_t elapsed_us)
{
    double s = (double)elapsed_us / 1e6;
    size_t b = 0;
    while (b < N_BUCKETS && s > bucket_s[b])
        b++;
    pthread_mutex_lock(&m->mu);
    m->buckets[b]++;
    m->sum_s += s;
    m->count++;
    size_t i = 0;
    while (i < m->n_series && (m->series[i].route != route || m->series[i].status != status))
        i++;
    if (i == m->n_series && m->n_series < MAX_SERIES)
        m->series[m->n_series++] = (struct series){route, status, 0};
    if (i < m->n_series)
        m->series[i].n++;
    pthread_mutex_unlock(&m->mu);
}

void metrics_count(struct metrics *m, const char *name, const char *help, uint64_t n)
{
    pthread_mutex_lock(&m->mu);
    size_t i = 0;
    while (i < m->n_counters && strcmp(m->counters[i].name, name) != 0)
        i++;
    if (i == m->n_counters && m->n_counters < MAX_COUNTERS) {
        m->counters[i].name = name;
        m->counters[i].help = help;
        m->counters[i].n = 0;
        m->n_counters++;
    }
    if (i < m->n_counters)
        m->counters[i].n += n;
    pthread_mutex_unlock(&m->mu);
}

void metrics_render(struct metrics *m, struct store *store, struct buf *out)
{
    pthread_mutex_lock(&m->mu);
    buf_adds(out, "# HELP opendni_http_requests_total HTTP requests by route and status.\n"
                  "# TYPE opendni_http_requests_total counter\n");
    for (size_t i = 0; i < m->n_series; i++)
        buf_addf(out, "opendni_http_requests_total{route=\"%s\",status=\"%d\"} %" PRIu64 "\n",
                 m->series[i].route, m->series[i].status, m->series[i].n);
    buf_adds(out, "# HELP opendni_http_request_duration_seconds Time to answer a request.\n"
                  "# TYPE opendni_http_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (size_t b = 0; b < N_BUCKETS; b++) {
        cum += m->buckets[b];
        buf_addf(out, "opendni_http_request_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
                 bucket_s[b], cum);
    }
    cum += m->buckets[N_BUCKETS];
    buf_addf(out,
             "opendni_http_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
             "opendni_http_request_duration_seconds_sum %.6f\n"
             "opendni_http_request_duration_seconds_count %" PRIu64 "\n",
             cum, m->sum_s, m->count);
    for (size_t i = 0; i < m->n_counters; i++)
        buf_addf(out, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", m->counters[i].name,
                 m->counters[i].help, m->counters[i].name, m->counters[i].name, m->counters[i].n);
    pthread_mutex_unlock(&m->mu);
    buf_addf(out,
             "# HELP opendni_store_errors_total Store operations that failed.\n"
             "# TYPE opendni_store_errors_total counter\n"
             "opendni_store_errors_total %" PRIu64 "\n",
             store_errors(store));
}
