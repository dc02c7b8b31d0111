"""The installed package stands on its own: a wheel built from this checkout,
installed into a fresh venv, runs every command from a directory outside
the checkout, with the models, samples and C sources it carries.

One wheel build per session (module fixture): it compiles the C library.
The venv sees the system's site-packages (numpy, soundfile, ... are not
reinstalled) but imports ``asr`` from the wheel, which is checked."""
import glob
import json
import os
import shutil
import subprocess
import sys

import pytest
import srt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = {"goforward-1.wav": "go forward ten meters",
           "librivox-0880.wav": "he was not an ill disposed young man",
           "tidigits-dhd-2934z.wav": "two nine three four zero"}
IGNORE = shutil.ignore_patterns(".git", "build", "work*", "__pycache__", "*.so", "*.o", "*.egg-info",
                                ".pytest_cache", "_asr_native.c")


def run(cmd, cwd, env, timeout=600, check=True):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if check:
        assert r.returncode == 0, "%s failed (%d):\n%s\n%s" % (cmd, r.returncode, r.stdout, r.stderr[-4000:])
    return r


def build_wheel(src, dist, env):
    """``pip wheel`` of the source copy; without build isolation when this
    Python has setuptools and cffi (fast, offline), else with it."""
    base = [sys.executable, "-m", "pip", "wheel", src, "--no-deps", "-q", "-w", dist]
    r = run(base + ["--no-build-isolation"], src, env, timeout=900, check=False)
    if r.returncode != 0:
        run(base, src, env, timeout=900)
    wheels = glob.glob(os.path.join(dist, "asr_fixedpoint-*.whl"))
    assert len(wheels) == 1, os.listdir(dist)
    return wheels[0]


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """(venv python, env for commands, empty working directory, site-packages asr dir)."""
    base = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ASR_MODEL_DIR", "PYTHONHOME")}
    src, dist, vdir, work = (str(base / n) for n in ("src", "dist", "venv", "work"))
    shutil.copytree(ROOT, src, ignore=IGNORE)
    wheel = build_wheel(src, dist, env)
    shutil.rmtree(src)          # nothing of the sources is left to import from
    run([sys.executable, "-m", "venv", "--system-site-packages", vdir], str(base), env)
    py = os.path.join(vdir, "bin", "python")
    run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed", wheel],
        str(base), env)
    env["PATH"] = os.path.join(vdir, "bin") + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = vdir
    os.makedirs(work)
    r = run([py, "-c", "import asr, os; print(os.path.dirname(asr.__file__))"], work, env)
    pkg = r.stdout.strip()
    assert os.path.realpath(pkg).startswith(os.path.realpath(vdir) + os.sep), pkg
    return py, env, work, pkg


def test_package_imports_nothing_from_the_checkout(venv):
    py, env, work, pkg = venv
    code = ("import sys, asr, asr._native, asr.peers, asr.onnx_export, asr.subtitles, asr.cross, "
            "asr.cli.decode, asr.cli.eval, asr.cli.rtf\n"
            "print('\\n'.join(m.__file__ for m in list(sys.modules.values()) "
            "if getattr(m, '__file__', None)))")
    files = run([py, "-c", code], work, env).stdout.split()
    assert not [f for f in files if os.path.realpath(f).startswith(ROOT + os.sep)]
    assert any(f.startswith(pkg) and "_asr_native" in f for f in files)
    for name in ("en-us-int8.asrm", "en-us.asrlex", "en-us.asrlm", "samples/goforward-1.wav",
                 "../native/src/net.c", "../native/tests/net_driver.c", "../native/Makefile"):
        assert os.path.exists(os.path.join(pkg, "models", name)), name


def test_decode_text_and_subtitles(venv):
    py, env, work, pkg = venv
    wav = os.path.join(work, "tidigits.wav")
    shutil.copyfile(os.path.join(pkg, "models", "samples", "tidigits-dhd-2934z.wav"), wav)
    r = run(["asr-decode", "tidigits.wav"], work, env)
    assert r.stdout == "two nine three four zero\n"
    r = run(["asr-decode", "--format", "srt", "tidigits.wav"], work, env)
    subs = list(srt.parse(r.stdout))
    assert " ".join(s.content.replace("\n", " ") for s in subs) == "two nine three four zero"
    r = run(["asr-decode", "--format", "vtt", "tidigits.wav", "--output-dir", "subs"], work, env)
    with open(os.path.join(work, "subs", "tidigits.wav.vtt")) as f:
        assert f.read().startswith("WEBVTT\n\n00:00:")


