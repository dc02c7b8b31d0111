/*
 * frontend.c - the feature frontend of include/asr_frontend.h: the shared
 * tables (window, mel filterbank, FFT plan) and the per-stream pipeline
 * resample -> pre-emphasis -> frame -> power spectrum -> filterbank -> log
 * -> channel normalization, run sample by sample into a one-window buffer.
 *
 * The specification is asr/reference.py (python_speech_features plus the
 * stateful pre-emphasis and the causal channel normalization); the tests
 * compare the two (tests/test_frontend.py). Everything is double until the
 * log energy, which is rounded to float like the reference's float32
 * output; the channel normalization then runs in double on those floats,
 * exactly as the reference's does. The build uses -std=c99, under which
 * GCC does not contract a * b + c into an FMA, so x86-64, armv7 and
 * aarch64 compute the same operations (tests/native/test_frontend_cross.py).
 *
 * The integer mode (ASR_FE_INT) shares the framing, the frame counts and
 * the checks; its samples are int32 (Q8 of the int16 scale) and each frame
 * goes to frontend_fixed.c instead of the double pipeline.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "asr_frontend.h"
#include "common.h"
#include "frontend_int.h"

struct asr_frontend {
    asr_frontend_desc d;      /* cmn_prior points to prior below */
    double *window;           /* win_len                        */
    mel_filter *filters;      /* num_filters                    */
    double *weights;          /* storage of every filter's w    */
    double *prior;            /* num_filters, when cmn_frames   */
    double decay;             /* 1 - 1/cmn_frames               */
    fft_f64_plan fft;
    fe_fixed fx;              /* ASR_FE_INT: the integer tables */
};

struct asr_fstream {
    const asr_frontend *fe;
    uint32_t in_rate;
    int resampling;
    int finished;
    resampler rs;
    float *rs_out;            /* up: outputs of one pushed sample */
    double prev;              /* last sample, for pre-emphasis     */
    double *frame;            /* win_len pre-emphasized samples    */
    int64_t *frame_q;         /* the same in the integer mode (Q23) */
    int32_t *rs_out_q;        /* integer mode: outputs of one push */
    int32_t prev_q;           /* integer mode: last sample (Q8)    */
    fe_fixed_state fxs;
    uint32_t fill;            /* samples in frame                  */
    uint64_t total;           /* samples at the model rate so far  */
    uint64_t done;            /* frames written                    */
    double *fft_in, *fft_work, *power;
    double *cmn_sum, cmn_count;
    /* the call in progress: where its frames go */
    void *out;
    size_t n_out;
};

/* python_speech_features' mel scale */
static double hz_to_mel(double hz)
{
    return 2595.0 * log10(1.0 + hz / 700.0);
}

static double mel_to_hz(double mel)
{
    return 700.0 * (pow(10.0, mel / 2595.0) - 1.0);
}

/* python_speech_features.get_filterbanks: num_filters + 2 points evenly
 * spaced in mel from low_hz to high_hz (numpy.linspace: start + i step,
 * the last point exactly high), each moved down to the FFT bin
 * floor((nfft + 1) hz / rate); filter j rises from bin[j] to bin[j+1] and
 * falls to bin[j+2], zero at both ends. */
static int build_filterbank(asr_frontend *fe)
{
    const asr_frontend_desc *d = &fe->d;
    uint32_t nf = d->num_filters, j, used = 0;
    double lo = hz_to_mel(d->low_hz), hi = hz_to_mel(d->high_hz);
    double step = (hi - lo) / (double)(nf + 1);
    double *bin;
    if (nf > ASR_FE_MAX_FILTERS || d->nfft > ASR_FE_MAX_NFFT)
        return -1;          /* checked already; tells the compiler the sizes are small */
    bin = (double *)malloc((nf + 2) * sizeof(double));
    if (!bin)
        return -1;
    for (j = 0; j < nf + 2; j++) {
        double mel = j == nf + 1 ? hi : (double)j * step + lo;
        bin[j] = floor((double)(d->nfft + 1) * mel_to_hz(mel) / (double)d->sample_rate);
    }
    /* every bin lies in 0 .. nfft/2 (high_hz <= rate/2), so a filter has at
     * most nfft/2 + 1 weights */
    fe->filters = (mel_filter *)calloc(nf, sizeof(mel_filter));
    fe->weights = (double *)malloc((size_t)nf * (d->nfft / 2 + 1) * sizeof(double));
    if (!fe->filters || !fe->weights) {
        free(bin);
        return -1;
    }
    for (j = 0; j < nf; j++) {
        mel_filter *f = &fe->filters[j];
        uint32_t a = (uint32_t)bin[j], b = (uint32_t)bin[j + 1], c = (uint32_t)bin[j + 2], i;
        f->first = a;
        f->len = c > a ? c - a : 0;
        f->w = fe->weights + used;
        for (i = a; i < b; i++)
            f->w[i - a] = ((double)i - bin[j]) / (bin[j + 1] - bin[j]);
        for (i = b; i < c; i++)
            f->w[i - a] = (bin[j + 2] - (double)i) / (bin[j + 2] - bin[j + 1]);
        used += f->len;
    }
    free(bin);
    return 0;
}

