/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The schema migrations (src/store/sql/NNNN_name.sql), embedded at build time, sorted by name.
 * Entry paths are "/sql/NNNN_name.sql"; the table ends with a NULL path. */
#ifndef OPENDNI_STORE_MIGRATIONS_H
#define OPENDNI_STORE_MIGRATIONS_H

#include "base/embed.h"

extern const struct asset migrations[];
extern const size_t n_migrations;

#endif
