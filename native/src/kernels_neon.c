/*
 * kernels_neon.c - matrix products with armv7 NEON and aarch64 Advanced
 * SIMD (ASR_KERNEL_NEON), and on aarch64 also with the sdot instruction of
 * the dot-product extension (ASR_KERNEL_NEON_DOT).
 *
 * Layout (the tables asr_kernels_neon/_neondot): blocks of 4 rows. int8 is stored in groups of 2 k
 * (NEON: one 8-byte half of a q register is 4 rows x 2 k, the operand shape
 * of vmull_s8) or of 4 k (NEON_DOT: one q register is 4 rows x 4 k, the
 * operand shape of sdot); int16 in groups of 2 k (a q register is 4 rows
 * x 2 k); float in groups of 1 k (a q register is one k of 4 rows). The
 * input is broadcast, so every output row owns one lane (or a pair of
 * lanes that a pairwise add folds into one) and no horizontal sum is ever
 * needed. A tile keeps NRB row blocks x NB frames of accumulators in
 * registers across the whole K loop; aarch64 has 32 q registers, armv7
 * only 16, hence the smaller armv7 tiles.
 *
 * Caller memory: x rows are read 4 bytes at a time through memcpy, or 16
 * bytes through vld1q_u8 (byte elements, no alignment hint), and results
 * are written through vst1q_u8 or memcpy, so any byte alignment works,
 * even on armv7 where an aligned-hint NEON or a VFP access to an odd
 * address traps. Rows are never read past x[n][cols - 1]. Lane order
 * assumes little-endian (every armv7/aarch64 Linux ABI we target).
 *
 * Compiled to two tables marked not built when the compiler does not
 * target NEON, so x86 builds may list this file among their sources.
 */
#if defined(__ARM_NEON)

#include <arm_neon.h>
#include <string.h>

#include "kernels.h"

/* The sdot kernel needs an aarch64 compiler that can enable +dotprod for
 * part of a file; this is the only place that decides (the table's built
 * flag tells cpu.c). */
#if defined(__aarch64__) && \
    (defined(__ARM_FEATURE_DOTPROD) || (defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 8))
#define ASR_HAVE_NEONDOT 1
#endif

#define LANES 4
#include "simd.h"

/* Tile limits: frames per tile, and row blocks per tile for few/many
 * frames, chosen so accumulators + weights + inputs fit the register file
 * (aarch64: 32 q, armv7: 16 q) without spilling in the K loop. */
#if defined(__aarch64__)
#define NB_S8 4
#define RB_S8(nb) ((nb) <= 2 ? 4 : 2)
#define NB_S16 3 /* two int64x2 accumulators per row block and frame */
#define RB_S16(nb) ((nb) == 1 ? 4 : 2)
#define NB_F32 4
#define RB_F32(nb) ((nb) <= 2 ? 4 : 3)
#else
#define NB_S8 4
#define RB_S8(nb) ((nb) <= 2 ? 2 : 1)
#define NB_S16 2
#define RB_S16(nb) ((nb) == 1 ? 2 : 1)
#define NB_F32 4
#define RB_F32(nb) ((nb) <= 2 ? 2 : 1)
#endif

/* Stores of one block's results to caller memory of any alignment; a
 * partial block writes only its existing rows. */
ALWAYS_INLINE void store_s32(int32_t *out, int32x4_t v, size_t n)
{
    if (n == LANES) {
        vst1q_u8((uint8_t *)out, vreinterpretq_u8_s32(v));
    } else {
        int32_t tmp[LANES];
        vst1q_s32(tmp, v);
        memcpy(out, tmp, n * sizeof(int32_t));
    }
}

ALWAYS_INLINE void store_s64(int64_t *out, int64x2_t lo, int64x2_t hi, size_t n)
{
    if (n == LANES) {
        vst1q_u8((uint8_t *)out, vreinterpretq_u8_s64(lo));
        vst1q_u8((uint8_t *)(out + 2), vreinterpretq_u8_s64(hi));
    } else {
        int64_t tmp[LANES];
        vst1q_s64(tmp, lo);
        vst1q_s64(tmp + 2, hi);
        memcpy(out, tmp, n * sizeof(int64_t));
    }
}

