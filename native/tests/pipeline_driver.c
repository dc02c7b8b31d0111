/*
 * pipeline_driver.c - the whole recognizer as native/examples/asr_decode.c
 * runs it, stoppable after each stage, so that the instructions of each
 * stage come out as differences of runs counted under qemu-user and the
 * outputs can be compared bit for bit with this machine's (asr/cross.py,
 * asr-rtf --platform armv7|aarch64; built by native/Makefile).
 *
 * Usage
 *   pipeline_driver kernels
 *       Prints the names of the available kernels, space separated.
 *   pipeline_driver STAGE [--kernel K] [--lm F.asrlm] [--frontend auto|int|float]
 *                   [--dump OUT] MODEL.asrm LEXICON.asrlex FILE.wav ...
 *
 * Every stage loads the recognizer (asr_recognizer_open) and reads each
 * WAV whole (asr_wav_read); then per file:
 *   load      nothing more: the baseline of the other runs;
 *   features  the recognizer's frontend (asr_recognizer_frontend) over the
 *             samples, fed 1600 at a time as the example feeds them; with
 *             --dump the feature frames are written to OUT (an integer
 *             frontend's in the network's input type: _q calls);
 *   network   the same, each call's frames through the recognizer's
 *             network (asr_stream_forward or, integer frontend,
 *             asr_stream_forward_q; finish at the end); with
 *             --dump the output frames (log-probabilities) are written to
 *             OUT;
 *   all       the recognizer stream (asr_rstream_accept_f32 in 1600-sample
 *             chunks, then finish): features, network, endpointing and
 *             search, printing every final and its words.
 * So features - load, network - features and all - network are the
 * instructions of the frontend, the network and the search (with
 * endpointing and results): the recognizer runs the same calls on the same
 * chunks inside asr_rstream. A dump is the values as the library wrote
 * them (native float32, or the "frontend" line's type for features; values
 * per frame as the "frames" line says, files
 * one after the other); writing it is counted with the stage that dumps
 * and costs about 0.1 % of the features stage (16 kB of features per
 * second of audio), less of the others.
 *
 * Output (stdout, tab-separated lines; doubles with %.17g and floats with
 * %.9g, so they read back exactly):
 *   kernel  NAME
 *   frontend  int|float  float32|int8|int16   (the feature frames' type)
 *   load    LIVE_BYTES  HEAP_PEAK_BYTES  HEAP_AND_MAPPED_PEAK_BYTES
 *   file    PATH  SAMPLES  RATE                     (every stage)
 *   frames  FEATURE_FRAMES  OUTPUT_FRAMES  LABELS   (features: output 0)
 *   final   START  END  TEXT                        (all)
 *   word    WORD  START  END  CONF                  (all)
 *   decode  PEAK_BYTES                              (all, per file)
 * Bytes are those of heap_count.c, counted from the start of the load:
 * load's LIVE is what the loaded recognizer holds, its peaks the most held
 * while loading (the mapped files included in the second); decode's PEAK
 * is the most the decoding of the file held on top of LIVE (the stream,
 * its buffers and results), the WAV's samples not included (a device
 * streams its audio).
 * Exit status 0; 1 with a message on stderr for a bad file; 2 for a usage
 * error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asr_recognizer.h"
#include "driver_common.h"
#include "heap_count.h"

/* Samples per call: 0.1 s at 16 kHz, as the example feeds them. */
#define CHUNK 1600

enum stage { STAGE_LOAD, STAGE_FEATURES, STAGE_NETWORK, STAGE_ALL };

typedef struct run {
    enum stage stage;
    const asr_recognizer *rec;
    uint32_t feat_dim, n_labels;
    int quantized;           /* an integer frontend: frames in the network's input type */
    size_t elem;             /* bytes per frame value: 4 (float), 2 or 1 */
    FILE *dump;              /* --dump: NULL when not written */
    void *feats;             /* per-call buffers, grown as needed */
    float *out;
    size_t feats_cap, out_cap;
} run;

