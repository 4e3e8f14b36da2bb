/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The schema migrations (src/store/sql/NNNN_name.sql), embedded at build time, sorted by name.
 * Entry paths are "/sql/NNNN_name.sql"; the table ends with a NULL path.
 * migrations_pg: the PostgreSQL backend's own versions of some of them (src/store/sql_pg/, same
 * version numbers, paths "/sql_pg/NNNN_name.sql"), applied by that backend instead of the shared
 * file of the same version; every version is in migrations[]. */
#ifndef OPENDNI_STORE_MIGRATIONS_H
#define OPENDNI_STORE_MIGRATIONS_H

#include "base/embed.h"

extern const struct asset migrations[];
extern const size_t n_migrations;
extern const struct asset migrations_pg[];
extern const size_t n_migrations_pg;

#endif
