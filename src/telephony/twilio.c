/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Twilio-compatible webhooks: X-Twilio-Signature (HMAC-SHA1 over the public URL and the sorted
 * parameters, INTERFACES.md §2), TwiML generation escaped like the official library, the few
 * webhook fields the call handlers read, and the Twilio provider's table (provider.h), which
 * SignalWire's and Telnyx's reuse through compat.c. Sits under http/handlers; uses only
 * libcrypto. */
#include "base/prelude.h"
#include "telephony/twilio.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <pthread.h>
#include <openssl/sha.h>
#include <strings.h>

#include "base/xalloc.h"
#include "telephony/numbers.h"
#include "telephony/provider_int.h"

/* ==== string to sign ========================================================================= */

struct sig_item {
    const struct form_param *p;
    size_t order; /* position in the form, for a stable sort */
};

static int cmp_twilio(const void *a, const void *b)
{
    const struct sig_item *x = a;
    const struct sig_item *y = b;
    int c = strcmp(x->p->name, y->p->name);
    if (!c)
        c = strcmp(x->p->value, y->p->value);
    if (!c)
        c = (x->order > y->order) - (x->order < y->order);
    return c;
}

static int cmp_signalwire(const void *a, const void *b)
{
    const struct sig_item *x = a;
    const struct sig_item *y = b;
    int c = strcmp(x->p->name, y->p->name);
    if (!c)
        c = (x->order > y->order) - (x->order < y->order);
    return c;
}

/* Twilio drops a pair equal to the one before it (after sorting: a repeated value). */
static bool skip_pair(enum twilio_flavor flavor, const struct sig_item *items, size_t i)
{
    if (flavor != TWILIO_FLAVOR_TWILIO || i == 0)
        return false;
    const struct form_param *prev = items[i - 1].p;
    const struct form_param *cur = items[i].p;
    return strcmp(prev->name, cur->name) == 0 && strcmp(prev->value, cur->value) == 0;
}

/* The part of the string to sign after the url: name+value pairs in signing order. */
static int signed_params(struct buf *out, enum twilio_flavor flavor, const struct form *params)
{
    int rc = ERR_OK;
    size_t n = params ? params->n : 0;
    if (n == 0)
        return rc;
    struct sig_item *items = xmalloc(n * sizeof(*items));
    for (size_t i = 0; i < n; i++)
        items[i] = (struct sig_item){.p = &params->params[i], .order = i};
    qsort(items, n, sizeof(*items), flavor == TWILIO_FLAVOR_TWILIO ? cmp_twilio : cmp_signalwire);
    for (size_t i = 0; i < n && !rc; i++) {
        if (skip_pair(flavor, items, i))
            continue;
        rc = buf_adds(out, items[i].p->name);
        if (!rc)
            rc = buf_adds(out, items[i].p->value);
    }
    free(items);
    return rc;
}

int twilio_signed_data(struct buf *out, enum twilio_flavor flavor, const char *url,
                       const struct form *params)
{
    if (!url)
        return ERR_INVALID;
    int rc = buf_adds(out, url);
    return rc ? rc : signed_params(out, flavor, params);
}

/* ==== HMAC =================================================================================== */

/* HMAC-SHA1 through one EVP_MAC context made at first use and copied per signature: the
 * one-shot HMAC() fetches the algorithms by name on every call (EVP_Q_mac), which was most of
 * a signature check's CPU. Without it (a libcrypto that cannot), HMAC() as before. */
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;
static EVP_MAC_CTX *hmac_sha1; /* keyless, digest set: the template */

static void hmac_setup(void)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac); /* the context holds its own reference */
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA1", 0),
                           OSSL_PARAM_construct_end()};
    if (ctx && EVP_MAC_CTX_set_params(ctx, params) == 1)
        hmac_sha1 = ctx;
    else
        EVP_MAC_CTX_free(ctx);
}

