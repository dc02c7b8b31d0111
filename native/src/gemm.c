/*
 * gemm.c - the stand-alone matrix products of asr_testing.h: each call
 * packs the weights for its kernel, runs one product and frees them.
 */
#include <stdint.h>
#include <stddef.h>

#include "asr_testing.h"
#include "kernels.h"

static int gemm_checked(const char *fn, int kernel, int dtype, const void *w, size_t rows, size_t cols,
                        size_t w_stride, const void *x, size_t batch, size_t x_stride, void *out,
                        size_t out_stride, asr_status *st)
{
    asr_packed packed;
    size_t es = asr_dtype_size(dtype), os = dtype == ASR_S16 ? 8 : 4;
    int rc, resolved;

    if ((rc = asr_kernel_resolve(kernel, &resolved, st)) != ASR_OK)
        return rc;
    if (!w || !x || !out)
        return asr_fail(st, ASR_E_ARG, "%s: null %s pointer", fn, !w ? "weight" : !x ? "input" : "output");
    if (rows == 0 || rows > ASR_MAX_DIM)
        return asr_fail(st, ASR_E_ARG, "%s: rows %zu outside 1..%d", fn, rows, ASR_MAX_DIM);
    if (cols == 0 || cols > ASR_MAX_K)
        return asr_fail(st, ASR_E_ARG, "%s: cols %zu outside 1..%d (the accumulator bound)", fn, cols,
                        ASR_MAX_K);
    if (batch == 0)
        return asr_fail(st, ASR_E_ARG, "%s: batch is 0", fn);
    if (w_stride < cols || x_stride < cols)
        return asr_fail(st, ASR_E_SHAPE, "%s: %s stride %zu is less than cols %zu", fn,
                        w_stride < cols ? "weight" : "input", w_stride < cols ? w_stride : x_stride, cols);
    if (out_stride < rows)
        return asr_fail(st, ASR_E_SHAPE, "%s: output stride %zu is less than rows %zu", fn, out_stride, rows);
    if (!asr_span_bytes(w, rows, w_stride, cols, es) || !asr_span_bytes(x, batch, x_stride, cols, es) ||
        !asr_span_bytes(out, batch, out_stride, rows, os))
        return asr_fail(st, ASR_E_ARG, "%s: batch %zu / strides %zu, %zu, %zu overflow the address space",
                        fn, batch, w_stride, x_stride, out_stride);
    if ((rc = asr_pack(&packed, resolved, dtype, w, rows, cols, w_stride, st)) != ASR_OK)
        return rc;
    asr_gemm_packed(asr_kernels_for(resolved), &packed, x, x_stride, batch, out, out_stride);
    asr_packed_free(&packed);
    if (st) {
        st->code = ASR_OK;
        st->message[0] = '\0';
    }
    return ASR_OK;
}

int asr_gemm_s8s8s32(int kernel, const int8_t *w, size_t rows, size_t cols, size_t w_stride,
                     const int8_t *x, size_t batch, size_t x_stride,
                     int32_t *out, size_t out_stride, asr_status *st)
{
    return gemm_checked("asr_gemm_s8s8s32", kernel, ASR_S8, w, rows, cols, w_stride, x, batch, x_stride,
                        out, out_stride, st);
}

int asr_gemm_s16s16s64(int kernel, const int16_t *w, size_t rows, size_t cols, size_t w_stride,
                       const int16_t *x, size_t batch, size_t x_stride,
                       int64_t *out, size_t out_stride, asr_status *st)
{
    return gemm_checked("asr_gemm_s16s16s64", kernel, ASR_S16, w, rows, cols, w_stride, x, batch, x_stride,
                        out, out_stride, st);
}

int asr_gemm_f32(int kernel, const float *w, size_t rows, size_t cols, size_t w_stride,
                 const float *x, size_t batch, size_t x_stride,
                 float *out, size_t out_stride, asr_status *st)
{
    return gemm_checked("asr_gemm_f32", kernel, ASR_F32, w, rows, cols, w_stride, x, batch, x_stride,
                        out, out_stride, st);
}
