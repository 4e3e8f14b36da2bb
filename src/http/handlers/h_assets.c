/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Embedded static files: /dni.js and /dni-frame.js (gzip when accepted, ETag, 5-minute cache), the
 * demo site and the dashboard. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include "base/hash.h"

#include "http/assets.h"

#define HTML_CSP                                                                                   \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "                 \
    "frame-ancestors 'none'"

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".js", "application/javascript; charset=utf-8"},
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".json", "application/json"},
    {".ico", "image/x-icon"},
};

static const char *type_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < ARRAY_SIZE(types); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static const struct asset *find(const char *path)
{
    for (size_t i = 0; i < n_assets; i++)
        if (strcmp(assets[i].path, path) == 0)
            return &assets[i];
    return NULL;
}

static uint64_t etag_of(const struct asset *a)
{
    return hash_bytes(a->data, a->len);
}

static bool accepts_gzip(const char *h)
{
    return h && strstr(h, "gzip") != NULL;
}

int h_asset(struct http_req *req, struct http_resp *resp)
{
    char path[160];
    size_t n = strlen(req->path);
    snprintf(path, sizeof(path), "%s%s", req->path,
             n && req->path[n - 1] == '/' ? "index.html" : "");
    const struct asset *a = find(path);
    if (!a)
        return errf(&req->eb, ERR_NOTFOUND, NULL, "no file at %s", req->path);
    char etag[24];
    snprintf(etag, sizeof(etag), "\"%016" PRIx64 "\"", etag_of(a));
    http_header(resp, "ETag", "%s", etag);
    /* The tracker scripts hold no account data (numbers come only from the visit API), so a
     * cached or stale copy can never show an old number: browsers and CDNs may keep them 5
     * minutes, then serve the stale copy at once while they revalidate (docs/tracker.md). */
    bool tracker = strcmp(path, "/dni.js") == 0 || strcmp(path, "/dni-frame.js") == 0;
    http_header(resp, "Cache-Control", "%s",
                tracker ? "public, max-age=300, stale-while-revalidate=86400" : "no-cache");
    http_header(resp, "X-Content-Type-Options", "nosniff");
    resp->content_type = type_of(path);
    if (strncmp(resp->content_type, "text/html", 9) == 0) {
        /* Pages run only our own scripts and styles (the tracker sets styles through the DOM,
         * which a CSP allows), talk only to this server, and are never framed. A page whose
         * handler set a stricter policy (the dashboard) keeps its own: two would both apply. */
        bool has_csp = false;
        for (int i = 0; i < resp->n_headers; i++)
            has_csp = has_csp || strcmp(resp->header_names[i], "Content-Security-Policy") == 0;
        if (!has_csp)
            http_header(resp, "Content-Security-Policy", "%s", HTML_CSP);
        http_header(resp, "X-Frame-Options", "DENY");
    }
    if (req->h_if_none_match && strcmp(req->h_if_none_match, etag) == 0) {
        resp->status = 304;
        return ERR_OK;
    }
    const struct asset *gz = NULL;
    if (accepts_gzip(req->h_accept_encoding)) {
        char gzpath[170];
        snprintf(gzpath, sizeof(gzpath), "%s.gz", path);
        gz = find(gzpath);
    }
    http_header(resp, "Vary", "Accept-Encoding");
    if (gz)
        http_header(resp, "Content-Encoding", "gzip");
    resp->static_body = gz ? gz->data : a->data;
    resp->static_len = gz ? gz->len : a->len;
    return ERR_OK;
}
