#!/usr/bin/env python3
"""Export a training checkpoint to the runtime's model files.

    python -m tools.export                       # work/train/last.pt -> models/en-us-*.asrm
    python -m tools.export --checkpoint work/train/epoch-08.pt --out-dir /tmp/m
    python -m tools.export --requantize models/en-us-float.asrm   # int16 + int8 only

Writes en-us-float.asrm, en-us-int16.asrm and en-us-int8.asrm. Batch
normalization is folded into the preceding convolution (it sits between
the convolution and the ReLU, so the fold is exact); the weights are laid
out tap-major as asr.model.Layer expects. The integer models are calibrated
on training-set features (asr.quantize, symmetric per-channel weights by
default, int8 weights in [-63, 63] unless --int8-weight-bits 8) and carry
their quantization report; the float model is checked
against the PyTorch network on a few validation utterances before anything
is written.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from asr import quantize, reference  # noqa: E402
from asr.model import Layer, Model  # noqa: E402

from tools import train as T  # noqa: E402


def fold(net, arch):
    """Float asr.model.Layer list from the TDNN's state (BN folded)."""
    layers = []
    d_in = 40
    for conv, bn, (d_out, k, dil, s) in zip(net.convs, net.bns, arch):
        w = conv.weight.detach().double().numpy()                    # (out, in, k)
        scale = (bn.weight / (bn.running_var + bn.eps).sqrt()).detach().double().numpy()
        shift = bn.bias.detach().double().numpy() - bn.running_mean.detach().double().numpy() * scale
        w = w * scale[:, None, None]
        layers.append(Layer(in_dim=d_in, out_dim=d_out, kernel=k, dilation=dil, stride=s, act="relu",
                            weight=w.transpose(0, 2, 1).reshape(d_out, k * d_in).astype(np.float32),
                            bias=shift.astype(np.float32)))
        d_in = d_out
    w = net.out.weight.detach().double().numpy()[:, :, 0]
    layers.append(Layer(in_dim=d_in, out_dim=w.shape[0], kernel=1, act="logsoftmax",
                        weight=w.astype(np.float32), bias=net.out.bias.detach().numpy().astype(np.float32)))
    return layers


def git_commit():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--checkpoint", default=os.path.join(T.WORK, "train", "last.pt"))
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "models"))
    ap.add_argument("--name", default="en-us")
    ap.add_argument("--calib-utts", type=int, default=200)
    ap.add_argument("--calib-splits", help="cached splits to calibrate on, comma-separated "
                    "(default: those the checkpoint trained on; 'train' with --requantize)")
    ap.add_argument("--scheme", default=quantize.DEFAULT_SCHEME, choices=quantize.SCHEMES)
    ap.add_argument("--int8-precision", default="int8",
                    help="int8, mixed (first/last int16) or a per-layer list")
    ap.add_argument("--int8-weight-bits", type=int, default=quantize.INT8_WEIGHT_BITS, choices=(7, 8),
                    help="range of int8 weights: 7 = [-63, 63] (fast on SSE4.1/AVX2), 8 = [-127, 127]")
    ap.add_argument("--float-only", action="store_true",
                    help="write the float model only (a quick look at a checkpoint)")
    ap.add_argument("--requantize", metavar="FLOAT_ASRM",
                    help="skip the checkpoint: quantize this exported float model again")
    args = ap.parse_args(argv)
    if args.requantize:
        fmodel = Model.load(args.requantize)
        if fmodel.precision != "float":
            raise SystemExit("--requantize needs a float model, %s is %s" % (args.requantize, fmodel.precision))
    else:
        fmodel = export_float(args)
    if not args.float_only:
        write_quantized(fmodel, args)
    if fmodel.label_log_prior is None:
        print("these models carry no label priors, which the decoder defaults assume (word bonus "
              "-0.5 with prior weight 0.6): run python -m tools.label_prior %s --write <the files>"
              % os.path.join(args.out_dir, "%s-float.asrm" % args.name))
    return 0


