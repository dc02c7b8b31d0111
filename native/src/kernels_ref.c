/*
 * kernels_ref.c - the plain C99 matrix products: the specification every
 * SIMD path is tested against bit for bit (integers) or to 1e-5 (float).
 *
 * Weights are packed as plain rows (the layout below), w->ld elements
 * apart. Caller memory (x, out) is read and written with memcpy so that
 * pointers with any byte alignment are fine, even on armv7, where a
 * misaligned float load through VFP traps.
 */
#include <string.h>

#include "kernels.h"

/* out[n][o] = sum_k x[n][k] * w[o][k] in int32, which cannot overflow:
 * native/QUANTIZATION.md section 3 (|w| <= 127, cols <= ASR_MAX_K). */
static void gemm_s8s8s32_ref(const asr_packed *w, const int8_t *x, size_t x_stride, size_t batch,
                             int32_t *out, size_t out_stride)
{
    const int8_t *wd = (const int8_t *)w->data;
    size_t n, o, k;
    for (n = 0; n < batch; n++) {
        const int8_t *xr = x + n * x_stride;
        for (o = 0; o < w->rows; o++) {
            const int8_t *wr = wd + o * w->ld;
            int32_t acc = 0;
            for (k = 0; k < w->cols; k++)
                acc += (int32_t)wr[k] * xr[k];
            memcpy(out + n * out_stride + o, &acc, sizeof(acc));
        }
    }
}

/* out[n][o] = sum_k x[n][k] * w[o][k] in int64: a single int16 product can
 * reach 2^30, so three of them already overflow int32 (QUANTIZATION.md
 * section 4). */
static void gemm_s16s16s64_ref(const asr_packed *w, const int16_t *x, size_t x_stride, size_t batch,
                               int64_t *out, size_t out_stride)
{
    const int16_t *wd = (const int16_t *)w->data;
    size_t n, o, k;
    for (n = 0; n < batch; n++) {
        const unsigned char *xr = (const unsigned char *)(x + n * x_stride);
        for (o = 0; o < w->rows; o++) {
            const int16_t *wr = wd + o * w->ld;
            int64_t acc = 0;
            for (k = 0; k < w->cols; k++) {
                int16_t xv;
                memcpy(&xv, xr + 2 * k, 2);
                acc += (int32_t)wr[k] * xv;
            }
            memcpy(out + n * out_stride + o, &acc, sizeof(acc));
        }
    }
}

/* out[n][o] = sum_k x[n][k] * w[o][k] in float, summed strictly in order of
 * k with a rounded multiply and a rounded add per term (C99 mode compiles
 * without contraction into fma). The order depends on cols alone. */
static void gemm_f32_ref(const asr_packed *w, const float *x, size_t x_stride, size_t batch,
                         float *out, size_t out_stride)
{
    const float *wd = (const float *)w->data;
    size_t n, o, k;
    for (n = 0; n < batch; n++) {
        const unsigned char *xr = (const unsigned char *)(x + n * x_stride);
        for (o = 0; o < w->rows; o++) {
            const float *wr = wd + o * w->ld;
            float acc = 0.0f;
            for (k = 0; k < w->cols; k++) {
                float xv;
                memcpy(&xv, xr + 4 * k, 4);
                acc += wr[k] * xv;
            }
            memcpy(out + n * out_stride + o, &acc, sizeof(acc));
        }
    }
}

/* Plain rows (lanes 1, the whole padded row as one group), K unpadded:
 * the loops above index w[o][k] directly. The one kernel always built. */
const asr_kernels asr_kernels_ref = {
    .kernel = ASR_KERNEL_REF, .name = "ref", .built = 1,
    .layout = {{1, 0, 1, 0, 0}, {1, 0, 1, 0, 0}, {1, 0, 1, 0, 0}},
    .gemm_s8 = gemm_s8s8s32_ref, .gemm_s16 = gemm_s16s16s64_ref, .gemm_f32 = gemm_f32_ref
};
