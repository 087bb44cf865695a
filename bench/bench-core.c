/* SPDX-License-Identifier: MIT */
/* Prints the OpenBLAS core in use (OPENBLAS_CORETYPE or OpenBLAS's guess), so
 * that benchmark results can name it. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <cblas.h>

int
main(void)
{
    void *sym;
    char *(*corename)(void);
    float a = 1, b = 1, c = 0;
    /* make sure the BLAS is loaded and initialised */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1, &a, 1, &b, 1, 0, &c, 1);
    sym = dlsym(RTLD_DEFAULT, "openblas_get_corename");
    if (!sym) {
        puts("not-openblas");
        return 0;
    }
    memcpy(&corename, &sym, sizeof corename);
    puts(corename());
    return 0;
}
