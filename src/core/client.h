/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Who is one client on the public visit path: the key under which sessions from one network
 * origin are grouped, so many sessions from one place count as one voice (core/attrib weighs
 * shared-number candidates by it). An IPv4 address is its own key; an IPv6 address is keyed by
 * its /64 (one subscriber's prefix: the host half is chosen freely by the client); an
 * IPv4-mapped IPv6 address is keyed as the IPv4 address it carries.
 * Part of the pure core: no I/O, no clock, no state. Ownership: arguments are borrowed for the
 * call; the key is written to caller-owned storage. THREADING: reentrant. */
#ifndef OPENDNI_CORE_CLIENT_H
#define OPENDNI_CORE_CLIENT_H

#include <stddef.h>

/* Room for the longest key ("ffff:ffff:ffff:ffff::/64") and its NUL. */
#define CLIENT_KEY_MAX 48

/* Writes the client key of the textual address addr ("203.0.113.7", "2001:db8:1:2::5") into
 * out (cap bytes, at least CLIENT_KEY_MAX): the IPv4 address in dotted form, or the IPv6 /64 as
 * "2001:db8:1:2::/64". Returns ERR_OK, or ERR_INVALID (addr NULL or not an IP address, or cap
 * too small) with out set to "" when cap > 0: an unknown client, grouped with nobody. */
int client_key(const char *addr, char *out, size_t cap);

/* The dotted form of the IPv4 address a (network order) into out: what inet_ntop(AF_INET)
 * writes, in a tenth of its instructions (it formats through sprintf). */
#define CLIENT_IPV4_MAX 16
void client_ipv4_text(const unsigned char a[4], char out[CLIENT_IPV4_MAX]);

#endif
