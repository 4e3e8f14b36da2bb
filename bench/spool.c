/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The spool's append rate (app/spool.h): N appends of a 300-byte record (about a spooled call)
 * from T threads at once, each synced before it returns. Build and run from the build directory:
 *   gcc -std=c17 -O2 -I../src ../bench/spool.c -L. -lod_app -lod_base -ljansson -lpthread \
 *       -o spool-bench && ./spool-bench /tmp/spool-bench 2000 8
 * (a directory on the disk the spool will use; remove it afterwards). */
#include "base/prelude.h"

#include <pthread.h>
#include <time.h>

#include "app/spool.h"

static struct spool *sp;
static int each;

static void *append_many(void *arg)
{
    (void)arg;
    char rec[300];
    memset(rec, 'x', sizeof(rec));
    for (int i = 0; i < each; i++)
        if (spool_append(sp, rec, sizeof(rec)) != ERR_OK)
            abort();
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: spool-bench DIR N THREADS\n");
        return 2;
    }
    struct errbuf eb = {{0}, NULL};
    if (spool_open(argv[1], &sp, &eb) != ERR_OK) {
        fprintf(stderr, "%s\n", eb.msg);
        return 1;
    }
    int n = (int)strtol(argv[2], NULL, 10);
    int t = (int)strtol(argv[3], NULL, 10);
    if (t < 1 || t > 64 || n < t)
        return 2;
    each = n / t;
    pthread_t th[64];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < t; i++)
        pthread_create(&th[i], NULL, append_many, NULL);
    for (int i = 0; i < t; i++)
        pthread_join(th[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("{\"threads\":%d,\"appends\":%d,\"seconds\":%.3f,\"per_second\":%.0f}\n", t, each * t, s,
           each * t / s);
    spool_close(sp);
    return 0;
}
