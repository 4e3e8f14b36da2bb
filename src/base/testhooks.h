/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Test hooks (DESIGN.md "Time and faults in tests"): a controllable clock and fault switches,
 * present only in the test binary. The production binary (build/opendni) links the weak
 * defaults of base/testhooks.c: no hook exists, the clock is the system's, nothing fails on
 * purpose, and the test flags and routes are not offered. The test binary
 * (build/opendni-test, CMake option TEST_BINARY) links src/testhooks/testhooks.c, whose strong
 * definitions replace them; the serve flags --test-* and the routes under /v1/test/ set them.
 * Ownership: no pointers kept. THREADING: every function is safe from any thread (atomics). */
#ifndef OPENDNI_BASE_TESTHOOKS_H
#define OPENDNI_BASE_TESTHOOKS_H

#include <stdbool.h>
#include <stdint.h>

/* Faults that can be switched on. */
enum testhook_fault {
    TESTHOOK_CALL_STORE = 0,   /* the call path's store writes fail (webhooks must still answer) */
    TESTHOOK_VISIT_COMMIT = 1, /* the group-commit writer's commits fail (as on a full disk) */
    /* the SQLite store behaves as a read-only file: every write and checkpoint fails until the
     * fault is switched off (store_writable and GET /readyz report it) */
    TESTHOOK_STORE_READONLY,
    /* The store failing where a real disk or lock fails, checked by the dispatchers of
     * src/store/store.c (so on every backend); reads keep working in each case: */
    TESTHOOK_STORE_BUSY,   /* store_begin fails: the write lock was not obtained in time */
    TESTHOOK_STORE_FULL,   /* every write operation fails: the disk is full */
    TESTHOOK_STORE_IO,     /* store_commit fails with an I/O error; nothing reaches the disk */
    TESTHOOK_STORE_COMMIT, /* store_commit writes the transaction, then reports a failure */
    TESTHOOK_ROUTE, /* a routing plan's evaluation fails inside its callbacks (app/routing.c) */
    /* the process kills itself (SIGKILL) after a provider sold it a number and before the
     * purchase is recorded (app/numbers.c): the purchase must not be made twice */
    TESTHOOK_NUMBER_CRASH,
    TESTHOOK_N
};

/* true in the test binary only. */
bool testhooks_enabled(void);

/* Added to the system clock by time_now_ms (base/timefmt.h); 0 in production. */
int64_t testhooks_clock_offset_ms(void);
/* Moves the clock forward by ms (>= 0; a test never turns time back). No-op in production. */
void testhooks_clock_advance(int64_t ms);
/* Sets the clock so that it reads `at` (Unix ms) now, in the past or the future, before any
 * thread reads it (serve --test-clock-start: the demo replays a week through the real paths
 * from a week ago). No-op in production. */
void testhooks_clock_start(int64_t at);

/* Whether fault f is switched on (false in production and for an unknown f). */
bool testhooks_fault(enum testhook_fault f);
/* Switches fault f. No-op in production. */
void testhooks_fault_set(enum testhook_fault f, bool on);
/* The fault named name ("call_store", "visit_commit", "store_readonly", "store_busy",
 * "store_full", "store_io", "store_commit", "route", "number_crash"). Returns 0, or -1 for an
 * unknown name. out: *f. */
int testhooks_fault_parse(const char *name, enum testhook_fault *f);

/* The CA bundle the outbound client trusts instead of the system's (serve --test-outbound-ca,
 * so tests reach their local HTTPS receivers with TLS verification on), or NULL: always NULL in
 * production. The one test-only way to redirect outbound requests (DESIGN.md). */
const char *testhooks_outbound_ca(void);
/* Sets it (path copied; NULL clears). No-op in production. */
void testhooks_outbound_ca_set(const char *path);

/* The base URL of provider's REST API (a telephony provider's, or an ad platform's: "ga4",
 * "meta", "google_ads" (the Data Manager API), "google_oauth" (Google's token endpoint)) for
 * the test binary (serve --test-provider-api NAME=URL, so tests reach local
 * servers), or NULL: always NULL in production. */
const char *testhooks_provider_api(const char *provider);
/* Sets it from "NAME=URL" (copied). Returns 0, or -1 for a malformed value. No-op (0) in
 * production. */
int testhooks_provider_api_set(const char *name_eq_url);

#endif
