/* SPDX-License-Identifier: MIT */
/* Helpers of the benchmark programs: wall time and peak memory. */
#ifndef EC2T_BENCH_COMMON_H
#define EC2T_BENCH_COMMON_H

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static inline double
bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Peak resident set size of this process so far, in MiB. */
static inline double
bench_peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

/* Current resident set size in MiB (from /proc/self/statm). */
static inline double
bench_rss_mib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (double)resident * 4096.0 / (1024.0 * 1024.0);
}

#endif /* EC2T_BENCH_COMMON_H */
