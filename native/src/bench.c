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

#include "asr_testing.h"
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

static void fill(void *buf, int dtype, size_t n, uint32_t seed, int s8_max)
{
    size_t i;
    for (i = 0; i < n; i++) {
        uint32_t r = next_u32(&seed);
        if (dtype == ASR_S8)
            ((int8_t *)buf)[i] = (int8_t)((int)(r % (2u * (unsigned)s8_max + 1u)) - s8_max);
        else if (dtype == ASR_S16)
            ((int16_t *)buf)[i] = (int16_t)((int32_t)(r % 65535u) - 32767);
        else
            ((float *)buf)[i] = (float)((int32_t)(r % 2001u) - 1000) * 1e-3f;
    }
}

int asr_bench_gemm(int kernel, int dtype, size_t rows, size_t cols, size_t batch, int s8_wmax,
                   double min_seconds, double *seconds, asr_status *st)
{
    void *w;
    int rc;

    if (!asr_valid_dtype(dtype))
        return asr_fail(st, ASR_E_ARG, "asr_bench_gemm: unknown dtype %d", dtype);
    if (rows == 0 || rows > ASR_MAX_DIM || cols == 0 || cols > ASR_MAX_K)
        return asr_fail(st, ASR_E_ARG, "asr_bench_gemm: %zu x %zu is outside 1..%d x 1..%d", rows, cols,
                        ASR_MAX_DIM, ASR_MAX_K);
    if (s8_wmax < 1 || s8_wmax > 127)
        return asr_fail(st, ASR_E_ARG, "asr_bench_gemm: s8_wmax %d is outside 1..127", s8_wmax);
    w = malloc(rows * cols * asr_dtype_size(dtype));
    if (!w)
        return asr_fail(st, ASR_E_NOMEM, "asr_bench_gemm: out of memory");
    fill(w, dtype, rows * cols, 12345u, s8_wmax);
    rc = asr_bench_gemm_weights(kernel, dtype, w, rows, cols, batch, min_seconds, seconds, st);
    free(w);
    return rc;
}

int asr_bench_gemm_weights(int kernel, int dtype, const void *w, size_t rows, size_t cols, size_t batch,
                           double min_seconds, double *seconds, asr_status *st)
{
    const asr_kernels *kern;
    asr_packed packed;
    size_t es, os, blocks = 0;
    void *x = NULL, *out = NULL;
    double start, t0, t, best;
    int rc, resolved;

    if (!seconds || !w)
        return asr_fail(st, ASR_E_ARG, "asr_bench_gemm_weights: null %s pointer", w ? "output" : "weight");
    if ((rc = asr_kernel_resolve(kernel, &resolved, st)) != ASR_OK)
        return rc;
    if (!asr_valid_dtype(dtype))
        return asr_fail(st, ASR_E_ARG, "asr_bench_gemm_weights: unknown dtype %d", dtype);
    if (rows == 0 || rows > ASR_MAX_DIM || cols == 0 || cols > ASR_MAX_K || batch == 0 ||
        batch > 4096)
        return asr_fail(st, ASR_E_ARG, "asr_bench_gemm_weights: %zu x %zu x batch %zu is outside 1..%d x "
                        "1..%d x 1..4096", rows, cols, batch, ASR_MAX_DIM, ASR_MAX_K);
    if (!(min_seconds >= 0.0 && min_seconds <= 60.0))
        return asr_fail(st, ASR_E_ARG, "asr_bench_gemm_weights: min_seconds must lie in [0, 60]");
    es = asr_dtype_size(dtype);
    os = dtype == ASR_S16 ? 8 : 4;
    x = malloc(batch * cols * es);
    out = malloc(batch * rows * os);
    if (!x || !out) {
        rc = asr_fail(st, ASR_E_NOMEM, "asr_bench_gemm_weights: out of memory");
        goto done;
    }
    fill(x, dtype, batch * cols, 777u, 127);
    if ((rc = asr_pack(&packed, resolved, dtype, w, rows, cols, cols, st)) != ASR_OK)
        goto done;
    kern = asr_kernels_for(resolved);
    /* Blocks of at least 2 ms, repeated for min_seconds; the fastest block
     * counts. On a shared machine the slow blocks are other tenants and
     * interrupts, not the kernel. */
    best = -1.0;
    start = now_s();
    do {
        size_t iters = 0;
        t0 = now_s();
        do {
            asr_gemm_packed(kern, &packed, x, cols, batch, out, rows);
            iters++;
            t = now_s() - t0;
        } while (t < 2e-3 || iters < 2);
        if (best < 0.0 || t / (double)iters < best)
            best = t / (double)iters;
        blocks++;
    } while (now_s() - start < min_seconds || blocks < 3);
    *seconds = best;
    asr_packed_free(&packed);
    rc = ASR_OK;
done:
    free(x);
    free(out);
    return rc;
}

/* The clock the core really runs at, from a chain of dependent integer
 * adds (one cycle each on every x86-64 and ARMv8 core): in a VM
 * /proc/cpuinfo shows the nominal clock, and a core in turbo runs faster,
 * which would make a kernel look closer to its peak than it is. */
double asr_bench_clock_ghz(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
    const long n = 20000000; /* x 16 adds */
    double best = 0.0;
    int rep;
    for (rep = 0; rep < 5; rep++) {
        unsigned long v = 0;
        long i;
        double t0 = now_s(), t;
        for (i = 0; i < n; i++) {
#if defined(__x86_64__)
            __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                             "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                             "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                             "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0" : "+r"(v));
#else
            __asm__ volatile("add %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\t"
                             "add %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\t"
                             "add %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\t"
                             "add %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1" : "+r"(v));
#endif
        }
        t = now_s() - t0;
        if (v == (unsigned long)n * 16 && t > 0.0 && (double)n * 16 / t / 1e9 > best)
            best = (double)n * 16 / t / 1e9;
    }
    return best;
#else
    return 0.0; /* unknown core: the caller falls back to the nominal clock */
#endif
}
