/*
 * net.c - the whole-network forward: normalization, input quantization,
 * padding, the time-delay layers, and the output log-softmax, run
 * incrementally on a stream of feature frames.
 *
 * One code path serves whole utterances and streaming: a whole utterance is
 * a stream fed once and finished. Every layer keeps a buffer of the input
 * frames it still needs; whenever a layer's buffer holds the span of one or
 * more output frames they are computed, in blocks of up to ASR_BLOCK frames,
 * as one matrix product on the packed weights, then the epilogue (bias,
 * requantization or float activation) writes them into the next layer's
 * buffer. Input is consumed in pieces of at most ASR_PIECE frames so buffers
 * stay bounded however long the stream runs. Because integer products are
 * exact and each float output's summation order is fixed by its row length
 * (kernels.h), any split of the input gives bit-identical outputs.
 *
 * Accumulators: int32 for int8 layers and int64 for int16 layers, neither
 * of which can overflow for K = kernel*in_dim <= ASR_MAX_K; the bounds are
 * in native/QUANTIZATION.md (sections 3 and 4).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "asr.h"
#include "kernels.h"
#include "quant.h"

#define ASR_BLOCK 32   /* output frames per matrix product */
#define ASR_PIECE 64   /* input frames pushed per round    */

/* floor(p / 2^n) for int64 p: >> on a negative value is implementation-
 * defined in C99; GCC, Clang and MSVC all shift arithmetically, which is
 * the floor, and the build is checked for it once (prepare_fast). */
#define ASR_SRA64(p, n) ((p) >> (n))

typedef struct net_layer {
    int dtype, out_dtype, act;
    uint32_t in_dim, out_dim, kernel, dilation, stride;
    size_t k;                 /* kernel * in_dim */
    size_t span;              /* (kernel-1)*dilation + 1 input frames */
    asr_packed w;
    float *bias_f;            /* float layers */
    int64_t *bias_q;          /* integer layers, accumulator units */
    int32_t *mult, *shift;
    int32_t w_zero, out_zero, out_lo, out_hi;
    /* int8 layers whose accumulator + bias provably stays inside int32 and
     * whose shifts are in 1..62 take a branch-free epilogue (fast_epilogue):
     * bias32 = bias, rnd = 2^(total-1), tot = 31 + shift. */
    int fast;
    int32_t *bias32, *tot;
    int64_t *rnd;
} net_layer;

struct asr_net {
    const asr_kernels *kern;
    int kernel;             /* the asr_kernel of kern */
    uint32_t feat_dim, pad_left, pad_right, n_layers, n_out, subsampling;
    float *mean, *inv_std;
    double in_scale;
    int32_t in_zero;
    net_layer *layers;
    size_t scratch_bytes;     /* largest im2col / accumulator block */
};

/* The input frames of one layer not yet consumed: frames [base, base+count)
 * of that layer's input sequence, stored contiguously. */
typedef struct layer_buf {
    unsigned char *data;
    size_t elem;              /* bytes per element */
    size_t dim;               /* elements per frame */
    size_t cap;               /* capacity in frames */
    size_t base, count;
    size_t produced;          /* output frames this layer has computed */
} layer_buf;

struct asr_stream {
    const asr_net *net;
    layer_buf *bufs;          /* one per layer */
    uint32_t n_bufs;          /* so freeing never reads net, which may be gone */
    void *col;                /* im2col scratch */
    void *acc;                /* accumulator scratch */
    int32_t *logits;          /* Q10 logits of one frame */
    int16_t *lsm;             /* Q10 log-probs of one frame */
    size_t fed;               /* network-input frames pushed, padding included */
    int started, finished;
};

/* Output frames of a layer whose input has n frames in total. */
static size_t layer_outputs(size_t n, size_t span, size_t stride)
{
    return n < span ? 0 : (n - span) / stride + 1;
}

/* Output frames of the whole network for n network-input frames. */
static size_t net_outputs(const asr_net *net, size_t n)
{
    uint32_t i;
    for (i = 0; i < net->n_layers; i++)
        n = layer_outputs(n, net->layers[i].span, net->layers[i].stride);
    return n;
}

static void free_layer(net_layer *L)
{
    asr_packed_free(&L->w);
    free(L->bias_f);
    free(L->bias_q);
    free(L->mult);
    free(L->shift);
    free(L->bias32);
    free(L->tot);
    free(L->rnd);
}

void asr_net_free(asr_net *net)
{
    uint32_t i;
    if (!net)
        return;
    if (net->layers)
        for (i = 0; i < net->n_layers; i++)
            free_layer(&net->layers[i]);
    free(net->layers);
    free(net->mean);
    free(net->inv_std);
    free(net);
}

