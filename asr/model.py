"""The model file (``*.asrm``) and the in-memory :class:`Model`.

File: the container of :mod:`asr.container` (magic ``b"ASRM\\x00\\r\\n\\x1a"``,
version FORMAT_VERSION) whose JSON header holds the features, labels,
layers, normalization and provenance, and whose arrays are the weights.

A layer is a time-delay layer (dilated 1-D convolution, "valid" borders):
``y[t] = act(W @ concat(x[t*stride + j*dilation] for j < kernel) + b)`` with W
of shape (out_dim, kernel*in_dim), tap-major (column j*in_dim + i). The
network input (normalized features) is padded with ``pad_left``/``pad_right``
zero frames so output frame t is centred on input frame t*subsampling.
"""
import math
from dataclasses import dataclass, field

import numpy as np

from . import container
from ._native import lib
from .errors import ModelFormatError
from .features import FeatureConfig

MAGIC = b"ASRM\x00\r\n\x1a"
FORMAT_VERSION = 1
PRECISIONS = ("float", "int16", "int8")
# The C library's limits (native/include/asr.h), so a file this module
# accepts is one the library accepts.
MAX_DIM = lib.ASR_MAX_DIM
MAX_KERNEL = lib.ASR_MAX_KERNEL
MAX_STRIDE = lib.ASR_MAX_STRIDE
MAX_LAYERS = lib.ASR_MAX_LAYERS
MAX_K = lib.ASR_MAX_K
MAX_NEG_LOG_PRIOR = lib.ASR_MIN_LOG_PRIOR     # label log-priors lie in -this..0
# Largest |w| of integer weights: the symmetric ranges native/QUANTIZATION.md
# proves exact. The C library scans for the excluded value again when it
# packs; this check makes a bad file a ModelFormatError at load.
_WMAX = {"int8": lib.ASR_S8_WEIGHT_MAX, "int16": lib.ASR_S16_WEIGHT_MAX}


@dataclass
class Layer:
    """One time-delay layer. ``dtype`` is the type of its weights and input
    activations ('float', 'int16', 'int8'); ``out_dtype`` that of its output
    (the next layer's dtype, or 'float' log-probabilities on the last)."""
    in_dim: int
    out_dim: int
    kernel: int = 1
    dilation: int = 1
    stride: int = 1
    act: str = "relu"                 # 'relu', 'none' or 'logsoftmax'
    weight: np.ndarray = None         # (out_dim, kernel*in_dim)
    bias: np.ndarray = None           # float32 (float) or int64 accumulator units
    dtype: str = "float"
    out_dtype: str = "float"
    mult: np.ndarray = None           # int32 per output (integer layers)
    shift: np.ndarray = None          # int32 per output
    w_zero: int = 0
    out_zero: int = 0
    out_lo: int = 0
    out_hi: int = 0
    quant: dict = field(default_factory=dict)   # scales etc., for reports and references

    @property
    def span(self):
        """Input frames one output frame looks at."""
        return (self.kernel - 1) * self.dilation + 1


