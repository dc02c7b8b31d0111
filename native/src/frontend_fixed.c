/*
 * frontend_fixed.c - the integer mode of the feature frontend: the tables
 * made once from the float description, and one frame's arithmetic from
 * the pre-emphasized samples to the network's quantized input. Only
 * integer operations run per frame; doubles appear only in fe_fixed_init.
 *
 * Per frame (formats and bounds: QUANTIZATION.md section 8):
 *   samples (Q23 of int16) x window (Q15) -> int64 products, normalized to
 *   |v| <= 2^(30 - log2 n) by one shift t (block floating point: quiet and
 *   loud frames keep the same ~21 significant bits) -> fft_power_q30 ->
 *   4|X|^2 in uint64, >> 16 rounded -> mel energies with Q16 weights in
 *   uint64 (< 2^63) -> log2 by leading zeros and a table, minus the
 *   frame's exponent, times ln 2 in Q30 -> natural log energy in Q16,
 *   floored -> the running-mean channel normalization in Q16 -> the
 *   network's (x - mean) inv_std / in_scale + in_zero as one integer
 *   multiply, add and shift per filter, clamped to int8/int16.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "fixedpoint_tables.h"
#include "frontend_int.h"

/* ln 2 in Q30: 0.693147180559945... * 2^30 = 744261117.95 */
#define LN2_Q30 744261118

/* Floor of log2 of x > 0. */
static uint32_t ilog2_u64(uint64_t x)
{
#if defined(__GNUC__)
    return 63u - (uint32_t)__builtin_clzll(x);
#else
    uint32_t r = 0;
    while (x >>= 1)
        r++;
    return r;
#endif
}

int32_t fx_log2_q16(uint64_t x)
{
    uint32_t e = ilog2_u64(x);
    uint64_t m = x << (63 - e);                 /* top bit at 63 */
    uint32_t i = (uint32_t)(m >> 55) & 255u;    /* the 8 bits after it */
    int32_t frac = (int32_t)((m >> 39) & 0xFFFFu), d = log2_q16[i + 1] - log2_q16[i];
    /* d < 370 and frac < 2^16: the product is below 2^25 */
    return (int32_t)(e << 16) + log2_q16[i] + ((d * frac + 32768) >> 16);
}

static int64_t round_i64(double v)
{
    return (int64_t)floor(v + 0.5);
}

/* floor(a / c) for c > 0 (C99 division truncates towards zero). */
static int64_t floor_div(int64_t a, int64_t c)
{
    int64_t q = a / c;
    return (a % c != 0 && a < 0) ? q - 1 : q;
}

static int finite_d(double v)
{
    return v == v && v - v == 0.0;
}

/* mul, add and shift of filter j: floor((g mul + add) / 2^shift) with g the
 * Q16 log energy equals floor(x r + c) up to the rounding of mul and add,
 * r = inv_std / in_scale (steps per nat), c = 1/2 - mean r. */
static int fold_filter(fe_fixed *t, uint32_t j, double r, double c, asr_status *st)
{
    int k = 62, ex;
    double m;
    if (r != 0.0) {
        frexp(r, &ex);              /* |r| in [2^(ex-1), 2^ex) */
        k = 47 - ex;                /* |r| 2^(k-16) in [2^30, 2^31) */
        if (k > 62)
            k = 62;
    }
    /* |mul| < 2^31 and |add| < 2^61 keep g mul + add below 2^62 (|g| < 2^25) */
    while (k > 0 && (fabs(r) * ldexp(1.0, k - 16) >= 2147483647.0 || fabs(c) * ldexp(1.0, k) >= ldexp(1.0, 61)))
        k--;
    m = r * ldexp(1.0, k - 16);
    if (fabs(c) * ldexp(1.0, k) >= ldexp(1.0, 61) || (r != 0.0 && fabs(m) < 1048576.0))
        return asr_fail(st, ASR_E_UNSUPPORTED, "asr_frontend_create: filter %u: the network's "
                        "normalization (inv_std / in_scale = %g, mean = %g) is outside the integer "
                        "frontend's range", j, r, (r != 0.0 ? (0.5 - c) / r : 0.0));
    t->fold_mul[j] = round_i64(m);
    t->fold_add[j] = round_i64(ldexp(c, k));
    t->fold_shift[j] = k;
    return ASR_OK;
}