static int check_layer(const asr_layer_desc *d, uint32_t i, uint32_t n_layers, uint32_t in_dim,
                       int in_dtype, asr_status *st)
{
    int last = i + 1 == n_layers;
    uint64_t k;

    if (!asr_valid_dtype(d->dtype) || !asr_valid_dtype(d->out_dtype))
        return asr_fail(st, ASR_E_ARG, "layer %u: unknown dtype %d/%d", i, d->dtype, d->out_dtype);
    if (d->act != ASR_ACT_NONE && d->act != ASR_ACT_RELU && d->act != ASR_ACT_LOGSOFTMAX)
        return asr_fail(st, ASR_E_ARG, "layer %u: unknown activation %d", i, d->act);
    if (last != (d->act == ASR_ACT_LOGSOFTMAX))
        return asr_fail(st, ASR_E_ARG, "layer %u: log-softmax must be the last layer's and only its", i);
    if (d->in_dim == 0 || d->in_dim > ASR_MAX_DIM || d->out_dim == 0 || d->out_dim > ASR_MAX_DIM)
        return asr_fail(st, ASR_E_SHAPE, "layer %u: dims %u->%u outside 1..%d", i, d->in_dim,
                        d->out_dim, ASR_MAX_DIM);
    if (d->kernel == 0 || d->kernel > ASR_MAX_KERNEL || d->stride == 0 || d->stride > ASR_MAX_STRIDE
        || d->dilation == 0 || d->dilation > ASR_MAX_DIM)
        return asr_fail(st, ASR_E_SHAPE, "layer %u: kernel %u / dilation %u / stride %u out of range",
                        i, d->kernel, d->dilation, d->stride);
    k = (uint64_t)d->kernel * d->in_dim;
    if (k > ASR_MAX_K)
        return asr_fail(st, ASR_E_SHAPE, "layer %u: kernel*in_dim = %llu exceeds %d", i,
                        (unsigned long long)k, ASR_MAX_K);
    if (d->in_dim != in_dim)
        return asr_fail(st, ASR_E_SHAPE, "layer %u: in_dim %u but the previous output has %u", i,
                        d->in_dim, in_dim);
    if (d->dtype != in_dtype)
        return asr_fail(st, ASR_E_ARG, "layer %u: dtype %d but its input is of dtype %d", i,
                        d->dtype, in_dtype);
    if (last && d->out_dtype != ASR_F32)
        return asr_fail(st, ASR_E_ARG, "layer %u: the last layer outputs float log-probabilities", i);
    if (d->dtype == ASR_F32 && d->out_dtype != ASR_F32)
        return asr_fail(st, ASR_E_ARG, "layer %u: float layers feed float layers only", i);
    if (d->dtype != ASR_F32 && !last && d->out_dtype == ASR_F32)
        return asr_fail(st, ASR_E_ARG, "layer %u: integer layers feed integer layers", i);
    if (!d->weight || !d->bias)
        return asr_fail(st, ASR_E_ARG, "layer %u: null weight or bias", i);
    if (d->dtype != ASR_F32) {
        int32_t qmax = d->out_dtype == ASR_S8 ? 127 : 32767;
        int32_t wmax = d->dtype == ASR_S8 ? 127 : 32767;
        uint32_t o;
        if (!d->mult || !d->shift)
            return asr_fail(st, ASR_E_ARG, "layer %u: null multiplier or shift", i);
        for (o = 0; o < d->out_dim; o++)
            if (d->mult[o] < 0 || d->shift[o] < -31 || d->shift[o] > 32)
                return asr_fail(st, ASR_E_ARG, "layer %u output %u: multiplier %d / shift %d out of range",
                                i, o, (int)d->mult[o], (int)d->shift[o]);
        if (d->w_zero < -wmax || d->w_zero > wmax)
            return asr_fail(st, ASR_E_ARG, "layer %u: weight zero point %d out of range", i,
                            (int)d->w_zero);
        if (!last && (d->out_lo < -qmax - 1 || d->out_hi > qmax || d->out_lo > d->out_hi
                      || d->out_zero < -qmax - 1 || d->out_zero > qmax))
            return asr_fail(st, ASR_E_ARG, "layer %u: output range [%d, %d] / zero %d does not fit "
                            "its type", i, (int)d->out_lo, (int)d->out_hi, (int)d->out_zero);
    }
    return ASR_OK;
}

static int copy_array(void **dst, const void *src, size_t bytes, asr_status *st)
{
    *dst = malloc(bytes);
    if (!*dst)
        return asr_fail(st, ASR_E_NOMEM, "out of memory copying %zu bytes", bytes);
    memcpy(*dst, src, bytes);
    return ASR_OK;
}

/* Float weights and biases must be finite. (Integer weights are scanned
 * once, by asr_pack, for the values QUANTIZATION.md section 1 excludes.) */
static int check_weights(const asr_layer_desc *d, uint32_t i, asr_status *st)
{
    size_t n = (size_t)d->out_dim * d->kernel * d->in_dim, j;
    const float *w = (const float *)d->weight;
    const float *b = (const float *)d->bias;
    if (d->dtype != ASR_F32)
        return ASR_OK;
    for (j = 0; j < n; j++)
        if (!isfinite(w[j]))
            return asr_fail(st, ASR_E_ARG, "layer %u: non-finite weight at %zu", i, j);
    for (j = 0; j < d->out_dim; j++)
        if (!isfinite(b[j]))
            return asr_fail(st, ASR_E_ARG, "layer %u: non-finite bias at %zu", i, j);
    return ASR_OK;
}