static int finite(double v)
{
    return v == v && v - v == 0.0;
}

static int check_desc(const asr_frontend_desc *d, asr_status *st)
{
    uint32_t j;
    double high;
    if (d->mode != ASR_FE_FLOAT && d->mode != ASR_FE_INT)
        return asr_fail(st, ASR_E_ARG, "asr_frontend_create: unknown mode %d", d->mode);
    if (d->sample_rate < 1 || d->sample_rate > ASR_FE_MAX_RATE)
        return asr_fail(st, ASR_E_ARG, "asr_frontend_create: sample_rate %u Hz is outside 1..%d",
                        d->sample_rate, ASR_FE_MAX_RATE);
    if (d->nfft < 4 || d->nfft > ASR_FE_MAX_NFFT || (d->nfft & (d->nfft - 1)))
        return asr_fail(st, ASR_E_UNSUPPORTED, "asr_frontend_create: nfft %u is not a power "
                        "of two in 4..%d (the FFT is radix 2)", d->nfft, ASR_FE_MAX_NFFT);
    if (d->win_len < 1 || d->win_len > d->nfft)
        return asr_fail(st, ASR_E_ARG, "asr_frontend_create: win_len %u must be in 1..nfft (%u)",
                        d->win_len, d->nfft);
    if (d->hop_len < 1 || d->hop_len > d->win_len)
        return asr_fail(st, ASR_E_ARG, "asr_frontend_create: hop_len %u must be in 1..win_len (%u)",
                        d->hop_len, d->win_len);
    if (d->num_filters < 1 || d->num_filters > ASR_FE_MAX_FILTERS)
        return asr_fail(st, ASR_E_ARG, "asr_frontend_create: num_filters %u is outside 1..%d",
                        d->num_filters, ASR_FE_MAX_FILTERS);
    /* high_hz 0 is the top, sample_rate/2 (python_speech_features' default) */
    high = d->high_hz == 0.0 ? d->sample_rate / 2.0 : d->high_hz;
    if (!finite(d->low_hz) || !finite(high) || d->low_hz < 0.0 || high > d->sample_rate / 2.0
        || d->low_hz >= high)
        return asr_fail(st, ASR_E_ARG, "asr_frontend_create: filters from %g to %g Hz do not fit "
                        "0 <= low < high <= sample_rate/2 (%g)", d->low_hz, high,
                        d->sample_rate / 2.0);
    if (!finite(d->preemph) || fabs(d->preemph) > 1.0)
        return asr_fail(st, ASR_E_ARG, "asr_frontend_create: preemph %g is not in [-1, 1]", d->preemph);
    if (!finite(d->log_floor) || d->log_floor <= 0.0)
        return asr_fail(st, ASR_E_ARG, "asr_frontend_create: log_floor %g must be > 0", d->log_floor);
    if (d->window != ASR_FE_WINDOW_HAMMING && d->window != ASR_FE_WINDOW_RECT)
        return asr_fail(st, ASR_E_ARG, "asr_frontend_create: unknown window %d", d->window);
    if (d->cmn_frames > ASR_FE_MAX_CMN_FRAMES || d->cmn_prior_frames > ASR_FE_MAX_CMN_FRAMES)
        return asr_fail(st, ASR_E_ARG, "asr_frontend_create: cmn_frames %u or cmn_prior_frames %u "
                        "above %d", d->cmn_frames, d->cmn_prior_frames, ASR_FE_MAX_CMN_FRAMES);
    if (d->cmn_frames) {
        if (!d->cmn_prior)
            return asr_fail(st, ASR_E_ARG, "asr_frontend_create: cmn_frames > 0 needs cmn_prior "
                            "(%u values)", d->num_filters);
        for (j = 0; j < d->num_filters; j++)
            if (!finite(d->cmn_prior[j]))
                return asr_fail(st, ASR_E_ARG, "asr_frontend_create: cmn_prior[%u] is not finite", j);
    }
    return ASR_OK;
}

