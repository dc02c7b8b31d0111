"""cffi out-of-line (API mode) build of the native library.

setup.py names this module in ``cffi_modules``; it can also be run directly
(``python asr/_build.py``) to build ``asr/_asr_native*.so`` in place.

The cdef is read from the public headers (and the testing header) so the
binding cannot drift from them:
preprocessor lines are dropped except integer ``#define`` constants, which
cffi understands.
"""
import glob
import os
import platform
import re

from cffi import FFI

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = os.path.join(ROOT, "native", "include")
SRC = os.path.join(ROOT, "native", "src")
# The public C API, then the entry points that only the tests and
# tools/bench_kernels.py call (native/src/asr_testing.h): the module
# declares them so those can reach them, but they are not API.
HEADERS = (os.path.join(INCLUDE, "asr.h"), os.path.join(INCLUDE, "asr_decoder.h"),
           os.path.join(INCLUDE, "asr_frontend.h"), os.path.join(INCLUDE, "asr_recognizer.h"),
           os.path.join(INCLUDE, "asr_files.h"), os.path.join(SRC, "asr_testing.h"))


def header_cdef(path):
    """Return the declarations of a public header in a form cffi accepts."""
    lines = []
    depth_cplusplus = False
    for line in open(path, encoding="utf-8"):
        stripped = line.strip()
        if stripped.startswith("#ifdef __cplusplus"):
            depth_cplusplus = True
            continue
        if depth_cplusplus:
            if stripped.startswith("#endif"):
                depth_cplusplus = False
            continue
        m = re.match(r"#define\s+(ASR_\w+)\s+(-?\d+)\s*$", stripped)
        if m and not m.group(1).endswith("_H"):
            lines.append("#define %s %s" % (m.group(1), m.group(2)))
            continue
        if stripped.startswith("#"):
            continue
        lines.append(line.rstrip("\n"))
    return "\n".join(lines)


def compile_args():
    """Flags for every source file. ISA-specific files select their own
    instruction set with a target pragma, so no -mavx2 leaks elsewhere."""
    args = ["-O3", "-std=c99", "-D_POSIX_C_SOURCE=200809L", "-fvisibility=hidden",
            "-Wall", "-Wextra", "-Wno-unused-parameter",
            "-Wdeclaration-after-statement"]     # one declaration style (native/Makefile)
    machine = platform.machine().lower()
    if machine.startswith("armv7") or machine == "armhf":
        args += ["-mfpu=neon"]
    return args + sanitize_args()


def sanitize_args():
    """ASR_SANITIZE=1 builds with AddressSanitizer and UBSan (the CI's
    sanitizer job; run Python with libasan preloaded). Any UB aborts."""
    if os.environ.get("ASR_SANITIZE") != "1":
        return []
    return ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all"]


def sources():
    """The C files, relative to the checkout when building from it (what
    setuptools wants) and absolute otherwise (cffi compiles in a temp dir)."""
    files = sorted(glob.glob(os.path.join(SRC, "*.c")))
    if os.path.abspath(os.getcwd()) == ROOT and __name__ != "__main__":
        return [os.path.relpath(p, ROOT) for p in files]
    return files


ffibuilder = FFI()
ffibuilder.cdef("\n".join(header_cdef(h) for h in HEADERS))
ffibuilder.set_source(
    "asr._asr_native",
    "\n".join('#include "%s"' % os.path.basename(h) for h in HEADERS),
    sources=sources(),
    include_dirs=[INCLUDE, SRC],
    extra_compile_args=compile_args(),
    extra_link_args=sanitize_args(),
    libraries=["m"],
)

if __name__ == "__main__":
    os.chdir(ROOT)
    import shutil
    # distutils compares .c and .o times only, not the headers: start clean.
    shutil.rmtree(os.path.join(ROOT, "build", "cffi"), ignore_errors=True)
    ffibuilder.compile(tmpdir=os.path.join(ROOT, "build", "cffi"), verbose=False)
    import shutil
    for old in glob.glob(os.path.join(ROOT, "asr", "_asr_native*.so")):
        os.remove(old)       # e.g. an abi3 build by pip: one library, no doubt which loads
    for so in glob.glob(os.path.join(ROOT, "build", "cffi", "asr", "_asr_native*.so")):
        shutil.copy(so, os.path.join(ROOT, "asr"))
