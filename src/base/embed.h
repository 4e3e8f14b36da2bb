/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* A file embedded in the binary at build time by scripts/gen-embed (web assets, migrations).
 * Tables of them are static, read-only and safe to share between threads. */
#ifndef OPENDNI_BASE_EMBED_H
#define OPENDNI_BASE_EMBED_H

#include <stddef.h>

struct asset {
    const char *path;          /* "/dni.js", "/demo/index.html", "/sql/0001_init.sql" */
    const unsigned char *data; /* the bytes, NUL-terminated for convenience */
    size_t len;
};

#endif
