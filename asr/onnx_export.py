"""A float acoustic model (.asrm) as an ONNX graph, for comparing with
onnxruntime on the very same network (``asr.peers``, ``asr-rtf --compare``;
the command line is ``python -m tools.onnx_export``).

The graph takes normalized, padded features (1 x num_filters x frames;
asr.reference.normalize_and_pad gives them) and returns log-probabilities
(1 x labels x output frames): one Conv per layer (weights reshaped from the
tap-major layout), Relu, and a final LogSoftmax over labels.
``quantize_int8`` writes onnxruntime's dynamic int8 quantization of it
(weights int8, the activations quantized on the fly). Needs ``onnx`` and
``onnxruntime`` (the 'compare' extra).
"""
import numpy as np


def to_onnx(model):
    """An onnx.ModelProto computing the model's forward (float only)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    if model.precision != "float":
        raise ValueError("export the float model; onnxruntime quantizes it itself")
    nodes, inits = [], []
    x = "feats"
    for i, L in enumerate(model.layers):
        w = L.weight.reshape(L.out_dim, L.kernel, L.in_dim).transpose(0, 2, 1)   # (out, in, k)
        inits += [numpy_helper.from_array(np.ascontiguousarray(w, np.float32), "w%d" % i),
                  numpy_helper.from_array(L.bias.astype(np.float32), "b%d" % i)]
        y = "conv%d" % i
        nodes.append(helper.make_node("Conv", [x, "w%d" % i, "b%d" % i], [y], kernel_shape=[L.kernel],
                                      dilations=[L.dilation], strides=[L.stride], pads=[0, 0]))
        if L.act == "relu":
            nodes.append(helper.make_node("Relu", [y], ["relu%d" % i]))
            y = "relu%d" % i
        elif L.act == "logsoftmax":
            nodes.append(helper.make_node("LogSoftmax", [y], ["logprobs"], axis=1))
            y = "logprobs"
        x = y
    graph = helper.make_graph(
        nodes, "asr_tdnn",
        [helper.make_tensor_value_info("feats", TensorProto.FLOAT, [1, model.features.num_filters, "T"])],
        [helper.make_tensor_value_info("logprobs", TensorProto.FLOAT, [1, len(model.labels), "U"])],
        inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def quantize_int8(src, dst):
    """onnxruntime's dynamic int8 quantization of the ONNX file ``src``, written to ``dst``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    quantize_dynamic(src, dst, weight_type=QuantType.QInt8)
