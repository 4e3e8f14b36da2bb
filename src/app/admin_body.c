/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The admin API's request bodies read into records (app/admin_body.h): moved out of the HTTP
 * handler (src/http/handlers/h_admin.c) unchanged, the lookups of referenced pools and numbers
 * going through the caller's resolver. */
#include "base/prelude.h"
#include "app/admin_body.h"

#include "core/classify.h"
#include "core/phone.h"

/* Parses an optional phone field into out (unchanged when absent). */
static int get_phone(json_t *o, const char *key, char out[PHONE_E164_MAX], bool required,
                     struct errbuf *eb)
{
    const char *s = NULL;
    int rc = json_get_str(o, key, &s, eb);
    if (rc)
        return rc;
    if (!s)
        return required ? errf(eb, ERR_INVALID, key, "'%s' is required", key) : ERR_OK;
    rc = phone_parse(s, out, eb);
    if (rc)
        eb->field = key;
    return rc;
}

/* ---- pools ---- */

static int parse_channels(json_t *o, struct st_pool *p, struct errbuf *eb)
{
    json_t *v = json_object_get(o, "channels");
    if (!v)
        return ERR_OK;
    if (json_is_null(v)) {
        p->has_channels = false;
        p->channels = 0;
        return ERR_OK;
    }
    if (!json_is_array(v))
        return errf(eb, ERR_INVALID, "channels", "'channels' must be an array of channels or null");
    size_t i;
    json_t *c;
    uint32_t mask = 0;
    json_array_foreach(v, i, c)
    {
        uint32_t bit = json_is_string(c) ? classify_channel_bit(json_string_value(c)) : 0;
        if (!bit)
            return errf(eb, ERR_INVALID, "channels", "unknown channel in 'channels'");
        mask |= bit;
    }
    p->has_channels = true;
    p->channels = mask;
    return ERR_OK;
}

static int parse_mode(json_t *o, struct st_pool *p, struct errbuf *eb)
{
    const char *mode = NULL;
    int rc = json_get_str(o, "on_exhaust", &mode, eb);
    if (rc || !mode)
        return rc;
    if (strcmp(mode, "share") != 0 && strcmp(mode, "fallback") != 0)
        return errf(eb, ERR_INVALID, "on_exhaust",
                    "'on_exhaust' must be \"share\" or \"fallback\"");
    p->fallback_mode = strcmp(mode, "fallback") == 0;
    return ERR_OK;
}

static int parse_durations(json_t *o, struct st_pool *p, struct errbuf *eb)
{
    long long ttl = p->lease_ttl_s, cooldown = p->cooldown_s;
    int rc = json_get_int(o, "lease_ttl", &ttl, eb);
    if (rc == ERR_OK)
        rc = json_get_int(o, "cooldown", &cooldown, eb);
    if (rc)
        return rc;
    if (ttl < 1 || ttl > 30LL * 86400)
        return errf(eb, ERR_INVALID, "lease_ttl", "'lease_ttl' must be 1 to 2592000 seconds");
    if (cooldown < 0 || cooldown > 365LL * 86400)
        return errf(eb, ERR_INVALID, "cooldown", "'cooldown' must be 0 to 31536000 seconds");
    p->lease_ttl_s = ttl;
    p->cooldown_s = cooldown;
    return ERR_OK;
}

