"""Post-training quantization of a float model to int8 / int16 (or a mix).

Two schemes:

``asymmetric``
    The classic min/max scheme of the early 8-bit papers: one range per
    tensor, ``value = (q - zero) * scale`` with ``scale = (max - min) /
    (2^bits - 1)``, for weights (per tensor) and activations alike. The zero
    point of the weights costs one extra row sum per input frame.
``symmetric``
    Weights symmetric with one scale per output channel (``w = q *
    scale[o]``, zero point 0); activations keep a min/max zero point, which
    is free (it folds into the bias) and gives ReLU outputs all 2^bits levels.

``compare_schemes`` measures both on calibration features; the default is
the one that measured better on the bundled model (see the model card).

Everything the C library needs is derived here once: integer weights,
biases in accumulator units with every zero-point term folded in, and a
per-channel fixed-point multiplier/shift (asr_requant_s64) so inference needs
no floating point after the input features.
"""
import math
from dataclasses import dataclass, field

import numpy as np

from . import reference
from .model import _WMAX, Layer, Model    # _WMAX: weights avoid -2^(b-1)

SCHEMES = ("symmetric", "asymmetric")
DEFAULT_SCHEME = "symmetric"
LOGIT_SCALE = 1.0 / 1024.0     # Q10 logits feed the fixed-point log-softmax
# The most negative log-probability the integer models' C output holds, about
# -32 nats: native/QUANTIZATION.md section 6 (why the decoder never reaches
# it, and why comparisons with the numpy reference clip to it).
LOGPROB_FLOOR = -32767 / 1024.0
# Observed activation ranges are widened by this factor before choosing
# scales: int16 has bits to spare, so it trades one of them for never
# clipping inputs a little beyond the calibration set; int8 keeps the tight
# min/max range, whose resolution matters more than rare clipping.
HEADROOM = {"int8": 1.0, "int16": 2.0}
_QRANGE = {"int8": (-128, 127), "int16": (-32768, 32767)}
# int8 weights use 7 bits of range, [-63, 63], by default: x86 without VNNI
# (SSE4.1/AVX2) then multiplies x + 128 as an unsigned byte without the
# per-product sign step (ASR_NARROW_S8 in native/src/kernels.h), 1.3-1.7x
# faster, for a measured cost of about 1.2-1.3 dB of SQNR (model card). Other
# paths run either range at the same speed; weight_bits=8 keeps [-127, 127].
INT8_WEIGHT_BITS = 7


def layer_precisions(precision, n_layers):
    """Expand a precision spec to one of 'int8'/'int16' per layer.

    ``precision`` is 'int8', 'int16', 'mixed' (first and last layers int16,
    the rest int8), or a list/comma string with one entry per layer."""
    if isinstance(precision, str) and "," in precision:
        precision = [p.strip() for p in precision.split(",")]
    if isinstance(precision, (list, tuple)):
        if len(precision) != n_layers or any(p not in _QRANGE for p in precision):
            raise ValueError("a per-layer precision needs %d entries of int8/int16, got %r"
                             % (n_layers, precision))
        return list(precision)
    if precision in _QRANGE:
        return [precision] * n_layers
    if precision == "mixed":
        return ["int16"] + ["int8"] * (n_layers - 2) + ["int16"] if n_layers > 2 else ["int16"] * n_layers
    raise ValueError("unknown precision %r (int8, int16, mixed or a per-layer list)" % (precision,))


def fixed_multiplier(real):
    """(mult, shift) with real ~= mult / 2^(31 + shift), mult in [2^30, 2^31)."""
    real = float(real)
    if not real > 0 or not math.isfinite(real):
        return 0, 0
    f, e = math.frexp(real)             # real = f * 2^e, f in [0.5, 1)
    mult = int(round(f * (1 << 31)))
    if mult == 1 << 31:
        mult //= 2
        e += 1
    shift = -e
    if shift > 32:                      # tiny: keep shift 32, shrink the multiplier
        mult = int(round(real * 2.0 ** 63))
        shift = 32
    if shift < -31:
        raise ValueError("requantization scale %g is too large" % real)
    return mult, shift


def act_params(lo, hi, dtype, scheme):
    """(scale, zero) for an activation observed in [lo, hi]."""
    qmin, qmax = _QRANGE[dtype]
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo < 1e-12:
        hi = lo + 1e-12
    # min/max over the full integer range in both schemes (the zero point is
    # free); 0.0 stays exactly representable so ReLU is a clamp at `zero`.
    scale = (hi - lo) / (qmax - qmin)
    zero = int(round(qmin - lo / scale))
    return scale, int(np.clip(zero, qmin, qmax))


