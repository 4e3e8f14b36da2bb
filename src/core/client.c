/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Client keys (see client.h): an address reduced to the part its owner cannot vary freely.
 * Pure core: inet_pton/inet_ntop only convert text. */
#include "base/prelude.h"
#include "core/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "base/err.h"

/* ::ffff:a.b.c.d carries an IPv4 address: the same client as a.b.c.d. */
static bool is_v4_mapped(const unsigned char a[16])
{
    static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a, prefix, sizeof(prefix)) == 0;
}

void client_ipv4_text(const unsigned char a[4], char out[CLIENT_IPV4_MAX])
{
    char *p = out;
    for (int i = 0; i < 4; i++) {
        unsigned v = a[i];
        if (i)
            *p++ = '.';
        if (v >= 100)
            *p++ = (char)('0' + v / 100);
        if (v >= 10)
            *p++ = (char)('0' + v / 10 % 10);
        *p++ = (char)('0' + v % 10);
    }
    *p = '\0';
}

int client_key(const char *addr, char *out, size_t cap)
{
    if (cap > 0)
        out[0] = '\0';
    if (!addr || cap < CLIENT_KEY_MAX)
        return ERR_INVALID;
    unsigned char a[16];
    if (inet_pton(AF_INET, addr, a) == 1) { /* cap >= CLIENT_KEY_MAX > CLIENT_IPV4_MAX */
        client_ipv4_text(a, out);
        return ERR_OK;
    }
    if (inet_pton(AF_INET6, addr, a) != 1)
        return ERR_INVALID;
    if (is_v4_mapped(a)) {
        client_ipv4_text(a + 12, out);
        return ERR_OK;
    }
    /* Keep the /64. Its four zero groups are the longest zero run, so the text ends in "::". */
    memset(a + 8, 0, 8);
    if (!inet_ntop(AF_INET6, a, out, (socklen_t)cap)) {
        out[0] = '\0';
        return ERR_INVALID;
    }
    size_t n = strlen(out);
    snprintf(out + n, cap - n, "/64");
    return ERR_OK;
}