int fe_fixed_init(fe_fixed *t, const asr_frontend_desc *d, const double *window,
                  mel_filter *filters, asr_status *st)
{
    uint32_t i, j, used = 0, nf = d->num_filters, total = 0, r;
    double lnf;
    int rc;
    memset(t, 0, sizeof(*t));
    t->win_len = d->win_len;
    t->nfft = d->nfft;
    t->num_filters = nf;
    t->out_dtype = d->out_dtype;
    if (d->out_dtype != ASR_S8 && d->out_dtype != ASR_S16 && d->out_dtype != ASR_FE_OUT_Q16)
        return asr_fail(st, ASR_E_ARG, "asr_frontend_create: out_dtype %d: the integer frontend "
                        "writes ASR_S8, ASR_S16 or ASR_FE_OUT_Q16", d->out_dtype);
    if (d->cmn_frames > ASR_FE_INT_MAX_CMN_FRAMES || d->cmn_prior_frames > ASR_FE_INT_MAX_CMN_FRAMES)
        return asr_fail(st, ASR_E_UNSUPPORTED, "asr_frontend_create: the integer frontend takes "
                        "cmn_frames and cmn_prior_frames up to %d", ASR_FE_INT_MAX_CMN_FRAMES);
    lnf = log(d->log_floor);
    if (!(fabs(lnf) <= 100.0))
        return asr_fail(st, ASR_E_UNSUPPORTED, "asr_frontend_create: the integer frontend takes "
                        "log_floor in [e^-100, e^100], not %g", d->log_floor);
    if (d->cmn_frames)
        for (j = 0; j < nf; j++)
            if (!(fabs(d->cmn_prior[j]) <= 100.0))
                return asr_fail(st, ASR_E_UNSUPPORTED, "asr_frontend_create: the integer frontend "
                                "takes cmn_prior values in [-100, 100] nats, not %g", d->cmn_prior[j]);
    if (d->out_dtype != ASR_FE_OUT_Q16) {
        int32_t lo = d->out_dtype == ASR_S8 ? -128 : -32768, hi = d->out_dtype == ASR_S8 ? 127 : 32767;
        if (!(d->in_scale > 0.0 && finite_d(d->in_scale)))
            return asr_fail(st, ASR_E_ARG, "asr_frontend_create: in_scale %g must be positive",
                            d->in_scale);
        if (d->in_zero < lo || d->in_zero > hi)
            return asr_fail(st, ASR_E_ARG, "asr_frontend_create: in_zero %d is outside %d..%d",
                            (int)d->in_zero, (int)lo, (int)hi);
        if (!d->mean || !d->inv_std)
            return asr_fail(st, ASR_E_ARG, "asr_frontend_create: the integer frontend needs the "
                            "network's mean and inv_std (%u values each)", nf);
        for (j = 0; j < nf; j++)
            if (!finite_d(d->mean[j]) || !finite_d(d->inv_std[j]))
                return asr_fail(st, ASR_E_ARG, "asr_frontend_create: mean[%u] or inv_std[%u] is "
                                "not finite", j, j);
        t->in_zero = d->in_zero;
        t->q_lo = lo;
        t->q_hi = hi;
    }
    for (j = 0; j < nf; j++)
        total += filters[j].len;
    t->window_q15 = (int32_t *)malloc(d->win_len * sizeof(int32_t));
    t->w_q16 = (int32_t *)malloc((total ? total : 1) * sizeof(int32_t));
    t->prior_q16 = (int32_t *)calloc(nf, sizeof(int32_t));
    t->fold_mul = (int64_t *)calloc(nf, sizeof(int64_t));
    t->fold_add = (int64_t *)calloc(nf, sizeof(int64_t));
    t->fold_shift = (int32_t *)calloc(nf, sizeof(int32_t));
    if (!t->window_q15 || !t->w_q16 || !t->prior_q16 || !t->fold_mul || !t->fold_add
        || !t->fold_shift || fft_q30_plan_init(&t->fft, d->nfft) != 0) {
        fe_fixed_free(t);
        return asr_fail(st, ASR_E_NOMEM, "asr_frontend_create: out of memory");
    }
    /* window and weights lie in [0, 1]: Q15 in [0, 2^15], Q16 in [0, 2^16] */
    for (i = 0; i < d->win_len; i++)
        t->window_q15[i] = (int32_t)round_i64(window[i] * 32768.0);
    for (j = 0; j < nf; j++) {
        filters[j].w_q16 = t->w_q16 + used;
        for (i = 0; i < filters[j].len; i++)
            filters[j].w_q16[i] = (int32_t)round_i64(filters[j].w[i] * 65536.0);
        used += filters[j].len;
    }
    t->filters = filters;
    t->preemph_q15 = (int32_t)round_i64(d->preemph * 32768.0);
    t->floor_q16 = (int32_t)round_i64(lnf * 65536.0);
    if (d->cmn_frames) {
        uint64_t big = d->cmn_prior_frames > d->cmn_frames ? d->cmn_prior_frames : d->cmn_frames;
        t->cmn = 1;
        for (j = 0; j < nf; j++)
            t->prior_q16[j] = (int32_t)round_i64(d->cmn_prior[j] * 65536.0);
        t->cmn_c0_q16 = (int64_t)d->cmn_prior_frames << 16;
        /* decay 1 - 1/N as S - round(S mul / 2^shift): with N 2^r >= the
         * largest count M = max(C0, N), shift 38 - r keeps |S mul| below
         * 2^23 (M/N 2^shift + M) < 2^62 (section 8) */
        for (r = 0; ((uint64_t)d->cmn_frames << r) < big; r++)
            ;
        t->decay_shift = 38 - r;
        t->decay_mul = round_i64(ldexp(1.0, (int)t->decay_shift) / (double)d->cmn_frames);
    }
    if (d->out_dtype != ASR_FE_OUT_Q16)
        for (j = 0; j < nf; j++) {
            double rj = (double)d->inv_std[j] / d->in_scale;
            if ((rc = fold_filter(t, j, rj, 0.5 - (double)d->mean[j] * rj, st)) != ASR_OK) {
                fe_fixed_free(t);
                return rc;
            }
        }
    return ASR_OK;
}

