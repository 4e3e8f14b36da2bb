/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Fuzz target: the admin API's bodies (app/admin_body.h): each input, parsed as the handlers
 * parse a body (json_parse_object), is read as a new pool, a pool update, a new number, a
 * number update and a new rule, with references resolved from fixed tables (pools pool_a and
 * pool_b, the source number num_src, the pool number num_pooled; *_err ids answer ERR_IO as a
 * failing store would).
 * Invariants: the documented error codes, with a message for the parser's own; every record it
 * accepts is in range (1 <= lease_ttl <= 30 days, 0 <= cooldown <= 365 days, names and texts
 * within their fields, phone numbers E.164, forward_to set, exactly one of pool and source,
 * known channels, fields and ops, references to what the tables hold and never to a pool's
 * number as a rule's source number); an update leaves the fields it does not name alone; and a
 * record written back as a body parses to the same record. */
#include "base/prelude.h"

#include "base/err.h"
#include "base/json.h"
#include "core/classify.h"
#include "core/phone.h"
#include "app/admin_body.h"
#include "fuzz.h"

#define BODY_MAX 65536
#define DAY_S (86400LL)

/* ---- the resolver: fixed tables ---- */

static int ref_pool(void *ctx, const char *ext_id, struct st_pool *out)
{
    (void)ctx;
    if (strcmp(ext_id, "pool_err") == 0)
        return ERR_IO;
    int64_t id = strcmp(ext_id, "pool_a") == 0 ? 7 : strcmp(ext_id, "pool_b") == 0 ? 8 : 0;
    if (!id)
        return ERR_NOTFOUND;
    *out = (struct st_pool){.id = id, .lease_ttl_s = 60};
    snprintf(out->ext_id, sizeof(out->ext_id), "%s", ext_id);
    return ERR_OK;
}

static int ref_number(void *ctx, const char *ext_id, struct st_number *out)
{
    (void)ctx;
    if (strcmp(ext_id, "num_err") == 0)
        return ERR_IO;
    bool src = strcmp(ext_id, "num_src") == 0;
    if (!src && strcmp(ext_id, "num_pooled") != 0)
        return ERR_NOTFOUND;
    *out = (struct st_number){.id = src ? 11 : 12, .pool_id = src ? 0 : 7};
    snprintf(out->ext_id, sizeof(out->ext_id), "%s", ext_id);
    return ERR_OK;
}

static const struct admin_refs refs = {ref_pool, ref_number, NULL};

/* ---- checks ---- */

static bool text_ok(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

/* "" or a canonical E.164 number (phone_parse gives it back unchanged). */
static bool phone_ok(const char *s, bool required)
{
    if (!text_ok(s, PHONE_E164_MAX))
        return false;
    if (!*s)
        return !required;
    char again[PHONE_E164_MAX];
    return phone_parse(s, again, NULL) == ERR_OK && strcmp(again, s) == 0;
}

static void set_text(json_t *o, const char *key, const char *s)
{
    if (*s)
        json_object_set_new(o, key, json_string(s));
}

static void check_error(int rc, const struct errbuf *eb, bool refs_used)
{
    FUZZ_CHECK(rc == ERR_INVALID || (refs_used && (rc == ERR_NOTFOUND || rc == ERR_IO)));
    FUZZ_CHECK(rc == ERR_IO || eb->msg[0]);
}

static void check_pool(const struct st_pool *p, bool create)
{
    FUZZ_CHECK(p->lease_ttl_s >= 1 && p->lease_ttl_s <= 30 * DAY_S);
    FUZZ_CHECK(p->cooldown_s >= 0 && p->cooldown_s <= 365 * DAY_S);
    FUZZ_CHECK(text_ok(p->name, sizeof(p->name)) && p->name[0]);
    FUZZ_CHECK(phone_ok(p->target, create) && phone_ok(p->fallback_number, false));
    FUZZ_CHECK(phone_ok(p->forward_to, create));
    FUZZ_CHECK(p->forward_to[0] || !p->target[0]);
    FUZZ_CHECK(p->channels < (1u << CLASSIFY_N_CHANNELS) && (p->has_channels || !p->channels));
}

static json_t *pool_body(const struct st_pool *p)
{
    json_t *o = json_pack("{s:s,s:I,s:I,s:s}", "name", p->name, "lease_ttl",
                          (json_int_t)p->lease_ttl_s, "cooldown", (json_int_t)p->cooldown_s,
                          "on_exhaust", p->fallback_mode ? "fallback" : "share");
    set_text(o, "target", p->target);
    set_text(o, "forward_to", p->forward_to);
    set_text(o, "fallback_number", p->fallback_number);
    json_t *ch = p->has_channels ? json_array() : json_null();
    for (size_t i = 0; p->has_channels && i < CLASSIFY_N_CHANNELS; i++)
        if (p->channels & (1u << i))
            json_array_append_new(ch, json_string(classify_channel_at(i)));
    json_object_set_new(o, "channels", ch);
    return o;
}

static bool same_pool(const struct st_pool *a, const struct st_pool *b)
{
    return strcmp(a->name, b->name) == 0 && strcmp(a->target, b->target) == 0 &&
           strcmp(a->forward_to, b->forward_to) == 0 &&
           strcmp(a->fallback_number, b->fallback_number) == 0 &&
           a->lease_ttl_s == b->lease_ttl_s && a->cooldown_s == b->cooldown_s &&
           a->fallback_mode == b->fallback_mode && a->has_channels == b->has_channels &&
           a->channels == b->channels;
}

static const struct st_pool stored_pool = {.id = 7,
                                           .ext_id = "pool_a",
                                           .name = "Spring",
                                           .target = "+15125550100",
                                           .forward_to = "+15125550101",
                                           .lease_ttl_s = 600,
                                           .cooldown_s = 0,
                                           .fallback_mode = true,
                                           .fallback_number = "+15125550199",
                                           .has_channels = true,
                                           .channels = 5};

static void fuzz_pool(json_t *o, bool create)
{
    struct st_pool p = create ? (struct st_pool){.lease_ttl_s = ADMIN_POOL_DEFAULT_TTL_S,
                                                 .cooldown_s = ADMIN_POOL_DEFAULT_COOLDOWN_S}
                              : stored_pool;
    struct errbuf eb = {{0}, NULL};
    int rc = admin_pool_parse(o, &p, create, &eb);
    if (rc != ERR_OK) {
        check_error(rc, &eb, false);
        return;
    }
    check_pool(&p, create);
    if (!create) { /* what the body does not name stays */
        const struct st_pool *s = &stored_pool;
        FUZZ_CHECK(json_object_get(o, "name") || strcmp(p.name, s->name) == 0);
        FUZZ_CHECK(json_object_get(o, "target") || strcmp(p.target, s->target) == 0);
        FUZZ_CHECK(json_object_get(o, "lease_ttl") || p.lease_ttl_s == s->lease_ttl_s);
        FUZZ_CHECK(json_object_get(o, "cooldown") || p.cooldown_s == s->cooldown_s);
        FUZZ_CHECK(json_object_get(o, "on_exhaust") || p.fallback_mode == s->fallback_mode);
        FUZZ_CHECK(json_object_get(o, "channels") ||
                   (p.has_channels == s->has_channels && p.channels == s->channels));
    }
    json_t *back = pool_body(&p);
    struct st_pool q = {.lease_ttl_s = ADMIN_POOL_DEFAULT_TTL_S,
                        .cooldown_s = ADMIN_POOL_DEFAULT_COOLDOWN_S};
    FUZZ_CHECK(admin_pool_parse(back, &q, true, NULL) == ERR_OK && same_pool(&p, &q));
    json_decref(back);
}

static json_t *number_body(const struct st_number *n, const char *pool_ext)
{
    json_t *o = json_pack("{s:s}", "number", n->number);
    if (n->pool_id) {
        json_object_set_new(o, "pool", json_string(pool_ext));
    } else {
        json_t *src = json_pack("{s:s}", "source", n->source);
        set_text(src, "medium", n->medium);
        set_text(src, "campaign", n->campaign);
        json_object_set_new(o, "source", src);
    }
    set_text(o, "target", n->target);
    set_text(o, "forward_to", n->forward_to);
    return o;
}

static bool same_number(const struct st_number *a, const struct st_number *b)
{
    return strcmp(a->number, b->number) == 0 && a->pool_id == b->pool_id &&
           strcmp(a->source, b->source) == 0 && strcmp(a->medium, b->medium) == 0 &&
           strcmp(a->campaign, b->campaign) == 0 && strcmp(a->target, b->target) == 0 &&
           strcmp(a->forward_to, b->forward_to) == 0;
}

static void fuzz_number(json_t *o)
{
    struct st_number n = {.account_id = 1};
    char pool_ext[STORE_ID_MAX] = "";
    struct errbuf eb = {{0}, NULL};
    int rc = admin_number_parse(o, &refs, &n, pool_ext, &eb);
    if (rc != ERR_OK) {
        check_error(rc, &eb, true);
        return;
    }
    FUZZ_CHECK(phone_ok(n.number, true) && phone_ok(n.target, false));
    FUZZ_CHECK(phone_ok(n.forward_to, false));
    FUZZ_CHECK((n.pool_id != 0) != (n.source[0] != '\0'));
    FUZZ_CHECK(n.pool_id ? (n.pool_id == 7 && strcmp(pool_ext, "pool_a") == 0) ||
                               (n.pool_id == 8 && strcmp(pool_ext, "pool_b") == 0)
                         : !pool_ext[0] && n.forward_to[0]);
    FUZZ_CHECK(text_ok(n.source, sizeof(n.source)) && text_ok(n.medium, sizeof(n.medium)) &&
               text_ok(n.campaign, sizeof(n.campaign)));
    json_t *back = number_body(&n, pool_ext);
    struct st_number m = {.account_id = 1};
    char ext2[STORE_ID_MAX] = "";
    FUZZ_CHECK(admin_number_parse(back, &refs, &m, ext2, NULL) == ERR_OK);
    FUZZ_CHECK(same_number(&m, &n) && strcmp(ext2, pool_ext) == 0);
    json_decref(back);
}

static void fuzz_number_patch(json_t *o)
{
    const struct st_number stored = {.id = 11,
                                     .number = "+15125550111",
                                     .source = "google",
                                     .target = "+15125550100",
                                     .forward_to = "+15125550101"};
    struct st_number n = stored;
    struct errbuf eb = {{0}, NULL};
    int rc = admin_number_patch_parse(o, &n, &eb);
    if (rc != ERR_OK) {
        check_error(rc, &eb, false);
        return;
    }
    FUZZ_CHECK(phone_ok(n.target, false) && phone_ok(n.forward_to, false));
    FUZZ_CHECK(json_object_get(o, "target") || strcmp(n.target, stored.target) == 0);
    FUZZ_CHECK(json_object_get(o, "forward_to") || strcmp(n.forward_to, stored.forward_to) == 0);
    FUZZ_CHECK(strcmp(n.number, stored.number) == 0 && strcmp(n.source, stored.source) == 0);
}

static json_t *rule_body(const struct st_rule *r, const char *pool_ext, const char *number_ext)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:I}", "field", r->field, "op", r->op, "value", r->value,
                          "position", (json_int_t)r->position);
    set_text(o, "channel", r->set_channel);
    set_text(o, "source", r->set_source);
    set_text(o, "medium", r->set_medium);
    set_text(o, "campaign", r->set_campaign);
    set_text(o, "pool", pool_ext);
    set_text(o, "number", number_ext);
    return o;
}

