/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* store/secrets.c: key parsing and files, AES-256-GCM sealing bound to its row, tampering. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "store/secrets.h"

#define HEX1 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HEX2 "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static void keys_parse_and_name_themselves(void **state)
{
    (void)state;
    struct secrets_key a, b, a2;
    assert_int_equal(secrets_key_parse(HEX1, &a, NULL), ERR_OK);
    assert_int_equal(secrets_key_parse("  " HEX1 "\n", &a2, NULL), ERR_OK);
    assert_int_equal(secrets_key_parse(HEX2, &b, NULL), ERR_OK);
    assert_string_equal(a.kid, a2.kid);
    assert_string_not_equal(a.kid, b.kid);
    assert_int_equal(strlen(a.kid), SECRETS_KID_LEN);
    assert_null(strstr(HEX1, a.kid)); /* the id is not a piece of the key */
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(secrets_key_parse("abc", &a2, &eb), ERR_INVALID);
    assert_int_equal(secrets_key_parse(HEX1 "00", &a2, NULL), ERR_INVALID);
    assert_int_equal(secrets_key_parse(HEX1 " x", &a2, NULL), ERR_INVALID);
    char bad[] = HEX1;
    bad[5] = 'g';
    assert_int_equal(secrets_key_parse(bad, &a2, NULL), ERR_INVALID);
}

static void sealed_values_open_only_in_their_row_with_their_key(void **state)
{
    (void)state;
    struct secrets_key a, b;
    assert_int_equal(secrets_key_parse(HEX1, &a, NULL), ERR_OK);
    assert_int_equal(secrets_key_parse(HEX2, &b, NULL), ERR_OK);
    char v1[SECRETS_SEALED_MAX], v2[SECRETS_SEALED_MAX], out[256];
    assert_int_equal(secrets_seal(&a, 7, "twilio", "auth-token-1", v1, sizeof(v1)), ERR_OK);
    assert_int_equal(secrets_seal(&a, 7, "twilio", "auth-token-1", v2, sizeof(v2)), ERR_OK);
    assert_true(secrets_is_sealed(v1));
    assert_null(strstr(v1, "auth-token"));
    assert_string_not_equal(v1, v2); /* a random nonce per value */
    char kid[SECRETS_KID_LEN + 1];
    assert_true(secrets_kid_of(v1, kid));
    assert_string_equal(kid, a.kid);
    assert_int_equal(secrets_open(&a, 7, "twilio", v1, out, sizeof(out)), ERR_OK);
    assert_string_equal(out, "auth-token-1");
    /* another row, another provider, another key: refused */
    assert_int_equal(secrets_open(&a, 8, "twilio", v1, out, sizeof(out)), ERR_INVALID);
    assert_int_equal(secrets_open(&a, 7, "signalwire", v1, out, sizeof(out)), ERR_INVALID);
    assert_int_equal(secrets_open(&b, 7, "twilio", v1, out, sizeof(out)), ERR_INVALID);
    /* one byte changed anywhere in the payload: refused */
    size_t n = strlen(v1);
    for (size_t i = strlen(SECRETS_PREFIX) + SECRETS_KID_LEN + 1; i < n - 2; i += 7) {
        char t[SECRETS_SEALED_MAX];
        memcpy(t, v1, n + 1);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        assert_int_not_equal(secrets_open(&a, 7, "twilio", t, out, sizeof(out)), ERR_OK);
    }
    /* the largest secret fits, a larger one is refused */
    char big[1024];
    memset(big, 'x', 1023);
    big[1023] = '\0';
    char wide[1024];
    assert_int_equal(secrets_seal(&a, 7, "telnyx", big, v2, sizeof(v2)), ERR_OK);
    assert_int_equal(secrets_open(&a, 7, "telnyx", v2, out, sizeof(out)), ERR_TOOBIG);
    assert_int_equal(secrets_open(&a, 7, "telnyx", v2, wide, sizeof(wide)), ERR_OK);
    assert_string_equal(wide, big);
    char huge[1100];
    memset(huge, 'y', 1099);
    huge[1099] = '\0';
    assert_int_equal(secrets_seal(&a, 7, "telnyx", huge, v2, sizeof(v2)), ERR_INVALID);
    assert_false(secrets_is_sealed("plain-token"));
}

static void key_files_are_private(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof(path), "/tmp/opendni-test-key-%d", (int)getpid());
    unlink(path);
    struct secrets_key made, loaded;
    assert_int_equal(secrets_key_generate(path, &made, NULL), ERR_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(secrets_key_generate(path, NULL, NULL), ERR_CONFLICT); /* never overwritten */
    assert_int_equal(secrets_key_load(path, &loaded, NULL), ERR_OK);
    assert_memory_equal(made.key, loaded.key, SECRETS_KEY_LEN);
    assert_int_equal(chmod(path, 0644), 0);
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(secrets_key_load(path, &loaded, &eb), ERR_INVALID);
    assert_non_null(strstr(eb.msg, "chmod 600"));
    unlink(path);
    assert_int_equal(secrets_key_load(path, &loaded, NULL), ERR_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_parse_and_name_themselves),
        cmocka_unit_test(sealed_values_open_only_in_their_row_with_their_key),
        cmocka_unit_test(key_files_are_private),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