ALWAYS_INLINE void store_f32(float *out, float32x4_t v, size_t n)
{
    if (n == LANES) {
        vst1q_u8((uint8_t *)out, vreinterpretq_u8_f32(v));
    } else {
        float tmp[LANES];
        vst1q_f32(tmp, v);
        memcpy(out, tmp, n * sizeof(float));
    }
}

/* ------------------------------------------------------------------- s8 */

/* 16 weight bytes hold 4 k of a block: bytes 0-7 are (row r, k0/k1) at
 * 2r/2r+1, bytes 8-15 the same for k2/k3. With x pair (x0,x1) broadcast to
 * every int16 lane, vmull_s8 puts w[r][k0]*x0 in int16 lane 2r and
 * w[r][k1]*x1 in lane 2r+1; vmlal_s8 adds the k2/k3 products to the same
 * lanes. Each lane then holds two products: |x| <= 128 and |w| <= 127
 * (asr_pack refuses -128), so |sum| <= 2 * 128 * 127 = 32512 < 2^15 and
 * int16 is exact. vpadalq_s16 adds lanes 2r and 2r+1 into int32 lane r:
 * the four products of row r. The int32 total is bounded by
 * ASR_MAX_K * 128 * 127 < 2^31 (native/QUANTIZATION.md section 3). */
ALWAYS_INLINE void step_s8(int32x4_t acc[4][NB_S8], const int8_t *wg, size_t bstride, int nrb,
                           const int32_t *xv, int nb)
{
    int8x16_t wv[4];
    int r, b;
    for (r = 0; r < nrb; r++)
        wv[r] = vld1q_s8(wg + r * bstride);
    for (b = 0; b < nb; b++) {
        int16x4_t xw = vreinterpret_s16_s32(vdup_n_s32(xv[b]));
        int8x8_t x01 = vreinterpret_s8_s16(vdup_lane_s16(xw, 0));
        int8x8_t x23 = vreinterpret_s8_s16(vdup_lane_s16(xw, 1));
        for (r = 0; r < nrb; r++) {
            int16x8_t p = vmull_s8(vget_low_s8(wv[r]), x01);
            p = vmlal_s8(p, vget_high_s8(wv[r]), x23);
            acc[r][b] = vpadalq_s16(acc[r][b], p);
        }
    }
}

/* Runs tiles of up to NBMAX frames x RBMAX(nb) row blocks over the whole
 * product; TILE(R, B) expands to a call with constant R and B so every
 * tile loop is fully unrolled over its registers. */
#define TILE_CASE(TILE, B, RB) case B: if (nrb == RB(B)) TILE(RB(B), B); else TILE(1, B); break

/* The tile and product loops around step_s8 (kernels_neon_s8.inc). */
#define SUFFIX(name) name##_neon
#define S8_STEP step_s8
#include "kernels_neon_s8.inc"
#undef SUFFIX
#undef S8_STEP

/* ------------------------------------------------------------------ s16 */

/* A group of 2 k is 8 int16: rows 0-1 in the low half, rows 2-3 in the
 * high half, (k0, k1) adjacent. vmull_s16 by the broadcast pair (x0, x1)
 * gives the int32 products w[r][k0]*x0, w[r][k1]*x1 of two rows, and
 * vmlal_s16 adds the next group's products to the same lanes: with
 * |w| <= 32767 and |x| <= 32768 a lane holds at most 2 * 32767 * 32768 =
 * 2^31 - 2^16 < 2^31, so int32 is exact for two products and no more.
 * vpadalq_s32 then folds lanes 2r' and 2r'+1 into the int64 lane of row
 * r', which cannot overflow. */
ALWAYS_INLINE void step2_s16(int64x2_t acc[4][NB_S16][2], const int16_t *wg, size_t bstride, int nrb,
                             const int32_t *x01, const int32_t *x23, int nb)
{
    int16x8_t w0[4], w1[4];
    int r, b;
    for (r = 0; r < nrb; r++) {
        w0[r] = vld1q_s16(wg + r * bstride);
        w1[r] = vld1q_s16(wg + r * bstride + 8);
    }
    for (b = 0; b < nb; b++) {
        int16x4_t xa = vreinterpret_s16_s32(vdup_n_s32(x01[b]));
        int16x4_t xb = vreinterpret_s16_s32(vdup_n_s32(x23[b]));
        for (r = 0; r < nrb; r++) {
            int32x4_t lo = vmull_s16(vget_low_s16(w0[r]), xa);
            int32x4_t hi = vmull_s16(vget_high_s16(w0[r]), xa);
            lo = vmlal_s16(lo, vget_low_s16(w1[r]), xb);
            hi = vmlal_s16(hi, vget_high_s16(w1[r]), xb);
            acc[r][b][0] = vpadalq_s32(acc[r][b][0], lo);
            acc[r][b][1] = vpadalq_s32(acc[r][b][1], hi);
        }
    }
}

