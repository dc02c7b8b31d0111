/*
 * bench.c - timing of one packed kernel, for tools/bench_kernels.py.
 *
 * Lives in C so that a batch-1 product of a few microseconds is not
 * drowned by the Python call around it; the numbers it returns are what
 * the network's own forward pays per layer product.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* xorshift32: deterministic data without touching rand()'s hidden state. */
static uint32_t next_u32(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void fill(void *buf, int dtype, size_t n, uint32_t seed)
{
    size_t i;
    for (i = 0; i < n; i++) {
        uint32_t r = next_u32(&seed);
        if (dtype == ASR_S8)
            ((int8_t *)buf)[i] = (int8_t)((int)(r % 255u) - 127);
        else if (dtype == ASR_S16)
            ((int16_t *)buf)[i] = (int16_t)((int32_t)(r % 65535u) - 32767);
        else
            ((float *)buf)[i] = (float)((int32_t)(r % 2001u) - 1000) * 1e-3f;
    }
}

int asr_bench_gemm(int path, int dtype, size_t rows, size_t cols, size_t batch,
                   double min_seconds, double *seconds, asr_status *st)
{
    const asr_kernels *kern;
    asr_packed packed;
    size_t es, os, iters = 0;
    void *w = NULL, *x = NULL, *out = NULL;
    double t0, t;
    int rc, resolved;

    if (!seconds)
        return asr_fail(st, ASR_E_ARG, "asr_bench_gemm: null output pointer");
    if ((rc = asr_path_resolve(path, &resolved, st)) != ASR_OK)
        return rc;
    if (dtype != ASR_F32 && dtype != ASR_S16 && dtype != ASR_S8)
        return asr_fail(st, ASR_E_ARG, "asr_bench_gemm: unknown dtype %d", dtype);
    if (rows == 0 || rows > ASR_MAX_DIM || cols == 0 || cols > ASR_MAX_K || batch == 0 ||
        batch > 4096)
        return asr_fail(st, ASR_E_ARG, "asr_bench_gemm: %zu x %zu x batch %zu is outside 1..%d x "
                        "1..%d x 1..4096", rows, cols, batch, ASR_MAX_DIM, ASR_MAX_K);
    if (!(min_seconds >= 0.0 && min_seconds <= 60.0))
        return asr_fail(st, ASR_E_ARG, "asr_bench_gemm: min_seconds must lie in [0, 60]");
    es = dtype == ASR_F32 ? 4 : dtype == ASR_S16 ? 2 : 1;
    os = dtype == ASR_S16 ? 8 : 4;
    w = malloc(rows * cols * es);
    x = malloc(batch * cols * es);
    out = malloc(batch * rows * os);
    if (!w || !x || !out) {
        rc = asr_fail(st, ASR_E_NOMEM, "asr_bench_gemm: out of memory");
        goto done;
    }
    fill(w, dtype, rows * cols, 12345u);
    fill(x, dtype, batch * cols, 777u);
    if ((rc = asr_pack(&packed, resolved, dtype, w, rows, cols, cols, st)) != ASR_OK)
        goto done;
    kern = asr_kernels_for(resolved);
    t0 = now_s();
    do {
        if (dtype == ASR_S8)
            kern->gemm_s8(&packed, (const int8_t *)x, cols, batch, (int32_t *)out, rows);
        else if (dtype == ASR_S16)
            kern->gemm_s16(&packed, (const int16_t *)x, cols, batch, (int64_t *)out, rows);
        else
            kern->gemm_f32(&packed, (const float *)x, cols, batch, (float *)out, rows);
        iters++;
        t = now_s() - t0;
    } while (t < min_seconds || iters < 3);
    *seconds = t / (double)iters;
    asr_packed_free(&packed);
    rc = ASR_OK;
done:
    free(w);
    free(x);
    free(out);
    return rc;
}
