/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Shared inside the routing module only (routing.c, routing_plan.c): a routing plan read from
 * its JSON document and the account's locations into core/route.h's structures, and the zone
 * cache. Ownership: a struct routing_plan owns everything it points to (routing_plan_free).
 * THREADING: a parsed plan belongs to one thread; the zone cache is shared under a mutex. */
#ifndef OPENDNI_APP_ROUTING_INT_H
#define OPENDNI_APP_ROUTING_INT_H

#include <jansson.h>

#include "base/err.h"
#include "core/route.h"
#include "core/zone.h"
#include "store/store.h"

#define ROUTING_MAX_SCHEDULES (ROUTE_MAX_STEPS + ROUTE_MAX_TARGETS + ROUTE_MAX_LOCATIONS)
#define ROUTING_MAX_HOURS 2048
#define ROUTING_MAX_HOLIDAYS 1024
#define ROUTING_MAX_CODES 4096
#define ROUTING_MAX_BLOCKED 256
#define ROUTING_MAX_OWNED 1000 /* a location's numbers, and its pools */
/* A bidding target's signing secret, sealed (store_secret_seal, label "buyer:<target id>"), in
 * the stored plan; never shown, refused in a plan's body */
#define ROUTING_SECRET_KEY "signing_secret_sealed"
#define ROUTING_MAX_REGIONS 64 /* the visitors' regions a location serves */

struct routing_plan {
    struct route_plan plan;
    char ext_id[STORE_ID_MAX];
    const struct zone *zone; /* the plan's time zone (its counts' day) */
    struct route_step steps[ROUTE_MAX_STEPS];
    struct route_target targets[ROUTE_MAX_TARGETS];
    const char *post_urls[ROUTE_MAX_TARGETS]; /* ping-post: where the post goes (NULL = bid_url) */
    const char *secrets[ROUTE_MAX_TARGETS];   /* ping-post: the sealed signing secret, or NULL */
    struct route_location locs[ROUTE_MAX_LOCATIONS];
    char loc_ids[ROUTE_MAX_LOCATIONS][STORE_ID_MAX];
    struct route_schedule sched[ROUTING_MAX_SCHEDULES];
    size_t n_sched;
    struct route_hours hours[ROUTING_MAX_HOURS];
    size_t n_hours;
    int32_t holidays[ROUTING_MAX_HOLIDAYS];
    size_t n_holidays;
    uint16_t codes[ROUTING_MAX_CODES];
    size_t n_codes;
    uint16_t step_targets[ROUTE_MAX_STEPS][ROUTE_MAX_TARGETS];
    const char *blocked[ROUTING_MAX_BLOCKED];
    json_t *doc;                           /* the plan's JSON: strings point into it */
    json_t *loc_docs[ROUTE_MAX_LOCATIONS]; /* the locations' JSON */
};

/* The zone called name ("UTC" and the system's zoneinfo names), loaded once and kept for the
 * process. NULL with eb set when the name is not a zone. */
const struct zone *routing__zone(const char *name, struct errbuf *eb);

/* Validates a location document (its JSON object). ERR_OK or ERR_INVALID (eb names the field). */
int routing__location_check(json_t *o, struct errbuf *eb);

/* Reads the plan doc (JSON object) with the account's locations (their documents, in the
 * order given) into a new plan. ERR_OK (*out set; free with routing__plan_free), or
 * ERR_INVALID with eb naming the field. */
int routing__plan_parse(json_t *doc, const char *ext_id, json_t *const *loc_docs,
                        const char *const *loc_ids, size_t n_locs, struct routing_plan **out,
                        struct errbuf *eb);
void routing__plan_free(struct routing_plan *rp);

/* The location index of ext_id in rp, or -1. */
int routing__location_index(const struct routing_plan *rp, const char *ext_id);

#endif
