/*
 * files.c - the model, binary LM and binary lexicon loaders of asr_files.h,
 * and the string lists (asr_vocab) they return. Each mirrors its Python
 * reader (asr/model.py + network.py, lm.py, lexicon.py) check for check.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asr_files.h"
#include "common.h"
#include "container.h"
#include "decoder_int.h"

static const char MODEL_MAGIC[8] = {'A', 'S', 'R', 'M', 0, '\r', '\n', 0x1a};
static const char LM_MAGIC[8] = {'A', 'S', 'R', 'L', 0, '\r', '\n', 0x1a};
static const char LEX_MAGIC[8] = {'A', 'S', 'R', 'X', 0, '\r', '\n', 0x1a};
#define MODEL_VERSION 1
#define LM_VERSION 1
#define LEX_VERSION 1

/* ---------------------------------------------------------------- asr_vocab */

struct asr_vocab {
    size_t n;
    char **s;           /* n pointers followed by the text: one block */
    int32_t *slot;      /* open addressing: index + 1, 0 empty        */
    size_t mask;
};

static uint64_t hash_str(const char *s)
{
    /* FNV-1a, then the mixer of common.h so the low bits are well spread. */
    uint64_t h = 1469598103934665603ULL;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return asr_mix64(h);
}

/* Takes ownership of strs (a block as ct_strings makes): frees it on
 * failure. */
static int vocab_adopt(char **strs, size_t n, asr_vocab **out, asr_status *st)
{
    asr_vocab *v;
    size_t cap = 16, i;
    *out = NULL;
    if (n > (size_t)INT32_MAX - 1) {
        free(strs);
        return asr_fail(st, ASR_E_ARG, "a list of %zu strings is too long", n);
    }
    while (cap < 2 * n)
        cap *= 2;
    v = calloc(1, sizeof(*v));
    if (v)
        v->slot = calloc(cap, sizeof(int32_t));
    if (!v || !v->slot) {
        free(v);
        free(strs);
        return asr_fail(st, ASR_E_NOMEM, "out of memory for %zu strings", n);
    }
    v->n = n;
    v->s = strs;
    v->mask = cap - 1;
    /* In order, a repeated string overwriting its slot: the last wins. */
    for (i = 0; i < n; i++) {
        size_t h = (size_t)hash_str(strs[i]) & v->mask;
        while (v->slot[h] && strcmp(strs[v->slot[h] - 1], strs[i]) != 0)
            h = (h + 1) & v->mask;
        v->slot[h] = (int32_t)i + 1;
    }
    *out = v;
    return ASR_OK;
}

int asr_vocab_create(const char *const *strings, size_t n, asr_vocab **out, asr_status *st)
{
    size_t i, total = 0, len;
    char **block, *text;
    if (!out || (!strings && n))
        return asr_fail(st, ASR_E_ARG, "asr_vocab_create: NULL argument");
    *out = NULL;
    if (n > (size_t)INT32_MAX - 1)
        return asr_fail(st, ASR_E_ARG, "asr_vocab_create: %zu strings is too many", n);
    for (i = 0; i < n; i++) {
        if (!strings[i])
            return asr_fail(st, ASR_E_ARG, "asr_vocab_create: string %zu is NULL", i);
        len = strlen(strings[i]) + 1;
        if (total > SIZE_MAX / 2 - len)
            return asr_fail(st, ASR_E_NOMEM, "asr_vocab_create: too much text");
        total += len;
    }
    block = malloc(n * sizeof(char *) + total + 1);
    if (!block)
        return asr_fail(st, ASR_E_NOMEM, "asr_vocab_create: out of memory");
    text = (char *)(block + n);
    for (i = 0; i < n; i++) {
        len = strlen(strings[i]) + 1;
        memcpy(text, strings[i], len);
        block[i] = text;
        text += len;
    }
    return vocab_adopt(block, n, out, st);
}

void asr_vocab_free(asr_vocab *v)
{
    if (!v)
        return;
    free(v->s);
    free(v->slot);
    free(v);
}

size_t asr_vocab_size(const asr_vocab *v)
{
    return v ? v->n : 0;
}

const char *asr_vocab_string(const asr_vocab *v, size_t i)
{
    return v && i < v->n ? v->s[i] : NULL;
}

int32_t asr_vocab_find(const asr_vocab *v, const char *s)
{
    size_t h;
    if (!v || !s)
        return -1;
    h = (size_t)hash_str(s) & v->mask;
    while (v->slot[h]) {
        if (strcmp(v->s[v->slot[h] - 1], s) == 0)
            return v->slot[h] - 1;
        h = (h + 1) & v->mask;
    }
    return -1;
}

/* The first index of s (Python's list.index), or -1. */
static int32_t vocab_first(const asr_vocab *v, const char *s)
{
    size_t i;
    for (i = 0; i < v->n; i++)
        if (strcmp(v->s[i], s) == 0)
            return (int32_t)i;
    return -1;
}

/* A vocabulary from a JSON array of strings (labels of a header). */
static int vocab_from_json(const ct_file *f, const json_value *arr, const char *what,
                           asr_vocab **out, asr_status *st)
{
    const char **ptrs;
    size_t i;
    int rc;
    *out = NULL;
    if (!arr || arr->type != JSON_ARRAY)
        return ct_fail(f, st, "the header's %s are not a list", what);
    for (i = 0; i < arr->n; i++)
        if (arr->items[i].type != JSON_STRING || strlen(arr->items[i].str) != arr->items[i].len)
            return ct_fail(f, st, "%s %zu is not a string", what, i);
    ptrs = malloc((arr->n + 1) * sizeof(char *));
    if (!ptrs)
        return asr_fail(st, ASR_E_NOMEM, "%s: out of memory", f->name);
    for (i = 0; i < arr->n; i++)
        ptrs[i] = arr->items[i].str;
    rc = asr_vocab_create(ptrs, arr->n, out, st);
    free(ptrs);
    return rc;
}