@dataclass
class Model:
    """A whole acoustic model: features, normalization, layers, labels."""
    features: FeatureConfig
    labels: list
    mean: np.ndarray
    inv_std: np.ndarray
    layers: list
    precision: str = "float"
    in_scale: float = 0.0             # integer models: quantization of normalized features
    in_zero: int = 0
    meta: dict = field(default_factory=dict)    # provenance, quantization report, ...
    label_log_prior: np.ndarray = None          # float32 per label (decoder prior correction)

    @property
    def subsampling(self):
        """Input frames per output frame."""
        s = 1
        for layer in self.layers:
            s *= layer.stride
        return s

    @property
    def receptive_field(self):
        """Input frames seen by one output frame."""
        rf, step = 1, 1
        for layer in self.layers:
            rf += (layer.kernel - 1) * layer.dilation * step
            step *= layer.stride
        return rf

    @property
    def pad_left(self):
        """Zero frames before the input: the left context of the centre tap."""
        c, step = 0, 1
        for layer in self.layers:
            c += ((layer.kernel - 1) * layer.dilation // 2) * step
            step *= layer.stride
        return c

    @property
    def pad_right(self):
        """Zero frames after the input (the model's right context in frames)."""
        return self.receptive_field - 1 - self.pad_left

    @property
    def frame_shift_s(self):
        """Seconds per output frame."""
        return self.features.hop_s * self.subsampling

    def num_params(self):
        return int(sum(layer.weight.size + layer.bias.size for layer in self.layers))

    def validate(self):
        """Check that the layers chain and every array has its shape and type."""
        self._validate_network()
        d = self.features.num_filters
        for i, layer in enumerate(self.layers):
            _validate_layer(layer, "layer %d" % i, d, last=i == len(self.layers) - 1)
            d = layer.out_dim
        if d != len(self.labels):
            raise ModelFormatError("the last layer has %d outputs for %d labels" % (d, len(self.labels)))

    def _validate_network(self):
        """The parts around the layers: their count and chaining, the input
        quantization, the feature configuration and normalization."""
        if not 1 <= len(self.layers) <= MAX_LAYERS:
            raise ModelFormatError("a model needs 1..%d layers, got %d" % (MAX_LAYERS, len(self.layers)))
        if self.precision not in PRECISIONS:
            raise ModelFormatError("unknown precision %r" % self.precision)
        if any(L.dtype != "float" for L in self.layers):
            if not (math.isfinite(self.in_scale) and self.in_scale > 0):
                raise ModelFormatError("an integer model needs a positive input scale, got %r"
                                       % self.in_scale)
            qmax = _WMAX.get(self.layers[0].dtype, 0)
            if not -qmax - 1 <= self.in_zero <= qmax:
                raise ModelFormatError("input zero point %r out of range" % self.in_zero)
        for i, (a, b) in enumerate(zip(self.layers, self.layers[1:])):
            if a.out_dtype != b.dtype or (a.dtype == "float") != (b.dtype == "float"):
                raise ModelFormatError("layer %d outputs %s but layer %d takes %s"
                                       % (i, a.out_dtype, i + 1, b.dtype))
        if self.layers[-1].out_dtype != "float":
            raise ModelFormatError("the last layer must output float log-probabilities")
        try:
            self.features.check()
        except (TypeError, ValueError) as exc:
            raise ModelFormatError("feature configuration: %s" % exc) from None
        d = self.features.num_filters
        if self.mean.shape != (d,) or self.inv_std.shape != (d,):
            raise ModelFormatError("normalization statistics must have %d values" % d)
        if not (np.all(np.isfinite(self.mean)) and np.all(np.isfinite(self.inv_std))):
            raise ModelFormatError("normalization statistics contain NaN or infinity")
        if self.label_log_prior is not None:
            p = np.asarray(self.label_log_prior)
            if p.shape != (len(self.labels),):
                raise ModelFormatError("label_log_prior must have %d values" % len(self.labels))
            if not np.all((p <= 0) & (p >= -MAX_NEG_LOG_PRIOR)):
                raise ModelFormatError("label_log_prior values must be log-probabilities in -%d..0"
                                       % MAX_NEG_LOG_PRIOR)

    # ------------------------------------------------------------ writing

    def save(self, path, provenance=None):
        """Write the model to ``path`` atomically (temp file, then rename)."""
        self.validate()
        w = container.Writer()
        add = w.add

        layers = []
        for i, L in enumerate(self.layers):
            entry = {k: getattr(L, k) for k in ("in_dim", "out_dim", "kernel", "dilation", "stride",
                                                "act", "dtype", "out_dtype")}
            entry = {k: (int(v) if isinstance(v, (int, np.integer)) else v) for k, v in entry.items()}
            entry["weight"] = add("layers.%d.weight" % i, L.weight)
            entry["bias"] = add("layers.%d.bias" % i, L.bias)
            if L.dtype != "float":
                entry["mult"] = add("layers.%d.mult" % i, L.mult)
                entry["shift"] = add("layers.%d.shift" % i, L.shift)
                entry.update(w_zero=int(L.w_zero), out_zero=int(L.out_zero),
                             out_lo=int(L.out_lo), out_hi=int(L.out_hi))
            entry["quant"] = _jsonable(L.quant)
            layers.append(entry)
        meta = dict(self.meta)
        if provenance:
            meta["provenance"] = provenance
        header = {
            "format": "asrm", "format_version": FORMAT_VERSION,
            "precision": self.precision,
            "features": self.features.to_dict(),
            "labels": list(self.labels),
            "normalization": {"mean": add("norm.mean", self.mean.astype(np.float32)),
                              "inv_std": add("norm.inv_std", self.inv_std.astype(np.float32))},
            "input_quant": {"scale": float(self.in_scale), "zero": int(self.in_zero)},
            "subsampling": self.subsampling, "pad_left": self.pad_left, "pad_right": self.pad_right,
            "layers": layers, "meta": _jsonable(meta),
        }
        if self.label_log_prior is not None:
            header["label_log_prior"] = add("label_log_prior",
                                            np.asarray(self.label_log_prior, dtype=np.float32))
        w.write(path, MAGIC, FORMAT_VERSION, header)

    # ------------------------------------------------------------ reading

    @classmethod
    def load(cls, path):
        """Read and fully validate a model file; raises ModelFormatError."""
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise ModelFormatError("%s: cannot open model file: %s" % (path, exc.strerror)) from None
        return cls.from_bytes(data, name=str(path))

    @classmethod
    def from_bytes(cls, data, name="<model>"):
        def fail(msg):
            raise ModelFormatError("%s: %s" % (name, msg))

        h, tensors = container.read(data, MAGIC, FORMAT_VERSION, "model file", fail)
        try:
            return cls._from_header(h, tensors)
        except ModelFormatError as exc:
            fail(str(exc))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            fail("malformed header: %s: %s" % (type(exc).__name__, exc))

    @classmethod
    def _from_header(cls, h, tensors):
        if not isinstance(h, dict) or h.get("format") != "asrm":
            raise ModelFormatError("the header is not an asrm header")
        def tensor(name, dtype=None):
            try:
                return tensors.get(name, dtype, max_dim=MAX_K * MAX_DIM)
            except ValueError as exc:
                raise ModelFormatError(str(exc)) from None

        layers = []
        for e in h["layers"]:
            L = Layer(**{k: (int(e[k]) if k not in ("act", "dtype", "out_dtype") else str(e[k]))
                         for k in ("in_dim", "out_dim", "kernel", "dilation", "stride", "act",
                                   "dtype", "out_dtype")})
            L.weight = tensor(e["weight"])
            L.bias = tensor(e["bias"])
            if L.dtype != "float":
                L.mult = tensor(e["mult"], np.int32)
                L.shift = tensor(e["shift"], np.int32)
                L.w_zero, L.out_zero = int(e["w_zero"]), int(e["out_zero"])
                L.out_lo, L.out_hi = int(e["out_lo"]), int(e["out_hi"])
            L.quant = e.get("quant", {})
            layers.append(L)
        iq = h.get("input_quant", {})
        m = cls(features=FeatureConfig.from_dict(h["features"]), labels=[str(x) for x in h["labels"]],
                mean=tensor(h["normalization"]["mean"], np.float32),
                inv_std=tensor(h["normalization"]["inv_std"], np.float32),
                layers=layers, precision=str(h["precision"]),
                in_scale=float(iq.get("scale", 0.0)), in_zero=int(iq.get("zero", 0)),
                meta=h.get("meta", {}),
                label_log_prior=tensor(h["label_log_prior"], np.float32) if "label_log_prior" in h
                else None)
        m.validate()
        return m


def _jsonable(obj):
    """Convert numpy scalars/arrays inside dicts and lists to plain JSON types."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    return obj


def _validate_layer(layer, where, in_dim, last):
    """One layer: sizes within the C library's limits, its input width,
    array shapes and types, values, and its activation."""
    for name, lim in (("in_dim", MAX_DIM), ("out_dim", MAX_DIM), ("kernel", MAX_KERNEL),
                      ("dilation", MAX_DIM), ("stride", MAX_STRIDE)):
        v = getattr(layer, name)
        if not isinstance(v, (int, np.integer)) or not 1 <= v <= lim:
            raise ModelFormatError("%s: %s=%r is outside 1..%d" % (where, name, v, lim))
    if layer.in_dim != in_dim:
        raise ModelFormatError("%s: in_dim %d does not match the previous output %d"
                               % (where, layer.in_dim, in_dim))
    if layer.kernel * layer.in_dim > MAX_K:
        raise ModelFormatError("%s: kernel*in_dim %d exceeds %d"
                               % (where, layer.kernel * layer.in_dim, MAX_K))
    wdt = {"float": np.float32, "int16": np.int16, "int8": np.int8}.get(layer.dtype)
    if wdt is None:
        raise ModelFormatError("%s: unknown dtype %r" % (where, layer.dtype))
    want = (layer.out_dim, layer.kernel * layer.in_dim)
    if layer.weight is None or layer.weight.shape != want or layer.weight.dtype != wdt:
        raise ModelFormatError("%s: weight must be %s %s" % (where, np.dtype(wdt).name, want))
    if layer.dtype == "float" and not np.all(np.isfinite(layer.weight)):
        raise ModelFormatError("%s: the weights contain NaN or infinity" % where)
    bdt = np.float32 if layer.dtype == "float" else np.int64
    if layer.bias is None or layer.bias.shape != (layer.out_dim,) or layer.bias.dtype != bdt:
        raise ModelFormatError("%s: bias must be %s (%d,)" % (where, np.dtype(bdt).name, layer.out_dim))
    if layer.dtype == "float" and not np.all(np.isfinite(layer.bias)):
        raise ModelFormatError("%s: the bias contains NaN or infinity" % where)
    if layer.dtype != "float":
        _validate_int_layer(layer, where)
    if last != (layer.act == "logsoftmax"):
        raise ModelFormatError("%s: only the last layer is (and must be) log-softmax" % where)
    if layer.act not in ("relu", "none", "logsoftmax"):
        raise ModelFormatError("%s: unknown activation %r" % (where, layer.act))


def _validate_int_layer(layer, where):
    """The quantization tables and ranges of an integer layer: the ranges
    native/src/net.c accepts, checked here so that a damaged file fails at
    load with the file's name."""
    for name in ("mult", "shift"):
        a = getattr(layer, name)
        if a is None or a.shape != (layer.out_dim,) or a.dtype != np.int32:
            raise ModelFormatError("%s: %s must be int32 (%d,)" % (where, name, layer.out_dim))
    if np.any(layer.mult < 0) or np.any(layer.shift < -31) or np.any(layer.shift > 32):
        raise ModelFormatError("%s: requantization multiplier/shift out of range" % where)
    wmax = _WMAX.get(layer.dtype, 0)
    if not -wmax <= layer.w_zero <= wmax:
        raise ModelFormatError("%s: weight zero point %r out of range" % (where, layer.w_zero))
    if layer.dtype in _WMAX and np.any(layer.weight == -wmax - 1):
        raise ModelFormatError("%s: %s weights must lie in [-%d, %d]"
                               % (where, layer.dtype, wmax, wmax))
    if layer.act != "logsoftmax":
        qmax = _WMAX.get(layer.out_dtype, 0)
        if not (-qmax - 1 <= layer.out_lo <= layer.out_hi <= qmax
                and -qmax - 1 <= layer.out_zero <= qmax):
            raise ModelFormatError("%s: output range [%r, %r] / zero %r does not fit %s"
                                   % (where, layer.out_lo, layer.out_hi, layer.out_zero,
                                      layer.out_dtype))