def quantize_weights(w, dtype, scheme, weight_bits=None):
    """Integer weights, per-output scales and the weight zero point.
    ``weight_bits`` (int8 only: 7 or 8) sets the range to +-(2^(bits-1) - 1)."""
    wmax = _WMAX[dtype] if dtype != "int8" or weight_bits is None else (1 << (weight_bits - 1)) - 1
    if scheme == "symmetric":
        scale = np.abs(w).max(axis=1) / wmax
        scale = np.where(scale > 0, scale, 1.0)
        q = np.clip(np.round(w / scale[:, None]), -wmax, wmax)
        return q, scale, 0
    lo, hi = min(float(w.min()), 0.0), max(float(w.max()), 0.0)
    s = (hi - lo) / (2 * wmax) if hi > lo else 1.0
    zero = int(np.clip(round(-wmax - lo / s), -wmax, wmax))
    q = np.clip(np.round(w / s) + zero, -wmax, wmax)
    return q, np.full(w.shape[0], s), zero


@dataclass
class QuantReport:
    """What quantization cost: per-layer SQNR (dB) of each layer's output
    against the float model, and the error of the final log-probabilities."""
    precision: list
    scheme: str
    layer_sqnr_db: list = field(default_factory=list)
    max_abs_logprob_error: float = 0.0
    mean_abs_logprob_error: float = 0.0
    frame_agreement: float = 0.0       # fraction of frames with the same argmax label

    def to_dict(self):
        return {"precision": self.precision, "scheme": self.scheme,
                "layer_sqnr_db": [round(x, 2) for x in self.layer_sqnr_db],
                "max_abs_logprob_error": round(self.max_abs_logprob_error, 5),
                "mean_abs_logprob_error": round(self.mean_abs_logprob_error, 5),
                "frame_agreement": round(self.frame_agreement, 5)}


def calibrate(model, calib_feats, percentile=None):
    """Observed (lo, hi) of every layer's input (the normalized, padded
    features for layer 0), over the calibration utterances."""
    ranges = [[np.inf, -np.inf] for _ in model.layers]
    for feats in calib_feats:
        trace = []
        reference.forward_float(model, feats, trace=trace)
        for i in range(len(model.layers)):
            x = trace[i]
            if percentile is None:
                lo, hi = x.min(), x.max()
            else:
                lo, hi = np.percentile(x, [100 - percentile, percentile])
            ranges[i][0] = min(ranges[i][0], lo)
            ranges[i][1] = max(ranges[i][1], hi)
    return ranges