/* Re-labels a failure of a constructor (asr_net_create, asr_lm_create_arpa,
 * asr_lexicon_create) as the file's: its argument errors are the file's
 * format errors; out-of-memory and unsupported kernels stay what they are. */
static int file_error(const ct_file *f, int rc, asr_status *st)
{
    char inner[sizeof(st->message)];
    if (rc == ASR_E_NOMEM || rc == ASR_E_UNSUPPORTED || !st)
        return rc;
    memcpy(inner, st->message, sizeof(inner));
    inner[sizeof(inner) - 1] = '\0';
    return ct_fail(f, st, "%.160s", inner);
}

/* ------------------------------------------------------------------- model */

struct asr_model {
    asr_net *net;
    asr_vocab *labels;
    int32_t blank;
    double frame_shift;
    asr_feature_config feat;
    double *cmn_prior;
    float *log_prior;             /* label log-priors, NULL: the file has none */
};

static int str_is(const json_value *v, const char *s)
{
    const char *x = json_str(v);
    return x && strcmp(x, s) == 0;
}

/* A number field of the feature configuration: absent keeps the default
 * (FeatureConfig.from_dict); present must be a finite number. */
static int feat_num(const ct_file *f, const json_value *fc, const char *key, double *x,
                    asr_status *st)
{
    const json_value *v = json_get(fc, key);
    if (!v)
        return ASR_OK;
    if (v->type != JSON_NUMBER || !isfinite(v->num))
        return ct_fail(f, st, "feature configuration: %s must be a finite number", key);
    *x = v->num;
    return ASR_OK;
}

static int feat_int(const ct_file *f, const json_value *fc, const char *key, uint32_t *x,
                    double lo, asr_status *st)
{
    const json_value *v = json_get(fc, key);
    long long k;
    if (!v)
        return ASR_OK;
    if (!json_int(v, lo, 2147483647.0, &k))
        return ct_fail(f, st, "feature configuration: %s must be an integer >= %g", key, lo);
    *x = (uint32_t)k;
    return ASR_OK;
}

/* Samples of a duration: Python's int(round(s * rate)), ties to even. */
static int samples_of(const ct_file *f, double s, uint32_t rate, const char *what, uint32_t *out,
                      asr_status *st)
{
    double x = nearbyint(s * (double)rate);
    if (!(x >= 1 && x <= 2147483647.0))
        return ct_fail(f, st, "feature configuration: %s of %g samples is impossible", what, x);
    *out = (uint32_t)x;
    return ASR_OK;
}

static int parse_features(const ct_file *f, const json_value *fc, asr_model *m, asr_status *st)
{
    asr_feature_config *c = &m->feat;
    const json_value *w, *prior;
    size_t i;
    int rc;
    /* FeatureConfig's defaults. */
    c->sample_rate = 16000;
    c->win_s = 0.025;
    c->hop_s = 0.01;
    c->nfft = 512;
    c->num_filters = 40;
    c->low_hz = 20.0;
    c->high_hz = 7600.0;
    c->preemph = 0.97;
    c->log_floor = 1e-10;
    strcpy(c->window, "hamming");
    c->cmn_frames = 0;
    c->cmn_prior_frames = 100;
    if (!fc || fc->type != JSON_OBJECT)
        return ct_fail(f, st, "the header has no feature configuration");
    if ((rc = feat_int(f, fc, "sample_rate", &c->sample_rate, 1, st)) ||
        (rc = feat_num(f, fc, "win_s", &c->win_s, st)) ||
        (rc = feat_num(f, fc, "hop_s", &c->hop_s, st)) ||
        (rc = feat_int(f, fc, "nfft", &c->nfft, 1, st)) ||
        (rc = feat_int(f, fc, "num_filters", &c->num_filters, 1, st)) ||
        (rc = feat_num(f, fc, "low_hz", &c->low_hz, st)) ||
        (rc = feat_num(f, fc, "high_hz", &c->high_hz, st)) ||
        (rc = feat_num(f, fc, "preemph", &c->preemph, st)) ||
        (rc = feat_num(f, fc, "log_floor", &c->log_floor, st)) ||
        (rc = feat_int(f, fc, "cmn_frames", &c->cmn_frames, 0, st)) ||
        (rc = feat_int(f, fc, "cmn_prior_frames", &c->cmn_prior_frames, 0, st)))
        return rc;
    w = json_get(fc, "window");
    if (w) {
        if (!json_str(w) || w->len >= sizeof(c->window) || strlen(w->str) != w->len)
            return ct_fail(f, st, "feature configuration: window must be a short name");
        memcpy(c->window, w->str, w->len + 1);
    }
    if ((rc = samples_of(f, c->win_s, c->sample_rate, "win_s", &c->win_len, st)) ||
        (rc = samples_of(f, c->hop_s, c->sample_rate, "hop_s", &c->hop_len, st)))
        return rc;
    prior = json_get(fc, "cmn_prior");
    if (prior) {
        if (prior->type != JSON_ARRAY || prior->n > ASR_MAX_DIM)
            return ct_fail(f, st, "feature configuration: cmn_prior must be a list of numbers");
        m->cmn_prior = malloc((prior->n + 1) * sizeof(double));
        if (!m->cmn_prior)
            return asr_fail(st, ASR_E_NOMEM, "%s: out of memory", f->name);
        for (i = 0; i < prior->n; i++) {
            if (prior->items[i].type != JSON_NUMBER)
                return ct_fail(f, st, "feature configuration: cmn_prior must be a list of numbers");
            m->cmn_prior[i] = prior->items[i].num;
        }
        c->n_cmn_prior = prior->n;
        c->cmn_prior = m->cmn_prior;
    }
    /* FeatureConfig.check */
    if (c->cmn_frames) {
        if (c->n_cmn_prior != c->num_filters)
            return ct_fail(f, st, "feature configuration: cmn_prior needs %u finite values when "
                           "cmn_frames > 0", c->num_filters);
        for (i = 0; i < c->n_cmn_prior; i++)
            if (!isfinite(c->cmn_prior[i]))
                return ct_fail(f, st, "feature configuration: cmn_prior needs %u finite values "
                               "when cmn_frames > 0", c->num_filters);
    }
    return ASR_OK;
}

