/*
 * kernels.h - internal interface between the network and the matrix kernels.
 *
 * Each kernel (one instruction set, one kernels_*.c file) exports one
 * asr_kernels table: its functions and the packed layout they read. A
 * weight matrix is packed once, at load, into that layout (pack.c); the
 * kernels then run allocation-free. The table is chosen once per network
 * (cpu.c), so no hot loop ever tests CPU features. Adding an instruction
 * set is one new kernels_*.c file plus its line in cpu.c's list.
 */
#ifndef ASR_KERNELS_H
#define ASR_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "asr.h"
#include "common.h"

/* A packed weight matrix (rows = outputs, cols = K). The layout of data is
 * the one its kernel declares (asr_layout); rows/cols are the logical sizes. */
typedef struct asr_packed {
    int kernel;
    int dtype;          /* ASR_F32, ASR_S16, ASR_S8 */
    size_t rows;
    size_t cols;
    size_t ld;          /* padded K (Kp of asr_layout), in elements */
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

/* How a kernel wants a weight matrix of one dtype packed (pack.c). The
 * rows are stored in blocks of `lanes` rows (padded with zero rows to a
 * multiple of lanes). Inside a block the reduction dimension is cut into
 * groups of `group` consecutive k, and a group is stored for all lanes rows
 * before the next group:
 *     data[((block * (Kp / group) + g) * lanes + r) * group + j] = W[block*lanes + r][g*group + j]
 * so one vector load gives `group` k of `lanes` rows, the operand shape of
 * pmaddubsw/vpdpbusd/sdot (group 4), pmaddwd (group 2), a broadcast FMA
 * (group 1) or NEON vmull_s8 + vmlal_s8 (group 2, two groups per 16 bytes).
 * K is zero-padded to Kp, a multiple of kalign, so no weight load has a
 * tail. Plain rows are lanes 1, group 0 (the whole padded row). */
typedef struct asr_layout {
    unsigned lanes;
    unsigned group;      /* 0: the whole (padded) row */
    unsigned kalign;
    unsigned s8_offset;  /* added to int8 weights: 128 stores w + 128 as uint8 for vpdpbusd */
    unsigned s8_narrow;  /* the int8 kernel has a route for |w| <= ASR_NARROW_S8 (corr, sched) */
} asr_layout;

/* One kernel. Every table exists in every build; `built` is 0 when the
 * compiler could not target its instruction set (e.g. the x86 kernels in an
 * ARM build), and then only kernel and name are set. Whether the CPU can
 * run it is cpu.c's separate question: a kernel is available when it is
 * built and supported. */
typedef struct asr_kernels {
    int kernel;             /* its asr_kernel number */
    const char *name;       /* asr_kernel_name, the ASR_KERNEL spelling */
    int built;
    asr_layout layout[3];   /* indexed by asr_dtype: ASR_F32, ASR_S16, ASR_S8 */
    asr_gemm_s8_fn gemm_s8;
    asr_gemm_s16_fn gemm_s16;
    asr_gemm_f32_fn gemm_f32;
} asr_kernels;

/* The tables, one per kernels_*.c file (cpu.c lists them in asr_kernel order). */
extern const asr_kernels asr_kernels_ref;
extern const asr_kernels asr_kernels_sse41;
extern const asr_kernels asr_kernels_avx2;
extern const asr_kernels asr_kernels_avx512vnni;
extern const asr_kernels asr_kernels_neon;
extern const asr_kernels asr_kernels_neondot;

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

/* The table of a kernel, or NULL when this build or CPU lacks it (cpu.c). */
const asr_kernels *asr_kernels_for(int kernel);

/* Runs kern's product for p's dtype: x and out are int8/int32,
 * int16/int64 or float/float arrays as asr_gemm_*_fn describe. */
static inline void asr_gemm_packed(const asr_kernels *kern, const asr_packed *p, const void *x,
                                   size_t x_stride, size_t batch, void *out, size_t out_stride)
{
    if (p->dtype == ASR_S8)
        kern->gemm_s8(p, (const int8_t *)x, x_stride, batch, (int32_t *)out, out_stride);
    else if (p->dtype == ASR_S16)
        kern->gemm_s16(p, (const int16_t *)x, x_stride, batch, (int64_t *)out, out_stride);
    else
        kern->gemm_f32(p, (const float *)x, x_stride, batch, (float *)out, out_stride);
}

/* Packs a rows x cols matrix (row stride w_stride elements) of the given
 * dtype in the layout of kernel (pack.c). Returns ASR_OK or
 * ASR_E_NOMEM/ASR_E_ARG/ASR_E_UNSUPPORTED with st filled. */
int asr_pack(asr_packed *p, int kernel, int dtype, const void *w, size_t rows, size_t cols,
             size_t w_stride, asr_status *st);
void asr_packed_free(asr_packed *p);

#endif /* ASR_KERNELS_H */
