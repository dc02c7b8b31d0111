/*
 * lm.c - word language models for the search: ARPA back-off n-grams and
 * phrase grammars.
 *
 * ARPA layout (KenLM's "probing" idea, simplified): unigrams are arrays
 * indexed by word id; an n-gram of order n >= 2 is the pair (index of its
 * (n-1)-word prefix in the order n-1 table, last word), stored in an
 * open-addressing hash table of order n. 16 bytes per n-gram plus 8 bytes of
 * slots at load factor <= 1/2. Finding a context of k words costs k-1 probes;
 * a full back-off query at order 5 at most 10, and the search asks only at
 * word ends, so no cache is needed.
 *
 * Probabilities are stored as natural logs (converted once at load), so the
 * search adds them directly to acoustic log-probabilities.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "decoder_int.h"

#define LN10 2.302585092994046

enum { LM_ARPA = 1, LM_GRAMMAR = 2 };

typedef struct lm_entry {
    uint32_t prefix;    /* index in the order n-1 table (order 2: word id) */
    int32_t word;
    float logp;         /* natural log; NaN: present only as a context     */
    float bow;          /* natural log                                      */
} lm_entry;

typedef struct lm_table {
    size_t n;
    lm_entry *e;
    uint32_t *slot;     /* entry index + 1; 0 = empty */
    size_t mask;
} lm_table;

struct asr_lm {
    int kind;
    size_t vocab;
    /* ARPA */
    size_t order;
    int32_t bos, eos, unk;
    float *uni_logp;
    float *uni_bow;
    lm_table tab[ASR_LM_MAX_ORDER];   /* tab[k] holds order k+1; tab[0] unused */
    /* grammar */
    size_t n_nodes;
    float *end_logp;
    uint32_t *arc_start;              /* n_nodes + 1, arcs sorted by (from, word) */
    int32_t *arc_word;
    int32_t *arc_to;
    float *arc_logp;
};

static size_t slot_of(uint32_t prefix, int32_t word, size_t mask)
{
    return (size_t)asr_mix64(((uint64_t)prefix << 32) ^ (uint32_t)word) & mask;
}

static long table_find(const lm_table *t, uint32_t prefix, int32_t word)
{
    size_t i = slot_of(prefix, word, t->mask);
    for (;;) {
        uint32_t s = t->slot[i];
        const lm_entry *e;
        if (s == 0)
            return -1;
        e = &t->e[s - 1];
        if (e->prefix == prefix && e->word == word)
            return (long)(s - 1);
        i = (i + 1) & t->mask;
    }
}

/* Index of the k-word sequence w (k >= 1) in the order-k table, or -1. */
static long ngram_index(const asr_lm *lm, const int32_t *w, size_t k)
{
    long idx = w[0];
    size_t j;
    for (j = 1; j < k && idx >= 0; j++)
        idx = table_find(&lm->tab[j], (uint32_t)idx, w[j]);
    return idx;
}

static float ngram_bow(const asr_lm *lm, size_t k, long idx)
{
    return k == 1 ? lm->uni_bow[idx] : lm->tab[k - 1].e[idx].bow;
}

void asr_lm_free(asr_lm *lm)
{
    size_t k;
    if (!lm)
        return;
    free(lm->uni_logp);
    free(lm->uni_bow);
    for (k = 0; k < ASR_LM_MAX_ORDER; k++) {
        free(lm->tab[k].e);
        free(lm->tab[k].slot);
    }
    free(lm->end_logp);
    free(lm->arc_start);
    free(lm->arc_word);
    free(lm->arc_to);
    free(lm->arc_logp);
    free(lm);
}

static int check_log10(float v, int allow_nan)
{
    if (isnan(v))
        return allow_nan;
    return v <= 0.0f || (isfinite(v) && v < 1e-3f);   /* tolerate printed rounding */
}

