/*
 * frontend_int.h - the pieces of the feature frontend (frontend.c) that
 * live in their own files: the real FFT (fft.c) and the polyphase
 * resampler (resample.c). Internal; the API is include/asr_frontend.h.
 *
 * Float path only, in double. An integer frontend would add its own
 * fixed-point FFT and filterbank beside these, not change them.
 */
#ifndef ASR_FRONTEND_INT_H
#define ASR_FRONTEND_INT_H

#include <stddef.h>
#include <stdint.h>

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

#endif /* ASR_FRONTEND_INT_H */
