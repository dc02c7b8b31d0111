#!/usr/bin/env python3
"""Train the bundled acoustic model: a TDNN with CTC over phones, in PyTorch.

    python -m tools.train features            # cache log-mel features (resumable)
    python -m tools.train train --epochs 12   # train / resume from work/train/last.pt
    python -m tools.train all --epochs 12     # both, what the README documents
    python -m tools.train score --checkpoint work/train/best.pt --split cv-train --split cv-valid
                                              # greedy PER of a checkpoint (fit vs generalization)
    python -m tools.train average --average work/train/epoch-0{6,7,8}.pt --out work/train/avg.pt
                                              # mean of the weights of several epochs of one run

Input: the corpus made by tools/corpus/ (Kaldi-style directories
work/corpus/{train,valid}/ with wav.scp and text, and work/corpus/lexicon.txt).
Features are computed with asr.features.logmel, the function the runtime
calls, so training and inference see identical numbers; they are cached in
shards under work/feats/<split>/ and new corpus utterances are added as new
shards on the next run.

The network is the one the fixed-point runtime executes (asr.model.Layer):
valid 1-D convolutions over input frames zero-padded by the model's context
after mean/variance normalization, ReLU, one stride-3 layer, a final 1x1
layer with log-softmax. Batch normalization (conv -> BN -> ReLU) is folded
into the convolution at export (tools/export.py), so the runtime never sees
it. Training checkpoints every few hundred steps and at each epoch end, and
logs loss and validation phone error rate (PER) per epoch to
work/train/log.tsv.
"""
import argparse
import dataclasses
import json
import os
import random
import sys
import time
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from asr.audio import read_audio  # noqa: E402
from asr.features import FeatureConfig, logmel  # noqa: E402
from asr.reference import ChannelNorm  # noqa: E402

PHONES = ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T "
          "TH UH UW V W Y Z ZH").split()
LABELS = ["<blk>"] + PHONES

# (out_dim, kernel, dilation, stride): ~2.1M weights, 0.55 s receptive field,
# 0.27 s right context, 30 ms output frames.
ARCH = [(336, 5, 1, 1), (336, 3, 1, 3), (336, 3, 1, 1), (336, 3, 1, 1),
        (336, 3, 2, 1), (336, 3, 2, 1), (336, 3, 2, 1)]

WORK = os.environ.get("ASR_WORK", os.path.join(ROOT, "work"))   # corpus, features, checkpoints
SHARD_UTTS = 400


# ------------------------------------------------------------------ data

def read_kaldi_dir(d):
    """{utt: (wav path, words)} of a Kaldi-style directory; relative paths
    in wav.scp are relative to the directory."""
    wavs, texts = {}, {}
    for line in open(os.path.join(d, "wav.scp"), encoding="utf-8"):
        parts = line.split(None, 1)
        if len(parts) == 2:
            wavs[parts[0]] = os.path.join(d, parts[1].strip())
    for line in open(os.path.join(d, "text"), encoding="utf-8"):
        parts = line.split(None, 1)
        if parts:
            texts[parts[0]] = parts[1].split() if len(parts) > 1 else []
    return {u: (wavs[u], texts[u]) for u in wavs if u in texts}


def read_lexicon(path):
    """word -> first pronunciation (list of phones without stress)."""
    lex = {}
    for line in open(path, encoding="utf-8"):
        parts = line.split()
        if len(parts) < 2 or line.startswith(";;;"):
            continue
        word = parts[0].split("(")[0].lower()
        if word not in lex:
            lex[word] = [p.rstrip("012").upper() for p in parts[1:]]
    return lex


def corpus_lexicon():
    """The lexicon of every corpus under WORK/corpus: the synthetic corpus's
    lexicon.txt, then lexicon-real.txt (tools/corpus/real_sets.py) if present."""
    lex = {}
    for name in ("lexicon-real.txt", "lexicon.txt"):    # later files win a shared word
        path = os.path.join(WORK, "corpus", name)
        if os.path.exists(path):
            lex.update(read_lexicon(path))
    return lex


def phone_ids(words, lex):
    idx = {p: i + 1 for i, p in enumerate(PHONES)}
    out = []
    for w in words:
        pron = lex.get(w)
        if pron is None:
            return None
        out.extend(idx[p] for p in pron)
    return out


def shard_dir(split):
    return os.path.join(WORK, "feats", split)


