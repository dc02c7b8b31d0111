/*
 * asr_testing.h - entry points for the tests and the benchmarks, not part of
 * the C API (native/include/asr.h is).
 *
 * They reach single kernels and the integer epilogue directly, so the tests
 * can compare every kernel with the reference on arbitrary shapes and
 * tools/bench_kernels.py can time one product without Python in the loop.
 * The cffi module declares them too (asr/_build.py), which is how the Python
 * tests call them; the C test drivers include this header. Same conventions
 * as asr.h: an asr_code return and a caller-owned asr_status.
 *
 * Plain declarations only: asr/_build.py reads this file as a cffi cdef.
 */
#ifndef ASR_TESTING_H
#define ASR_TESTING_H

#include <stddef.h>
#include <stdint.h>

#include "asr.h"
#include "asr_frontend.h"

/* Stand-alone matrix products: the weights are packed for one call. The
 * network calls the same kernels on weights packed once at load.
 *   out[n*out_stride + o] = sum_k x[n*x_stride + k] * w[o*w_stride + k]
 * for n < batch, o < rows, k < cols. Pointers need no alignment.
 * s8:  int8 weights must lie in [-127, 127] (x may use all of [-128, 127]);
 *      int32 accumulators cannot overflow for cols <= ASR_MAX_K
 *      (native/QUANTIZATION.md).
 *      SSE4.1/AVX2 take a faster exact route for matrices of 7-bit weights
 *      (|w| <= 63) with cols <= ASR_NARROW_MAX_K (native/src/kernels_x86.inc).
 * s16: int16 weights must lie in [-32767, 32767]; accumulators are int64
 *      because sum of even three 16x16 products can exceed int32.
 * f32: plain float; the summation order of one output is fixed by cols alone
 *      (never by batch or position), so chunked and whole runs agree. */
int asr_gemm_s8s8s32(int kernel, const int8_t *w, size_t rows, size_t cols, size_t w_stride,
                     const int8_t *x, size_t batch, size_t x_stride,
                     int32_t *out, size_t out_stride, asr_status *st);
int asr_gemm_s16s16s64(int kernel, const int16_t *w, size_t rows, size_t cols, size_t w_stride,
                       const int16_t *x, size_t batch, size_t x_stride,
                       int64_t *out, size_t out_stride, asr_status *st);
int asr_gemm_f32(int kernel, const float *w, size_t rows, size_t cols, size_t w_stride,
                 const float *x, size_t batch, size_t x_stride,
                 float *out, size_t out_stride, asr_status *st);

/* Benchmark of one kernel on a weight matrix packed once: random rows x
 * cols weights of dtype (ASR_F32/S16/S8) times batch random frames, in
 * blocks of >= 2 ms repeated for at least min_seconds of monotonic wall
 * time; *seconds gets the time of one product in the fastest block. int8 weights lie in [-s8_wmax, s8_wmax]
 * (1..127; 63 or less takes the 7-bit-weight route of SSE4.1/AVX2). Timed
 * in C so the caller's per-call overhead is not measured. Used by
 * tools/bench_kernels.py. */
int asr_bench_gemm(int kernel, int dtype, size_t rows, size_t cols, size_t batch, int s8_wmax,
                   double min_seconds, double *seconds, asr_status *st);
/* The same on the caller's rows x cols weights (row stride cols), e.g. a
 * trained layer's: the int8 route of SSE4.1/AVX2 depends on the values. */
int asr_bench_gemm_weights(int kernel, int dtype, const void *w, size_t rows, size_t cols, size_t batch,
                           double min_seconds, double *seconds, asr_status *st);

/* The core's running clock in GHz, timed on a chain of dependent one-cycle
 * integer adds (about 0.5 s); 0 where this build cannot measure it. */
double asr_bench_clock_ghz(void);

/* Requantize accumulators to an integer activation (the epilogue every int
 * layer runs after its product):
 *   v = acc + bias[o]                                  (int64)
 *   q = round(v * mult[o] / 2^(31 + shift[o]))         (round half up)
 *   y = clamp(q + zero_point, lo, hi)
 * mult[o] in [2^30, 2^31) (or 0), shift[o] in [-31, 32]. The multiply is
 * exact in 96-bit arithmetic built from 32-bit pieces, so targets without
 * an FPU or 128-bit integers compute the same value. */
int asr_requant_s64(const int64_t *acc, size_t n, const int64_t *bias,
                    const int32_t *mult, const int32_t *shift, int32_t zero_point,
                    int32_t lo, int32_t hi, int32_t *out, asr_status *st);

/* Fixed-point log-softmax over n logits in Q10 (value = q / 1024 nats):
 * out = logit - max - log(sum(exp(logit - max))), in Q10, saturated to
 * [-32767, 0]. exp and log use 2^x / log2 tables; no floating point. */
int asr_logsoftmax_q10(const int32_t *logits, size_t n, int16_t *out, asr_status *st);

/* ---- the feature frontend (include/asr_frontend.h) ---- */

/* The frontend's mel filterbank as a dense num_filters x (nfft/2 + 1)
 * matrix (cap values of room), to compare with python_speech_features'. */
int asr_frontend_filterbank(const asr_frontend *fe, double *out, size_t cap, asr_status *st);

/* The frontend's resampler on a whole signal: n float samples at src_rate
 * -> *n_out samples at dst_rate, flushed at the end (asr/audio.py's
 * Resampler.process(x, final=True)). ASR_E_SHAPE with *n_out set to the
 * count when out_cap is too small. */
int asr_resample_f32(uint32_t src_rate, uint32_t dst_rate, const float *x, size_t n, float *out,
                     size_t out_cap, size_t *n_out, asr_status *st);

#endif /* ASR_TESTING_H */
