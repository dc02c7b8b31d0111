#!/usr/bin/env python3
"""Build the sentence lists and the lexicon for the synthetic corpus.

    python -m tools.corpus.texts            # -> work/corpus/text/*.txt, work/corpus/lexicon.txt

Sources (Debian packages, see install_voices.sh): WordNet usage examples
(wordnet-base), fortunes, The Devil's Dictionary (dict-devil); plus generated
items: spelled-out numbers, digit strings, short commands and isolated words.

Every sentence is normalized to lowercase a-z, apostrophe and single spaces,
numbers and common abbreviations spelled out, and kept only if it has 2-25
words (isolated words: 1) that are ALL in the CMU dictionary, so that every
label can be written in phones. The text given to a TTS engine is exactly
the label.

Outputs (deterministic for a given set of installed packages):
  text/train.txt, valid.txt, test.txt   disjoint sentences, one per line
  text/lm_train.txt                     every sentence not in valid/test (for the LM)
  lexicon.txt                           "word PH ON ES" (CMU 39 phones, no stress);
                                        a variant pronunciation is another line for the same word
"""
import argparse
import glob
import gzip
import os
import random
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORK = os.environ.get("ASR_WORK", os.path.join(ROOT, "work"))
CORPUS = os.path.join(WORK, "corpus")
CMUDICT = "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"
WORDNET = "/usr/share/wordnet"
FORTUNES = "/usr/share/games/fortunes"
DEVIL = "/usr/share/dictd/devil.dict.dz"
SEED = 20261124

ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen").split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
ORD = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
       "nine": "ninth", "twelve": "twelfth"}
ABBREV = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint", "jr": "junior",
          "sr": "senior", "vs": "versus", "etc": "et cetera", "no": "number", "prof": "professor",
          "gen": "general", "capt": "captain", "col": "colonel", "lt": "lieutenant", "mt": "mount"}
SYMBOLS = {"&": " and ", "%": " percent ", "+": " plus ", "=": " equals ", "@": " at ",
           "$": " dollars ", "#": " number "}


def cardinal(n):
    """Integer 0 <= n < 10**12 -> English words ('one hundred twenty three')."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + cardinal(rest))
    for size, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand")):
        if n >= size:
            rest = n % size
            return cardinal(n // size) + " " + name + ("" if rest == 0 else " " + cardinal(rest))
    raise ValueError(n)


def ordinal(n):
    """Integer -> 'twenty first'."""
    words = cardinal(n).split()
    last = words[-1]
    if last in ORD:
        last = ORD[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return " ".join(words[:-1] + [last])


def year(n):
    """1100..1999, 2010..2099 -> 'nineteen eighty four'; others cardinal."""
    if 1100 <= n <= 1999 or 2010 <= n <= 2099:
        hi, lo = divmod(n, 100)
        if lo == 0:
            return cardinal(hi) + " hundred"
        return cardinal(hi) + " " + (("oh " + ONES[lo]) if lo < 10 else cardinal(lo))
    return cardinal(n)


def _number(match):
    s = match.group(0)
    digits, suffix = re.match(r"([\d,]+(?:\.\d+)?)(st|nd|rd|th|s)?$", s).groups()
    if "." in digits:
        whole, frac = digits.replace(",", "").split(".")
        return " %s point %s " % (cardinal(int(whole)) if whole else "zero",
                                  " ".join(ONES[int(d)] for d in frac))
    n = int(digits.replace(",", ""))
    if n >= 10**12:
        return " " + " ".join(ONES[int(d)] for d in digits if d.isdigit()) + " "
    if suffix in ("st", "nd", "rd", "th"):
        return " " + ordinal(n) + " "
    if suffix == "s" and 1100 <= n <= 2099:  # the 1960s
        w = year(n)
        return " " + (w[:-1] + "ies" if w.endswith("y") else w + "s") + " "
    if "," not in digits and len(digits) == 4:
        return " " + year(n) + " "
    return " " + cardinal(n) + " "


def normalize(text):
    """Raw sentence -> label text (lowercase a-z, apostrophe, single spaces), or None."""
    t = text.replace("\u2019", "'").replace("`", "'").lower()
    for k, v in SYMBOLS.items():
        t = t.replace(k, v)
    t = re.sub(r"\d[\d,]*(?:\.\d+)?(?:st|nd|rd|th|s)?\b", _number, t)
    t = re.sub(r"\b(%s)\." % "|".join(ABBREV), lambda m: " " + ABBREV[m.group(1)] + " ", t)
    t = re.sub(r"[-_/]", " ", t)
    t = re.sub(r"[^a-z' ]", " ", t)
    words = []
    for w in t.split():
        w = w.strip("'")
        if w:
            words.append(w)
    return " ".join(words) if words else None


def split_sentences(text):
    """Paragraph -> sentences, at . ! ? ; : (abbreviations protected)."""
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\b(%s)\." % "|".join(ABBREV), lambda m: m.group(1) + "<DOT>", text, flags=re.I)
    text = re.sub(r"\b([A-Z])\.", r"\1<DOT>", text)  # initials
    parts = re.split(r"(?<=[.!?;:])\s+|\s+--\s+|[()\[\]\"]", text)
    return [p.replace("<DOT>", ".") for p in parts if p and p.strip()]


def load_cmudict(path=CMUDICT):
    """word -> list of phone strings (stress removed, uppercase), first pronunciation first."""
    lex = {}
    with open(path, encoding="latin-1") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            word = re.sub(r"\(\d+\)$", "", parts[0].lower())
            phones = " ".join(re.sub(r"\d", "", p).upper() for p in parts[1:])
            prons = lex.setdefault(word, [])
            if phones not in prons:
                prons.append(phones)
    return lex


def wordnet_glosses(wordnet=WORDNET):
    """The gloss of every WordNet synset: definitions and quoted examples."""
    for path in sorted(glob.glob(os.path.join(wordnet, "data.*"))):
        with open(path, encoding="latin-1") as f:
            for line in f:
                if not line.startswith("  "):      # the licence header is indented
                    yield line.partition("|")[2]


def wordnet_examples():
    """Quoted usage examples from WordNet glosses."""
    for gloss in wordnet_glosses():
        yield from re.findall(r'"([^"]+)"', gloss)


def fortunes():
    """Sentences of the offensive-free fortune files (no attributions)."""
    for path in sorted(glob.glob(os.path.join(FORTUNES, "*"))):
        if "." in os.path.basename(path) or os.path.isdir(path) or os.path.islink(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            data = f.read()
        for cookie in data.split("\n%\n"):
            lines = [l for l in cookie.splitlines() if not re.match(r"\s*(--|\u2014)", l)]
            yield from split_sentences(" ".join(lines))


def devil():
    """Sentences from The Devil's Dictionary definitions."""
    if not os.path.exists(DEVIL):
        return
    with gzip.open(DEVIL, "rt", encoding="latin-1", errors="replace") as f:
        yield from split_sentences(f.read())


