/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* base: the userspace CSPRNG (ChaCha20 test vector, distinct streams per thread and after a
 * fork, the bytes it hands out) and the ids made from it. */
#include "base/prelude.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/ids.h"
#include "base/rng.h"

/* RFC 8439 2.3.2. */
static void chacha20_block_vector(void **state)
{
    (void)state;
    uint32_t key[8];
    for (int i = 0; i < 8; i++)
        key[i] = (uint32_t)(4 * i) | (uint32_t)(4 * i + 1) << 8 | (uint32_t)(4 * i + 2) << 16 |
                 (uint32_t)(4 * i + 3) << 24;
    const uint32_t nonce[3] = {0x09000000, 0x4a000000, 0};
    static const uint8_t want[64] = {
        0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3,
        0x20, 0x71, 0xc4, 0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0, 0x68, 0x03, 0x04, 0x22,
        0xaa, 0x9a, 0xc3, 0xd4, 0x6c, 0x4e, 0xd2, 0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa,
        0x09, 0x14, 0xc2, 0xd7, 0x05, 0xd9, 0x8b, 0x02, 0xa2, 0xb5, 0x12, 0x9c, 0xd1,
        0xde, 0x16, 0x4e, 0xb9, 0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e};
    uint8_t out[64];
    rng_chacha20_block(key, 1, nonce, out);
    assert_memory_equal(out, want, sizeof(want));
}

/* Over several refills and a re-seed: bytes look uniform (each value's count near n/256) and
 * no 16-byte chunk repeats. */
static void bytes_spread_and_do_not_repeat(void **state)
{
    (void)state;
    enum { N = RNG_RESEED_BYTES + 4096 };
    uint8_t *buf = malloc(N);
    assert_non_null(buf);
    size_t done = 0;
    for (size_t k = 1; done < N; k = k % 97 + 1) { /* odd sizes across buffer edges */
        size_t n = k < N - done ? k : N - done;
        rng_bytes(buf + done, n);
        done += n;
    }
    unsigned count[256] = {0};
    for (size_t i = 0; i < N; i++)
        count[buf[i]]++;
    for (int v = 0; v < 256; v++) /* expected 4112, sd ~64: 10 sd either way */
        assert_in_range(count[v], N / 256 - 640, N / 256 + 640);
    for (size_t i = 0; i + 32 <= 65536; i += 16)
        for (size_t j = i + 16; j + 16 <= 65536; j += 4096)
            assert_memory_not_equal(buf + i, buf + j, 16);
    free(buf);
}

static void *thread_bytes(void *arg)
{
    rng_bytes(arg, 32);
    return NULL;
}

static void threads_and_forks_differ(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    rng_bytes(a, sizeof(a)); /* this thread seeded */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, thread_bytes, b), 0);
    pthread_join(t, NULL);
    assert_memory_not_equal(a, b, sizeof(a));
    /* A child and its parent, from the same state, must not produce the same bytes. */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint8_t c[32];
        rng_bytes(c, sizeof(c));
        _exit(write(fds[1], c, sizeof(c)) == (ssize_t)sizeof(c) ? 0 : 1);
    }
    uint8_t parent[32], child[32];
    rng_bytes(parent, sizeof(parent));
    assert_int_equal(read(fds[0], child, sizeof(child)), (ssize_t)sizeof(child));
    int status = 0;
    waitpid(pid, &status, 0);
    close(fds[0]);
    close(fds[1]);
    assert_memory_not_equal(parent, child, sizeof(parent));
}

static void ids_are_distinct_and_well_formed(void **state)
{
    (void)state;
    char prev[64] = "", id[64];
    for (int i = 0; i < 10000; i++) {
        id_new_sorted("s_", 1764130800000 + i, 20, id, sizeof(id));
        assert_int_equal(strlen(id), 2 + 9 + 20);
        assert_true(id_valid(id, 63));
        assert_true(strcmp(prev, id) < 0); /* sorted by time */
        memcpy(prev, id, sizeof(id));
    }
    char x[64], y[64];
    id_new("k_", 32, x, sizeof(x));
    id_new("k_", 32, y, sizeof(y));
    assert_string_not_equal(x, y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chacha20_block_vector),
        cmocka_unit_test(bytes_spread_and_do_not_repeat),
        cmocka_unit_test(threads_and_forks_differ),
        cmocka_unit_test(ids_are_distinct_and_well_formed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
