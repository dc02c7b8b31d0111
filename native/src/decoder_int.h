/*
 * decoder_int.h - what the search (decoder.c) needs from the language model
 * (lm.c) and the lexicon trie (lexicon.c). Not part of the public API.
 */
#ifndef ASR_DECODER_INT_H
#define ASR_DECODER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "asr_decoder.h"

/* LM state after some words. ARPA: the most recent context words, oldest
 * first, shortened to the longest suffix the model knows (so histories
 * that the model cannot tell apart share a state). Grammar: w[0] = node. */
typedef struct lm_state {
    int32_t w[ASR_LM_MAX_ORDER - 1];
    uint32_t n;
} lm_state;

/* The index of the first of n label log-priors outside -ASR_MIN_LOG_PRIOR..0
 * (NaN included), or n when all are valid: the one check of the decoder
 * (asr_decoder_set_label_prior) and the model loader (files.c). */
size_t label_prior_bad(const float *log_prior, size_t n);

void lm_start(const asr_lm *lm, lm_state *out);
/* Natural-log P(word | in), and the state after it; -INFINITY when the word
 * is impossible (then *out is a copy of *in). */
float lm_advance(const asr_lm *lm, const lm_state *in, int32_t word, lm_state *out);
/* The same probability as lm_advance, without computing the next state. */
float lm_score(const asr_lm *lm, const lm_state *in, int32_t word);
/* Natural-log P(</s> | in); -INFINITY when the sentence may not end here. */
float lm_end(const asr_lm *lm, const lm_state *in);
/* Natural-log unigram probability (for the look-ahead); 0 for a grammar. */
float lm_unigram(const asr_lm *lm, int32_t word);
int lm_is_grammar(const asr_lm *lm);

/* The phone trie. Node 0 is the root; a child always has a larger index
 * than its parent, so one backward pass visits children before parents.
 * Children of a node: child_label/child_node[child_start[n] ..
 * child_start[n+1]), sorted by label. Words ending at a node: word_ids
 * [word_start[n] .. word_start[n+1]). */
struct asr_lexicon {
    size_t n_labels;
    int32_t blank;
    size_t n_words;
    size_t n_nodes;
    uint32_t *child_start;
    int32_t *child_label;
    uint32_t *child_node;
    uint32_t *word_start;
    int32_t *word_ids;
};

#endif /* ASR_DECODER_INT_H */
