/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Log lines to stderr: formatted into a stack buffer and written with one write(2). */
#include "base/prelude.h"
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int log_level = LOG_INFO;
int log_pii = 0;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_line(int level, const char *sub, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, level_names[level], sub);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    ssize_t w = write(2, line, len);
    (void)w;
}

int log_level_parse(const char *s)
{
    for (size_t i = 0; i < ARRAY_SIZE(level_names); i++)
        if (strcmp(s, level_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *log_mask(const char *s, char *out, size_t cap)
{
    size_t n = s ? strlen(s) : 0;
    if (log_pii || n < 8) {
        snprintf(out, cap, "%s", n && log_pii ? s : (n ? "***" : "-"));
        return out;
    }
    snprintf(out, cap, "%.5s***%s", s, s + n - 2);
    return out;
}

const char *log_escape(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; s && *s && o + 5 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o] = '\0';
    return out;
}

bool log_throttle_pass(struct log_throttle *t, int64_t now_ms, int64_t interval_ms, uint64_t *held)
{
    int_fast64_t next = atomic_load(&t->_next_at_ms);
    if (now_ms < next ||
        !atomic_compare_exchange_strong(&t->_next_at_ms, &next, now_ms + interval_ms)) {
        atomic_fetch_add(&t->_held, 1);
        return false;
    }
    *held = atomic_exchange(&t->_held, 0);
    return true;
}

int64_t log_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
