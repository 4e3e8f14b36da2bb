/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The web assets (tracker, demo site, dashboard) embedded at build time by scripts/gen-embed.
 * The table and its bytes are static, read-only and safe to share between threads. */
#ifndef OPENDNI_HTTP_ASSETS_H
#define OPENDNI_HTTP_ASSETS_H

#include <stddef.h>

struct asset {
    const char *path;          /* URL path, e.g. "/dni.js" or "/demo/index.html" */
    const unsigned char *data; /* the bytes, NUL-terminated for convenience */
    size_t len;
};

extern const struct asset assets[];
extern const size_t n_assets;

#endif