int asr_frontend_create(const asr_frontend_desc *desc, asr_frontend **out, asr_status *st)
{
    asr_frontend *fe;
    uint32_t i, n;
    int rc;
    if (!out)
        return asr_fail(st, ASR_E_ARG, "asr_frontend_create: null output pointer");
    *out = NULL;
    if (!desc)
        return asr_fail(st, ASR_E_ARG, "asr_frontend_create: null description");
    rc = check_desc(desc, st);
    if (rc != ASR_OK)
        return rc;
    fe = (asr_frontend *)calloc(1, sizeof(*fe));
    if (!fe)
        return asr_fail(st, ASR_E_NOMEM, "asr_frontend_create: out of memory");
    fe->d = *desc;
    fe->d.cmn_prior = NULL;
    if (fe->d.high_hz == 0.0)          /* python_speech_features: highfreq or rate/2 */
        fe->d.high_hz = fe->d.sample_rate / 2.0;
    n = desc->win_len;
    fe->window = (double *)malloc(n * sizeof(double));
    if (!fe->window || fft_f64_plan_init(&fe->fft, desc->nfft) != 0 || build_filterbank(fe) != 0)
        goto nomem;
    /* numpy.hamming(M) = 0.54 - 0.46 cos(2 pi i / (M - 1)); M = 1 gives 1 */
    for (i = 0; i < n; i++)
        fe->window[i] = desc->window == ASR_FE_WINDOW_RECT || n == 1 ? 1.0
            : 0.54 - 0.46 * cos(2.0 * ASR_PI * (double)i / (double)(n - 1));
    if (desc->cmn_frames) {
        fe->prior = (double *)malloc(desc->num_filters * sizeof(double));
        if (!fe->prior)
            goto nomem;
        memcpy(fe->prior, desc->cmn_prior, desc->num_filters * sizeof(double));
        fe->d.cmn_prior = fe->prior;
        fe->decay = 1.0 - 1.0 / (double)desc->cmn_frames;
    }
    if (desc->mode == ASR_FE_INT) {
        fe->d.mean = fe->d.inv_std = NULL;      /* read by fe_fixed_init only */
        if ((rc = fe_fixed_init(&fe->fx, desc, fe->window, fe->filters, st)) != ASR_OK) {
            asr_frontend_free(fe);
            return rc;
        }
    }
    *out = fe;
    return ASR_OK;
nomem:
    asr_frontend_free(fe);
    return asr_fail(st, ASR_E_NOMEM, "asr_frontend_create: out of memory");
}

void asr_frontend_free(asr_frontend *fe)
{
    if (!fe)
        return;
    free(fe->window);
    free(fe->filters);
    free(fe->weights);
    free(fe->prior);
    fft_f64_plan_free(&fe->fft);
    fe_fixed_free(&fe->fx);
    free(fe);
}

int asr_frontend_info(const asr_frontend *fe, uint32_t *num_filters, uint32_t *sample_rate,
                      asr_status *st)
{
    if (!fe || !num_filters || !sample_rate)
        return asr_fail(st, ASR_E_ARG, "asr_frontend_info: null pointer");
    *num_filters = fe->d.num_filters;
    *sample_rate = fe->d.sample_rate;
    return ASR_OK;
}

