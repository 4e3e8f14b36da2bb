/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Fuzz target: an account's settings JSON (http/calls.h), read on every inbound call. The
 * input reaches it through `opendni account set --settings` and is then trusted by the call
 * path, which must never fail because of it. Invariants: on error the defaults; on success
 * every value in its documented range and the rules pointing into the struct. */
#include "base/prelude.h"

#include <math.h>

#include "base/err.h"
#include "core/convert.h"
#include "app/calls.h"
#include "fuzz.h"

#define DAY_MS (86400LL * 1000)

static void check_defaults(const struct calls_settings *cs)
{
    FUZZ_CHECK(cs->rules.min_duration_s == 60 && cs->rules.answered_only);
    FUZZ_CHECK(!cs->rules.first_time_only && cs->rules.value == 0 && cs->rules.n_values == 0);
    FUZZ_CHECK(strcmp(cs->name, "Phone call") == 0 && strcmp(cs->currency, "USD") == 0);
    FUZZ_CHECK(!cs->record && cs->window_ms == 30 * DAY_MS);
}

static void check_valid(const struct calls_settings *cs)
{
    FUZZ_CHECK(cs->rules.name == cs->name && cs->rules.values == cs->values);
    FUZZ_CHECK(cs->rules.min_duration_s >= 0 && cs->rules.min_duration_s <= 86400);
    FUZZ_CHECK(cs->window_ms >= 1000 && cs->window_ms <= 365 * DAY_MS);
    FUZZ_CHECK(isfinite(cs->rules.value) && cs->rules.value >= 0);
    FUZZ_CHECK(cs->rules.n_values <= CALLS_MAX_VALUES);
    FUZZ_CHECK(memchr(cs->name, '\0', sizeof(cs->name)) && cs->name[0]);
    FUZZ_CHECK(memchr(cs->currency, '\0', sizeof(cs->currency)));
    FUZZ_CHECK(memchr(cs->notice, '\0', sizeof(cs->notice)));
    for (size_t i = 0; i < cs->rules.n_values; i++) {
        const struct convert_value *v = &cs->rules.values[i];
        FUZZ_CHECK(isfinite(v->value) && v->value >= 0);
        FUZZ_CHECK(!v->channel || v->channel == cs->value_channel[i]);
        FUZZ_CHECK(!v->campaign || v->campaign == cs->value_campaign[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0; /* the CLI refuses settings of 2 KiB or more */
    char *json = fuzz_cstr(data, size);
    struct calls_settings cs;
    memset(&cs, 0x5a, sizeof(cs));
    struct errbuf eb = {{0}, NULL};
    int rc = calls_settings_parse(json, &cs, &eb);
    if (rc != ERR_OK) {
        FUZZ_CHECK(rc == ERR_INVALID && eb.msg[0]);
        check_defaults(&cs);
    }
    check_valid(&cs);
    /* the rules are usable as parsed: convert_check on a typical call */
    struct convert_call c = {.status = "completed",
                             .duration_s = 75,
                             .first_time_caller = true,
                             .channel = "paid_search",
                             .campaign = "spring_sale"};
    double value = -1;
    bool converted = convert_check(&cs.rules, &c, &value);
    FUZZ_CHECK(value >= 0 && (converted || value == 0));
    free(json);
    return 0;
}
