/*
 * kernels_avx2.c - matrix products with AVX2 + FMA (vpmaddubsw, vpmaddwd,
 * vpmulhw, vfmadd on 256-bit vectors): Haswell and later, Zen.
 */
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx2,fma")

#include <immintrin.h>

#define LANES 8
#define SUFFIX(name) name##_avx2
typedef __m256i vint;
typedef __m256 vflt;
#define V_LOAD(p) _mm256_load_si256((const __m256i *)(const void *)(p))
#define V_SET1_32(i) _mm256_set1_epi32(i)
#define V_SET1_16(i) _mm256_set1_epi16(i)
#define V_ZERO() _mm256_setzero_si256()
#define V_ADD32(a, b) _mm256_add_epi32(a, b)
#define V_ADD16(a, b) _mm256_add_epi16(a, b)
#define V_ABS8(a) _mm256_abs_epi8(a)
#define V_SIGN8(a, b) _mm256_sign_epi8(a, b)
#define V_MADDUBS(u, s) _mm256_maddubs_epi16(u, s)
#define V_MADD16(a, b) _mm256_madd_epi16(a, b)
#define V_MULHI16(a, b) _mm256_mulhi_epi16(a, b)
#define V_STORE32(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), v)
#define F_LOAD(p) _mm256_load_ps(p)
#define F_SET1(f) _mm256_set1_ps(f)
#define F_ZERO() _mm256_setzero_ps()
#define F_MACC(w, x, acc) _mm256_fmadd_ps(w, x, acc)
#define F_STORE(p, v) _mm256_storeu_ps(p, v)

#include "kernels_x86.inc"

/* Blocks of LANES rows; groups of 4 k (int8: pmaddubsw), 2 k (int16:
 * pmaddwd), 1 k (float: broadcast multiply-add); int8 has the narrow route
 * for 7-bit weights (kernels_x86.inc). */
const asr_kernels asr_kernels_avx2 = {
    .kernel = ASR_KERNEL_AVX2, .name = "avx2", .built = 1,
    .layout = {{LANES, 1, 1, 0, 0}, {LANES, 2, 2, 0, 0}, {LANES, 4, 4, 0, 1}},
    .gemm_s8 = gemm_s8s8s32_avx2, .gemm_s16 = gemm_s16s16s64_avx2, .gemm_f32 = gemm_f32_avx2
};

#else /* not x86: the table says the kernel is not built */

#include "kernels.h"

const asr_kernels asr_kernels_avx2 = {.kernel = ASR_KERNEL_AVX2, .name = "avx2", .built = 0};

#endif /* x86 */