/* One group alone: the last one when the number of groups is odd (the
 * packed matrix ends there, so step2_s16 would read past it). */
ALWAYS_INLINE void step1_s16(int64x2_t acc[4][NB_S16][2], const int16_t *wg, size_t bstride, int nrb,
                             const int32_t *x01, int nb)
{
    int16x8_t w0[4];
    int r, b;
    for (r = 0; r < nrb; r++)
        w0[r] = vld1q_s16(wg + r * bstride);
    for (b = 0; b < nb; b++) {
        int16x4_t xa = vreinterpret_s16_s32(vdup_n_s32(x01[b]));
        for (r = 0; r < nrb; r++) {
            acc[r][b][0] = vpadalq_s32(acc[r][b][0], vmull_s16(vget_low_s16(w0[r]), xa));
            acc[r][b][1] = vpadalq_s32(acc[r][b][1], vmull_s16(vget_high_s16(w0[r]), xa));
        }
    }
}

ALWAYS_INLINE void tile_s16(const int16_t *w, size_t bstride, int nrb, const int16_t *x, size_t x_stride,
                            int nb, size_t cols, int64_t *out, size_t out_stride, size_t rows_left)
{
    int64x2_t acc[4][NB_S16][2];
    const unsigned char *xp[NB_S16];
    int32_t x01[NB_S16], x23[NB_S16];
    size_t q, full = cols / 4, rem = cols % 4;
    int r, b;

    for (b = 0; b < nb; b++) {
        xp[b] = (const unsigned char *)(x + b * x_stride);
        for (r = 0; r < nrb; r++)
            acc[r][b][0] = acc[r][b][1] = vdupq_n_s64(0);
    }
    for (q = 0; q < full; q++) {
        for (b = 0; b < nb; b++) {
            x01[b] = load4(xp[b] + 8 * q);
            x23[b] = load4(xp[b] + 8 * q + 4);
        }
        step2_s16(acc, w + q * 16, bstride, nrb, x01, x23, nb);
    }
    if (rem == 3) { /* two groups, the second padded with a zero k */
        for (b = 0; b < nb; b++) {
            x01[b] = load4(xp[b] + 8 * full);
            x23[b] = tail4(xp[b] + 8 * full + 4, 2);
        }
        step2_s16(acc, w + full * 16, bstride, nrb, x01, x23, nb);
    } else if (rem) {
        for (b = 0; b < nb; b++)
            x01[b] = rem == 2 ? load4(xp[b] + 8 * full) : tail4(xp[b] + 8 * full, 2);
        step1_s16(acc, w + full * 16, bstride, nrb, x01, nb);
    }
    for (b = 0; b < nb; b++)
        for (r = 0; r < nrb; r++)
            store_s64(out + b * out_stride + r * LANES, acc[r][b][0], acc[r][b][1],
                      rows_in_block(rows_left, r));
}

#define S16_TILE(R, B) tile_s16(wp, bstride, R, xn, x_stride, B, w->cols, op, out_stride, rows_left)

static void gemm_s16s16s64_neon(const asr_packed *w, const int16_t *x, size_t x_stride, size_t batch,
                                int64_t *out, size_t out_stride)
{
    const int16_t *wd = (const int16_t *)w->data;
    size_t bstride = w->ld * LANES, nblocks = (w->rows + LANES - 1) / LANES, n0, rb;
    int nb;

    for (n0 = 0; n0 < batch; n0 += (size_t)nb) {
        const int16_t *xn = x + n0 * x_stride;
        nb = batch - n0 < NB_S16 ? (int)(batch - n0) : NB_S16;
        for (rb = 0; rb < nblocks;) {
            const int16_t *wp = wd + rb * bstride;
            int64_t *op = out + n0 * out_stride + rb * LANES;
            size_t rows_left = w->rows - rb * LANES;
            int nrb = nblocks - rb >= (size_t)RB_S16(nb) ? RB_S16(nb) : 1;
            switch (nb) {
#if NB_S16 == 3
            TILE_CASE(S16_TILE, 1, RB_S16); TILE_CASE(S16_TILE, 2, RB_S16);
            default: TILE_CASE(S16_TILE, 3, RB_S16);
#else
            TILE_CASE(S16_TILE, 1, RB_S16); default: TILE_CASE(S16_TILE, 2, RB_S16);
#endif
            }
            rb += (size_t)nrb;
        }
    }
}