/* Checks the sizes and special ids of asr_lm_create_arpa. */
static int check_arpa_args(size_t order, const size_t *counts, size_t vocab_size, int32_t bos,
                           int32_t eos, int32_t unk, asr_status *st)
{
    size_t k;
    if (order < 1 || order > ASR_LM_MAX_ORDER)
        return asr_fail(st, ASR_E_ARG, "LM order %zu out of range 1..%d", order, ASR_LM_MAX_ORDER);
    if (vocab_size < 1 || vocab_size > 0x7fffffff || counts[0] != vocab_size)
        return asr_fail(st, ASR_E_ARG, "LM vocabulary of %zu words with %zu unigrams",
                        vocab_size, counts[0]);
    if (bos < 0 || (size_t)bos >= vocab_size || eos < 0 || (size_t)eos >= vocab_size ||
        unk < -1 || (unk >= 0 && (size_t)unk >= vocab_size) || bos == eos)
        return asr_fail(st, ASR_E_ARG, "LM ids of <s> %d, </s> %d, <unk> %d invalid",
                        (int)bos, (int)eos, (int)unk);
    for (k = 1; k < order; k++)
        if (counts[k] > 0x3fffffff)
            return asr_fail(st, ASR_E_ARG, "%zu %zu-grams: too many", counts[k], k + 1);
    return ASR_OK;
}

/* Reads the vocab_size unigrams (ids[i], logp10[i], bow10[i]): each word id
 * exactly once, with a possible probability and a finite back-off. */
static int load_unigrams(asr_lm *lm, const int32_t *ids, const float *logp10, const float *bow10,
                         asr_status *st)
{
    size_t i;
    lm->uni_logp = malloc(lm->vocab * sizeof(float));
    lm->uni_bow = malloc(lm->vocab * sizeof(float));
    if (!lm->uni_logp || !lm->uni_bow)
        return asr_fail(st, ASR_E_NOMEM, "out of memory");
    for (i = 0; i < lm->vocab; i++)
        lm->uni_logp[i] = NAN;        /* marks "not yet seen" while loading */
    for (i = 0; i < lm->vocab; i++) {
        int32_t w = ids[i];
        float p = logp10[i], b = bow10[i];
        if (w < 0 || (size_t)w >= lm->vocab)
            return asr_fail(st, ASR_E_ARG, "unigram %zu: word id %d out of range", i, (int)w);
        if (!isnan(lm->uni_logp[w]))
            return asr_fail(st, ASR_E_ARG, "unigram %zu: word id %d listed twice", i, (int)w);
        if (isnan(p) || !check_log10(p, 0) || !isfinite(b))
            return asr_fail(st, ASR_E_ARG, "unigram %zu: impossible probability or back-off", i);
        lm->uni_logp[w] = (float)(p * LN10);
        lm->uni_bow[w] = lm->order > 1 ? (float)(b * LN10) : 0.0f;
    }
    return ASR_OK;
}

/* Reads the n n-grams of order k + 1 (ids: k + 1 word ids each) into the
 * hash table tab[k]; every prefix must already be there one order down. */
static int load_ngrams(asr_lm *lm, size_t k, size_t n, const int32_t *ids, const float *logp10,
                       const float *bow10, asr_status *st)
{
    lm_table *t = &lm->tab[k];
    size_t cap = 16, i, j;
    while (cap < 2 * n + 2)
        cap *= 2;
    t->e = malloc((n ? n : 1) * sizeof(lm_entry));
    t->slot = calloc(cap, sizeof(uint32_t));
    if (!t->e || !t->slot)
        return asr_fail(st, ASR_E_NOMEM, "out of memory for %zu %zu-grams", n, k + 1);
    t->mask = cap - 1;
    for (i = 0; i < n; i++) {
        const int32_t *w = ids + i * (k + 1);
        float p = logp10[i], b = bow10[i];
        lm_entry *e;
        long prefix;
        size_t at;
        for (j = 0; j <= k; j++)
            if (w[j] < 0 || (size_t)w[j] >= lm->vocab)
                return asr_fail(st, ASR_E_ARG, "%zu-gram %zu: word id %d out of range", k + 1, i, (int)w[j]);
        if (!check_log10(p, 1) || (k + 1 < lm->order && !isfinite(b)))
            return asr_fail(st, ASR_E_ARG, "%zu-gram %zu: impossible probability or back-off", k + 1, i);
        prefix = ngram_index(lm, w, k);
        if (prefix < 0)
            return asr_fail(st, ASR_E_ARG, "%zu-gram %zu: its first %zu words are not a %zu-gram",
                            k + 1, i, k, k);
        if (table_find(t, (uint32_t)prefix, w[k]) >= 0)
            return asr_fail(st, ASR_E_ARG, "%zu-gram %zu is listed twice", k + 1, i);
        e = &t->e[t->n];
        e->prefix = (uint32_t)prefix;
        e->word = w[k];
        e->logp = isnan(p) ? NAN : (float)(p * LN10);
        e->bow = k + 1 < lm->order ? (float)(b * LN10) : 0.0f;
        at = slot_of(e->prefix, e->word, t->mask);
        while (t->slot[at])
            at = (at + 1) & t->mask;
        t->slot[at] = (uint32_t)(++t->n);
    }
    return ASR_OK;
}

