/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The durable local spool: an append-only log of text records in a directory of this node's
 * own, written and synced to disk before the caller acknowledges what a record holds, and
 * replayed in order later. The call service keeps there the calls and status reports it
 * answered while the store could not take them (app/offline.h), so nothing acknowledged is
 * lost while PostgreSQL is away.
 * Layout: DIR/lock (an exclusive flock held while open: one process per spool), and segments
 * DIR/NNNNNNNNNNNN.spool of lines, one record a line. Appends go to the newest segment; a
 * replay first seals it (the next append starts a new one), reads the sealed segments oldest
 * first and deletes each one once every record of it was taken. A line cut short by a crash
 * (no newline) was never acknowledged and is skipped.
 * Ownership: struct spool belongs to whoever opened it (struct app); records are copied.
 * THREADING: spool_append from any thread (each synced before it returns; concurrent
 * appends share one fdatasync); spool_replay and spool_each from one thread at a time; spool_stats
 * from any. */
#ifndef OPENDNI_APP_SPOOL_H
#define OPENDNI_APP_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define SPOOL_RECORD_MAX 8192 /* bytes of one record, newline excluded */

struct spool;

struct spool_stats {
    uint64_t records;  /* appended and not yet taken by a replay (what the spool holds) */
    uint64_t bytes;    /* their size on disk */
    int64_t oldest_at; /* when the oldest of them was appended (Unix ms, time_now_ms); 0 = none */
    uint64_t appended; /* since start */
    uint64_t replayed; /* records taken by replays since start */
    uint64_t failed;   /* appends that failed (ERR_IO) since start */
};

/* Opens the spool in dir, creating the directory (mode 0700, parents too) if needed, and takes
 * its lock. Records left by an earlier run wait for the next replay. ERR_OK (out: *sp);
 * ERR_CONFLICT when another process holds the spool (eb names it and its pid); ERR_IO. */
int spool_open(const char *dir, struct spool **sp, struct errbuf *eb);
/* Closes the spool (its records stay on disk for the next run). NULL ok. */
void spool_close(struct spool *sp);

/* Appends one record (len bytes, no newline inside) and syncs it to disk. ERR_OK when it is
 * durable; ERR_TOOBIG (over SPOOL_RECORD_MAX) or ERR_IO (disk full, I/O error: nothing of it
 * is kept) otherwise. */
int spool_append(struct spool *sp, const char *rec, size_t len);

/* Called once per record (a NUL-terminated line, borrowed for the call). For spool_replay:
 * return ERR_OK when the record is taken (it will not be seen again once its segment is done),
 * anything else to stop the replay there (the record and those after it stay). */
typedef int (*spool_fn)(void *ctx, const char *rec);

/* Seals the newest segment and hands every waiting record to fn, oldest first, until fn
 * refuses one. Records appended while it runs wait for the next replay. Returns ERR_OK when
 * every record was taken, fn's code when it stopped, ERR_IO when a segment cannot be read or
 * removed. out: *n_taken (may be NULL). */
int spool_replay(struct spool *sp, spool_fn fn, void *ctx, uint64_t *n_taken);
/* Calls fn for each waiting record, oldest first, taking none (fn's result is ignored). For
 * rebuilding what a process knew of its spool after a restart. ERR_OK, ERR_IO. */
int spool_each(struct spool *sp, spool_fn fn, void *ctx);

void spool_stats(struct spool *sp, struct spool_stats *out);
/* The spool's directory (borrowed, valid until spool_close). */
const char *spool_dir(const struct spool *sp);

#endif
