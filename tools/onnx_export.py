#!/usr/bin/env python3
"""Write a float acoustic model (.asrm) as an ONNX graph (asr/onnx_export.py).

    python -m tools.onnx_export models/en-us-float.asrm /tmp/en-us.onnx [--int8 /tmp/en-us-int8.onnx]

--int8 also writes onnxruntime's dynamic int8 quantization of it.
"""
import argparse
import sys



def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--int8", help="also write the dynamically quantized int8 graph here")
    args = ap.parse_args(argv)
    import onnx
    from asr.model import Model
    from asr.onnx_export import quantize_int8, to_onnx
    onnx.save(to_onnx(Model.load(args.model)), args.out)
    if args.int8:
        quantize_int8(args.out, args.int8)
    return 0


if __name__ == "__main__":
    sys.exit(main())
