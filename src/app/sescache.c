/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The session cache: a table of 4-way sets of fixed-size slots, one mutex per stripe of sets; a
 * put into a full set replaces its oldest entry. */
#include "base/prelude.h"
#include "app/sescache.h"

#include <pthread.h>

#include "base/hash.h"
#include "base/xalloc.h"
#include "store/store.h"

#define STRIPES 64 /* power of two */
#define WAYS 4

struct slot {
    char ext_id[STORE_ID_MAX]; /* "" = empty */
    uint32_t stamp;            /* put order within the stripe (wraps; only compared in a set) */
    struct sescache_entry e;
};

struct sescache {
    unsigned mask; /* sets - 1 */
    uint32_t clock[STRIPES];
    pthread_mutex_t mu[STRIPES];
    struct slot *slots;
};

struct sescache *sescache_new(unsigned slots)
{
    unsigned n = 1;
    while (n * WAYS < slots && n < (1U << 28))
        n <<= 1;
    struct sescache *c = xcalloc(1, sizeof(*c));
    c->mask = n - 1;
    c->slots = xcalloc((size_t)n * WAYS, sizeof(*c->slots));
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&c->mu[i], NULL);
    return c;
}

void sescache_free(struct sescache *c)
{
    if (!c)
        return;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&c->mu[i]);
    free(c->slots);
    free(c);
}

/* The set of ext_id (WAYS slots) with its stripe locked. */
static struct slot *set_lock(struct sescache *c, const char *ext_id, unsigned *stripe)
{
    unsigned i = (unsigned)hash_str(ext_id) & c->mask;
    *stripe = i & (STRIPES - 1);
    pthread_mutex_lock(&c->mu[*stripe]);
    return &c->slots[(size_t)i * WAYS];
}

static struct slot *find(struct slot *set, const char *ext_id)
{
    if (!ext_id[0])
        return NULL; /* "" marks an empty slot */
    for (int w = 0; w < WAYS; w++)
        if (strcmp(set[w].ext_id, ext_id) == 0)
            return &set[w];
    return NULL;
}

bool sescache_get(struct sescache *c, const char *ext_id, struct sescache_entry *out)
{
    unsigned stripe;
    struct slot *sl = find(set_lock(c, ext_id, &stripe), ext_id);
    if (sl)
        *out = sl->e;
    pthread_mutex_unlock(&c->mu[stripe]);
    return sl != NULL;
}

void sescache_put(struct sescache *c, const char *ext_id, const struct sescache_entry *e)
{
    if (!ext_id[0] || strlen(ext_id) >= STORE_ID_MAX)
        return;
    unsigned stripe;
    struct slot *set = set_lock(c, ext_id, &stripe);
    uint32_t now = ++c->clock[stripe];
    struct slot *sl = find(set, ext_id);
    for (int w = 0; !sl && w < WAYS; w++) /* else an empty slot, else the oldest */
        if (!set[w].ext_id[0])
            sl = &set[w];
    if (!sl) {
        sl = &set[0];
        for (int w = 1; w < WAYS; w++)
            if (now - set[w].stamp > now - sl->stamp)
                sl = &set[w];
    }
    snprintf(sl->ext_id, sizeof(sl->ext_id), "%s", ext_id);
    sl->stamp = now;
    sl->e = *e;
    pthread_mutex_unlock(&c->mu[stripe]);
}

void sescache_drop(struct sescache *c, const char *ext_id)
{
    unsigned stripe;
    struct slot *sl = find(set_lock(c, ext_id, &stripe), ext_id);
    if (sl)
        sl->ext_id[0] = '\0';
    pthread_mutex_unlock(&c->mu[stripe]);
}