static int usage(void)
{
    fprintf(stderr, "usage: pipeline_driver kernels\n"
                    "       pipeline_driver load|features|network|all [--kernel K] [--lm F.asrlm]\n"
                    "                       [--frontend auto|int|float] [--dump OUT]\n"
                    "                       MODEL.asrm LEXICON.asrlex FILE.wav ...\n");
    return 2;
}

static int kernel_of(const char *name)
{
    int i;
    if (!strcmp(name, "auto"))
        return ASR_KERNEL_AUTO;
    for (i = 0; i < ASR_KERNEL_COUNT; i++)
        if (!strcmp(name, asr_kernel_name(i)))
            return i;
    return -2;
}

/* Makes room for n values of elem bytes in *buf. */
static int reserve(void **buf, size_t *cap, size_t n, size_t elem)
{
    void *p;
    if (n <= *cap)
        return 0;
    if (!(p = realloc(*buf, n * elem)))
        return -1;
    *buf = p;
    *cap = n;
    return 0;
}

/* The network over n_frames feature frames in r->feats (and its tail when
 * finish); the output frames go to --dump. */
static int forward(run *r, asr_stream *net, size_t n_frames, int finish, size_t *n_out,
                   asr_status *st)
{
    size_t need, got;
    if (asr_stream_pending(net, n_frames, finish, &need, st) != ASR_OK)
        return -1;
    if (reserve((void **)&r->out, &r->out_cap, (need ? need : 1) * r->n_labels, sizeof(float)))
        return -1;
    if ((r->quantized ? asr_stream_forward_q(net, r->feats, n_frames, finish, r->out, need, &got, st)
                      : asr_stream_forward(net, r->feats, n_frames, finish, r->out, need, &got, st))
        != ASR_OK)
        return -1;
    *n_out += got;
    if (r->dump && fwrite(r->out, sizeof(float), got * r->n_labels, r->dump) != got * r->n_labels) {
        snprintf(st->message, sizeof(st->message), "cannot write the log-probabilities");
        return -1;
    }
    return 0;
}

/* Stage features: n frames of r->feats go to --dump. */
static int dump_features(run *r, size_t n, asr_status *st)
{
    if (r->dump && fwrite(r->feats, r->elem, n * r->feat_dim, r->dump) != n * r->feat_dim) {
        snprintf(st->message, sizeof(st->message), "cannot write the features");
        return -1;
    }
    return 0;
}

/* Stages features and network: the recognizer's frontend (and network)
 * over x, chunk by chunk. */
static int run_stages(run *r, const float *x, const asr_wav_info *info, asr_status *st)
{
    asr_fstream *fs = NULL;
    asr_stream *net = NULL;
    size_t i, need, got, frames = 0, n_out = 0;
    int rc = -1;

    if (asr_fstream_create(asr_recognizer_frontend(r->rec), info->sample_rate, &fs, st) != ASR_OK
        || (r->stage == STAGE_NETWORK && asr_stream_create(asr_recognizer_net(r->rec), &net, st) != ASR_OK))
        goto done;
    for (i = 0; i <= info->n_frames; i += CHUNK) {
        size_t k = info->n_frames - i < CHUNK ? info->n_frames - i : CHUNK;
        int last = i + CHUNK > info->n_frames;
        /* The last pass (k may be 0) feeds the tail, then finishes. */
        if (asr_fstream_pending(fs, k, 0, &need, st) != ASR_OK
            || reserve(&r->feats, &r->feats_cap, (need ? need : 1) * r->feat_dim, r->elem)
            || (r->quantized ? asr_fstream_accept_f32_q(fs, x + i, k, r->feats, need, &got, st)
                             : asr_fstream_accept_f32(fs, x + i, k, r->feats, need, &got, st)) != ASR_OK)
            goto done;
        frames += got;
        if (net ? forward(r, net, got, 0, &n_out, st) : dump_features(r, got, st))
            goto done;
        if (last) {
            if (asr_fstream_pending(fs, 0, 1, &need, st) != ASR_OK
                || reserve(&r->feats, &r->feats_cap, (need ? need : 1) * r->feat_dim, r->elem)
                || (r->quantized ? asr_fstream_finish_q(fs, r->feats, need, &got, st)
                                 : asr_fstream_finish(fs, r->feats, need, &got, st)) != ASR_OK)
                goto done;
            frames += got;
            if (net ? forward(r, net, got, 1, &n_out, st) : dump_features(r, got, st))
                goto done;
        }
    }
    printf("frames\t%zu\t%zu\t%u\n", frames, n_out, r->n_labels);
    rc = 0;
done:
    asr_stream_free(net);
    asr_fstream_free(fs);
    return rc;
}