def cached_utts(split):
    done = set()
    d = shard_dir(split)
    if os.path.isdir(d):
        for name in os.listdir(d):
            if name.endswith(".json"):
                done.update(json.load(open(os.path.join(d, name)))["utts"])
    return done


def copy_id(utt, copy):
    """Cache id of an utterance's perturbed copy (0: the recording itself)."""
    return utt if copy == 0 else "%s~a%d" % (utt, copy)


def _utterance_features(job):
    """(cache id, features float16, labels) of one utterance or of a
    perturbed copy of it, or None to skip it."""
    u, wav, lab, cfg, copy = job
    try:
        x = read_audio(wav, cfg.sample_rate)
    except Exception as exc:   # a file still being written, or damaged
        print("skip %s: %s" % (u, exc), file=sys.stderr)
        return None
    if copy:
        from tools.corpus import augment   #; scipy, needed only here
        seed = zlib.crc32(u.encode("utf-8")) * 16 + copy
        x = augment.augment_recorded(x, cfg.sample_rate, np.random.default_rng(seed))
    u = copy_id(u, copy)
    f = logmel(x, cfg)
    if len(f) < 3 * len(lab) + 6:   # too fast for CTC at 30 ms frames
        return None
    return u, f.astype(np.float16), np.array(lab, np.int16)


def make_features(split, cfg, lex, limit=None, jobs=1, copies=0):
    """Cache features of utterances of WORK/corpus/<split> not yet in a shard,
    and of ``copies`` perturbed copies of each (recorded speech: see
    augment.augment_recorded); returns how many were added. ``jobs``
    processes compute features; this one writes the shards in order."""
    corpus = read_kaldi_dir(os.path.join(WORK, "corpus", split))
    done = cached_utts(split)
    todo = sorted((u, c) for u in corpus for c in range(copies + 1) if copy_id(u, c) not in done)
    if limit:
        todo = todo[:limit]
    d = shard_dir(split)
    os.makedirs(d, exist_ok=True)
    n_shards = len([f for f in os.listdir(d) if f.endswith(".npz")])
    added = 0
    pool = None
    if jobs > 1:
        import multiprocessing
        pool = multiprocessing.get_context("fork").Pool(jobs)
    try:
        for s in range(0, len(todo), SHARD_UTTS):
            work = []
            for u, c in todo[s:s + SHARD_UTTS]:
                lab = phone_ids(corpus[u][1], lex)
                if lab:
                    work.append((u, corpus[u][0], lab, cfg, c))
            results = pool.map(_utterance_features, work, chunksize=8) if pool else \
                [_utterance_features(w) for w in work]
            results = [r for r in results if r is not None]
            if not results:
                continue
            utts = [r[0] for r in results]
            feats = [r[1] for r in results]
            labels = [r[2] for r in results]
            name = os.path.join(d, "shard-%05d" % n_shards)
            np.savez(name + ".tmp.npz", feats=np.concatenate(feats),
                     flen=np.array([len(f) for f in feats], np.int32),
                     labels=np.concatenate(labels), llen=np.array([len(x) for x in labels], np.int32))
            os.replace(name + ".tmp.npz", name + ".npz")
            with open(name + ".json.tmp", "w") as fh:
                json.dump({"utts": utts}, fh)
            os.replace(name + ".json.tmp", name + ".json")
            n_shards += 1
            added += len(utts)
            print("%s: shard %d, %d utterances (%d added)" % (split, n_shards, len(utts), added), flush=True)
    finally:
        if pool:
            pool.close()
    return added


def load_split(split, max_shards=None):
    """All cached utterances of a split: list of (feats float16, labels int16)."""
    d = shard_dir(split)
    names = sorted(f for f in os.listdir(d) if f.endswith(".npz") and ".tmp" not in f)
    if max_shards:
        names = names[:max_shards]
    out = []
    for name in names:
        with np.load(os.path.join(d, name)) as z:       # each z[key] reads the file again
            feats, labels, flen, llen = z["feats"], z["labels"], z["flen"], z["llen"]
        fo = np.concatenate([[0], np.cumsum(flen)])
        lo = np.concatenate([[0], np.cumsum(llen)])
        for i in range(len(flen)):
            out.append((feats[fo[i]:fo[i + 1]], labels[lo[i]:lo[i + 1]]))
    return out


