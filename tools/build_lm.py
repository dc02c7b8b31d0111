#!/usr/bin/env python3
"""Build a word n-gram language model in ARPA format: interpolated modified
Kneser-Ney (Chen & Goodman), with count pruning to keep it small.

    python -m tools.build_lm work/corpus/text/lm_train.txt -o models/en-us.arpa.gz \\
        --lexicon work/corpus/lexicon.txt --lexicon-out models/en-us.asrlex \\
        --exclude work/corpus/text/test.txt --exclude work/corpus/text/valid.txt

Input: text files with one normalized sentence per line (lower-case words).
Words not in --lexicon become <unk> (or, with --oov drop, their sentence
is left out); sentences listed in an --exclude file are left out (held-out
test text must never reach the LM), and with --exclude-overlap N so is every
sentence that shares a run of N words with one of them (quotations of a test
sentence inside longer text). --min-count drops n-grams of orders 2
and up seen fewer times (continuation counts below the top order); back-off
weights are then recomputed so every distribution still sums to one.
--max-mb is a size target: while the written file is larger, the cutoffs of
the highest orders are raised and the model rebuilt. --lexicon-out writes
the pronunciations of the LM's vocabulary: the lexicon the decoder ships
with.
"""
import argparse
import math
import os
import sys
from collections import Counter, defaultdict


from asr.lm import load_arpa, save_binary, write_arpa  # noqa: E402


def discounts(counts):
    """Modified KN discounts D1, D2, D3+ from counts-of-counts."""
    coc = Counter(c for c in counts.values() if c <= 4)
    n1, n2, n3, n4 = (max(coc.get(i, 0), 1) for i in (1, 2, 3, 4))
    y = n1 / (n1 + 2.0 * n2)
    d = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
    return tuple(min(max(x, 0.05), i + 1 - 0.05) for i, x in enumerate(d))


def build(sentences, order=3, min_count=(1, 1, 2)):
    """[{ngram tuple: (log10 p, log10 bow)}] per order."""
    raw = [Counter() for _ in range(order)]
    for words in sentences:
        toks = ["<s>"] + words + ["</s>"]
        for n in range(1, order + 1):
            for i in range(max(0, 1 if n == 1 else 0), len(toks) - n + 1):
                raw[n - 1][tuple(toks[i:i + n])] += 1
    # Kneser-Ney: lower orders count distinct left contexts, except n-grams
    # starting with <s> (they have no left context).
    counts = [None] * order
    counts[order - 1] = raw[order - 1]
    for n in range(order - 1, 0, -1):
        cont = Counter()
        for g in raw[n]:
            cont[g[1:]] += 1
        for g, c in raw[n - 1].items():
            if g[0] == "<s>":
                cont[g] = c
        counts[n - 1] = cont
    vocab = sorted({g[0] for g in counts[0]} | {"<unk>", "</s>"})
    probs = [dict() for _ in range(order)]
    # Unigrams: discounted continuation counts interpolated with uniform.
    d = discounts(counts[0])
    total = sum(counts[0].values())
    n_by = Counter(min(c, 3) for c in counts[0].values())
    gamma = sum(d[i - 1] * n_by[i] for i in (1, 2, 3)) / total
    for w in vocab:
        c = counts[0].get((w,), 0)
        p = max(c - d[min(c, 3) - 1], 0) / total if c else 0.0
        probs[0][(w,)] = p + gamma / len(vocab)
    probs[0][("<s>",)] = 0.0
    for n in range(2, order + 1):
        cn = counts[n - 1]
        d = discounts(cn)
        ctx_total, ctx_n = Counter(), defaultdict(Counter)
        for g, c in cn.items():
            ctx_total[g[:-1]] += c
            ctx_n[g[:-1]][min(c, 3)] += 1
        for g, c in cn.items():
            h = g[:-1]
            if c < min_count[n - 1]:
                continue
            gam = sum(d[i - 1] * ctx_n[h][i] for i in (1, 2, 3)) / ctx_total[h]
            lower = lower_prob(probs, g[1:])
            probs[n - 1][g] = max(c - d[min(c, 3) - 1], 0) / ctx_total[h] + gam * lower
    # Back-off weights: whatever mass the kept n-grams leave, spread over the
    # lower order's distribution of the words not kept.
    grams = [dict() for _ in range(order)]
    followers = [defaultdict(list) for _ in range(order)]
    for n in range(2, order + 1):
        for g in probs[n - 1]:
            followers[n - 2][g[:-1]].append(g)
    for n in range(1, order + 1):
        for g, p in probs[n - 1].items():
            if n > 1 and g[:-1] not in probs[n - 2]:
                continue                     # context itself pruned away
            lp = math.log10(p) if p > 0 else float("-inf")
            bow = 0.0
            if n < order and followers[n - 1].get(g):
                kept = followers[n - 1][g]
                num = 1.0 - sum(probs[n][k] for k in kept)
                den = 1.0 - sum(lower_prob(probs, k[1:]) for k in kept)
                bow = math.log10(max(num, 1e-12) / max(den, 1e-12))
            grams[n - 1][g] = (lp if g != ("<s>",) else -99.0, bow)
    # Drop n-grams whose context did not survive (ARPA needs prefixes).
    for n in range(2, order + 1):
        grams[n - 1] = {g: v for g, v in grams[n - 1].items() if g[:-1] in grams[n - 2]}
    return grams


