#!/usr/bin/env python3
"""Write a float acoustic model (.asrm) as an ONNX graph, for comparing
with onnxruntime on the very same network.

    python tools/onnx_export.py models/en-us-float.asrm /tmp/en-us.onnx [--int8 /tmp/en-us-int8.onnx]

The graph takes normalized, padded features (1 x num_filters x frames;
asr.reference.normalize_and_pad gives them) and returns log-probabilities
(1 x labels x output frames): one Conv per layer (weights reshaped from the
tap-major layout), Relu, and a final LogSoftmax over labels. --int8 also
writes onnxruntime's dynamic int8 quantization of it (weights int8, the
activations quantized on the fly).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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
    from onnxruntime.quantization import QuantType, quantize_dynamic
    quantize_dynamic(src, dst, weight_type=QuantType.QInt8)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--int8", help="also write the dynamically quantized int8 graph here")
    args = ap.parse_args(argv)
    import onnx
    from asr.model import Model
    onnx.save(to_onnx(Model.load(args.model)), args.out)
    if args.int8:
        quantize_int8(args.out, args.int8)
    return 0


if __name__ == "__main__":
    sys.exit(main())