int asr_frontend_format(const asr_frontend *fe, int *mode, int *out_dtype, double *in_scale,
                        int32_t *in_zero, asr_status *st)
{
    int integer, quant;
    if (!fe)
        return asr_fail(st, ASR_E_ARG, "asr_frontend_format: null frontend");
    integer = fe->d.mode == ASR_FE_INT;
    quant = integer && fe->d.out_dtype != ASR_FE_OUT_Q16;
    if (mode)
        *mode = fe->d.mode;
    if (out_dtype)
        *out_dtype = integer ? fe->d.out_dtype : ASR_F32;
    if (in_scale)
        *in_scale = quant ? fe->d.in_scale : 0.0;
    if (in_zero)
        *in_zero = quant ? fe->d.in_zero : 0;
    return ASR_OK;
}

/* Bytes of one output value. */
static size_t out_size(const asr_frontend *fe)
{
    if (fe->d.mode != ASR_FE_INT)
        return sizeof(float);
    return fe->d.out_dtype == ASR_FE_OUT_Q16 ? 4 : asr_dtype_size(fe->d.out_dtype);
}

int asr_frontend_filterbank(const asr_frontend *fe, double *out, size_t cap, asr_status *st)
{
    uint32_t j, i, bins;
    if (!fe || !out)
        return asr_fail(st, ASR_E_ARG, "asr_frontend_filterbank: null pointer");
    bins = fe->d.nfft / 2 + 1;
    if (cap < (size_t)fe->d.num_filters * bins)
        return asr_fail(st, ASR_E_SHAPE, "asr_frontend_filterbank: room for %zu values, "
                        "%u x %u needed", cap, fe->d.num_filters, bins);
    memset(out, 0, (size_t)fe->d.num_filters * bins * sizeof(double));
    for (j = 0; j < fe->d.num_filters; j++)
        for (i = 0; i < fe->filters[j].len; i++)
            out[(size_t)j * bins + fe->filters[j].first + i] = fe->filters[j].w[i];
    return ASR_OK;
}

/* ------------------------------------------------------------- streams */

void asr_fstream_free(asr_fstream *s)
{
    if (!s)
        return;
    resampler_free(&s->rs);
    free(s->rs_out);
    free(s->rs_out_q);
    free(s->frame);
    free(s->frame_q);
    fe_fixed_state_free(&s->fxs);
    free(s->fft_in);
    free(s->fft_work);
    free(s->power);
    free(s->cmn_sum);
    free(s);
}

int asr_fstream_create(const asr_frontend *fe, uint32_t in_rate, asr_fstream **out,
                       asr_status *st)
{
    asr_fstream *s;
    const asr_frontend_desc *d;
    uint32_t j;
    if (!out)
        return asr_fail(st, ASR_E_ARG, "asr_fstream_create: null output pointer");
    *out = NULL;
    if (!fe)
        return asr_fail(st, ASR_E_ARG, "asr_fstream_create: null frontend");
    if (in_rate < 1 || in_rate > ASR_FE_MAX_RATE)
        return asr_fail(st, ASR_E_ARG, "asr_fstream_create: input rate %u Hz is outside 1..%d",
                        in_rate, ASR_FE_MAX_RATE);
    d = &fe->d;
    s = (asr_fstream *)calloc(1, sizeof(*s));
    if (!s)
        return asr_fail(st, ASR_E_NOMEM, "asr_fstream_create: out of memory");
    s->fe = fe;
    s->in_rate = in_rate;
    s->resampling = in_rate != d->sample_rate;
    if (d->mode == ASR_FE_INT) {
        int r = s->resampling ? resampler_init_q30(&s->rs, in_rate, d->sample_rate) : 0;
        if (r != 0 || (s->resampling && !(s->rs_out_q = (int32_t *)malloc(s->rs.up * sizeof(int32_t))))
            || !(s->frame_q = (int64_t *)malloc(d->win_len * sizeof(int64_t)))
            || fe_fixed_state_init(&fe->fx, &s->fxs) != 0)
            goto nomem;
        *out = s;
        return ASR_OK;
    }
    if (s->resampling) {
        if (resampler_init(&s->rs, in_rate, d->sample_rate) != 0)
            goto nomem;
        s->rs_out = (float *)malloc(s->rs.up * sizeof(float));
        if (!s->rs_out)
            goto nomem;
    }
    s->frame = (double *)malloc(d->win_len * sizeof(double));
    s->fft_in = (double *)malloc(d->nfft * sizeof(double));
    s->fft_work = (double *)malloc(d->nfft * sizeof(double));
    s->power = (double *)malloc((d->nfft / 2 + 1) * sizeof(double));
    if (!s->frame || !s->fft_in || !s->fft_work || !s->power)
        goto nomem;
    if (d->cmn_frames) {
        /* the running mean starts as the prior weighted as cmn_prior_frames frames */
        s->cmn_sum = (double *)malloc(d->num_filters * sizeof(double));
        if (!s->cmn_sum)
            goto nomem;
        for (j = 0; j < d->num_filters; j++)
            s->cmn_sum[j] = fe->prior[j] * (double)d->cmn_prior_frames;
        s->cmn_count = (double)d->cmn_prior_frames;
    }
    *out = s;
    return ASR_OK;
nomem:
    asr_fstream_free(s);
    return asr_fail(st, ASR_E_NOMEM, "asr_fstream_create: out of memory");
}

