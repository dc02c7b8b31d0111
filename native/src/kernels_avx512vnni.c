/*
 * kernels_avx512vnni.c - matrix products with AVX-512BW + VNNI (vpdpbusd,
 * vpdpwssd), e.g. Cascade Lake, Ice Lake, Sapphire Rapids, Zen 4.
 *
 * Layout (the table at the end): blocks of 16 rows, one zmm per k-group holding
 * 16 rows x 4 k (int8), 16 rows x 2 k (int16) or 16 rows x 1 k (float); the
 * inputs are broadcast, so each int32/float lane accumulates one output row
 * and no horizontal sum is ever needed. A tile is up to 4 row blocks x 8
 * frames of accumulators held in registers across the whole K loop.
 */
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx512f,avx512bw,avx512vnni")

#include <immintrin.h>
#include <string.h>

#include "kernels.h"

#define LANES 16
#include "simd.h"

/* Broadcast 4 bytes of caller memory (any alignment) to every dword. */
ALWAYS_INLINE __m512i bcast4(const unsigned char *p)
{
    return _mm512_set1_epi32(load4(p));
}

/* The store mask of row block r: its rows that exist. */
ALWAYS_INLINE __mmask16 row_mask(size_t rows_left, int r)
{
    size_t n = rows_in_block(rows_left, r);
    return n == LANES ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

/* ------------------------------------------------------------------- s8 */

/* vpdpbusd multiplies unsigned by signed bytes, so the weights are stored
 * as u = w + 128 (asr_pack) and x stays signed:
 *     sum u*x = sum w*x + 128 * sum x,
 * and the accumulator starts at -128 * sum x. Each vpdpbusd adds four
 * exact products (|u*x| <= 255 * 128) to the int32 lane with wrap-around,
 * so every step is exact modulo 2^32; the final value is sum w*x, whose
 * magnitude is below 2^31 (native/QUANTIZATION.md section 3), so the
 * wrapped result is the true one. */
static int32_t neg128_sum_s8(const int8_t *x, size_t n)
{
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i acc = _mm512_setzero_si512();
    size_t i;
    for (i = 0; i + 64 <= n; i += 64)
        acc = _mm512_dpbusd_epi32(acc, ones, _mm512_loadu_si512((const void *)(x + i)));
    if (i < n) /* masked-off bytes are not read: no fault past the row */
        acc = _mm512_dpbusd_epi32(acc, ones, _mm512_maskz_loadu_epi8(((__mmask64)1 << (n - i)) - 1, x + i));
    return -128 * _mm512_reduce_add_epi32(acc); /* |sum| <= 2^23 */
}

/* One k-group (4 k) of a tile: xv[b] holds 4 bytes of frame b. */
ALWAYS_INLINE void step_s8(__m512i acc[4][8], const unsigned char *wg, size_t bstride, int nrb,
                           const int32_t *xv, int nb)
{
    __m512i wv[4];
    int r, b;
    for (r = 0; r < nrb; r++)
        wv[r] = _mm512_load_si512((const void *)(wg + r * bstride));
    for (b = 0; b < nb; b++) {
        __m512i xb = _mm512_set1_epi32(xv[b]);
        for (r = 0; r < nrb; r++)
            acc[r][b] = _mm512_dpbusd_epi32(acc[r][b], wv[r], xb);
    }
}

ALWAYS_INLINE void tile_s8(const unsigned char *w, size_t bstride, int nrb, const int8_t *x,
                           size_t x_stride, int nb, size_t cols, const int32_t *bias, int32_t *out,
                           size_t out_stride, size_t rows_left)
{
    __m512i acc[4][8];
    const unsigned char *xp[8];
    int32_t xv[8];
    size_t g, full = cols / 4;
    int r, b;

    for (b = 0; b < nb; b++) {
        xp[b] = (const unsigned char *)(x + b * x_stride);
        for (r = 0; r < nrb; r++)
            acc[r][b] = _mm512_set1_epi32(bias[b]);
    }
    for (g = 0; g < full; g++) {
        for (b = 0; b < nb; b++)
            memcpy(&xv[b], xp[b] + 4 * g, 4);
        step_s8(acc, w + g * 64, bstride, nrb, xv, nb);
    }
    if (cols % 4) {
        for (b = 0; b < nb; b++)
            xv[b] = tail4(xp[b] + 4 * full, cols % 4);
        step_s8(acc, w + full * 64, bstride, nrb, xv, nb);
    }
    for (b = 0; b < nb; b++)
        for (r = 0; r < nrb; r++)
            _mm512_mask_storeu_epi32(out + b * out_stride + r * LANES, row_mask(rows_left, r), acc[r][b]);
}

#define S8_TILE(R, B) tile_s8(wp, bstride, R, xn, x_stride, B, w->cols, bias, op, out_stride, rows_left)
#define S8_CASE(B, R) case B: if (nrb == R) S8_TILE(R, B); else S8_TILE(1, B); break

static void gemm_s8s8s32_avx512vnni(const asr_packed *w, const int8_t *x, size_t x_stride, size_t batch,
                                    int32_t *out, size_t out_stride)
{
    const unsigned char *wd = (const unsigned char *)w->data;
    size_t bstride = w->ld * LANES, nblocks = (w->rows + LANES - 1) / LANES, n0, rb;
    int32_t bias[8];
    int nb, b;

    for (n0 = 0; n0 < batch; n0 += (size_t)nb) {
        const int8_t *xn = x + n0 * x_stride;
        int rbmax;
        nb = batch - n0 < 8 ? (int)(batch - n0) : 8;
        rbmax = nb <= 4 ? 4 : 2; /* 16 accumulators of the 32 zmm */
        for (b = 0; b < nb; b++)
            bias[b] = neg128_sum_s8(xn + b * x_stride, w->cols);
        for (rb = 0; rb < nblocks;) {
            const unsigned char *wp = wd + rb * bstride;
            int32_t *op = out + n0 * out_stride + rb * LANES;
            size_t rows_left = w->rows - rb * LANES;
            int nrb = nblocks - rb >= (size_t)rbmax ? rbmax : 1;
            switch (nb) {
            S8_CASE(1, 4); S8_CASE(2, 4); S8_CASE(3, 4); S8_CASE(4, 4);
            S8_CASE(5, 2); S8_CASE(6, 2); S8_CASE(7, 2); default: S8_CASE(8, 2);
            }
            rb += (size_t)nrb;
        }
    }
}

/* ------------------------------------------------------------------ s16 */

/* A product w*x of int16 (|w| <= 32767) lies in (-2^30, 2^30], but int32
 * lanes cannot hold their sum and int64 lanes would halve the throughput.
 * So each lane keeps two int32 sums over its k:
 *     lo = sum w*x            modulo 2^32  (vpdpwssd wraps)
 *     hi = sum floor(w*x / 2^16)           (vpmulhw, |hi| <= 65536 * 2^14)
 * With A = 2^16 * hi, S - A = sum (w*x mod 2^16) lies in [0, 65536 * 65535]
 * for cols <= ASR_MAX_K, i.e. inside [0, 2^32), so
 *     S = A + ((lo - A) mod 2^32)
 * recovers the exact int64 sum S. */
ALWAYS_INLINE void store_s64(int64_t *out, __m512i lo, __m512i hi, __mmask16 m)
{
    __m512i d = _mm512_sub_epi32(lo, _mm512_slli_epi32(hi, 16));
    __m512i s0 = _mm512_add_epi64(_mm512_slli_epi64(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(hi)), 16),
                                  _mm512_cvtepu32_epi64(_mm512_castsi512_si256(d)));
    __m512i s1 = _mm512_add_epi64(_mm512_slli_epi64(_mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(hi, 1)), 16),
                                  _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(d, 1)));
    _mm512_mask_storeu_epi64(out, (__mmask8)(m & 0xff), s0);
    _mm512_mask_storeu_epi64(out + 8, (__mmask8)(m >> 8), s1);
}