/* An integer field of a header object within [lo, hi]. */
static int need_int(const ct_file *f, const json_value *o, const char *key, double lo, double hi,
                    const char *where, long long *out, asr_status *st)
{
    if (!json_int(json_get(o, key), lo, hi, out))
        return ct_fail(f, st, "%s: %s is missing or not an integer in %.0f..%.0f", where, key, lo,
                       hi);
    return ASR_OK;
}

/* A tensor named by the string field key of object o, of dtype want and
 * the given 1-D or 2-D shape (cols 0: 1-D). */
static int layer_tensor(const ct_file *f, const json_value *o, const char *key, int want,
                        size_t rows, size_t cols, const char *where, const void **data,
                        asr_status *st)
{
    const char *name = json_str(json_get(o, key));
    ct_tensor t;
    int rc;
    if (!name)
        return ct_fail(f, st, "%s: no %s tensor", where, key);
    if ((rc = ct_tensor_get(f, name, want, &t, st)))
        return rc;
    if (cols ? (t.ndim != 2 || t.shape[0] != rows || t.shape[1] != cols)
             : (t.ndim != 1 || t.shape[0] != rows))
        return ct_fail(f, st, "%s: %s has the wrong shape", where, key);
    *data = t.data;
    return ASR_OK;
}

static int dtype_of(const json_value *v)
{
    return str_is(v, "float") ? ASR_F32 : str_is(v, "int16") ? ASR_S16 : str_is(v, "int8") ? ASR_S8
                                                                                            : -1;
}

/* One layer's description over the mapped arrays (asr/model.py
 * _from_header and _validate_layer; net.c checks the value ranges). */
static int parse_layer(const ct_file *f, const json_value *e, size_t i, uint32_t in_dim, int last,
                       asr_layer_desc *d, asr_status *st)
{
    static const int ct_of[3] = {CT_F32, CT_S16, CT_S8};
    char where[32];
    long long v[5];
    static const char *const dims[5] = {"in_dim", "out_dim", "kernel", "dilation", "stride"};
    static const double lims[5] = {ASR_MAX_DIM, ASR_MAX_DIM, ASR_MAX_KERNEL, ASR_MAX_DIM,
                                   ASR_MAX_STRIDE};
    const json_value *act = json_get(e, "act");
    int k, rc;
    snprintf(where, sizeof(where), "layer %zu", i);
    if (!e || e->type != JSON_OBJECT)
        return ct_fail(f, st, "%s is not an object", where);
    for (k = 0; k < 5; k++)
        if ((rc = need_int(f, e, dims[k], 1, lims[k], where, &v[k], st)))
            return rc;
    d->in_dim = (uint32_t)v[0];
    d->out_dim = (uint32_t)v[1];
    d->kernel = (uint32_t)v[2];
    d->dilation = (uint32_t)v[3];
    d->stride = (uint32_t)v[4];
    if (d->in_dim != in_dim)
        return ct_fail(f, st, "%s: in_dim %u does not match the previous output %u", where,
                       d->in_dim, in_dim);
    if ((uint64_t)d->kernel * d->in_dim > ASR_MAX_K)
        return ct_fail(f, st, "%s: kernel*in_dim exceeds %d", where, ASR_MAX_K);
    d->dtype = dtype_of(json_get(e, "dtype"));
    d->out_dtype = dtype_of(json_get(e, "out_dtype"));
    if (d->dtype < 0 || d->out_dtype < 0)
        return ct_fail(f, st, "%s: unknown dtype", where);
    d->act = str_is(act, "relu") ? ASR_ACT_RELU : str_is(act, "none") ? ASR_ACT_NONE
                                   : str_is(act, "logsoftmax") ? ASR_ACT_LOGSOFTMAX : -1;
    if (d->act < 0)
        return ct_fail(f, st, "%s: unknown activation", where);
    if (last != (d->act == ASR_ACT_LOGSOFTMAX))
        return ct_fail(f, st, "%s: only the last layer is (and must be) log-softmax", where);
    if ((rc = layer_tensor(f, e, "weight", ct_of[d->dtype], d->out_dim,
                           (size_t)d->kernel * d->in_dim, where, &d->weight, st)) ||
        (rc = layer_tensor(f, e, "bias", d->dtype == ASR_F32 ? CT_F32 : CT_S64, d->out_dim, 0,
                           where, &d->bias, st)))
        return rc;
    if (d->dtype != ASR_F32) {
        const void *mult = NULL, *shift = NULL;
        long long z[4];
        static const char *const zk[4] = {"w_zero", "out_zero", "out_lo", "out_hi"};
        if ((rc = layer_tensor(f, e, "mult", CT_S32, d->out_dim, 0, where, &mult, st)) ||
            (rc = layer_tensor(f, e, "shift", CT_S32, d->out_dim, 0, where, &shift, st)))
            return rc;
        d->mult = mult;
        d->shift = shift;
        for (k = 0; k < 4; k++)
            if ((rc = need_int(f, e, zk[k], -2147483648.0, 2147483647.0, where, &z[k], st)))
                return rc;
        d->w_zero = (int32_t)z[0];
        d->out_zero = (int32_t)z[1];
        d->out_lo = (int32_t)z[2];
        d->out_hi = (int32_t)z[3];
    }
    return ASR_OK;
}