/* ------------------------------------------------------------------ f32 */

/* Every output is acc = acc + w[k] * x[k] for k = 0, 1, ..., cols-1, one
 * lane per output, whatever the tile shape or batch: the rounding sequence
 * depends on cols alone. aarch64 fuses each step (fmla, one rounding);
 * armv7 NEON has no fused multiply-add, so vmla rounds the product and the
 * sum like the reference, but flushes subnormals to zero (armv7 NEON
 * always does), a difference far below the 1e-5 tolerance. */
#if defined(__aarch64__)
#define F_MACC_LANE(acc, w, x4, i) vfmaq_laneq_f32(acc, w, x4, i)
#define F_MACC(acc, w, x) vfmaq_f32(acc, w, x)
#else
#define F_MACC_LANE(acc, w, x4, i) \
    vmlaq_lane_f32(acc, w, (i) < 2 ? vget_low_f32(x4) : vget_high_f32(x4), (i) & 1)
#define F_MACC(acc, w, x) vmlaq_f32(acc, w, x)
#endif

ALWAYS_INLINE void tile_f32(const float *w, size_t bstride, int nrb, const float *x, size_t x_stride,
                            int nb, size_t cols, float *out, size_t out_stride, size_t rows_left)
{
    float32x4_t acc[4][NB_F32];
    const uint8_t *xp[NB_F32];
    size_t k, full = cols / 4 * 4;
    int r, b;

    for (b = 0; b < nb; b++) {
        xp[b] = (const uint8_t *)(x + b * x_stride);
        for (r = 0; r < nrb; r++)
            acc[r][b] = vdupq_n_f32(0.0f);
    }
    /* Four k per pass: 16 input bytes per frame in one byte-element load
     * (no alignment needed), each k used from its lane in turn. */
    for (k = 0; k < full; k += 4) {
        float32x4_t x4[NB_F32];
        for (b = 0; b < nb; b++)
            x4[b] = vreinterpretq_f32_u8(vld1q_u8(xp[b] + 4 * k));
#define F32_LANE(I)                                                         \
        for (r = 0; r < nrb; r++) {                                         \
            float32x4_t wv = vld1q_f32(w + r * bstride + (k + I) * LANES);  \
            for (b = 0; b < nb; b++)                                        \
                acc[r][b] = F_MACC_LANE(acc[r][b], wv, x4[b], I);           \
        }
        F32_LANE(0) F32_LANE(1) F32_LANE(2) F32_LANE(3)
#undef F32_LANE
    }
    for (; k < cols; k++) {
        float32x4_t wv[4];
        for (r = 0; r < nrb; r++)
            wv[r] = vld1q_f32(w + r * bstride + k * LANES);
        for (b = 0; b < nb; b++) {
            float xv;
            float32x4_t xb;
            memcpy(&xv, xp[b] + 4 * k, 4);
            xb = vdupq_n_f32(xv);
            for (r = 0; r < nrb; r++)
                acc[r][b] = F_MACC(acc[r][b], wv[r], xb);
        }
    }
    for (b = 0; b < nb; b++)
        for (r = 0; r < nrb; r++)
            store_f32(out + b * out_stride + r * LANES, acc[r][b], rows_in_block(rows_left, r));
}

#define F32_TILE(R, B) tile_f32(wp, bstride, R, xn, x_stride, B, w->cols, op, out_stride, rows_left)