/* The frames python_speech_features makes of n samples: one for up to a
 * window, then one more per hop started; the last is zero-padded. */
static uint64_t frames_of(const asr_frontend_desc *d, uint64_t n)
{
    if (n == 0)
        return 0;
    if (n <= d->win_len)
        return 1;
    return 1 + (n - d->win_len + d->hop_len - 1) / d->hop_len;
}

static uint64_t pending_frames(const asr_fstream *s, uint64_t n, int finish)
{
    const asr_frontend_desc *d = &s->fe->d;
    uint64_t r = s->resampling ? resampler_count(&s->rs, n, 0) : n;
    uint64_t fill;
    if (finish) {
        if (s->resampling)
            r = resampler_count(&s->rs, n, 1);
        return frames_of(d, s->total + r) - s->done;
    }
    fill = s->fill + r;
    return fill < d->win_len ? 0 : 1 + (fill - d->win_len) / d->hop_len;
}

/* One frame from the full window buffer: window, power spectrum,
 * filterbank, log, channel normalization; written to the call's output. */
static void emit_frame(asr_fstream *s)
{
    const asr_frontend *fe = s->fe;
    const asr_frontend_desc *d = &fe->d;
    float *y = (float *)s->out + s->n_out * d->num_filters;
    uint32_t i, j;
    for (i = 0; i < d->win_len; i++)
        s->fft_in[i] = s->frame[i] * fe->window[i];
    for (; i < d->nfft; i++)
        s->fft_in[i] = 0.0;
    fft_power_f64(&fe->fft, s->fft_in, s->fft_work, s->power);
    for (j = 0; j < d->num_filters; j++) {
        const mel_filter *f = &fe->filters[j];
        const double *p = s->power + f->first;
        double e = 0.0;
        for (i = 0; i < f->len; i++)
            e += p[i] * f->w[i];
        y[j] = (float)log(e > d->log_floor ? e : d->log_floor);
    }
    if (d->cmn_frames) {
        /* S = a S + f, C = a C + 1 (the reference's lfilter recursion, in
         * the same order); out = f - S / C + prior */
        s->cmn_count = 1.0 + fe->decay * s->cmn_count;
        for (j = 0; j < d->num_filters; j++) {
            double f = (double)y[j];
            s->cmn_sum[j] = f + fe->decay * s->cmn_sum[j];
            y[j] = (float)(f - s->cmn_sum[j] / s->cmn_count + fe->prior[j]);
        }
    }
    s->n_out++;
    s->done++;
    /* keep the overlap with the next frame */
    memmove(s->frame, s->frame + d->hop_len, (d->win_len - d->hop_len) * sizeof(double));
    s->fill = d->win_len - d->hop_len;
}

/* One sample at the model's rate into the framer. */
static void feed(asr_fstream *s, float v)
{
    const asr_frontend_desc *d = &s->fe->d;
    double x = (double)v;
    s->frame[s->fill++] = x - d->preemph * s->prev;
    s->prev = x;
    s->total++;
    if (s->fill == d->win_len)
        emit_frame(s);
}