int admin_pool_parse(json_t *o, struct st_pool *p, bool create, struct errbuf *eb)
{
    static const char *const keys[] = {"name",     "target",     "forward_to",      "lease_ttl",
                                       "cooldown", "on_exhaust", "fallback_number", "channels",
                                       NULL};
    const char *name = NULL;
    int rc = json_only_keys(o, keys, eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "name", &name, eb);
    if (rc)
        return rc;
    if (name && (!*name || strlen(name) >= sizeof(p->name)))
        return errf(eb, ERR_INVALID, "name", "'name' must be 1 to 127 bytes");
    if (name)
        snprintf(p->name, sizeof(p->name), "%s", name);
    else if (create)
        return errf(eb, ERR_INVALID, "name", "'name' is required");
    rc = get_phone(o, "target", p->target, create, eb);
    if (rc == ERR_OK)
        rc = get_phone(o, "forward_to", p->forward_to, false, eb);
    if (rc == ERR_OK && json_is_null(json_object_get(o, "fallback_number")))
        p->fallback_number[0] = '\0';
    else if (rc == ERR_OK)
        rc = get_phone(o, "fallback_number", p->fallback_number, false, eb);
    if (rc == ERR_OK)
        rc = parse_durations(o, p, eb);
    if (rc == ERR_OK)
        rc = parse_mode(o, p, eb);
    if (rc == ERR_OK)
        rc = parse_channels(o, p, eb);
    if (rc == ERR_OK && !p->forward_to[0])
        snprintf(p->forward_to, sizeof(p->forward_to), "%s", p->target);
    return rc;
}

/* ---- numbers ---- */

static int copy_field(json_t *o, const char *key, char *dst, size_t cap, struct errbuf *eb)
{
    const char *s = NULL;
    int rc = json_get_str(o, key, &s, eb);
    if (rc || !s)
        return rc;
    if (strlen(s) >= cap)
        return errf(eb, ERR_INVALID, key, "'%s' is longer than %zu bytes", key, cap - 1);
    snprintf(dst, cap, "%s", s);
    return ERR_OK;
}

static int parse_source(json_t *src, struct st_number *n, struct errbuf *eb)
{
    if (!json_is_object(src))
        return errf(eb, ERR_INVALID, "source", "'source' must be an object");
    int rc = copy_field(src, "source", n->source, sizeof(n->source), eb);
    if (rc == ERR_OK)
        rc = copy_field(src, "medium", n->medium, sizeof(n->medium), eb);
    if (rc == ERR_OK)
        rc = copy_field(src, "campaign", n->campaign, sizeof(n->campaign), eb);
    if (rc == ERR_OK && !n->source[0])
        rc = errf(eb, ERR_INVALID, "source", "'source.source' is required");
    return rc;
}

/* Resolves "pool" (an ext id of this account) into n->pool_id. */
static int parse_pool_ref(json_t *o, const struct admin_refs *refs, struct st_number *n,
                          char *pool_ext, struct errbuf *eb)
{
    const char *pool = NULL;
    int rc = json_get_str(o, "pool", &pool, eb);
    if (rc || !pool)
        return rc;
    struct st_pool p;
    rc = refs->pool(refs->ctx, pool, &p);
    if (rc == ERR_NOTFOUND)
        return errf(eb, rc, "pool", "no pool '%.60s'", pool);
    if (rc)
        return rc;
    n->pool_id = p.id;
    snprintf(pool_ext, STORE_ID_MAX, "%s", p.ext_id);
    return ERR_OK;
}

int admin_number_parse(json_t *o, const struct admin_refs *refs, struct st_number *n,
                       char pool_ext[STORE_ID_MAX], struct errbuf *eb)
{
    static const char *const keys[] = {"number", "pool", "source", "target", "forward_to", NULL};
    int rc = json_only_keys(o, keys, eb);
    if (rc == ERR_OK)
        rc = get_phone(o, "number", n->number, true, eb);
    if (rc == ERR_OK)
        rc = parse_pool_ref(o, refs, n, pool_ext, eb);
    json_t *src = json_object_get(o, "source");
    if (rc == ERR_OK && src && !json_is_null(src))
        rc = parse_source(src, n, eb);
    if (rc == ERR_OK && !!n->pool_id == !!n->source[0])
        rc = errf(eb, ERR_INVALID, "pool", "give exactly one of 'pool' and 'source'");
    if (rc == ERR_OK)
        rc = get_phone(o, "target", n->target, false, eb);
    if (rc == ERR_OK)
        rc = get_phone(o, "forward_to", n->forward_to, false, eb);
    if (rc == ERR_OK && n->source[0] && !n->forward_to[0])
        rc = errf(eb, ERR_INVALID, "forward_to", "a source number needs 'forward_to'");
    return rc;
}