/* Decides whether layer L can use the int32 epilogue and fills its tables:
 * when |acc| <= k * 128 * 127 plus the largest |bias| is below 2^31, one
 * 64-bit multiply gives the exact value of asr_requant_one without its
 * 96-bit path (the proof: native/QUANTIZATION.md section 5). */
static int prepare_fast(net_layer *L, asr_status *st)
{
    uint64_t bound = (uint64_t)L->k * 128u * 127u, bmax = 0;
    uint32_t o;
    L->fast = 0;
    if (L->dtype != ASR_S8 || L->w_zero != 0 || ASR_SRA64((int64_t)-5, 1) != -3)
        return ASR_OK;        /* the last test: a compiler whose >> is not the floor */
    for (o = 0; o < L->out_dim; o++) {
        uint64_t b = L->bias_q[o] < 0 ? (uint64_t)0 - (uint64_t)L->bias_q[o] : (uint64_t)L->bias_q[o];
        if (b > bmax)
            bmax = b;
        if (L->shift[o] < -30 || L->shift[o] > 31)
            return ASR_OK;
    }
    if (bmax >= ((uint64_t)1 << 31) || bound + bmax >= ((uint64_t)1 << 31))
        return ASR_OK;
    L->bias32 = (int32_t *)malloc(L->out_dim * sizeof(int32_t));
    L->tot = (int32_t *)malloc(L->out_dim * sizeof(int32_t));
    L->rnd = (int64_t *)malloc(L->out_dim * sizeof(int64_t));
    if (!L->bias32 || !L->tot || !L->rnd)
        return asr_fail(st, ASR_E_NOMEM, "asr_net_create: out of memory");
    for (o = 0; o < L->out_dim; o++) {
        L->bias32[o] = (int32_t)L->bias_q[o];
        L->tot[o] = 31 + L->shift[o];
        L->rnd[o] = (int64_t)1 << (L->tot[o] - 1);
    }
    L->fast = 1;
    return ASR_OK;
}

/* Validates the whole description before anything is allocated; *n_out
 * and *sub get the output width and the total subsampling. */
static int check_desc(const asr_net_desc *desc, uint32_t *n_out, size_t *sub, asr_status *st)
{
    uint32_t i, dim;
    int in_dtype, rc;

    if (!desc || !desc->mean || !desc->inv_std || !desc->layers)
        return asr_fail(st, ASR_E_ARG, "asr_net_create: null description, statistics or layers");
    if (desc->feat_dim == 0 || desc->feat_dim > ASR_MAX_DIM)
        return asr_fail(st, ASR_E_SHAPE, "asr_net_create: feat_dim %u outside 1..%d", desc->feat_dim, ASR_MAX_DIM);
    if (desc->n_layers == 0 || desc->n_layers > ASR_MAX_LAYERS)
        return asr_fail(st, ASR_E_SHAPE, "asr_net_create: %u layers, outside 1..%d", desc->n_layers, ASR_MAX_LAYERS);
    if (desc->pad_left > 65536 || desc->pad_right > 65536)
        return asr_fail(st, ASR_E_SHAPE, "asr_net_create: padding %u/%u too large", desc->pad_left, desc->pad_right);
    for (i = 0; i < desc->feat_dim; i++)
        if (!isfinite(desc->mean[i]) || !isfinite(desc->inv_std[i]))
            return asr_fail(st, ASR_E_ARG, "asr_net_create: non-finite normalization statistic %u", i);
    in_dtype = desc->layers[0].dtype;
    if (in_dtype != ASR_F32 && !(desc->in_scale > 0 && isfinite(desc->in_scale)))
        return asr_fail(st, ASR_E_ARG, "asr_net_create: an integer network needs a positive in_scale");
    if (in_dtype != ASR_F32 && (desc->in_zero < -32768 || desc->in_zero > 32767))
        return asr_fail(st, ASR_E_ARG, "asr_net_create: in_zero %d out of range", (int)desc->in_zero);
    dim = desc->feat_dim;
    *sub = 1;
    for (i = 0; i < desc->n_layers; i++) {
        const asr_layer_desc *d = &desc->layers[i];
        if ((rc = check_layer(d, i, desc->n_layers, dim, in_dtype, st)) != ASR_OK)
            return rc;
        if ((rc = check_weights(d, i, st)) != ASR_OK)
            return rc;
        dim = d->out_dim;
        in_dtype = d->out_dtype;
        *sub *= d->stride;
        if (*sub > 4096)
            return asr_fail(st, ASR_E_SHAPE, "asr_net_create: total subsampling above 4096");
    }
    *n_out = dim;
    return ASR_OK;
}

/* Prefixes the message in st with the layer it is about. */
static int in_layer(asr_status *st, int rc, uint32_t i)
{
    char msg[sizeof(st->message)];
    if (!st)
        return rc;
    memcpy(msg, st->message, sizeof(msg));
    msg[sizeof(msg) - 1] = '\0';
    return asr_fail(st, rc, "layer %u: %s", i, msg);
}

/* Copies layer d into L: its shape, its weights packed for kernel, its
 * bias and requantization tables, and the fast epilogue when it applies. */
