/*
 * asr_decoder.h - the C API of the CTC decoder: word language model,
 * pronunciation lexicon, and the lexicon-constrained prefix beam search.
 *
 * Same conventions as asr.h (whose asr_status and codes it uses): every
 * function validates its arguments and returns an asr_code, filling the
 * caller's status on failure; no global mutable state.
 *
 * Objects and lifetimes
 *   asr_lm        word LM (ARPA back-off n-grams, or a phrase grammar).
 *                 Immutable after creation; shareable between threads.
 *   asr_lexicon   pronunciations as a phone trie. Immutable; shareable.
 *   asr_decoder   search options + the lexicon + the LM (borrowed: both must
 *                 outlive the decoder). Immutable; shareable.
 *   asr_search    one utterance being decoded (borrowed decoder). Mutable;
 *                 one thread at a time. Any number per decoder.
 *
 * Scores are natural logs. Word ids are the caller's (0..n_words-1); the
 * LM has its own word ids and the decoder maps one to the other.
 *
 * This header is also part of the cffi cdef (asr/_build.py), so it holds
 * plain declarations only.
 */
#ifndef ASR_DECODER_H
#define ASR_DECODER_H

#include <stddef.h>
#include <stdint.h>

#include "asr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Highest n-gram order the LM accepts (state = at most 4 context words). */
#define ASR_LM_MAX_ORDER 5

typedef struct asr_lm asr_lm;
typedef struct asr_lexicon asr_lexicon;
typedef struct asr_decoder asr_decoder;
typedef struct asr_search asr_search;

/* ------------------------------------------------------------- language model */

/* A back-off n-gram model from ARPA data already split into arrays.
 * counts[n-1] n-grams of each order n = 1..order, stored one order after the
 * other: ids holds sum(counts[n-1] * n) word ids (each n-gram oldest word
 * first), logp10 and bow10 hold sum(counts[n-1]) values (log10, as in the
 * file; bow10 of the highest order is ignored). Word ids lie in
 * [0, vocab_size); the unigrams must cover every id exactly once. bos/eos
 * are the ids of <s> and </s>; unk is the id of <unk> or -1 when the model
 * has none (then words it lacks are impossible). Every n-gram's prefix
 * (its first n-1 words) must itself be an (n-1)-gram, as ARPA requires.
 * The arrays are copied. */
int asr_lm_create_arpa(size_t order, const size_t *counts, const int32_t *ids,
                       const float *logp10, const float *bow10, size_t vocab_size,
                       int32_t bos, int32_t eos, int32_t unk, asr_lm **out, asr_status *st);

/* A phrase grammar: a word graph whose state is a node (0 = start). Arc i
 * goes from arc_from[i] to arc_to[i] on word arc_word[i] with natural-log
 * score arc_logp[i]; at most one arc per (node, word). end_logp[node] is the
 * score of ending the sentence there (-INFINITY: not allowed). */
int asr_lm_create_grammar(size_t n_nodes, const float *end_logp, size_t n_arcs,
                          const int32_t *arc_from, const int32_t *arc_word,
                          const int32_t *arc_to, const float *arc_logp, size_t vocab_size,
                          asr_lm **out, asr_status *st);
void asr_lm_free(asr_lm *lm);

/* Natural-log probability of a word sequence (LM word ids), optionally
 * starting after <s> (bos) and including </s> (eos). Ids outside the
 * vocabulary score as <unk> (or -INFINITY). For tests and tools. */
int asr_lm_score(const asr_lm *lm, const int32_t *words, size_t n, int bos, int eos,
                 double *logp, asr_status *st);

/* ------------------------------------------------------------------ lexicon */

/* n_prons pronunciations: pronunciation i is word pron_word[i] (in
 * [0, n_words)) spelled by labels phones[pron_start[i] .. pron_start[i+1]),
 * pron_start has n_prons + 1 entries. Labels lie in [0, n_labels) and are
 * never the blank. Pronunciations sharing a phone prefix share trie nodes;
 * homophones end at the same node. */
int asr_lexicon_create(size_t n_labels, int32_t blank, size_t n_words, size_t n_prons,
                       const int32_t *pron_word, const uint32_t *pron_start,
                       const int32_t *phones, asr_lexicon **out, asr_status *st);
void asr_lexicon_free(asr_lexicon *lex);
/* Number of trie nodes (root included). */
int asr_lexicon_info(const asr_lexicon *lex, size_t *n_nodes, asr_status *st);

/* ------------------------------------------------------------------ decoder */