int asr_lm_create_arpa(size_t order, const size_t *counts, const int32_t *ids,
                       const float *logp10, const float *bow10, size_t vocab_size,
                       int32_t bos, int32_t eos, int32_t unk, asr_lm **out, asr_status *st)
{
    asr_lm *lm;
    size_t k, at_id, at_val;
    int rc;

    if (!out)
        return asr_fail(st, ASR_E_ARG, "asr_lm_create_arpa: out is NULL");
    *out = NULL;
    if (!counts || !ids || !logp10 || !bow10)
        return asr_fail(st, ASR_E_ARG, "asr_lm_create_arpa: NULL array");
    if ((rc = check_arpa_args(order, counts, vocab_size, bos, eos, unk, st)) != ASR_OK)
        return rc;
    lm = calloc(1, sizeof(*lm));
    if (!lm)
        return asr_fail(st, ASR_E_NOMEM, "out of memory");
    lm->kind = LM_ARPA;
    lm->vocab = vocab_size;
    lm->order = order;
    lm->bos = bos;
    lm->eos = eos;
    lm->unk = unk;
    rc = load_unigrams(lm, ids, logp10, bow10, st);
    /* The orders follow each other in ids (k + 1 ids per n-gram) and in
     * logp10/bow10 (one value per n-gram). */
    at_id = at_val = vocab_size;
    for (k = 1; k < order && rc == ASR_OK; k++) {
        rc = load_ngrams(lm, k, counts[k], ids + at_id, logp10 + at_val, bow10 + at_val, st);
        at_id += counts[k] * (k + 1);
        at_val += counts[k];
    }
    if (rc != ASR_OK) {
        asr_lm_free(lm);
        return rc;
    }
    *out = lm;
    return ASR_OK;
}

/* Checks the sizes, node and word ids and scores of a grammar. */
static int check_grammar(size_t n_nodes, const float *end_logp, size_t n_arcs, const int32_t *arc_from,
                         const int32_t *arc_word, const int32_t *arc_to, const float *arc_logp,
                         size_t vocab_size, asr_status *st)
{
    size_t i;
    if (n_nodes < 1 || n_nodes > 0x7fffffff || n_arcs > 0x7fffffff ||
        vocab_size < 1 || vocab_size > 0x7fffffff)
        return asr_fail(st, ASR_E_ARG, "grammar of %zu nodes, %zu arcs, %zu words out of range",
                        n_nodes, n_arcs, vocab_size);
    for (i = 0; i < n_nodes; i++)
        if (isnan(end_logp[i]) || end_logp[i] == INFINITY)
            return asr_fail(st, ASR_E_ARG, "grammar node %zu: end score is not a log-probability", i);
    for (i = 0; i < n_arcs; i++) {
        if (arc_from[i] < 0 || (size_t)arc_from[i] >= n_nodes || arc_to[i] < 0 ||
            (size_t)arc_to[i] >= n_nodes || arc_word[i] < 0 || (size_t)arc_word[i] >= vocab_size)
            return asr_fail(st, ASR_E_ARG, "grammar arc %zu: node or word out of range", i);
        if (isnan(arc_logp[i]) || arc_logp[i] == INFINITY)
            return asr_fail(st, ASR_E_ARG, "grammar arc %zu: score is not a log-probability", i);
    }
    return ASR_OK;
}

/* Stores the arcs sorted by (from, word): a counting sort by node, then an
 * insertion sort by word within each node (grammars have few arcs per
 * node). fill: scratch of n_nodes. Refuses two arcs for one (node, word). */