ALWAYS_INLINE void step_s16(__m512i lo[4][6], __m512i hi[4][6], const unsigned char *wg, size_t bstride,
                            int nrb, const int32_t *xv, int nb)
{
    const __m512i ones = _mm512_set1_epi16(1);
    __m512i wv[4];
    int r, b;
    for (r = 0; r < nrb; r++)
        wv[r] = _mm512_load_si512((const void *)(wg + r * bstride));
    for (b = 0; b < nb; b++) {
        __m512i xb = _mm512_set1_epi32(xv[b]);
        for (r = 0; r < nrb; r++) {
            lo[r][b] = _mm512_dpwssd_epi32(lo[r][b], wv[r], xb);
            hi[r][b] = _mm512_dpwssd_epi32(hi[r][b], _mm512_mulhi_epi16(wv[r], xb), ones);
        }
    }
}

ALWAYS_INLINE void tile_s16(const unsigned char *w, size_t bstride, int nrb, const int16_t *x,
                            size_t x_stride, int nb, size_t cols, int64_t *out, size_t out_stride,
                            size_t rows_left)
{
    __m512i lo[4][6], hi[4][6];
    const unsigned char *xp[6];
    int32_t xv[6];
    size_t g, full = cols / 2;
    int r, b;

    for (b = 0; b < nb; b++) {
        xp[b] = (const unsigned char *)(x + b * x_stride);
        for (r = 0; r < nrb; r++)
            lo[r][b] = hi[r][b] = _mm512_setzero_si512();
    }
    for (g = 0; g < full; g++) {
        for (b = 0; b < nb; b++)
            memcpy(&xv[b], xp[b] + 4 * g, 4);
        step_s16(lo, hi, w + g * 64, bstride, nrb, xv, nb);
    }
    if (cols % 2) {
        for (b = 0; b < nb; b++)
            xv[b] = tail4(xp[b] + 4 * full, 2);
        step_s16(lo, hi, w + full * 64, bstride, nrb, xv, nb);
    }
    for (b = 0; b < nb; b++)
        for (r = 0; r < nrb; r++)
            store_s64(out + b * out_stride + r * LANES, lo[r][b], hi[r][b], row_mask(rows_left, r));
}

