"""Plain numpy forward passes: the specification the C network is tested against.

``forward_float`` runs a float model in float64; ``forward_int`` runs an
integer model with exactly the integer arithmetic of native/src/net.c
(accumulate, requantize with round-half-up, clamp, fixed-point log-softmax is
approximated here in float: tests compare it with a documented tolerance).
Both take raw (un-normalized) log-mel features, frames x num_filters.
"""
import numpy as np


def normalize_and_pad(model, feats):
    """(x - mean) * inv_std, then the model's zero padding; float64."""
    x = (np.asarray(feats, dtype=np.float64) - model.mean) * model.inv_std
    pad_l = np.zeros((model.pad_left, x.shape[1]))
    pad_r = np.zeros((model.pad_right, x.shape[1]))
    return np.concatenate([pad_l, x, pad_r])


def splice(x, layer):
    """Rows of the tap-major spliced input: (n_out, kernel*in_dim)."""
    n_out = (x.shape[0] - layer.span) // layer.stride + 1
    if n_out <= 0:
        return np.zeros((0, layer.kernel * x.shape[1]), dtype=x.dtype)
    t = np.arange(n_out)[:, None] * layer.stride + np.arange(layer.kernel)[None, :] * layer.dilation
    return x[t].reshape(n_out, -1)


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def forward_float(model, feats, trace=None):
    """Log-probabilities (n_out x labels) of a float model, in float64. With
    ``trace`` (a list), each layer's input is appended to it, and the final
    logits after the last input."""
    x = normalize_and_pad(model, feats)
    for layer in model.layers:
        if trace is not None:
            trace.append(x)
        z = splice(x, layer) @ layer.weight.astype(np.float64).T + layer.bias
        if layer.act == "relu":
            z = np.maximum(z, 0.0)
        elif layer.act == "logsoftmax":
            if trace is not None:
                trace.append(z)
            z = log_softmax(z)
        x = z
    return x


def requant(acc, bias, mult, shift, zero, lo, hi):
    """The integer epilogue of asr_requant_s64, vectorized and exact.

    Computes round_half_up((acc + bias) * mult / 2^(31 + shift)) + zero,
    clamped to [lo, hi], with the same 32-bit-halves product as quant.c so
    that no intermediate exceeds int64."""
    v = np.clip(np.asarray(acc, dtype=np.int64) + np.asarray(bias, dtype=np.int64),
                -(1 << 62), 1 << 62)
    m = np.asarray(mult, dtype=np.int64)
    total = 31 + np.asarray(shift, dtype=np.int64)
    vl = v & 0xFFFFFFFF
    vh = (v - vl) >> 32
    pl = (vl.astype(np.uint64) * m.astype(np.uint64))
    rnd = np.where(total > 0, np.left_shift(np.uint64(1), np.maximum(total - 1, 0).astype(np.uint64)),
                   np.uint64(0))
    pl = pl + rnd
    hi_part = vh * m + (pl >> np.uint64(32)).astype(np.int64)
    low = (pl & np.uint64(0xFFFFFFFF)).astype(np.int64)
    big = total >= 32
    q_big = hi_part >> np.where(big, total - 32, 0)
    up = np.where(big, 0, 32 - total)
    with np.errstate(over="ignore"):
        q_small = (hi_part << up) + (low >> np.where(big, 0, total))
    lim = np.iinfo(np.int64).max >> up
    q_small = np.where(hi_part > lim, 1 << 40, np.where(hi_part < -lim, -(1 << 40), q_small))
    q = np.where(big, q_big, q_small)
    q = np.clip(q, -(1 << 31), (1 << 31) - 1)
    return np.clip(q + zero, lo, hi)


def quantize_input(model, x):
    """Normalized, padded float features -> first-layer integer input."""
    bits = 8 if model.layers[0].dtype == "int8" else 16
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    q = np.floor(x / model.in_scale + 0.5) + model.in_zero
    return np.clip(q, lo, hi).astype(np.int64)


def int_matmul(cols, w):
    """Exact integer product through float64 BLAS: every partial sum is below
    ASR_MAX_K * 2^30 = 2^46 < 2^53, so no rounding happens."""
    return (cols.astype(np.float64) @ w.astype(np.float64).T).astype(np.int64)


def forward_int(model, feats, trace=None):
    """Log-probabilities of an integer model: integer layers computed exactly,
    the final log-softmax in float64 on the Q10 logits. With ``trace`` (a
    list), each layer's integer output is appended to it."""
    x = quantize_input(model, normalize_and_pad(model, feats))
    for layer in model.layers:
        cols = splice(x, layer)
        acc = int_matmul(cols, layer.weight)
        if layer.w_zero:
            acc = acc - layer.w_zero * cols.sum(axis=1, keepdims=True)
        if layer.act == "logsoftmax":
            logits = requant(acc, layer.bias, layer.mult, layer.shift, 0,
                             -(1 << 31), (1 << 31) - 1)
            if trace is not None:
                trace.append(logits)
            return log_softmax(logits / 1024.0)
        x = requant(acc, layer.bias, layer.mult, layer.shift, layer.out_zero,
                    layer.out_lo, layer.out_hi)
        if trace is not None:
            trace.append(x)
    raise ValueError("the last layer must be log-softmax")