static int init_layer(net_layer *L, const asr_layer_desc *d, uint32_t i, int kernel, asr_status *st)
{
    int rc;
    L->dtype = d->dtype;
    L->out_dtype = d->out_dtype;
    L->act = d->act;
    L->in_dim = d->in_dim;
    L->out_dim = d->out_dim;
    L->kernel = d->kernel;
    L->dilation = d->dilation;
    L->stride = d->stride;
    L->k = (size_t)d->kernel * d->in_dim;
    L->span = (size_t)(d->kernel - 1) * d->dilation + 1;
    L->w_zero = d->w_zero;
    L->out_zero = d->out_zero;
    L->out_lo = d->out_lo;
    L->out_hi = d->out_hi;
    if ((rc = asr_pack(&L->w, kernel, d->dtype, d->weight, d->out_dim, L->k, L->k, st)) != ASR_OK)
        return in_layer(st, rc, i);
    if (d->dtype == ASR_F32)
        return copy_array((void **)&L->bias_f, d->bias, d->out_dim * sizeof(float), st);
    rc = copy_array((void **)&L->bias_q, d->bias, d->out_dim * sizeof(int64_t), st);
    if (rc == ASR_OK)
        rc = copy_array((void **)&L->mult, d->mult, d->out_dim * sizeof(int32_t), st);
    if (rc == ASR_OK)
        rc = copy_array((void **)&L->shift, d->shift, d->out_dim * sizeof(int32_t), st);
    if (rc == ASR_OK)
        rc = prepare_fast(L, st);
    return rc;
}

int asr_net_create(const asr_net_desc *desc, int kernel, asr_net **out, asr_status *st)
{
    asr_net *net;
    uint32_t i, n_out = 0;
    int rc, resolved;
    size_t sub = 1;

    if (!out)
        return asr_fail(st, ASR_E_ARG, "asr_net_create: null output pointer");
    *out = NULL;
    if ((rc = check_desc(desc, &n_out, &sub, st)) != ASR_OK ||
        (rc = asr_kernel_resolve(kernel, &resolved, st)) != ASR_OK)
        return rc;

    net = (asr_net *)calloc(1, sizeof(*net));
    if (!net)
        return asr_fail(st, ASR_E_NOMEM, "asr_net_create: out of memory");
    net->kern = asr_kernels_for(resolved);
    net->kernel = resolved;
    net->feat_dim = desc->feat_dim;
    net->pad_left = desc->pad_left;
    net->pad_right = desc->pad_right;
    net->n_layers = desc->n_layers;
    net->n_out = n_out;
    net->subsampling = (uint32_t)sub;
    net->in_scale = desc->in_scale;
    net->in_zero = desc->in_zero;
    net->layers = (net_layer *)calloc(desc->n_layers, sizeof(net_layer));
    if (!net->layers) {
        asr_net_free(net);
        return asr_fail(st, ASR_E_NOMEM, "asr_net_create: out of memory");
    }
    rc = copy_array((void **)&net->mean, desc->mean, desc->feat_dim * sizeof(float), st);
    if (rc == ASR_OK)
        rc = copy_array((void **)&net->inv_std, desc->inv_std, desc->feat_dim * sizeof(float), st);
    for (i = 0; i < desc->n_layers && rc == ASR_OK; i++) {
        net_layer *L = &net->layers[i];
        size_t col_bytes, acc_bytes;
        if ((rc = init_layer(L, &desc->layers[i], i, resolved, st)) != ASR_OK)
            break;
        /* The im2col and accumulator scratch of a stream: the largest layer's. */
        col_bytes = ASR_BLOCK * L->k * asr_dtype_size(L->dtype);
        acc_bytes = ASR_BLOCK * (size_t)L->out_dim * 8;
        if (col_bytes > net->scratch_bytes)
            net->scratch_bytes = col_bytes;
        if (acc_bytes > net->scratch_bytes)
            net->scratch_bytes = acc_bytes;
    }
    if (rc != ASR_OK) {
        asr_net_free(net);
        return rc;
    }
    *out = net;
    return ASR_OK;
}

int asr_net_info(const asr_net *net, uint32_t *n_out, uint32_t *subsampling, int *kernel,
                 asr_status *st)
{
    if (!net || !n_out || !subsampling || !kernel)
        return asr_fail(st, ASR_E_ARG, "asr_net_info: null pointer");
    *n_out = net->n_out;
    *subsampling = net->subsampling;
    *kernel = net->kernel;
    return ASR_OK;
}

int asr_net_input_dim(const asr_net *net, uint32_t *feat_dim, asr_status *st)
{
    if (!net || !feat_dim)
        return asr_fail(st, ASR_E_ARG, "asr_net_input_dim: null pointer");
    *feat_dim = net->feat_dim;
    return ASR_OK;
}

/* ------------------------------------------------------------------ stream */

void asr_stream_free(asr_stream *s)
{
    uint32_t i;
    if (!s)
        return;
    if (s->bufs)
        for (i = 0; i < s->n_bufs; i++)
            free(s->bufs[i].data);
    free(s->bufs);
    free(s->col);
    free(s->acc);
    free(s->logits);
    free(s->lsm);
    free(s);
}