static bool hmac_fast(const char *token, size_t key_len, const struct buf *data,
                      unsigned char md[EVP_MAX_MD_SIZE], unsigned int *md_len)
{
    pthread_once(&hmac_once, hmac_setup);
    EVP_MAC_CTX *ctx = hmac_sha1 ? EVP_MAC_CTX_dup(hmac_sha1) : NULL;
    size_t n = 0;
    bool ok = ctx && EVP_MAC_init(ctx, (const unsigned char *)token, key_len, NULL) == 1 &&
              EVP_MAC_update(ctx, (const unsigned char *)data->data, data->len) == 1 &&
              EVP_MAC_final(ctx, md, &n, EVP_MAX_MD_SIZE) == 1;
    EVP_MAC_CTX_free(ctx);
    *md_len = (unsigned int)n;
    return ok;
}

static int sign_data(const char *token, const struct buf *data, char out[TWILIO_SIG_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    size_t key_len = strlen(token);
    if (key_len > INT_MAX)
        return ERR_INVALID;
    if (!hmac_fast(token, key_len, data, md, &md_len) &&
        !HMAC(EVP_sha1(), token, (int)key_len, (const unsigned char *)data->data, data->len, md,
              &md_len))
        return ERR_UNSUPPORTED;
    if (md_len != 20)
        return ERR_UNSUPPORTED;
    EVP_EncodeBlock((unsigned char *)out, md, (int)md_len); /* 28 chars + NUL */
    return ERR_OK;
}

int twilio_signature_as(enum twilio_flavor flavor, const char *token, const char *url,
                        const struct form *params, char out[TWILIO_SIG_LEN + 1])
{
    out[0] = '\0';
    if (!token || !url)
        return ERR_INVALID;
    struct buf data;
    buf_init(&data, TWILIO_MAX_SIGNED_LEN);
    int rc = twilio_signed_data(&data, flavor, url, params);
    if (!rc)
        rc = sign_data(token, &data, out);
    buf_release(&data);
    return rc;
}

int twilio_signature(const char *token, const char *url, const struct form *params,
                     char out[TWILIO_SIG_LEN + 1])
{
    return twilio_signature_as(TWILIO_FLAVOR_TWILIO, token, url, params, out);
}

/* ==== port forms ===============================================================================
 * The official validators accept the signature over the URL without its port, or over the URL
 * with the scheme's default port when it has none. The port sits at the end of the authority
 * (after any user@ and any [IPv6] host). */

struct url_port {
    size_t host_end;   /* where ":port" starts, or where it would go */
    size_t port_end;   /* end of ":port" (== host_end when there is none) */
    const char *deflt; /* ":443", ":80", or NULL for other schemes */
};

static void find_port(const char *url, struct url_port *u)
{
    const char *sep = strstr(url, "://");
    size_t scheme_len = sep ? (size_t)(sep - url) : 0;
    u->deflt = NULL;
    if (scheme_len == 5 && strncasecmp(url, "https", 5) == 0)
        u->deflt = ":443";
    else if (scheme_len == 4 && strncasecmp(url, "http", 4) == 0)
        u->deflt = ":80";
    size_t auth = sep ? scheme_len + 3 : 0;
    size_t end = auth + strcspn(url + auth, "/?#");
    size_t host = auth;
    for (size_t i = auth; i < end; i++)
        if (url[i] == '@')
            host = i + 1;
    size_t colon = end;
    for (size_t i = host; i < end && sep; i++) {
        if (url[i] == ']')
            colon = end; /* a ':' inside [IPv6] is not a port */
        else if (url[i] == ':')
            colon = i;
    }
    u->host_end = colon;
    u->port_end = end;
}

/* Fills bare (port removed) and full (default port added when missing). */
static int port_forms(const char *url, struct buf *bare, struct buf *full)
{
    struct url_port u;
    find_port(url, &u);
    int rc = buf_add(bare, url, u.host_end);
    if (!rc)
        rc = buf_adds(bare, url + u.port_end);
    if (!rc)
        rc = buf_add(full, url, u.port_end);
    if (!rc && u.host_end == u.port_end && u.deflt)
        rc = buf_adds(full, u.deflt);
    if (!rc)
        rc = buf_adds(full, url + u.port_end);
    return rc;
}

static bool sig_matches(enum twilio_flavor flavor, const char *token, const char *url,
                        const struct form *params, const char *sig)
{
    char want[TWILIO_SIG_LEN + 1];
    if (twilio_signature_as(flavor, token, url, params, want))
        return false;
    return CRYPTO_memcmp(want, sig, TWILIO_SIG_LEN) == 0;
}

bool twilio_verify_as(enum twilio_flavor flavor, const char *token, const char *url,
                      const struct form *params, const char *sig)
{
    if (!token || !url || !sig || strlen(sig) != TWILIO_SIG_LEN)
        return false;
    struct buf bare;
    struct buf full;
    buf_init(&bare, TWILIO_MAX_SIGNED_LEN);
    buf_init(&full, TWILIO_MAX_SIGNED_LEN);
    bool ok = false;
    if (!port_forms(url, &bare, &full)) {
        /* Both are always computed: no early exit that would tell which form matched. */
        bool a = sig_matches(flavor, token, bare.data, params, sig);
        bool b = sig_matches(flavor, token, full.data, params, sig);
        ok = a | b;
    }
    buf_release(&full);
    buf_release(&bare);
    return ok;
}

static bool buf_same(const struct buf *a, const struct buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* HMAC-SHA1 with one key over each url + tail pair, keyed once (a re-init without a key starts
 * from the keyed state). Every pair is computed and compared. false if libcrypto cannot. */
static bool hmac_any(const char *token, size_t key_len, const struct buf *urls, int n_urls,
                     const struct buf *tails, int n_tails, const char *sig, bool *ok)
{
    pthread_once(&hmac_once, hmac_setup);
    EVP_MAC_CTX *ctx = hmac_sha1 ? EVP_MAC_CTX_dup(hmac_sha1) : NULL;
    bool done = ctx && EVP_MAC_init(ctx, (const unsigned char *)token, key_len, NULL) == 1;
    bool match = false;
    for (int i = 0; done && i < n_urls; i++) {
        for (int j = 0; done && j < n_tails; j++) {
            unsigned char md[EVP_MAX_MD_SIZE];
            size_t md_len = 0;
            char b64[TWILIO_SIG_LEN + 1];
            done = ((i == 0 && j == 0) || EVP_MAC_init(ctx, NULL, 0, NULL) == 1) &&
                   EVP_MAC_update(ctx, (const unsigned char *)urls[i].data, urls[i].len) == 1 &&
                   (tails[j].len == 0 ||
                    EVP_MAC_update(ctx, (const unsigned char *)tails[j].data, tails[j].len) == 1) &&
                   EVP_MAC_final(ctx, md, &md_len, sizeof(md)) == 1 && md_len == 20;
            if (done) {
                EVP_EncodeBlock((unsigned char *)b64, md, (int)md_len); /* 28 chars + NUL */
                match |= CRYPTO_memcmp(b64, sig, TWILIO_SIG_LEN) == 0;
            }
            OPENSSL_cleanse(md, sizeof(md));
        }
    }
    EVP_MAC_CTX_free(ctx);
    *ok = match;
    return done;
}

bool twilio_verify_any(const char *token, const char *url, const struct form *params,
                       const char *sig)
{
    if (!token || !url || !sig || strlen(sig) != TWILIO_SIG_LEN)
        return false;
    size_t key_len = strlen(token);
    struct buf urls[2], tails[2];
    for (int i = 0; i < 2; i++) {
        buf_init(&urls[i], TWILIO_MAX_SIGNED_LEN);
        buf_init(&tails[i], TWILIO_MAX_SIGNED_LEN);
    }
    bool ok = false, computed = false;
    if (key_len <= INT_MAX && !port_forms(url, &urls[0], &urls[1]) &&
        !signed_params(&tails[0], TWILIO_FLAVOR_TWILIO, params) &&
        !signed_params(&tails[1], TWILIO_FLAVOR_SIGNALWIRE, params) &&
        urls[1].len + tails[1].len < TWILIO_MAX_SIGNED_LEN)
        computed = hmac_any(token, key_len, urls, buf_same(&urls[0], &urls[1]) ? 1 : 2, tails,
                            buf_same(&tails[0], &tails[1]) ? 1 : 2, sig, &ok);
    else
        computed = true; /* too large or unparseable: false, as twilio_verify_as says */
    for (int i = 0; i < 2; i++) {
        buf_release(&urls[i]);
        buf_release(&tails[i]);
    }
    if (!computed) { /* no EVP_MAC: one HMAC() per string, as before; both computed */
        bool a = twilio_verify_as(TWILIO_FLAVOR_TWILIO, token, url, params, sig);
        bool b = twilio_verify_as(TWILIO_FLAVOR_SIGNALWIRE, token, url, params, sig);
        return a || b;
    }
    return ok;
}

bool twilio_verify(const char *token, const char *url, const struct form *params, const char *sig)
{
    return twilio_verify_as(TWILIO_FLAVOR_TWILIO, token, url, params, sig);
}

/* ==== JSON bodies ============================================================================ */

/* true if the url's query names bodySHA256 = hex sha256 of the body. */
static bool body_hash_matches(const char *url, const char *body, size_t len)
{
    const char *q = strchr(url, '?');
    if (!q || (!body && len))
        return false;
    struct form query;
    if (form_parse(q + 1, strcspn(q + 1, "#"), &query))
        return false;
    const char *want = form_get(&query, "bodySHA256");
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)(body ? body : ""), len, md);
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    for (size_t i = 0; i < sizeof(md); i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    bool ok = want && strlen(want) == 2 * SHA256_DIGEST_LENGTH &&
              CRYPTO_memcmp(want, hex, 2 * SHA256_DIGEST_LENGTH) == 0;
    form_release(&query);
    return ok;
}

bool twilio_verify_body(const char *token, const char *url, const char *body, size_t len,
                        const char *sig)
{
    if (!url)
        return false;
    bool hash_ok = body_hash_matches(url, body, len);
    bool sig_ok = twilio_verify(token, url, NULL, sig);
    return hash_ok & sig_ok;
}

/* ==== TwiML ==================================================================================
 * Escaping follows the official library (xmlbuilder as used by twilio-node): text escapes
 * & < > and CR, attributes & < " TAB LF CR. Anything XML 1.0 cannot carry is dropped. */

#define TWIML_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
#define TWIML_STATUS_EVENTS "initiated ringing answered completed"
#define TWIML_NOT_IN_SERVICE "We are sorry, the number you have called is not in service."

/* Length of the valid UTF-8 sequence for an XML 1.0 character at s, or 0 if there is none. */
static size_t xml_char_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return s[0] >= 0x20 || s[0] == '\t' || s[0] == '\n' || s[0] == '\r';
    size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (len == 0 || s[0] > 0xf4)
        return 0;
    uint32_t cp = s[0] & (0x3f >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    bool bad = cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
               cp == 0xfffe || cp == 0xffff;
    return bad ? 0 : len;
}

static const char *xml_entity(char ch, bool attr)
{
    switch (ch) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return attr ? NULL : "&gt;";
    case '"':
        return attr ? "&quot;" : NULL;
    case '\t':
        return attr ? "&#x9;" : NULL;
    case '\n':
        return attr ? "&#xA;" : NULL;
    case '\r':
        return "&#xD;";
    default:
        return NULL;
    }
}

