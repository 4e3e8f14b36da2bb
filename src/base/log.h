/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Logging: one line per event on stderr, "time level subsystem message key=value…".
 * The macros check the level before evaluating their arguments. Thread-safe (one write(2) a line).
 * Phone numbers and addresses are masked by the callers with log_mask() unless log_pii is set. */
#ifndef OPENDNI_BASE_LOG_H
#define OPENDNI_BASE_LOG_H

#include <stddef.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

extern int log_level; /* lines above this level are dropped; set once at start-up */
extern int log_pii;   /* 1: print phone numbers and addresses in full */

void log_line(int level, const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses "error|warn|info|debug"; returns the level or -1. */
int log_level_parse(const char *s);

/* Writes a masked copy of a phone number or address into out ("+1555•••0123"). Returns out. */
const char *log_mask(const char *s, char *out, size_t cap);

/* Copies s into out with control characters, quotes and backslashes escaped, so that
 * attacker-written strings cannot forge log lines. Returns out. */
const char *log_escape(const char *s, char *out, size_t cap);

#define log_error(sub, ...)                                                                        \
    ((void)(log_level >= LOG_ERROR ? log_line(LOG_ERROR, sub, __VA_ARGS__), 0 : 0))
#define log_warn(sub, ...)                                                                         \
    ((void)(log_level >= LOG_WARN ? log_line(LOG_WARN, sub, __VA_ARGS__), 0 : 0))
#define log_info(sub, ...)                                                                         \
    ((void)(log_level >= LOG_INFO ? log_line(LOG_INFO, sub, __VA_ARGS__), 0 : 0))
#define log_debug(sub, ...)                                                                        \
    ((void)(log_level >= LOG_DEBUG ? log_line(LOG_DEBUG, sub, __VA_ARGS__), 0 : 0))

#endif