int asr_stream_create(const asr_net *net, asr_stream **out, asr_status *st)
{
    asr_stream *s;
    uint32_t i;

    if (!out)
        return asr_fail(st, ASR_E_ARG, "asr_stream_create: null output pointer");
    *out = NULL;
    if (!net)
        return asr_fail(st, ASR_E_ARG, "asr_stream_create: null network");
    s = (asr_stream *)calloc(1, sizeof(*s));
    if (!s)
        return asr_fail(st, ASR_E_NOMEM, "asr_stream_create: out of memory");
    s->net = net;
    s->bufs = (layer_buf *)calloc(net->n_layers, sizeof(layer_buf));
    s->n_bufs = s->bufs ? net->n_layers : 0;
    s->col = malloc(net->scratch_bytes);
    s->acc = malloc(net->scratch_bytes);
    s->logits = (int32_t *)malloc(net->n_out * sizeof(int32_t));
    s->lsm = (int16_t *)malloc(net->n_out * sizeof(int16_t));
    if (!s->bufs || !s->col || !s->acc || !s->logits || !s->lsm) {
        asr_stream_free(s);
        return asr_fail(st, ASR_E_NOMEM, "asr_stream_create: out of memory");
    }
    for (i = 0; i < net->n_layers; i++) {
        const net_layer *L = &net->layers[i];
        layer_buf *b = &s->bufs[i];
        /* A round adds at most ASR_PIECE frames to layer 0; each layer then
         * emits at most (frames added)/stride + 1 frames, so span + twice a
         * piece always suffices. */
        b->elem = asr_dtype_size(L->dtype);
        b->dim = L->in_dim;
        b->cap = L->span + 2 * ASR_PIECE + 2;
        b->data = (unsigned char *)malloc(b->cap * b->dim * b->elem);
        if (!b->data) {
            asr_stream_free(s);
            return asr_fail(st, ASR_E_NOMEM, "asr_stream_create: out of memory");
        }
    }
    *out = s;
    return ASR_OK;
}

int asr_stream_pending(const asr_stream *s, size_t n_frames, int finish, size_t *n_out,
                       asr_status *st)
{
    size_t before, after;
    if (!s || !n_out)
        return asr_fail(st, ASR_E_ARG, "asr_stream_pending: null pointer");
    if (s->finished) {
        *n_out = 0;
        return ASR_OK;
    }
    if (n_frames > SIZE_MAX / 16)
        return asr_fail(st, ASR_E_ARG, "asr_stream_pending: %zu frames is not a plausible count", n_frames);
    before = s->started ? s->fed : 0;
    after = (s->started ? s->fed : s->net->pad_left) + n_frames + (finish ? s->net->pad_right : 0);
    *n_out = net_outputs(s->net, after) - net_outputs(s->net, before);
    return ASR_OK;
}

/* Make room for n more frames in b by dropping frames below `keep_from`. */
static int buf_reserve(layer_buf *b, size_t keep_from, size_t n, asr_status *st)
{
    if (keep_from > b->base) {
        size_t drop = keep_from - b->base;
        if (drop > b->count)
            drop = b->count;
        memmove(b->data, b->data + drop * b->dim * b->elem, (b->count - drop) * b->dim * b->elem);
        b->base += drop;
        b->count -= drop;
    }
    if (b->count + n > b->cap)
        return asr_fail(st, ASR_E_SHAPE, "internal: layer buffer overflow (%zu + %zu > %zu)",
                        b->count, n, b->cap);
    return ASR_OK;
}

static void *buf_frame(layer_buf *b, size_t abs_index)
{
    return b->data + (abs_index - b->base) * b->dim * b->elem;
}

/* Push n frames already quantized for layer 0 (the integer frontend's
 * output; NULL: padding, which is in_zero) into its buffer. */
static void push_input_q(asr_stream *s, const void *q, size_t n)
{
    const asr_net *net = s->net;
    layer_buf *b = &s->bufs[0];
    size_t t, i, d = net->feat_dim, esz = asr_dtype_size(net->layers[0].dtype);
    int32_t qlo = net->layers[0].dtype == ASR_S8 ? -128 : -32768;
    int32_t qhi = net->layers[0].dtype == ASR_S8 ? 127 : 32767;
    int32_t z = net->in_zero < qlo ? qlo : net->in_zero > qhi ? qhi : net->in_zero;

    for (t = 0; t < n; t++) {
        void *dst = buf_frame(b, b->base + b->count);
        if (q) {
            memcpy(dst, (const unsigned char *)q + t * d * esz, d * esz);
        } else {
            for (i = 0; i < d; i++) {
                if (esz == 1)
                    ((int8_t *)dst)[i] = (int8_t)z;
                else
                    ((int16_t *)dst)[i] = (int16_t)z;
            }
        }
        b->count++;
    }
    s->fed += n;
}

