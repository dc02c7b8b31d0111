/*
 * net_driver.c - the streaming network of asr.h as a stand-alone program,
 * so the acoustic model can run on another instruction set under
 * qemu-user and its outputs can be compared with this machine's
 * (asr/cross.py, asr-rtf --platform armv7|aarch64; built by native/Makefile).
 *
 * Usage
 *   net_driver kernels
 *       Prints the names of the available kernels, space separated.
 *   net_driver run JOB OUT
 *       Builds the network described in JOB (asr_net_create, on the kernel the
 *       job names; -1 means auto, which honours ASR_KERNEL), runs every
 *       utterance of JOB through its own asr_stream (asr_stream_forward in
 *       chunks of the job's size, then finish), and writes OUT.
 *   net_driver load JOB
 *       Everything "run" does before the first forward, then exits: the
 *       baseline that asr/cross.py subtracts from an instruction count.
 *   Exit status 0; 1 with a message on stderr for a bad job or a library
 *   error; 2 for a usage error.
 *
 * Job format (JOB), little-endian, written by asr/cross.py:
 *     char    magic[4] = "ASRJ"     uint32 version = 1
 *     int32   kernel                  uint32 chunk (frames per call; 0 = all)
 *     uint32  feat_dim, pad_left, pad_right, n_layers
 *     float32 in_scale              int32  in_zero
 *     float32 mean[feat_dim]        float32 inv_std[feat_dim]
 *     n_layers times:
 *       int32  dtype, out_dtype, act
 *       uint32 in_dim, out_dim, kernel, dilation, stride
 *       int32  w_zero, out_zero, out_lo, out_hi
 *       weight out_dim x kernel*in_dim elements of dtype (float32/int16/int8)
 *       bias   out_dim float32 (float layers) or int64 (integer layers)
 *       mult, shift   out_dim int32 each (integer layers only)
 *     uint32  n_utts
 *     n_utts times: uint32 n_frames, float32 feats[n_frames x feat_dim]
 * and nothing after. The fields are those of asr_net_desc (asr.h). Every
 * size is checked against the limits of asr.h and against the bytes left
 * in the file before anything is allocated; asr_net_create then validates
 * the description as it would for the Python binding.
 *
 * Output format (OUT), little-endian:
 *     char magic[4] = "ASRO"  uint32 version = 1
 *     int32 kernel (the resolved kernel)   uint32 n_labels   uint32 n_utts
 *     n_utts times: uint32 n_out, float32 logprob[n_out x n_labels]
 * The log-probabilities are the floats asr_stream_forward wrote, unchanged.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asr.h"
#include "driver_common.h"

#define JOB_VERSION 1
#define MAX_JOB_BYTES ((uint64_t)1 << 30)   /* 1 GiB: far above any real job */
#define MAX_UTTS 100000u

/* A byte cursor over the whole job file: every read checks what is left. */
typedef struct cursor {
    const unsigned char *p;
    size_t left;
    const char *err;      /* first problem found, for the message */
} cursor;

static int take(cursor *c, void *dst, size_t n, const char *what)
{
    if (c->err)
        return 0;
    if (n > c->left) {
        c->err = what;
        return 0;
    }
    memcpy(dst, c->p, n);
    c->p += n;
    c->left -= n;
    return 1;
}

