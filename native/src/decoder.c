/*
 * decoder.c - CTC decoding: greedy best path, and prefix beam search
 * constrained by a lexicon trie and scored by a word LM.
 *
 * A hypothesis is (word sequence, trie node, last label) with the CTC
 * prefix probabilities pb (path ends in blank) and pnb (ends in a label).
 * Per frame it may
 *   - stay: a blank, or a repeat of its last label (CTC collapses it);
 *   - advance to a child node on the child's label (after a blank when the
 *     label equals the last one, as CTC requires);
 *   - where that child ends words, close each word: add lm_weight * LM +
 *     word_bonus and go back to the root.
 * Hypotheses that meet in the same state are merged (probabilities summed,
 * the word times of the likelier path kept), those more than beam_delta
 * below the best are dropped, then the beam best kept. Labels more than
 * prune below the frame's best label are not expanded.
 *
 * Look-ahead: inside a word, a hypothesis carries lm_weight times the best
 * unigram log-probability of the words below its node, replaced by the real
 * LM score when the word ends, so partial words compete fairly with
 * hypotheses that have paid for a word already.
 *
 * Word sequences are identified by a 64-bit hash chained word by word
 * (a collision would need ~2^32 distinct live sequences). Word histories
 * are a tree of nodes shared by hypotheses, collected (mark and compact)
 * when it grows; a node of a freshly ended word is only created for
 * hypotheses that survive the frame.
 *
 * Every frame is processed on its own, so any chunking of the input gives
 * the same result. Nothing is allocated per frame once the buffers have
 * grown to the beam's working size.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "decoder_int.h"

#define MAX_BEAM 100000
#define MAX_FRAMES 0x7ffffff0u
#define START_TOLERANCE 2   /* frames: same word "at the same place" for confidence */

struct asr_decoder {
    size_t n_labels;
    int32_t blank;
    const asr_lexicon *lex;       /* NULL: greedy */
    const asr_lm *lm;             /* NULL: no LM */
    int32_t *word_lm;
    float *la;                    /* look-ahead per trie node (weighted, boosted) */
    float *boost;                 /* nats per lexicon word, NULL: none (hotwords) */
    float *label_bias;            /* -prior_weight x log prior per label, NULL: none */
    size_t n_words;
    asr_decoder_opts o;
};

typedef struct hist {
    uint64_t key;                 /* hash of the word sequence up to here */
    uint32_t parent;
    int32_t word;                 /* -1 at the root */
    uint32_t start, end;          /* frames: first phone, after last phone */
    uint32_t depth;
    lm_state lm;
} hist;

/* A word sequence's LM score (of its last word after the others), by the
 * sequence's key. A hypothesis waiting at a word's last phone reaches the
 * word's end again on every frame it waits, and each time needs the same
 * LM score: the memo answers those from one look-up. */
#define MEMO_SIZE 4096
typedef struct lm_memo {
    uint64_t key;
    float logp;
    uint32_t used;
} lm_memo;

typedef struct hyp {
    uint64_t key;
    uint32_t hist;                /* parent history while pend_word >= 0 */
    uint32_t node;
    int32_t last;                 /* last label emitted, -1 at the start */
    int32_t pend_word;            /* word ended this frame, not yet in the tree */
    uint32_t wstart;              /* frame the current word began */
    float pb, pnb;
    float best;                   /* likeliest single path merged into it */
    float score;
} hyp;

struct asr_search {
    const asr_decoder *dec;
    uint32_t frames;
    /* beam search */
    hyp *cur, *nxt;
    size_t n_cur, n_nxt, cap_nxt;
    uint32_t *slot, *slot_gen;
    size_t slot_mask;
    uint32_t gen;
    uint64_t *order;              /* rank keys of the successors kept */
    size_t cap_order;
    hist *hists;
    uint32_t *remap;
    size_t n_hists, cap_hists, gc_at;
    uint8_t *cand;
    int32_t *cand_list;
    float *biased;                /* the frame plus the label bias, when there is one */
    lm_memo *memo;                /* LM scores of word sequences, MEMO_SIZE slots */
    /* ranking */
    uint32_t *rank_hist;
    double *rank_score;
    size_t n_rank;
    int ranked;
    /* greedy */
    asr_word *items;
    size_t n_items, cap_items;
    int32_t g_last;
    uint32_t g_start, g_count;
    double g_sum, g_score;
};

/* ------------------------------------------------------------------ helpers */

static float lae(float a, float b)
{
    if (a < b) {
        float t = a;
        a = b;
        b = t;
    }
    if (b == -INFINITY)
        return a;
    return a + log1pf(expf(b - a));
}

