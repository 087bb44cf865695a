/* SPDX-License-Identifier: MIT */
/* The BLAS under libec2t: single-threaded (libec2t runs its own workers), and a
 * warning when OpenBLAS runs a generic kernel on a CPU that has AVX2 or
 * AVX-512 (Debian's OpenBLAS 0.3.21 does so on CPUs newer than it, about 6x
 * slower in sgemm; OPENBLAS_CORETYPE=Haswell or SkylakeX fixes it).
 *
 * OpenBLAS's own functions are looked up at run time, so the library works
 * with any CBLAS and links to none of OpenBLAS's extensions. */
#include <dlfcn.h>
#include <string.h>

#include "net-private.h"

typedef void (*set_threads_fn)(int);
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

void
ec2t__blas_setup(ec2t_context *ctx)
{
    set_threads_fn set_threads;
    void *sym = lookup("openblas_set_num_threads");
    const char *core;
    if (!sym)
        return;
    memcpy(&set_threads, &sym, sizeof set_threads);
    /* libec2t splits its work over its own workers, each calling BLAS on a
     * part: a multithreaded BLAS underneath would oversubscribe the cores */
    set_threads(1);
    core = ec2t__blas_corename();
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    if (generic_core(core) && (__builtin_cpu_supports("avx2") || __builtin_cpu_supports("avx512f")))
        ec2t__log(ctx, EC2T_LOG_WARN,
                  "OpenBLAS runs its generic '%s' kernels on a CPU with %s: sgemm is several "
                  "times slower than it could be; set OPENBLAS_CORETYPE=%s before starting the program",
                  core, __builtin_cpu_supports("avx512f") ? "AVX-512" : "AVX2",
                  __builtin_cpu_supports("avx512f") ? "SkylakeX" : "Haswell");
#else
    (void)generic_core;
#endif
}