static uint32_t take_u32(cursor *c, const char *what)
{
    unsigned char b[4] = {0, 0, 0, 0};
    take(c, b, 4, what);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static int32_t take_i32(cursor *c, const char *what)
{
    return (int32_t)take_u32(c, what);
}

static float take_f32(cursor *c, const char *what)
{
    uint32_t u = take_u32(c, what);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* n elements of `size` bytes into a fresh (suitably aligned) allocation:
 * the file buffer has no alignment, and the library reads typed arrays.
 * The count is checked against the bytes left before allocating. */
static void *take_array(cursor *c, uint64_t n, size_t size, const char *what)
{
    void *a;
    if (c->err)
        return NULL;
    if (n > c->left / size) {
        c->err = what;
        return NULL;
    }
    a = malloc(n ? (size_t)n * size : 1);
    if (!a) {
        c->err = "memory";
        return NULL;
    }
    take(c, a, (size_t)n * size, what);
    return a;
}

static size_t dtype_bytes(int dtype)
{
    return dtype == ASR_S8 ? 1 : dtype == ASR_S16 ? 2 : 4;
}

typedef struct job {
    int kernel;
    uint32_t chunk;
    asr_net_desc desc;
    asr_layer_desc *layers;
    void **arrays;        /* everything allocated for the description */
    size_t n_arrays;
    uint32_t n_utts;
    uint32_t *n_frames;
    float **feats;
} job;

static void job_free(job *j)
{
    size_t i;
    for (i = 0; i < j->n_arrays; i++)
        free(j->arrays[i]);
    free(j->arrays);
    free(j->layers);
    if (j->feats)
        for (i = 0; i < j->n_utts; i++)
            free(j->feats[i]);
    free(j->feats);
    free(j->n_frames);
}

static void *keep(job *j, void *a)
{
    if (a)
        j->arrays[j->n_arrays++] = a;
    return a;
}

/* Parses the job; 0 on success, 1 with a message printed. */
static int parse_job(const unsigned char *data, size_t size, job *j)
{
    cursor c = {data, size, NULL};
    char magic[4];
    uint32_t version, i, u;

    memset(j, 0, sizeof(*j));
    if (!take(&c, magic, 4, "magic") || memcmp(magic, "ASRJ", 4) != 0) {
        fprintf(stderr, "net_driver: not a job file (bad magic)\n");
        return 1;
    }
    version = take_u32(&c, "version");
    if (version != JOB_VERSION) {
        fprintf(stderr, "net_driver: job version %u, this driver reads %d\n", version, JOB_VERSION);
        return 1;
    }
    j->kernel = take_i32(&c, "header");
    j->chunk = take_u32(&c, "header");
    j->desc.feat_dim = take_u32(&c, "header");
    j->desc.pad_left = take_u32(&c, "header");
    j->desc.pad_right = take_u32(&c, "header");
    j->desc.n_layers = take_u32(&c, "header");
    j->desc.in_scale = take_f32(&c, "header");
    j->desc.in_zero = take_i32(&c, "header");
    if (c.err)
        goto truncated;
    if (j->desc.feat_dim == 0 || j->desc.feat_dim > ASR_MAX_DIM || j->desc.n_layers == 0
        || j->desc.n_layers > ASR_MAX_LAYERS) {
        fprintf(stderr, "net_driver: bad header (feat_dim %u, %u layers)\n", j->desc.feat_dim,
                j->desc.n_layers);
        return 1;
    }
    /* mean, inv_std, and per layer weight, bias, mult, shift */
    j->arrays = (void **)calloc(2 + 4 * (size_t)j->desc.n_layers, sizeof(void *));
    j->layers = (asr_layer_desc *)calloc(j->desc.n_layers, sizeof(asr_layer_desc));
    if (!j->arrays || !j->layers) {
        fprintf(stderr, "net_driver: out of memory\n");
        return 1;
    }
    j->desc.mean = (const float *)keep(j, take_array(&c, j->desc.feat_dim, 4, "normalization"));
    j->desc.inv_std = (const float *)keep(j, take_array(&c, j->desc.feat_dim, 4, "normalization"));
    for (i = 0; i < j->desc.n_layers && !c.err; i++) {
        asr_layer_desc *d = &j->layers[i];
        uint64_t nw;
        d->dtype = take_i32(&c, "layer header");
        d->out_dtype = take_i32(&c, "layer header");
        d->act = take_i32(&c, "layer header");
        d->in_dim = take_u32(&c, "layer header");
        d->out_dim = take_u32(&c, "layer header");
        d->kernel = take_u32(&c, "layer header");
        d->dilation = take_u32(&c, "layer header");
        d->stride = take_u32(&c, "layer header");
        d->w_zero = take_i32(&c, "layer header");
        d->out_zero = take_i32(&c, "layer header");
        d->out_lo = take_i32(&c, "layer header");
        d->out_hi = take_i32(&c, "layer header");
        if (c.err)
            break;
        /* Only what sizes the arrays is checked here; asr_net_create checks
         * the rest (chaining, ranges, activations) with its own messages. */
        if ((d->dtype != ASR_F32 && d->dtype != ASR_S16 && d->dtype != ASR_S8) || d->in_dim == 0
            || d->in_dim > ASR_MAX_DIM || d->out_dim == 0 || d->out_dim > ASR_MAX_DIM || d->kernel == 0
            || d->kernel > ASR_MAX_KERNEL || (uint64_t)d->kernel * d->in_dim > ASR_MAX_K) {
            fprintf(stderr, "net_driver: layer %u: bad header (dtype %d, %u -> %u, kernel %u)\n", i,
                    d->dtype, d->in_dim, d->out_dim, d->kernel);
            return 1;
        }
        nw = (uint64_t)d->out_dim * d->kernel * d->in_dim;
        d->weight = keep(j, take_array(&c, nw, dtype_bytes(d->dtype), "weights"));
        d->bias = keep(j, take_array(&c, d->out_dim, d->dtype == ASR_F32 ? 4 : 8, "bias"));
        if (d->dtype != ASR_F32) {
            d->mult = (const int32_t *)keep(j, take_array(&c, d->out_dim, 4, "multipliers"));
            d->shift = (const int32_t *)keep(j, take_array(&c, d->out_dim, 4, "shifts"));
        }
    }
    j->desc.layers = j->layers;
    j->n_utts = take_u32(&c, "utterance count");
    if (c.err)
        goto truncated;
    if (j->n_utts > MAX_UTTS) {
        fprintf(stderr, "net_driver: %u utterances (at most %u)\n", j->n_utts, MAX_UTTS);
        return 1;
    }
    j->n_frames = (uint32_t *)calloc(j->n_utts + 1, sizeof(uint32_t));
    j->feats = (float **)calloc(j->n_utts + 1, sizeof(float *));
    if (!j->n_frames || !j->feats) {
        fprintf(stderr, "net_driver: out of memory\n");
        return 1;
    }
    for (u = 0; u < j->n_utts && !c.err; u++) {
        j->n_frames[u] = take_u32(&c, "frame count");
        j->feats[u] = (float *)take_array(&c, (uint64_t)j->n_frames[u] * j->desc.feat_dim, 4, "features");
    }
    if (c.err)
        goto truncated;
    if (c.left) {
        fprintf(stderr, "net_driver: %zu unexpected bytes after the last utterance\n", c.left);
        return 1;
    }
    return 0;
truncated:
    if (strcmp(c.err, "memory") == 0)
        fprintf(stderr, "net_driver: out of memory\n");
    else
        fprintf(stderr, "net_driver: truncated job: %s\n", c.err);
    return 1;
}

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    long n;
    if (!f) {
        fprintf(stderr, "net_driver: cannot open %s\n", path);
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && (uint64_t)n <= MAX_JOB_BYTES
        && fseek(f, 0, SEEK_SET) == 0) {
        data = (unsigned char *)malloc(n ? (size_t)n : 1);
        if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
            free(data);
            data = NULL;
        }
        *size = (size_t)n;
    }
    if (!data)
        fprintf(stderr, "net_driver: cannot read %s (missing, unreadable or above 1 GiB)\n", path);
    fclose(f);
    return data;
}

