/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The admin API's request bodies (POST/PATCH /v1/pools, /v1/numbers, POST /v1/rules): a JSON
 * object read into the record the admin use cases take (app/admin.h), with every check the API
 * documents. Pure: no store, no clock. The references a body makes to other records of the
 * account (a pool or a source number by external id) go through the caller's resolver, called
 * at the point of the parse where the reference is read, so the first error a body has is the
 * one reported whatever the resolver is (the HTTP handlers pass the app's lookups; tests and
 * fuzz/fz_admin_json.c pass fixed tables).
 * Ownership: o and the resolver are borrowed for the call; the record is the caller's and is
 * written field by field (on error it may hold the fields read before the bad one).
 * THREADING: reentrant; the resolver is called on the calling thread only. */
#ifndef OPENDNI_APP_ADMIN_BODY_H
#define OPENDNI_APP_ADMIN_BODY_H

#include <stdbool.h>

#include "base/err.h"
#include "base/json.h"
#include "app/records.h"

/* A new pool's lease_ttl and cooldown when its body gives none (seconds). */
#define ADMIN_POOL_DEFAULT_TTL_S 1200
#define ADMIN_POOL_DEFAULT_COOLDOWN_S 1800

/* Looks up the account's records by external id for a body's references. Each function returns
 * ERR_OK with *out filled, ERR_NOTFOUND, or another error code (returned to the caller of the
 * parse as it is, without a message in eb). ctx is their first argument. */
struct admin_refs {
    int (*pool)(void *ctx, const char *ext_id, struct st_pool *out);
    int (*number)(void *ctx, const char *ext_id, struct st_number *out);
    void *ctx;
};

/* Applies the fields present in o (a pool body) to p: name (1..127 bytes), target, forward_to
 * and fallback_number (phone numbers, made E.164; fallback_number null clears it), lease_ttl
 * (1..2592000 s), cooldown (0..31536000 s), on_exhaust ("share" or "fallback"), channels (an
 * array of channel names, or null for every channel). `create` makes name and target required.
 * An empty forward_to becomes target. Unknown keys are refused. Whatever p held, on ERR_OK
 * 1 <= lease_ttl_s <= 2592000 and 0 <= cooldown_s <= 31536000.
 * Returns ERR_OK, or ERR_INVALID with eb naming the field. */
int admin_pool_parse(json_t *o, struct st_pool *p, bool create, struct errbuf *eb);

/* Reads a number body (POST /v1/numbers) into n: number (required, made E.164), either pool
 * (a pool's external id, resolved with refs->pool into n->pool_id, and the pool's ext_id copied
 * into pool_ext) or source (an object: source required, medium and campaign optional, each at
 * most 255 bytes) but not both; target and forward_to (phone numbers); a source number needs
 * forward_to. Unknown keys are refused.
 * Returns ERR_OK; ERR_INVALID with eb naming the field; ERR_NOTFOUND (eb: "pool") for a pool
 * the resolver does not know; another code from the resolver as it is. */
int admin_number_parse(json_t *o, const struct admin_refs *refs, struct st_number *n,
                       char pool_ext[STORE_ID_MAX], struct errbuf *eb);

/* Applies a number update body (PATCH /v1/numbers/{id}: target and forward_to, phone numbers;
 * other keys refused) to n. Returns ERR_OK or ERR_INVALID with eb naming the field. */
int admin_number_patch_parse(json_t *o, struct st_number *n, struct errbuf *eb);

/* Reads a rule body (POST /v1/rules) into r: field (classify_rule_field_parse), op (default
 * "equals"; classify_rule_op_parse), value, the channel to set (a known channel or absent),
 * source, medium and campaign to set (each at most 255 bytes), position (an integer, 0 when
 * absent), pool (resolved with refs->pool into r->pool_id, its ext_id into pool_ext) and number
 * (a source number's external id, resolved with refs->number into r->number_id, its ext_id
 * into number_ext), location_id (the ext id of the location the rule belongs to, into
 * r->location; admin_rule_create checks it). Unknown keys are refused.
 * Returns ERR_OK; ERR_INVALID with eb naming the field; ERR_NOTFOUND (eb: "pool" or "number")
 * for a pool the resolver does not know or a number that is unknown or not a source number;
 * another code from the resolver as it is. */
int admin_rule_parse(json_t *o, const struct admin_refs *refs, struct st_rule *r,
                     char pool_ext[STORE_ID_MAX], char number_ext[STORE_ID_MAX], struct errbuf *eb);

#endif
