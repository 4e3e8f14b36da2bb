/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The test binary's hooks (see base/testhooks.h): a clock offset and fault switches in atomics.
 * Linked into build/opendni-test only; its definitions replace the weak ones of
 * base/testhooks.c. */
#include "base/prelude.h"
#include "base/testhooks.h"

#include <stdatomic.h>
#include <time.h>

static atomic_int_fast64_t clock_offset_ms;
static atomic_bool faults[TESTHOOK_N];

bool testhooks_enabled(void)
{
    return true;
}

int64_t testhooks_clock_offset_ms(void)
{
    return atomic_load_explicit(&clock_offset_ms, memory_order_relaxed);
}

void testhooks_clock_advance(int64_t ms)
{
    if (ms > 0)
        atomic_fetch_add(&clock_offset_ms, ms);
}

void testhooks_clock_start(int64_t at)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t sys = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    atomic_store(&clock_offset_ms, at - sys);
}

bool testhooks_fault(enum testhook_fault f)
{
    return (unsigned)f < TESTHOOK_N && atomic_load(&faults[f]);
}

void testhooks_fault_set(enum testhook_fault f, bool on)
{
    if ((unsigned)f < TESTHOOK_N)
        atomic_store(&faults[f], on);
}

/* Set once by serve's flag parsing, before any thread reads it. */
static char outbound_ca[512];

const char *testhooks_outbound_ca(void)
{
    return outbound_ca[0] ? outbound_ca : NULL;
}

void testhooks_outbound_ca_set(const char *path)
{
    snprintf(outbound_ca, sizeof(outbound_ca), "%s", path ? path : "");
}

/* Set by serve's flag parsing, before any thread reads them. */
static struct {
    char name[16];
    char url[256];
} provider_api[8]; /* providers (number management) and ad platforms (ga4, meta, google_ads…) */

const char *testhooks_provider_api(const char *provider)
{
    for (size_t i = 0; provider && i < ARRAY_SIZE(provider_api); i++)
        if (provider_api[i].name[0] && strcmp(provider_api[i].name, provider) == 0)
            return provider_api[i].url;
    return NULL;
}

int testhooks_provider_api_set(const char *v)
{
    const char *eq = v ? strchr(v, '=') : NULL;
    if (!eq || eq == v || (size_t)(eq - v) >= sizeof(provider_api[0].name) || !eq[1] ||
        strlen(eq + 1) >= sizeof(provider_api[0].url))
        return -1;
    for (size_t i = 0; i < ARRAY_SIZE(provider_api); i++) {
        bool same = strncmp(provider_api[i].name, v, (size_t)(eq - v)) == 0 &&
                    provider_api[i].name[eq - v] == '\0';
        if (provider_api[i].name[0] && !same)
            continue;
        snprintf(provider_api[i].name, sizeof(provider_api[i].name), "%.*s", (int)(eq - v), v);
        snprintf(provider_api[i].url, sizeof(provider_api[i].url), "%s", eq + 1);
        return 0;
    }
    return -1;
}