def generated(rng, lex, common_words):
    """Numbers, digit strings, commands and isolated words, as label text."""
    out = []
    for _ in range(6000):  # cardinals of all sizes, years, ordinals
        r = rng.random()
        if r < 0.4:
            n = rng.randrange(0, 100)
        elif r < 0.7:
            n = rng.randrange(100, 10000)
        else:
            n = rng.randrange(10000, 10**7)
        kind = rng.random()
        if kind < 0.15:
            out.append(ordinal(n % 1000 or 1))
        elif kind < 0.3:
            out.append(year(rng.randrange(1100, 2100)))
        else:
            out.append(cardinal(n))
    digit_words = ONES[:10]
    for _ in range(5000):  # phone numbers, codes: 'oh' for zero sometimes
        n = rng.randrange(3, 11)
        ds = [rng.choice(digit_words) for _ in range(n)]
        if rng.random() < 0.3:
            ds = ["oh" if d == "zero" else d for d in ds]
        out.append(" ".join(ds))
    verbs = ["go", "move", "turn", "drive", "walk", "run", "back", "step", "roll", "fly"]
    dirs = ["left", "right", "forward", "backward", "back", "up", "down", "north", "south",
            "east", "west", "ahead", "straight"]
    units = ["meters", "meter", "feet", "steps", "degrees", "seconds", "minutes", "inches",
             "miles", "percent"]
    objects = ["the light", "the lights", "the music", "the radio", "the fan", "the heater",
               "the television", "the alarm", "the camera", "the volume", "the door", "the engine",
               "the motor", "the lamp", "the timer", "the pump", "the screen", "the robot"]
    simple = ["stop", "wait", "start", "cancel", "pause", "resume", "yes", "no", "okay",
              "help", "repeat", "continue", "halt", "go", "next", "previous", "open", "close",
              "select", "undo", "faster", "slower", "louder", "quieter", "home", "quit", "play"]
    for _ in range(6000):
        r = rng.random()
        if r < 0.35:
            s = "%s %s" % (rng.choice(verbs), rng.choice(dirs))
            if rng.random() < 0.6:
                s += " %s %s" % (cardinal(rng.choice([1, 2, 3, 4, 5, 6, 10, 15, 20, 30, 45, 50,
                                                      90, 100, 180, rng.randrange(1, 500)])),
                                 rng.choice(units))
        elif r < 0.6:
            s = "%s %s" % (rng.choice(["turn on", "turn off", "switch on", "switch off", "open",
                                       "close", "start", "stop", "check", "reset", "lock",
                                       "unlock", "raise", "lower", "dim"]), rng.choice(objects))
            if rng.random() < 0.2:
                s += " " + rng.choice(["please", "now", "in the kitchen", "in the garage",
                                       "in the bedroom", "for %s minutes" % cardinal(rng.randrange(2, 60))])
        elif r < 0.8:
            s = "set %s to %s" % (rng.choice(objects + ["the speed", "the temperature",
                                                        "the channel", "the level"]),
                                  cardinal(rng.randrange(0, 101)) + rng.choice(["", " percent", " degrees"]))
        else:
            s = rng.choice(simple) + (" " + rng.choice(simple) if rng.random() < 0.5 else "")
        out.append(s)
    out.extend(rng.sample(common_words, min(6000, len(common_words))))  # isolated words
    return out