/* Printable ASCII that no entity replaces (attribute or text): copied as a run. */
static bool xml_plain(unsigned char ch)
{
    return ch >= 0x20 && ch < 0x7f && ch != '&' && ch != '<' && ch != '>' && ch != '"';
}

static int add_escaped(struct buf *b, const char *s, bool attr)
{
    int rc = ERR_OK;
    while (*s && !rc) {
        size_t run = 0;
        while (xml_plain((unsigned char)s[run]))
            run++;
        if (run) {
            rc = buf_add(b, s, run);
            s += run;
            continue;
        }
        size_t len = xml_char_len((const unsigned char *)s);
        const char *entity = len == 1 ? xml_entity(*s, attr) : NULL;
        if (entity)
            rc = buf_adds(b, entity);
        else if (len)
            rc = buf_add(b, s, len);
        s += len ? len : 1;
    }
    return rc;
}

/* Appends ` name="value"`, or nothing when value is NULL. */
static int add_attr(struct buf *b, const char *name, const char *value)
{
    if (!value)
        return ERR_OK;
    int rc = buf_addc(b, ' ');
    if (!rc)
        rc = buf_adds(b, name);
    if (!rc)
        rc = buf_adds(b, "=\"");
    if (!rc)
        rc = add_escaped(b, value, true);
    if (!rc)
        rc = buf_addc(b, '"');
    return rc;
}