def quantize_model(model, calib_feats, precision="int8", scheme=DEFAULT_SCHEME, percentile=None,
                   report=True, int8_weight_bits=INT8_WEIGHT_BITS):
    """Quantize a float :class:`Model`; returns ``(int_model, QuantReport)``.

    ``calib_feats``: a list of raw log-mel feature arrays (frames x filters)
    used to observe activation ranges (a few hundred utterances is plenty).
    ``int8_weight_bits``: 7 (default, weights in [-63, 63]) or 8 ([-127, 127])
    for the int8 layers; see INT8_WEIGHT_BITS.
    """
    if int8_weight_bits not in (7, 8):
        raise ValueError("int8_weight_bits must be 7 or 8, got %r" % (int8_weight_bits,))
    if model.precision != "float":
        raise ValueError("quantize_model needs a float model, got %s" % model.precision)
    if scheme not in SCHEMES:
        raise ValueError("unknown scheme %r (one of %s)" % (scheme, ", ".join(SCHEMES)))
    n = len(model.layers)
    precs = layer_precisions(precision, n)
    ranges = calibrate(model, calib_feats, percentile)
    acts = [act_params(lo * HEADROOM[precs[i]], hi * HEADROOM[precs[i]], precs[i], scheme)
            for i, (lo, hi) in enumerate(ranges)]
    layers = []
    for i, L in enumerate(model.layers):
        s_x, z_x = acts[i]
        q, s_w, w_zero = quantize_weights(L.weight.astype(np.float64), precs[i], scheme, int8_weight_bits)
        last = i == n - 1
        if last:
            s_y, z_y, lo, hi, out_dtype = LOGIT_SCALE, 0, 0, 0, "float"
        else:
            s_y, z_y = acts[i + 1]
            out_dtype = precs[i + 1]
            qmin, qmax = _QRANGE[out_dtype]
            lo = z_y if L.act == "relu" else qmin
            hi = qmax
        k = q.shape[1]
        # sum (q_w - w_zero)(q_x - z_x) = acc - w_zero*sum(q_x) - z_x*sum(q_w) + K*w_zero*z_x
        bias = (np.round(L.bias.astype(np.float64) / (s_x * s_w))
                - z_x * q.sum(axis=1) + k * w_zero * z_x)
        mults = [fixed_multiplier(s_x * s_w[o] / s_y) for o in range(L.out_dim)]
        wdt = np.int8 if precs[i] == "int8" else np.int16
        layers.append(Layer(
            in_dim=L.in_dim, out_dim=L.out_dim, kernel=L.kernel, dilation=L.dilation,
            stride=L.stride, act=L.act, weight=q.astype(wdt), bias=bias.astype(np.int64),
            dtype=precs[i], out_dtype=out_dtype,
            mult=np.array([m for m, _ in mults], dtype=np.int32),
            shift=np.array([s for _, s in mults], dtype=np.int32),
            w_zero=w_zero, out_zero=z_y, out_lo=lo, out_hi=hi,
            quant={"in_scale": s_x, "in_zero": z_x, "w_scale_range": [float(s_w.min()), float(s_w.max())],
                   "out_scale": s_y, "out_zero": z_y, "scheme": scheme,
                   "weight_bits": int8_weight_bits if precs[i] == "int8" else 16,
                   "calib_range": [float(ranges[i][0]), float(ranges[i][1])]}))
    qmodel = Model(features=model.features, labels=list(model.labels), mean=model.mean,
                   inv_std=model.inv_std, layers=layers,
                   precision=precs[0] if len(set(precs)) == 1 else "mixed",
                   in_scale=acts[0][0], in_zero=acts[0][1], meta=dict(model.meta),
                   label_log_prior=model.label_log_prior)     # the decoder's prior correction
    if qmodel.precision == "mixed":
        qmodel.precision = "int8"     # file-level label: the dominant type; layers say the rest
        qmodel.meta["layer_precisions"] = precs
    rep = measure(model, qmodel, calib_feats, precs, scheme) if report else None
    if rep is not None:
        qmodel.meta["quantization"] = rep.to_dict()
    return qmodel, rep


def measure(fmodel, qmodel, feats_list, precs=None, scheme=None):
    """Per-layer SQNR and output error of ``qmodel`` against ``fmodel``."""
    sig = np.zeros(len(fmodel.layers))
    err = np.zeros(len(fmodel.layers))
    max_err, abs_sum, count, agree, frames = 0.0, 0.0, 0, 0, 0
    for feats in feats_list:
        ftrace, qtrace = [], []
        lp_f = reference.forward_float(fmodel, feats, trace=ftrace)
        lp_q = reference.forward_int(qmodel, feats, trace=qtrace)
        for i, L in enumerate(qmodel.layers):
            ref = ftrace[i + 1]                     # float input of the next layer / final logits
            if L.act == "logsoftmax":
                deq = qtrace[i] * LOGIT_SCALE
            else:
                deq = (qtrace[i] - L.out_zero) * L.quant["out_scale"]
            sig[i] += float(np.sum(ref ** 2))
            err[i] += float(np.sum((ref - deq) ** 2))
        d = np.abs(lp_f - lp_q)
        max_err = max(max_err, float(d.max()) if d.size else 0.0)
        abs_sum += float(d.sum())
        count += d.size
        agree += int(np.sum(lp_f.argmax(1) == lp_q.argmax(1)))
        frames += lp_f.shape[0]
    sqnr = [10 * math.log10(s / e) if e > 0 else float("inf") for s, e in zip(sig, err)]
    return QuantReport(precision=precs or [L.dtype for L in qmodel.layers],
                       scheme=scheme or "", layer_sqnr_db=sqnr, max_abs_logprob_error=max_err,
                       mean_abs_logprob_error=abs_sum / max(count, 1),
                       frame_agreement=agree / max(frames, 1))


def compare_schemes(model, calib_feats, eval_feats, precision="int8", int8_weight_bits=INT8_WEIGHT_BITS):
    """Quantize with every scheme and return {scheme: QuantReport} measured
    on ``eval_feats`` (held apart from the calibration set)."""
    out = {}
    for scheme in SCHEMES:
        q, _ = quantize_model(model, calib_feats, precision, scheme, report=False,
                              int8_weight_bits=int8_weight_bits)
        out[scheme] = measure(model, q, eval_feats, layer_precisions(precision, len(model.layers)),
                              scheme)
    return out
