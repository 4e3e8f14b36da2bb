/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Number management through a provider's REST API (issue #20 item 4): search available local
 * numbers by area code or region, buy one, point its voice webhook at opendni, find the numbers
 * the account owns (by the idempotency key sent with the purchase, or by number) and release
 * one. A provider with this capability sets tel_provider.numbers (provider.h) to its table.
 * Each operation only builds the request (method, URL, body, authentication) and parses the
 * answer: no I/O, no clock (the app sends the requests through its one outbound client).
 * Requests and answers follow the providers' documented APIs (docs/telephony.md cites them).
 * Ownership: inputs are borrowed for the call; outputs go to caller-owned structs.
 * THREADING: the tables are constant; every function is reentrant. */
#ifndef OPENDNI_TELEPHONY_NUMBERS_H
#define OPENDNI_TELEPHONY_NUMBERS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "core/phone.h"

#define TEL_API_URL_MAX 1024
#define TEL_API_BODY_MAX 2048
#define TEL_REF_MAX 80 /* a provider's id of an owned number */
#define TEL_KEY_PREFIX "opendni-"

/* One REST request. */
struct tel_api_req {
    const char *method; /* static: "GET", "POST", "PATCH", "DELETE" */
    char url[TEL_API_URL_MAX];
    char body[TEL_API_BODY_MAX]; /* "" = no body */
    const char *content_type;    /* static, NULL with no body */
    char auth_header[512];       /* "Authorization: Bearer …", "" = none */
    char userpwd[512];           /* HTTP Basic "user:password", "" = none */
};

/* The account's credentials and where the provider's API is. */
struct tel_api_cred {
    const char *base_url; /* "https://api.twilio.com" (tests point it at a local server) */
    const char *account;  /* Twilio AccountSid; Telnyx: the TeXML application (connection) id */
    const char *secret;   /* Twilio auth token; Telnyx API key */
};

/* What to search for. */
struct tel_search {
    const char *country;   /* ISO 3166-1 alpha-2, "US" */
    const char *area_code; /* "512", or NULL/"" */
    const char *region;    /* "TX", or NULL/"": used when there is no area code */
    int limit;             /* 1..50 */
};

struct tel_available {
    char number[PHONE_E164_MAX];
};

/* A number the account owns at the provider. */
struct tel_owned {
    char number[PHONE_E164_MAX];
    char ref[TEL_REF_MAX]; /* Twilio PN… sid; Telnyx phone number id */
};

/* The webhook URLs a number is pointed at. */
struct tel_hooks {
    const char *voice_url;  /* public URL + /v1/telephony/<name>/voice */
    const char *status_url; /* public URL + /v1/telephony/<name>/status */
};

struct tel_numbers {
    const char *base_url; /* the provider's production API */
    /* Each builder returns ERR_OK, or ERR_INVALID (a missing credential or argument) or
     * ERR_TOOBIG (a value that does not fit). */
    int (*search)(const struct tel_api_cred *c, const struct tel_search *q, struct tel_api_req *r);
    /* The answer's numbers, at most cap. ERR_INVALID when it is not the documented shape. */
    int (*parse_search)(const char *body, struct tel_available *out, size_t cap, size_t *n);
    /* Buys number, tagged with key (the idempotency key: TEL_KEY_PREFIX + key is its Twilio
     * FriendlyName, its Telnyx customer_reference) and, where the purchase takes it, hooks. */
    int (*buy)(const struct tel_api_cred *c, const char *number, const char *key,
               const struct tel_hooks *h, struct tel_api_req *r);
    /* The bought number from the purchase's answer (ref may stay "" where the answer does not
     * name the number's own id: find it then). ERR_INVALID. */
    int (*parse_buy)(const char *body, struct tel_owned *out);
    /* The requests that point the owned number's voice webhook at hooks: r[0..*n), *n <= 2. */
    int (*configure)(const struct tel_api_cred *c, const struct tel_owned *o,
                     const struct tel_hooks *h, struct tel_api_req *r, size_t *n);
    /* Lists the owned numbers tagged with key (number NULL) or with that number (key NULL). */
    int (*find)(const struct tel_api_cred *c, const char *key, const char *number,
                struct tel_api_req *r);
    /* The first owned number of the answer. ERR_NOTFOUND when there is none; ERR_INVALID. */
    int (*parse_find)(const char *body, struct tel_owned *out);
    /* Releases the owned number. */
    int (*release)(const struct tel_api_cred *c, const struct tel_owned *o, struct tel_api_req *r);
};

extern const struct tel_numbers tel_numbers_twilio;
extern const struct tel_numbers tel_numbers_telnyx;

/* Appends s percent-encoded (RFC 3986 unreserved kept, everything else %XX) to dst (cap bytes,
 * NUL-terminated). Returns false when it does not fit. */
bool tel_urlencode_cat(char *dst, size_t cap, const char *s);

#endif
