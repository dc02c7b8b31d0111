/*
 * common.c - the helpers of common.h that are not inline, and the API
 * version.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

int asr_api_version(void)
{
    return ASR_API_VERSION;
}

/* The message goes into the caller's status, never into a global, so
 * concurrent calls on different threads cannot overwrite each other's. */
int asr_fail(asr_status *st, int code, const char *fmt, ...)
{
    if (st) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(st->message, sizeof(st->message), fmt, ap);
        va_end(ap);
        st->code = code;
    }
    return code;
}

size_t asr_span_bytes(const void *p, size_t n, size_t stride, size_t len, size_t elem)
{
    size_t e;
    if (n > 1 && stride > (SIZE_MAX - len) / (n - 1))
        return 0;
    e = (n - 1) * stride + len;
    if (e > SIZE_MAX / elem)
        return 0;
    e *= elem;
    if (p && (uintptr_t)p > UINTPTR_MAX - e)
        return 0;
    return e;
}

int asr_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t n;
    void *q;
    if (need <= *cap)
        return 0;
    n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    q = realloc(*p, n * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}