def test_eval_on_a_tiny_set_with_progress(venv):
    py, env, work, pkg = venv
    tsv = os.path.join(work, "tiny.tsv")
    with open(tsv, "w") as f:
        for name, ref in SAMPLES.items():
            f.write("%s\t%s\n" % (os.path.join(pkg, "models", "samples", name), ref))
    r = run(["asr-eval", "tiny.tsv", "--precision", "int8", "--json", "--progress"], work, env)
    rep = json.loads(r.stdout)           # the bar is on stderr only
    e = rep["precisions"]["int8"]
    assert rep["utterances"] == 3 and e["ref_words"] == 17 and e["failed"] == 0
    assert 0 <= e["wer"] < 0.5
    assert "int8 [" in r.stderr and "3/3" in r.stderr


def test_rtf_measures_the_bundled_samples(venv):
    py, env, work, pkg = venv
    r = run(["asr-rtf", "--json", "--repeat", "1", "--precision", "int8"], work, env)
    rep = json.loads(r.stdout)
    assert rep["mode"] == "measured" and [x["precision"] for x in rep["results"]] == ["int8"]
    assert sorted(os.path.basename(f) for f in rep["files"]) == sorted(SAMPLES)
    assert all(f.startswith(pkg) for f in rep["files"])
    assert rep["results"][0]["rtf"]["total"] > 0


def test_rtf_compare_without_peers_is_a_clear_error(venv):
    """With pocketsphinx, onnxruntime and onnx hidden: exit 2, what to
    install on stderr, nothing on stdout, nothing imported from tools/."""
    py, env, work, pkg = venv
    code = ("import sys\n"
            "for m in ('pocketsphinx', 'onnxruntime', 'onnx'): sys.modules[m] = None\n"
            "from asr.cli.rtf import main\n"
            "rc = main(['--compare', '--repeat', '1'])\n"
            "assert 'compare_peers' not in sys.modules\n"
            "sys.exit(rc)\n")
    r = run([py, "-c", code], work, env, check=False)
    assert r.returncode == 2 and r.stdout == ""
    assert "pocketsphinx, onnxruntime, onnx" in r.stderr and "pip install" in r.stderr
    assert "Traceback" not in r.stderr


def test_rtf_compare_from_the_wheel(venv):
    """The real console script: measures the peers where they are installed
    (this machine's site-packages), else the clear error above."""
    py, env, work, pkg = venv
    have = run([py, "-c", "import importlib.util as u; print(all(u.find_spec(m) for m in "
                          "('pocketsphinx', 'onnxruntime', 'onnx')))"], work, env).stdout.strip()
    wav = os.path.join(pkg, "models", "samples", "goforward-1.wav")
    r = run(["asr-rtf", "--compare", "--json", "--repeat", "1", "--precision", "int8", "--audio", wav],
            work, env, check=False)
    if have == "True":
        assert r.returncode == 0, r.stderr
        cmp = json.loads(r.stdout)["compare"]
        assert cmp["pocketsphinx"] > 0 and set(cmp["onnxruntime_am"]) == {"float", "int8"}
    else:
        assert r.returncode == 2 and r.stdout == "" and "pip install" in r.stderr


def test_rtf_emulated_arm_from_the_wheel(venv):
    """--platform aarch64 cross-compiles the C sources the wheel carries
    (where the cross compiler and qemu are installed; else it names them)."""
    py, env, work, pkg = venv
    wav = os.path.join(pkg, "models", "samples", "goforward-1.wav")
    r = run(["asr-rtf", "--platform", "aarch64", "--precision", "int8", "--audio", wav], work, env,
            check=False)
    tools = all(shutil.which(t) for t in ("aarch64-linux-gnu-gcc", "qemu-aarch64", "make"))
    if tools and sys.platform.startswith("linux") and os.uname().machine == "x86_64":
        assert r.returncode == 0, r.stderr
        assert "bit-identical" in r.stdout and "ESTIMATE" in r.stdout
        assert not os.path.exists(os.path.join(os.path.dirname(pkg), "build"))
    else:
        assert r.returncode != 0 and ("apt-get install" in r.stderr or "x86_64" in r.stderr)
