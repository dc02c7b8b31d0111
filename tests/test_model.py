import struct

import numpy as np
import pytest

from asr.errors import ModelFormatError
from asr.model import Model
from asr.quantize import quantize_model
from helpers import random_feats, random_float_model, resign


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "m.asrm"
    random_float_model(1).save(str(path))
    return path


def test_round_trip(model_file):
    m = random_float_model(1)
    m2 = Model.load(str(model_file))
    assert m2.labels == m.labels and m2.features == m.features
    for a, b in zip(m.layers, m2.layers):
        assert np.array_equal(a.weight, b.weight) and np.array_equal(a.bias, b.bias)
        assert (a.kernel, a.dilation, a.stride, a.act) == (b.kernel, b.dilation, b.stride, b.act)


def test_int8_file_is_at_most_26_percent_of_float(tmp_path):
    m = random_float_model(2, hidden=256)
    q, _ = quantize_model(m, [random_feats(m, 100)], "int8", report=False)
    m.save(str(tmp_path / "f.asrm"))
    q.save(str(tmp_path / "q.asrm"))
    ratio = (tmp_path / "q.asrm").stat().st_size / (tmp_path / "f.asrm").stat().st_size
    assert ratio <= 0.26, ratio


def test_every_truncation_is_refused(model_file):
    data = model_file.read_bytes()
    cuts = sorted(set([0, 4, 8, 12, 20, 24, 100] + list(range(0, len(data), max(1, len(data) // 50)))
                      + [len(data) - 33, len(data) - 32, len(data) - 1]))
    for n in cuts:
        with pytest.raises(ModelFormatError, match="truncated|magic"):
            Model.from_bytes(data[:n])


def test_corruption_is_detected(model_file):
    data = bytearray(model_file.read_bytes())
    for pos in (30, len(data) // 2, len(data) - 40):
        bad = bytearray(data)
        bad[pos] ^= 0x40
        with pytest.raises(ModelFormatError, match="checksum"):
            Model.from_bytes(bytes(bad))


def test_wrong_magic_and_version(model_file):
    data = model_file.read_bytes()
    with pytest.raises(ModelFormatError, match="magic"):
        Model.from_bytes(b"RIFF" + data[4:])
    bad = bytearray(data)
    struct.pack_into("<I", bad, 8, 99)
    with pytest.raises(ModelFormatError, match="version 99"):
        Model.from_bytes(bytes(bad))


def test_missing_file_is_a_model_error(tmp_path):
    with pytest.raises(ModelFormatError, match="cannot open"):
        Model.load(str(tmp_path / "nope.asrm"))


@pytest.mark.parametrize("edit,match", [
    (lambda h: h["layers"][0].update(out_dim=10 ** 9), "out_dim"),
    (lambda h: h["layers"][0].update(in_dim=-3), "in_dim"),
    (lambda h: h["layers"][1].update(kernel=0), "kernel"),
    (lambda h: h["tensors"]["layers.0.weight"].update(shape=[2 ** 31, 2 ** 31]), "shape|size"),
    (lambda h: h["tensors"]["layers.0.weight"].update(offset=10 ** 12), "outside"),
    (lambda h: h["tensors"]["layers.0.weight"].update(dtype="complex128"), "dtype"),
    (lambda h: h.pop("labels"), "malformed"),
    (lambda h: h["labels"].pop(), "labels"),
    (lambda h: h["layers"][2].update(act="gelu"), "activation|log-softmax"),
])
def test_impossible_headers_are_refused(model_file, edit, match):
    data = resign(model_file.read_bytes(), edit)
    with pytest.raises(ModelFormatError, match=match):
        Model.from_bytes(data)
