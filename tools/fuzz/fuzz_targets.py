"""Fuzz targets: each takes bytes and must either succeed or raise the
project's own error (AsrError and subclasses). Any other exception, a hang
or a crash of the interpreter is a bug. Shared by the atheris driver
(tools/fuzz/run.py) and the regression test that replays the kept corpus
(tests/test_fuzz_regressions.py)."""
import os
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from asr.errors import AsrError  # noqa: E402


def with_checksum(data):
    """The input with its last 32 bytes replaced by the SHA-256 of the rest,
    so mutations reach the header and tensor checks behind the checksum
    (whose own refusal of damage is covered by tests/test_model.py)."""
    import hashlib
    body = bytes(data[:-32]) if len(data) > 32 else bytes(data)
    return body + hashlib.sha256(body).digest()


def model_target(data):
    """Parse a model file; when it loads, build its network on the reference
    path and run a few frames through it."""
    from asr.model import Model
    from asr.network import Network
    try:
        m = Model.from_bytes(with_checksum(data), name="<fuzz>")
    except AsrError:
        return
    if m.num_params() > 2_000_000:
        return                       # valid but large: packing it only costs time
    net = Network(m, kernel="ref")
    feats = np.linspace(-5, 5, 7 * m.features.num_filters, dtype=np.float32)
    net.stream().forward(feats.reshape(7, -1), finish=True)


def _text_file(data, suffix):
    fd, path = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(fd, "wb") as f:
        f.write(bytes(data))
    return path


def arpa_target(data):
    """Parse an ARPA language model and score a sentence with it."""
    from asr import lm
    path = _text_file(data, ".arpa")
    try:
        try:
            model = lm.load_arpa(path)
        except AsrError:
            return
        model.score(["a", "b", "c"])
    finally:
        os.remove(path)


def lexicon_target(data):
    """Parse a pronunciation lexicon against the model's phone set."""
    from asr import lexicon
    path = _text_file(data, ".dict")
    try:
        try:
            lexicon.load_lexicon(path)
        except AsrError:
            return
    finally:
        os.remove(path)


# The C readers of native/include/asr_files.h, through asr/cfiles.py. The
# container targets re-sign their input like model_target, so mutations get
# past the checksum to the JSON parser and the tensor and header checks.
C_LABELS = ["<blk>"] + ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY "
                        "P R S SH T TH UH UW V W Y Z ZH").split()


def c_model_target(data):
    """Load a model file in C; when it loads, run a few frames through it."""
    from asr import cfiles
    try:
        m = cfiles.CModel(with_checksum(data), kernel="ref", name="<fuzz>")
    except AsrError:
        return
    dim = m.features["num_filters"]
    m.forward(np.linspace(-5, 5, 7 * dim, dtype=np.float32).reshape(7, dim))


def c_lm_target(data):
    """Load a binary LM in C and score a sentence with it."""
    from asr import cfiles
    try:
        lm = cfiles.CLanguageModel(with_checksum(data), name="<fuzz>")
    except AsrError:
        return
    lm.score(lm.vocab[:3] + ["a", "b"])


def c_lexicon_target(data):
    """Load a binary lexicon in C for the default labels and for a shuffled
    label set (the relabelling path)."""
    from asr import cfiles
    for labels in (C_LABELS, C_LABELS[::-1]):
        try:
            cfiles.CLexicon(with_checksum(data), labels, name="<fuzz>")
        except AsrError:
            pass


def wav_target(data):
    """Parse a WAV file in C; the samples must number what the header says."""
    from asr import cfiles
    try:
        info, samples = cfiles.parse_wav(data)
    except AsrError:
        return
    assert len(samples) == info["n_frames"]


TARGETS = {"model": model_target, "arpa": arpa_target, "lexicon": lexicon_target,
           "c_model": c_model_target, "c_lm": c_lm_target, "c_lexicon": c_lexicon_target,
           "wav": wav_target}