/* Push n frames of normalized features (NULL: zero padding) into layer 0. */
static void push_input(asr_stream *s, const float *feats, size_t n)
{
    const asr_net *net = s->net;
    layer_buf *b = &s->bufs[0];
    int dtype = net->layers[0].dtype;
    size_t t, i, d = net->feat_dim;
    int32_t qlo = dtype == ASR_S8 ? -128 : -32768, qhi = dtype == ASR_S8 ? 127 : 32767;

    for (t = 0; t < n; t++) {
        void *dst = buf_frame(b, b->base + b->count);
        for (i = 0; i < d; i++) {
            /* Double precision: the same IEEE operations as the numpy
             * reference, so integer inputs match it exactly. */
            double x = feats ? ((double)feats[t * d + i] - (double)net->mean[i]) * (double)net->inv_std[i] : 0.0;
            if (dtype == ASR_F32) {
                ((float *)dst)[i] = (float)x;
            } else {
                double q = floor(x / net->in_scale + 0.5) + net->in_zero;
                int32_t v = q < qlo ? qlo : q > qhi ? qhi : (int32_t)q;
                if (dtype == ASR_S8)
                    ((int8_t *)dst)[i] = (int8_t)v;
                else
                    ((int16_t *)dst)[i] = (int16_t)v;
            }
        }
        b->count++;
    }
    s->fed += n;
}

/* Float epilogue of one block: bias, activation; log-softmax in double. */
static void epilogue_f32(const net_layer *L, float *acc, size_t nb, float *dst)
{
    size_t t, o, n = L->out_dim;
    for (t = 0; t < nb; t++) {
        float *a = acc + t * n, *y = dst + t * n;
        for (o = 0; o < n; o++) {
            float v = a[o] + L->bias_f[o];
            y[o] = (L->act == ASR_ACT_RELU && v < 0.0f) ? 0.0f : v;
        }
        if (L->act == ASR_ACT_LOGSOFTMAX) {
            double mx = y[0], sum = 0.0, lse;
            for (o = 1; o < n; o++)
                if (y[o] > mx)
                    mx = y[o];
            for (o = 0; o < n; o++)
                sum += exp((double)y[o] - mx);
            lse = mx + log(sum);
            for (o = 0; o < n; o++)
                y[o] = (float)((double)y[o] - lse);
        }
    }
}

/* The epilogue of int8 layers that prepare_fast accepted: no branches, so
 * the compiler pipelines (and where it can, vectorizes) it. */
static void fast_epilogue(const net_layer *L, const int32_t *acc, size_t nb, void *dst)
{
    const size_t n = L->out_dim;
    const int32_t *bias = L->bias32, *mult = L->mult, *tot = L->tot;
    const int64_t *rnd = L->rnd;
    const int64_t zero = L->out_zero, lo = L->out_lo, hi = L->out_hi;
    size_t t, o;
    for (t = 0; t < nb; t++) {
        const int32_t *a = acc + t * n;
        if (L->out_dtype == ASR_S8) {
            int8_t *y = (int8_t *)dst + t * n;
            for (o = 0; o < n; o++) {
                int64_t q = ASR_SRA64((int64_t)(a[o] + bias[o]) * mult[o] + rnd[o], tot[o]) + zero;
                y[o] = (int8_t)(q < lo ? lo : q > hi ? hi : q);
            }
        } else {
            int16_t *y = (int16_t *)dst + t * n;
            for (o = 0; o < n; o++) {
                int64_t q = ASR_SRA64((int64_t)(a[o] + bias[o]) * mult[o] + rnd[o], tot[o]) + zero;
                y[o] = (int16_t)(q < lo ? lo : q > hi ? hi : q);
            }
        }
    }
}

/* Integer epilogue of one block: accumulators (int32 for int8 layers,
 * int64 for int16), weight-zero-point correction, requantization, clamp.
 * Every field the loops use is read into a local first: the int8 stores
 * may alias anything, so the compiler would otherwise reload them per
 * element. */
static void epilogue_int(asr_stream *s, const net_layer *L, const void *acc, const void *col,
                         size_t col_stride, size_t nb, void *dst)
{
    const size_t n = L->out_dim, k = L->k;
    const int64_t *bias = L->bias_q;
    const int32_t *mult = L->mult, *shift = L->shift;
    const int64_t w_zero = L->w_zero, zero = L->out_zero, lo = L->out_lo, hi = L->out_hi;
    const int in8 = L->dtype == ASR_S8, out8 = L->out_dtype == ASR_S8;
    const int lsm = L->act == ASR_ACT_LOGSOFTMAX;
    int32_t *logits = s->logits;
    size_t t, o;

    for (t = 0; t < nb; t++) {
        const int32_t *a32 = (const int32_t *)acc + t * n;
        const int64_t *a64 = (const int64_t *)acc + t * n;
        int64_t corr = 0;
        if (w_zero) {
            int64_t xsum = 0;
            size_t j;
            if (in8) {
                const int8_t *x = (const int8_t *)col + t * col_stride;
                for (j = 0; j < k; j++)
                    xsum += x[j];
            } else {
                const int16_t *x = (const int16_t *)col + t * col_stride;
                for (j = 0; j < k; j++)
                    xsum += x[j];
            }
            corr = w_zero * xsum;
        }
        if (lsm) {
            float *y = (float *)dst + t * n;
            for (o = 0; o < n; o++)
                logits[o] = asr_requant_fast((in8 ? (int64_t)a32[o] : a64[o]) - corr + bias[o],
                                             mult[o], 31 + shift[o]);
            asr_logsoftmax_q10_row(logits, n, s->lsm);
            for (o = 0; o < n; o++)
                y[o] = (float)s->lsm[o] * (1.0f / 1024.0f);
        } else if (out8) {
            int8_t *y = (int8_t *)dst + t * n;
            for (o = 0; o < n; o++) {
                int64_t v = (in8 ? (int64_t)a32[o] : a64[o]) - corr + bias[o];
                int64_t q = (int64_t)asr_requant_fast(v, mult[o], 31 + shift[o]) + zero;
                y[o] = (int8_t)(q < lo ? lo : q > hi ? hi : q);
            }
        } else {
            int16_t *y = (int16_t *)dst + t * n;
            for (o = 0; o < n; o++) {
                int64_t v = (in8 ? (int64_t)a32[o] : a64[o]) - corr + bias[o];
                int64_t q = (int64_t)asr_requant_fast(v, mult[o], 31 + shift[o]) + zero;
                y[o] = (int16_t)(q < lo ? lo : q > hi ? hi : q);
            }
        }
    }
}

