"""Shared test helpers: small random models in the project's format, and
re-signed container files (asr/container.py) for the damage tests."""
import hashlib
import json
import struct

import numpy as np

from asr.features import FeatureConfig
from asr.model import Layer, Model

PHONES = ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T "
          "TH UH UW V W Y Z ZH").split()


def random_float_model(seed=0, feat_dim=40, hidden=48, n_labels=None, dilations=(1, 2),
                       stride=3):
    """A small float TDNN with the bundled model's structure and random
    weights (scaled so activations stay in a realistic range)."""
    rng = np.random.default_rng(seed)
    labels = ["<blk>"] + PHONES if n_labels is None else ["l%d" % i for i in range(n_labels)]
    spec = [(feat_dim, hidden, 3, 1, 1, "relu"), (hidden, hidden, 3, 1, stride, "relu")]
    spec += [(hidden, hidden, 3, d, 1, "relu") for d in dilations]
    spec += [(hidden, len(labels), 1, 1, 1, "logsoftmax")]
    layers = []
    for din, dout, k, d, s, act in spec:
        w = rng.standard_normal((dout, k * din)) * np.sqrt(2.0 / (k * din))
        b = rng.standard_normal(dout) * 0.1
        layers.append(Layer(in_dim=din, out_dim=dout, kernel=k, dilation=d, stride=s, act=act,
                            weight=w.astype(np.float32), bias=b.astype(np.float32)))
    cfg = FeatureConfig(num_filters=feat_dim)
    return Model(features=cfg, labels=labels, mean=rng.standard_normal(feat_dim).astype(np.float32),
                 inv_std=(0.5 + rng.random(feat_dim)).astype(np.float32), layers=layers)


def random_feats(model, n_frames, seed=0):
    """Log-mel-like features around the model's normalization mean."""
    rng = np.random.default_rng(seed)
    return (model.mean + rng.standard_normal((n_frames, model.features.num_filters))
            / model.inv_std).astype(np.float32)


def resign(data, edit_header=None, edit_body=None):
    """A container file (model, LM, lexicon) with ``edit_header(header)``
    and ``edit_body(header, bytearray of the data section)`` applied and the
    checksum made right again, as a careless or malicious writer would."""
    _, hlen, dlen = struct.unpack_from("<IIQ", data, 8)
    h = json.loads(data[24:24 + hlen])
    if edit_header:
        edit_header(h)
    start = 24 + hlen + ((-(24 + hlen)) % 64)
    body = bytearray(data[start:start + dlen])
    if edit_body:
        edit_body(h, body)
    hj = json.dumps(h).encode()
    pre = data[:8] + struct.pack("<IIQ", 1, len(hj), dlen) + hj
    pre += b"\0" * ((-len(pre)) % 64)
    full = pre + bytes(body)
    return full + hashlib.sha256(full).digest()