void fe_fixed_free(fe_fixed *t)
{
    free(t->window_q15);
    free(t->w_q16);
    free(t->prior_q16);
    free(t->fold_mul);
    free(t->fold_add);
    free(t->fold_shift);
    fft_q30_plan_free(&t->fft);
    memset(t, 0, sizeof(*t));
}

int fe_fixed_state_init(const fe_fixed *t, fe_fixed_state *w)
{
    uint32_t j;
    memset(w, 0, sizeof(*w));
    w->fft_in = (int32_t *)malloc(t->nfft * sizeof(int32_t));
    w->fft_work = (int32_t *)malloc(t->nfft * sizeof(int32_t));
    w->p4 = (uint64_t *)malloc((t->nfft / 2 + 1) * sizeof(uint64_t));
    w->logmel = (int32_t *)malloc(t->num_filters * sizeof(int32_t));
    w->cmn_sum = (int64_t *)malloc(t->num_filters * sizeof(int64_t));
    if (!w->fft_in || !w->fft_work || !w->p4 || !w->logmel || !w->cmn_sum) {
        fe_fixed_state_free(w);
        return -1;
    }
    /* the running mean starts as the prior weighted as cmn_prior_frames frames */
    for (j = 0; j < t->num_filters; j++)
        w->cmn_sum[j] = (int64_t)t->prior_q16[j] * (t->cmn_c0_q16 >> 16);
    w->cmn_count = t->cmn_c0_q16;
    return 0;
}

void fe_fixed_state_free(fe_fixed_state *w)
{
    free(w->fft_in);
    free(w->fft_work);
    free(w->p4);
    free(w->logmel);
    free(w->cmn_sum);
    memset(w, 0, sizeof(*w));
}