/* The integer mode's frame: frontend_fixed.c writes it; the overlap stays. */
static void emit_frame_q(asr_fstream *s)
{
    const asr_frontend_desc *d = &s->fe->d;
    fe_fixed_frame(&s->fe->fx, &s->fxs, s->frame_q,
                   (unsigned char *)s->out + s->n_out * d->num_filters * out_size(s->fe));
    s->n_out++;
    s->done++;
    memmove(s->frame_q, s->frame_q + d->hop_len, (d->win_len - d->hop_len) * sizeof(int64_t));
    s->fill = d->win_len - d->hop_len;
}

/* One sample (Q8 of int16, |v| <= 2^24) into the integer framer, with
 * the pre-emphasis exact: v 2^15 - p v_prev with p in Q15, so the frame
 * holds Q23 values, |sample| <= 2^39 + 2^39 = 2^40. (Rounding here would
 * add white noise after the filter that attenuates the low bands by up to
 * 30 dB, where quiet frames would feel it.) */
static void feed_q(asr_fstream *s, int32_t v)
{
    const asr_frontend_desc *d = &s->fe->d;
    s->frame_q[s->fill++] = (int64_t)v * 32768 - (int64_t)s->fe->fx.preemph_q15 * s->prev_q;
    s->prev_q = v;
    s->total++;
    if (s->fill == d->win_len)
        emit_frame_q(s);
}

static void feed_q_cb(void *ctx, int32_t v)
{
    feed_q((asr_fstream *)ctx, v);
}

/* One input sample in Q8 of the int16 scale, |x| <= 2^24. */
static void push_q(asr_fstream *s, int32_t x)
{
    uint32_t k, n;
    if (!s->resampling) {
        feed_q(s, x);
        return;
    }
    n = resampler_push_q30(&s->rs, x, s->rs_out_q);
    for (k = 0; k < n; k++)
        feed_q(s, s->rs_out_q[k]);
}

static void feed_cb(void *ctx, float v)
{
    feed((asr_fstream *)ctx, v);
}

static void push(asr_fstream *s, float v)
{
    uint32_t k, n;
    if (!s->resampling) {
        feed(s, v);
        return;
    }
    n = resampler_push(&s->rs, (double)v, s->rs_out);
    for (k = 0; k < n; k++)
        feed(s, s->rs_out[k]);
}

/* The checks every feeding call shares; then the call's output is set up. */
static int begin(asr_fstream *s, const void *x, size_t n, int finish, int quantized, void *out,
                 size_t out_cap, size_t *n_frames, const char *fn, asr_status *st)
{
    uint64_t need;
    if (n_frames)
        *n_frames = 0;
    if (!s || !n_frames)
        return asr_fail(st, ASR_E_ARG, "%s: null stream or count pointer", fn);
    if (quantized != (s->fe->d.mode == ASR_FE_INT))
        return asr_fail(st, ASR_E_ARG, quantized ? "%s: a float frontend writes float frames "
                        "(asr_fstream_accept_s16/_f32, asr_fstream_finish)"
                        : "%s: an integer frontend writes quantized frames (asr_fstream_accept_"
                        "s16_q/_f32_q, asr_fstream_finish_q)", fn);
    if (s->finished)
        return asr_fail(st, ASR_E_ARG, "%s: the stream is finished", fn);
    if (n > ASR_FE_MAX_CHUNK)
        return asr_fail(st, ASR_E_ARG, "%s: %zu samples in one call; at most %d", fn, n,
                        ASR_FE_MAX_CHUNK);
    if (n && !x)
        return asr_fail(st, ASR_E_ARG, "%s: null samples", fn);
    if (n && !asr_span_bytes(x, n, 1, 1, 4))
        return asr_fail(st, ASR_E_ARG, "%s: %zu samples do not fit the address space", fn, n);
    need = pending_frames(s, n, finish);
    if (need > out_cap)
        return asr_fail(st, ASR_E_SHAPE, "%s: %llu frames are ready, room for %zu (see "
                        "asr_fstream_pending)", fn, (unsigned long long)need, out_cap);
    if (out_cap && !out)
        return asr_fail(st, ASR_E_ARG, "%s: null output", fn);
    if (out_cap && !asr_span_bytes(out, out_cap, s->fe->d.num_filters, s->fe->d.num_filters,
                                   out_size(s->fe)))
        return asr_fail(st, ASR_E_ARG, "%s: output of %zu frames does not fit the address space",
                        fn, out_cap);
    s->out = out;
    s->n_out = 0;
    return ASR_OK;
}