static int add_say(struct buf *b, const char *text)
{
    int rc = buf_adds(b, "<Say>");
    if (!rc)
        rc = add_escaped(b, text, false);
    if (!rc)
        rc = buf_adds(b, "</Say>");
    return rc;
}

static int add_dial_open(struct buf *b, const struct twiml_dial *d)
{
    int rc = buf_adds(b, "<Dial");
    if (!rc)
        rc = add_attr(b, "callerId", d->caller_id);
    if (!rc)
        rc = add_attr(b, "action", d->action_url);
    if (!rc && d->action_url)
        rc = add_attr(b, "method", "POST");
    if (!rc && d->timeout_s > 0)
        rc = buf_addf(b, " timeout=\"%d\"", d->timeout_s);
    if (!rc && d->record)
        rc = add_attr(b, "record", "record-from-answer-dual");
    if (!rc && d->record && d->recording_url)
        rc = add_attr(b, "recordingStatusCallback", d->recording_url);
    if (!rc && d->record && d->recording_url)
        rc = add_attr(b, "recordingStatusCallbackMethod", "POST");
    if (!rc)
        rc = buf_addc(b, '>');
    return rc;
}

/* <Number>, or <Sip> for a sip: URI (a ping-post buyer's destination; TwiML and TeXML both
 * take the same attributes on it). */