def export_float(args):
    """The float model of the checkpoint, checked against PyTorch and saved."""

    import torch
    ck = torch.load(args.checkpoint, weights_only=False)
    if not args.calib_splits and ck.get("mix"):
        args.calib_splits = ",".join(ck["mix"])
    arch = [tuple(a) for a in ck["arch"]]
    net = T.build_net(torch, arch=arch)
    net.load_state_dict(ck["net"])
    net.eval()
    cfg = T.run_features(ck.get("cmn_frames", 0), ck["mean"])
    state = ck["state"]
    provenance = {
        "trained_by": "tools/train.py", "git_commit": git_commit(), "epochs": state["epoch"],
        "steps": state["step"], "training_audio_hours": round(float(ck.get("hours", 0)), 2),
        "corpus": ("synthetic multi-voice corpus, tools/corpus" if not ck.get("mix") else
                   "mix of " + ", ".join(ck["mix"]) + " (tools/corpus, tools/corpus/real_sets.py)")
                  + " (see models/MODEL_CARD.md)",
        "channel_norm_frames": int(ck.get("cmn_frames", 0)),
        "initialized_from": state.get("init"),
        "weights_averaged_over": state.get("averaged"),
        "architecture": "TDNN %s, ReLU, BN folded, CTC over %d labels"
                        % (json.dumps(arch), len(ck["labels"])),
    }
    fmodel = Model(features=cfg, labels=list(ck["labels"]), mean=np.asarray(ck["mean"], np.float32),
                   inv_std=np.asarray(ck["inv_std"], np.float32), layers=fold(net, arch),
                   meta={"provenance": provenance})
    fmodel.validate()

    valid = T.load_split("valid")[:8]
    for f, _ in valid:                     # the fold and layout against PyTorch itself
        x, _, olen, _ = T.make_batch(torch, [(f, np.zeros(1, np.int16))],
                                     fmodel.mean, fmodel.inv_std, False, None, arch, cmn=cfg)
        with torch.no_grad():
            want = net(x)[0, :, :int(olen[0])].numpy().T
        got = reference.forward_float(fmodel, T.channel_norm(f.astype(np.float32), cfg))
        err = float(np.abs(got - want).max())
        if got.shape != want.shape or err > 1e-3:
            raise SystemExit("export check failed: shape %s vs %s, max error %.3g"
                             % (got.shape, want.shape, err))

    os.makedirs(args.out_dir, exist_ok=True)
    path = os.path.join(args.out_dir, "%s-float.asrm" % args.name)
    fmodel.save(path)
    print("wrote %s (%d parameters, %.1f MB)" % (path, fmodel.num_params(), os.path.getsize(path) / 1e6))
    return fmodel


def write_quantized(fmodel, args):
    """The int16 and int8 models, calibrated on training utterances."""
    # Spread over every split the run trained on (synthetic and recorded),
    # each passed through the model's own channel normalization.
    splits = args.calib_splits.split(",") if args.calib_splits else ["train"]
    per = -(-args.calib_utts // len(splits))
    calib = [T.channel_norm(f.astype(np.float32), fmodel.features)
             for split in splits for f, _ in T.load_split(split, max_shards=2)[:per]]
    for name, prec in (("int16", "int16"), ("int8", args.int8_precision)):
        qmodel, rep = quantize.quantize_model(fmodel, calib, prec, args.scheme,
                                              int8_weight_bits=args.int8_weight_bits)
        path = os.path.join(args.out_dir, "%s-%s.asrm" % (args.name, name))
        qmodel.save(path)
        print("wrote %s (%.1f MB): per-layer SQNR %s dB, max |logprob error| %.3f, frame agreement %.2f%%"
              % (path, os.path.getsize(path) / 1e6, " ".join("%.1f" % s for s in rep.layer_sqnr_db),
                 rep.max_abs_logprob_error, 100 * rep.frame_agreement))


if __name__ == "__main__":
    sys.exit(main())
