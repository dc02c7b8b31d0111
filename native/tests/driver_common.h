/*
 * driver_common.h - pieces shared by the C test drivers (kernel_check.c,
 * net_driver.c, pipeline_driver.c), which are built as standalone programs
 * by native/Makefile.
 */
#ifndef ASR_DRIVER_COMMON_H
#define ASR_DRIVER_COMMON_H

#include <stdio.h>

#include "asr.h"

/* The `kernels` command of both drivers: the kernels this build and CPU
 * can run, by name, on one line. */
static int print_kernels(void)
{
    unsigned mask = asr_kernels_available();
    int kernel, first = 1;
    for (kernel = 0; kernel < ASR_KERNEL_COUNT; kernel++)
        if (mask >> kernel & 1) {
            printf(first ? "%s" : " %s", asr_kernel_name(kernel));
            first = 0;
        }
    printf("\n");
    return 0;
}

#endif