int asr_fstream_pending(const asr_fstream *s, size_t n_samples, int finish, size_t *n_frames,
                        asr_status *st)
{
    if (!s || !n_frames)
        return asr_fail(st, ASR_E_ARG, "asr_fstream_pending: null pointer");
    *n_frames = 0;
    if (s->finished)
        return asr_fail(st, ASR_E_ARG, "asr_fstream_pending: the stream is finished");
    if (n_samples > ASR_FE_MAX_CHUNK)
        return asr_fail(st, ASR_E_ARG, "asr_fstream_pending: %zu samples in one call; at most %d",
                        n_samples, ASR_FE_MAX_CHUNK);
    *n_frames = (size_t)pending_frames(s, n_samples, finish);
    return ASR_OK;
}

/* ASR_OK when every sample of x is finite, else the error naming the first
 * that is not; called before any state changes, so a refused call changes
 * nothing. */
static int check_finite(const float *x, size_t n, const char *fn, asr_status *st)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!finite(x[i]))
            return asr_fail(st, ASR_E_ARG, "%s: sample %zu is %s; audio must be finite", fn, i,
                            x[i] != x[i] ? "NaN" : "infinite");
    return ASR_OK;
}

int asr_fstream_accept_f32(asr_fstream *s, const float *x, size_t n, float *out, size_t out_cap,
                           size_t *n_frames, asr_status *st)
{
    size_t i;
    int rc = begin(s, x, n, 0, 0, out, out_cap, n_frames, "asr_fstream_accept_f32", st);
    if (rc != ASR_OK || (rc = check_finite(x, n, "asr_fstream_accept_f32", st)) != ASR_OK)
        return rc;
    for (i = 0; i < n; i++)
        push(s, x[i]);
    *n_frames = s->n_out;
    return ASR_OK;
}

int asr_fstream_accept_s16(asr_fstream *s, const int16_t *x, size_t n, float *out, size_t out_cap,
                           size_t *n_frames, asr_status *st)
{
    size_t i;
    int rc = begin(s, x, n, 0, 0, out, out_cap, n_frames, "asr_fstream_accept_s16", st);
    if (rc != ASR_OK)
        return rc;
    /* x / 32768 is exact in float: asr.audio.to_float32's scaling */
    for (i = 0; i < n; i++)
        push(s, (float)x[i] * (1.0f / 32768.0f));
    *n_frames = s->n_out;
    return ASR_OK;
}

/* Both finish calls: the resampler's tail, then the remaining frames, the
 * last zero-padded, on the float or the integer path. */
static int finish(asr_fstream *s, int quantized, void *out, size_t out_cap, size_t *n_frames,
                  const char *fn, asr_status *st)
{
    const asr_frontend_desc *d;
    uint64_t left;
    int rc = begin(s, NULL, 0, 1, quantized, out, out_cap, n_frames, fn, st);
    if (rc != ASR_OK)
        return rc;
    d = &s->fe->d;
    s->finished = 1;
    if (s->resampling) {
        if (quantized)
            resampler_flush_q30(&s->rs, feed_q_cb, s);
        else
            resampler_flush(&s->rs, feed_cb, s);
    }
    left = frames_of(d, s->total) - s->done;
    while (left--) {
        if (quantized) {
            while (s->fill < d->win_len)
                s->frame_q[s->fill++] = 0;
            emit_frame_q(s);
        } else {
            while (s->fill < d->win_len)
                s->frame[s->fill++] = 0.0;
            emit_frame(s);
        }
    }
    *n_frames = s->n_out;
    return ASR_OK;
}

int asr_fstream_finish(asr_fstream *s, float *out, size_t out_cap, size_t *n_frames,
                       asr_status *st)
{
    return finish(s, 0, out, out_cap, n_frames, "asr_fstream_finish", st);
}

int asr_fstream_accept_s16_q(asr_fstream *s, const int16_t *x, size_t n, void *out,
                             size_t out_cap, size_t *n_frames, asr_status *st)
{
    size_t i;
    int rc = begin(s, x, n, 0, 1, out, out_cap, n_frames, "asr_fstream_accept_s16_q", st);
    if (rc != ASR_OK)
        return rc;
    for (i = 0; i < n; i++)
        push_q(s, (int32_t)x[i] * 256);
    *n_frames = s->n_out;
    return ASR_OK;
}