/* Prints final i of the stream's last call. */
static int print_final(const asr_rstream *s, size_t i, asr_status *st)
{
    asr_result res;
    size_t j;
    if (asr_rstream_final(s, i, &res, st) != ASR_OK)
        return -1;
    printf("final\t%.17g\t%.17g\t%s\n", res.start, res.end, res.text);
    for (j = 0; j < res.n_words; j++)
        printf("word\t%s\t%.17g\t%.17g\t%.9g\n", res.words[j].word, res.words[j].start,
               res.words[j].end, (double)res.words[j].conf);
    return 0;
}

/* Stage all: the recognizer stream, as the example runs it. */
static int run_all(run *r, const float *x, const asr_wav_info *info, asr_status *st)
{
    asr_rstream *s = NULL;
    size_t i, j, n;
    int rc = -1;
    if (asr_rstream_create(r->rec, info->sample_rate, 0, &s, st) != ASR_OK)
        goto done;
    for (i = 0; i < info->n_frames; i += CHUNK) {
        size_t k = info->n_frames - i < CHUNK ? info->n_frames - i : CHUNK;
        if (asr_rstream_accept_f32(s, x + i, k, &n, st) != ASR_OK)
            goto done;
        for (j = 0; j < n; j++)
            if (print_final(s, j, st))
                goto done;
    }
    if (asr_rstream_finish(s, &n, st) != ASR_OK)
        goto done;
    for (j = 0; j < n; j++)
        if (print_final(s, j, st))
            goto done;
    rc = 0;
done:
    asr_rstream_free(s);
    return rc;
}

/* One file through the stage; 0 on success. */
static int run_file(run *r, const char *path, size_t base)
{
    asr_status st = {0, ""};
    asr_wav_info info;
    float *x = NULL;
    size_t before = heap_count_live(), wav;
    int rc = -1;

    if (asr_wav_read(path, &info, &x, &st) != ASR_OK)
        goto done;
    if (info.n_frames == 0) {
        snprintf(st.message, sizeof(st.message), "%s: the file holds no samples", path);
        goto done;
    }
    printf("file\t%s\t%zu\t%u\n", path, info.n_frames, info.sample_rate);
    wav = heap_count_live() - before;
    heap_count_reset_peaks();
    if (r->stage == STAGE_FEATURES || r->stage == STAGE_NETWORK)
        rc = run_stages(r, x, &info, &st);
    else if (r->stage == STAGE_ALL)
        rc = run_all(r, x, &info, &st);
    else
        rc = 0;
    if (rc == 0 && r->stage == STAGE_ALL)
        printf("decode\t%zu\n", heap_count_peak() - wav - base);
done:
    if (rc)
        fprintf(stderr, "pipeline_driver: %s\n", st.message[0] ? st.message : "out of memory");
    asr_wav_free(x);
    return rc;
}

