/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The production side of the test hooks (see testhooks.h): weak definitions that do nothing.
 * src/testhooks/testhooks.c, linked into the test binary only, overrides every one of them. */
#include "base/prelude.h"
#include "base/testhooks.h"

__attribute__((weak)) bool testhooks_enabled(void)
{
    return false;
}

__attribute__((weak)) int64_t testhooks_clock_offset_ms(void)
{
    return 0;
}

__attribute__((weak)) void testhooks_clock_advance(int64_t ms)
{
    (void)ms;
}

__attribute__((weak)) void testhooks_clock_start(int64_t at)
{
    (void)at;
}

__attribute__((weak)) bool testhooks_fault(enum testhook_fault f)
{
    (void)f;
    return false;
}

__attribute__((weak)) void testhooks_fault_set(enum testhook_fault f, bool on)
{
    (void)f;
    (void)on;
}

__attribute__((weak)) const char *testhooks_outbound_ca(void)
{
    return NULL;
}

__attribute__((weak)) void testhooks_outbound_ca_set(const char *path)
{
    (void)path;
}

__attribute__((weak)) const char *testhooks_provider_api(const char *provider)
{
    (void)provider;
    return NULL;
}

__attribute__((weak)) int testhooks_provider_api_set(const char *name_eq_url)
{
    (void)name_eq_url;
    return 0;
}

int testhooks_fault_parse(const char *name, enum testhook_fault *f)
{
    static const char *const names[TESTHOOK_N] = {
        [TESTHOOK_CALL_STORE] = "call_store",         [TESTHOOK_VISIT_COMMIT] = "visit_commit",
        [TESTHOOK_STORE_READONLY] = "store_readonly", [TESTHOOK_STORE_BUSY] = "store_busy",
        [TESTHOOK_STORE_FULL] = "store_full",         [TESTHOOK_STORE_IO] = "store_io",
        [TESTHOOK_STORE_COMMIT] = "store_commit",     [TESTHOOK_ROUTE] = "route",
        [TESTHOOK_NUMBER_CRASH] = "number_crash"};
    for (int i = 0; name && i < TESTHOOK_N; i++)
        if (strcmp(name, names[i]) == 0) {
            *f = (enum testhook_fault)i;
            return 0;
        }
    return -1;
}
