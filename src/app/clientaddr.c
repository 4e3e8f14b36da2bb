/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Client addresses (see clientaddr.h): inet_pton/inet_ntop over fixed buffers. */
#include "base/prelude.h"
#include "app/clientaddr.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include "core/client.h"

/* Parses text as an address: family and 16 bytes (IPv4 in the first 4; an IPv4-mapped IPv6
 * address becomes IPv4). false if it is not one. */
static bool parse_addr(const char *text, int *family, uint8_t addr[16])
{
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, text, addr) == 1) {
        *family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, text, addr) != 1)
        return false;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
        memmove(addr, addr + 12, 4);
        memset(addr + 4, 0, 12);
        *family = AF_INET;
        return true;
    }
    *family = AF_INET6;
    return true;
}

/* Copies the n bytes at s, without surrounding spaces, into out (cap bytes). */
static void trim_copy(const char *s, size_t n, char *out, size_t cap)
{
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), s);
}

static int parse_net(const char *entry, struct clientaddr_trust *out, struct errbuf *eb)
{
    char text[CLIENTADDR_MAX];
    str_copy(text, sizeof(text), entry);
    char *slash = strchr(text, '/');
    if (slash)
        *slash = '\0';
    if (out->n == CLIENTADDR_TRUST_MAX)
        return errf(eb, ERR_INVALID, "trust-proxy", "at most %d proxies", CLIENTADDR_TRUST_MAX);
    int i = out->n;
    if (!parse_addr(text, &out->nets[i].family, out->nets[i].addr))
        return errf(eb, ERR_INVALID, "trust-proxy", "cannot parse proxy address '%s'", entry);
    int max = out->nets[i].family == AF_INET ? 32 : 128;
    int bits = max;
    if (slash) {
        char *end = NULL;
        long v = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || v < 0 || v > max)
            return errf(eb, ERR_INVALID, "trust-proxy", "bad prefix length in '%s'", entry);
        bits = (int)v;
    }
    out->nets[i].bits = bits;
    out->n++;
    return ERR_OK;
}

int clientaddr_trust_parse(const char *list, struct clientaddr_trust *out, struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    const char *p = list ? list : "";
    while (*p) {
        size_t n = strcspn(p, ",");
        char entry[CLIENTADDR_MAX];
        trim_copy(p, n, entry, sizeof(entry));
        if (!entry[0] || n >= CLIENTADDR_MAX)
            return errf(eb, ERR_INVALID, "trust-proxy", "empty or overlong entry in '%s'", list);
        int rc = parse_net(entry, out, eb);
        if (rc)
            return rc;
        p += n;
        if (*p == ',')
            p++;
    }
    return ERR_OK;
}

static bool in_net(int family, const uint8_t addr[16], int nf, const uint8_t net[16], int bits)
{
    if (family != nf)
        return false;
    int full = bits / 8;
    if (memcmp(addr, net, (size_t)full) != 0)
        return false;
    int rest = bits % 8;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (addr[full] & mask) == (net[full] & mask);
}

bool clientaddr_trusted(const struct clientaddr_trust *t, const char *addr)
{
    int family;
    uint8_t a[16];
    if (!t || t->n == 0 || !addr || !parse_addr(addr, &family, a))
        return false;
    for (int i = 0; i < t->n; i++)
        if (in_net(family, a, t->nets[i].family, t->nets[i].addr, t->nets[i].bits))
            return true;
    return false;
}

void clientaddr_resolve(const struct clientaddr_trust *t, const char *peer, const char *xff,
                        char *out, size_t cap)
{
    str_copy(out, cap, peer ? peer : "");
    if (!xff || !*xff || !clientaddr_trusted(t, peer))
        return;
    size_t end = strlen(xff);
    while (end > 0) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        char entry[CLIENTADDR_MAX];
        trim_copy(xff + start, end - start, entry, sizeof(entry));
        if (entry[0]) {
            str_copy(out, cap, entry);
            if (!clientaddr_trusted(t, entry))
                return; /* the first untrusted hop from the right: the client */
        }
        end = start > 0 ? start - 1 : 0;
    }
}

void clientaddr_key(const char *addr, char *out, size_t cap)
{
    int family;
    uint8_t a[16];
    if (!addr || !parse_addr(addr, &family, a)) {
        str_copy(out, cap, addr ? addr : "");
        return;
    }
    char text[INET6_ADDRSTRLEN];
    if (family == AF_INET) {
        client_ipv4_text(a, text);
        str_copy(out, cap, text);
        return;
    }
    memset(a + 8, 0, 8);
    inet_ntop(AF_INET6, a, text, sizeof(text));
    snprintf(out, cap, "%s/64", text);
}
