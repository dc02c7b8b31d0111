/*
 * frontend_int.h - the pieces of the feature frontend (frontend.c) that
 * live in their own files: the real FFT (fft.c) and the polyphase
 * resampler (resample.c). Internal; the API is include/asr_frontend.h.
 *
 * The float path computes in double; the integer path (frontend_fixed.c,
 * fft_fixed.c, the _q30 resampler) in integers from the PCM to the output,
 * with the formats of native/QUANTIZATION.md section 8.
 */
#ifndef ASR_FRONTEND_INT_H
#define ASR_FRONTEND_INT_H

#include <stddef.h>
#include <stdint.h>

#include "asr_frontend.h"

/* pi to double precision (M_PI is not C99). */
#define ASR_PI 3.14159265358979323846

/* ------------------------------------------------------------ real FFT */

/* Tables of a radix-2 real FFT of n points (n a power of two >= 4): the
 * real signal is transformed as n/2 complex points, then split. */
typedef struct fft_f64_plan {
    uint32_t n;
    double *tw_re, *tw_im;   /* exp(-2 pi i k / n), k < n/2        */
    uint32_t *bitrev;        /* bit reversal of k < n/2, log2(n/2) bits */
} fft_f64_plan;

/* 0, or -1 when out of memory. n must be checked by the caller. */
int fft_f64_plan_init(fft_f64_plan *p, uint32_t n);
void fft_f64_plan_free(fft_f64_plan *p);
/* power[k] = |X[k]|^2 / n for k = 0..n/2 of X = DFT(x), x of n reals.
 * work holds n doubles. */
void fft_power_f64(const fft_f64_plan *p, const double *x, double *work, double *power);

/* Tables of the fixed-point real FFT (fft_fixed.c): twiddles
 * exp(-2 pi i k / n) in Q30, the same packing and split as the float one. */
typedef struct fft_q30_plan {
    uint32_t n, log2n;
    int32_t *tw_re, *tw_im;  /* k < n/2, Q30 */
    uint32_t *bitrev;
} fft_q30_plan;

int fft_q30_plan_init(fft_q30_plan *p, uint32_t n);
void fft_q30_plan_free(fft_q30_plan *p);
/* p4[k] = 4 |X[k]|^2 for k = 0..n/2 of X = DFT(x): x holds n integers with
 * |x| <= 2^(30 - log2 n), so every intermediate fits int32 and p4 < 2^63
 * (QUANTIZATION.md section 8). work holds n int32. */
void fft_power_q30(const fft_q30_plan *p, const int32_t *x, int32_t *work, uint64_t *p4);

/* floor(p / 2^n) for int64 p, n in 0..63: arithmetic shift (GCC, Clang
 * and MSVC shift negative values arithmetically; net.c checks it once). */
#define FX_SRA64(p, n) ((p) >> (n))
/* round(p / 2^n), halves up, n in 1..62 */
#define FX_RND64(p, n) FX_SRA64((p) + ((int64_t)1 << ((n) - 1)), (n))

/* ---------------------------------------------------------- resampler */

/* Rational-ratio windowed-sinc resampler, the design of asr/audio.py's
 * Resampler: output m sits at input time m * down / up and is the dot
 * product of the 2*half inputs around it with the filter phase of its
 * fractional position. Fed one sample at a time; bounded state (a ring of
 * the last inputs); chunk-invariant by construction. */
typedef struct resampler {
    uint32_t up, down, half, taps;  /* taps = 2 * half                    */
    double cutoff;                  /* in units of the input Nyquist      */
    double *kaiser;                 /* 2*half + 1 window points           */
    double *table;                  /* up x taps, or NULL: rows on demand */
    double *row;                    /* taps: the row being computed       */
    double *ring;                   /* last ring_mask+1 inputs            */
    int32_t *table_q30;             /* integer mode: up x taps, Q30, or
                                       NULL: rows on demand into row_q30 */
    int32_t *row_q30;               /* integer mode: taps                 */
    int32_t *ring_q8;               /* integer mode: the inputs, Q8       */
    uint64_t ring_mask;
    uint64_t in_end;                /* real input samples pushed          */
    uint64_t pushed;                /* real samples and flush zeros       */
    uint64_t base;                  /* floor(m * down / up), next output m */
    uint32_t phase;                 /* (m * down) mod up                  */
} resampler;

/* 0, -1 when out of memory; rates are checked by the caller. */
int resampler_init(resampler *r, uint32_t src_rate, uint32_t dst_rate);
void resampler_free(resampler *r);
/* Outputs that become ready after n more inputs; with flush, those and
 * the ones the end of input releases. */
