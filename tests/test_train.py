"""The training tools' contract with the runtime: the exported model
computes what the PyTorch network computed (BN folded, tap-major weights,
the same padding and frame counts), and CTC training on a toy problem
learns. Needs the optional PyTorch dependency (.ci/run installs it)."""
import os
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from tools import export
from tools import train as T
from asr import reference  # noqa: E402
from asr.features import FeatureConfig  # noqa: E402
from asr.model import Model  # noqa: E402
from asr.network import Network  # noqa: E402

ARCH = [(24, 5, 1, 1), (24, 3, 1, 3), (24, 3, 2, 1)]


def trained_looking_net(seed=0):
    torch.manual_seed(seed)
    net = T.build_net(torch, arch=ARCH)
    with torch.no_grad():                 # BN statistics far from the identity
        for bn in net.bns:
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.5, 2)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
    return net.eval()


def exported_model(net, rng):
    """The float model export.fold makes of ``net``, with random normalization."""
    mean = rng.standard_normal(40).astype(np.float32)
    inv_std = rng.uniform(0.5, 2, 40).astype(np.float32)
    return Model(features=FeatureConfig(), labels=list(T.LABELS), mean=mean, inv_std=inv_std,
                 layers=export.fold(net, ARCH))


def torch_logprobs(net, feats, mean, inv_std):
    """``net``'s output frames x labels for one utterance, as training sees it."""
    x, _, olen, _ = T.make_batch(torch, [(feats, np.zeros(1, np.int16))], mean, inv_std, False, None, ARCH)
    with torch.no_grad():
        return net(x)[0, :, :int(olen[0])].numpy().T


def test_context_and_output_length_match_the_runtime_model():
    net = trained_looking_net()
    layers = export.fold(net, ARCH)
    m = Model(features=FeatureConfig(), labels=list(T.LABELS), mean=np.zeros(40, np.float32),
              inv_std=np.ones(40, np.float32), layers=layers)
    assert (m.pad_left, m.pad_right) == T.context(ARCH)
    for n in (1, 2, 3, 7, 50, 101):
        assert reference.forward_float(m, np.zeros((n, 40), np.float32)).shape[0] == T.out_len(n, ARCH)


def test_exported_model_computes_the_torch_network():
    net = trained_looking_net()
    rng = np.random.default_rng(0)
    m = exported_model(net, rng)
    m.validate()
    feats = (rng.standard_normal((83, 40)) * 2 + m.mean).astype(np.float32)
    want = torch_logprobs(net, feats, m.mean, m.inv_std)
    np.testing.assert_allclose(reference.forward_float(m, feats), want, atol=2e-4)
    np.testing.assert_allclose(Network(m).forward(feats), want, atol=2e-4)


def test_vocal_tract_perturbation_of_the_filter_axis():
    """warp_filters: identity at 1; below the knee filter i takes the value at
    i * alpha, the top filter stays in place, and the warp is monotone; in a
    training batch it is drawn per utterance, and only when asked for."""
    ramp = np.tile(np.arange(40, dtype=np.float32), (5, 1))
    np.testing.assert_array_equal(T.warp_filters(ramp, 1.0), ramp)
    for alpha in (0.9, 1.1):
        w = T.warp_filters(ramp, alpha)
        assert w.shape == ramp.shape and w.dtype == np.float32
        np.testing.assert_allclose(w[0, :30], np.arange(30) * alpha, atol=1e-5)
        assert w[0, 0] == 0 and w[0, -1] == 39 and np.all(np.diff(w[0]) > 0)
    # A bump at filter 20 moves down when the axis is stretched (alpha > 1).
    bump = np.exp(-0.5 * (np.arange(40) - 20.0) ** 2)[None, :].astype(np.float32)
    assert np.argmax(T.warp_filters(bump, 1.1)[0]) == 18
    items = [(np.random.default_rng(i).standard_normal((60, 40)).astype(np.float32),
              np.array([1, 2])) for i in range(3)]
    zeros, ones = np.zeros(40, np.float32), np.ones(40, np.float32)
    plain = T.make_batch(torch, items, zeros, ones, False, random.Random(0))[0]
    warped = T.make_batch(torch, items, zeros, ones, False, random.Random(0),
                          warp=0.1)[0]
    assert torch.equal(plain, warped)            # evaluation batches are never warped
    a = T.make_batch(torch, items, zeros, ones, True, random.Random(0))[0]
    b = T.make_batch(torch, items, zeros, ones, True, random.Random(0), warp=0.1)[0]
    assert not torch.equal(a, b)