static int sort_arcs(asr_lm *lm, size_t n_arcs, const int32_t *arc_from, const int32_t *arc_word,
                     const int32_t *arc_to, const float *arc_logp, uint32_t *fill, asr_status *st)
{
    size_t i, n;
    for (i = 0; i < n_arcs; i++)
        lm->arc_start[arc_from[i] + 1]++;
    for (n = 0; n < lm->n_nodes; n++)
        lm->arc_start[n + 1] += lm->arc_start[n];
    memcpy(fill, lm->arc_start, lm->n_nodes * sizeof(uint32_t));
    for (i = 0; i < n_arcs; i++) {
        uint32_t at = fill[arc_from[i]]++;
        uint32_t lo = lm->arc_start[arc_from[i]];
        while (at > lo && lm->arc_word[at - 1] > arc_word[i]) {   /* insertion by word */
            lm->arc_word[at] = lm->arc_word[at - 1];
            lm->arc_to[at] = lm->arc_to[at - 1];
            lm->arc_logp[at] = lm->arc_logp[at - 1];
            at--;
        }
        if (at > lo && lm->arc_word[at - 1] == arc_word[i])
            return asr_fail(st, ASR_E_ARG, "grammar arc %zu: a second arc for word %d from node %d",
                            i, (int)arc_word[i], (int)arc_from[i]);
        lm->arc_word[at] = arc_word[i];
        lm->arc_to[at] = arc_to[i];
        lm->arc_logp[at] = arc_logp[i];
    }
    return ASR_OK;
}

int asr_lm_create_grammar(size_t n_nodes, const float *end_logp, size_t n_arcs,
                          const int32_t *arc_from, const int32_t *arc_word,
                          const int32_t *arc_to, const float *arc_logp, size_t vocab_size,
                          asr_lm **out, asr_status *st)
{
    asr_lm *lm;
    uint32_t *fill;
    size_t na = n_arcs ? n_arcs : 1;
    int rc;

    if (!out)
        return asr_fail(st, ASR_E_ARG, "asr_lm_create_grammar: out is NULL");
    *out = NULL;
    if (!end_logp || (n_arcs && (!arc_from || !arc_word || !arc_to || !arc_logp)))
        return asr_fail(st, ASR_E_ARG, "asr_lm_create_grammar: NULL array");
    if ((rc = check_grammar(n_nodes, end_logp, n_arcs, arc_from, arc_word, arc_to, arc_logp, vocab_size,
                            st)) != ASR_OK)
        return rc;
    lm = calloc(1, sizeof(*lm));
    if (!lm)
        return asr_fail(st, ASR_E_NOMEM, "out of memory");
    lm->kind = LM_GRAMMAR;
    lm->vocab = vocab_size;
    lm->n_nodes = n_nodes;
    lm->end_logp = malloc(n_nodes * sizeof(float));
    lm->arc_start = calloc(n_nodes + 1, sizeof(uint32_t));
    lm->arc_word = malloc(na * sizeof(int32_t));
    lm->arc_to = malloc(na * sizeof(int32_t));
    lm->arc_logp = malloc(na * sizeof(float));
    if (!lm->end_logp || !lm->arc_start || !lm->arc_word || !lm->arc_to || !lm->arc_logp) {
        asr_lm_free(lm);
        return asr_fail(st, ASR_E_NOMEM, "out of memory");
    }
    memcpy(lm->end_logp, end_logp, n_nodes * sizeof(float));
    fill = malloc(n_nodes * sizeof(uint32_t));
    if (!fill) {
        asr_lm_free(lm);
        return asr_fail(st, ASR_E_NOMEM, "out of memory");
    }
    rc = sort_arcs(lm, n_arcs, arc_from, arc_word, arc_to, arc_logp, fill, st);
    free(fill);
    if (rc != ASR_OK) {
        asr_lm_free(lm);
        return rc;
    }
    *out = lm;
    return ASR_OK;
}

int lm_is_grammar(const asr_lm *lm)
{
    return lm->kind == LM_GRAMMAR;
}

void lm_start(const asr_lm *lm, lm_state *out)
{
    memset(out, 0, sizeof(*out));
    if (lm->kind == LM_GRAMMAR) {
        out->n = 1;
        return;
    }
    if (lm->order > 1) {
        out->w[0] = lm->bos;
        out->n = 1;
    }
}