/* Model.pad_left / pad_right: the centre tap's left context, and the rest
 * of the receptive field, in input frames; and the total subsampling.
 * While step stays below 2^32, each term is below 2^18 * 2^32 and 64 of
 * them sum below 2^56, so nothing wraps; a larger step is an absurd file. */
static int padding(const ct_file *f, const asr_layer_desc *L, size_t n, uint32_t *left,
                   uint32_t *right, uint32_t *subsampling, asr_status *st)
{
    uint64_t c = 0, rf = 1, step = 1;
    size_t i;
    for (i = 0; i < n; i++) {
        c += (uint64_t)((L[i].kernel - 1) * L[i].dilation / 2) * step;
        rf += (uint64_t)(L[i].kernel - 1) * L[i].dilation * step;
        step *= L[i].stride;
        if (step > UINT32_MAX)
            return ct_fail(f, st, "the layers subsample by more than 2^32");
    }
    if (rf - 1 > UINT32_MAX)
        return ct_fail(f, st, "the receptive field exceeds 2^32 frames");
    *left = (uint32_t)c;
    *right = (uint32_t)(rf - 1 - c);
    *subsampling = (uint32_t)step;
    return ASR_OK;
}

/* The optional "label_log_prior" tensor: one natural-log frequency per
 * label, each in -ASR_MIN_LOG_PRIOR..0 (asr_decoder_set_label_prior). */
static int parse_label_prior(const ct_file *f, const json_value *h, asr_model *m, asr_status *st)
{
    const void *data;
    const float *p;
    size_t n = m->labels->n, c;
    int rc;
    if (!json_get(h, "label_log_prior"))
        return ASR_OK;
    if ((rc = layer_tensor(f, h, "label_log_prior", CT_F32, n, 0, "labels", &data, st)))
        return rc;
    p = (const float *)data;
    if ((c = label_prior_bad(p, n)) < n)
        return ct_fail(f, st, "label %zu: log prior %g is not in -%d..0", c, (double)p[c],
                       ASR_MIN_LOG_PRIOR);
    m->log_prior = malloc(n * sizeof(float));
    if (!m->log_prior)
        return asr_fail(st, ASR_E_NOMEM, "out of memory");
    memcpy(m->log_prior, p, n * sizeof(float));
    return ASR_OK;
}

static int build_model(const ct_file *f, int kernel, asr_model *m, asr_status *st)
{
    const json_value *h = &f->header, *layers, *norm, *iq, *prec;
    asr_layer_desc *L;
    asr_net_desc desc;
    const void *mean = NULL, *inv_std = NULL;
    uint32_t d, subsampling = 1, in_dim, k;
    size_t i;
    int any_int = 0, rc;
    double scale = 0.0;
    long long zero = 0;
    if (!str_is(json_get(h, "format"), "asrm"))
        return ct_fail(f, st, "the header is not an asrm header");
    if ((rc = parse_features(f, json_get(h, "features"), m, st)))
        return rc;
    if ((rc = vocab_from_json(f, json_get(h, "labels"), "labels", &m->labels, st)))
        return rc;
    m->blank = vocab_first(m->labels, "<blk>");
    layers = json_get(h, "layers");
    if (!layers || layers->type != JSON_ARRAY || layers->n < 1 || layers->n > ASR_MAX_LAYERS)
        return ct_fail(f, st, "a model needs 1..%d layers", ASR_MAX_LAYERS);
    prec = json_get(h, "precision");
    if (!str_is(prec, "float") && !str_is(prec, "int16") && !str_is(prec, "int8"))
        return ct_fail(f, st, "unknown precision");
    L = calloc(layers->n, sizeof(*L));
    if (!L)
        return asr_fail(st, ASR_E_NOMEM, "%s: out of memory", f->name);
    in_dim = m->feat.num_filters;
    for (i = 0; i < layers->n; i++) {
        if ((rc = parse_layer(f, &layers->items[i], i, in_dim, i + 1 == layers->n, &L[i], st)))
            goto done;
        in_dim = L[i].out_dim;
        any_int |= L[i].dtype != ASR_F32;
    }
    for (i = 0; i + 1 < layers->n; i++)
        if (L[i].out_dtype != L[i + 1].dtype) {
            rc = ct_fail(f, st, "layer %zu outputs another type than layer %zu takes", i, i + 1);
            goto done;
        }
    if (L[layers->n - 1].out_dtype != ASR_F32) {
        rc = ct_fail(f, st, "the last layer must output float log-probabilities");
        goto done;
    }
    if (in_dim != m->labels->n) {
        rc = ct_fail(f, st, "the last layer has %u outputs for %zu labels", in_dim, m->labels->n);
        goto done;
    }
    iq = json_get(h, "input_quant");
    if (iq) {
        const json_value *s = json_get(iq, "scale");
        if (iq->type != JSON_OBJECT || (s && s->type != JSON_NUMBER)) {
            rc = ct_fail(f, st, "malformed input quantization");
            goto done;
        }
        if (s)
            scale = s->num;
        if (json_get(iq, "zero") &&
            (rc = need_int(f, iq, "zero", -2147483648.0, 2147483647.0, "input_quant", &zero, st)))
            goto done;
    }
    if (any_int) {
        double qmax = L[0].dtype == ASR_S8 ? ASR_S8_WEIGHT_MAX
                      : L[0].dtype == ASR_S16 ? ASR_S16_WEIGHT_MAX : 0;
        if (!(isfinite(scale) && scale > 0)) {
            rc = ct_fail(f, st, "an integer model needs a positive input scale");
            goto done;
        }
        if (!(zero >= -qmax - 1 && zero <= qmax)) {
            rc = ct_fail(f, st, "input zero point %lld out of range", zero);
            goto done;
        }
    }
    d = m->feat.num_filters;
    norm = json_get(h, "normalization");
    if ((rc = layer_tensor(f, norm, "mean", CT_F32, d, 0, "normalization", &mean, st)) ||
        (rc = layer_tensor(f, norm, "inv_std", CT_F32, d, 0, "normalization", &inv_std, st)))
        goto done;
    for (k = 0; k < d; k++)
        if (!isfinite(((const float *)mean)[k]) || !isfinite(((const float *)inv_std)[k])) {
            rc = ct_fail(f, st, "normalization statistics contain NaN or infinity");
            goto done;
        }
    if ((rc = parse_label_prior(f, h, m, st)))
        goto done;
    memset(&desc, 0, sizeof(desc));
    desc.feat_dim = d;
    desc.mean = mean;
    desc.inv_std = inv_std;
    if ((rc = padding(f, L, layers->n, &desc.pad_left, &desc.pad_right, &subsampling, st)))
        goto done;
    desc.in_scale = (float)scale;
    desc.in_zero = (int32_t)zero;
    desc.n_layers = (uint32_t)layers->n;
    desc.layers = L;
    rc = asr_net_create(&desc, kernel, &m->net, st);
    if (rc)
        rc = file_error(f, rc, st);
    else
        m->frame_shift = m->feat.hop_s * subsampling;
done:
    free(L);
    return rc;
}

