/*
 * recognizer.c - features + network + search + endpointing
 * (asr_recognizer.h).
 *
 * A stream owns a frontend stream, a network stream and the search of the
 * utterance in progress. Audio goes through the frontend in pieces of at
 * most PIECE samples (so a huge chunk never needs a huge feature buffer),
 * each piece's frames through the network; the network's output frames are
 * scanned one by one for endpoints, and the frames of each utterance are
 * handed to that utterance's search. Results of the call are kept in the
 * stream (strings in one arena per result) until the next call.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asr_recognizer.h"
#include "common.h"

/* Samples per frontend call: bounds the feature buffer (PIECE / hop frames). */
#define PIECE 16384

/* What ASR_FE_AUTO picks for integer models (asr_recognizer_load): the
 * integer frontend, whose WER is never more than 0.2 points worse than the
 * float one's on any real test set (README, "Integer frontend"). */
#define ASR_FE_AUTO_INTEGER ASR_FE_INT

/* What asr_recognizer_load loaded; freed with the recognizer. */
typedef struct owned_files {
    asr_model *model;
    asr_frontend *fe;
    asr_lexicon *lex;
    asr_vocab *words;
    asr_lm *lm;
    asr_vocab *lm_vocab;
    asr_decoder *dec;
} owned_files;

struct asr_recognizer {
    owned_files *owned;     /* NULL when created from parts */
    const asr_frontend *fe;
    int fe_int;             /* fe is the integer frontend: frames are the
                               network's quantized input (asr_stream_forward_q) */
    uint32_t feat_dim;
    const asr_net *net;
    const asr_decoder *dec;
    char **names;           /* n_names pointers into name_chars */
    char *name_chars;       /* every name, NUL-terminated, one block (one
                               allocation for a 30,000-word vocabulary, not 30,000) */
    size_t n_names;
    uint32_t n_labels;
    int32_t blank;
    double frame_shift_s;
    int endpoint_enabled;
    size_t silence_frames;  /* silent frames that end an utterance */
    size_t max_frames;      /* frames that end an utterance regardless */
    double blank_logp;      /* log(blank_threshold) */
    size_t nbest;
};

/* One final result, owning its storage. */
typedef struct final_result {
    char *text;
    asr_result_word *words;
    size_t n_words;
    double start, end;
    char **alt_text;
    double *alt_score;
    size_t n_alt;
    float *logprobs;
    size_t n_frames;
} final_result;

