#!/usr/bin/env python3
"""Extra English text for the language model (never spoken by the TTS voices).

    python -m tools.corpus.lm_texts          # -> work/corpus/text/lm_extra.txt

The synthetic corpus's own sentences (WordNet examples, fortunes, The Devil's
Dictionary) are about a million words of short modern sentences. Real
recordings are often longer read prose; this adds prose from Debian packages
(installed by tools/corpus/install_voices.sh):

  gcide       GNU Collaborative International Dictionary of English
              (Webster's 1913 and WordNet): the literary quotations that
              illustrate its senses, and the definitions themselves
  wordnet     WordNet glosses (definitions; the examples are already corpus text)
  jargon      The Jargon File's entries

Sentences are normalized as the corpus labels are (tools/corpus/texts.py) and
kept only if every word is in the CMU dictionary; lexicon_extra.txt gets the
pronunciations of their words. Held-out text is removed when the LM is built
(tools/build_lm.py --exclude-overlap), not here.
"""
import argparse
import gzip
import os
import re
import sys


from tools.corpus import texts
from tools.corpus.texts import CORPUS, WORDNET, keep, load_cmudict, normalize, split_sentences  # noqa: E402

GCIDE = "/usr/share/dictd/gcide.dict.dz"
JARGON = "/usr/share/doc/jargon-text/jargon.txt.gz"

# Editorial marks of GCIDE: "[1913 Webster]", "[Obs.]", "[PJC]", {cross refs}.
_BRACKETED = re.compile(r"\[[^\]]*\]")
_ATTRIBUTION = re.compile(r"--\s*[A-Z][^\n]*$")
_HEADWORD = re.compile(r"[^\\]*\\[^\\]*\\,?\s*(?:(?:[a-z]+\.|&)\s*)*(?:\d+\.\s*)?")


def _unbracket(text):
    """Remove [...] groups, nested ones included."""
    while True:
        out = _BRACKETED.sub(" ", text)
        if out == text:
            return out
        text = out


def _gcide_paragraphs(text):
    for para in re.split(r"\n\s*\n", text):
        lines = [l for l in para.split("\n") if l.strip() and not _BRACKETED.fullmatch(l.strip())]
        if lines:
            yield lines


def _read_gz(path):
    """Text of a gzip (or dictzip) file; '' when the package is not installed."""
    if not os.path.exists(path):
        return ""
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        return f.read()


def gcide():
    """Quotations and definitions of GCIDE, as raw sentences."""
    text = _read_gz(GCIDE)
    start = text.find("Begin file 1 of 26")
    for lines in _gcide_paragraphs(text[max(start, 0):]):
        first = lines[0]
        indent = len(first) - len(first.lstrip())
        body = " ".join(l.strip() for l in lines)
        if indent == 0:
            # "Word \Pro*nun\, v. t. [etymology] 1. First sense." -> the first sense
            body = _unbracket(body)
            m = _HEADWORD.match(body)
            if not m or not body[m.end():m.end() + 1].isupper():
                continue
            body = body[m.end():]
        if body.startswith(("Syn:", "Syn.", "Begin file", "End of file")):
            continue                    # synonym lists and file banners
        body = _ATTRIBUTION.sub("", body) if indent >= 8 else body
        body = re.sub(r"\s--\s*[A-Z][\w.' ]*?(?=\s[A-Z]|$)", " ", body)   # inline attributions
        body = _unbracket(body).replace("{", "").replace("}", "")
        body = re.sub(r"^(Note:|\d+\.|\([a-z]\))\s*", "", body)
        yield from split_sentences(body)


def wordnet_definitions():
    """Definitions of WordNet glosses (the quoted examples are left out)."""
    for gloss in texts.wordnet_glosses(WORDNET):
        yield from re.sub(r'"[^"]*"', " ", gloss).split(";")


def jargon():
    """Entry bodies of the Jargon File (headwords and pronunciations left out)."""
    for para in re.split(r"\n\s*\n", _read_gz(JARGON)):
        body = " ".join(l.strip() for l in para.split("\n"))
        if not body or body.startswith(":"):
            continue
        body = body.replace("{", "").replace("}", "").replace("\u201c", '"').replace("\u201d", '"')
        body = re.sub(r"^\d+\.\s*", "", _BRACKETED.sub(" ", body))
        yield from split_sentences(body)


SOURCES = (("gcide", gcide), ("wordnet-glosses", wordnet_definitions), ("jargon", jargon))


def build(out_path, lex, lexicon_out=None):
    """Write the normalized, deduplicated extra sentences (and, to lexicon_out,
    the pronunciations of their words); returns counts per source."""
    seen, counts, used = set(), {}, set()
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as out:
        for name, source in SOURCES:
            n = 0
            for raw in source():
                s = normalize(raw)
                if keep(s, lex, min_words=3, max_words=40) and s not in seen:
                    seen.add(s)
                    out.write(s + "\n")
                    used.update(s.split())
                    n += 1
            counts[name] = n
    os.replace(tmp, out_path)
    if lexicon_out:
        with open(lexicon_out + ".tmp", "w", encoding="utf-8") as f:
            for w in sorted(used):
                f.writelines("%s %s\n" % (w, phones) for phones in lex[w])
        os.replace(lexicon_out + ".tmp", lexicon_out)
    counts["words"] = len(used)
    return counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--out", default=os.path.join(CORPUS, "text", "lm_extra.txt"))
    ap.add_argument("--lexicon-out", default=os.path.join(CORPUS, "lexicon_extra.txt"),
                    help="pronunciations of the words of --out (CMU phones, as lexicon.txt)")
    args = ap.parse_args(argv)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    counts = build(args.out, load_cmudict(), args.lexicon_out)
    print(" ".join("%s=%d" % kv for kv in counts.items()), file=sys.stderr)
    return 0 if counts["words"] else 1


if __name__ == "__main__":
    sys.exit(main())
