/*
 * asr_recognizer.h - the recognizer in C: features + acoustic model +
 * search + endpointing, from audio samples to utterances of words.
 *
 * An asr_recognizer ties together a feature frontend (asr_frontend.h), a
 * network (asr.h), a decoder (asr_decoder.h) and the names of the decoder's
 * words, plus the endpoint rule; it is immutable after creation and may be
 * shared by threads. Each asr_rstream is one audio source: it computes the
 * features and runs the network incrementally, cuts utterances at
 * endpoints and decodes each with a fresh search.
 *
 * Typical use (files loaded with asr_files.h; errors ignored for brevity):
 *
 *     asr_recognizer_create(fe, net, dec, words, n_words, blank, shift,
 *                           &endpoint, 5, &rec, &st);
 *     asr_rstream_create(rec, 16000, 0, &s, &st);
 *     while (more audio)
 *         asr_rstream_accept_s16(s, pcm, n, &n_finals, &st);  // + partials
 *     asr_rstream_finish(s, &n_finals, &st);
 *     asr_rstream_final(s, n_finals - 1, &result, &st);
 *
 * Endpointing, per output frame of the network: a frame is "silent" when
 * the CTC blank's log-probability is at least log(blank_threshold). An
 * utterance ends after silence_s seconds of consecutive silent frames once
 * it holds one non-silent frame, or when it reaches max_utterance_s. Its
 * final result is then produced and the next utterance starts with a new
 * search (the network's context carries on). The rule is applied frame by
 * frame, so any chunking of the input gives the same utterances.
 *
 * Results: the words of the best final hypothesis, with times in seconds
 * from the start of the stream and confidences in [0, 1]; the text is the
 * words joined by single spaces; up to nbest distinct texts with their
 * total scores (natural log), best first. For a greedy decoder the "words"
 * are the model's labels.
 *
 * Conventions are asr.h's: a code is returned, an asr_status filled on
 * failure, every size validated. Pointers to results stay valid until the
 * next call that feeds, finishes or frees the stream.
 */
#ifndef ASR_RECOGNIZER_H
#define ASR_RECOGNIZER_H

#include <stddef.h>
#include <stdint.h>

#include "asr.h"
#include "asr_decoder.h"
#include "asr_files.h"
#include "asr_frontend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct asr_endpoint_opts {
    int enabled;            /* 0: one utterance per stream                    */
    float silence_s;        /* silent seconds that end an utterance (> 0)    */
    float blank_threshold;  /* blank posterior above which a frame is silent,
                               in (0, 1]                                      */
    float max_utterance_s;  /* longest utterance, seconds (> 0)               */
} asr_endpoint_opts;

typedef struct asr_recognizer asr_recognizer;
typedef struct asr_rstream asr_rstream;

/* The frontend, the network and the decoder are borrowed: they must
 * outlive the recognizer and its streams. fe may be NULL: the streams then
 * take feature frames only (asr_rstream_accept_features); otherwise its
 * values per frame must be the network's input size, and an integer
 * frontend (ASR_FE_INT) must write the network's input quantization
 * (its description filled from asr_net_input_quant). names[i] is the text of the decoder's word i
 * (lexicon words; for a greedy decoder, the model's labels), n_names of
 * them; the strings are copied. blank: the model's blank label. frame_shift_s:
 * seconds per network output frame. nbest: alternatives kept per result
 * (0 allowed). */
int asr_recognizer_create(const asr_frontend *fe, const asr_net *net, const asr_decoder *dec, const char *const *names,
                          size_t n_names, int32_t blank, double frame_shift_s,
                          const asr_endpoint_opts *endpoint, size_t nbest,
                          asr_recognizer **out, asr_status *st);
void asr_recognizer_free(asr_recognizer *rec);

/* Everything from files, as asr-decode does: the model (.asrm), the binary
 * lexicon (.asrlex) and the binary LM (.asrlm; NULL: no LM), the frontend
 * of the model's features chosen as ASR_FE_AUTO (asr_recognizer_files), the decoder with the default options
 * of asr/decoder.py and 5 alternatives per result. endpoint NULL: the
 * defaults of asr/stream.py EndpointConfig (0.8 s of silence at blank
 * posterior 0.95, utterances of at most 30 s). The recognizer owns what
 * it loads and frees it with itself. kernel: as asr_net_create. */
int asr_recognizer_load(const char *model_path, const char *lexicon_path, const char *lm_path,
                        int kernel, const asr_endpoint_opts *endpoint, asr_recognizer **out,
                        asr_status *st);
/* The frontend (NULL when the recognizer has none) and the network rec
 * runs, borrowed: they live as long as rec. For callers that run one stage
 * alone with asr_fstream / asr_stream on exactly what the recognizer would
 * run, e.g. a profiler that counts each stage's work
 * (native/tests/pipeline_driver.c). */
