"""Options and helpers shared by the commands."""
import argparse
import sys


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """--help shows defaults and keeps the description's line breaks."""


def add_model_options(p, precision_default="int8", multi=False):
    g = p.add_argument_group("model and decoder")
    if multi:
        g.add_argument("--precision", default="float,int16,int8",
                       help="comma-separated precisions to run: float, int16, int8")
    else:
        g.add_argument("--precision", default=precision_default, choices=("float", "int16", "int8"),
                       help="acoustic model precision")
    g.add_argument("--model", help="model file (.asrm); default: the bundled en-us model at --precision")
    g.add_argument("--lexicon", help="pronunciation lexicon (CMU dict format); default: bundled")
    g.add_argument("--lm", help="ARPA language model (.arpa or .arpa.gz); default: bundled")
    g.add_argument("--no-lm", action="store_true", help="decode without a language model")
    g.add_argument("--phrases", help="file of allowed phrases, one per line (command-and-control)")
    g.add_argument("--greedy", action="store_true", help="greedy CTC best path, printed as phones (for checks)")
    g.add_argument("--beam", type=int, help="beam width (default: the decoder's)")
    g.add_argument("--lm-weight", type=float, help="language model weight (default: the decoder's)")
    g.add_argument("--word-bonus", type=float, help="word insertion bonus (default: the decoder's)")
    g.add_argument("--kernel", default="auto",
                   help="kernel (instruction set): auto, ref, sse41, avx2, avx512vnni, neon, neondot")
    return g


def make_recognizer(args, precision=None, model=None):
    from ..stream import EndpointConfig, Recognizer
    phrases = None
    if args.phrases:
        with open(args.phrases, encoding="utf-8") as f:
            phrases = [line.strip() for line in f if line.strip()]
    return Recognizer(model=model if model is not None else args.model,
                      precision=precision or args.precision, lexicon=args.lexicon,
                      lm=False if args.no_lm else args.lm, phrases=phrases, kernel=args.kernel,
                      beam=args.beam, lm_weight=args.lm_weight, word_bonus=args.word_bonus,
                      greedy=args.greedy, endpoint=EndpointConfig(enabled=False))


def error(msg):
    print(msg, file=sys.stderr)


class Progress:
    """A one-line progress bar on stderr (only when stderr is a terminal)."""

    def __init__(self, total, label=""):
        self.total, self.label, self.n = total, label, 0
        self.active = sys.stderr.isatty() and total > 1

    def step(self):
        self.n += 1
        if self.active:
            width = 30
            done = int(width * self.n / self.total)
            sys.stderr.write("\r%s [%s%s] %d/%d" % (self.label, "#" * done, "." * (width - done),
                                                     self.n, self.total))
            if self.n == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()
