/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The zone cache over the system's zone files (app/zones.h). */
#include "base/prelude.h"
#include "app/zones.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>

#include "base/xalloc.h"

#define ZONE_FILE_MAX (256 * 1024) /* the largest TZif files are under 4 KiB */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct zone *cache[ZONES_MAX];
static size_t n_cache;

static int zone_read(const char *name, struct zone *z)
{
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0) {
        zone_fixed(z, name, 0);
        return ERR_OK;
    }
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    struct stat st;
    if (stat(path, &st) != 0)
        return ERR_NOTFOUND;
    if (!S_ISREG(st.st_mode))
        return ERR_IO;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ERR_IO;
    unsigned char *data = xmalloc(ZONE_FILE_MAX);
    size_t len = fread(data, 1, ZONE_FILE_MAX, f);
    fclose(f);
    int rc = zone_parse_tzif(z, name, data, len, NULL);
    free(data);
    return rc == ERR_OK ? ERR_OK : ERR_IO;
}

int zones_get(const char *name, const struct zone **out)
{
    *out = NULL;
    if (!name || !zone_name_ok(name))
        return ERR_INVALID;
    int rc = ERR_OK;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n_cache && !*out; i++)
        if (strcmp(cache[i]->name, name) == 0)
            *out = cache[i];
    if (!*out && n_cache == ZONES_MAX) {
        rc = ERR_TOOBIG;
    } else if (!*out) {
        struct zone *z = xmalloc(sizeof(*z));
        rc = zone_read(name, z);
        if (rc == ERR_OK)
            *out = cache[n_cache++] = z;
        else
            free(z);
    }
    pthread_mutex_unlock(&lock);
    return rc;
}
