/*
 * kernels.h - internal interface between the network and the matrix kernels.
 *
 * A weight matrix is packed once, at load, into the layout its kernel
 * wants (asr_pack); the kernels then run allocation-free. Every path's
 * kernels are reached through one asr_kernels table chosen per network, so
 * no hot loop ever tests CPU features.
 */
#ifndef ASR_KERNELS_H
#define ASR_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "asr.h"
#include "common.h"

/* A packed weight matrix (rows = outputs, cols = K). The layout of data is
 * private to the path that packed it; rows/cols are the logical sizes. */
typedef struct asr_packed {
    int path;
    int dtype;          /* ASR_F32, ASR_S16, ASR_S8 */
    size_t rows;
    size_t cols;
    size_t ld;          /* path-specific leading dimension, in elements */
    void *data;         /* aligned, owned */
    /* int8 on SSE4.1/AVX2 when every |w| <= ASR_NARROW_S8 (7-bit weights)
     * and cols <= ASR_NARROW_MAX_K:
     * -128 * (sum of row o), one int32 per padded row, aligned, inside
     * alloc; the kernel then feeds x + 128 as unsigned bytes (kernels_x86.inc).
     * NULL otherwise. */
    const int32_t *corr;
    /* With corr, the k-group schedule of each tile of ASR_S8_TILE row
     * blocks (tile t covers blocks [t * ASR_S8_TILE, ...)): at
     * sched + t * (cols / 4 + 2), nf, nu, then nf fused pairs o1 | o2 << 16
     * and nu single groups o, where o = 4 g is the first k of group g,
     * covering groups 0 .. cols/4 - 1 once each. A pair of groups (4 k
     * each) is fused when in every row of the tile the |w| of each int16
     * lane's four k (k and k + 1 of both groups) sum to at most ASR_FUSE_S8,
     * so (x + 128) w over both stays below 2^15 and the two pmaddubsw share
     * one widening; the other groups go one by one. */
    const uint32_t *sched;
    void *alloc;        /* what to free */
} asr_packed;

/* out[n*out_stride + o] = sum_k x[n*x_stride + k] * W[o][k] for n < batch,
 * o < w->rows, k < w->cols. x rows are read for exactly w->cols elements and
 * need no alignment. The kernels allocate nothing and cannot fail: sizes are
 * validated by the callers. */
typedef void (*asr_gemm_s8_fn)(const asr_packed *w, const int8_t *x, size_t x_stride,
                               size_t batch, int32_t *out, size_t out_stride);
typedef void (*asr_gemm_s16_fn)(const asr_packed *w, const int16_t *x, size_t x_stride,
                                size_t batch, int64_t *out, size_t out_stride);
typedef void (*asr_gemm_f32_fn)(const asr_packed *w, const float *x, size_t x_stride,
                                size_t batch, float *out, size_t out_stride);

typedef struct asr_kernels {
    int path;
    asr_gemm_s8_fn gemm_s8;
    asr_gemm_s16_fn gemm_s16;
    asr_gemm_f32_fn gemm_f32;
} asr_kernels;

/* Largest |w| of an int8 matrix that takes the unsigned-input kernels of
 * SSE4.1/AVX2: a pmaddubsw pair sum (x + 128) w then stays within
 * 2 * 255 * 63 = 32130 < 2^15, so the int16 step cannot saturate. */
#define ASR_NARROW_S8 63
/* 255 * 128 = 32640 < 2^15: see asr_packed.sched. */
#define ASR_FUSE_S8 128
/* Row blocks per int8 tile of the SSE4.1/AVX2 kernels (kernels_x86.inc). */
#define ASR_S8_TILE 4
/* The narrow route copies a chunk of input frames as x + 128 to a stack
 * buffer of ASR_XU_BYTES; it is taken for cols <= ASR_NARROW_MAX_K (asr.h)
 * only, so a chunk holds at least 4 frames (wider matrices take the wide
 * route), and a k-group number fits in 16 bits (asr_packed.sched). */
#define ASR_XU_BYTES 32768

/* The kernel table of a path, or NULL when this build or CPU lacks it. */
const asr_kernels *asr_kernels_for(int path);

/* Runs kern's product for p's dtype: x and out are int8/int32,
 * int16/int64 or float/float arrays as asr_gemm_*_fn describe. */
void asr_gemm_packed(const asr_kernels *kern, const asr_packed *p, const void *x, size_t x_stride,
                     size_t batch, void *out, size_t out_stride);

/* Packs a rows x cols matrix (row stride w_stride elements) of the given
 * dtype for path. Returns ASR_OK or ASR_E_NOMEM/ASR_E_ARG with st filled. */
int asr_pack(asr_packed *p, int path, int dtype, const void *w, size_t rows, size_t cols,
             size_t w_stride, asr_status *st);
void asr_packed_free(asr_packed *p);

#endif /* ASR_KERNELS_H */