typedef struct asr_decoder_opts {
    uint32_t beam;          /* hypotheses kept after each frame (>= 1)          */
    float beam_delta;       /* nats: hypotheses this far below the best dropped */
    float prune;            /* nats: labels this far below the frame's best
                               label are not expanded                          */
    float lm_weight;        /* multiplies LM natural-log probabilities         */
    float word_bonus;       /* nats added per word                             */
    float prior_weight;     /* times the label log-priors subtracted from every
                               frame of the beam search (0: none; see
                               asr_decoder_set_label_prior)                    */
} asr_decoder_opts;

/* Greedy (best path) decoding when lex is NULL; otherwise prefix beam
 * search over lex, scored by lm when it is not NULL. word_lm[w] maps the
 * lexicon's word w to an LM word id (-1: unknown to the LM, scored as its
 * <unk> or impossible); n_words must equal the lexicon's. */
int asr_decoder_create(size_t n_labels, int32_t blank, const asr_lexicon *lex,
                       const asr_lm *lm, const int32_t *word_lm, size_t n_words,
                       const asr_decoder_opts *opts, asr_decoder **out, asr_status *st);
void asr_decoder_free(asr_decoder *dec);
/* Hotwords: boost[w] nats (finite, |boost| <= ASR_MAX_WORD_BOOST) are added
 * to a hypothesis when it closes lexicon word w, and anticipated by the
 * look-ahead while it is inside w, so a boosted word survives the beam as
 * it is being spelled rather than only once it is complete. boost = NULL
 * clears every boost. n_words must equal the lexicon's. Call it before any
 * search is created from dec (a decoder in use is read, never changed).
 * The values are used as given; the Python layer (asr/hotwords.py) scales
 * each listed word's boost by the word's length before it comes here. */
#define ASR_MAX_WORD_BOOST 100
int asr_decoder_set_word_boost(asr_decoder *dec, const float *boost, size_t n_words,
                               asr_status *st);

/* Label prior correction: the beam search scores every frame as
 * logprob[c] - prior_weight * log_prior[c] (opts.prior_weight), so labels
 * the network emits often overall (the blank above all) weigh less against
 * rare ones, as dividing a CTC posterior by a power of its prior does; the
 * greedy best path is not changed. log_prior holds n_labels natural-log
 * frequencies of the labels in the network's output on training speech
 * (each in -ASR_MIN_LOG_PRIOR..0; bundled models carry them). NULL clears
 * it, as does prior_weight 0. Call it before any search is created from dec. */
#define ASR_MAX_PRIOR_WEIGHT 4
#define ASR_MIN_LOG_PRIOR 100
int asr_decoder_set_label_prior(asr_decoder *dec, const float *log_prior, size_t n_labels,
                                asr_status *st);

/* One output item: a word (beam search: lexicon word id) or a label (greedy:
 * label id), its first frame and the frame after its end, counted from the
 * start of the search, and its confidence in [0, 1]. */
typedef struct asr_word {
    int32_t id;
    uint32_t start;
    uint32_t end;
    float conf;
} asr_word;

int asr_search_create(const asr_decoder *dec, asr_search **out, asr_status *st);
void asr_search_free(asr_search *s);
/* Feeds n_frames frames of n_labels natural-log probabilities (row-major;
 * NaN and +inf refused, -inf allowed). n_frames may be 0. Frames are
 * processed one at a time, so any split into calls gives the same result. */
int asr_search_accept(asr_search *s, const float *logprobs, size_t n_frames, size_t n_labels,
                      asr_status *st);
/* Ranks the current hypotheses. final = 0: all of them by their score so far
 * (for partial results); final = 1: only those at a word boundary, with the
 * end-of-sentence LM score added (when none is, and the LM is not a
 * grammar, falls back to final = 0 so words cut off by the end are kept).
 * *n_hyps gets the number ranked (at most the beam; 0 or 1 for greedy). */
int asr_search_rank(asr_search *s, int final, size_t *n_hyps, asr_status *st);
/* Hypothesis rank (0 = best) of the last asr_search_rank: its word count
 * in *n_words (all of them, even beyond cap), min(cap, count) words written
 * to words (may be NULL when cap is 0), its total score in *score.
 * Confidence: the posterior share (softmax of the ranked scores) of the
 * ranked hypotheses holding the same word starting within two frames. */
int asr_search_hyp(const asr_search *s, size_t rank, asr_word *words, size_t cap,
                   size_t *n_words, double *score, asr_status *st);
/* Frames accepted so far. */
int asr_search_frames(const asr_search *s, size_t *n_frames, asr_status *st);

#ifdef __cplusplus
}
#endif

#endif /* ASR_DECODER_H */