/* Log-mel energies of one frame in Q16 nats into w->logmel. */
static void logmel_q16(const fe_fixed *t, fe_fixed_state *w, const int64_t *frame)
{
    uint32_t i, j, n = t->nfft, log2n = t->fft.log2n, bins = n / 2 + 1;
    int64_t peak = 0;
    int shift, q;
    /* |sample| <= 2^40 and window <= 2^15: products up to 2^55 */
    for (i = 0; i < t->win_len; i++) {
        int64_t v = frame[i] * t->window_q15[i];
        if (v < 0)
            v = -v;
        if (v > peak)
            peak = v;
    }
    if (peak == 0) {              /* silence: every energy is 0, below the floor */
        for (j = 0; j < t->num_filters; j++)
            w->logmel[j] = t->floor_q16;
        return;
    }
    /* Block floating point: v = product 2^shift with the peak in
     * [2^(B-1), 2^B], B = 30 - log2 n, whatever the frame's level. */
    shift = (int)(30 - log2n) - 1 - (int)ilog2_u64((uint64_t)peak);
    for (i = 0; i < t->win_len; i++) {
        int64_t v = frame[i] * t->window_q15[i];
        w->fft_in[i] = (int32_t)(shift >= 0 ? v * ((int64_t)1 << shift) : FX_RND64(v, -shift));
    }
    for (; i < n; i++)
        w->fft_in[i] = 0;
    fft_power_q30(&t->fft, w->fft_in, w->fft_work, w->p4);
    (void)bins;
    /* v = x 2^q for x the windowed sample in [-1, 1] units (Q23 of int16
     * is 2^38, the Q15 window 2^15): the energy E = sum 4|X|^2 w_q16 is
     * E_float n 2^(2q + 18). E needs up to 78 bits: the sum of 4|X|^2 over
     * the bins is at most 4 n sum v^2 <= 2^62 (Parseval), so it is kept as
     * hi 2^32 + lo with hi = sum (p4 >> 32) w (< 2^30 2^16) and
     * lo = sum (p4 mod 2^32) w (< (n/2 + 1) 2^48 < 2^61): exact. */
    q = 53 + shift;
    for (j = 0; j < t->num_filters; j++) {
        const mel_filter *f = &t->filters[j];
        const uint64_t *p = w->p4 + f->first;
        uint64_t hi = 0, lo = 0;
        int64_t l, lg;
        for (i = 0; i < f->len; i++) {   /* 32 x 32 -> 64-bit products (umull) */
            uint32_t wq = (uint32_t)f->w_q16[i];
            hi += (uint64_t)(uint32_t)(p[i] >> 32) * wq;
            lo += (uint64_t)(uint32_t)p[i] * wq;
        }
        hi += lo >> 32;
        lo &= 0xFFFFFFFFu;
        if (hi == 0 && lo == 0) {
            w->logmel[j] = t->floor_q16;
            continue;
        }
        /* below 2^63 E is exact in 64 bits; above, its top 31+ bits give
         * log2 to far better than the table's 2^-16 */
        lg = hi < ((uint64_t)1 << 31) ? fx_log2_q16((hi << 32) | lo)
                                      : (int64_t)fx_log2_q16(hi) + ((int64_t)32 << 16);
        /* log2 E_float = log2 E - log2 n - 2q - 18; |.| < 2^8 in Q16 < 2^24 */
        l = lg - ((int64_t)log2n + 2 * q + 18) * 65536;
        l = FX_RND64(l * LN2_Q30, 30);
        w->logmel[j] = l < t->floor_q16 ? t->floor_q16 : (int32_t)l;
    }
}

void fe_fixed_frame(const fe_fixed *t, fe_fixed_state *w, const int64_t *frame, void *out)
{
    uint32_t j, nf = t->num_filters;
    logmel_q16(t, w, frame);
    if (t->cmn) {
        /* S = a S + f and C = a C + 1 with a = 1 - mul / 2^shift, in Q16;
         * out = f - S / C + prior, the quotient rounded half up */
        int64_t c = w->cmn_count;
        c = c - FX_RND64(c * t->decay_mul, t->decay_shift) + 65536;
        w->cmn_count = c;
        for (j = 0; j < nf; j++) {
            int64_t s = w->cmn_sum[j];
            s = s - FX_RND64(s * t->decay_mul, t->decay_shift) + w->logmel[j];
            w->cmn_sum[j] = s;
            w->logmel[j] = (int32_t)((int64_t)w->logmel[j] - floor_div(s * 131072 + c, 2 * c)
                                     + t->prior_q16[j]);
        }
    }
    if (t->out_dtype == ASR_FE_OUT_Q16) {
        memcpy(out, w->logmel, nf * sizeof(int32_t));
        return;
    }
    for (j = 0; j < nf; j++) {
        int64_t v = FX_SRA64((int64_t)w->logmel[j] * t->fold_mul[j] + t->fold_add[j],
                             t->fold_shift[j]) + t->in_zero;
        v = v < t->q_lo ? t->q_lo : v > t->q_hi ? t->q_hi : v;
        if (t->out_dtype == ASR_S8)
            ((int8_t *)out)[j] = (int8_t)v;
        else
            ((int16_t *)out)[j] = (int16_t)v;
    }
}