def parse_mix(spec):
    """'train=6,cv-train=2.5' -> [('train', 6.0), ('cv-train', 2.5)]: hours of
    audio to draw from each cached split per epoch."""
    out = []
    for part in spec.split(","):
        name, _, hours = part.partition("=")
        try:
            out.append((name.strip(), float(hours)))
        except ValueError:
            raise SystemExit("--mix: %r is not NAME=HOURS" % part)
        if out[-1][1] <= 0:
            raise SystemExit("--mix: %s needs a positive number of hours" % name)
    return out


def draw_epoch(sources, rng):
    """One epoch's utterances: from each (data, hours) source, utterances in
    a random order until that many hours are drawn, starting a new random
    order when the set runs out (a small set is repeated, a large one
    subsampled, differently every epoch)."""
    out = []
    for data, hours in sources:
        want, got = hours * 360000.0, 0
        while got < want and data:
            order = list(range(len(data)))
            rng.shuffle(order)
            for i in order:
                if got >= want:
                    break
                out.append(data[i])
                got += len(data[i][0])
    return out


def norm_stats(data, max_utts=3000):
    rng = random.Random(0)
    sample = rng.sample(data, min(max_utts, len(data)))
    x = np.concatenate([f for f, _ in sample]).astype(np.float64)
    mean = x.mean(0)
    std = np.maximum(x.std(0), 1e-3)
    return mean.astype(np.float32), (1.0 / std).astype(np.float32)


# ----------------------------------------------------------------- model

def arch_of_width(width):
    """ARCH with `width` units in every hidden layer (same kernels, dilations
    and strides, hence the same context and frame rate)."""
    return [(width, k, d, s) for _, k, d, s in ARCH]


