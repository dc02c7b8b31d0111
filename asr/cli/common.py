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
    g.add_argument("--lexicon", help="pronunciation lexicon: CMU dict text or binary (.asrlex); "
                        "default: bundled")
    g.add_argument("--lm", help="n-gram language model: binary (.asrlm) or ARPA (.arpa, .arpa.gz); "
                        "default: bundled")
    g.add_argument("--no-lm", action="store_true", help="decode without a language model")
    g.add_argument("--phrases", help="file of allowed phrases, one per line (command-and-control)")
    g.add_argument("--words", help="file of words to add to the lexicon (and LM), one per line: "
                        "WORD alone (pronounced by the bundled G2P model) or WORD PH PH ...")
    g.add_argument("--hotwords", help="file of words or phrases to favour, one per line, each with "
                        "an optional boost at the end: nats for a word of six phones, scaled by each word's "
                        "length (default: asr.hotwords.DEFAULT_BOOST)")
    g.add_argument("--reject", type=float,
                   help="with --phrases: reject results whose confidence is below this, as "
                        "out-of-grammar speech (0 keeps all; default: asr.rejection.DEFAULT_REJECT)")
    g.add_argument("--greedy", action="store_true", help="greedy CTC best path, printed as phones (for checks)")
    g.add_argument("--beam", type=int, help="beam width (default: the decoder's)")
    g.add_argument("--lm-weight", type=float, help="language model weight (default: the decoder's)")
    g.add_argument("--word-bonus", type=float, help="word insertion bonus (default: the decoder's)")
    g.add_argument("--prior-weight", type=float,
                   help="weight of the model's label log-priors subtracted from every frame in "
                        "the search (0: none; default: the decoder's)")
    g.add_argument("--kernel", default="auto",
                   help="kernel (instruction set): auto, ref, sse41, avx2, avx512vnni, neon, neondot")
    add_frontend_option(g)
    return g


def add_frontend_option(g):
    g.add_argument("--frontend", default="auto", choices=("auto", "int", "float"),
                   help="feature frontend: int computes the features in integers and in the "
                        "first layer's quantization (int8/int16 models only), float in double; "
                        "auto: float for float models, asr.stream.INT_MODEL_FRONTEND for int8/int16")


def read_lines(path):
    """The non-empty lines of a UTF-8 text file, '#' comment lines dropped;
    AsrError when it cannot be read."""
    from ..errors import AsrError
    try:
        with open(path, encoding="utf-8") as f:
            return [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError) as exc:
        raise AsrError("%s: cannot read: %s" % (path, exc)) from None


def make_recognizer(args, precision=None, model=None, endpoint=None, frontend=None):
    """The Recognizer the model options describe; ``endpoint`` (an
    EndpointConfig) defaults to none: a whole file is one utterance;
    ``frontend`` overrides --frontend."""
    from ..stream import EndpointConfig, Recognizer
    phrases = read_lines(args.phrases) if args.phrases else None
    words = read_lines(args.words) if getattr(args, "words", None) else None
    hotwords = read_lines(args.hotwords) if getattr(args, "hotwords", None) else None
    return Recognizer(model=model if model is not None else args.model,
                      precision=precision or args.precision, lexicon=args.lexicon,
                      lm=False if args.no_lm else args.lm, phrases=phrases, kernel=args.kernel,
                      beam=args.beam, lm_weight=args.lm_weight, word_bonus=args.word_bonus,
                      prior_weight=getattr(args, "prior_weight", None), greedy=args.greedy,
                      endpoint=endpoint if endpoint is not None else EndpointConfig(enabled=False),
                      reject=getattr(args, "reject", None), words=words,
                      hotwords=hotwords, frontend=frontend or getattr(args, "frontend", "auto"))


def error(msg):
    print(msg, file=sys.stderr)


def add_progress_option(p):
    """--progress / --no-progress; the default (None) is a bar only when
    stderr is a terminal."""
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: only when stderr is a terminal)")


class Progress:
    """A one-line progress bar on stderr, redrawn in place with a carriage
    return. ``enabled``: True or False to force it, None for "when stderr
    is a terminal and there is more than one step"."""

    WIDTH = 30

    def __init__(self, total, label="", enabled=None, stream=None):
        self.total, self.label, self.n = max(1, total), label, 0
        self.stream = sys.stderr if stream is None else stream
        self.active = (self.stream.isatty() and total > 1) if enabled is None else bool(enabled)

    def step(self, what=""):
        """Count one step done; ``what`` names it on the bar."""
        self.n = min(self.n + 1, self.total)
        if not self.active:
            return
        done = int(self.WIDTH * self.n / self.total)
        self.stream.write("\r%s [%s%s] %d/%d %-24s" % (self.label, "#" * done, "." * (self.WIDTH - done),
                                                       self.n, self.total, what[:24]))
        if self.n == self.total:
            self.stream.write("\n")
        self.stream.flush()

    def close(self):
        """End the bar's line if it stopped short of the total (an error)."""
        if self.active and 0 < self.n < self.total:
            self.stream.write("\n")
            self.stream.flush()
            self.n = self.total