static uint64_t seq_key(uint64_t key, int32_t word)
{
    return asr_mix64(key * 0x9e3779b97f4a7c15ULL + (uint64_t)(uint32_t)word + 1);
}

/* ------------------------------------------------------------------ decoder */

void asr_decoder_free(asr_decoder *dec)
{
    if (!dec)
        return;
    free(dec->word_lm);
    free(dec->la);
    free(dec->boost);
    free(dec->label_bias);
    free(dec);
}

/* Checks the options and that the lexicon and word map fit the labels. */
static int check_decoder_args(size_t n_labels, int32_t blank, const asr_lexicon *lex, const asr_lm *lm,
                              const int32_t *word_lm, size_t n_words, const asr_decoder_opts *opts,
                              asr_status *st)
{
    if (!opts)
        return asr_fail(st, ASR_E_ARG, "asr_decoder_create: opts is NULL");
    if (n_labels < 2 || n_labels > 65536 || blank < 0 || (size_t)blank >= n_labels)
        return asr_fail(st, ASR_E_ARG, "%zu labels with blank %d", n_labels, (int)blank);
    if (opts->beam < 1 || opts->beam > MAX_BEAM)
        return asr_fail(st, ASR_E_ARG, "beam %u out of range 1..%d", (unsigned)opts->beam, MAX_BEAM);
    if (!(opts->beam_delta > 0.0f) || !(opts->prune > 0.0f) || !isfinite(opts->lm_weight) ||
        opts->lm_weight < 0.0f || !isfinite(opts->word_bonus) ||
        !(opts->prior_weight >= 0.0f && opts->prior_weight <= ASR_MAX_PRIOR_WEIGHT))
        return asr_fail(st, ASR_E_ARG, "beam_delta and prune must be > 0, lm_weight finite and "
                        ">= 0, word_bonus finite, prior_weight in 0..%d", ASR_MAX_PRIOR_WEIGHT);
    if (lex && (lex->n_labels != n_labels || lex->blank != blank))
        return asr_fail(st, ASR_E_SHAPE, "the lexicon was built for %zu labels with blank %d",
                        lex->n_labels, (int)lex->blank);
    if (lex && n_words != lex->n_words)
        return asr_fail(st, ASR_E_SHAPE, "word_lm has %zu words, the lexicon %zu", n_words,
                        lex->n_words);
    if (lex && lm && !word_lm)
        return asr_fail(st, ASR_E_ARG, "asr_decoder_create: word_lm is NULL");
    return ASR_OK;
}

/* What closing word w can add at best before the rest of the sentence:
 * its weighted unigram plus its hotword boost; -inf when the LM rules it out. */
static float word_lookahead(const asr_decoder *dec, int32_t w)
{
    float u = dec->lm ? lm_unigram(dec->lm, dec->word_lm[w]) : 0.0f;
    if (u == -INFINITY)
        return -INFINITY;
    return dec->o.lm_weight * u + (dec->boost ? dec->boost[w] : 0.0f);
}

/* The look-ahead of every trie node: the best word_lookahead of the words
 * at or below it. Children have larger indices than parents, so one
 * backward pass suffices. Without boosts this equals lm_weight times the
 * best unigram (lm_weight >= 0 keeps the order). Nonzero when no word is
 * possible. */
static int build_lookahead(asr_decoder *dec)
{
    const asr_lexicon *lex = dec->lex;
    size_t n;
    uint32_t k;
    for (n = lex->n_nodes; n-- > 0;) {
        float best = -INFINITY;
        for (k = lex->word_start[n]; k < lex->word_start[n + 1]; k++) {
            float u = word_lookahead(dec, lex->word_ids[k]);
            best = u > best ? u : best;
        }
        for (k = lex->child_start[n]; k < lex->child_start[n + 1]; k++) {
            float u = dec->la[lex->child_node[k]];
            best = u > best ? u : best;
        }
        dec->la[n] = best;
    }
    return dec->la[0] == -INFINITY ? -1 : 0;
}