int asr_fstream_accept_f32_q(asr_fstream *s, const float *x, size_t n, void *out,
                             size_t out_cap, size_t *n_frames, asr_status *st)
{
    size_t i;
    int rc = begin(s, x, n, 0, 1, out, out_cap, n_frames, "asr_fstream_accept_f32_q", st);
    if (rc != ASR_OK || (rc = check_finite(x, n, "asr_fstream_accept_f32_q", st)) != ASR_OK)
        return rc;
    /* to Q8 of the int16 scale, 24 bits: floor(2^23 x + 1/2) clamped to
     * [-2^24, 2^24 - 1], twice full scale; exactly 256 k for x = k / 32768,
     * so int16 PCM given as floats gives the frames of the int16 call */
    for (i = 0; i < n; i++) {
        double v = floor((double)x[i] * 8388608.0 + 0.5);
        push_q(s, v < -16777216.0 ? -16777216 : v > 16777215.0 ? 16777215 : (int32_t)v);
    }
    *n_frames = s->n_out;
    return ASR_OK;
}

int asr_fstream_finish_q(asr_fstream *s, void *out, size_t out_cap, size_t *n_frames,
                         asr_status *st)
{
    return finish(s, 1, out, out_cap, n_frames, "asr_fstream_finish_q", st);
}

int asr_fstream_samples(const asr_fstream *s, uint64_t *n_resampled, asr_status *st)
{
    if (!s || !n_resampled)
        return asr_fail(st, ASR_E_ARG, "asr_fstream_samples: null pointer");
    *n_resampled = s->total;
    return ASR_OK;
}

/* ------------------------------------------------------ testing entries */

typedef struct sample_sink {
    float *out;
    size_t n;
} sample_sink;

static void sink_cb(void *ctx, float v)
{
    sample_sink *k = (sample_sink *)ctx;
    k->out[k->n++] = v;
}

int asr_resample_f32(uint32_t src_rate, uint32_t dst_rate, const float *x, size_t n, float *out,
                     size_t out_cap, size_t *n_out, asr_status *st)
{
    resampler r;
    uint64_t need;
    size_t i, k = 0;
    uint32_t j, got;
    float *tmp;
    sample_sink sink;
    if (!n_out)
        return asr_fail(st, ASR_E_ARG, "asr_resample_f32: null count pointer");
    *n_out = 0;
    if (src_rate < 1 || src_rate > ASR_FE_MAX_RATE || dst_rate < 1 || dst_rate > ASR_FE_MAX_RATE)
        return asr_fail(st, ASR_E_ARG, "asr_resample_f32: rates %u -> %u Hz outside 1..%d",
                        src_rate, dst_rate, ASR_FE_MAX_RATE);
    if (n > ASR_FE_MAX_CHUNK || (n && !x))
        return asr_fail(st, ASR_E_ARG, "asr_resample_f32: bad input of %zu samples", n);
    if (resampler_init(&r, src_rate, dst_rate) != 0)
        return asr_fail(st, ASR_E_NOMEM, "asr_resample_f32: out of memory");
    need = resampler_count(&r, n, 1);
    tmp = (float *)malloc(r.up * sizeof(float));
    if (!tmp) {
        resampler_free(&r);
        return asr_fail(st, ASR_E_NOMEM, "asr_resample_f32: out of memory");
    }
    if (need > out_cap || (need && !out)) {
        resampler_free(&r);
        free(tmp);
        *n_out = (size_t)need;
        return asr_fail(st, ASR_E_SHAPE, "asr_resample_f32: %llu outputs, room for %zu",
                        (unsigned long long)need, out_cap);
    }
    for (i = 0; i < n; i++) {
        got = resampler_push(&r, (double)x[i], tmp);
        for (j = 0; j < got; j++)
            out[k++] = tmp[j];
    }
    sink.out = out;
    sink.n = k;
    resampler_flush(&r, sink_cb, &sink);
    k = sink.n;
    *n_out = k;
    resampler_free(&r);
    free(tmp);
    return ASR_OK;
}
