/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Readiness: the store's commit probe, rate-limited and remembered (see health.h). */
#include "base/prelude.h"
#include "app/health.h"

#include <pthread.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "store/store.h"

struct health {
    pthread_mutex_t probe_mu; /* held while a probe runs: one at a time, others do not wait */
    pthread_mutex_t mu;       /* guards the answer below (held briefly) */
    bool probed;              /* false until the first probe */
    int64_t probed_at;        /* `now` of the last probe */
    int rc;                   /* its answer: ERR_OK or ERR_UNAVAILABLE */
    char msg[256];            /* its reason when rc != ERR_OK */
    int64_t failed_at;        /* `now` of the last failing probe, 0 = none */
};

struct health *health_new(void)
{
    struct health *h = xcalloc(1, sizeof(*h));
    pthread_mutex_init(&h->probe_mu, NULL);
    pthread_mutex_init(&h->mu, NULL);
    return h;
}

void health_free(struct health *h)
{
    if (!h)
        return;
    pthread_mutex_destroy(&h->probe_mu);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

/* Runs the store's probe (probe_mu held) and records its answer; logs a change of state once. */
static void probe(struct health *h, struct store *s, int64_t now)
{
    struct errbuf eb = {{0}, NULL};
    int rc = store_writable(s, now, &eb) == ERR_OK ? ERR_OK : ERR_UNAVAILABLE;
    pthread_mutex_lock(&h->mu);
    if (rc != ERR_OK && (!h->probed || h->rc == ERR_OK))
        log_error("app", "not ready (GET /readyz answers 503): %s", eb.msg);
    else if (rc == ERR_OK && h->probed && h->rc != ERR_OK)
        log_info("app", "ready again: the store commits");
    h->probed = true;
    h->probed_at = now;
    if (rc != ERR_OK)
        h->failed_at = now;
    h->rc = rc;
    snprintf(h->msg, sizeof(h->msg), "%s", rc == ERR_OK ? "" : eb.msg);
    pthread_mutex_unlock(&h->mu);
}

int health_ready(struct health *h, struct store *s, int64_t now, struct errbuf *eb)
{
    pthread_mutex_lock(&h->mu);
    bool first = !h->probed;
    bool stale = first || now - h->probed_at >= HEALTH_PROBE_EVERY_MS || now < h->probed_at;
    pthread_mutex_unlock(&h->mu);
    /* A probe already running elsewhere: answer what the last one found rather than queue
     * behind it (only the very first answer is waited for). */
    if (stale && (first ? pthread_mutex_lock(&h->probe_mu) == 0
                        : pthread_mutex_trylock(&h->probe_mu) == 0)) {
        pthread_mutex_lock(&h->mu);
        bool still_stale =
            !h->probed || now - h->probed_at >= HEALTH_PROBE_EVERY_MS || now < h->probed_at;
        pthread_mutex_unlock(&h->mu);
        if (still_stale)
            probe(h, s, now);
        pthread_mutex_unlock(&h->probe_mu);
    }
    pthread_mutex_lock(&h->mu);
    int rc = h->rc;
    if (rc != ERR_OK)
        errf(eb, rc, "db", "%s", h->msg);
    pthread_mutex_unlock(&h->mu);
    return rc;
}

int64_t health_failed_at(struct health *h)
{
    pthread_mutex_lock(&h->mu);
    int64_t at = h->failed_at;
    pthread_mutex_unlock(&h->mu);
    return at;
}