int admin_number_patch_parse(json_t *o, struct st_number *n, struct errbuf *eb)
{
    static const char *const keys[] = {"target", "forward_to", NULL};
    int rc = json_only_keys(o, keys, eb);
    if (rc == ERR_OK)
        rc = get_phone(o, "target", n->target, false, eb);
    if (rc == ERR_OK)
        rc = get_phone(o, "forward_to", n->forward_to, false, eb);
    return rc;
}

/* ---- rules ---- */

static int parse_rule_refs(json_t *o, const struct admin_refs *refs, struct st_rule *r,
                           char *pool_ext, char *number_ext, struct errbuf *eb)
{
    struct st_number n = {0};
    int rc = parse_pool_ref(o, refs, &n, pool_ext, eb);
    r->pool_id = n.pool_id;
    const char *num = NULL;
    if (rc == ERR_OK)
        rc = json_get_str(o, "number", &num, eb);
    if (rc || !num)
        return rc;
    rc = refs->number(refs->ctx, num, &n);
    if (rc == ERR_NOTFOUND || (rc == ERR_OK && n.pool_id))
        return errf(eb, ERR_NOTFOUND, "number", "no source number '%.60s'", num);
    r->number_id = n.id;
    snprintf(number_ext, STORE_ID_MAX, "%s", n.ext_id);
    return rc;
}

int admin_rule_parse(json_t *o, const struct admin_refs *refs, struct st_rule *r,
                     char pool_ext[STORE_ID_MAX], char number_ext[STORE_ID_MAX], struct errbuf *eb)
{
    static const char *const keys[] = {"field",  "op",       "value",       "channel",
                                       "source", "medium",   "campaign",    "pool",
                                       "number", "position", "location_id", NULL};
    long long pos = 0;
    int rc = json_only_keys(o, keys, eb);
    if (rc == ERR_OK)
        rc = copy_field(o, "field", r->field, sizeof(r->field), eb);
    if (rc == ERR_OK && classify_rule_field_parse(r->field) < 0)
        rc = errf(eb, ERR_INVALID, "field",
                  "'field' must be utm_source, utm_medium, "
                  "utm_campaign, utm_term, utm_content, click_id, referrer_host, landing_path or "
                  "channel");
    if (rc == ERR_OK)
        rc = copy_field(o, "op", r->op, sizeof(r->op), eb);
    if (rc == ERR_OK && !r->op[0])
        snprintf(r->op, sizeof(r->op), "equals");
    if (rc == ERR_OK && classify_rule_op_parse(r->op) < 0)
        rc = errf(eb, ERR_INVALID, "op", "'op' must be equals, contains, prefix or present");
    if (rc == ERR_OK)
        rc = copy_field(o, "value", r->value, sizeof(r->value), eb);
    if (rc == ERR_OK)
        rc = copy_field(o, "channel", r->set_channel, sizeof(r->set_channel), eb);
    if (rc == ERR_OK && r->set_channel[0] && !classify_channel_valid(r->set_channel))
        rc = errf(eb, ERR_INVALID, "channel", "unknown channel '%s'", r->set_channel);
    if (rc == ERR_OK)
        rc = copy_field(o, "source", r->set_source, sizeof(r->set_source), eb);
    if (rc == ERR_OK)
        rc = copy_field(o, "medium", r->set_medium, sizeof(r->set_medium), eb);
    if (rc == ERR_OK)
        rc = copy_field(o, "campaign", r->set_campaign, sizeof(r->set_campaign), eb);
    if (rc == ERR_OK)
        rc = copy_field(o, "location_id", r->location, sizeof(r->location), eb);
    if (rc == ERR_OK)
        rc = json_get_int(o, "position", &pos, eb);
    r->position = pos;
    if (rc == ERR_OK)
        rc = parse_rule_refs(o, refs, r, pool_ext, number_ext, eb);
    return rc;
}