def keep(sentence, lex, min_words=2, max_words=25):
    """True if the normalized sentence is usable as a label."""
    if not sentence:
        return False
    words = sentence.split()
    return min_words <= len(words) <= max_words and all(w in lex for w in words)


def build(out_dir, n_valid, n_test, seed=SEED):
    """Write the text lists and lexicon under out_dir; returns counts."""
    rng = random.Random(seed)
    lex = load_cmudict()
    natural, seen = [], set()
    counts = {}
    for name, source in (("wordnet", wordnet_examples()), ("fortunes", fortunes()),
                         ("devil", devil())):
        n = 0
        for raw in source:
            for part in split_sentences(raw):
                s = normalize(part)
                if keep(s, lex) and s not in seen:
                    seen.add(s)
                    natural.append(s)
                    n += 1
        counts[name] = n
    freq = {}
    for s in natural:
        for w in s.split():
            freq[w] = freq.get(w, 0) + 1
    common = sorted((w for w in freq if len(w) > 1 or w == "a"), key=lambda w: (-freq[w], w))[:8000]
    gen = []
    for s in generated(rng, lex, common):
        if keep(s, lex, min_words=1) and s not in seen:
            seen.add(s)
            gen.append(s)
    counts["generated"] = len(gen)
    natural.sort()
    gen.sort()
    rng.shuffle(natural)
    rng.shuffle(gen)
    # valid/test: mostly natural sentences (words >= 4 for a meaningful WER), some generated
    def take(pool, n):
        picked = pool[:n]
        del pool[:n]
        return picked
    test = take(natural, int(n_test * 0.8)) + take(gen, n_test - int(n_test * 0.8))
    valid = take(natural, int(n_valid * 0.8)) + take(gen, n_valid - int(n_valid * 0.8))
    train = natural + gen
    rng.shuffle(train)
    os.makedirs(os.path.join(out_dir, "text"), exist_ok=True)
    for name, lines in (("train", train), ("valid", valid), ("test", test), ("lm_train", train)):
        tmp = os.path.join(out_dir, "text", name + ".txt.tmp")
        with open(tmp, "w") as f:
            f.writelines(s + "\n" for s in lines)
        os.replace(tmp, os.path.join(out_dir, "text", name + ".txt"))
    used = sorted({w for lines in (train, valid, test) for s in lines for w in s.split()})
    tmp = os.path.join(out_dir, "lexicon.txt.tmp")
    with open(tmp, "w") as f:
        for w in used:
            for phones in lex[w]:
                f.write("%s %s\n" % (w, phones))
    os.replace(tmp, os.path.join(out_dir, "lexicon.txt"))
    counts.update(train=len(train), valid=len(valid), test=len(test), words=len(used))
    return counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--out", default=CORPUS, help="corpus directory")
    ap.add_argument("--valid", type=int, default=1200, help="valid sentences")
    ap.add_argument("--test", type=int, default=1800, help="test sentences")
    args = ap.parse_args(argv)
    if not os.path.exists(CMUDICT):
        print("missing %s: run tools/corpus/install_voices.sh" % CMUDICT, file=sys.stderr)
        return 1
    counts = build(args.out, args.valid, args.test)
    print(" ".join("%s=%d" % kv for kv in counts.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
