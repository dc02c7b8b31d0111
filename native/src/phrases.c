/*
 * phrases.c - a phrase list as a grammar LM (asr_grammar_from_phrases in
 * asr_files.h), the C form of asr/lm.py PhraseGrammar.
 *
 * The phrases' words form a prefix trie; node 0 is the start. From a node
 * with c children, each continuation costs log(c + f) nats, f being 1 where
 * a phrase ends there, and ending costs log(c + 1): every way on is equally
 * likely. The vocabulary is the sorted set of words (byte order, which for
 * UTF-8 is code-point order, as Python sorts str).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "asr_files.h"
#include "common.h"

/* Bounds that keep every count below in int32_t and the memory sane. */
#define MAX_PHRASES 1000000
#define MAX_PHRASE_BYTES 4096

typedef struct arc {
    uint32_t from, to;
    char *word;             /* owned */
} arc;

typedef struct trie {
    arc *arcs;
    size_t n_arcs, arcs_cap;
    uint32_t *children;     /* per node */
    uint8_t *final;
    size_t n_nodes, nodes_cap;
    uint32_t *slot;         /* hash of (from, word) -> arc index + 1 */
    size_t mask;
} trie;

static uint64_t key_hash(uint32_t from, const char *w)
{
    uint64_t h = 1469598103934665603ULL ^ from;
    for (; *w; w++)
        h = (h ^ (unsigned char)*w) * 1099511628211ULL;
    return asr_mix64(h);
}

static void trie_free(trie *t)
{
    size_t i;
    for (i = 0; i < t->n_arcs; i++)
        free(t->arcs[i].word);
    free(t->arcs);
    free(t->children);
    free(t->final);
    free(t->slot);
}

static int add_node(trie *t)
{
    size_t cap_c = t->nodes_cap, cap_f = t->nodes_cap;
    if (asr_grow((void **)&t->children, &cap_c, t->n_nodes + 1, sizeof(uint32_t))
        || asr_grow((void **)&t->final, &cap_f, t->n_nodes + 1, sizeof(uint8_t)))
        return -1;
    t->nodes_cap = cap_c < cap_f ? cap_c : cap_f;
    t->children[t->n_nodes] = 0;
    t->final[t->n_nodes] = 0;
    t->n_nodes++;
    return 0;
}

/* Doubles the hash table when it is half full. */
static int rehash(trie *t)
{
    size_t i, size = t->mask ? 2 * (t->mask + 1) : 64;
    uint32_t *slot;
    if (t->mask && 2 * t->n_arcs < t->mask + 1)
        return 0;
    if (!(slot = calloc(size, sizeof(uint32_t))))
        return -1;
    for (i = 0; i < t->n_arcs; i++) {
        size_t j = key_hash(t->arcs[i].from, t->arcs[i].word) & (size - 1);
        while (slot[j])
            j = (j + 1) & (size - 1);
        slot[j] = (uint32_t)i + 1;
    }
    free(t->slot);
    t->slot = slot;
    t->mask = size - 1;
    return 0;
}

/* The node reached from `from` by word w[0..len), made if new; -1 when out
 * of memory. */