static int add_number(struct buf *b, const struct twiml_dial *d)
{
    bool sip = strncmp(d->forward_to, "sip:", 4) == 0;
    int rc = buf_adds(b, sip ? "<Sip" : "<Number");
    if (!rc && d->number_url)
        rc = add_attr(b, "url", d->number_url);
    if (!rc && d->number_url)
        rc = add_attr(b, "method", "POST");
    if (!rc)
        rc = add_attr(b, "statusCallback", d->status_url);
    if (!rc && d->status_url)
        rc = add_attr(b, "statusCallbackEvent", TWIML_STATUS_EVENTS);
    if (!rc)
        rc = buf_addc(b, '>');
    if (!rc)
        rc = add_escaped(b, d->forward_to, false);
    if (!rc)
        rc = buf_adds(b, sip ? "</Sip>" : "</Number>");
    return rc;
}

/* Restores out to len on failure, so a caller never sends half a document. */
static int finish(struct buf *out, size_t len, int rc)
{
    if (rc) {
        out->len = len;
        out->data[len] = '\0';
    }
    return rc;
}

int twiml_dial(struct buf *out, const struct twiml_dial *d)
{
    if (!out || !d || !d->forward_to || !*d->forward_to)
        return ERR_INVALID;
    size_t len = out->len;
    int rc = buf_adds(out, TWIML_HEAD "<Response>");
    if (!rc && d->record)
        rc = add_say(out, d->notice ? d->notice : TWILIO_DEFAULT_NOTICE);
    if (!rc)
        rc = add_dial_open(out, d);
    if (!rc)
        rc = add_number(out, d);
    if (!rc)
        rc = buf_adds(out, "</Dial></Response>");
    return finish(out, len, rc);
}

