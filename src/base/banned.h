/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Functions we never call: unbounded copies and parsers without error reporting.
 * Use buf_*, snprintf and the checked parsers in base/ instead. */
#ifndef OPENDNI_BASE_BANNED_H
#define OPENDNI_BASE_BANNED_H

#define BANNED(f) sorry_##f##_is_banned

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef gets
#define gets(x) BANNED(gets)

#endif