def context(arch=ARCH):
    """(pad_left, pad_right) exactly as asr.model.Model computes them."""
    rf, step, left = 1, 1, 0
    for _, k, d, s in arch:
        rf += (k - 1) * d * step
        left += ((k - 1) * d // 2) * step
        step *= s
    return left, rf - 1 - left


def build_net(torch, n_in=40, n_out=len(LABELS), arch=ARCH, dropout=0.1):
    nn = torch.nn

    class TDNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = nn.ModuleList()
            self.bns = nn.ModuleList()
            d_in = n_in
            for d_out, k, dil, s in arch:
                self.convs.append(nn.Conv1d(d_in, d_out, k, stride=s, dilation=dil, bias=False))
                self.bns.append(nn.BatchNorm1d(d_out))
                d_in = d_out
            self.out = nn.Conv1d(d_in, n_out, 1)
            self.drop = nn.Dropout(dropout)
            self.frozen_bn = False

        def train(self, mode=True):
            # Fine-tuning a warm-started model keeps BN in inference mode: its
            # statistics stay those the exported model was folded with, so
            # training starts from exactly that model.
            super().train(mode)
            if self.frozen_bn:
                for bn in self.bns:
                    bn.eval()
            return self

        def forward(self, x):            # x: (B, n_in, T) normalized and padded
            for conv, bn in zip(self.convs, self.bns):
                x = self.drop(torch.relu(bn(conv(x))))
            return torch.log_softmax(self.out(x), dim=1)    # (B, labels, T')

    return TDNN()


def out_len(n, arch=ARCH):
    left, right = context(arch)
    n = n + left + right
    for _, k, d, s in arch:
        n = (n - ((k - 1) * d + 1)) // s + 1
    return n


def warp_filters(f, alpha, knee=0.85):
    """Vocal tract length perturbation on log-mel frames (T x D): the
    filter axis is stretched by alpha (a value at filter i moves to i / alpha)
    up to knee x the top filter, then linearly so the top filter stays in
    place; log energies are interpolated between neighbouring filters."""
    top = f.shape[1] - 1
    i = np.arange(top + 1, dtype=np.float64)
    b = knee * top
    src = np.where(i <= b, i * alpha, b * alpha + (i - b) * (top - b * alpha) / (top - b))
    lo = np.clip(np.floor(src).astype(int), 0, top)
    hi = np.minimum(lo + 1, top)
    w = (src - lo).astype(np.float32)
    return f[:, lo] * (1 - w) + f[:, hi] * w


def run_features(cmn_frames, mean):
    """The runtime feature configuration of a run: today's filterbanks, and
    channel normalization over ``cmn_frames`` frames starting from the
    training mean when cmn_frames > 0."""
    if not cmn_frames:
        return FeatureConfig()
    return dataclasses.replace(FeatureConfig(), cmn_frames=int(cmn_frames),
                               cmn_prior=tuple(float(v) for v in mean))


def channel_norm(f, cfg):
    """Cached log-mel frames as the runtime's FeatureStream gives them under cfg."""
    return ChannelNorm(cfg).apply(f) if cfg is not None and cfg.cmn_frames else f


def make_batch(torch, items, mean, inv_std, train, rng, arch=ARCH, warp=0.0, cmn=None,
               masks=True):
    """Padded, normalized network input, labels and lengths of ``items``;
    ``cmn`` is the run's FeatureConfig when it normalizes the channel."""
    left, right = context(arch)
    T = max(len(f) for f, _ in items) + left + right
    x = np.zeros((len(items), T, 40), np.float32)
    for i, (f, _) in enumerate(items):
        f = f.astype(np.float32)
        if train and warp:    # the speaker's vocal tract, so before the channel
            f = warp_filters(f, rng.uniform(1 - warp, 1 + warp))
        v = (channel_norm(f, cmn) - mean) * inv_std
        if train and masks:   # SpecAugment-style masks; 0 is the mean after normalization
            for _ in range(2):
                w = rng.randint(0, 7)
                f0 = rng.randint(0, 40 - w)
                v[:, f0:f0 + w] = 0
            for _ in range(max(1, len(v) // 150)):
                w = rng.randint(0, 12)
                t0 = rng.randint(0, max(1, len(v) - w))
                v[t0:t0 + w] = 0
        x[i, left:left + len(v)] = v
    labels = torch.from_numpy(np.concatenate([l.astype(np.int64) for _, l in items]))
    llen = torch.tensor([len(l) for _, l in items])
    olen = torch.tensor([out_len(len(f), arch) for f, _ in items])
    return torch.from_numpy(x).transpose(1, 2).contiguous(), labels, olen, llen


def batches(data, max_frames, rng, shuffle=True):
    order = sorted(range(len(data)), key=lambda i: len(data[i][0]))
    out, cur, longest = [], [], 0
    for i in order:
        n = len(data[i][0])
        if cur and max(longest, n) * (len(cur) + 1) > max_frames:
            out.append(cur)
            cur, longest = [], 0
        cur.append(i)
        longest = max(longest, n)
    if cur:
        out.append(cur)
    if shuffle:
        rng.shuffle(out)
    return out


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return prev[-1]


def greedy(lp):
    best = lp.argmax(0)
    out, last = [], 0
    for b in best:
        if b != last and b != 0:
            out.append(int(b))
        last = b
    return out


def evaluate(torch, net, data, mean, inv_std, arch=ARCH, cmn=None):
    net.eval()
    errs = toks = 0
    loss_sum, n = 0.0, 0
    ctc = torch.nn.CTCLoss(zero_infinity=True, reduction="sum")
    with torch.no_grad():
        for idx in batches(data, 30000, random.Random(0), shuffle=False):
            items = [data[i] for i in idx]
            x, labels, olen, llen = make_batch(torch, items, mean, inv_std, False, None, arch, cmn=cmn)
            lp = net(x)
            loss_sum += float(ctc(lp.permute(2, 0, 1), labels, olen, llen))
            n += int(llen.sum())
            for b, (_, lab) in enumerate(items):
                hyp = greedy(lp[b, :, :int(olen[b])].numpy())
                errs += edit_distance(hyp, list(lab))
                toks += len(lab)
    net.train()
    return loss_sum / max(n, 1), errs / max(toks, 1)


def warm_start(torch, net, path, data, arch=ARCH, n_utts=200, cmn_frames=0):
    """Initialize ``net`` from an exported float model (BN folded, so
    y = relu(W x + b)) by unfolding each BN: with mu and var the per-channel
    statistics of W x on sample data, gamma = sqrt(var + eps) and
    beta = b + mu make BN(W x) = W x + b exactly in eval mode, and nearly so
    on training batches, whose statistics are close to mu and var. Layers are
    set in order so that each sees the already-initialized layers below it.
    Returns the loaded model: its (mean, inv_std) normalization, which the
    first layer was trained with, must be kept, and its provenance recorded."""
    from asr.model import Model
    model = Model.load(path)
    if model.precision != "float":
        raise SystemExit("--init needs a float model, %s is %s" % (path, model.precision))
    arch_of_model = [(l.out_dim, l.kernel, l.dilation, l.stride) for l in model.layers[:-1]]
    if [tuple(a) for a in arch] != arch_of_model or model.labels != LABELS:
        raise SystemExit("--init: %s does not have this script's architecture and labels" % path)
    cmn = model.features if model.features.cmn_frames else run_features(cmn_frames, model.mean)
    sample = random.Random(1).sample(data, min(n_utts, len(data)))
    x, _, _, _ = make_batch(torch, sample, model.mean, model.inv_std, False, None, arch, cmn=cmn)
    left, right = context(arch)
    lens = np.array([len(f) + left + right for f, _ in sample])
    net.frozen_bn = True
    net.eval()
    with torch.no_grad():
        h = x
        for conv, bn, layer in zip(net.convs, net.bns, model.layers):
            k, d_in = layer.kernel, layer.in_dim
            w = layer.weight.reshape(layer.out_dim, k, d_in).transpose(0, 2, 1)
            conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            z = conv(h)
            # Statistics over the frames of the utterances only: the batch's
            # padding would pull them towards whatever padding produces.
            lens = (lens - layer.span) // layer.stride + 1
            mask = torch.from_numpy(np.arange(z.shape[2])[None, :] < lens[:, None]).to(z.dtype)
            n = mask.sum()
            mu = (z * mask[:, None, :]).sum(dim=(0, 2)) / n
            var = (((z - mu[None, :, None]) ** 2) * mask[:, None, :]).sum(dim=(0, 2)) / n
            bn.running_mean.copy_(mu)
            bn.running_var.copy_(var)
            bn.weight.copy_((var + bn.eps).sqrt())
            bn.bias.copy_(torch.from_numpy(layer.bias) + mu)
            h = torch.relu(bn(z))
        out = model.layers[-1]
        net.out.weight.copy_(torch.from_numpy(out.weight[:, :, None].copy()))
        net.out.bias.copy_(torch.from_numpy(out.bias))
    net.train()
    return model


def widen(torch, net, arch, width, rng):
    """A copy of ``net`` with ``width`` units in every hidden layer that
    computes the same function (Net2WiderNet, Chen et al. 2016): each new
    unit copies a randomly chosen unit of its layer (convolution and BN
    alike), and the next layer divides the weights it reads from a unit and
    its copies by their number. Training then tells the copies apart
    (dropout draws different masks for them). BN must be in inference mode,
    as a warm-started net keeps it, for the function to stay the same."""
    wide_arch = [(width, k, d, s) for _, k, d, s in arch]
    wide = build_net(torch, arch=wide_arch, dropout=net.drop.p)
    wide.frozen_bn = net.frozen_bn
    src_in = np.arange(net.convs[0].in_channels)        # the input features are not widened
    share = np.ones(len(src_in))
    with torch.no_grad():
        for conv, bn, wconv, wbn in zip(net.convs, net.bns, wide.convs, wide.bns):
            n = conv.out_channels
            src = np.concatenate([np.arange(n), rng.integers(0, n, width - n)])
            w = conv.weight[torch.from_numpy(src)][:, torch.from_numpy(src_in), :]
            wconv.weight.copy_(w / torch.from_numpy(share)[None, :, None].to(w.dtype))
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(wbn, name).copy_(getattr(bn, name)[torch.from_numpy(src)])
            src_in, share = src, np.bincount(src, minlength=n)[src].astype(np.float64)
        w = net.out.weight[:, torch.from_numpy(src_in), :]
        wide.out.weight.copy_(w / torch.from_numpy(share)[None, :, None].to(w.dtype))
        wide.out.bias.copy_(net.out.bias)
    return wide


def train(args):
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    out_dir = os.path.join(WORK, "train")
    os.makedirs(out_dir, exist_ok=True)
    mix = parse_mix(args.mix) if args.mix else [("train", None)]
    sources = []
    for name, h in mix:
        d = load_split(name)
        print("%s: %d utterances, %.1f h cached%s" % (
            name, len(d), sum(len(f) for f, _ in d) / 360000.0,
            "" if h is None else ", %.2f h per epoch" % h), flush=True)
        sources.append((d, h))
    data = [u for d, _ in sources for u in d]
    valid_sets = {}
    for name in args.valid.split(","):
        v = load_split(name)
        # evenly spread over the split (its shards are in corpus order)
        step = max(1, len(v) // args.max_valid) if args.max_valid else 1
        valid_sets[name] = v[::step][:args.max_valid or None]
    select = args.select.split(",") if args.select else list(valid_sets)
    if not set(select) <= set(valid_sets):
        raise SystemExit("--select %s: not among --valid %s" % (args.select, args.valid))
    hours = sum(len(f) for f, _ in data) / 360000.0
    print("train: %d utterances, %.1f h; valid: %s" % (
        len(data), hours, ", ".join("%s %d" % (k, len(v)) for k, v in valid_sets.items())), flush=True)
    ckpt_path = os.path.join(out_dir, "last.pt")
    ck = torch.load(ckpt_path, weights_only=False) if os.path.exists(ckpt_path) else None
    # A run keeps the architecture it started with; --width only shapes a new one.
    arch = [tuple(a) for a in ck["arch"]] if ck else arch_of_width(args.width or ARCH[0][0])
    if ck and args.width and args.width != arch[0][0]:
        raise SystemExit("--width %d: %s was started with width %d; move it aside to start anew"
                         % (args.width, ckpt_path, arch[0][0]))
    net = build_net(torch, arch=arch, dropout=args.dropout)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-2)
    state = {"epoch": 0, "step": 0, "batch_in_epoch": 0}
    if ck:
        net.load_state_dict(ck["net"])
        opt.load_state_dict(ck["opt"])
        state = ck["state"]
        net.frozen_bn = bool(state.get("init")) and not args.bn_train
        mean, inv_std = ck["mean"], ck["inv_std"]
        cmn_frames = ck.get("cmn_frames", 0)
        if args.cmn_frames is not None and args.cmn_frames != cmn_frames:
            raise SystemExit("--cmn-frames %d: %s was started with %d; move it aside to start anew"
                             % (args.cmn_frames, ckpt_path, cmn_frames))
        print("resumed at epoch %d step %d" % (state["epoch"], state["step"]), flush=True)
    elif args.init:
        from asr.model import Model
        init_width = Model.load(args.init).layers[0].out_dim
        wide = arch
        if arch[0][0] != init_width:       # --width: warm start at the model's width, then widen
            arch = arch_of_width(init_width)
            net = build_net(torch, arch=arch, dropout=args.dropout)
        init = warm_start(torch, net, args.init, data, arch=arch, cmn_frames=args.cmn_frames or 0)
        if wide != arch:
            net, arch = widen(torch, net, arch, wide[0][0], np.random.default_rng(0)), wide
            opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-2)
            print("widened from %d to %d units per hidden layer" % (init_width, arch[0][0]), flush=True)
        mean, inv_std = init.mean.copy(), init.inv_std.copy()
        cmn_frames = init.features.cmn_frames or args.cmn_frames or 0
        net.frozen_bn = not args.bn_train
        state["init"] = {"model": os.path.basename(args.init),
                         "provenance": init.meta.get("provenance")}
        print("warm start from %s" % args.init, flush=True)
    else:
        mean, inv_std = norm_stats(data)
        cmn_frames = args.cmn_frames or 0
    cmn = run_features(cmn_frames, mean)

    def save(path=ckpt_path):
        torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "state": state,
                    "mean": mean, "inv_std": inv_std, "arch": arch, "labels": LABELS,
                    "hours": hours, "cmn_frames": cmn_frames,
                    "mix": [name for name, _ in mix]}, path + ".tmp")
        os.replace(path + ".tmp", path)

    ctc = torch.nn.CTCLoss(zero_infinity=True)
    log = open(os.path.join(out_dir, "log.tsv"), "a")
    net.train()
    while state["epoch"] < args.epochs:
        rng = random.Random(1000 + state["epoch"])
        if args.mix:
            data = draw_epoch(sources, rng)
            hours = sum(len(f) for f, _ in data) / 360000.0
        order = batches(data, args.batch_frames, rng)
        t0, run_loss, run_n = time.time(), 0.0, 0
        for bi in range(state["batch_in_epoch"], len(order)):
            # Warm-up, then exponential decay with the hours of audio seen, so
            # the schedule does not depend on the corpus size (which may grow
            # between epochs) nor on how it is cut into epochs.
            warm = min(1.0, (state["step"] + 1) / 300.0)
            seen_h = state.get("seen_frames", 0) / 360000.0
            lr = max(args.lr * warm * args.decay ** (seen_h / args.decay_hours), args.lr * 0.02)
            for g in opt.param_groups:
                g["lr"] = lr
            items = [data[i] for i in order[bi]]
            x, labels, olen, llen = make_batch(torch, items, mean, inv_std, True, rng, arch,
                                               args.warp, cmn, masks=not args.no_masks)
            lp = net(x)
            loss = ctc(lp.permute(2, 0, 1), labels, olen, llen)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            run_loss += loss.item()
            state["seen_frames"] = state.get("seen_frames", 0) + sum(len(f) for f, _ in items)
            run_n += 1
            state["step"] += 1
            state["batch_in_epoch"] = bi + 1
            if state["step"] % 50 == 0:
                print("epoch %d batch %d/%d loss %.3f lr %.2e %.1f s, %.1f h seen" % (
                    state["epoch"], bi + 1, len(order), run_loss / run_n, lr, time.time() - t0,
                    state["seen_frames"] / 360000.0), flush=True)
                run_loss, run_n = 0.0, 0
            if state["step"] % args.save_every == 0:
                save()
        scores = {name: evaluate(torch, net, v, mean, inv_std, arch, cmn) for name, v in valid_sets.items()}
        vloss = float(np.mean([scores[n][0] for n in select]))
        per = float(np.mean([scores[n][1] for n in select]))
        state["epoch"] += 1
        state["batch_in_epoch"] = 0
        state["valid"] = {n: {"loss": l, "per": p} for n, (l, p) in scores.items()}
        best = per < state.get("best_per", float("inf"))   # selection: mean PER of --select
        if best:
            state["best_per"], state["best_epoch"] = per, state["epoch"]
        save()
        save(os.path.join(out_dir, "epoch-%02d.pt" % state["epoch"]))
        if best:
            save(os.path.join(out_dir, "best.pt"))
        log.write("%d\t%d\t%.4f\t%.4f\t%.1f\t%s\n" % (
            state["epoch"], state["step"], vloss, per, hours,
            " ".join("%s=%.4f" % (n, p) for n, (_, p) in scores.items())))
        log.flush()
        print("epoch %d done: valid loss %.4f PER %.2f%% (%s; %.1f h of training audio; best epoch %d)"
              % (state["epoch"], vloss, 100 * per,
                 ", ".join("%s %.2f%%" % (n, 100 * p) for n, (_, p) in scores.items()),
                 hours, state["best_epoch"]), flush=True)
        if args.one_epoch:
            break     # the caller reloads the (growing) corpus and resumes