static int model_finish(ct_file *f, int rc, int kernel, asr_model **out, asr_status *st)
{
    asr_model *m = NULL;
    if (rc == ASR_OK) {
        m = calloc(1, sizeof(*m));
        rc = m ? build_model(f, kernel, m, st) : asr_fail(st, ASR_E_NOMEM, "out of memory");
    }
    ct_close(f);
    if (rc != ASR_OK) {
        asr_model_free(m);
        return rc;
    }
    *out = m;
    return ASR_OK;
}

int asr_model_load(const char *path, int kernel, asr_model **out, asr_status *st)
{
    ct_file f;
    if (!out)
        return asr_fail(st, ASR_E_ARG, "asr_model_load: out is NULL");
    *out = NULL;
    return model_finish(&f, ct_open(&f, path, MODEL_MAGIC, MODEL_VERSION, "model file", st),
                        kernel, out, st);
}

int asr_model_load_memory(const void *data, size_t n, const char *name, int kernel,
                          asr_model **out, asr_status *st)
{
    ct_file f;
    if (!out || (!data && n))
        return asr_fail(st, ASR_E_ARG, "asr_model_load_memory: NULL argument");
    *out = NULL;
    return model_finish(&f, ct_open_memory(&f, data, n, name, MODEL_MAGIC, MODEL_VERSION,
                                           "model file", st), kernel, out, st);
}

void asr_model_free(asr_model *m)
{
    if (!m)
        return;
    asr_net_free(m->net);
    asr_vocab_free(m->labels);
    free(m->cmn_prior);
    free(m->log_prior);
    free(m);
}

const asr_net *asr_model_net(const asr_model *m)
{
    return m ? m->net : NULL;
}

const asr_vocab *asr_model_labels(const asr_model *m)
{
    return m ? m->labels : NULL;
}

const float *asr_model_label_log_prior(const asr_model *m)
{
    return m ? m->log_prior : NULL;
}

int32_t asr_model_blank(const asr_model *m)
{
    return m ? m->blank : -1;
}

double asr_model_frame_shift(const asr_model *m)
{
    return m ? m->frame_shift : 0.0;
}

const asr_feature_config *asr_model_features(const asr_model *m)
{
    return m ? &m->feat : NULL;
}

/* ---------------------------------------------------------- language model */

/* asr/lm.py _lm_from_arrays and NativeLM.from_arpa: the per-order arrays
 * are checked, then concatenated (asr_lm_create_arpa takes them one order
 * after the other) and built into the C model's hash tables. */