static bool same_rule(const struct st_rule *a, const struct st_rule *b)
{
    return strcmp(a->field, b->field) == 0 && strcmp(a->op, b->op) == 0 &&
           strcmp(a->value, b->value) == 0 && strcmp(a->set_channel, b->set_channel) == 0 &&
           strcmp(a->set_source, b->set_source) == 0 && strcmp(a->set_medium, b->set_medium) == 0 &&
           strcmp(a->set_campaign, b->set_campaign) == 0 && a->position == b->position &&
           a->pool_id == b->pool_id && a->number_id == b->number_id;
}

static void fuzz_rule(json_t *o)
{
    struct st_rule r = {.account_id = 1};
    char pool_ext[STORE_ID_MAX] = "", number_ext[STORE_ID_MAX] = "";
    struct errbuf eb = {{0}, NULL};
    int rc = admin_rule_parse(o, &refs, &r, pool_ext, number_ext, &eb);
    if (rc != ERR_OK) {
        check_error(rc, &eb, true);
        return;
    }
    FUZZ_CHECK(classify_rule_field_parse(r.field) >= 0 && classify_rule_op_parse(r.op) >= 0);
    FUZZ_CHECK(!r.set_channel[0] || classify_channel_valid(r.set_channel));
    FUZZ_CHECK(text_ok(r.value, sizeof(r.value)) && text_ok(r.set_source, sizeof(r.set_source)));
    FUZZ_CHECK(r.pool_id == 0 ? !pool_ext[0] : (r.pool_id == 7 || r.pool_id == 8) && pool_ext[0]);
    FUZZ_CHECK(r.number_id == 0 ? !number_ext[0]
                                : r.number_id == 11 && strcmp(number_ext, "num_src") == 0);
    json_t *back = rule_body(&r, pool_ext, number_ext);
    struct st_rule s = {.account_id = 1};
    char p2[STORE_ID_MAX] = "", n2[STORE_ID_MAX] = "";
    FUZZ_CHECK(admin_rule_parse(back, &refs, &s, p2, n2, NULL) == ERR_OK);
    FUZZ_CHECK(same_rule(&s, &r) && strcmp(p2, pool_ext) == 0 && strcmp(n2, number_ext) == 0);
    json_decref(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > BODY_MAX)
        return 0; /* the routes' body limit */
    json_t *o = NULL;
    struct errbuf eb = {{0}, NULL};
    if (json_parse_object((const char *)data, size, &o, &eb) != ERR_OK) {
        FUZZ_CHECK(o == NULL && eb.msg[0]);
        return 0;
    }
    fuzz_pool(o, true);
    fuzz_pool(o, false);
    fuzz_number(o);
    fuzz_number_patch(o);
    fuzz_rule(o);
    json_decref(o);
    return 0;
}
