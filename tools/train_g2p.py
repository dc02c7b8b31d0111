"""Train the grapheme-to-phoneme model (asr/g2p.py) on CMUdict and report
its phone and word error rates on 5 % of the words held out.

    python -m tools.train_g2p                      # -> models/en-us-g2p.npz
    python -m tools.train_g2p --evaluate-only      # scores the saved model

Held out: every word whose CRC-32 is divisible by 20 (5 %), never trained
on. A held-out word counts as right when the prediction equals any of its
CMUdict pronunciations; its phone errors are counted against the closest
one. Needs PyTorch (training only); writes a numpy file the runtime reads.
Checkpoints to work/g2p/last.pt every epoch and resumes from it.
"""
import argparse
import os
import time
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from asr.g2p import COPIES, VERSION, load_g2p       # noqa: E402
from asr.lexicon import CMU_PHONES, read_prons       # noqa: E402
from asr.text import align                           # noqa: E402

CMUDICT = "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"
LETTERS = "abcdefghijklmnopqrstuvwxyz'-."
PHONES = ["<blk>"] + CMU_PHONES


def held_out(word):
    return zlib.crc32(word.encode("utf-8")) % 20 == 0


def load_dict(path):
    """{word: [pronunciation, ...]} with phone ids (1-based: 0 is blank)."""
    index = {p: i for i, p in enumerate(PHONES)}
    words = {}
    for word, phones in read_prons(path):
        pron = [index[p] for p in phones]
        if pron not in words.setdefault(word, []):
            words[word].append(pron)
    return words


def encode(word):
    return [LETTERS.index(c) + 1 if c in LETTERS else 0 for c in word]


def dilations(layers):
    """1, 2, 4, ..., then back down: a wide receptive field at little cost."""
    up = [2 ** i for i in range((layers + 1) // 2)]
    return (up + up[:layers // 2][::-1])[:layers]


def build(torch, channels, layers, kernel):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(len(LETTERS) + 1, channels)
            self.sub = nn.Parameter(0.1 * torch.randn(COPIES, channels))
            self.dilations = dilations(layers)
            self.convs = nn.ModuleList(nn.Conv1d(channels, channels, kernel, dilation=d,
                                                 padding=d * (kernel // 2)) for d in self.dilations)
            self.out = nn.Linear(channels, len(PHONES))

        def forward(self, x):                      # x: batch, letters (0-padded)
            h = self.emb(x).repeat_interleave(COPIES, dim=1)
            h = h + self.sub.repeat(x.shape[1], 1)[None]
            h = h.transpose(1, 2)
            for conv in self.convs:
                h = h + torch.relu(conv(h))
            return self.out(h.transpose(1, 2))    # batch, slots, labels

    return Net()


def batches(pairs, size, rng):
    order = rng.permutation(len(pairs))
    for i in range(0, len(order), size):
        yield [pairs[j] for j in order[i:i + size]]


def train(args):
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    words = load_dict(args.dict)
    pairs = [(encode(w), p) for w, prons in sorted(words.items()) if not held_out(w) for p in prons]
    print("%d words, %d training pronunciations, %d held-out words"
          % (len(words), len(pairs), sum(held_out(w) for w in words)), flush=True)
    net = build(torch, args.channels, args.layers, args.kernel)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    os.makedirs(args.work, exist_ok=True)
    ckpt, epoch = os.path.join(args.work, "last.pt"), 0
    if os.path.exists(ckpt):
        state = torch.load(ckpt, weights_only=False)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        epoch = state["epoch"]
        print("resumed after epoch %d" % epoch, flush=True)
    rng = np.random.default_rng(epoch)
    while epoch < args.epochs:
        for g in opt.param_groups:
            g["lr"] = args.lr * (0.5 ** max(0, epoch - args.epochs // 2) if epoch >= args.epochs // 2 else 1)
        t0, total, n = time.time(), 0.0, 0
        net.train()
        for batch in batches(pairs, args.batch, rng):
            width = max(len(x) for x, _ in batch)
            x = torch.zeros(len(batch), width, dtype=torch.long)
            for i, (letters, _) in enumerate(batch):
                x[i, :len(letters)] = torch.tensor(letters)
            lp = torch.log_softmax(net(x), dim=-1).transpose(0, 1)
            targets = torch.tensor([p for _, pron in batch for p in pron])
            loss = ctc(lp, targets, torch.tensor([COPIES * len(a) for a, _ in batch]),
                       torch.tensor([len(p) for _, p in batch]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, n = total + float(loss.detach()), n + 1
        epoch += 1
        torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "epoch": epoch}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)
        print("epoch %d loss %.4f %.0f s" % (epoch, total / n, time.time() - t0), flush=True)
    save(net, args.out)


def save(net, path):
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()}
    arrays = {"version": np.array(VERSION), "letters": np.array(LETTERS), "phones": np.array(PHONES),
              "emb": sd["emb.weight"], "sub": sd["sub"],
              "out_w": sd["out.weight"], "out_b": sd["out.bias"],
              "dilations": np.array(net.dilations, dtype=np.int32)}
    i = 0
    while "convs.%d.weight" % i in sd:
        arrays["conv_w%d" % i] = sd["convs.%d.weight" % i]
        arrays["conv_b%d" % i] = sd["convs.%d.bias" % i]
        i += 1
    tmp = path + ".tmp.npz"
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)), flush=True)


def evaluate(args):
    """Phone and word error rates of the saved model on the held-out words."""
    g2p = load_g2p(args.out)
    words = load_dict(args.dict)
    test = sorted(w for w in words if held_out(w))
    errors = phones = wrong = 0
    t0 = time.time()
    for w in test:
        hyp = g2p.pronounce(w)
        refs = [[PHONES[i] for i in p] for p in words[w]]
        best = min(refs, key=lambda r: sum(align(r, hyp)[:3]))
        errors += sum(align(best, hyp)[:3])
        phones += len(best)
        wrong += hyp not in refs
    dt = time.time() - t0
    print("held-out CMUdict words: %d, phone error rate %.2f %%, word error rate %.2f %%, "
          "%.2f ms per word (numpy, one thread of this machine)"
          % (len(test), 100.0 * errors / phones, 100.0 * wrong / len(test), 1000 * dt / len(test)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--dict", default=CMUDICT, help="CMU-format dictionary")
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "en-us-g2p.npz"))
    ap.add_argument("--work", default=os.path.join(os.environ.get("ASR_WORK", "work"), "g2p"))
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--channels", type=int, default=96)
    ap.add_argument("--layers", type=int, default=5)
    ap.add_argument("--kernel", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--evaluate-only", action="store_true")
    args = ap.parse_args(argv)
    if not args.evaluate_only:
        train(args)
    evaluate(args)


if __name__ == "__main__":
    main()