def ngrams(words, n):
    """The runs of n words of a sentence, as tuples."""
    return [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]


def lower_prob(probs, g):
    """Interpolated probability of g's last word after g's context, backing
    off through shorter contexts (used while building)."""
    if len(g) == 1:
        return probs[0].get(g, probs[0][("<unk>",)])
    p = probs[len(g) - 1].get(g)
    return p if p is not None else lower_prob(probs, g[1:])


def write_lm(path, grams):
    """ARPA text, or with an .asrlm name the binary form of the same model."""
    if not str(path).endswith(".asrlm"):
        write_arpa(path, grams)
        return
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        arpa = os.path.join(tmp, os.path.basename(path)[:-len(".asrlm")] + ".arpa")
        write_arpa(arpa, grams)
        save_binary(load_arpa(arpa), path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("text", nargs="+")
    ap.add_argument("-o", "--out", required=True, help="output .arpa, .arpa.gz, or .asrlm (binary, what the recognizer loads fastest)")
    ap.add_argument("--order", type=int, default=3)
    ap.add_argument("--min-count", default="1,1,2", help="per-order count cutoffs")
    ap.add_argument("--lexicon", action="append", default=[],
                    help="lexicon (word PH ON ES per line; repeatable): its words form the vocabulary")
    ap.add_argument("--lexicon-out", help="write the vocabulary's pronunciations here (text; binary "
                    "when the name ends in .asrlex)")
    ap.add_argument("--exclude", action="append", default=[], help="sentences to leave out")
    ap.add_argument("--exclude-overlap", type=int, default=0, metavar="N",
                    help="also leave out every sentence sharing a run of N words with an "
                         "--exclude sentence (0: exact matches only)")
    ap.add_argument("--oov", choices=("unk", "drop"), default="unk",
                    help="words not in --lexicon: map to <unk>, or drop the sentence")
    ap.add_argument("--max-mb", type=float, default=0.0,
                    help="size target of the written file in MB (0: none); cutoffs rise until met")
    args = ap.parse_args(argv)
    exclude = set()
    for path in args.exclude:
        exclude.update(line.strip() for line in open(path, encoding="utf-8"))
    held_ngrams = set()
    if args.exclude_overlap:
        for s in exclude:
            held_ngrams.update(ngrams(s.split(), args.exclude_overlap))
    lex_words = None
    if args.lexicon:
        from asr.lexicon import read_prons
        prons, seen = [], set()
        for path in args.lexicon:
            for w, ph in read_prons(path):
                if (w, tuple(ph)) not in seen:
                    seen.add((w, tuple(ph)))
                    prons.append((w, ph))
        lex_words = {w for w, _ in prons}
    sents, dropped, oov_dropped = [], 0, 0
    for path in args.text:
        for line in open(path, encoding="utf-8"):
            s = line.strip()
            if not s:
                continue
            words = s.split()
            if s in exclude or (held_ngrams and not held_ngrams.isdisjoint(
                    ngrams(words, args.exclude_overlap))):
                dropped += 1
                continue
            if lex_words is not None:
                if args.oov == "drop" and any(w not in lex_words for w in words):
                    oov_dropped += 1
                    continue
                words = [w if w in lex_words else "<unk>" for w in words]
            sents.append(words)
    if not sents:
        print("build_lm: no sentences left to train on", file=sys.stderr)
        return 1
    mc = [int(x) for x in args.min_count.split(",")]
    mc = (mc + [mc[-1]] * args.order)[:args.order]
    for attempt in range(60):
        grams = build(sents, args.order, tuple(mc))
        write_lm(args.out, grams)
        size_mb = os.path.getsize(args.out) / 1e6
        print("%s: %d sentences (%d excluded, %d with OOV dropped), cutoffs %s, %s, %.2f MB"
              % (args.out, len(sents), dropped, oov_dropped, ",".join(map(str, mc)),
                 " ".join("%d-grams=%d" % (i + 1, len(g)) for i, g in enumerate(grams)), size_mb),
              file=sys.stderr)
        if not args.max_mb or size_mb <= args.max_mb or args.order < 2:
            break
        mc[-1] += 1                         # prune the top order first, then the next
        if args.order > 2 and mc[-1] > mc[-2] + 1:
            mc[-2] += 1
    if args.lexicon_out:
        vocab = {g[0] for g in grams[0]}
        kept = [(w, ph) for w, ph in prons if w in vocab]
        if args.lexicon_out.endswith(".asrlex"):
            from asr.lexicon import Lexicon, save_binary as save_lexicon
            save_lexicon(Lexicon.from_prons(kept, name=os.path.basename(args.lexicon_out)),
                         args.lexicon_out)
        else:
            with open(args.lexicon_out, "w", encoding="utf-8") as f:
                for w, ph in kept:
                    f.write("%s %s\n" % (w, " ".join(ph)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
