/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Included first by every .c file: feature macros, the basic C headers, and the banned list. */
#ifndef OPENDNI_BASE_PRELUDE_H
#define OPENDNI_BASE_PRELUDE_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
/* The headers that declare banned functions come before banned.h redefines them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define UNUSED __attribute__((unused))

#include "base/banned.h"

#endif