def score(args):
    """Print the validation loss and greedy PER of --checkpoint on each --split,
    over up to --max-valid of its recorded utterances spread evenly (perturbed
    copies left out), as the training run scores its validation sets: on a
    training split against a validation split, it tells under- from overfitting."""
    import torch
    torch.set_num_threads(args.threads)
    ck = torch.load(args.checkpoint, weights_only=False)
    arch = [tuple(a) for a in ck["arch"]]
    net = build_net(torch, arch=arch)
    net.load_state_dict(ck["net"])
    cmn = run_features(ck.get("cmn_frames", 0), ck["mean"])
    for split in args.split or ("valid",):
        d = shard_dir(split)
        ids = []
        for name in sorted(f for f in os.listdir(d) if f.endswith(".json")):
            ids += json.load(open(os.path.join(d, name)))["utts"]
        data = [x for u, x in zip(ids, load_split(split)) if "~" not in u]
        data = data[::max(1, len(data) // args.max_valid)][:args.max_valid]
        loss, per = evaluate(torch, net, data, ck["mean"], ck["inv_std"], arch, cmn)
        print("%s: %d utterances, loss %.4f, greedy PER %.2f%%" % (split, len(data), loss, 100 * per))


def average(args):
    """Write the mean of the weights of --average's checkpoints (epochs of one
    run) to --out, with the rest (normalization, architecture, state) of the
    last one. Floating-point tensors are averaged; counters are the last's.
    With a warm start's frozen batch normalization the running statistics are
    the same in every epoch, so the mean is a network of the same form."""
    import torch
    if not args.average or len(args.average) < 2 or not args.out:
        raise SystemExit("average: give --average CKPT CKPT ... and --out PATH")
    cks = [torch.load(p, weights_only=False) for p in args.average]
    last = cks[-1]
    for p, ck in zip(args.average, cks):
        if [tuple(a) for a in ck["arch"]] != [tuple(a) for a in last["arch"]] or \
                ck.get("cmn_frames", 0) != last.get("cmn_frames", 0) or \
                not np.array_equal(ck["mean"], last["mean"]):
            raise SystemExit("average: %s is not from the same run as %s" % (p, args.average[-1]))
    net = {}
    for k, v in last["net"].items():
        if v.is_floating_point():
            net[k] = sum(ck["net"][k].double() for ck in cks).div(len(cks)).to(v.dtype)
        else:
            net[k] = v
    out = dict(last, net=net, state=dict(last["state"], averaged=[os.path.basename(p) for p in args.average]))
    out.pop("opt", None)
    torch.save(out, args.out + ".tmp")
    os.replace(args.out + ".tmp", args.out)
    print("%s: mean of %d checkpoints" % (args.out, len(cks)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("command", choices=["features", "train", "all", "score", "average"])
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--decay", type=float, default=0.75,
                    help="learning-rate factor per --decay-hours of audio seen")
    ap.add_argument("--decay-hours", type=float, default=20.0)
    ap.add_argument("--batch-frames", type=int, default=24000, help="padded input frames per batch")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warp", type=float, default=0.0,
                    help="vocal tract length perturbation: stretch each training utterance's "
                         "filter axis by a factor drawn from [1 - W, 1 + W] (0: off)")
    ap.add_argument("--dropout", type=float, default=0.1, help="dropout after every hidden layer")
    ap.add_argument("--no-masks", action="store_true",
                    help="train without the SpecAugment-style frequency and time masks")
    ap.add_argument("--save-every", type=int, default=200, help="steps between checkpoints")
    ap.add_argument("--max-valid", type=int, default=600,
                    help="validation utterances per epoch and validation set")
    ap.add_argument("--mix", help="train on a mix of cached splits, drawing NAME=HOURS of "
                    "audio from each per epoch, e.g. train=5,cv-train=2.5 (default: all of 'train')")
    ap.add_argument("--valid", default="valid", help="comma-separated validation splits, each "
                    "scored (greedy PER) at every epoch end")
    ap.add_argument("--select", help="validation splits whose mean PER picks work/train/best.pt "
                    "(default: all of --valid)")
    ap.add_argument("--split", action="append",
                    help="features: cache this split of WORK/corpus (repeatable; default: valid, train)")
    ap.add_argument("--copies", type=int, default=0,
                    help="features: perturbed copies of each utterance to cache besides it "
                         "(for recorded speech; the synthetic corpus is perturbed when made)")
    ap.add_argument("--checkpoint", help="score: the checkpoint to score")
    ap.add_argument("--average", nargs="+", metavar="CKPT",
                    help="average: checkpoints of one run whose weights to average")
    ap.add_argument("--out", help="average: the checkpoint to write")
    ap.add_argument("--one-epoch", action="store_true",
                    help="stop after the next epoch ends (to pick up new corpus shards between epochs)")
    ap.add_argument("--width", type=int,
                    help="units per hidden layer of a new run (%d when not given; a resumed run keeps its own)"
                    % ARCH[0][0])
    ap.add_argument("--cmn-frames", type=int,
                    help="channel normalization of a new run: time constant of the running "
                         "feature mean, in 10 ms frames (asr.reference.ChannelNorm; default off)")
    ap.add_argument("--bn-train", action="store_true",
                    help="with --init: let batch normalization use and track batch statistics "
                         "again instead of keeping the warm start's (frozen by default)")
    ap.add_argument("--init", help="float .asrm to start from when there is no checkpoint "
                    "(fine-tuning the bundled model on a larger corpus)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="features: processes computing features")
    ap.add_argument("--limit", type=int, help="features: at most this many new utterances per split")
    args = ap.parse_args(argv)
    cfg = FeatureConfig()
    if args.command in ("features", "all"):
        lex = corpus_lexicon()
        for split in args.split or ("valid", "train"):
            make_features(split, cfg, lex, args.limit, args.jobs, args.copies)
    if args.command in ("train", "all"):
        train(args)
    if args.command == "score":
        score(args)
    if args.command == "average":
        average(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