#define S16_TILE(R, B) tile_s16(wp, bstride, R, xn, x_stride, B, w->cols, op, out_stride, rows_left)
#define S16_CASE(B, R) case B: if (nrb == R) S16_TILE(R, B); else S16_TILE(1, B); break

static void gemm_s16s16s64_avx512vnni(const asr_packed *w, const int16_t *x, size_t x_stride,
                                      size_t batch, int64_t *out, size_t out_stride)
{
    const unsigned char *wd = (const unsigned char *)w->data;
    size_t bstride = w->ld * LANES * 2, nblocks = (w->rows + LANES - 1) / LANES, n0, rb;
    int nb;

    for (n0 = 0; n0 < batch; n0 += (size_t)nb) {
        const int16_t *xn = x + n0 * x_stride;
        int rbmax;
        nb = batch - n0 < 6 ? (int)(batch - n0) : 6;
        rbmax = nb <= 2 ? 4 : 2; /* at most 24 accumulators */
        for (rb = 0; rb < nblocks;) {
            const unsigned char *wp = wd + rb * bstride;
            int64_t *op = out + n0 * out_stride + rb * LANES;
            size_t rows_left = w->rows - rb * LANES;
            int nrb = nblocks - rb >= (size_t)rbmax ? rbmax : 1;
            switch (nb) {
            S16_CASE(1, 4); S16_CASE(2, 4); S16_CASE(3, 2); S16_CASE(4, 2); S16_CASE(5, 2);
            default: S16_CASE(6, 2);
            }
            rb += (size_t)nrb;
        }
    }
}

/* ------------------------------------------------------------------ f32 */

