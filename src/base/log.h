/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Logging: one line per event on stderr, "time level subsystem message key=value…".
 * The macros check the level before evaluating their arguments. Thread-safe (one write(2) a line).
 * Phone numbers and addresses are masked by the callers with log_mask() unless log_pii is set. */
#ifndef OPENDNI_BASE_LOG_H
#define OPENDNI_BASE_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

extern int log_level; /* lines above this level are dropped; set once at start-up */
extern int log_pii;   /* 1: print phone numbers and addresses in full */

void log_line(int level, const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses "error|warn|info|debug"; returns the level or -1. */
int log_level_parse(const char *s);

/* Writes a masked copy of a phone number or address into out ("+1555•••0123"). Returns out. */
const char *log_mask(const char *s, char *out, size_t cap);

/* Copies s into out with control characters, quotes, backslashes and every byte >= 0x80
 * escaped as \xHH, so that attacker-written strings cannot forge log lines nor put invalid UTF-8
 * or terminal controls (C1, bidi overrides) in them. Output that does not fit is cut at a whole
 * escape. Returns out. */
const char *log_escape(const char *s, char *out, size_t cap);

/* Lets one line through per interval for a condition that can repeat many times a second (a
 * store that cannot write, a checkpoint that keeps failing), so it is logged once per interval
 * with the count of lines held back. Zero-initialised storage is ready; no release.
 * THREADING: any thread (atomics). */
struct log_throttle {
    atomic_int_fast64_t _next_at_ms; /* private: no line before this (monotonic ms) */
    atomic_uint_fast64_t _held;      /* private: lines held back since the last one */
};

/* Whether a line for this condition may be written at now_ms (a monotonic clock): true at most
 * once per interval_ms. When true, out: *held = lines held back since the previous one (reset to
 * 0); when false the call counts as one more held line. */
bool log_throttle_pass(struct log_throttle *t, int64_t now_ms, int64_t interval_ms, uint64_t *held);
/* Milliseconds of CLOCK_MONOTONIC, for log_throttle_pass. */
int64_t log_mono_ms(void);

#define log_error(sub, ...)                                                                        \
    ((void)(log_level >= LOG_ERROR ? log_line(LOG_ERROR, sub, __VA_ARGS__), 0 : 0))
#define log_warn(sub, ...)                                                                         \
    ((void)(log_level >= LOG_WARN ? log_line(LOG_WARN, sub, __VA_ARGS__), 0 : 0))
#define log_info(sub, ...)                                                                         \
    ((void)(log_level >= LOG_INFO ? log_line(LOG_INFO, sub, __VA_ARGS__), 0 : 0))
#define log_debug(sub, ...)                                                                        \
    ((void)(log_level >= LOG_DEBUG ? log_line(LOG_DEBUG, sub, __VA_ARGS__), 0 : 0))

#endif