struct asr_rstream {
    const asr_recognizer *rec;
    const asr_recognizer *next_rec;     /* takes over at the next utterance */
    asr_fstream *fe;        /* NULL without a frontend */
    asr_stream *net;
    asr_search *search;
    float *feats;           /* frontend output of the current piece: float,
                               or int8/int16 frames (which need less room) */
    size_t feats_cap;       /* floats */
    uint64_t samples;
    int keep_logprobs;
    int finished;
    size_t frame;           /* output frames consumed, whole stream */
    size_t utt_start;       /* first frame of the utterance in progress */
    size_t blank_run;
    int speech;
    float *out;             /* network output of the current call */
    size_t out_cap;
    float *utt_lp;          /* keep_logprobs: the utterance's frames */
    size_t utt_lp_n, utt_lp_cap;
    final_result *finals;
    size_t n_finals, finals_cap;
    asr_word *hyp;          /* scratch for asr_search_hyp */
    size_t hyp_cap;
    char *partial;
    double seconds[3];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ----------------------------------------------------------- recognizer */

static int check_endpoint(const asr_endpoint_opts *ep, asr_status *st)
{
    if (!ep->enabled)
        return ASR_OK;
    if (!(ep->silence_s > 0 && ep->silence_s < 3600) || !(ep->max_utterance_s > 0 && ep->max_utterance_s <= 86400)
        || !(ep->blank_threshold > 0 && ep->blank_threshold <= 1))
        return asr_fail(st, ASR_E_ARG, "asr_recognizer_create: endpoint needs silence_s in (0, 3600), "
                        "max_utterance_s in (0, 86400] and blank_threshold in (0, 1]");
    return ASR_OK;
}

/* An integer frontend must write exactly the first layer's input: same
 * dtype, scale and zero point (its mean and inv_std are the caller's word). */
static int check_quant(const asr_frontend *fe, const asr_net *net, int *fe_int, asr_status *st)
{
    int mode, out_dtype, net_dtype, rc;
    double fe_scale, net_scale;
    int32_t fe_zero, net_zero;
    if ((rc = asr_frontend_format(fe, &mode, &out_dtype, &fe_scale, &fe_zero, st)) != ASR_OK
        || (rc = asr_net_input_quant(net, &net_dtype, &net_scale, &net_zero, NULL, NULL, st)) != ASR_OK)
        return rc;
    *fe_int = mode == ASR_FE_INT;
    if (mode != ASR_FE_INT)
        return ASR_OK;
    if (out_dtype != net_dtype || fe_scale != net_scale || fe_zero != net_zero)
        return asr_fail(st, ASR_E_ARG, "asr_recognizer_create: the integer frontend's output "
                        "(dtype %d, scale %g, zero %d) is not the network's input (dtype %d, "
                        "scale %g, zero %d); make it from asr_net_input_quant", out_dtype, fe_scale,
                        (int)fe_zero, net_dtype, net_scale, (int)net_zero);
    return ASR_OK;
}

int asr_recognizer_create(const asr_frontend *fe, const asr_net *net, const asr_decoder *dec, const char *const *names,
                          size_t n_names, int32_t blank, double frame_shift_s,
                          const asr_endpoint_opts *endpoint, size_t nbest,
                          asr_recognizer **out, asr_status *st)
{
    asr_recognizer *r;
    uint32_t n_labels, sub, feat_dim = 0;
    int kernel, rc, fe_int = 0;
    size_t i, chars = 0;

    if (!out || !net || !dec || !endpoint || (n_names && !names))
        return asr_fail(st, ASR_E_ARG, "asr_recognizer_create: null pointer");
    *out = NULL;
    if (!(frame_shift_s > 0 && frame_shift_s < 10))
        return asr_fail(st, ASR_E_ARG, "asr_recognizer_create: frame shift %g s is not in (0, 10)",
                        frame_shift_s);
    if (nbest > 1000 || n_names > (size_t)INT32_MAX)
        return asr_fail(st, ASR_E_ARG, "asr_recognizer_create: nbest (%zu) or word count (%zu) too large",
                        nbest, n_names);
    if ((rc = check_endpoint(endpoint, st)) != ASR_OK)
        return rc;
    if ((rc = asr_net_info(net, &n_labels, &sub, &kernel, st)) != ASR_OK)
        return rc;
    if (fe) {
        uint32_t rate, net_dim;
        if ((rc = asr_frontend_info(fe, &feat_dim, &rate, st)) != ASR_OK
            || (rc = asr_net_input_dim(net, &net_dim, st)) != ASR_OK)
            return rc;
        if (feat_dim != net_dim)
            return asr_fail(st, ASR_E_SHAPE, "asr_recognizer_create: the frontend gives %u values "
                            "per frame, the network takes %u", feat_dim, net_dim);
        if ((rc = check_quant(fe, net, &fe_int, st)) != ASR_OK)
            return rc;
    }
    if (blank < 0 || (uint32_t)blank >= n_labels)
        return asr_fail(st, ASR_E_ARG, "asr_recognizer_create: blank %d is not a label of the "
                        "network's %u", (int)blank, n_labels);
    for (i = 0; i < n_names; i++) {
        size_t len;
        if (!names[i])
            return asr_fail(st, ASR_E_ARG, "asr_recognizer_create: word %zu has no name", i);
        len = strlen(names[i]);
        if (chars > SIZE_MAX - 1 - len)
            return asr_fail(st, ASR_E_NOMEM, "asr_recognizer_create: names too long");
        chars += len + 1;
    }

    r = calloc(1, sizeof(*r));
    if (!r || !(r->names = calloc(n_names ? n_names : 1, sizeof(char *))) ||
        !(r->name_chars = malloc(chars ? chars : 1))) {
        asr_recognizer_free(r);
        return asr_fail(st, ASR_E_NOMEM, "asr_recognizer_create: out of memory");
    }
    r->n_names = n_names;
    for (i = 0, chars = 0; i < n_names; i++) {
        size_t len = strlen(names[i]) + 1;
        r->names[i] = memcpy(r->name_chars + chars, names[i], len);
        chars += len;
    }
    r->fe = fe;
    r->fe_int = fe_int;
    r->feat_dim = feat_dim;
    r->net = net;
    r->dec = dec;
    r->n_labels = n_labels;
    r->blank = blank;
    r->frame_shift_s = frame_shift_s;
    r->endpoint_enabled = endpoint->enabled != 0;
    if (r->endpoint_enabled) {
        /* Rounded as the Python stream did: round-half-even of a double. */
        r->silence_frames = (size_t)nearbyint((double)endpoint->silence_s / frame_shift_s);
        r->max_frames = (size_t)nearbyint((double)endpoint->max_utterance_s / frame_shift_s);
        r->blank_logp = log((double)endpoint->blank_threshold);
    }
    r->nbest = nbest;
    *out = r;
    return ASR_OK;
}

static void owned_free(owned_files *o)
{
    if (!o)
        return;
    asr_decoder_free(o->dec);
    asr_lm_free(o->lm);
    asr_vocab_free(o->lm_vocab);
    asr_lexicon_free(o->lex);
    asr_vocab_free(o->words);
    asr_frontend_free(o->fe);
    asr_model_free(o->model);
    free(o);
}

void asr_recognizer_free(asr_recognizer *r)
{
    if (!r)
        return;
    free(r->names);
    free(r->name_chars);
    owned_free(r->owned);
    free(r);
}

const asr_frontend *asr_recognizer_frontend(const asr_recognizer *rec)
{
    return rec ? rec->fe : NULL;
}

const asr_net *asr_recognizer_net(const asr_recognizer *rec)
{
    return rec ? rec->net : NULL;
}

void asr_endpoint_opts_default(asr_endpoint_opts *opts)
{
    if (!opts)
        return;
    opts->enabled = 1;
    opts->silence_s = 0.8f;
    opts->blank_threshold = 0.95f;
    opts->max_utterance_s = 30.0f;
}

/* The frontend of a model's feature configuration: float, or integer
 * writing the network's quantized input. */
static int model_frontend(const asr_model *m, int mode, asr_frontend **out, asr_status *st)
{
    const asr_feature_config *c = asr_model_features(m);
    asr_frontend_desc d;
    int rc;
    memset(&d, 0, sizeof(d));
    d.mode = mode;
    if (mode == ASR_FE_INT
        && (rc = asr_net_input_quant(asr_model_net(m), &d.out_dtype, &d.in_scale, &d.in_zero,
                                     &d.mean, &d.inv_std, st)) != ASR_OK)
        return rc;
    d.sample_rate = c->sample_rate;
    d.win_len = c->win_len;
    d.hop_len = c->hop_len;
    d.nfft = c->nfft;
    d.num_filters = c->num_filters;
    d.low_hz = c->low_hz;
    d.high_hz = c->high_hz;
    d.preemph = c->preemph;
    d.log_floor = c->log_floor;
    if (!strcmp(c->window, "hamming"))
        d.window = ASR_FE_WINDOW_HAMMING;
    else if (!strcmp(c->window, "rect"))
        d.window = ASR_FE_WINDOW_RECT;
    else
        return asr_fail(st, ASR_E_FORMAT, "the model's window \"%s\" is not one the frontend has",
                        c->window);
    d.cmn_frames = c->cmn_frames;
    d.cmn_prior_frames = c->cmn_prior_frames;
    d.cmn_prior = c->n_cmn_prior ? c->cmn_prior : NULL;
    return asr_frontend_create(&d, out, st);
}

/* The names of a vocabulary's strings, borrowed from it. */
static const char **vocab_names(const asr_vocab *v, asr_status *st)
{
    size_t i, n = asr_vocab_size(v);
    const char **names = malloc((n ? n : 1) * sizeof(char *));
    if (!names) {
        asr_fail(st, ASR_E_NOMEM, "asr_recognizer_load: out of memory");
        return NULL;
    }
    for (i = 0; i < n; i++)
        names[i] = asr_vocab_string(v, i);
    return names;
}

/* The frontend ASR_FE_AUTO chooses for a network whose first layer has
 * this dtype. */
static int auto_frontend(int dtype)
{
    return dtype == ASR_F32 ? ASR_FE_FLOAT : ASR_FE_AUTO_INTEGER;
}

void asr_recognizer_files_init(asr_recognizer_files *files)
{
    if (!files)
        return;
    memset(files, 0, sizeof(*files));
    files->kernel = ASR_KERNEL_AUTO;
    files->frontend = ASR_FE_AUTO;
}

/* The grammar or LM, then the lexicon (restricted to the phrases' words
 * with phrases) of files, into o. */
static int load_words(const asr_recognizer_files *files, owned_files *o, asr_status *st)
{
    int rc = ASR_OK;
    if (files->n_phrases)
        rc = asr_grammar_from_phrases(files->phrases, files->n_phrases, &o->lm, &o->lm_vocab, st);
    else if (files->lm)
        rc = asr_lm_load(files->lm, &o->lm, &o->lm_vocab, st);
    if (rc != ASR_OK)
        return rc;
    return files->n_phrases
               ? asr_lexicon_load_words(files->lexicon, asr_model_labels(o->model), o->lm_vocab,
                                        &o->lex, &o->words, st)
               : asr_lexicon_load(files->lexicon, asr_model_labels(o->model), &o->lex, &o->words, st);
}

int asr_recognizer_open(const asr_recognizer_files *files, asr_recognizer **out, asr_status *st)
{
    owned_files *o;
    asr_endpoint_opts ep;
    const char **names = NULL;
    int rc, dtype, frontend;

    if (!out || !files || !files->model || !files->lexicon || (files->n_phrases && !files->phrases))
        return asr_fail(st, ASR_E_ARG, "asr_recognizer_open: null pointer");
    *out = NULL;
    frontend = files->frontend;
    if (frontend != ASR_FE_AUTO && frontend != ASR_FE_FLOAT && frontend != ASR_FE_INT)
        return asr_fail(st, ASR_E_ARG, "asr_recognizer_open: unknown frontend mode %d", frontend);
    if (files->n_phrases && files->lm)
        return asr_fail(st, ASR_E_ARG, "asr_recognizer_open: phrases replace the LM; give one or "
                        "the other");
    if (files->endpoint)
        ep = *files->endpoint;
    else
        asr_endpoint_opts_default(&ep);
    if (!(o = calloc(1, sizeof(*o))))
        return asr_fail(st, ASR_E_NOMEM, "asr_recognizer_open: out of memory");
    if ((rc = asr_model_load(files->model, files->kernel, &o->model, st)) != ASR_OK
        || (rc = asr_net_input_quant(asr_model_net(o->model), &dtype, NULL, NULL, NULL, NULL, st)) != ASR_OK)
        goto fail;
    if (frontend == ASR_FE_AUTO)
        frontend = auto_frontend(dtype);
    if (frontend == ASR_FE_INT && dtype == ASR_F32) {
        rc = asr_fail(st, ASR_E_ARG, "asr_recognizer_open: %s is a float model; the integer "
                      "frontend feeds integer models", files->model);
        goto fail;
    }
    if ((rc = model_frontend(o->model, frontend, &o->fe, st)) != ASR_OK
        || (rc = load_words(files, o, st)) != ASR_OK
        || (rc = asr_decoder_create_words(asr_model_labels(o->model), o->lex, o->words, o->lm,
                                          o->lm_vocab, files->decoder, &o->dec, st)) != ASR_OK
        || (asr_model_label_log_prior(o->model)
            && (rc = asr_decoder_set_label_prior(o->dec, asr_model_label_log_prior(o->model),
                                                 asr_vocab_size(asr_model_labels(o->model)),
                                                 st)) != ASR_OK))
        goto fail;
    if (!(names = vocab_names(o->words, st))) {
        rc = ASR_E_NOMEM;
        goto fail;
    }
    rc = asr_recognizer_create(o->fe, asr_model_net(o->model), o->dec, names, asr_vocab_size(o->words),
                               asr_model_blank(o->model), asr_model_frame_shift(o->model), &ep, 5,
                               out, st);
    free(names);
    if (rc != ASR_OK)
        goto fail;
    (*out)->owned = o;
    return ASR_OK;
fail:
    owned_free(o);
    return rc;
}

int asr_recognizer_load(const char *model_path, const char *lexicon_path, const char *lm_path,
                        int kernel, const asr_endpoint_opts *endpoint, asr_recognizer **out,
                        asr_status *st)
{
    asr_recognizer_files files;
    asr_recognizer_files_init(&files);
    files.model = model_path;
    files.lexicon = lexicon_path;
    files.lm = lm_path;
    files.kernel = kernel;
    files.endpoint = endpoint;
    return asr_recognizer_open(&files, out, st);
}

/* --------------------------------------------------------------- results */

static void final_clear(final_result *f)
{
    size_t i;
    free(f->text);
    free(f->words);
    for (i = 0; i < f->n_alt; i++)
        free(f->alt_text[i]);
    free(f->alt_text);
    free(f->alt_score);
    free(f->logprobs);
    memset(f, 0, sizeof(*f));
}

static void finals_clear(asr_rstream *s)
{
    size_t i;
    for (i = 0; i < s->n_finals; i++)
        final_clear(&s->finals[i]);
    s->n_finals = 0;
}

/* Hypothesis `rank` of the last asr_search_rank into s->hyp; its word
 * count in *n. */
static int fetch_hyp(asr_rstream *s, size_t rank, size_t *n, double *score, asr_status *st)
{
    int rc;
    for (;;) {
        if ((rc = asr_search_hyp(s->search, rank, s->hyp, s->hyp_cap, n, score, st)) != ASR_OK)
            return rc;
        if (*n <= s->hyp_cap)
            return ASR_OK;
        if (asr_grow((void **)&s->hyp, &s->hyp_cap, *n, sizeof(asr_word)))
            return asr_fail(st, ASR_E_NOMEM, "asr_rstream: out of memory for %zu words", *n);
    }
}

/* The words of s->hyp[0..n) joined by spaces; NULL when out of memory or
 * when a word id is not a name (reported in st). */
static char *join_words(const asr_rstream *s, size_t n, asr_status *st)
{
    const asr_recognizer *r = s->rec;
    size_t i, len = 1;
    char *text, *p;
    for (i = 0; i < n; i++) {
        if (s->hyp[i].id < 0 || (size_t)s->hyp[i].id >= r->n_names) {
            asr_fail(st, ASR_E_SHAPE, "asr_rstream: the decoder gave word %d, the recognizer "
                     "names %zu", (int)s->hyp[i].id, r->n_names);
            return NULL;
        }
        len += strlen(r->names[s->hyp[i].id]) + 1;
    }
    if (!(p = text = malloc(len))) {
        asr_fail(st, ASR_E_NOMEM, "asr_rstream: out of memory");
        return NULL;
    }
    for (i = 0; i < n; i++) {
        size_t k = strlen(r->names[s->hyp[i].id]);
        if (i)
            *p++ = ' ';
        memcpy(p, r->names[s->hyp[i].id], k);
        p += k;
    }
    *p = '\0';
    return text;
}

static int add_alternative(final_result *f, char *text, double score, size_t cap)
{
    size_t i;
    for (i = 0; i < f->n_alt; i++)
        if (!strcmp(f->alt_text[i], text)) {
            free(text);
            return 0;
        }
    if (f->n_alt >= cap) {
        free(text);
        return 0;
    }
    f->alt_text[f->n_alt] = text;
    f->alt_score[f->n_alt++] = score;
    return 0;
}

/* The final result of the search into f. */
static int close_search(asr_rstream *s, final_result *f, asr_status *st)
{
    const asr_recognizer *r = s->rec;
    size_t n_hyps, n, rank, i;
    double score, t0 = (double)s->utt_start * r->frame_shift_s;
    int rc;

    if ((rc = asr_search_rank(s->search, 1, &n_hyps, st)) != ASR_OK)
        return rc;
    f->start = t0;
    f->end = (double)s->frame * r->frame_shift_s;
    if (n_hyps == 0)
        return (f->text = calloc(1, 1)) ? ASR_OK : asr_fail(st, ASR_E_NOMEM, "asr_rstream: out of memory");
    if ((rc = fetch_hyp(s, 0, &n, &score, st)) != ASR_OK)
        return rc;
    if (!(f->text = join_words(s, n, st)))
        return st ? st->code : ASR_E_NOMEM;
    if (n && !(f->words = malloc(n * sizeof(asr_result_word))))
        return asr_fail(st, ASR_E_NOMEM, "asr_rstream: out of memory");
    for (i = 0; i < n; i++) {
        float c = s->hyp[i].conf;
        f->words[i].word = r->names[s->hyp[i].id];
        f->words[i].start = t0 + (double)s->hyp[i].start * r->frame_shift_s;
        f->words[i].end = t0 + (double)s->hyp[i].end * r->frame_shift_s;
        f->words[i].conf = c < 0 ? 0.0f : c > 1 ? 1.0f : c;
    }
    f->n_words = n;
    if (!r->nbest)
        return ASR_OK;
    if (!(f->alt_text = calloc(r->nbest, sizeof(char *))) || !(f->alt_score = calloc(r->nbest, sizeof(double))))
        return asr_fail(st, ASR_E_NOMEM, "asr_rstream: out of memory");
    for (rank = 0; rank < n_hyps && f->n_alt < r->nbest; rank++) {
        char *text;
        if (rank == 0) {
            text = malloc(strlen(f->text) + 1);
            if (text)
                strcpy(text, f->text);
            else
                return asr_fail(st, ASR_E_NOMEM, "asr_rstream: out of memory");
        } else {
            if ((rc = fetch_hyp(s, rank, &n, &score, st)) != ASR_OK)
                return rc;
            if (!(text = join_words(s, n, st)))
                return st ? st->code : ASR_E_NOMEM;
        }
        add_alternative(f, text, score, r->nbest);
    }
    return ASR_OK;
}

/* Starts the next utterance at frame s->frame with a new search (of the
 * pending recognizer, if one was set). */
static int start_utterance(asr_rstream *s, asr_status *st)
{
    asr_search *search;
    int rc;
    if (s->next_rec) {
        s->rec = s->next_rec;
        s->next_rec = NULL;
    }
    if ((rc = asr_search_create(s->rec->dec, &search, st)) != ASR_OK)
        return rc;
    asr_search_free(s->search);
    s->search = search;
    s->utt_start = s->frame;
    s->blank_run = 0;
    s->speech = 0;
    s->utt_lp_n = 0;
    return ASR_OK;
}

/* Ends the utterance in progress: its final result joins s->finals. With
 * `last`, an empty result is kept only when it is the stream's only one. */
static int close_utterance(asr_rstream *s, asr_status *st)
{
    final_result *f;
    int rc;
    if (asr_grow((void **)&s->finals, &s->finals_cap, s->n_finals + 1, sizeof(final_result)))
        return asr_fail(st, ASR_E_NOMEM, "asr_rstream: out of memory");
    f = &s->finals[s->n_finals];
    memset(f, 0, sizeof(*f));
    s->n_finals++;
    if ((rc = close_search(s, f, st)) != ASR_OK)
        return rc;
    if (s->keep_logprobs && s->utt_lp_n) {
        size_t bytes = s->utt_lp_n * s->rec->n_labels * sizeof(float);
        if (!(f->logprobs = malloc(bytes)))
            return asr_fail(st, ASR_E_NOMEM, "asr_rstream: out of memory");
        memcpy(f->logprobs, s->utt_lp, bytes);
        f->n_frames = s->utt_lp_n;
    } else {
        f->n_frames = s->frame - s->utt_start;
    }
    return ASR_OK;
}

/* Hands output frames [from, to) of s->out to the utterance's search. */
static int feed_search(asr_rstream *s, size_t from, size_t to, asr_status *st)
{
    size_t L = s->rec->n_labels;
    int rc;
    if (to <= from)
        return ASR_OK;
    if ((rc = asr_search_accept(s->search, s->out + from * L, to - from, L, st)) != ASR_OK)
        return rc;
    if (s->keep_logprobs) {
        if (asr_grow((void **)&s->utt_lp, &s->utt_lp_cap, (s->utt_lp_n + to - from) * L, sizeof(float)))
            return asr_fail(st, ASR_E_NOMEM, "asr_rstream: out of memory");
        memcpy(s->utt_lp + s->utt_lp_n * L, s->out + from * L, (to - from) * L * sizeof(float));
        s->utt_lp_n += to - from;
    }
    s->frame += to - from;
    return ASR_OK;
}

/* Endpointing over n output frames in s->out, feeding them to the searches. */
static int decode_frames(asr_rstream *s, size_t n, asr_status *st)
{
    size_t i, start = 0;
    int rc;
    for (i = 0; i < n && s->rec->endpoint_enabled; i++) {
        const asr_recognizer *r = s->rec;
        size_t frame;
        if ((double)s->out[i * r->n_labels + r->blank] >= r->blank_logp) {
            s->blank_run++;
        } else {
            s->blank_run = 0;
            s->speech = 1;
        }
        frame = s->frame + (i + 1 - start);
        if ((s->speech && s->blank_run >= r->silence_frames) || frame - s->utt_start >= r->max_frames) {
            if ((rc = feed_search(s, start, i + 1, st)) != ASR_OK)
                return rc;
            start = i + 1;
            if ((rc = close_utterance(s, st)) != ASR_OK || (rc = start_utterance(s, st)) != ASR_OK)
                return rc;
        }
    }
    return feed_search(s, start, n, st);
}

/* ----------------------------------------------------------------- stream */

int asr_rstream_create(const asr_recognizer *rec, uint32_t in_rate, int keep_logprobs,
                       asr_rstream **out, asr_status *st)
{
    asr_rstream *s;
    int rc;
    if (!rec || !out)
        return asr_fail(st, ASR_E_ARG, "asr_rstream_create: null pointer");
    *out = NULL;
    if (!(s = calloc(1, sizeof(*s))))
        return asr_fail(st, ASR_E_NOMEM, "asr_rstream_create: out of memory");
    s->rec = rec;
    s->keep_logprobs = keep_logprobs != 0;
    if ((rec->fe && (rc = asr_fstream_create(rec->fe, in_rate, &s->fe, st)) != ASR_OK)
        || (rc = asr_stream_create(rec->net, &s->net, st)) != ASR_OK
        || (rc = start_utterance(s, st)) != ASR_OK) {
        asr_rstream_free(s);
        return rc;
    }
    *out = s;
    return ASR_OK;
}

void asr_rstream_free(asr_rstream *s)
{
    if (!s)
        return;
    finals_clear(s);
    free(s->finals);
    asr_fstream_free(s->fe);
    asr_stream_free(s->net);
    asr_search_free(s->search);
    free(s->feats);
    free(s->out);
    free(s->utt_lp);
    free(s->hyp);
    free(s->partial);
    free(s);
}

int asr_rstream_set_recognizer(asr_rstream *s, const asr_recognizer *rec, asr_status *st)
{
    if (!s || !rec)
        return asr_fail(st, ASR_E_ARG, "asr_rstream_set_recognizer: null pointer");
    if (rec->net != s->rec->net)
        return asr_fail(st, ASR_E_ARG, "asr_rstream_set_recognizer: the recognizer runs another network");
    s->next_rec = rec == s->rec ? NULL : rec;
    return ASR_OK;
}

/* Runs the network over n_frames features (and its tail when finish), then
 * the endpointing and search over its output. */
static int run(asr_rstream *s, const void *feats, size_t n_frames, int finish, asr_status *st)
{
    size_t need, got;
    double t0, t1;
    int rc;
    if ((rc = asr_stream_pending(s->net, n_frames, finish, &need, st)) != ASR_OK)
        return rc;
    if (need > SIZE_MAX / sizeof(float) / s->rec->n_labels)
        return asr_fail(st, ASR_E_ARG, "asr_rstream: %zu output frames is not a plausible count", need);
    if (asr_grow((void **)&s->out, &s->out_cap, need * s->rec->n_labels, sizeof(float)))
        return asr_fail(st, ASR_E_NOMEM, "asr_rstream: out of memory for %zu frames", need);
    t0 = now_s();
    if (s->rec->fe_int)
        rc = asr_stream_forward_q(s->net, feats, n_frames, finish, s->out,
                                  s->out_cap / s->rec->n_labels, &got, st);
    else
        rc = asr_stream_forward(s->net, feats, n_frames, finish, s->out,
                                s->out_cap / s->rec->n_labels, &got, st);
    if (rc != ASR_OK)
        return rc;
    t1 = now_s();
    s->seconds[1] += t1 - t0;
    rc = decode_frames(s, got, st);
    s->seconds[2] += now_s() - t1;
    return rc;
}

int asr_rstream_accept_features(asr_rstream *s, const float *feats, size_t n_frames,
                                size_t *n_finals, asr_status *st)
{
    int rc;
    if (!s || !n_finals)
        return asr_fail(st, ASR_E_ARG, "asr_rstream_accept_features: null pointer");
    *n_finals = 0;
    if (s->finished)
        return asr_fail(st, ASR_E_ARG, "asr_rstream_accept_features: the stream is finished");
    if (s->fe)
        return asr_fail(st, ASR_E_ARG, "asr_rstream_accept_features: this recognizer computes its "
                        "own features; give it samples");
    finals_clear(s);
    rc = run(s, feats, n_frames, 0, st);
    *n_finals = s->n_finals;
    return rc;
}

/* Makes room for the frames the frontend writes for n more samples (and
 * its tail when finish); their count in *cap_frames. */
static int reserve_features(asr_rstream *s, size_t n, int finish, size_t *cap_frames, asr_status *st)
{
    size_t need;
    int rc;
    if ((rc = asr_fstream_pending(s->fe, n, finish, &need, st)) != ASR_OK)
        return rc;
    if (need > SIZE_MAX / sizeof(float) / s->rec->feat_dim
        || asr_grow((void **)&s->feats, &s->feats_cap, need * s->rec->feat_dim, sizeof(float)))
        return asr_fail(st, ASR_E_NOMEM, "asr_rstream: out of memory for %zu feature frames", need);
    *cap_frames = s->feats_cap / s->rec->feat_dim;
    return ASR_OK;
}

/* Frontend, network and search over n samples (int16 when s16, else float),
 * in pieces of at most PIECE samples. */
static int accept_audio(asr_rstream *s, const void *x, size_t n, int s16, size_t *n_finals,
                        asr_status *st)
{
    size_t done, cap = 0, got;
    int rc = ASR_OK;
    const char *fn = s16 ? "asr_rstream_accept_s16" : "asr_rstream_accept_f32";
    if (!s || !n_finals)
        return asr_fail(st, ASR_E_ARG, "%s: null pointer", fn);
    *n_finals = 0;
    if (n && !x)
        return asr_fail(st, ASR_E_ARG, "%s: null samples for a count of %zu", fn, n);
    if (s->finished)
        return asr_fail(st, ASR_E_ARG, "%s: the stream is finished", fn);
    if (!s->fe)
        return asr_fail(st, ASR_E_ARG, "%s: this recognizer has no frontend; give it features", fn);
    finals_clear(s);
    for (done = 0; done < n && rc == ASR_OK; done += got) {
        size_t piece = n - done < PIECE ? n - done : PIECE, frames;
        double t = now_s();
        got = piece;
        if ((rc = reserve_features(s, piece, 0, &cap, st)) != ASR_OK)
            break;
        if (s->rec->fe_int)
            rc = s16 ? asr_fstream_accept_s16_q(s->fe, (const int16_t *)x + done, piece, s->feats, cap, &frames, st)
                     : asr_fstream_accept_f32_q(s->fe, (const float *)x + done, piece, s->feats, cap, &frames, st);
        else
            rc = s16 ? asr_fstream_accept_s16(s->fe, (const int16_t *)x + done, piece, s->feats, cap, &frames, st)
                     : asr_fstream_accept_f32(s->fe, (const float *)x + done, piece, s->feats, cap, &frames, st);
        s->seconds[0] += now_s() - t;
        if (rc != ASR_OK)
            break;
        s->samples += piece;
        rc = run(s, s->feats, frames, 0, st);
    }
    *n_finals = s->n_finals;
    return rc;
}

int asr_rstream_accept_s16(asr_rstream *s, const int16_t *pcm, size_t n, size_t *n_finals,
                           asr_status *st)
{
    return accept_audio(s, pcm, n, 1, n_finals, st);
}

int asr_rstream_accept_f32(asr_rstream *s, const float *x, size_t n, size_t *n_finals,
                           asr_status *st)
{
    return accept_audio(s, x, n, 0, n_finals, st);
}

int asr_rstream_finish(asr_rstream *s, size_t *n_finals, asr_status *st)
{
    size_t frames = 0, cap = 0;
    double t;
    int rc;
    if (!s || !n_finals)
        return asr_fail(st, ASR_E_ARG, "asr_rstream_finish: null pointer");
    *n_finals = 0;
    if (s->finished)
        return asr_fail(st, ASR_E_ARG, "asr_rstream_finish: the stream is finished");
    s->finished = 1;
    finals_clear(s);
    if (s->fe) {
        t = now_s();
        if ((rc = reserve_features(s, 0, 1, &cap, st)) != ASR_OK
            || (rc = (s->rec->fe_int ? asr_fstream_finish_q(s->fe, s->feats, cap, &frames, st)
                                     : asr_fstream_finish(s->fe, s->feats, cap, &frames, st))) != ASR_OK)
            return rc;
        s->seconds[0] += now_s() - t;
    }
    if ((rc = run(s, s->feats, frames, 1, st)) != ASR_OK) {
        *n_finals = s->n_finals;
        return rc;
    }
    t = now_s();
    rc = close_utterance(s, st);
    s->seconds[2] += now_s() - t;
    *n_finals = s->n_finals;
    return rc;
}

int asr_rstream_final(const asr_rstream *s, size_t i, asr_result *out, asr_status *st)
{
    const final_result *f;
    if (!s || !out)
        return asr_fail(st, ASR_E_ARG, "asr_rstream_final: null pointer");
    if (i >= s->n_finals)
        return asr_fail(st, ASR_E_ARG, "asr_rstream_final: result %zu of %zu", i, s->n_finals);
    f = &s->finals[i];
    out->text = f->text;
    out->n_words = f->n_words;
    out->words = f->words;
    out->start = f->start;
    out->end = f->end;
    out->n_alternatives = f->n_alt;
    out->alternative_text = (const char *const *)f->alt_text;
    out->alternative_score = f->alt_score;
    out->n_frames = f->n_frames;
    out->logprobs = f->logprobs;
    return ASR_OK;
}

int asr_rstream_partial(asr_rstream *s, const char **text, asr_status *st)
{
    size_t n_hyps, n;
    double score;
    int rc;
    if (!s || !text)
        return asr_fail(st, ASR_E_ARG, "asr_rstream_partial: null pointer");
    *text = "";
    free(s->partial);
    s->partial = NULL;
    if ((rc = asr_search_rank(s->search, 0, &n_hyps, st)) != ASR_OK)
        return rc;
    if (n_hyps == 0)
        return ASR_OK;
    if ((rc = fetch_hyp(s, 0, &n, &score, st)) != ASR_OK)
        return rc;
    if (!(s->partial = join_words(s, n, st)))
        return st ? st->code : ASR_E_NOMEM;
    *text = s->partial;
    return ASR_OK;
}

int asr_rstream_timings(const asr_rstream *s, double *seconds3, asr_status *st)
{
    if (!s || !seconds3)
        return asr_fail(st, ASR_E_ARG, "asr_rstream_timings: null pointer");
    memcpy(seconds3, s->seconds, sizeof(s->seconds));
    return ASR_OK;
}

int asr_rstream_samples(const asr_rstream *s, uint64_t *n_samples, asr_status *st)
{
    if (!s || !n_samples)
        return asr_fail(st, ASR_E_ARG, "asr_rstream_samples: null pointer");
    *n_samples = s->samples;
    return ASR_OK;
}

int asr_rstream_frames(const asr_rstream *s, size_t *n_frames, asr_status *st)
{
    if (!s || !n_frames)
        return asr_fail(st, ASR_E_ARG, "asr_rstream_frames: null pointer");
    *n_frames = s->frame;
    return ASR_OK;
}