static int build_lm(const ct_file *f, asr_lm **lm, asr_vocab **vocab, asr_status *st)
{
    const json_value *h = &f->header;
    long long order;
    ct_tensor ids[ASR_LM_MAX_ORDER], lp[ASR_LM_MAX_ORDER], bo[ASR_LM_MAX_ORDER];
    size_t counts[ASR_LM_MAX_ORDER], n_ids = 0, n_vals = 0, n_words, i, j;
    int32_t *all_ids = NULL;
    float *all_lp = NULL, *all_bo = NULL;
    char **strs;
    const char *vname;
    int rc;
    int32_t bos, eos;
    if (!str_is(json_get(h, "format"), "asrlm"))
        return ct_fail(f, st, "not a binary LM header");
    if (!json_int(json_get(h, "order"), 1, ASR_LM_MAX_ORDER, &order))
        return ct_fail(f, st, "the order is not in 1..%d", ASR_LM_MAX_ORDER);
    vname = json_str(json_get(h, "vocab"));
    if (!vname)
        return ct_fail(f, st, "the header names no vocabulary");
    if ((rc = ct_strings(f, vname, &strs, &n_words, st)))
        return rc;
    if ((rc = vocab_adopt(strs, n_words, vocab, st)))
        return rc;
    for (i = 0; i < (size_t)order; i++) {
        char name[32];
        snprintf(name, sizeof(name), "ids.%zu", i + 1);
        if ((rc = ct_tensor_get(f, name, CT_S32, &ids[i], st)))
            return rc;
        snprintf(name, sizeof(name), "logp10.%zu", i + 1);
        if ((rc = ct_tensor_get(f, name, CT_F32, &lp[i], st)))
            return rc;
        snprintf(name, sizeof(name), "bow10.%zu", i + 1);
        if ((rc = ct_tensor_get(f, name, CT_F32, &bo[i], st)))
            return rc;
        if (ids[i].ndim != 2 || ids[i].shape[1] != i + 1 || lp[i].ndim != 1 || bo[i].ndim != 1 ||
            lp[i].shape[0] != ids[i].shape[0] || bo[i].shape[0] != ids[i].shape[0])
            return ct_fail(f, st, "the %zu-gram arrays disagree in shape", i + 1);
        for (j = 0; j < ids[i].count; j++) {
            int32_t w = ((const int32_t *)ids[i].data)[j];
            if (w < 0 || (size_t)w >= n_words)
                return ct_fail(f, st, "a %zu-gram names a word outside the vocabulary", i + 1);
        }
        counts[i] = ids[i].shape[0];
        /* Each array lies inside the file, so these sums cannot overflow. */
        n_ids += ids[i].count;
        n_vals += counts[i];
    }
    bos = asr_vocab_find(*vocab, "<s>");
    eos = asr_vocab_find(*vocab, "</s>");
    if (bos < 0 || eos < 0)
        return ct_fail(f, st, "the unigrams lack %s", bos < 0 ? "<s>" : "</s>");
    all_ids = malloc((n_ids + 1) * sizeof(int32_t));
    all_lp = malloc((n_vals + 1) * sizeof(float));
    all_bo = malloc((n_vals + 1) * sizeof(float));
    if (!all_ids || !all_lp || !all_bo) {
        rc = asr_fail(st, ASR_E_NOMEM, "%s: out of memory", f->name);
        goto done;
    }
    for (i = 0, n_ids = 0, n_vals = 0; i < (size_t)order; i++) {
        memcpy(all_ids + n_ids, ids[i].data, ids[i].count * sizeof(int32_t));
        memcpy(all_lp + n_vals, lp[i].data, counts[i] * sizeof(float));
        memcpy(all_bo + n_vals, bo[i].data, counts[i] * sizeof(float));
        n_ids += ids[i].count;
        n_vals += counts[i];
    }
    rc = asr_lm_create_arpa((size_t)order, counts, all_ids, all_lp, all_bo, n_words, bos, eos,
                            asr_vocab_find(*vocab, "<unk>"), lm, st);
    if (rc)
        rc = file_error(f, rc, st);
done:
    free(all_ids);
    free(all_lp);
    free(all_bo);
    return rc;
}

static int lm_finish(ct_file *f, int rc, asr_lm **lm, asr_vocab **vocab, asr_status *st)
{
    if (rc == ASR_OK)
        rc = build_lm(f, lm, vocab, st);
    ct_close(f);
    if (rc != ASR_OK) {
        asr_lm_free(*lm);
        asr_vocab_free(*vocab);
        *lm = NULL;
        *vocab = NULL;
    }
    return rc;
}

int asr_lm_load(const char *path, asr_lm **lm, asr_vocab **vocab, asr_status *st)
{
    ct_file f;
    if (!lm || !vocab)
        return asr_fail(st, ASR_E_ARG, "asr_lm_load: NULL argument");
    *lm = NULL;
    *vocab = NULL;
    return lm_finish(&f, ct_open(&f, path, LM_MAGIC, LM_VERSION, "binary LM file", st), lm, vocab,
                     st);
}

int asr_lm_load_memory(const void *data, size_t n, const char *name, asr_lm **lm,
                       asr_vocab **vocab, asr_status *st)
{
    ct_file f;
    if (!lm || !vocab || (!data && n))
        return asr_fail(st, ASR_E_ARG, "asr_lm_load_memory: NULL argument");
    *lm = NULL;
    *vocab = NULL;
    return lm_finish(&f, ct_open_memory(&f, data, n, name, LM_MAGIC, LM_VERSION, "binary LM file",
                                        st), lm, vocab, st);
}

/* ----------------------------------------------------------------- lexicon */

typedef struct lex_arrays {
    const int32_t *pron_word;
    const int32_t *start;
    const int32_t *phones;
    size_t n_prons, n_phones;
} lex_arrays;

/* asr/lexicon.py _lexicon_from_arrays: the arrays and their consistency. */
static int lex_check(const ct_file *f, const asr_vocab *file_labels, const asr_vocab *words,
                     lex_arrays *a, asr_status *st)
{
    const json_value *h = &f->header;
    const char *names[3];
    ct_tensor t[3];
    int32_t blank = vocab_first(file_labels, "<blk>");
    size_t i;
    int rc;
    names[0] = json_str(json_get(h, "pron_word"));
    names[1] = json_str(json_get(h, "pron_start"));
    names[2] = json_str(json_get(h, "phones"));
    for (i = 0; i < 3; i++) {
        if (!names[i])
            return ct_fail(f, st, "the header does not name the lexicon arrays");
        if ((rc = ct_tensor_get(f, names[i], CT_S32, &t[i], st)))
            return rc;
    }
    for (i = 0; i < words->n; i++)
        if (!words->s[i][0] || asr_vocab_find(words, words->s[i]) != (int32_t)i)
            return ct_fail(f, st, "the words are not distinct and non-empty");
    a->pron_word = t[0].data;
    a->start = t[1].data;
    a->phones = t[2].data;
    a->n_prons = t[0].shape[0];
    a->n_phones = t[2].shape[0];
    if (t[0].ndim != 1 || t[1].ndim != 1 || t[1].shape[0] != a->n_prons + 1 || t[2].ndim != 1 ||
        a->start[0] != 0 || (size_t)a->start[a->n_prons] != a->n_phones)
        return ct_fail(f, st, "the pronunciation offsets are inconsistent");
    for (i = 0; i < a->n_prons; i++)
        if (a->start[i + 1] <= a->start[i])
            return ct_fail(f, st, "the pronunciation offsets are inconsistent");
    for (i = 0; i < a->n_prons; i++)
        if (a->pron_word[i] < 0 || (size_t)a->pron_word[i] >= words->n)
            return ct_fail(f, st, "a pronunciation names a word outside the word list");
    for (i = 0; i < a->n_phones; i++)
        if (a->phones[i] < 0 || (size_t)a->phones[i] >= file_labels->n || a->phones[i] == blank)
            return ct_fail(f, st, "a phone is not a label (or is the blank)");
    if (!a->n_prons)
        return ct_fail(f, st, "the lexicon holds no words");
    return ASR_OK;
}

