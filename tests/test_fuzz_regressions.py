"""Replays the kept fuzz inputs (tests/fuzz/<target>/: seeds and the
reproducers of every crash the fuzzers found, see tools/fuzz/run.py).
Each must load cleanly or fail with the project's own error."""
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

from tools.fuzz import fuzz_targets

CASES = [(t, os.path.join(HERE, "fuzz", t, f))
         for t in sorted(fuzz_targets.TARGETS) if os.path.isdir(os.path.join(HERE, "fuzz", t))
         for f in sorted(os.listdir(os.path.join(HERE, "fuzz", t)))]


@pytest.mark.parametrize("target,path", CASES, ids=["%s/%s" % (t, os.path.basename(p)) for t, p in CASES])
def test_replay(target, path):
    with open(path, "rb") as f:
        data = f.read()
    fuzz_targets.TARGETS[target](data)
    if target == "model":     # the file as it is, checksum and all
        from asr.errors import AsrError
        from asr.model import Model
        try:
            Model.from_bytes(data, name=os.path.basename(path))
        except AsrError:
            pass
