/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The web assets (web/tracker → "/dni.js", web/demo → "/demo/…", web/dashboard → "/app/…"),
 * embedded at build time. The table ends with a NULL path. */
#ifndef OPENDNI_HTTP_ASSETS_H
#define OPENDNI_HTTP_ASSETS_H

#include "base/embed.h"

extern const struct asset assets[];
extern const size_t n_assets;

#endif
