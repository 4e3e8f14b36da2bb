/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Client addresses on the public visit path: which proxies' X-Forwarded-For is believed
 * (`serve --trust-proxy ADDR_OR_CIDR,…`), the client's address behind them, and the key one
 * client is counted by (an IPv4 address; the /64 of an IPv6 address, which one subscriber
 * usually holds whole). Pure functions over strings; nothing is kept.
 * THREADING: none needed (a parsed list is read-only once built). */
#ifndef OPENDNI_APP_CLIENTADDR_H
#define OPENDNI_APP_CLIENTADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define CLIENTADDR_TRUST_MAX 32 /* proxy addresses or networks in --trust-proxy */
#define CLIENTADDR_MAX 64       /* room for any address text or key */

/* The trusted proxies: addresses or CIDR networks, IPv4 or IPv6. */
struct clientaddr_trust {
    int n;
    struct {
        int family; /* AF_INET or AF_INET6 */
        uint8_t addr[16];
        int bits;
    } nets[CLIENTADDR_TRUST_MAX];
};

/* Parses "ADDR[/BITS],…" (spaces around entries allowed; "" = trust no one) into *out.
 * Returns ERR_OK, or ERR_INVALID naming the bad entry in eb (too many entries, an address that
 * does not parse, a prefix length out of range). */
int clientaddr_trust_parse(const char *list, struct clientaddr_trust *out, struct errbuf *eb);

/* Whether addr (text) is in one of the trusted networks. An IPv4-mapped IPv6 address counts as
 * its IPv4 address. */
bool clientaddr_trusted(const struct clientaddr_trust *t, const char *addr);

/* The client's address: the connection's peer, unless the peer is a trusted proxy; then the
 * X-Forwarded-For entries are read from the right (the entry each proxy appended), skipping
 * trusted proxies, and the first one that is not trusted is the client (entries to its left are
 * whatever the client wrote); if all are trusted, the leftmost. xff may be NULL. Writes at most
 * cap bytes (NUL-terminated) to out. */
void clientaddr_resolve(const struct clientaddr_trust *t, const char *peer, const char *xff,
                        char *out, size_t cap);

/* The key a client is counted by: an IPv4 address as is, an IPv6 address as its /64
 * ("2001:db8:1:2::/64"), an IPv4-mapped IPv6 address as its IPv4 address, anything else as is.
 * Writes at most cap bytes (NUL-terminated) to out. */
void clientaddr_key(const char *addr, char *out, size_t cap);

#endif
