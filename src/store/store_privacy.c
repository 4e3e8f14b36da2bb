/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* What both backends' erasure (store_erase) shares: the sets of rows it scrubs, how a landing
 * page loses its query, which outbox bodies name the subject, and the record of the messages
 * that had left. Pure string work: no SQL here. */
#include "base/prelude.h"
#include "base/xalloc.h"
#include "store/store_int.h"

bool store__idset_add(struct store__idset *set, int64_t id, const char *ext)
{
    if (!id)
        return false;
    for (size_t i = 0; i < set->n; i++)
        if (set->id[i] == id)
            return false;
    if (set->n == set->cap) {
        set->cap = set->cap ? set->cap * 2 : 16;
        set->id = xrealloc(set->id, set->cap * sizeof(*set->id));
        set->ext = xrealloc(set->ext, set->cap * sizeof(*set->ext));
    }
    set->id[set->n] = id;
    snprintf(set->ext[set->n], STORE_ID_MAX, "%s", ext ? ext : "");
    set->n++;
    return true;
}

void store__idset_free(struct store__idset *set)
{
    free(set->id);
    free(set->ext);
    *set = (struct store__idset){0};
}

void store__strip_query(char *url)
{
    url[strcspn(url, "?#")] = '\0';
}

static bool id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* Whether body holds word as a whole token: "call_7" is not in "call_70", "+1512555000" not in
 * "+15125550001". */
static bool names(const char *body, const char *word)
{
    size_t n = strlen(word);
    if (!n)
        return false;
    for (const char *p = strstr(body, word); p; p = strstr(p + 1, word))
        if ((p == body || !id_char(p[-1]) || !id_char(word[0])) && !id_char(p[n]))
            return true;
    return false;
}

static bool names_any(const char *body, const struct store__idset *set)
{
    for (size_t i = 0; i < set->n; i++)
        if (names(body, set->ext[i]))
            return true;
    return false;
}

bool store__erase_names(const char *body, const char *subject, const struct store__idset *calls,
                        const struct store__idset *sessions)
{
    return names(body, subject) || names_any(body, calls) || names_any(body, sessions);
}

static const char *state_name(int state, int64_t attempts)
{
    if (state == ST_OUTBOX_DELIVERED)
        return "delivered";
    if (state == ST_OUTBOX_GAVE_UP)
        return "gave_up";
    return attempts ? "attempted" : "pending";
}

void store__erase_sent(struct st_erasure *e, const char *destination, const char *event_id,
                       const char *type, int state, int64_t attempts, int64_t at)
{
    e->outbox_sent++;
    size_t len = strlen(e->sent);
    if (len == 0) {
        snprintf(e->sent, sizeof(e->sent), "[]");
        len = 2;
    }
    /* every string here is an id or an event type the server generated: no escaping needed */
    char item[512];
    int k = snprintf(item, sizeof(item),
                     "%s{\"destination\":\"%s\",\"event_id\":\"%s\",\"type\":\"%s\","
                     "\"state\":\"%s\",\"attempts\":%" PRId64 ",\"at\":%" PRId64 "}",
                     len > 2 ? "," : "", destination, event_id, type, state_name(state, attempts),
                     attempts, at);
    if (k < 0 || (size_t)k >= sizeof(item) || len - 1 + (size_t)k + 2 > sizeof(e->sent))
        return; /* counted, not listed */
    memcpy(e->sent + len - 1, item, (size_t)k);
    memcpy(e->sent + len - 1 + (size_t)k, "]", 2);
}

void store__erase_stub(const char *event_id, const char *type, char *out, size_t cap)
{
    snprintf(out, cap, "{\"id\":\"%s\",\"type\":\"%s\",\"erased\":true}", event_id, type);
}