static int same_labels(const asr_vocab *a, const asr_vocab *b)
{
    size_t i;
    if (a->n != b->n)
        return 0;
    for (i = 0; i < a->n; i++)
        if (strcmp(a->s[i], b->s[i]) != 0)
            return 0;
    return 1;
}

/* Every word of keep is in kept, or an error lists (up to 20 of) those
 * missing, as Lexicon.restricted does. */
static int check_kept(const asr_vocab *keep, const asr_vocab *kept, asr_status *st)
{
    char msg[200];
    size_t i, len = 0, missing = 0;
    msg[0] = '\0';
    for (i = 0; i < keep->n; i++) {
        int k;
        if (asr_vocab_find(kept, keep->s[i]) >= 0)
            continue;
        if (missing++ >= 20 || len >= sizeof(msg))
            continue;
        k = snprintf(msg + len, sizeof(msg) - len, "%s%s", missing > 1 ? ", " : "", keep->s[i]);
        len += k > 0 ? (size_t)k : 0;
    }
    if (!missing)
        return ASR_OK;
    return asr_fail(st, ASR_E_ARG, "not in the lexicon (out-of-vocabulary words are unsupported): %s",
                    msg);
}

/* The lexicon's pronunciations for the model's labels, and with keep only
 * those of the words in keep (Lexicon.from_prons, Lexicon.restricted):
 * phone names looked up among the model's non-blank labels (the last of a
 * repeated name), words renumbered in first-pronounced order, the kept
 * pronunciations written to word/start/phones (room for all of a's) and
 * counted in *n_prons. *words is replaced by the new word list. A word of
 * keep that the lexicon does not pronounce is an error naming it. */
static int select_prons(const ct_file *f, const asr_vocab *file_labels, const asr_vocab *labels,
                        const asr_vocab *keep, const lex_arrays *a, int32_t *word, int32_t *start,
                        int32_t *phones, size_t *n_prons, asr_vocab **words, asr_status *st)
{
    int32_t *map = malloc((file_labels->n + 1) * sizeof(int32_t));
    int32_t *new_id = malloc(((*words)->n + 1) * sizeof(int32_t));
    const char **kept = malloc(((*words)->n + 1) * sizeof(char *));
    asr_vocab *nw = NULL;
    size_t i, j, n_kept = 0, n_phones = 0;
    int rc = ASR_OK;
    if (!map || !new_id || !kept) {
        rc = asr_fail(st, ASR_E_NOMEM, "%s: out of memory", f->name);
        goto done;
    }
    for (i = 0; i < file_labels->n; i++) {
        map[i] = -1;
        for (j = labels->n; j-- > 0;)
            if (strcmp(labels->s[j], "<blk>") != 0 && strcmp(labels->s[j], file_labels->s[i]) == 0) {
                map[i] = (int32_t)j;
                break;
            }
    }
    for (i = 0; i < (*words)->n; i++)
        new_id[i] = -1;
    *n_prons = 0;
    start[0] = 0;
    for (i = 0; i < a->n_prons; i++) {
        int32_t w = a->pron_word[i];
        if (keep && asr_vocab_find(keep, (*words)->s[w]) < 0)
            continue;
        for (j = (size_t)a->start[i]; j < (size_t)a->start[i + 1]; j++) {
            phones[n_phones] = map[a->phones[j]];
            if (phones[n_phones++] < 0) {
                rc = ct_fail(f, st, "phone %.40s of %.60s is not a model label",
                             file_labels->s[a->phones[j]], (*words)->s[w]);
                goto done;
            }
        }
        if (new_id[w] < 0) {
            new_id[w] = (int32_t)n_kept;
            kept[n_kept++] = (*words)->s[w];
        }
        word[*n_prons] = new_id[w];
        start[++*n_prons] = (int32_t)n_phones;
    }
    if ((rc = asr_vocab_create(kept, n_kept, &nw, st)))
        goto done;
    if (keep && (rc = check_kept(keep, nw, st)))
        goto done;
    asr_vocab_free(*words);
    *words = nw;
    nw = NULL;
done:
    asr_vocab_free(nw);
    free(map);
    free(new_id);
    free(kept);
    return rc;
}

static int build_lexicon(const ct_file *f, const asr_vocab *labels, const asr_vocab *keep,
                         asr_lexicon **lex, asr_vocab **words, asr_status *st)
{
    asr_vocab *file_labels = NULL;
    lex_arrays a = {NULL, NULL, NULL, 0, 0};
    const char *wname;
    char **strs;
    size_t n_words;
    int32_t *word = NULL, *start = NULL, *phones = NULL;
    size_t n_prons = 0;
    int rc;
    if (!str_is(json_get(&f->header, "format"), "asrlex"))
        return ct_fail(f, st, "not a binary lexicon header");
    if ((rc = vocab_from_json(f, json_get(&f->header, "labels"), "labels", &file_labels, st)))
        return rc;
    wname = json_str(json_get(&f->header, "words"));
    if (!wname) {
        rc = ct_fail(f, st, "the header names no word list");
        goto done;
    }
    if ((rc = ct_strings(f, wname, &strs, &n_words, st)) ||
        (rc = vocab_adopt(strs, n_words, words, st)) ||
        (rc = lex_check(f, file_labels, *words, &a, st)))
        goto done;
    if (!keep && same_labels(file_labels, labels)) {
        rc = asr_lexicon_create(labels->n, vocab_first(labels, "<blk>"), (*words)->n, a.n_prons,
                                a.pron_word, (const uint32_t *)a.start, a.phones, lex, st);
    } else {
        word = malloc((a.n_prons + 1) * sizeof(int32_t));
        start = malloc((a.n_prons + 1) * sizeof(int32_t));
        phones = malloc((a.n_phones + 1) * sizeof(int32_t));
        if (!word || !start || !phones) {
            rc = asr_fail(st, ASR_E_NOMEM, "%s: out of memory", f->name);
            goto done;
        }
        if ((rc = select_prons(f, file_labels, labels, keep, &a, word, start, phones, &n_prons,
                               words, st)))
            goto done;
        rc = asr_lexicon_create(labels->n, vocab_first(labels, "<blk>"), (*words)->n, n_prons,
                                word, (const uint32_t *)start, phones, lex, st);
    }
    if (rc)
        rc = file_error(f, rc, st);
done:
    free(word);
    free(start);
    free(phones);
    asr_vocab_free(file_labels);
    return rc;
}