/* log P(w | ctx[0..k)) with back-off, natural log. */
static float arpa_prob(const asr_lm *lm, const int32_t *ctx, size_t k, int32_t w)
{
    float bow = 0.0f;
    size_t s;
    for (s = 0; s < k; s++) {
        size_t len = k - s;
        long ci = ngram_index(lm, ctx + s, len), e;
        if (ci < 0)
            continue;                  /* unknown context: back-off weight 1 */
        e = table_find(&lm->tab[len], (uint32_t)ci, w);
        if (e >= 0 && !isnan(lm->tab[len].e[e].logp))
            return bow + lm->tab[len].e[e].logp;
        bow += ngram_bow(lm, len, ci);
    }
    return bow + lm->uni_logp[w];
}

static int32_t arpa_word(const asr_lm *lm, int32_t word)
{
    if (word < 0 || (size_t)word >= lm->vocab || word == lm->bos)
        return lm->unk;
    return word;
}

/* The grammar arc of word from the node in->w[0] (arcs sorted by word). */
static float grammar_advance(const asr_lm *lm, const lm_state *in, int32_t word, lm_state *out)
{
    uint32_t node = (uint32_t)in->w[0];
    uint32_t lo = lm->arc_start[node], hi = lm->arc_start[node + 1];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (lm->arc_word[mid] < word)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < lm->arc_start[node + 1] && lm->arc_word[lo] == word) {
        out->w[0] = lm->arc_to[lo];
        return lm->arc_logp[lo];
    }
    return -INFINITY;
}

float lm_score(const asr_lm *lm, const lm_state *in, int32_t word)
{
    lm_state out;
    int32_t w;
    if (lm->kind == LM_GRAMMAR)
        return grammar_advance(lm, in, word, &out);
    w = arpa_word(lm, word);
    return w < 0 ? -INFINITY : arpa_prob(lm, in->w, in->n, w);
}

float lm_advance(const asr_lm *lm, const lm_state *in, int32_t word, lm_state *out)
{
    int32_t buf[ASR_LM_MAX_ORDER], w;
    size_t n, s;
    float p;

    *out = *in;
    if (lm->kind == LM_GRAMMAR)
        return grammar_advance(lm, in, word, out);
    w = arpa_word(lm, word);
    if (w < 0)
        return -INFINITY;
    p = arpa_prob(lm, in->w, in->n, w);
    if (lm->order == 1)
        return p;
    /* New context: the last order-1 words, shortened until the model knows
     * it (a longer one could never match an n-gram). */
    n = in->n;
    memcpy(buf, in->w, n * sizeof(int32_t));
    buf[n++] = w;
    s = n > lm->order - 1 ? n - (lm->order - 1) : 0;
    while (s < n && ngram_index(lm, buf + s, n - s) < 0)
        s++;
    out->n = (uint32_t)(n - s);
    memset(out->w, 0, sizeof(out->w));
    memcpy(out->w, buf + s, out->n * sizeof(int32_t));
    return p;
}

float lm_end(const asr_lm *lm, const lm_state *in)
{
    if (lm->kind == LM_GRAMMAR)
        return lm->end_logp[in->w[0]];
    return arpa_prob(lm, in->w, in->n, lm->eos);
}

float lm_unigram(const asr_lm *lm, int32_t word)
{
    int32_t w;
    if (lm->kind == LM_GRAMMAR)
        return 0.0f;
    w = arpa_word(lm, word);
    return w < 0 ? -INFINITY : lm->uni_logp[w];
}

int asr_lm_score(const asr_lm *lm, const int32_t *words, size_t n, int bos, int eos,
                 double *logp, asr_status *st)
{
    lm_state s, t;
    double total = 0.0;
    size_t i;
    if (!lm || !logp || (n && !words))
        return asr_fail(st, ASR_E_ARG, "asr_lm_score: NULL argument");
    if (bos)
        lm_start(lm, &s);
    else {
        memset(&s, 0, sizeof(s));
        if (lm->kind == LM_GRAMMAR)
            s.n = 1;
    }
    for (i = 0; i < n; i++) {
        total += lm_advance(lm, &s, words[i], &t);
        s = t;
    }
    if (eos)
        total += lm_end(lm, &s);
    *logp = total;
    return ASR_OK;
}
