/*
 * resample.c - the rational-ratio resampler of the frontend, a port of
 * asr/audio.py's Resampler (same filter, same output times, same end of
 * stream), run one input sample at a time so any chunking of the input
 * gives the same outputs bit for bit.
 *
 * With g = gcd(src, dst), up = dst / g and down = src / g, output m is
 *     y[m] = sum_{j < 2 half} x[b - half + 1 + j] h[p][j],
 *     b = floor(m down / up), p = m down mod up,
 * with x = 0 before the first and after the last input. h[p] is the
 * Kaiser-windowed (beta 8) sinc at the distances p / up - k, cut off at
 * 0.95 of the lower Nyquist frequency; half = 16, times down / up when
 * downsampling, so the filter spans as many output periods either way.
 * Output m is emitted as soon as input b + half has arrived; at the end the
 * outputs whose time lies before the end of input (m down / up < n_in) are
 * flushed against zeros, which is ceil(n_in up / down) outputs in all.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "asr_frontend.h"
#include "frontend_int.h"

/* Filter tables larger than this many coefficients (8 bytes each) are not
 * stored: rows are computed per output instead, by the same function, so
 * the outputs are the same; only rates with a huge up (coprime rates such
 * as 44101 -> 16000) pay that. */
#define RESAMPLER_TABLE_MAX (1u << 18)
#define KAISER_BETA 8.0

