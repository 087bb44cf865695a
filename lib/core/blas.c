/* SPDX-License-Identifier: MIT */
/* The BLAS under libec2t: one BLAS thread while the library's own workers
 * call it (each on a part, so a multithreaded BLAS underneath would
 * oversubscribe the cores), the process's own setting everywhere else; and a
 * warning when OpenBLAS runs a generic kernel on a CPU that has AVX2 or
 * AVX-512 (Debian's OpenBLAS 0.3.21 does so on CPUs newer than it, about 6x
 * slower in sgemm; OPENBLAS_CORETYPE=Haswell or SkylakeX fixes it).
 *
 * OpenBLAS's own functions are looked up at run time, so the library works
 * with any CBLAS and links to none of OpenBLAS's extensions. */
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#include "blas-private.h"
#include "context-private.h"

typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*corename_fn)(void);

/* A function pointer from dlsym (POSIX guarantees the conversion). */
static void *
lookup(const char *name)
{
    return dlsym(RTLD_DEFAULT, name);
}

const char *
ec2t__blas_corename(void)
{
    corename_fn fn;
    void *sym = lookup("openblas_get_corename");
    if (!sym)
        return "unknown";
    memcpy(&fn, &sym, sizeof fn);
    return fn();
}

static int
generic_core(const char *core)
{
    static const char *const generic[] = {"Prescott", "Core2", "Penryn", "Dunnington",
                                          "Nehalem", "Sandybridge", "Barcelona", "Katmai",
                                          "Coppermine", "Northwood", "Atom", "Bobcat"};
    for (size_t i = 0; i < sizeof generic / sizeof generic[0]; i++)
        if (strcmp(core, generic[i]) == 0)
            return 1;
    return 0;
}

/* OpenBLAS's thread count is process-global: a count of the jobs of the
 * library's workers running in the whole process, so that concurrent jobs
 * (of one context or several) set it once and the last one restores it. */
static pthread_once_t threads_once = PTHREAD_ONCE_INIT;
static set_threads_fn set_threads;
static get_threads_fn get_threads;
static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static int jobs_running;
static int threads_before;

static void
find_thread_functions(void)
{
    void *set = lookup("openblas_set_num_threads"), *get = lookup("openblas_get_num_threads");
    if (!set || !get)
        return; /* a count that cannot be read cannot be restored: leave it alone */
    memcpy(&set_threads, &set, sizeof set_threads);
    memcpy(&get_threads, &get, sizeof get_threads);
}

void
ec2t__blas_workers_begin(void)
{
    pthread_once(&threads_once, find_thread_functions);
    if (!set_threads)
        return;
    pthread_mutex_lock(&threads_lock);
    if (jobs_running++ == 0) {
        threads_before = get_threads();
        if (threads_before != 1)
            set_threads(1);
    }
    pthread_mutex_unlock(&threads_lock);
}

void
ec2t__blas_workers_end(void)
{
    /* set_threads was settled by the begin of this job, in this thread */
    if (!set_threads)
        return;
    pthread_mutex_lock(&threads_lock);
    if (--jobs_running == 0 && threads_before != 1)
        set_threads(threads_before);
    pthread_mutex_unlock(&threads_lock);
}

void
ec2t__blas_setup(ec2t_context *ctx)
{
    const char *core = ec2t__blas_corename();
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    if (generic_core(core) && (__builtin_cpu_supports("avx2") || __builtin_cpu_supports("avx512f")))
        ec2t__log(ctx, EC2T_LOG_WARN,
                  "OpenBLAS runs its generic '%s' kernels on a CPU with %s: sgemm is several "
                  "times slower than it could be; set OPENBLAS_CORETYPE=%s before starting the program",
                  core, __builtin_cpu_supports("avx512f") ? "AVX-512" : "AVX2",
                  __builtin_cpu_supports("avx512f") ? "SkylakeX" : "Haswell");
#else
    (void)ctx;
    (void)core;
    (void)generic_core;
#endif
}