int asr_decoder_create(size_t n_labels, int32_t blank, const asr_lexicon *lex,
                       const asr_lm *lm, const int32_t *word_lm, size_t n_words,
                       const asr_decoder_opts *opts, asr_decoder **out, asr_status *st)
{
    asr_decoder *dec;
    size_t w;
    int rc;

    if (!out)
        return asr_fail(st, ASR_E_ARG, "asr_decoder_create: out is NULL");
    *out = NULL;
    if ((rc = check_decoder_args(n_labels, blank, lex, lm, word_lm, n_words, opts, st)) != ASR_OK)
        return rc;
    dec = calloc(1, sizeof(*dec));
    if (!dec)
        return asr_fail(st, ASR_E_NOMEM, "out of memory");
    dec->n_labels = n_labels;
    dec->blank = blank;
    dec->o = *opts;
    if (!lex) {
        *out = dec;      /* greedy */
        return ASR_OK;
    }
    dec->lex = lex;
    dec->lm = lm;
    dec->word_lm = malloc(n_words * sizeof(int32_t));
    dec->la = calloc(lex->n_nodes, sizeof(float));
    if (!dec->word_lm || !dec->la) {
        asr_decoder_free(dec);
        return asr_fail(st, ASR_E_NOMEM, "out of memory");
    }
    dec->n_words = n_words;
    for (w = 0; w < n_words; w++)
        dec->word_lm[w] = lm ? word_lm[w] : -1;
    if (build_lookahead(dec)) {
        asr_decoder_free(dec);
        return asr_fail(st, ASR_E_ARG, "no word of the lexicon has a nonzero LM probability");
    }
    *out = dec;
    return ASR_OK;
}

int asr_decoder_set_word_boost(asr_decoder *dec, const float *boost, size_t n_words,
                               asr_status *st)
{
    float *copy = NULL;
    size_t w;

    if (!dec || !dec->lex)
        return asr_fail(st, ASR_E_ARG, "asr_decoder_set_word_boost: no beam-search decoder");
    if (n_words != dec->n_words)
        return asr_fail(st, ASR_E_SHAPE, "%zu boosts for a lexicon of %zu words", n_words,
                        dec->n_words);
    if (boost) {
        for (w = 0; w < n_words; w++)
            if (!isfinite(boost[w]) || fabsf(boost[w]) > (float)ASR_MAX_WORD_BOOST)
                return asr_fail(st, ASR_E_ARG, "word %zu: boost %g is not finite or beyond %g",
                                w, (double)boost[w], (double)ASR_MAX_WORD_BOOST);
        copy = malloc(n_words * sizeof(float));
        if (!copy)
            return asr_fail(st, ASR_E_NOMEM, "out of memory");
        memcpy(copy, boost, n_words * sizeof(float));
    }
    free(dec->boost);
    dec->boost = copy;
    if (build_lookahead(dec))
        return asr_fail(st, ASR_E_ARG, "no word of the lexicon has a nonzero LM probability");
    return ASR_OK;
}

size_t label_prior_bad(const float *log_prior, size_t n)
{
    size_t c;
    for (c = 0; c < n; c++)
        if (!(log_prior[c] <= 0.0f && log_prior[c] >= -ASR_MIN_LOG_PRIOR))
            break;
    return c;
}

int asr_decoder_set_label_prior(asr_decoder *dec, const float *log_prior, size_t n_labels,
                                asr_status *st)
{
    float *bias = NULL;
    size_t c;

    if (!dec)
        return asr_fail(st, ASR_E_ARG, "asr_decoder_set_label_prior: decoder is NULL");
    if (n_labels != dec->n_labels)
        return asr_fail(st, ASR_E_SHAPE, "a prior of %zu labels for a decoder of %zu", n_labels,
                        dec->n_labels);
    if (log_prior) {
        if ((c = label_prior_bad(log_prior, n_labels)) < n_labels)
            return asr_fail(st, ASR_E_ARG, "label %zu: log prior %g is not in -%d..0", c,
                            (double)log_prior[c], ASR_MIN_LOG_PRIOR);
        if (dec->o.prior_weight > 0.0f) {
            bias = malloc(n_labels * sizeof(float));
            if (!bias)
                return asr_fail(st, ASR_E_NOMEM, "out of memory");
            for (c = 0; c < n_labels; c++)
                bias[c] = -dec->o.prior_weight * log_prior[c];
        }
    }
    free(dec->label_bias);
    dec->label_bias = bias;
    return ASR_OK;
}

/* ------------------------------------------------------------------- search */

void asr_search_free(asr_search *s)
{
    if (!s)
        return;
    free(s->cur);
    free(s->nxt);
    free(s->slot);
    free(s->slot_gen);
    free(s->order);
    free(s->memo);
    free(s->hists);
    free(s->remap);
    free(s->cand);
    free(s->cand_list);
    free(s->biased);
    free(s->rank_hist);
    free(s->rank_score);
    free(s->items);
    free(s);
}