static int64_t step(trie *t, uint32_t from, const char *w, size_t len)
{
    char *word;
    size_t j;
    if (rehash(t))
        return -1;
    if (!(word = malloc(len + 1)))
        return -1;
    memcpy(word, w, len);
    word[len] = '\0';
    for (j = key_hash(from, word) & t->mask; t->slot[j]; j = (j + 1) & t->mask) {
        const arc *a = &t->arcs[t->slot[j] - 1];
        if (a->from == from && !strcmp(a->word, word)) {
            free(word);
            return a->to;
        }
    }
    if (asr_grow((void **)&t->arcs, &t->arcs_cap, t->n_arcs + 1, sizeof(arc)) || add_node(t)) {
        free(word);
        return -1;
    }
    t->arcs[t->n_arcs].from = from;
    t->arcs[t->n_arcs].to = (uint32_t)(t->n_nodes - 1);
    t->arcs[t->n_arcs].word = word;
    t->slot[j] = (uint32_t)++t->n_arcs;
    t->children[from]++;
    return t->n_nodes - 1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Adds one phrase: lower-cased (ASCII), split on ASCII white space. */
static int add_phrase(trie *t, const char *phrase, asr_status *st)
{
    char buf[MAX_PHRASE_BYTES + 1];
    size_t i, n = strlen(phrase), start;
    int64_t node = 0;
    int any = 0;
    if (n > MAX_PHRASE_BYTES)
        return asr_fail(st, ASR_E_ARG, "a phrase of %zu bytes (at most %d)", n, MAX_PHRASE_BYTES);
    for (i = 0; i < n; i++)
        buf[i] = phrase[i] >= 'A' && phrase[i] <= 'Z' ? (char)(phrase[i] - 'A' + 'a') : phrase[i];
    buf[n] = '\0';
    for (i = 0; i < n;) {
        while (i < n && is_space(buf[i]))
            i++;
        if (i == n)
            break;
        start = i;
        while (i < n && !is_space(buf[i]))
            i++;
        if ((node = step(t, (uint32_t)node, buf + start, i - start)) < 0)
            return asr_fail(st, ASR_E_NOMEM, "out of memory building the phrase grammar");
        any = 1;
    }
    if (any)
        t->final[node] = 1;
    return ASR_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The sorted distinct words of the trie's arcs. */
static int trie_vocab(const trie *t, asr_vocab **out, asr_status *st)
{
    const char **w = malloc((t->n_arcs + 1) * sizeof(char *));
    size_t i, n = 0;
    int rc;
    if (!w)
        return asr_fail(st, ASR_E_NOMEM, "out of memory building the phrase grammar");
    for (i = 0; i < t->n_arcs; i++)
        w[i] = t->arcs[i].word;
    qsort(w, t->n_arcs, sizeof(char *), cmp_str);
    for (i = 0; i < t->n_arcs; i++)
        if (!n || strcmp(w[n - 1], w[i]))
            w[n++] = w[i];
    rc = asr_vocab_create(w, n, out, st);
    free(w);
    return rc;
}

static int trie_lm(const trie *t, const asr_vocab *vocab, asr_lm **out, asr_status *st)
{
    float *end = malloc(t->n_nodes * sizeof(float)), *lp = malloc((t->n_arcs + 1) * sizeof(float));
    int32_t *from = malloc((t->n_arcs + 1) * sizeof(int32_t)), *word = malloc((t->n_arcs + 1) * sizeof(int32_t));
    int32_t *to = malloc((t->n_arcs + 1) * sizeof(int32_t));
    size_t i;
    int rc;
    if (!end || !lp || !from || !word || !to) {
        rc = asr_fail(st, ASR_E_NOMEM, "out of memory building the phrase grammar");
        goto done;
    }
    for (i = 0; i < t->n_nodes; i++)
        end[i] = t->final[i] ? (float)-log((double)t->children[i] + 1.0) : -INFINITY;
    for (i = 0; i < t->n_arcs; i++) {
        const arc *a = &t->arcs[i];
        from[i] = (int32_t)a->from;
        to[i] = (int32_t)a->to;
        word[i] = asr_vocab_find(vocab, a->word);
        lp[i] = (float)-log((double)t->children[a->from] + t->final[a->from]);
    }
    rc = asr_lm_create_grammar(t->n_nodes, end, t->n_arcs, from, word, to, lp, asr_vocab_size(vocab),
                               out, st);
done:
    free(end);
    free(lp);
    free(from);
    free(word);
    free(to);
    return rc;
}

int asr_grammar_from_phrases(const char *const *phrases, size_t n, asr_lm **lm, asr_vocab **vocab,
                             asr_status *st)
{
    trie t;
    size_t i;
    int rc = ASR_OK;
    if (!lm || !vocab || (n && !phrases))
        return asr_fail(st, ASR_E_ARG, "asr_grammar_from_phrases: NULL argument");
    *lm = NULL;
    *vocab = NULL;
    if (n > MAX_PHRASES)
        return asr_fail(st, ASR_E_ARG, "%zu phrases (at most %d)", n, MAX_PHRASES);
    memset(&t, 0, sizeof(t));
    if (add_node(&t)) {
        trie_free(&t);
        return asr_fail(st, ASR_E_NOMEM, "out of memory building the phrase grammar");
    }
    for (i = 0; i < n && rc == ASR_OK; i++)
        rc = phrases[i] ? add_phrase(&t, phrases[i], st)
                        : asr_fail(st, ASR_E_ARG, "phrase %zu is NULL", i);
    if (rc == ASR_OK && t.n_nodes == 1)
        rc = asr_fail(st, ASR_E_ARG, "a phrase grammar needs at least one non-empty phrase");
    if (rc == ASR_OK && (rc = trie_vocab(&t, vocab, st)) == ASR_OK
        && (rc = trie_lm(&t, *vocab, lm, st)) != ASR_OK) {
        asr_vocab_free(*vocab);
        *vocab = NULL;
    }
    trie_free(&t);
    return rc;
}
