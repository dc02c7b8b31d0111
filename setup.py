from setuptools import setup, find_packages

setup(
    name="asr-fixedpoint",
    version="0.1.0",
    description="Offline speech recognition with an int8/int16 fixed-point acoustic model",
    packages=find_packages(include=["asr", "asr.*"]),
    package_data={"asr": ["models/*"]},
    python_requires=">=3.9",
    setup_requires=["cffi>=1.15"],
    cffi_modules=["asr/_build.py:ffibuilder"],
    install_requires=["numpy", "cffi>=1.15", "soundfile", "python_speech_features"],
    extras_require={
        "train": ["torch==2.13.0"],
        "test": ["pytest"],
        "mic": ["sounddevice"],
        "plot": ["matplotlib"],
    },
    entry_points={
        "console_scripts": [
            "asr-decode=asr.cli.decode:main",
            "asr-eval=asr.cli.eval:main",
            "asr-rtf=asr.cli.rtf:main",
        ]
    },
)
