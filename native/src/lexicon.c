/*
 * lexicon.c - pronunciations as a phone trie (see asr_lexicon in
 * decoder_int.h for the layout).
 *
 * Built in two passes: a pointer-free trie with first-child/next-sibling
 * links (nodes in creation order, so parents precede children), then packed
 * into the compressed-row arrays the search walks, children sorted by label.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "decoder_int.h"

typedef struct build_node {
    uint32_t first_child;   /* 0 = none (the root is never a child) */
    uint32_t next_sibling;
    int32_t label;
    uint32_t n_children;
} build_node;

void asr_lexicon_free(asr_lexicon *lex)
{
    if (!lex)
        return;
    free(lex->child_start);
    free(lex->child_label);
    free(lex->child_node);
    free(lex->word_start);
    free(lex->word_ids);
    free(lex);
}

int asr_lexicon_info(const asr_lexicon *lex, size_t *n_nodes, asr_status *st)
{
    if (!lex || !n_nodes)
        return asr_fail(st, ASR_E_ARG, "asr_lexicon_info: NULL argument");
    *n_nodes = lex->n_nodes;
    return ASR_OK;
}

static int cmp_pair(const void *a, const void *b)
{
    const uint32_t *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

/* Checks the sizes, the pronunciation table and every phone label. */
static int check_prons(size_t n_labels, int32_t blank, size_t n_words, size_t n_prons,
                       const int32_t *pron_word, const uint32_t *pron_start, const int32_t *phones,
                       asr_status *st)
{
    size_t i, n_phones;
    if (n_labels < 2 || n_labels > 65536 || blank < 0 || (size_t)blank >= n_labels)
        return asr_fail(st, ASR_E_ARG, "%zu labels with blank %d", n_labels, (int)blank);
    if (n_words < 1 || n_words > 0x7fffffff || n_prons < 1 || n_prons > 0x7fffffff)
        return asr_fail(st, ASR_E_ARG, "lexicon of %zu words and %zu pronunciations", n_words,
                        n_prons);
    if (pron_start[0] != 0)
        return asr_fail(st, ASR_E_ARG, "pron_start[0] must be 0");
    for (i = 0; i < n_prons; i++) {
        if (pron_start[i + 1] <= pron_start[i])
            return asr_fail(st, ASR_E_ARG, "pronunciation %zu is empty or misplaced", i);
        if (pron_word[i] < 0 || (size_t)pron_word[i] >= n_words)
            return asr_fail(st, ASR_E_ARG, "pronunciation %zu: word id %d out of range", i,
                            (int)pron_word[i]);
    }
    n_phones = pron_start[n_prons];
    if (n_phones >= 0x7fffffff)
        return asr_fail(st, ASR_E_ARG, "too many phones");
    for (i = 0; i < n_phones; i++)
        if (phones[i] < 0 || (size_t)phones[i] >= n_labels || phones[i] == blank)
            return asr_fail(st, ASR_E_ARG, "phone %zu: label %d is out of range or the blank", i,
                            (int)phones[i]);
    return ASR_OK;
}

/* First pass: inserts every pronunciation into the linked trie b (room for
 * one node per phone plus the root) and writes the (end node, word) pair of
 * each to ends, sorted. Returns the node count. */
static size_t build_trie(build_node *b, uint32_t *ends, size_t n_prons, const int32_t *pron_word,
                         const uint32_t *pron_start, const int32_t *phones)
{
    size_t i, n_nodes = 1;
    uint32_t k;
    b[0].label = -1;
    for (i = 0; i < n_prons; i++) {
        uint32_t node = 0;
        for (k = pron_start[i]; k < pron_start[i + 1]; k++) {
            uint32_t c = b[node].first_child;
            while (c && b[c].label != phones[k])
                c = b[c].next_sibling;
            if (!c) {
                c = (uint32_t)n_nodes++;
                b[c].label = phones[k];
                b[c].next_sibling = b[node].first_child;
                b[node].first_child = c;
                b[node].n_children++;
            }
            node = c;
        }
        ends[2 * i] = node;
        ends[2 * i + 1] = (uint32_t)pron_word[i];
    }
    qsort(ends, n_prons, 2 * sizeof(uint32_t), cmp_pair);
    return n_nodes;
}

/* Second pass: the children of each node as sorted compressed rows, and
 * the words ending at each node (the same word twice at a node once). */
static void pack_trie(asr_lexicon *lex, const build_node *b, const uint32_t *ends, size_t n_prons)
{
    uint32_t at = 0, nw = 0, c;
    size_t n, i;
    for (n = 0; n < lex->n_nodes; n++) {
        uint32_t lo = at;
        lex->child_start[n] = at;
        for (c = b[n].first_child; c; c = b[c].next_sibling) {
            uint32_t k = at++;          /* insertion sort by label: few children */
            while (k > lo && lex->child_label[k - 1] > b[c].label) {
                lex->child_label[k] = lex->child_label[k - 1];
                lex->child_node[k] = lex->child_node[k - 1];
                k--;
            }
            lex->child_label[k] = b[c].label;
            lex->child_node[k] = c;
        }
    }
    lex->child_start[lex->n_nodes] = at;
    for (i = 0; i < n_prons; i++) {
        if (i > 0 && ends[2 * i] == ends[2 * i - 2] && ends[2 * i + 1] == ends[2 * i - 1])
            continue;
        lex->word_ids[nw++] = (int32_t)ends[2 * i + 1];
        lex->word_start[ends[2 * i] + 1]++;
    }
    for (n = 0; n < lex->n_nodes; n++)
        lex->word_start[n + 1] += lex->word_start[n];
}

int asr_lexicon_create(size_t n_labels, int32_t blank, size_t n_words, size_t n_prons,
                       const int32_t *pron_word, const uint32_t *pron_start,
                       const int32_t *phones, asr_lexicon **out, asr_status *st)
{
    asr_lexicon *lex;
    build_node *b;
    uint32_t *ends;
    size_t n_nodes;
    int rc;

    if (!out)
        return asr_fail(st, ASR_E_ARG, "asr_lexicon_create: out is NULL");
    *out = NULL;
    if (!pron_word || !pron_start || !phones)
        return asr_fail(st, ASR_E_ARG, "asr_lexicon_create: NULL array");
    if ((rc = check_prons(n_labels, blank, n_words, n_prons, pron_word, pron_start, phones, st)) != ASR_OK)
        return rc;

    lex = calloc(1, sizeof(*lex));
    b = calloc((size_t)pron_start[n_prons] + 1, sizeof(*b));
    ends = malloc(2 * n_prons * sizeof(uint32_t));   /* (node, word) pairs */
    if (!lex || !b || !ends)
        goto nomem;
    n_nodes = build_trie(b, ends, n_prons, pron_word, pron_start, phones);
    lex->n_labels = n_labels;
    lex->blank = blank;
    lex->n_words = n_words;
    lex->n_nodes = n_nodes;
    lex->child_start = malloc((n_nodes + 1) * sizeof(uint32_t));
    lex->child_label = malloc(n_nodes * sizeof(int32_t));
    lex->child_node = malloc(n_nodes * sizeof(uint32_t));
    lex->word_start = calloc(n_nodes + 1, sizeof(uint32_t));
    lex->word_ids = malloc(n_prons * sizeof(int32_t));
    if (!lex->child_start || !lex->child_label || !lex->child_node || !lex->word_start ||
        !lex->word_ids)
        goto nomem;
    pack_trie(lex, b, ends, n_prons);
    free(b);
    free(ends);
    *out = lex;
    return ASR_OK;
nomem:
    free(b);
    free(ends);
    asr_lexicon_free(lex);
    return asr_fail(st, ASR_E_NOMEM, "out of memory building the lexicon trie");
}