static void gemm_f32_neon(const asr_packed *w, const float *x, size_t x_stride, size_t batch,
                          float *out, size_t out_stride)
{
    const float *wd = (const float *)w->data;
    size_t bstride = w->ld * LANES, nblocks = (w->rows + LANES - 1) / LANES, n0, rb;
    int nb;

    for (n0 = 0; n0 < batch; n0 += (size_t)nb) {
        const float *xn = x + n0 * x_stride;
        nb = batch - n0 < NB_F32 ? (int)(batch - n0) : NB_F32;
        for (rb = 0; rb < nblocks;) {
            const float *wp = wd + rb * bstride;
            float *op = out + n0 * out_stride + rb * LANES;
            size_t rows_left = w->rows - rb * LANES;
            int nrb = nblocks - rb >= (size_t)RB_F32(nb) ? RB_F32(nb) : 1;
            switch (nb) {
            TILE_CASE(F32_TILE, 1, RB_F32); TILE_CASE(F32_TILE, 2, RB_F32); TILE_CASE(F32_TILE, 3, RB_F32);
            default: TILE_CASE(F32_TILE, 4, RB_F32);
            }
            rb += (size_t)nrb;
        }
    }
}

/* Blocks of 4 rows; int8 in groups of 2 k (two per 16 bytes, K padded to
 * 4: vmull_s8 + vmlal_s8), int16 in groups of 2 k, float in groups of 1 k. */
const asr_kernels asr_kernels_neon = {
    .kernel = ASR_KERNEL_NEON, .name = "neon", .built = 1,
    .layout = {{LANES, 1, 1, 0, 0}, {LANES, 2, 2, 0, 0}, {LANES, 2, 4, 0, 0}},
    .gemm_s8 = gemm_s8s8s32_neon, .gemm_s16 = gemm_s16s16s64_neon, .gemm_f32 = gemm_f32_neon
};

/* ------------------------------------------------------- s8 with sdot */

#ifdef ASR_HAVE_NEONDOT
/* Only the functions below may use sdot: cpu.c selects this kernel only
 * when the operating system reports HWCAP_ASIMDDP, and nothing else in the file
 * (nor in the library) is compiled for the extension. The target names
 * armv8.2-a because GCC's arm_neon.h declares vdotq_s32 under that arch,
 * and GCC 12 refuses to inline it into code whose arch is older even with
 * +dotprod; every core with sdot implements armv8.2-a anyway. */
#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod")

/* 16 weight bytes are one group: 4 k of row r at bytes 4r..4r+3. With the
 * four input bytes broadcast to every word, sdot adds the four exact
 * signed products of row r to int32 lane r; the total is bounded by
 * ASR_MAX_K * 128 * 127 < 2^31 (native/QUANTIZATION.md section 3). */
ALWAYS_INLINE void step_s8dot(int32x4_t acc[4][NB_S8], const int8_t *wg, size_t bstride, int nrb,
                              const int32_t *xv, int nb)
{
    int8x16_t wv[4];
    int r, b;
    for (r = 0; r < nrb; r++)
        wv[r] = vld1q_s8(wg + r * bstride);
    for (b = 0; b < nb; b++) {
        int8x16_t xb = vreinterpretq_s8_s32(vdupq_n_s32(xv[b]));
        for (r = 0; r < nrb; r++)
            acc[r][b] = vdotq_s32(acc[r][b], wv[r], xb);
    }
}

/* The same loops around step_s8dot, compiled with +dotprod. */
#define SUFFIX(name) name##_neondot
#define S8_STEP step_s8dot
#include "kernels_neon_s8.inc"
#undef SUFFIX
#undef S8_STEP

#pragma GCC pop_options

/* int8 in groups of 4 k (one 16-byte sdot operand); int16 and float have
 * no dot-product instruction: the same kernels and layouts as plain NEON. */
const asr_kernels asr_kernels_neondot = {
    .kernel = ASR_KERNEL_NEON_DOT, .name = "neondot", .built = 1,
    .layout = {{LANES, 1, 1, 0, 0}, {LANES, 2, 2, 0, 0}, {LANES, 4, 4, 0, 0}},
    .gemm_s8 = gemm_s8s8s32_neondot, .gemm_s16 = gemm_s16s16s64_neon, .gemm_f32 = gemm_f32_neon
};
#else  /* a compiler that cannot enable +dotprod for part of a file */
const asr_kernels asr_kernels_neondot = {.kernel = ASR_KERNEL_NEON_DOT, .name = "neondot", .built = 0};
#endif /* ASR_HAVE_NEONDOT */

#else /* not NEON: the tables say the kernels are not built */

#include "kernels.h"

const asr_kernels asr_kernels_neon = {.kernel = ASR_KERNEL_NEON, .name = "neon", .built = 0};
const asr_kernels asr_kernels_neondot = {.kernel = ASR_KERNEL_NEON_DOT, .name = "neondot", .built = 0};

#endif /* __ARM_NEON */