static uint32_t gcd_u32(uint32_t a, uint32_t b)
{
    while (b) {
        uint32_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Modified Bessel function of the first kind, order 0, by its power
 * series sum ((x/2)^k / k!)^2, which converges for every x this file uses
 * (|x| <= 8) to the last bit in under 40 terms. */
static double bessel_i0(double x)
{
    double sum = 1.0, term = 1.0, q = 0.25 * x * x;
    int k;
    for (k = 1; k < 200; k++) {
        term *= q / ((double)k * (double)k);
        sum += term;
        if (term < sum * 1e-17)
            break;
    }
    return sum;
}

/* numpy's sinc: sin(pi x) / (pi x), 1 at 0. */
static double sinc(double x)
{
    double y;
    if (x == 0.0)
        return 1.0;
    y = ASR_PI * x;
    return sin(y) / y;
}

/* Row p of the filter: taps for the fractional position p / up. The
 * window is sampled at the tap distances by linear interpolation between
 * its 2 half + 1 points, as numpy.interp does in asr/audio.py. */
static void filter_row(const resampler *r, uint32_t p, double *row)
{
    uint32_t j;
    double frac = (double)p / (double)r->up;
    for (j = 0; j < r->taps; j++) {
        double k = (double)j - (double)r->half + 1.0;
        double d = frac - k;                    /* in [-half, half) */
        double pos = floor(d);
        uint32_t i = (uint32_t)(pos + (double)r->half);
        double w = (r->kaiser[i + 1] - r->kaiser[i]) * (d - pos) + r->kaiser[i];
        row[j] = r->cutoff * sinc(r->cutoff * d) * w;
    }
}

int resampler_init(resampler *r, uint32_t src_rate, uint32_t dst_rate)
{
    uint32_t g = gcd_u32(src_rate, dst_rate), i, nwin;
    uint64_t ring = 1;
    double alpha, i0beta;
    memset(r, 0, sizeof(*r));
    r->up = dst_rate / g;
    r->down = src_rate / g;
    r->half = 16;
    if (r->down > r->up && r->down / r->up > 1)
        r->half = 16 * (r->down / r->up);
    r->taps = 2 * r->half;
    r->cutoff = 0.95 * (r->up < r->down ? (double)r->up / (double)r->down : 1.0);
    nwin = r->taps + 1;
    while (ring < (uint64_t)r->taps + 2)
        ring <<= 1;
    r->ring_mask = ring - 1;
    r->kaiser = (double *)malloc(nwin * sizeof(double));
    r->row = (double *)malloc(r->taps * sizeof(double));
    r->ring = (double *)calloc((size_t)ring, sizeof(double));
    if (!r->kaiser || !r->row || !r->ring) {
        resampler_free(r);
        return -1;
    }
    /* numpy.kaiser(M, beta): I0(beta sqrt(1 - ((n - a) / a)^2)) / I0(beta), a = (M-1)/2 */
    alpha = (double)(nwin - 1) / 2.0;
    i0beta = bessel_i0(KAISER_BETA);
    for (i = 0; i < nwin; i++) {
        double t = ((double)i - alpha) / alpha;
        double s = 1.0 - t * t;
        r->kaiser[i] = bessel_i0(KAISER_BETA * sqrt(s > 0.0 ? s : 0.0)) / i0beta;
    }
    if ((uint64_t)r->up * r->taps <= RESAMPLER_TABLE_MAX) {
        r->table = (double *)malloc((size_t)r->up * r->taps * sizeof(double));
        if (!r->table) {
            resampler_free(r);
            return -1;
        }
        for (i = 0; i < r->up; i++)
            filter_row(r, i, r->table + (size_t)i * r->taps);
    }
    return 0;
}

void resampler_free(resampler *r)
{
    free(r->kaiser);
    free(r->row);
    free(r->ring);
    free(r->table);
    free(r->table_q30);
    free(r->row_q30);
    free(r->ring_q8);
    r->kaiser = r->row = r->ring = r->table = NULL;
    r->table_q30 = r->row_q30 = r->ring_q8 = NULL;
}

/* Row p of the filter rounded to Q30. */
static void filter_row_q30(resampler *r, uint32_t p, int32_t *out)
{
    const double *h = r->row;
    uint32_t j;
    if (r->table)
        h = r->table + (size_t)p * r->taps;
    else
        filter_row(r, p, r->row);
    for (j = 0; j < r->taps; j++)
        out[j] = (int32_t)floor(h[j] * 1073741824.0 + 0.5);
}

/* The integer resampler: the float filter's rows rounded to Q30, once here
 * for tables up to ASR_FE_INT_MAX_TAPS coefficients, and for larger ones
 * (rates coprime with the model's, such as 48001 Hz) per output by the same
 * function, so every rate is accepted and the taps are the same either way;
 * then only integers per sample. Every tap is at most cutoff < 1 in
 * magnitude, so it fits int32 (QUANTIZATION.md section 8). */
int resampler_init_q30(resampler *r, uint32_t src_rate, uint32_t dst_rate)
{
    uint32_t p;
    int stored;
    if (resampler_init(r, src_rate, dst_rate) != 0)
        return -1;
    stored = (uint64_t)r->up * r->taps <= ASR_FE_INT_MAX_TAPS;
    r->ring_q8 = (int32_t *)calloc((size_t)r->ring_mask + 1, sizeof(int32_t));
    if (stored)
        r->table_q30 = (int32_t *)malloc((size_t)r->up * r->taps * sizeof(int32_t));
    else
        r->row_q30 = (int32_t *)malloc(r->taps * sizeof(int32_t));
    if (!r->ring_q8 || !(stored ? r->table_q30 : r->row_q30)) {
        resampler_free(r);
        return -1;
    }
    for (p = 0; stored && p < r->up; p++)
        filter_row_q30(r, p, r->table_q30 + (size_t)p * r->taps);
    /* the float table and ring are not used in this mode (the row and the
     * Kaiser window stay for rows computed per output) */
    free(r->table);
    free(r->ring);
    r->table = r->ring = NULL;
    return 0;
}

/* Further outputs whose base b is at most last (an input index, may be
 * negative): b_s = base + floor((phase + s down) / up) <= last holds for
 * s < ((last - base + 1) up - phase) / down. */
static uint64_t count_upto(const resampler *r, int64_t last)
{
    int64_t span = last - (int64_t)r->base + 1, num;
    if (span <= 0)
        return 0;
    num = span * (int64_t)r->up - (int64_t)r->phase;
    if (num <= 0)
        return 0;
    return (uint64_t)((num + (int64_t)r->down - 1) / (int64_t)r->down);
}

uint64_t resampler_count(const resampler *r, uint64_t n, int flush)
{
    int64_t end = (int64_t)(r->in_end + n);
    return flush ? count_upto(r, end - 1) : count_upto(r, end - 1 - (int64_t)r->half);
}

/* The output at (base, phase) from the ring, then step to the next. */
static float next_output(resampler *r)
{
    const double *h;
    double acc = 0.0;
    int64_t first = (int64_t)r->base - (int64_t)r->half + 1;
    uint32_t j;
    if (r->table) {
        h = r->table + (size_t)r->phase * r->taps;
    } else {
        filter_row(r, r->phase, r->row);
        h = r->row;
    }
    for (j = 0; j < r->taps; j++)
        acc += r->ring[(uint64_t)(first + (int64_t)j) & r->ring_mask] * h[j];
    r->phase += r->down;
    r->base += r->phase / r->up;
    r->phase %= r->up;
    return (float)acc;
}

/* Output of the integer mode: sum of Q8 inputs (|x| <= 2^24) times Q30
 * taps; the sum of the taps' magnitudes of a row is below taps * cutoff
 * <= 32 * 0.95, so |acc| < 2^24 * 31 * 2^30 < 2^59. Rounded to Q8,
 * clamped to twice full scale (the filter's ringing can exceed full scale;
 * twice it never happens in practice). */
static int32_t next_output_q30(resampler *r)
{
    const int32_t *h = r->row_q30;
    int64_t acc = 0, y;
    int64_t first = (int64_t)r->base - (int64_t)r->half + 1;
    uint32_t j;
    if (r->table_q30)
        h = r->table_q30 + (size_t)r->phase * r->taps;
    else
        filter_row_q30(r, r->phase, r->row_q30);
    for (j = 0; j < r->taps; j++)
        acc += (int64_t)r->ring_q8[(uint64_t)(first + (int64_t)j) & r->ring_mask] * h[j];
    r->phase += r->down;
    r->base += r->phase / r->up;
    r->phase %= r->up;
    y = FX_RND64(acc, 30);
    return (int32_t)(y < -(1 << 24) ? -(1 << 24) : y > (1 << 24) - 1 ? (1 << 24) - 1 : y);
}

uint32_t resampler_push_q30(resampler *r, int32_t x, int32_t *y)
{
    uint32_t n = 0;
    r->ring_q8[r->pushed & r->ring_mask] = x;
    r->pushed++;
    r->in_end++;
    while (r->base + r->half < r->pushed)
        y[n++] = next_output_q30(r);
    return n;
}

void resampler_flush_q30(resampler *r, void (*emit)(void *ctx, int32_t y), void *ctx)
{
    while (r->base < r->in_end) {
        if (r->base + r->half < r->pushed) {
            emit(ctx, next_output_q30(r));
        } else {
            r->ring_q8[r->pushed & r->ring_mask] = 0;
            r->pushed++;
        }
    }
}

static void push_raw(resampler *r, double x)
{
    r->ring[r->pushed & r->ring_mask] = x;
    r->pushed++;
}

uint32_t resampler_push(resampler *r, double x, float *y)
{
    uint32_t n = 0;
    push_raw(r, x);
    r->in_end++;
    /* ready: the newest input this output needs, base + half, is in */
    while (r->base + r->half < r->pushed)
        y[n++] = next_output(r);
    return n;
}

void resampler_flush(resampler *r, void (*emit)(void *ctx, float y), void *ctx)
{
    while (r->base < r->in_end) {
        if (r->base + r->half < r->pushed)
            emit(ctx, next_output(r));
        else
            push_raw(r, 0.0);
    }
}