static int put_u32(FILE *f, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    return fwrite(b, 1, 4, f) == 4;
}

/* One utterance through a fresh stream, fed `chunk` frames per call. The
 * output is sized by asr_stream_pending for the whole utterance up front. */
static int run_utt(const asr_net *net, const job *j, uint32_t u, uint32_t n_labels, FILE *out,
                   asr_status *st)
{
    asr_stream *s = NULL;
    size_t total = 0, done = 0, fed = 0, n_out, nf = j->n_frames[u];
    size_t chunk = j->chunk ? j->chunk : (nf ? nf : 1);
    float *lp = NULL;
    int rc;

    if ((rc = asr_stream_create(net, &s, st)) != ASR_OK)
        return rc;
    if ((rc = asr_stream_pending(s, nf, 1, &total, st)) != ASR_OK)
        goto done;
    lp = (float *)malloc((total ? total : 1) * n_labels * sizeof(float));
    if (!lp) {
        rc = ASR_E_NOMEM;
        snprintf(st->message, sizeof(st->message), "out of memory for %zu output frames", total);
        goto done;
    }
    do {
        size_t n = nf - fed < chunk ? nf - fed : chunk;
        int finish = fed + n == nf;
        rc = asr_stream_forward(s, j->feats[u] + fed * j->desc.feat_dim, n, finish,
                                lp + done * n_labels, total - done, &n_out, st);
        if (rc != ASR_OK)
            goto done;
        done += n_out;
        fed += n;
    } while (fed < nf);
    if (done != total) {
        rc = ASR_E_SHAPE;
        snprintf(st->message, sizeof(st->message), "%zu frames computed, %zu announced", done, total);
        goto done;
    }
    if (!put_u32(out, (uint32_t)total) || fwrite(lp, sizeof(float), total * n_labels, out) != total * n_labels) {
        rc = ASR_E_ARG;
        snprintf(st->message, sizeof(st->message), "cannot write the output");
    }
done:
    free(lp);
    asr_stream_free(s);
    return rc;
}

