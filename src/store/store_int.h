/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Shared inside src/store/ only: the SQLite connection per thread, the prepared-statement cache
 * and small binding helpers, so each store_sqlite_*.c file can add operations.
 * THREADING: a struct sconn is used only by the thread that opened it; the store's list of
 * connections is guarded by store->mu and only walked at close. */
#ifndef OPENDNI_STORE_STORE_INT_H
#define OPENDNI_STORE_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "store/store.h"

#define STORE__MAX_STMTS 160

struct sconn {
    sqlite3 *db;
    struct store *store;
    struct sconn *next;
    size_t n_stmts;
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } stmts[STORE__MAX_STMTS];
};

struct store {
    char *path;
    uint64_t serial;
    pthread_mutex_t mu;
    struct sconn *conns;
    atomic_uint_fast64_t errors;
};

/* The calling thread's connection, opened on first use; NULL (and counted) on failure. */
struct sconn *store__conn(struct store *s);
/* A reset, cleared prepared statement for sql (a string literal: cached by address). */
sqlite3_stmt *store__prep(struct sconn *c, const char *sql);
/* Maps a SQLite result code to enum err, counting and logging backend errors. */
int store__err(struct sconn *c, int rc, const char *what);
/* Runs a statement with no result rows: ERR_OK, ERR_CONFLICT (constraint) or ERR_BACKEND. */
int store__exec(struct sconn *c, sqlite3_stmt *st, const char *what);

/* Text is bound without a copy: v must stay valid until the statement is stepped and reset. */
void store__bind_text(sqlite3_stmt *st, int i, const char *v);        /* "" binds "" */
void store__bind_opt(sqlite3_stmt *st, int i, const char *v);         /* NULL or "" binds NULL */
void store__bind_id(sqlite3_stmt *st, int i, int64_t id);             /* 0 binds NULL */
void store__col_text(sqlite3_stmt *st, int i, char *dst, size_t cap); /* NULL reads "" */

/* A random external id "prefix" + 16 base32 chars (80 bits). */
void store__new_ext_id(const char *prefix, char out[STORE_ID_MAX]);

#endif