int twiml_reject(struct buf *out)
{
    if (!out)
        return ERR_INVALID;
    size_t len = out->len;
    int rc = buf_adds(out, TWIML_HEAD "<Response>");
    if (!rc)
        rc = add_say(out, TWIML_NOT_IN_SERVICE);
    if (!rc)
        rc = buf_adds(out, "<Hangup/></Response>");
    return finish(out, len, rc);
}

int twiml_gather(struct buf *out, const char *say, int num_digits, int timeout_s,
                 const char *action_url)
{
    if (!out || !action_url || num_digits < 1)
        return ERR_INVALID;
    size_t len = out->len;
    int rc = buf_addf(out, TWIML_HEAD "<Response><Gather numDigits=\"%d\"", num_digits);
    if (!rc && timeout_s > 0)
        rc = buf_addf(out, " timeout=\"%d\"", timeout_s);
    if (!rc)
        rc = add_attr(out, "action", action_url);
    if (!rc)
        rc = buf_adds(out, " method=\"POST\" input=\"dtmf\">");
    if (!rc && say && *say)
        rc = add_say(out, say);
    if (!rc)
        rc = buf_adds(out, "</Gather><Redirect method=\"POST\">");
    if (!rc)
        rc = add_escaped(out, action_url, false);
    if (!rc)
        rc = buf_adds(out, "</Redirect></Response>");
    return finish(out, len, rc);
}

int twiml_record(struct buf *out, const char *say, int max_len_s, const char *action_url,
                 const char *status_url)
{
    if (!out || !action_url)
        return ERR_INVALID;
    size_t len = out->len;
    int rc = buf_adds(out, TWIML_HEAD "<Response>");
    if (!rc && say && *say)
        rc = add_say(out, say);
    if (!rc)
        rc = buf_adds(out, "<Record");
    if (!rc && max_len_s > 0)
        rc = buf_addf(out, " maxLength=\"%d\"", max_len_s);
    if (!rc)
        rc = add_attr(out, "action", action_url);
    if (!rc)
        rc = add_attr(out, "method", "POST");
    if (!rc)
        rc = add_attr(out, "recordingStatusCallback", status_url);
    if (!rc)
        rc = buf_adds(out, "/></Response>");
    return finish(out, len, rc);
}

int twiml_say(struct buf *out, const char *say, bool hangup)
{
    if (!out)
        return ERR_INVALID;
    size_t len = out->len;
    int rc = buf_adds(out, TWIML_HEAD "<Response>");
    if (!rc && say && *say)
        rc = add_say(out, say);
    if (!rc)
        rc = buf_adds(out, hangup ? "<Hangup/></Response>" : "</Response>");
    return finish(out, len, rc);
}

int twiml_block(struct buf *out)
{
    if (!out)
        return ERR_INVALID;
    return finish(out, out->len,
                  buf_adds(out, TWIML_HEAD "<Response><Reject reason=\"rejected\"/></Response>"));
}

int twiml_empty(struct buf *out)
{
    if (!out)
        return ERR_INVALID;
    return finish(out, out->len, buf_adds(out, TWIML_HEAD "<Response/>"));
}

/* ==== webhook fields ========================================================================= */