static int run_job(const char *job_path, const char *out_path)
{
    size_t size = 0;
    unsigned char *data = read_file(job_path, &size);
    asr_net *net = NULL;
    asr_status st;
    uint32_t n_labels = 0, sub = 0, u;
    int kernel = 0, rc = 1;
    FILE *out = NULL;
    job j;

    memset(&j, 0, sizeof(j));
    memset(&st, 0, sizeof(st));
    if (!data)
        return 1;
    if (parse_job(data, size, &j) != 0)
        goto done;
    free(data);       /* every array was copied: the file buffer is not needed */
    data = NULL;
    if (asr_net_create(&j.desc, j.kernel, &net, &st) != ASR_OK
        || asr_net_info(net, &n_labels, &sub, &kernel, &st) != ASR_OK) {
        fprintf(stderr, "net_driver: %s\n", st.message);
        goto done;
    }
    if (!out_path) {  /* "load": stop before the first forward */
        rc = 0;
        goto done;
    }
    out = fopen(out_path, "wb");
    if (!out) {
        fprintf(stderr, "net_driver: cannot open %s\n", out_path);
        goto done;
    }
    if (fwrite("ASRO", 1, 4, out) != 4 || !put_u32(out, JOB_VERSION) || !put_u32(out, (uint32_t)kernel)
        || !put_u32(out, n_labels) || !put_u32(out, j.n_utts)) {
        fprintf(stderr, "net_driver: cannot write %s\n", out_path);
        goto done;
    }
    for (u = 0; u < j.n_utts; u++)
        if (run_utt(net, &j, u, n_labels, out, &st) != ASR_OK) {
            fprintf(stderr, "net_driver: utterance %u: %s\n", u, st.message);
            goto done;
        }
    rc = 0;
done:
    if (out && fclose(out) != 0 && rc == 0) {
        fprintf(stderr, "net_driver: cannot write %s\n", out_path);
        rc = 1;
    }
    asr_net_free(net);
    job_free(&j);
    free(data);
    return rc;
}

int main(int argc, char **argv)
{
    const uint16_t one = 1;
    /* The formats are little-endian and the floats are copied as bytes;
     * every armv7/aarch64/x86 Linux ABI this targets is little-endian. */
    if (*(const unsigned char *)&one != 1) {
        fprintf(stderr, "net_driver: big-endian machines are not supported\n");
        return 1;
    }
    if (argc == 2 && strcmp(argv[1], "kernels") == 0)
        return print_kernels();
    if (argc == 4 && strcmp(argv[1], "run") == 0)
        return run_job(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "load") == 0)
        return run_job(argv[2], NULL);
    fprintf(stderr, "usage: net_driver kernels\n"
                    "       net_driver run JOB OUT\n"
                    "       net_driver load JOB\n");
    return 2;
}
