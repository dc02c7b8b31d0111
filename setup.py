"""Build: the C library through cffi (asr/_build.py), the bundled models
copied from models/ into the installed package (asr/models)."""
import glob
import os
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = os.path.dirname(os.path.abspath(__file__))
MODEL_FILES = ("*.asrm", "*.lexicon", "*.asrlex", "*.arpa.gz", "*.asrlm", "*.npz", "samples/*.wav", "samples/*.flac", "samples/*.txt")
# The C sources, for asr-rtf --platform armv7|aarch64 (asr/cross.py cross-compiles them).
NATIVE_FILES = ("Makefile", "include/*.h", "src/*.c", "src/*.h", "src/*.inc", "tests/*.c", "tests/*.h")


class BuildPyWithModels(build_py):
    """Copy the bundled model files next to the installed package, where
    asr.resources.model_dirs() finds them (an editable install reads models/),
    and the C sources to asr/native, where asr/cross.py finds them."""

    def run(self):
        super().run()
        for src_dir, patterns in (("models", MODEL_FILES), ("native", NATIVE_FILES)):
            dst = os.path.join(self.build_lib, "asr", src_dir)
            for pattern in patterns:
                for src in glob.glob(os.path.join(ROOT, src_dir, pattern)):
                    rel = os.path.relpath(src, os.path.join(ROOT, src_dir))
                    os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
                    shutil.copyfile(src, os.path.join(dst, rel))


# A library built in place by 'python asr/_build.py' is named for this
# interpreter (_asr_native.cpython-311-...so) and Python loads it before the
# abi3 library this build makes: an editable install would keep running the
# old C code. Remove it; the build below puts the current one in its place.
for stale in glob.glob(os.path.join(ROOT, "asr", "_asr_native.cpython-*.so")):
    os.remove(stale)

setup(
    name="asr-fixedpoint",
    version="0.1.0",
    description="Offline speech recognition with an int8/int16 fixed-point acoustic model",
    license="Apache-2.0",
    packages=find_packages(include=["asr", "asr.*"]),
    python_requires=">=3.9",
    setup_requires=["cffi>=1.15"],
    cffi_modules=["asr/_build.py:ffibuilder"],
    # scipy: python_speech_features imports it without declaring it.
    install_requires=["numpy", "cffi>=1.15", "soundfile", "python_speech_features", "scipy"],
    extras_require={
        "train": ["torch==2.13.0"],
        "test": ["pytest", "srt", "webvtt-py", "selenium"],    # subtitle parsers; selenium: tests/test_serve.py
        "compare": ["pocketsphinx", "onnxruntime", "onnx"],     # tools/compare_peers.py
        "fuzz": ["atheris"],                                    # tools/fuzz/run.py
        "mic": ["sounddevice"],
        "plot": ["matplotlib"],
        "serve": ["websockets>=13"],                            # asr-serve (asyncio API)
    },
    package_data={"asr": ["web/*.html", "web/*.js"]},          # asr-serve's browser page
    cmdclass={"build_py": BuildPyWithModels},
    entry_points={
        "console_scripts": [
            "asr-decode=asr.cli.decode:main",
            "asr-eval=asr.cli.eval:main",
            "asr-rtf=asr.cli.rtf:main",
            "asr-lm=asr.cli.lm:main",
            "asr-serve=asr.cli.serve:main",
        ]
    },
)
