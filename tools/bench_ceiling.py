#!/usr/bin/env python3
"""How fast can the int8 AVX2 kernel's inner loop run on this CPU at all?

    python -m tools.bench_ceiling

Compiles (with the system C compiler) and times loops that keep everything
in registers, so memory plays no part:

- ``vpmaddubsw`` alone: the instruction peak that tools/bench_kernels.py
  divides by (32 multiply-accumulates per instruction);
- the fused-pair step of the narrow int8 route (native/src/kernels_x86.inc,
  pairs_4x2) on a 4 x 2 register tile: per 512 multiply-accumulates, 16
  ``vpmaddubsw``, 8 ``vpaddw``, 8 ``vpmaddwd`` and 8 ``vpaddd``.

Cycles come from a chain of dependent integer adds timed in the same run
(one add per cycle), as in tools/bench_kernels.py. The fused-pair figure is
the ceiling of that kernel's instruction mix on this core; the kernel on the
bundled model's hidden layers is compared with it by running both tools.
"""
import os
import shutil
import subprocess
import sys
import tempfile

SOURCE = r"""
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define N 20000000L
#define BEST(expr) do { int rep; best = 1e30; for (rep = 0; rep < 5; rep++) { double t0 = now(); expr; \
        double t = now() - t0; if (t < best) best = t; } } while (0)

int main(void)
{
    long x = 0, n;
    double best, cycle;
    __m256i w0 = _mm256_set1_epi32(0x01020304), w1 = _mm256_set1_epi32(0x05060708);
    __m256i ones = _mm256_set1_epi16(1);
    __m256i a0 = _mm256_set1_epi32(1), a1 = _mm256_set1_epi32(2), a2 = _mm256_set1_epi32(3);
    __m256i a3 = _mm256_set1_epi32(4), a4 = _mm256_set1_epi32(5), a5 = _mm256_set1_epi32(6);
    __m256i a6 = _mm256_set1_epi32(7), a7 = _mm256_set1_epi32(8), a8 = _mm256_set1_epi32(9);
    __m256i a9 = _mm256_set1_epi32(10), a10 = _mm256_set1_epi32(11), a11 = _mm256_set1_epi32(12);
    __m256i x00 = _mm256_set1_epi32(0x11121314), x01 = _mm256_set1_epi32(0x21222324);
    __m256i x10 = _mm256_set1_epi32(0x31323334), x11 = _mm256_set1_epi32(0x41424344);
    __m256i v0 = w0, v1 = w1, v2 = _mm256_set1_epi32(0x090a0b0c), v3 = _mm256_set1_epi32(0x0d0e0f10);
    __m256i s;

    BEST(for (n = 0; n < N; n++) __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0" : "+r"(x)));
    cycle = best / (4.0 * N);

    /* 12 independent chains of vpmaddubsw (latency 3): throughput-bound. */
#define M(a) a = _mm256_maddubs_epi16(a, w0)
    BEST(for (n = 0; n < N; n++) { M(a0); M(a1); M(a2); M(a3); M(a4); M(a5); M(a6); M(a7); M(a8); M(a9);
                                   M(a10); M(a11); __asm__ volatile("" : "+x"(a0), "+x"(a6)); });
    printf("clock %.2f GHz\n", 1e-9 / cycle);
    printf("vpmaddubsw alone:        %.1f MAC/cycle\n", 12.0 * 32 * N / (best / cycle));

    /* The fused-pair step of a 4 x 2 tile: rows use v0..v3 (weights of
     * group 1) and w0/w1 mixed in (group 2); inputs x00..x11. */
#define PAIR(A0, A1, WA, WB)                                                                          \
    A0 = _mm256_add_epi32(A0, _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(x00, WA),           \
                                                                 _mm256_maddubs_epi16(x01, WB)), ones)); \
    A1 = _mm256_add_epi32(A1, _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(x10, WA),           \
                                                                 _mm256_maddubs_epi16(x11, WB)), ones))
    BEST(for (n = 0; n < N; n++) { __asm__ volatile("" : "+x"(x00), "+x"(x01), "+x"(x10), "+x"(x11));
                                   PAIR(a0, a1, v0, v1); PAIR(a2, a3, v1, v2); PAIR(a4, a5, v2, v3);
                                   PAIR(a6, a7, v3, v0); });
    printf("fused-pair 4x2 step:     %.1f MAC/cycle\n", 512.0 * N / (best / cycle));
    s = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3)),
                         _mm256_add_epi32(_mm256_add_epi32(a4, a5), _mm256_add_epi32(a6, a7)));
    s = _mm256_add_epi32(s, _mm256_add_epi32(_mm256_add_epi32(a8, a9), _mm256_add_epi32(a10, a11)));
    fprintf(stderr, "(checksum %d %ld)\n", _mm256_extract_epi32(s, 0), x);
    return 0;
}
"""


def main():
    import platform
    if platform.machine().lower() not in ("x86_64", "amd64", "i686", "i386"):
        sys.exit("bench_ceiling.py: x86 only (AVX2)")
    if "avx2" not in open("/proc/cpuinfo").read():
        sys.exit("bench_ceiling.py: this CPU has no AVX2")
    cc = os.environ.get("CC", "cc")
    tmp = tempfile.mkdtemp(prefix="asr-ceiling-")
    try:
        src, exe = os.path.join(tmp, "ceiling.c"), os.path.join(tmp, "ceiling")
        with open(src, "w") as f:
            f.write(SOURCE)
        subprocess.run([cc, "-O2", "-mavx2", "-o", exe, src], check=True)
        out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    finally:
        shutil.rmtree(tmp)
    lines = out.strip().splitlines()
    print("\n".join(lines))
    peak = float(lines[1].split(":")[1].split()[0])
    pair = float(lines[2].split(":")[1].split()[0])
    print("the fused-pair step reaches %.0f %% of the vpmaddubsw peak of %.0f MAC/cycle (64 nominal)"
          % (100.0 * pair / 64.0, peak))


if __name__ == "__main__":
    main()
