#!/usr/bin/env python3
"""Coverage-guided fuzzing of the input parsers with atheris (libFuzzer).

    pip install atheris
    python -m tools.fuzz.run model --seconds 300
        # or arpa, lexicon; c_model, c_lm, c_lexicon, wav (the C readers)

Starts from the seeds in tests/fuzz/<target>/ (valid files and kept
reproducers), works in work/fuzz/<target>/, and writes any crashing input
as work/fuzz/<target>/crash-*. Copy a reproducer into tests/fuzz/<target>/
once fixed: tests/test_fuzz_regressions.py replays that directory in CI.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("target", choices=["model", "arpa", "lexicon", "c_model", "c_lm", "c_lexicon",
                                       "wav"])
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("--max-len", type=int, default=1 << 16)
    args = ap.parse_args()
    import atheris
    with atheris.instrument_imports():
        from tools.fuzz import fuzz_targets
        import asr.model, asr.network, asr.features  # noqa: F401
        if args.target != "model":
            import asr.lm, asr.lexicon  # noqa: F401
        import asr.cfiles  # noqa: F401
    work = os.path.join(ROOT, "work", "fuzz", args.target)
    os.makedirs(work, exist_ok=True)
    seeds = os.path.join(ROOT, "tests", "fuzz", args.target)
    target = fuzz_targets.TARGETS[args.target]
    argv = [sys.argv[0], work, seeds, "-max_total_time=%d" % args.seconds,
            "-max_len=%d" % args.max_len, "-artifact_prefix=%s/" % work, "-timeout=20",
            "-rss_limit_mb=4096", "-print_final_stats=1"]
    atheris.Setup(argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