static bool all_chars_in(const char *s, size_t max_len, const char *allowed_extra, bool alnum)
{
    size_t n = strlen(s);
    if (n == 0 || n > max_len)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') ||
                  (alnum && ((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')));
        if (!ok && !strchr(allowed_extra, ch))
            return false;
    }
    return true;
}

/* Parses an optional count field into *out (-1 when absent). */
static int parse_count(const struct form *f, const char *name, int64_t *out, struct errbuf *eb)
{
    const char *s = form_get(f, name);
    *out = -1;
    if (!s)
        return ERR_OK;
    size_t n = strlen(s);
    if (n == 0 || n > 10 || strspn(s, "0123456789") != n)
        return errf(eb, ERR_INVALID, name, "cannot parse %s '%.16s'", name, s);
    int64_t v = strtoll(s, NULL, 10);
    if (v > 1000000000)
        return errf(eb, ERR_INVALID, name, "%s out of range", name);
    *out = v;
    return ERR_OK;
}

static int check_status(const char *s, const char *name, struct errbuf *eb)
{
    if (s && !all_chars_in(s, 32, "-", false))
        return errf(eb, ERR_INVALID, name, "bad %s '%.32s'", name, s);
    return ERR_OK;
}

static void read_strings(const struct form *f, struct tel_webhook *w)
{
    w->call_sid = form_get(f, "CallSid");
    w->account_sid = form_get(f, "AccountSid");
    w->parent_call_sid = form_get(f, "ParentCallSid");
    w->from = form_get(f, "From");
    w->to = form_get(f, "To");
    w->call_status = form_get(f, "CallStatus");
    w->direction = form_get(f, "Direction");
    w->caller_name = form_get(f, "CallerName");
    w->forwarded_from = form_get(f, "ForwardedFrom");
    w->dial_call_status = form_get(f, "DialCallStatus");
    w->recording_url = form_get(f, "RecordingUrl");
}

int twilio_webhook_parse(const struct form *f, struct tel_webhook *out, struct errbuf *eb)
{
    return twilio_webhook_parse_as(f, 64, "-", out, eb);
}

int twilio_webhook_parse_as(const struct form *f, size_t sid_max, const char *sid_extra,
                            struct tel_webhook *out, struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    out->call_duration_s = out->dial_call_duration_s = out->sequence_number = -1;
    if (!f)
        return errf(eb, ERR_INVALID, NULL, "no webhook parameters");
    read_strings(f, out);
    if (!out->call_sid)
        return errf(eb, ERR_INVALID, "CallSid", "missing CallSid");
    if (!all_chars_in(out->call_sid, sid_max, sid_extra, true))
        return errf(eb, ERR_INVALID, "CallSid", "bad CallSid '%.64s'", out->call_sid);
    int rc = check_status(out->call_status, "CallStatus", eb);
    if (!rc)
        rc = check_status(out->dial_call_status, "DialCallStatus", eb);
    if (!rc)
        rc = parse_count(f, "CallDuration", &out->call_duration_s, eb);
    if (!rc)
        rc = parse_count(f, "DialCallDuration", &out->dial_call_duration_s, eb);
    if (!rc)
        rc = parse_count(f, "SequenceNumber", &out->sequence_number, eb);
    return rc;
}

/* ==== the Twilio provider ===================================================================== */

static const char *const twilio_headers[] = {"X-Twilio-Signature", NULL};

static int twilio_check(const struct tel_request *rq, struct errbuf *eb)
{
    return tel__require_header(rq, twilio_headers, eb);
}

static int twilio_parse(const struct tel_request *rq, struct tel_hook *out, struct errbuf *eb)
{
    return tel__form_parse(rq, 64, "-", out, eb);
}

static bool twilio_hook_verify(const struct tel_request *rq, const struct tel_hook *h,
                               const char *secret)
{
    return tel__twilio_verify(rq, h, secret, twilio_headers);
}

static int twilio_answer(struct buf *out, const struct tel_answer *a)
{
    return tel__twiml_answer(out, a, tel__twilio.paths);
}

const struct tel_provider tel__twilio = {
    .name = "twilio",
    .paths = {"/v1/telephony/twilio/voice", "/v1/telephony/twilio/status",
              "/v1/telephony/twilio/dial", "/v1/telephony/twilio/route",
              "/v1/telephony/twilio/recording"},
    .signer_by_account_sid = true,
    .content_type = "text/xml",
    .check = twilio_check,
    .parse = twilio_parse,
    .verify = twilio_hook_verify,
    .answer = twilio_answer,
    .status = tel__twilio_status,
    .numbers = &tel_numbers_twilio,
};
