"""Run asr-eval or asr-rtf with the numpy feature frontend in place of the C
one, to compare transcripts and the features stage's time:

    python -m tools.frontend_ab eval DATA [asr-eval options]
    python -m tools.frontend_ab rtf [asr-rtf options]

The numpy frontend is the C frontend's specification: asr.audio.Resampler
then asr.reference.FeatureStream, as asr.stream used them before the C
frontend. Only the features stage changes; the same command without this
wrapper (asr-eval, asr-rtf) is the C frontend.
"""
import sys

import numpy as np

from asr import reference, stream
from asr.audio import Resampler, to_float32


class NumpyFeatureStream:
    """asr.features.FeatureStream's surface over the numpy reference."""

    def __init__(self, cfg, sample_rate=None):
        rate = cfg.sample_rate if sample_rate is None else sample_rate
        self.resampler = None if rate == cfg.sample_rate else Resampler(rate, cfg.sample_rate)
        self.fs = reference.FeatureStream(cfg)

    def accept(self, samples):
        x = to_float32(samples)
        if self.resampler is not None:
            x = self.resampler.process(x)
        return self.fs.accept(x)

    def finish(self):
        a = self.fs.accept(self.resampler.process(np.zeros(0, np.float32), final=True)) \
            if self.resampler is not None else None
        b = self.fs.finish()
        return b if a is None or not len(a) else np.concatenate([a, b])


def main(argv):
    if not argv or argv[0] not in ("eval", "rtf"):
        sys.stderr.write(__doc__)
        return 2
    stream.FeatureStream = NumpyFeatureStream
    if argv[0] == "eval":
        from asr.cli.eval import main as run
    else:
        from asr.cli.rtf import main as run
    return run(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