def test_ctc_training_learns_a_toy_task():
    """Two 'phones' drawn as distinct spectral bumps: a few hundred steps
    must bring the greedy phone error rate on held-out toy utterances down."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)

    def utt():
        labs = rng.integers(1, 3, rng.integers(2, 5))
        frames = []
        for lab in labs:
            seg = rng.standard_normal((rng.integers(9, 14), 40)) * 0.3
            seg[:, 5:15] += 3.0 if lab == 1 else 0.0
            seg[:, 25:35] += 3.0 if lab == 2 else 0.0
            frames += [seg, rng.standard_normal((6, 40)) * 0.3]
        return np.concatenate(frames).astype(np.float16), labs.astype(np.int16)

    data = [utt() for _ in range(64)]
    held = [utt() for _ in range(16)]
    net = T.build_net(torch, arch=ARCH, dropout=0.0)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    ctc = torch.nn.CTCLoss(zero_infinity=True)
    zeros, ones = np.zeros(40, np.float32), np.ones(40, np.float32)
    for step in range(150):
        items = [data[i] for i in rng.integers(0, len(data), 16)]
        x, labels, olen, llen = T.make_batch(torch, items, zeros, ones, False, None, ARCH)
        loss = ctc(net(x).permute(2, 0, 1), labels, olen, llen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    _, per = T.evaluate(torch, net, held, zeros, ones, ARCH)
    assert per < 0.2, per


def test_warm_start_from_an_exported_model_reproduces_it(tmp_path):
    net = trained_looking_net()
    rng = np.random.default_rng(1)
    m = exported_model(net, rng)
    mean, inv_std = m.mean, m.inv_std
    path = str(tmp_path / "m.asrm")
    m.save(path)
    data = [((rng.standard_normal((n, 40)) + mean).astype(np.float16), np.zeros(1, np.int16))
            for n in (40, 61, 95)]
    fresh = T.build_net(torch, arch=ARCH)          # different random weights
    loaded = T.warm_start(torch, fresh, path, data, arch=ARCH)
    np.testing.assert_array_equal(loaded.mean, mean)
    np.testing.assert_array_equal(loaded.inv_std, inv_std)
    fresh.eval()
    feats = (rng.standard_normal((70, 40)) + mean).astype(np.float32)
    got = torch_logprobs(fresh, feats, mean, inv_std)
    np.testing.assert_allclose(got, reference.forward_float(m, feats), atol=2e-4)
    # Fine-tuning keeps the BN statistics the model was folded with, so the
    # net computes the same function in training mode (dropout aside).
    fresh.drop.p = 0.0
    fresh.train()
    np.testing.assert_allclose(torch_logprobs(fresh, feats, mean, inv_std), got, atol=1e-6)
    # A net of another shape is refused, not silently half-loaded.
    with pytest.raises(SystemExit, match="architecture"):
        T.warm_start(torch, T.build_net(torch, arch=ARCH[:2]), path, data, arch=ARCH[:2])


def test_feature_cache_is_the_same_with_worker_processes(tmp_path, monkeypatch):
    import soundfile as sf
    from asr.features import logmel
    corpus = tmp_path / "corpus" / "train"
    corpus.mkdir(parents=True)
    rng = np.random.default_rng(3)
    words = {"u1": "go left", "u2": "stop", "u3": "go go stop", "u4": "zebra"}
    scp = []
    for i, u in enumerate(words):
        wav = tmp_path / ("%s.wav" % u)
        sf.write(str(wav), (0.1 * rng.standard_normal(16000 + 4000 * i)).astype(np.float32), 16000)
        scp.append("%s %s\n" % (u, wav))
    (corpus / "wav.scp").write_text("".join(scp))
    (corpus / "text").write_text("".join("%s %s\n" % kv for kv in words.items()))
    lex = {"go": ["G", "OW"], "left": ["L", "EH", "F", "T"], "stop": ["S", "T", "AA", "P"]}
    cached = {}
    for jobs in (1, 2):
        monkeypatch.setattr(T, "WORK", str(tmp_path / ("w%d" % jobs)))
        (tmp_path / ("w%d" % jobs)).mkdir()
        (tmp_path / ("w%d" % jobs) / "corpus").symlink_to(tmp_path / "corpus")
        assert T.make_features("train", FeatureConfig(), lex, jobs=jobs) == 3   # "zebra": no pronunciation
        assert T.make_features("train", FeatureConfig(), lex, jobs=jobs) == 0   # nothing new
        cached[jobs] = T.load_split("train")
    assert len(cached[1]) == len(cached[2]) == 3
    for (f1, l1), (f2, l2) in zip(cached[1], cached[2]):
        np.testing.assert_array_equal(f1, f2)
        np.testing.assert_array_equal(l1, l2)
    x, _ = cached[1][0]
    want = logmel(sf.read(str(tmp_path / "u1.wav"), dtype="float32")[0], FeatureConfig())
    np.testing.assert_array_equal(x, want.astype(np.float16))


def toy_corpus(root, splits=(("train", 12), ("valid", 3))):
    """Kaldi directories of noise 'utterances' with toy transcripts under root/corpus."""
    import soundfile as sf
    rng = np.random.default_rng(5)
    sentences = ["go left", "stop", "go go stop", "left stop go"]
    for split, n in splits:
        d = root / "corpus" / split
        d.mkdir(parents=True)
        scp, text = [], []
        for i in range(n):
            utt = "%s-%02d" % (split, i)
            wav = d / (utt + ".wav")
            sf.write(str(wav), (0.1 * rng.standard_normal(12000 + 1600 * i)).astype(np.float32), 16000)
            scp.append("%s %s\n" % (utt, wav.name))          # relative to the directory
            text.append("%s %s\n" % (utt, sentences[i % len(sentences)]))
        (d / "wav.scp").write_text("".join(scp))
        (d / "text").write_text("".join(text))
    (root / "corpus" / "lexicon.txt").write_text("go G OW1\nleft L EH1 F T\nstop S T AA1 P\n")


def test_train_and_export_commands_on_a_toy_corpus(tmp_path, monkeypatch):
    """tools/train.py and tools/export.py end to end, as the README runs them
    (features, then training that checkpoints, logs and resumes, then export)
    on a toy corpus, with a new run's --width: a resumed run keeps the width
    it started with and refuses another; the exported models have it."""
    monkeypatch.setattr(T, "WORK", str(tmp_path))
    toy_corpus(tmp_path)
    common = ["--threads", "1", "--jobs", "1", "--batch-frames", "600", "--save-every", "2"]

    assert T.main(["all", "--epochs", "1", "--width", "16"] + common) == 0
    ck = torch.load(str(tmp_path / "train" / "last.pt"), weights_only=False)
    assert [a[0] for a in ck["arch"]] == [16] * len(T.ARCH)
    assert ck["state"]["epoch"] == 1 and ck["state"]["step"] >= 3
    assert (tmp_path / "train" / "epoch-01.pt").exists()
    log = (tmp_path / "train" / "log.tsv").read_text().split()
    assert log[0] == "1" and 0.0 <= float(log[3]) <= 2.0         # epoch, ..., validation PER

    # Resuming: a second epoch at the run's own width; another width is refused.
    with pytest.raises(SystemExit, match="width 16"):
        T.main(["train", "--epochs", "2", "--width", "24"] + common)
    assert T.main(["train", "--epochs", "2"] + common) == 0
    assert torch.load(str(tmp_path / "train" / "last.pt"), weights_only=False)["state"]["epoch"] == 2

    out = tmp_path / "models"
    assert export.main(["--checkpoint", str(tmp_path / "train" / "epoch-02.pt"), "--out-dir", str(out),
                        "--calib-utts", "4"]) == 0
    for prec in ("float", "int16", "int8"):
        m = Model.load(str(out / ("en-us-%s.asrm" % prec)))
        assert [layer.out_dim for layer in m.layers] == [16] * len(T.ARCH) + [len(T.LABELS)]
        assert m.meta["provenance"]["epochs"] == 2

    # Averaging epochs: the mean of each weight, the rest of the last epoch;
    # exported as any checkpoint (export checks the float model against torch).
    eps = [str(tmp_path / "train" / ("epoch-%02d.pt" % e)) for e in (1, 2)]
    avg = str(tmp_path / "train" / "avg.pt")
    assert T.main(["average", "--average"] + eps + ["--out", avg]) == 0
    a, b, m = (torch.load(p, weights_only=False) for p in eps + [avg])
    for k, v in m["net"].items():
        if v.is_floating_point():
            torch.testing.assert_close(v, (a["net"][k] + b["net"][k]) / 2, rtol=0, atol=1e-6)
    assert m["state"]["averaged"] == ["epoch-01.pt", "epoch-02.pt"] and "opt" not in m
    assert export.main(["--checkpoint", avg, "--out-dir", str(out), "--float-only"]) == 0
    prov = Model.load(str(out / "en-us-float.asrm")).meta["provenance"]
    assert prov["weights_averaged_over"] == ["epoch-01.pt", "epoch-02.pt"]
    with pytest.raises(SystemExit, match="--average"):
        T.main(["average", "--average", eps[0], "--out", avg])


def test_draw_epoch_repeats_small_sets_and_subsamples_large_ones():
    small = [(np.zeros((100, 40), np.float16), None)] * 3           # 3 s
    large = [(np.zeros((200, 40), np.float16), None)] * 90          # 180 s
    assert T.parse_mix("a=0.5, b=1e-3") == [("a", 0.5), ("b", 0.001)]
    for bad in ("a", "a=x", "a=0"):
        with pytest.raises(SystemExit):
            T.parse_mix(bad)
    rng = random.Random(0)
    epoch = T.draw_epoch([(small, 10 / 3600), (large, 60 / 3600)], rng)
    frames = [len(f) for f, _ in epoch]
    assert frames.count(100) == 10          # 10 s from a 3 s set: each utterance 3-4 times
    assert frames.count(200) == 30          # 60 s of a 180 s set


def test_recorded_sets_mixed_in_with_channel_normalization(tmp_path, monkeypatch, capsys):
    """A run on two cached splits, one of them recorded with perturbed copies,
    validated on both, with channel normalization trained in: the export
    carries the normalization (its prior is the model's mean), and the float
    model it writes computes what PyTorch computed (export checks it)."""
    monkeypatch.setattr(T, "WORK", str(tmp_path))
    toy_corpus(tmp_path, (("train", 8), ("valid", 3), ("rec-train", 6), ("rec-valid", 3)))
    common = ["--threads", "1", "--jobs", "1", "--batch-frames", "600"]
    assert T.main(["features"] + common) == 0
    assert T.main(["features", "--split", "rec-train", "--copies", "1"] + common) == 0
    assert T.main(["features", "--split", "rec-valid"] + common) == 0
    rec = T.load_split("rec-train")
    assert len(rec) == 12 and sorted(T.cached_utts("rec-train"))[:2] == ["rec-train-00", "rec-train-00~a1"]
    assert not np.array_equal(rec[0][0], rec[1][0])        # the copy is perturbed
    run = ["train", "--epochs", "1", "--width", "16", "--cmn-frames", "20",
           "--mix", "train=0.01,rec-train=0.02", "--valid", "valid,rec-valid", "--select", "rec-valid"]
    assert T.main(run + common) == 0
    ck = torch.load(str(tmp_path / "train" / "best.pt"), weights_only=False)
    assert ck["cmn_frames"] == 20 and ck["mix"] == ["train", "rec-train"]
    assert set(ck["state"]["valid"]) == {"valid", "rec-valid"}
    assert ck["state"]["best_per"] == ck["state"]["valid"]["rec-valid"]["per"]
    # score: the recordings only, not their perturbed copies
    assert T.main(["score", "--checkpoint", str(tmp_path / "train" / "best.pt"), "--split", "rec-train",
                   "--max-valid", "5", "--threads", "1"]) == 0
    assert "rec-train: 5 utterances" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="cmn-frames"):
        T.main(["train", "--epochs", "2", "--cmn-frames", "30", "--mix", "train=0.01"] + common)
    out = tmp_path / "models"
    assert export.main(["--checkpoint", str(tmp_path / "train" / "best.pt"), "--out-dir", str(out),
                        "--calib-utts", "4"]) == 0
    for prec in ("float", "int8"):
        m = Model.load(str(out / ("en-us-%s.asrm" % prec)))
        assert m.features.cmn_frames == 20
        np.testing.assert_array_equal(np.array(m.features.cmn_prior, np.float32), m.mean)


def test_widening_keeps_the_function():
    """Net2WiderNet: the widened net gives the same log-probabilities as the
    one it was made from (BN in inference mode, as after a warm start)."""
    net = trained_looking_net(seed=2)
    net.frozen_bn = True
    net.eval()
    wide = T.widen(torch, net, ARCH, 40, np.random.default_rng(0))
    wide.eval()
    assert [c.out_channels for c in wide.convs] == [40] * len(ARCH)
    x = torch.from_numpy(np.random.default_rng(1).standard_normal((2, 40, 90)).astype(np.float32))
    with torch.no_grad():
        np.testing.assert_allclose(wide(x).numpy(), net(x).numpy(), atol=1e-5)
