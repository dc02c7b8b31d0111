/*
 * common.c - the error-reporting helper every native file shares, and the
 * API version.
 */
#include <stdarg.h>
#include <stdio.h>

#include "kernels.h"

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
