/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Fuzz target: core/phone, which reads phone numbers from visit bodies, webhook forms and the
 * admin API. Invariants: a parsed number is canonical E.164, formats, and the display form
 * parses back to the same number (phone.h); phone_format accepts only what phone_parse
 * would leave unchanged; errors leave "" and never echo the number (it is PII). */
#include "base/prelude.h"

#include <ctype.h>

#include "base/err.h"
#include "core/phone.h"
#include "fuzz.h"

static bool canonical_e164(const char *s)
{
    size_t n = strlen(s);
    if (s[0] != '+' || n < 9 || n > 16 || s[1] == '0')
        return false; /* '+' then 8..15 digits, country code not starting with 0 */
    for (size_t i = 1; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static void check_parsed(const char *e164)
{
    FUZZ_CHECK(canonical_e164(e164));
    bool nanp = strncmp(e164, "+1", 2) == 0;
    FUZZ_CHECK(phone_is_nanp(e164) == nanp); /* "+1…" must pass the NANP rules to parse */
    FUZZ_CHECK(!phone_is_toll_free(e164) || nanp);
    const char *region = phone_region(e164);
    FUZZ_CHECK(!region || (nanp && strlen(region) >= 2 && strlen(region) <= 5));

    char again[PHONE_E164_MAX];
    FUZZ_CHECK(phone_parse(e164, again, NULL) == ERR_OK && strcmp(again, e164) == 0);

    char disp[PHONE_DISPLAY_MAX];
    FUZZ_CHECK(phone_format(e164, disp, sizeof(disp)) == ERR_OK);
    FUZZ_CHECK(phone_parse(disp, again, NULL) == ERR_OK);
    FUZZ_CHECK(strcmp(again, e164) == 0); /* the round trip */

    char small[PHONE_DISPLAY_MAX];
    size_t need = strlen(disp) + 1;
    for (size_t cap = 1; cap < need; cap++) {
        FUZZ_CHECK(phone_format(e164, small, cap) == ERR_TOOBIG);
        FUZZ_CHECK(small[0] == '\0');
    }
    FUZZ_CHECK(phone_format(e164, small, need) == ERR_OK && strcmp(small, disp) == 0);
}

/* True if s holds a run of at least 7 digits that also appears in msg. */
static bool echoes_digits(const char *s, const char *msg)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t run = strspn(s + i, "0123456789");
        if (run >= 7) {
            char digits[80];
            snprintf(digits, sizeof(digits), "%.*s", (int)(run < 79 ? run : 79), s + i);
            if (strstr(msg, digits))
                return true;
        }
        i += run ? run : 1;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 512)
        return 0; /* phone_parse refuses more than 64 bytes anyway */
    char *in = fuzz_cstr(data, size);
    char e164[PHONE_E164_MAX];
    struct errbuf eb = {{0}, NULL};
    int rc = phone_parse(in, e164, &eb);
    if (rc == ERR_OK) {
        check_parsed(e164);
    } else {
        FUZZ_CHECK(rc == ERR_INVALID);
        FUZZ_CHECK(e164[0] == '\0');
        FUZZ_CHECK(eb.msg[0] != '\0' && memchr(eb.msg, '\0', sizeof(eb.msg)));
        FUZZ_CHECK(!echoes_digits(in, eb.msg));
    }

    /* The raw input as if it were already E.164 (what the store hands back). */
    char disp[PHONE_DISPLAY_MAX];
    if (phone_format(in, disp, sizeof(disp)) == ERR_OK) {
        FUZZ_CHECK(phone_parse(in, e164, NULL) == ERR_OK && strcmp(e164, in) == 0);
        FUZZ_CHECK(phone_parse(disp, e164, NULL) == ERR_OK && strcmp(e164, in) == 0);
    } else {
        FUZZ_CHECK(disp[0] == '\0');
    }
    if (phone_is_nanp(in))
        FUZZ_CHECK(phone_parse(in, e164, NULL) == ERR_OK && strcmp(e164, in) == 0);
    FUZZ_CHECK(!phone_is_toll_free(in) || phone_is_nanp(in));
    FUZZ_CHECK(!phone_region(in) || phone_is_nanp(in));
    free(in);
    return 0;
}