/* Compute every output frame layer i can now produce; the last layer writes
 * into out (advancing *n_out). */
static int run_layer(asr_stream *s, uint32_t i, float *out, size_t *n_out, asr_status *st)
{
    const asr_net *net = s->net;
    const net_layer *L = &net->layers[i];
    layer_buf *b = &s->bufs[i];
    int last = i + 1 == net->n_layers;
    size_t esz = asr_dtype_size(L->dtype);
    size_t avail = b->base + b->count;
    size_t total = layer_outputs(avail, L->span, L->stride);
    int rc;

    while (b->produced < total) {
        size_t t0 = b->produced, nb = total - t0, t, j;
        const void *x;
        size_t x_stride;
        void *dst;
        if (nb > ASR_BLOCK)
            nb = ASR_BLOCK;
        if (L->dilation == 1) {
            /* Tap-major rows of consecutive frames are already contiguous:
             * the spliced row of output t starts at frame t*stride. */
            x = buf_frame(b, t0 * L->stride);
            x_stride = (size_t)L->stride * L->in_dim;
        } else {
            unsigned char *col = (unsigned char *)s->col;
            size_t row = L->k * esz, fr = (size_t)L->in_dim * esz;
            for (t = 0; t < nb; t++)
                for (j = 0; j < L->kernel; j++)
                    memcpy(col + t * row + j * fr, buf_frame(b, (t0 + t) * L->stride + j * L->dilation), fr);
            x = col;
            x_stride = L->k;
        }
        if (last) {
            dst = out + *n_out * L->out_dim;
        } else {
            layer_buf *nbuf = &s->bufs[i + 1];
            const net_layer *next = &net->layers[i + 1];
            /* frames the next layer still needs start at its next output's first input */
            rc = buf_reserve(nbuf, s->bufs[i + 1].produced * next->stride, nb, st);
            if (rc != ASR_OK)
                return rc;
            dst = buf_frame(nbuf, nbuf->base + nbuf->count);
        }
        switch (L->dtype) {
        case ASR_F32:
            net->kern->gemm_f32(&L->w, (const float *)x, x_stride, nb, (float *)s->acc, L->out_dim);
            epilogue_f32(L, (float *)s->acc, nb, (float *)dst);
            break;
        case ASR_S16:
            net->kern->gemm_s16(&L->w, (const int16_t *)x, x_stride, nb, (int64_t *)s->acc, L->out_dim);
            epilogue_int(s, L, s->acc, x, x_stride, nb, dst);
            break;
        default:
            net->kern->gemm_s8(&L->w, (const int8_t *)x, x_stride, nb, (int32_t *)s->acc, L->out_dim);
            if (L->fast && L->act != ASR_ACT_LOGSOFTMAX)
                fast_epilogue(L, (const int32_t *)s->acc, nb, dst);
            else
                epilogue_int(s, L, s->acc, x, x_stride, nb, dst);
            break;
        }
        if (last)
            *n_out += nb;
        else
            s->bufs[i + 1].count += nb;
        b->produced += nb;
    }
    return ASR_OK;
}

static int run_all(asr_stream *s, float *out, size_t *n_out, asr_status *st)
{
    uint32_t i;
    int rc;
    for (i = 0; i < s->net->n_layers; i++)
        if ((rc = run_layer(s, i, out, n_out, st)) != ASR_OK)
            return rc;
    return ASR_OK;
}

/* Push n input frames (NULL: padding) in pieces, running the layers after
 * each: float features, or with quantized, frames in layer 0's dtype. */
static int feed_any(asr_stream *s, const void *feats, int quantized, size_t n, float *out,
                    size_t *n_out, asr_status *st)
{
    const net_layer *L0 = &s->net->layers[0];
    layer_buf *b0 = &s->bufs[0];
    size_t row = s->net->feat_dim * (quantized ? asr_dtype_size(L0->dtype) : sizeof(float));
    int rc;
    while (n > 0) {
        size_t piece = n < ASR_PIECE ? n : ASR_PIECE;
        if ((rc = buf_reserve(b0, b0->produced * L0->stride, piece, st)) != ASR_OK)
            return rc;
        if (quantized)
            push_input_q(s, feats, piece);
        else
            push_input(s, (const float *)feats, piece);
        if ((rc = run_all(s, out, n_out, st)) != ASR_OK)
            return rc;
        if (feats)
            feats = (const unsigned char *)feats + piece * row;
        n -= piece;
    }
    return ASR_OK;
}