int main(int argc, char **argv)
{
    /* stdout's buffer is static so that printing allocates nothing that
     * would count as the recognizer's memory. */
    static char outbuf[1 << 14];
    const char *lm = NULL, *dump = NULL;
    asr_recognizer *rec = NULL;
    asr_status st = {0, ""};
    int kernel = ASR_KERNEL_AUTO, frontend = ASR_FE_AUTO, i, failed = 0, k, mode, out_dtype;
    asr_recognizer_files files;
    uint32_t sub, rate;
    size_t base;
    run r;

    setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
    memset(&r, 0, sizeof(r));
    if (argc == 2 && !strcmp(argv[1], "kernels"))
        return print_kernels();
    if (argc < 2)
        return usage();
    if (!strcmp(argv[1], "load"))
        r.stage = STAGE_LOAD;
    else if (!strcmp(argv[1], "features"))
        r.stage = STAGE_FEATURES;
    else if (!strcmp(argv[1], "network"))
        r.stage = STAGE_NETWORK;
    else if (!strcmp(argv[1], "all"))
        r.stage = STAGE_ALL;
    else
        return usage();
    for (i = 2; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
        if (!strcmp(argv[i], "--kernel")) {
            if ((kernel = kernel_of(argv[i + 1])) == -2) {
                fprintf(stderr, "pipeline_driver: unknown kernel %s\n", argv[i + 1]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--frontend")) {
            if ((frontend = !strcmp(argv[i + 1], "int") ? ASR_FE_INT : !strcmp(argv[i + 1], "float")
                 ? ASR_FE_FLOAT : !strcmp(argv[i + 1], "auto") ? ASR_FE_AUTO : -2) == -2) {
                fprintf(stderr, "pipeline_driver: unknown frontend %s\n", argv[i + 1]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--lm"))
            lm = argv[i + 1];
        else if (!strcmp(argv[i], "--dump"))
            dump = argv[i + 1];
        else
            return usage();
    }
    if (argc - i < 3 || (dump && r.stage != STAGE_FEATURES && r.stage != STAGE_NETWORK))
        return usage();
    if (dump && !(r.dump = fopen(dump, "wb"))) {
        fprintf(stderr, "pipeline_driver: cannot open %s\n", dump);
        return 1;
    }
    base = heap_count_live();
    heap_count_reset_peaks();
    asr_recognizer_files_init(&files);
    files.model = argv[i];
    files.lexicon = argv[i + 1];
    files.lm = lm;
    files.kernel = kernel;
    files.frontend = frontend;
    if (asr_recognizer_open(&files, &rec, &st) != ASR_OK) {
        fprintf(stderr, "pipeline_driver: %s\n", st.message);
        failed = 1;
        goto done;
    }
    printf("load\t%zu\t%zu\t%zu\n", heap_count_live() - base, heap_count_peak() - base,
           heap_count_total_peak() - base);
    r.rec = rec;
    if (asr_net_info(asr_recognizer_net(rec), &r.n_labels, &sub, &k, &st) != ASR_OK
        || asr_frontend_info(asr_recognizer_frontend(rec), &r.feat_dim, &rate, &st) != ASR_OK
        || asr_frontend_format(asr_recognizer_frontend(rec), &mode, &out_dtype, NULL, NULL, &st) != ASR_OK) {
        fprintf(stderr, "pipeline_driver: %s\n", st.message);
        failed = 1;
        goto done;
    }
    r.quantized = mode == ASR_FE_INT;
    r.elem = out_dtype == ASR_S8 ? 1 : out_dtype == ASR_S16 ? 2 : 4;
    printf("kernel\t%s\n", asr_kernel_name(k));
    printf("frontend\t%s\t%s\n", r.quantized ? "int" : "float",
           out_dtype == ASR_S8 ? "int8" : out_dtype == ASR_S16 ? "int16" : "float32");
    base = heap_count_live();
    for (i += 2; i < argc; i++)
        if (run_file(&r, argv[i], base))
            failed = 1;
done:
    free(r.feats);
    free(r.out);
    asr_recognizer_free(rec);
    if (r.dump && fclose(r.dump) != 0 && !failed) {
        fprintf(stderr, "pipeline_driver: cannot write %s\n", dump);
        failed = 1;
    }
    return failed;
}