static int lex_finish(ct_file *f, int rc, const asr_vocab *labels, const asr_vocab *keep,
                      asr_lexicon **lex, asr_vocab **words, asr_status *st)
{
    if (rc == ASR_OK)
        rc = build_lexicon(f, labels, keep, lex, words, st);
    ct_close(f);
    if (rc != ASR_OK) {
        asr_lexicon_free(*lex);
        asr_vocab_free(*words);
        *lex = NULL;
        *words = NULL;
    }
    return rc;
}

int asr_lexicon_load(const char *path, const asr_vocab *labels, asr_lexicon **lex,
                     asr_vocab **words, asr_status *st)
{
    ct_file f;
    if (!labels || !lex || !words)
        return asr_fail(st, ASR_E_ARG, "asr_lexicon_load: NULL argument");
    *lex = NULL;
    *words = NULL;
    return lex_finish(&f, ct_open(&f, path, LEX_MAGIC, LEX_VERSION, "binary lexicon", st), labels,
                      NULL, lex, words, st);
}

int asr_lexicon_load_words(const char *path, const asr_vocab *labels, const asr_vocab *keep,
                           asr_lexicon **lex, asr_vocab **words, asr_status *st)
{
    ct_file f;
    if (!labels || !keep || !lex || !words)
        return asr_fail(st, ASR_E_ARG, "asr_lexicon_load_words: NULL argument");
    *lex = NULL;
    *words = NULL;
    return lex_finish(&f, ct_open(&f, path, LEX_MAGIC, LEX_VERSION, "binary lexicon", st), labels,
                      keep, lex, words, st);
}

int asr_lexicon_load_memory(const void *data, size_t n, const char *name,
                            const asr_vocab *labels, asr_lexicon **lex, asr_vocab **words,
                            asr_status *st)
{
    ct_file f;
    if (!labels || !lex || !words || (!data && n))
        return asr_fail(st, ASR_E_ARG, "asr_lexicon_load_memory: NULL argument");
    *lex = NULL;
    *words = NULL;
    return lex_finish(&f, ct_open_memory(&f, data, n, name, LEX_MAGIC, LEX_VERSION,
                                         "binary lexicon", st), labels, NULL, lex, words, st);
}

/* ----------------------------------------------------------------- decoder */

void asr_decoder_opts_default(asr_decoder_opts *opts)
{
    if (!opts)
        return;
    /* The defaults of C and Python (asr.decoder.DEFAULTS reads them here),
     * chosen on the validation parts of the recorded training sets with
     * tools/tune_decoder.py (README "Beam width"). Prior weight 0.6 with
     * word bonus -0.5 (the prior correction favours phones over the blank,
     * which the bonus of 1.5 used before it had done per word): int8 WER
     * 53.43 % against 58.98 % without the correction. Beam 192: the smallest
     * within 0.2 WER points of the widest tried (256), 5.5 points better
     * than 48 for 3.7x the search time. LM weight 1.0. A model file without
     * label priors gets no correction, and decodes better with word bonus
     * 1.5 (asr_decoder_set_label_prior). */
    opts->beam = 192;
    opts->beam_delta = 25.0f;
    opts->prune = 8.0f;
    opts->lm_weight = 1.0f;
    opts->word_bonus = -0.5f;
    opts->prior_weight = 0.6f;
}

int asr_decoder_create_words(const asr_vocab *labels, const asr_lexicon *lex,
                             const asr_vocab *words, const asr_lm *lm, const asr_vocab *lm_vocab,
                             const asr_decoder_opts *opts, asr_decoder **out, asr_status *st)
{
    asr_decoder_opts def;
    int32_t blank, *word_lm = NULL;
    size_t i;
    int rc;
    if (!labels || !lex || !words || !out || (!lm) != (!lm_vocab))
        return asr_fail(st, ASR_E_ARG, "asr_decoder_create_words: NULL argument (lm and lm_vocab "
                        "go together)");
    blank = vocab_first(labels, "<blk>");
    if (blank < 0)
        return asr_fail(st, ASR_E_ARG, "the model's labels need a <blk> (CTC blank)");
    if (!opts) {
        asr_decoder_opts_default(&def);
        opts = &def;
    }
    if (lm) {
        word_lm = malloc((words->n + 1) * sizeof(int32_t));
        if (!word_lm)
            return asr_fail(st, ASR_E_NOMEM, "out of memory mapping %zu words", words->n);
        for (i = 0; i < words->n; i++)
            word_lm[i] = asr_vocab_find(lm_vocab, words->s[i]);
    }
    rc = asr_decoder_create(labels->n, blank, lex, lm, word_lm, words->n, opts, out, st);
    free(word_lm);
    return rc;
}