static int feed(asr_stream *s, const float *feats, size_t n, float *out, size_t *n_out, asr_status *st)
{
    return feed_any(s, feats, 0, n, out, n_out, st);
}

int asr_stream_forward(asr_stream *s, const float *feats, size_t n_frames, int finish,
                       float *out, size_t out_cap, size_t *n_out, asr_status *st)
{
    size_t need, i, total;
    int rc;

    if (!s || !n_out)
        return asr_fail(st, ASR_E_ARG, "asr_stream_forward: null stream or count pointer");
    *n_out = 0;
    if (s->finished)
        return asr_fail(st, ASR_E_ARG, "asr_stream_forward: the stream is already finished");
    if (n_frames > 0 && !feats)
        return asr_fail(st, ASR_E_ARG, "asr_stream_forward: null features for %zu frames", n_frames);
    if ((rc = asr_stream_pending(s, n_frames, finish, &need, st)) != ASR_OK)
        return rc;
    if (need > 0 && !out)
        return asr_fail(st, ASR_E_ARG, "asr_stream_forward: null output for %zu frames", need);
    if (need > out_cap)
        return asr_fail(st, ASR_E_SHAPE, "asr_stream_forward: output room for %zu frames, %zu needed",
                        out_cap, need);
    total = n_frames * s->net->feat_dim;
    if (n_frames && total / n_frames != s->net->feat_dim)
        return asr_fail(st, ASR_E_ARG, "asr_stream_forward: frame count overflows");
    for (i = 0; i < total; i++)
        if (!isfinite(feats[i]))
            return asr_fail(st, ASR_E_ARG, "asr_stream_forward: non-finite feature at frame %zu",
                            i / s->net->feat_dim);
    if (!s->started) {
        s->started = 1;
        if ((rc = feed(s, NULL, s->net->pad_left, out, n_out, st)) != ASR_OK)
            return rc;
    }
    if ((rc = feed(s, feats, n_frames, out, n_out, st)) != ASR_OK)
        return rc;
    if (finish) {
        if ((rc = feed(s, NULL, s->net->pad_right, out, n_out, st)) != ASR_OK)
            return rc;
        s->finished = 1;
    }
    return ASR_OK;
}

int asr_stream_forward_q(asr_stream *s, const void *q, size_t n_frames, int finish,
                         float *out, size_t out_cap, size_t *n_out, asr_status *st)
{
    size_t need;
    int rc;

    if (!s || !n_out)
        return asr_fail(st, ASR_E_ARG, "asr_stream_forward_q: null stream or count pointer");
    *n_out = 0;
    if (s->net->layers[0].dtype == ASR_F32)
        return asr_fail(st, ASR_E_ARG, "asr_stream_forward_q: a float network takes float "
                        "features (asr_stream_forward)");
    if (s->finished)
        return asr_fail(st, ASR_E_ARG, "asr_stream_forward_q: the stream is already finished");
    if (n_frames > 0 && !q)
        return asr_fail(st, ASR_E_ARG, "asr_stream_forward_q: null input for %zu frames", n_frames);
    if (n_frames && !asr_span_bytes(q, n_frames, s->net->feat_dim, s->net->feat_dim,
                                    asr_dtype_size(s->net->layers[0].dtype)))
        return asr_fail(st, ASR_E_ARG, "asr_stream_forward_q: %zu frames do not fit the address "
                        "space", n_frames);
    if ((rc = asr_stream_pending(s, n_frames, finish, &need, st)) != ASR_OK)
        return rc;
    if (need > 0 && !out)
        return asr_fail(st, ASR_E_ARG, "asr_stream_forward_q: null output for %zu frames", need);
    if (need > out_cap)
        return asr_fail(st, ASR_E_SHAPE, "asr_stream_forward_q: output room for %zu frames, %zu "
                        "needed", out_cap, need);
    if (!s->started) {
        s->started = 1;
        if ((rc = feed_any(s, NULL, 1, s->net->pad_left, out, n_out, st)) != ASR_OK)
            return rc;
    }
    if ((rc = feed_any(s, q, 1, n_frames, out, n_out, st)) != ASR_OK)
        return rc;
    if (finish) {
        if ((rc = feed_any(s, NULL, 1, s->net->pad_right, out, n_out, st)) != ASR_OK)
            return rc;
        s->finished = 1;
    }
    return ASR_OK;
}

int asr_net_input_quant(const asr_net *net, int *dtype, double *in_scale, int32_t *in_zero,
                        const float **mean, const float **inv_std, asr_status *st)
{
    int integer;
    if (!net)
        return asr_fail(st, ASR_E_ARG, "asr_net_input_quant: null network");
    integer = net->layers[0].dtype != ASR_F32;
    if (dtype)
        *dtype = net->layers[0].dtype;
    if (in_scale)
        *in_scale = integer ? net->in_scale : 0.0;
    if (in_zero)
        *in_zero = integer ? net->in_zero : 0;
    if (mean)
        *mean = net->mean;
    if (inv_std)
        *inv_std = net->inv_std;
    return ASR_OK;
}