uint64_t resampler_count(const resampler *r, uint64_t n, int flush);
/* Push one input; returns the number of outputs now ready (0..up) written
 * to y (room for up values). Outputs are rounded to float, as
 * asr/audio.py's are. */
uint32_t resampler_push(resampler *r, double x, float *y);
/* After the last input: pushes zeros until every output before the end of
 * input is out; calls emit(ctx, y) for each. */
void resampler_flush(resampler *r, void (*emit)(void *ctx, float y), void *ctx);

/* Integer mode: the same filter with its taps rounded to Q30 (the table
 * is stored when up x taps is at most ASR_FE_INT_MAX_TAPS, otherwise each
 * output's row is computed and rounded the same way when it is needed);
 * inputs and outputs in Q8 of the int16 scale (value = y / 256 / 32768) in
 * [-2^24, 2^24 - 1], outputs rounded half up and clamped to that range.
 * 0, -1 when out of memory. */
int resampler_init_q30(resampler *r, uint32_t src_rate, uint32_t dst_rate);
uint32_t resampler_push_q30(resampler *r, int32_t x, int32_t *y);
void resampler_flush_q30(resampler *r, void (*emit)(void *ctx, int32_t y), void *ctx);

/* ------------------------------------------------ mel filterbank, log */

/* One triangle of the filterbank, stored by its nonzero bins: float
 * weights, and in the integer mode the same in Q16. */
typedef struct mel_filter {
    uint32_t first, len;      /* bins first .. first+len-1 */
    double *w;                /* len weights               */
    int32_t *w_q16;           /* len weights, Q16 (integer mode) */
} mel_filter;

/* log2(x) in Q16 for x >= 1: leading-zero count and the 256-entry table
 * of log2(1 + i/256), interpolated linearly on the next 16 bits. */
int32_t fx_log2_q16(uint64_t x);

/* ------------------------------------------- the integer frontend */

/* The integer mode's tables, computed once from the float description
 * (frontend_fixed.c); formats in QUANTIZATION.md section 8. */
typedef struct fe_fixed {
    uint32_t win_len, nfft, num_filters;
    int32_t preemph_q15;      /* round(preemph 2^15)                       */
    int32_t *window_q15;      /* win_len, round(w 2^15) in [0, 2^15]        */
    const mel_filter *filters;/* the frontend's, with w_q16 filled          */
    int32_t *w_q16;           /* storage of every filter's w_q16            */
    fft_q30_plan fft;
    int32_t floor_q16;        /* round(ln(log_floor) 2^16)                  */
    int cmn;                  /* channel normalization on                   */
    int32_t *prior_q16;       /* num_filters, round(prior 2^16)             */
    int64_t cmn_c0_q16;       /* cmn_prior_frames 2^16                      */
    int64_t decay_mul;        /* round(2^decay_shift / cmn_frames)          */
    uint32_t decay_shift;
    int out_dtype;            /* ASR_S8, ASR_S16 or ASR_FE_OUT_Q16          */
    int32_t in_zero, q_lo, q_hi;
    int64_t *fold_mul, *fold_add;  /* num_filters each                      */
    int32_t *fold_shift;
} fe_fixed;

/* Per-stream state and scratch of the integer mode. */
typedef struct fe_fixed_state {
    int32_t *fft_in, *fft_work;   /* nfft each       */
    uint64_t *p4;                 /* nfft/2 + 1      */
    int32_t *logmel;              /* num_filters, Q16 */
    int64_t *cmn_sum;             /* num_filters, Q16 */
    int64_t cmn_count;            /* Q16             */
} fe_fixed_state;

/* Checks the integer fields of d and fills t; filters are the frontend's
 * float filters, whose w_q16 this fills. ASR_OK or an error in st. */
int fe_fixed_init(fe_fixed *t, const asr_frontend_desc *d, const double *window,
                  mel_filter *filters, asr_status *st);
void fe_fixed_free(fe_fixed *t);
int fe_fixed_state_init(const fe_fixed *t, fe_fixed_state *w);
void fe_fixed_state_free(fe_fixed_state *w);
/* One frame of win_len pre-emphasized samples (Q23 of the int16 scale,
 * |x| <= 2^40) -> the frame's output values (out_dtype) at out. */
void fe_fixed_frame(const fe_fixed *t, fe_fixed_state *w, const int64_t *frame, void *out);

#endif /* ASR_FRONTEND_INT_H */