int asr_search_create(const asr_decoder *dec, asr_search **out, asr_status *st)
{
    asr_search *s;

    if (!out)
        return asr_fail(st, ASR_E_ARG, "asr_search_create: out is NULL");
    *out = NULL;
    if (!dec)
        return asr_fail(st, ASR_E_ARG, "asr_search_create: decoder is NULL");
    s = calloc(1, sizeof(*s));
    if (!s)
        return asr_fail(st, ASR_E_NOMEM, "out of memory");
    s->dec = dec;
    s->g_last = -1;
    if (dec->lex) {
        size_t beam = dec->o.beam;
        hist *h;
        hyp *y;
        s->cur = malloc(beam * sizeof(hyp));
        s->rank_hist = malloc(beam * sizeof(uint32_t));
        s->rank_score = malloc(beam * sizeof(double));
        s->cand = calloc(dec->n_labels, 1);
        s->cand_list = malloc(dec->n_labels * sizeof(int32_t));
        s->biased = dec->label_bias ? malloc(dec->n_labels * sizeof(float)) : NULL;
        s->memo = dec->lm ? calloc(MEMO_SIZE, sizeof(lm_memo)) : NULL;
        s->cap_hists = 4096;
        s->hists = malloc(s->cap_hists * sizeof(hist));
        s->remap = malloc(s->cap_hists * sizeof(uint32_t));
        if (!s->cur || !s->rank_hist || !s->rank_score || !s->cand || !s->cand_list ||
            !s->hists || !s->remap || (dec->lm && !s->memo) || (dec->label_bias && !s->biased)) {
            asr_search_free(s);
            return asr_fail(st, ASR_E_NOMEM, "out of memory");
        }
        h = &s->hists[0];
        memset(h, 0, sizeof(*h));
        h->word = -1;
        if (dec->lm)
            lm_start(dec->lm, &h->lm);
        s->n_hists = 1;
        s->gc_at = 4096;
        y = &s->cur[0];
        memset(y, 0, sizeof(*y));
        y->last = -1;
        y->pend_word = -1;
        y->pb = 0.0f;
        y->pnb = -INFINITY;
        y->score = 0.0f;
        s->n_cur = 1;
    }
    *out = s;
    return ASR_OK;
}

int asr_search_frames(const asr_search *s, size_t *n_frames, asr_status *st)
{
    if (!s || !n_frames)
        return asr_fail(st, ASR_E_ARG, "asr_search_frames: NULL argument");
    *n_frames = s->frames;
    return ASR_OK;
}

static int table_resize(asr_search *s, size_t size)
{
    uint32_t *slot = malloc(size * sizeof(uint32_t));
    uint32_t *gen = calloc(size, sizeof(uint32_t));
    size_t mask = size - 1, i;
    if (!slot || !gen) {
        free(slot);
        free(gen);
        return -1;
    }
    free(s->slot);
    free(s->slot_gen);
    s->slot = slot;
    s->slot_gen = gen;
    s->slot_mask = size - 1;
    s->gen = 1;
    for (i = 0; i < s->n_nxt; i++) {      /* re-insert this frame's entries */
        const hyp *y = &s->nxt[i];
        size_t at = asr_mix64(y->key ^ ((uint64_t)y->node << 20) ^ (uint64_t)(uint32_t)y->last) & mask;
        while (gen[at] == s->gen)
            at = (at + 1) & mask;
        gen[at] = s->gen;
        slot[at] = (uint32_t)i;
    }
    return 0;
}

/* Merges one path into the next frame's hypotheses. */
static int add(asr_search *s, uint64_t key, uint32_t node, int32_t last, float pb, float pnb,
               uint32_t hist_idx, int32_t pend_word, uint32_t wstart)
{
    size_t mask = s->slot_mask;
    size_t at = asr_mix64(key ^ ((uint64_t)node << 20) ^ (uint64_t)(uint32_t)last) & mask;
    float p = pb > pnb ? pb : pnb;
    hyp *y;
    while (s->slot_gen[at] == s->gen) {
        y = &s->nxt[s->slot[at]];
        if (y->key == key && y->node == node && y->last == last) {
            if (p > y->best) {         /* times follow the likelier path */
                y->best = p;
                y->hist = hist_idx;
                y->pend_word = pend_word;
                y->wstart = wstart;
            }
            y->pb = lae(y->pb, pb);
            y->pnb = lae(y->pnb, pnb);
            return 0;
        }
        at = (at + 1) & mask;
    }
    if (asr_grow((void **)&s->nxt, &s->cap_nxt, s->n_nxt + 1, sizeof(hyp)))
        return -1;
    y = &s->nxt[s->n_nxt];
    y->key = key;
    y->node = node;
    y->last = last;
    y->pb = pb;
    y->pnb = pnb;
    y->best = p;
    y->hist = hist_idx;
    y->pend_word = pend_word;
    y->wstart = wstart;
    s->slot_gen[at] = s->gen;
    s->slot[at] = (uint32_t)s->n_nxt++;
    if (2 * s->n_nxt > s->slot_mask && table_resize(s, 2 * (s->slot_mask + 1)))
        return -1;
    return 0;
}

