"""asr-lm: language model files.

    asr-lm convert IN OUT      any ARPA file (plain or .gz) -> binary .asrlm
    asr-lm info FILE           order, n-gram counts, vocabulary size
    asr-lm lexicon IN OUT      CMU-format lexicon -> binary .asrlex

The binary form holds the same arrays as the parsed ARPA file, checksummed
(asr/lm.py), so it scores exactly as its source and loads in milliseconds
instead of seconds. Exit status: 0 ok, 1 unreadable or invalid input,
2 usage error."""
import argparse
import os
import sys
import time

from .common import HelpFormatter, error


def parse_args(argv):
    p = argparse.ArgumentParser(prog="asr-lm", description=__doc__, formatter_class=HelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("convert", help="ARPA (or binary) LM -> binary .asrlm")
    c.add_argument("input", help="ARPA file (.arpa, .arpa.gz) or a binary LM")
    c.add_argument("output", help="binary LM file to write (.asrlm)")
    i = sub.add_parser("info", help="describe an LM file")
    i.add_argument("file")
    x = sub.add_parser("lexicon", help="CMU-format (or binary) lexicon -> binary .asrlex")
    x.add_argument("input")
    x.add_argument("output")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from ..errors import AsrError
    from ..lm import load_lm, save_binary
    try:
        if args.command == "lexicon":
            return convert_lexicon(args.input, args.output)
        t0 = time.perf_counter()
        lm = load_lm(args.input if args.command == "convert" else args.file)
        load_s = time.perf_counter() - t0
        if args.command == "convert":
            save_binary(lm, args.output)
            print("%s -> %s: order %d, %s, %d words, %.2f MB (read in %.2f s)"
                  % (args.input, args.output, lm.order, counts(lm), len(lm.vocab),
                     os.path.getsize(args.output) / 1e6, load_s))
        else:
            print("%s: order %d, %s, %d words, loaded in %.3f s"
                  % (args.file, lm.order, counts(lm), len(lm.vocab), load_s))
    except AsrError as exc:
        error("asr-lm: %s" % exc)
        return 1
    except OSError as exc:
        error("asr-lm: %s" % exc)
        return 1
    return 0


def convert_lexicon(src, dst):
    from ..lexicon import load_lexicon, save_binary
    t0 = time.perf_counter()
    lex = load_lexicon(src)
    save_binary(lex, dst)
    print("%s -> %s: %d words, %d pronunciations, %.2f MB (read in %.2f s)"
          % (src, dst, len(lex.words), len(lex.entries), os.path.getsize(dst) / 1e6,
             time.perf_counter() - t0))
    return 0


def counts(lm):
    return " ".join("%d-grams=%d" % (n + 1, len(x)) for n, x in enumerate(lm.logp10))


if __name__ == "__main__":
    sys.exit(main())
