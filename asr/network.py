"""The acoustic model as run by the C library: :class:`Network` (immutable,
shareable across threads) and :class:`NetworkStream` (per-utterance state).

``Network(model).forward(feats)`` gives log-probabilities for a whole
utterance; a stream gives the same frames incrementally, bit for bit.
"""
import numpy as np

from . import _native
from ._native import ffi, lib
from .errors import NativeError, NativeShapeError

_DTYPE = {"float": lib.ASR_F32, "int16": lib.ASR_S16, "int8": lib.ASR_S8}
_ACT = {"none": lib.ASR_ACT_NONE, "relu": lib.ASR_ACT_RELU, "logsoftmax": lib.ASR_ACT_LOGSOFTMAX}
_NP = {"float": np.float32, "int16": np.int16, "int8": np.int8}


class Network:
    """A model's layers packed for one kernel ('auto' by default; the
    ASR_KERNEL environment variable overrides 'auto')."""

    def __init__(self, model, kernel="auto"):
        self.model = model
        keep = []                       # arrays the descriptor points into

        def ptr(arr, dtype):
            arr = np.ascontiguousarray(arr, dtype=dtype)
            keep.append(arr)
            return ffi.from_buffer(arr)

        n = len(model.layers)
        layers = ffi.new("asr_layer_desc[]", n)
        for i, L in enumerate(model.layers):
            d = layers[i]
            d.dtype, d.out_dtype, d.act = _DTYPE[L.dtype], _DTYPE[L.out_dtype], _ACT[L.act]
            d.in_dim, d.out_dim = L.in_dim, L.out_dim
            d.kernel, d.dilation, d.stride = L.kernel, L.dilation, L.stride
            d.weight = ptr(L.weight, _NP[L.dtype])
            if L.dtype == "float":
                d.bias = ptr(L.bias, np.float32)
            else:
                d.bias = ptr(L.bias, np.int64)
                d.mult = ffi.cast("int32_t *", ptr(L.mult, np.int32))
                d.shift = ffi.cast("int32_t *", ptr(L.shift, np.int32))
                d.w_zero, d.out_zero = int(L.w_zero), int(L.out_zero)
                d.out_lo, d.out_hi = int(L.out_lo), int(L.out_hi)
        desc = ffi.new("asr_net_desc *")
        desc.feat_dim = model.features.num_filters
        desc.mean = ffi.cast("float *", ptr(model.mean, np.float32))
        desc.inv_std = ffi.cast("float *", ptr(model.inv_std, np.float32))
        desc.pad_left, desc.pad_right = model.pad_left, model.pad_right
        desc.in_scale, desc.in_zero = float(model.in_scale), int(model.in_zero)
        desc.n_layers, desc.layers = n, layers
        out = ffi.new("asr_net **")
        st = _native.new_status()
        _native.check(lib.asr_net_create(desc, _native.kernel_id(kernel), out, st), st)
        self._net = ffi.gc(out[0], lib.asr_net_free)
        info = [ffi.new("uint32_t *"), ffi.new("uint32_t *"), ffi.new("int *")]
        _native.check(lib.asr_net_info(self._net, *info, st), st)
        self.n_labels = info[0][0]
        self.subsampling = info[1][0]
        self.kernel = _native.KERNEL_NAMES[info[2][0]]

    def stream(self):
        """A new, independent stream over this network."""
        return NetworkStream(self)

    def forward(self, feats):
        """Log-probabilities (output frames x labels, float32) of a whole
        utterance of raw log-mel features (frames x num_filters)."""
        s = self.stream()
        return s.forward(feats, finish=True)


class NetworkStream:
    """Incremental forward: ``forward(chunk)`` returns the output frames that
    became computable; ``forward(chunk, finish=True)`` flushes the end."""

    def __init__(self, network):
        self.network = network
        out = ffi.new("asr_stream **")
        st = _native.new_status()
        _native.check(lib.asr_stream_create(network._net, out, st), st)
        self._s = ffi.gc(out[0], lib.asr_stream_free)
        self._dim = network.model.features.num_filters

    def forward(self, feats=None, finish=False):
        if feats is None:
            feats = np.zeros((0, self._dim), dtype=np.float32)
        feats = np.ascontiguousarray(feats, dtype=np.float32)
        if feats.ndim != 2 or feats.shape[1] != self._dim:
            raise NativeShapeError("features must be frames x %d, got shape %s" % (self._dim, feats.shape),
                                   lib.ASR_E_SHAPE)
        st = _native.new_status()
        need = ffi.new("size_t *")
        _native.check(lib.asr_stream_pending(self._s, feats.shape[0], int(finish), need, st), st)
        out = np.empty((need[0], self.network.n_labels), dtype=np.float32)
        n_out = ffi.new("size_t *")
        _native.check(lib.asr_stream_forward(
            self._s, ffi.cast("float *", ffi.from_buffer(feats)), feats.shape[0], int(finish),
            ffi.cast("float *", ffi.from_buffer(out)), need[0], n_out, st), st)
        if n_out[0] != need[0]:
            raise NativeError("internal: %d frames computed, %d announced" % (n_out[0], need[0]))
        return out

    def forward_q(self, q=None, finish=False):
        """The same for frames already quantized as the first layer takes
        them (int8 or int16, frames x num_filters): the integer frontend's
        output (asr_stream_forward_q)."""
        dtype = _NP[self.network.model.layers[0].dtype]
        if q is None:
            q = np.zeros((0, self._dim), dtype=dtype)
        q = np.asarray(q)
        if q.dtype != dtype or q.ndim != 2 or q.shape[1] != self._dim:
            raise NativeShapeError("quantized frames must be %s frames x %d, got %s %s"
                                   % (np.dtype(dtype).name, self._dim, q.dtype, q.shape),
                                   lib.ASR_E_SHAPE)
        q = np.ascontiguousarray(q)
        st = _native.new_status()
        need = ffi.new("size_t *")
        _native.check(lib.asr_stream_pending(self._s, q.shape[0], int(finish), need, st), st)
        out = np.empty((need[0], self.network.n_labels), dtype=np.float32)
        n_out = ffi.new("size_t *")
        _native.check(lib.asr_stream_forward_q(
            self._s, ffi.from_buffer(q), q.shape[0], int(finish),
            ffi.cast("float *", ffi.from_buffer(out)), need[0], n_out, st), st)
        if n_out[0] != need[0]:
            raise NativeError("internal: %d frames computed, %d announced" % (n_out[0], need[0]))
        return out