/* Ranking key of a successor: ascending keys are descending scores, ties
 * broken by the lower index (the order successors were first reached). The
 * score's bits are mapped to an unsigned integer of the same order (negative
 * floats reversed; -0 counted as +0; scores are never NaN) and inverted. */
static uint64_t rank_key(float score, uint32_t index)
{
    uint32_t u;
    score += 0.0f;                     /* -0 -> +0: they compare equal */
    memcpy(&u, &score, sizeof(u));
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return ((uint64_t)~u << 32) | index;
}

/* Restores the heap below i (largest key at the root). */
static void sift(uint64_t *a, size_t n, size_t i)
{
    for (;;) {
        size_t c = 2 * i + 1;
        uint64_t t;
        if (c >= n)
            return;
        if (c + 1 < n && a[c + 1] > a[c])
            c++;
        if (a[i] >= a[c])
            return;
        t = a[i];
        a[i] = a[c];
        a[c] = t;
        i = c;
    }
}

static void heapify(uint64_t *a, size_t n)
{
    size_t i;
    for (i = n / 2; i-- > 0;)
        sift(a, n, i);
}

/* Sorts a heap a[0..n) ascending: the largest goes last, repeatedly. */
static void sort_heap(uint64_t *a, size_t n)
{
    size_t end;
    for (end = n; end > 1; end--) {
        uint64_t t = a[0];
        a[0] = a[end - 1];
        a[end - 1] = t;
        sift(a, end - 1, 0);
    }
}

/* Leaves the min(n, k) smallest keys of a[0..n) in a[0..), ascending, and
 * returns how many. The first k form a heap whose root is the largest kept;
 * each later key below the root replaces it. Most successors lose that one
 * comparison, so this costs about n + k log k comparisons instead of the
 * n log n of sorting them all, and keeps the same keys in the same order
 * (the keys are distinct: they hold the index). */
static size_t select_best(uint64_t *a, size_t n, size_t k)
{
    size_t j;
    if (n < k)
        k = n;
    heapify(a, k);
    for (j = k; j < n; j++)
        if (a[j] < a[0]) {
            a[0] = a[j];
            sift(a, k, 0);
        }
    sort_heap(a, k);
    return k;
}

static int gc_hists(asr_search *s)
{
    uint32_t *mark = s->remap;
    size_t i, n = 0, h;
    uint32_t a;
    memset(mark, 0, s->n_hists * sizeof(uint32_t));
    mark[0] = 1;
    for (i = 0; i < s->n_cur; i++)
        for (a = s->cur[i].hist; !mark[a]; a = s->hists[a].parent)
            mark[a] = 1;
    for (h = 0; h < s->n_hists; h++) {
        if (!mark[h])
            continue;
        s->hists[n] = s->hists[h];
        s->hists[n].parent = h ? mark[s->hists[h].parent] - 1 : 0;
        mark[h] = (uint32_t)(++n);      /* new index + 1; parents come first */
    }
    for (i = 0; i < s->n_cur; i++)
        s->cur[i].hist = mark[s->cur[i].hist] - 1;
    s->n_hists = n;
    s->gc_at = 2 * n + 4096;
    return 0;
}

static int new_hist(asr_search *s, uint32_t parent, int32_t word, uint32_t start, uint32_t end,
                    uint64_t key, uint32_t *out)
{
    const asr_decoder *dec = s->dec;
    hist *h;
    const hist *p;
    if (s->n_hists >= s->cap_hists) {
        size_t cap = s->cap_hists, cap2 = s->cap_hists;
        if (asr_grow((void **)&s->hists, &cap, s->n_hists + 1, sizeof(hist)))
            return -1;
        if (asr_grow((void **)&s->remap, &cap2, cap, sizeof(uint32_t)))
            return -1;
        s->cap_hists = cap;
    }
    h = &s->hists[s->n_hists];
    p = &s->hists[parent];
    h->key = key;
    h->parent = parent;
    h->word = word;
    h->start = start;
    h->end = end;
    h->depth = p->depth + 1;
    if (dec->lm)
        lm_advance(dec->lm, &p->lm, dec->word_lm[word], &h->lm);
    else
        memset(&h->lm, 0, sizeof(h->lm));
    *out = (uint32_t)s->n_hists++;
    return 0;
}

/* Labels worth expanding this frame: not the blank, possible, and within
 * prune of the frame's best label. Returns how many went to cand_list. */
