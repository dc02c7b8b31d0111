#!/usr/bin/env bash
# Builds the C library with AddressSanitizer + UBSan in a scratch copy of
# the checkout and runs the tests that drive the C code against it:
#     bash tools/sanitize_tests.sh [pytest args...]
# Any invalid read/write or undefined behaviour aborts the run. Leak checks
# are off: CPython itself keeps allocations alive at exit.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d /tmp/asr-sanitize.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
cd "$src"
{ git ls-files 2>/dev/null || find asr native tests tools setup.py -type f; } |
    tar -cf - -T - | tar -xf - -C "$scratch"
cd "$scratch"
ASR_SANITIZE=1 python3 asr/_build.py
export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
tests=(tests/native tests/test_model.py tests/test_network.py)
for t in tests/test_frontend.py tests/test_frontend_int.py tests/test_features.py tests/test_files_c.py tests/test_native.py tests/test_recognizer_c.py tests/test_decoder.py tests/test_hotwords.py tests/test_lm.py tests/test_lexicon.py tests/test_robustness.py tests/test_fuzz_regressions.py; do
    [ -e "$t" ] && tests+=("$t")
done
python3 -m pytest -q -p no:cacheprovider --ignore=tests/native/test_kernels_cross.py --ignore=tests/native/test_frontend_cross.py "${tests[@]}" "$@"