/* Every output is acc = fma(w[k], x[k], acc) for k = 0, 1, ..., cols-1,
 * one lane per output, whatever the tile shape or batch: the rounding
 * sequence depends on cols alone. */
ALWAYS_INLINE void tile_f32(const float *w, size_t bstride, int nrb, const float *x, size_t x_stride,
                            int nb, size_t cols, float *out, size_t out_stride, size_t rows_left)
{
    __m512 acc[4][8];
    const unsigned char *xp[8];
    size_t k;
    int r, b;

    for (b = 0; b < nb; b++) {
        xp[b] = (const unsigned char *)(x + b * x_stride);
        for (r = 0; r < nrb; r++)
            acc[r][b] = _mm512_setzero_ps();
    }
    for (k = 0; k < cols; k++) {
        __m512 wv[4];
        for (r = 0; r < nrb; r++)
            wv[r] = _mm512_load_ps(w + r * bstride + k * LANES);
        for (b = 0; b < nb; b++) {
            float xv;
            __m512 xb;
            memcpy(&xv, xp[b] + 4 * k, 4);
            xb = _mm512_set1_ps(xv);
            for (r = 0; r < nrb; r++)
                acc[r][b] = _mm512_fmadd_ps(wv[r], xb, acc[r][b]);
        }
    }
    for (b = 0; b < nb; b++)
        for (r = 0; r < nrb; r++)
            _mm512_mask_storeu_ps(out + b * out_stride + r * LANES, row_mask(rows_left, r), acc[r][b]);
}

#define F32_TILE(R, B) tile_f32(wp, bstride, R, xn, x_stride, B, w->cols, op, out_stride, rows_left)
#define F32_CASE(B, R) case B: if (nrb == R) F32_TILE(R, B); else F32_TILE(1, B); break

static void gemm_f32_avx512vnni(const asr_packed *w, const float *x, size_t x_stride, size_t batch,
                                float *out, size_t out_stride)
{
    const float *wd = (const float *)w->data;
    size_t bstride = w->ld * LANES, nblocks = (w->rows + LANES - 1) / LANES, n0, rb;
    int nb;

    for (n0 = 0; n0 < batch; n0 += (size_t)nb) {
        const float *xn = x + n0 * x_stride;
        int rbmax;
        nb = batch - n0 < 8 ? (int)(batch - n0) : 8;
        rbmax = nb <= 4 ? 4 : 2;
        for (rb = 0; rb < nblocks;) {
            const float *wp = wd + rb * bstride;
            float *op = out + n0 * out_stride + rb * LANES;
            size_t rows_left = w->rows - rb * LANES;
            int nrb = nblocks - rb >= (size_t)rbmax ? rbmax : 1;
            switch (nb) {
            F32_CASE(1, 4); F32_CASE(2, 4); F32_CASE(3, 4); F32_CASE(4, 4);
            F32_CASE(5, 2); F32_CASE(6, 2); F32_CASE(7, 2); default: F32_CASE(8, 2);
            }
            rb += (size_t)nrb;
        }
    }
}

/* Blocks of 16 rows; groups of 4 k (int8: vpdpbusd, weights stored as
 * w + 128 because it multiplies unsigned by signed bytes), 2 k (int16:
 * vpdpwssd), 1 k (float). */
const asr_kernels asr_kernels_avx512vnni = {
    .kernel = ASR_KERNEL_AVX512VNNI, .name = "avx512vnni", .built = 1,
    .layout = {{LANES, 1, 1, 0, 0}, {LANES, 2, 2, 0, 0}, {LANES, 4, 4, 128, 0}},
    .gemm_s8 = gemm_s8s8s32_avx512vnni, .gemm_s16 = gemm_s16s16s64_avx512vnni,
    .gemm_f32 = gemm_f32_avx512vnni
};

#else /* not x86: the table says the kernel is not built */

#include "kernels.h"

const asr_kernels asr_kernels_avx512vnni = {.kernel = ASR_KERNEL_AVX512VNNI, .name = "avx512vnni", .built = 0};

#endif /* x86 */