static size_t candidates(asr_search *s, const float *lp)
{
    const asr_decoder *dec = s->dec;
    float top = -INFINITY;
    size_t c, n = 0;
    for (c = 0; c < dec->n_labels; c++)
        top = lp[c] > top ? lp[c] : top;
    for (c = 0; c < dec->n_labels; c++)
        if ((int32_t)c != dec->blank && lp[c] >= top - dec->o.prune && lp[c] > -INFINITY)
            s->cand_list[n++] = (int32_t)c;
    return n;
}

/* The trie child of node on label c, or UINT32_MAX (children are sorted by label). */
static uint32_t child_on(const asr_lexicon *lex, uint32_t node, int32_t c)
{
    uint32_t lo = lex->child_start[node], hi = lex->child_start[node + 1], end = hi;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (lex->child_label[mid] < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == end || lex->child_label[lo] != c ? UINT32_MAX : lex->child_node[lo];
}

/* Extends y by label c into trie node ch with path score p (word start
 * ws): the prefix continues inside the trie, and every word ending at ch
 * becomes a hypothesis back at the root, scored by the LM. Nonzero when out
 * of memory. */
static int extend(asr_search *s, const hyp *y, int32_t c, uint32_t ch, float p, uint32_t ws)
{
    const asr_decoder *dec = s->dec;
    const asr_lexicon *lex = dec->lex;
    const float *la = dec->la;
    uint32_t k;
    if (lex->child_start[ch + 1] > lex->child_start[ch] &&
        add(s, y->key, ch, c, -INFINITY, p + la[ch] - la[y->node], y->hist, -1, ws))
        return -1;
    for (k = lex->word_start[ch]; k < lex->word_start[ch + 1]; k++) {
        const int32_t w = lex->word_ids[k];
        const uint64_t key = seq_key(y->key, w);
        float lmv = 0.0f;
        if (dec->lm) {
            lm_memo *m = &s->memo[key & (MEMO_SIZE - 1)];
            if (!m->used || m->key != key) {
                m->key = key;
                m->logp = lm_score(dec->lm, &s->hists[y->hist].lm, dec->word_lm[w]);
                m->used = 1;
            }
            lmv = m->logp;
            if (lmv == -INFINITY)
                continue;
        }
        if (add(s, key, 0, c, -INFINITY,
                p + dec->o.lm_weight * lmv + dec->o.word_bonus + (dec->boost ? dec->boost[w] : 0.0f)
                    - la[y->node] + la[0], y->hist, w, ws))
            return -1;
    }
    return 0;
}

/* Every successor of hypothesis y on this frame: the blank, the repeat of
 * its last label, and each candidate label that continues it in the trie.
 * Nonzero when out of memory. */
static int expand(asr_search *s, const hyp *y, const float *lp, size_t n_cand)
{
    const asr_decoder *dec = s->dec;
    const float total = lae(y->pb, y->pnb), lb = lp[dec->blank];
    size_t j;
    if (total == -INFINITY)
        return 0;
    if (lb > -INFINITY && add(s, y->key, y->node, y->last, total + lb, -INFINITY, y->hist, -1, y->wstart))
        return -1;
    if (y->last >= 0 && y->pnb > -INFINITY && lp[y->last] > -INFINITY &&
        add(s, y->key, y->node, y->last, -INFINITY, y->pnb + lp[y->last], y->hist, -1, y->wstart))
        return -1;
    for (j = 0; j < n_cand; j++) {
        const int32_t c = s->cand_list[j];
        const uint32_t ch = child_on(dec->lex, y->node, c);
        float p;
        if (ch == UINT32_MAX || dec->la[ch] == -INFINITY)
            continue;
        p = (c == y->last ? y->pb : total) + lp[c];
        if (p == -INFINITY)
            continue;
        if (extend(s, y, c, ch, p, y->node == 0 ? s->frames : y->wstart))
            return -1;
    }
    return 0;
}

/* Keeps the best successors, within beam_delta of the top and at most beam
 * of them, as the current hypotheses; a pending word gets its history
 * entry now that it survived. Nonzero when out of memory. */
static int keep_best(asr_search *s)
{
    const asr_decoder *dec = s->dec;
    float best = -INFINITY;
    size_t i, n = 0;
    for (i = 0; i < s->n_nxt; i++) {
        hyp *y = &s->nxt[i];
        y->score = lae(y->pb, y->pnb);
        best = y->score > best ? y->score : best;
    }
    if (best == -INFINITY)
        return 0;             /* an impossible frame: every path died; ignore it */
    if (asr_grow((void **)&s->order, &s->cap_order, s->n_nxt, sizeof(uint64_t)))
        return -1;
    for (i = 0; i < s->n_nxt; i++)
        if (s->nxt[i].score >= best - dec->o.beam_delta)
            s->order[n++] = rank_key(s->nxt[i].score, (uint32_t)i);
    n = select_best(s->order, n, dec->o.beam);
    for (i = 0; i < n; i++) {
        hyp y = s->nxt[(uint32_t)s->order[i]];
        if (y.pend_word >= 0) {
            uint32_t h;
            if (new_hist(s, y.hist, y.pend_word, y.wstart, s->frames + 1, y.key, &h))
                return -1;
            y.hist = h;
            y.pend_word = -1;
        }
        s->cur[i] = y;
    }
    s->n_cur = n;
    if (s->n_hists >= s->gc_at)
        gc_hists(s);
    return 0;
}

/* One frame of the prefix beam search: expand every hypothesis, then keep
 * the best. */
static int beam_step(asr_search *s, const float *lp, asr_status *st)
{
    size_t i, n_cand;

    if (!s->slot && table_resize(s, 1024))
        return asr_fail(st, ASR_E_NOMEM, "out of memory");
    if (++s->gen == 0) {                /* wrapped: forget every old stamp */
        memset(s->slot_gen, 0, (s->slot_mask + 1) * sizeof(uint32_t));
        s->gen = 1;
    }
    if (s->dec->label_bias && s->biased) {   /* a search made before the prior was set has
                                                no buffer: it keeps searching without it */
        const float *bias = s->dec->label_bias;
        for (i = 0; i < s->dec->n_labels; i++)
            s->biased[i] = lp[i] + bias[i];
        lp = s->biased;
    }
    s->n_nxt = 0;
    n_cand = candidates(s, lp);
    for (i = 0; i < s->n_cur; i++)
        if (expand(s, &s->cur[i], lp, n_cand))
            return asr_fail(st, ASR_E_NOMEM, "out of memory in the beam search");
    if (keep_best(s))
        return asr_fail(st, ASR_E_NOMEM, "out of memory in the beam search");
    return ASR_OK;
}

static int greedy_push(asr_search *s, uint32_t end)
{
    asr_word *w;
    if (asr_grow((void **)&s->items, &s->cap_items, s->n_items + 1, sizeof(asr_word)))
        return -1;
    w = &s->items[s->n_items++];
    w->id = s->g_last;
    w->start = s->g_start;
    w->end = end;
    w->conf = s->g_count ? (float)(s->g_sum / s->g_count) : 0.0f;
    return 0;
}

/* Best path: argmax per frame, repeats collapsed, blanks dropped. An item's
 * confidence is the mean posterior of its frames. */
static int greedy_step(asr_search *s, const float *lp, asr_status *st)
{
    const asr_decoder *dec = s->dec;
    int32_t b = 0;
    size_t c;
    for (c = 1; c < dec->n_labels; c++)
        if (lp[c] > lp[b])
            b = (int32_t)c;
    if (lp[b] > -INFINITY)
        s->g_score += lp[b];
    if (b != s->g_last) {
        if (s->g_last >= 0 && s->g_last != dec->blank && greedy_push(s, s->frames))
            return asr_fail(st, ASR_E_NOMEM, "out of memory");
        s->g_start = s->frames;
        s->g_sum = 0.0;
        s->g_count = 0;
    }
    if (b != dec->blank) {
        s->g_sum += exp((double)lp[b]);
        s->g_count++;
    }
    s->g_last = b;
    return ASR_OK;
}

int asr_search_accept(asr_search *s, const float *logprobs, size_t n_frames, size_t n_labels,
                      asr_status *st)
{
    size_t i, f;
    if (!s)
        return asr_fail(st, ASR_E_ARG, "asr_search_accept: search is NULL");
    if (n_labels != s->dec->n_labels)
        return asr_fail(st, ASR_E_SHAPE, "frames of %zu labels, the decoder has %zu", n_labels,
                        s->dec->n_labels);
    if (n_frames == 0)
        return ASR_OK;
    if (!logprobs)
        return asr_fail(st, ASR_E_ARG, "asr_search_accept: logprobs is NULL");
    if (n_frames > MAX_FRAMES - s->frames || n_frames > (size_t)-1 / n_labels)
        return asr_fail(st, ASR_E_ARG, "more than %u frames in one search", MAX_FRAMES);
    for (i = 0; i < n_frames * n_labels; i++)
        if (isnan(logprobs[i]) || logprobs[i] == INFINITY)
            return asr_fail(st, ASR_E_ARG, "frame %zu, label %zu: NaN or +inf log-probability",
                            i / n_labels, i % n_labels);
    s->ranked = 0;
    for (f = 0; f < n_frames; f++) {
        const float *lp = logprobs + f * n_labels;
        int rc = s->dec->lex ? beam_step(s, lp, st) : greedy_step(s, lp, st);
        if (rc)
            return rc;
        s->frames++;
    }
    return ASR_OK;
}

/* Insertion sort of the ranked entries, best first (at most the beam). */
static void sort_ranked(asr_search *s)
{
    size_t i;
    for (i = 1; i < s->n_rank; i++) {
        double sc = s->rank_score[i];
        uint32_t h = s->rank_hist[i];
        size_t j = i;
        while (j > 0 && s->rank_score[j - 1] < sc) {
            s->rank_score[j] = s->rank_score[j - 1];
            s->rank_hist[j] = s->rank_hist[j - 1];
            j--;
        }
        s->rank_score[j] = sc;
        s->rank_hist[j] = h;
    }
}

int asr_search_rank(asr_search *s, int final, size_t *n_hyps, asr_status *st)
{
    const asr_decoder *dec;
    size_t i;
    int pass;
    if (!s || !n_hyps)
        return asr_fail(st, ASR_E_ARG, "asr_search_rank: NULL argument");
    dec = s->dec;
    s->ranked = 1;
    if (!dec->lex) {
        *n_hyps = 1;
        return ASR_OK;
    }
    s->n_rank = 0;
    for (pass = final ? 1 : 0; pass >= 0 && s->n_rank == 0; pass--) {
        for (i = 0; i < s->n_cur; i++) {
            const hyp *y = &s->cur[i];
            double sc = y->score;
            if (pass) {
                if (y->node != 0)
                    continue;
                if (dec->lm) {
                    float e = lm_end(dec->lm, &s->hists[y->hist].lm);
                    if (e == -INFINITY)
                        continue;
                    sc += (double)dec->o.lm_weight * e;
                }
            }
            s->rank_hist[s->n_rank] = y->hist;
            s->rank_score[s->n_rank++] = sc;
        }
        if (pass && dec->lm && lm_is_grammar(dec->lm))
            break;       /* a grammar allows no fragments */
    }
    sort_ranked(s);
    *n_hyps = s->n_rank;
    return ASR_OK;
}

static double confidence(const asr_search *s, int32_t word, uint32_t start, double top)
{
    double z = 0.0, hit = 0.0, c;
    size_t j;
    uint32_t h;
    for (j = 0; j < s->n_rank; j++) {
        double p = exp(s->rank_score[j] - top);
        z += p;
        for (h = s->rank_hist[j]; h; h = s->hists[h].parent) {
            const hist *x = &s->hists[h];
            if (x->start + START_TOLERANCE < start)
                break;               /* earlier words start earlier still */
            if (x->word == word && x->start <= start + START_TOLERANCE) {
                hit += p;
                break;
            }
        }
    }
    c = z > 0.0 ? hit / z : 0.0;
    return c > 1.0 ? 1.0 : c;
}

int asr_search_hyp(const asr_search *s, size_t rank, asr_word *words, size_t cap,
                   size_t *n_words, double *score, asr_status *st)
{
    uint32_t h;
    size_t n, i;
    if (!s || !n_words || !score || (cap && !words))
        return asr_fail(st, ASR_E_ARG, "asr_search_hyp: NULL argument");
    if (!s->ranked)
        return asr_fail(st, ASR_E_ARG, "asr_search_hyp: call asr_search_rank first");
    if (!s->dec->lex) {
        int open = s->g_last >= 0 && s->g_last != s->dec->blank;
        if (rank != 0)
            return asr_fail(st, ASR_E_ARG, "rank %zu of 1 hypothesis", rank);
        n = s->n_items + (open ? 1 : 0);
        for (i = 0; i < s->n_items && i < cap; i++)
            words[i] = s->items[i];
        if (open && s->n_items < cap) {
            asr_word *w = &words[s->n_items];
            w->id = s->g_last;
            w->start = s->g_start;
            w->end = s->frames;
            w->conf = s->g_count ? (float)(s->g_sum / s->g_count) : 0.0f;
        }
        *n_words = n;
        *score = s->g_score;
        return ASR_OK;
    }
    if (rank >= s->n_rank)
        return asr_fail(st, ASR_E_ARG, "rank %zu of %zu hypotheses", rank, s->n_rank);
    n = s->hists[s->rank_hist[rank]].depth;
    i = n;
    for (h = s->rank_hist[rank]; h; h = s->hists[h].parent) {
        const hist *x = &s->hists[h];
        if (--i < cap) {
            words[i].id = x->word;
            words[i].start = x->start;
            words[i].end = x->end;
            words[i].conf = (float)confidence(s, x->word, x->start, s->rank_score[0]);
        }
    }
    *n_words = n;
    *score = s->rank_score[rank];
    return ASR_OK;
}