const asr_frontend *asr_recognizer_frontend(const asr_recognizer *rec);
const asr_net *asr_recognizer_net(const asr_recognizer *rec);
/* The files and options of asr_recognizer_open. */
typedef struct asr_recognizer_files {
    const char *model;                  /* .asrm                                   */
    const char *lexicon;                /* .asrlex                                 */
    const char *lm;                     /* .asrlm, or NULL: no LM                  */
    const char *const *phrases;         /* n_phrases phrases: only these can be
                                           recognized (asr_grammar_from_phrases;
                                           lm must be NULL)                        */
    size_t n_phrases;
    int kernel;                         /* as asr_net_create                       */
    int frontend;                       /* ASR_FE_FLOAT, ASR_FE_INT (integer models
                                           only: frames computed in integers and
                                           written in the first layer's
                                           quantization) or ASR_FE_AUTO: float for
                                           float models, for integer ones the
                                           default of README's measured choice     */
    const asr_decoder_opts *decoder;    /* NULL: asr_decoder_opts_default          */
    const asr_endpoint_opts *endpoint;  /* NULL: asr_endpoint_opts_default         */
} asr_recognizer_files;

/* Every field unset: kernel and frontend ASR_*_AUTO, the rest 0 / NULL. */
void asr_recognizer_files_init(asr_recognizer_files *files);
/* asr_recognizer_load with every option: the frontend, an LM or a phrase
 * list (the lexicon then restricted to the phrases' words, any missing one
 * an error), and the search options. Start from asr_recognizer_files_init. */
int asr_recognizer_open(const asr_recognizer_files *files, asr_recognizer **out, asr_status *st);

/* Default endpoint options (those asr_recognizer_load uses for NULL). */
void asr_endpoint_opts_default(asr_endpoint_opts *opts);

/* A stream of rec (which must outlive it), of mono audio at in_rate Hz
 * (resampled to the model's rate; ignored without a frontend). keep_logprobs nonzero keeps each
 * utterance's network output frames with its result (asr_result.logprobs),
 * for callers that score the utterance again (phrase rejection). */
int asr_rstream_create(const asr_recognizer *rec, uint32_t in_rate, int keep_logprobs, asr_rstream **out,
                       asr_status *st);
void asr_rstream_free(asr_rstream *s);

/* Switch to another recognizer over the same network (e.g. one whose
 * decoder knows more words) from the next utterance on; rec must outlive
 * the stream's use of it. */
int asr_rstream_set_recognizer(asr_rstream *s, const asr_recognizer *rec, asr_status *st);

/* Feeds n samples (0 allowed): int16 PCM, or floats in [-1, 1] (finite).
 * *n_finals gets the number of utterances this call ended; read them with
 * asr_rstream_final(s, 0 .. *n_finals - 1). Any split of the audio into
 * calls gives the same results. */
int asr_rstream_accept_s16(asr_rstream *s, const int16_t *pcm, size_t n, size_t *n_finals,
                           asr_status *st);
int asr_rstream_accept_f32(asr_rstream *s, const float *x, size_t n, size_t *n_finals,
                           asr_status *st);
/* Without a frontend: feeds n_frames raw log-mel feature frames (n_frames x feat_dim floats; 0
 * allowed). *n_finals gets the number of utterances this call ended; read
 * them with asr_rstream_final(s, 0 .. *n_finals - 1). */
int asr_rstream_accept_features(asr_rstream *s, const float *feats, size_t n_frames,
                                size_t *n_finals, asr_status *st);
/* Ends the input: the frontend's and the network's tails are computed, and the last utterance
 * is always closed (*n_finals >= 1; its text may be empty). After this the
 * stream accepts nothing more. */
int asr_rstream_finish(asr_rstream *s, size_t *n_finals, asr_status *st);

typedef struct asr_result_word {
    const char *word;
    double start;           /* seconds from the start of the stream */
    double end;
    float conf;
} asr_result_word;

typedef struct asr_result {
    const char *text;
    size_t n_words;
    const asr_result_word *words;
    double start;           /* the utterance's span, seconds */
    double end;
    size_t n_alternatives;
    const char *const *alternative_text;   /* n_alternatives texts, best first */
    const double *alternative_score;
    size_t n_frames;        /* the utterance's output frames                */
    const float *logprobs;  /* n_frames x labels, or NULL (keep_logprobs 0) */
} asr_result;

/* Final i of the last accept/finish call. */
int asr_rstream_final(const asr_rstream *s, size_t i, asr_result *out, asr_status *st);
/* The best hypothesis of the utterance in progress (words cut off by the
 * present not included); valid until the next call on the stream. */
int asr_rstream_partial(asr_rstream *s, const char **text, asr_status *st);

/* Seconds spent so far in each stage: [0] features, [1] network, [2]
 * search and endpointing. */
int asr_rstream_timings(const asr_rstream *s, double *seconds3, asr_status *st);
/* Samples accepted so far (at the input rate). */
int asr_rstream_samples(const asr_rstream *s, uint64_t *n_samples, asr_status *st);
/* Network output frames consumed so far. */
int asr_rstream_frames(const asr_rstream *s, size_t *n_frames, asr_status *st);

#ifdef __cplusplus
}
#endif

#endif /* ASR_RECOGNIZER_H */
