/*
 * kernels_sse41.c - matrix products with SSE4.1 (pmaddubsw, pmaddwd,
 * pmulhw on 128-bit vectors): every x86-64 CPU of the last 15 years.
 *
 * There is no FMA at this level, so the float kernel multiplies and adds
 * with two roundings, like the reference.
 */
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("sse4.1")

#include <smmintrin.h>

#define LANES 4
#define SUFFIX(name) name##_sse41
typedef __m128i vint;
typedef __m128 vflt;
#define V_LOAD(p) _mm_load_si128((const __m128i *)(const void *)(p))
#define V_SET1_32(i) _mm_set1_epi32(i)
#define V_SET1_16(i) _mm_set1_epi16(i)
#define V_ZERO() _mm_setzero_si128()
#define V_ADD32(a, b) _mm_add_epi32(a, b)
#define V_ADD16(a, b) _mm_add_epi16(a, b)
#define V_ABS8(a) _mm_abs_epi8(a)
#define V_SIGN8(a, b) _mm_sign_epi8(a, b)
#define V_MADDUBS(u, s) _mm_maddubs_epi16(u, s)
#define V_MADD16(a, b) _mm_madd_epi16(a, b)
#define V_MULHI16(a, b) _mm_mulhi_epi16(a, b)
#define V_STORE32(p, v) _mm_storeu_si128((__m128i *)(void *)(p), v)
#define F_LOAD(p) _mm_load_ps(p)
#define F_SET1(f) _mm_set1_ps(f)
#define F_ZERO() _mm_setzero_ps()
#define F_MACC(w, x, acc) _mm_add_ps(acc, _mm_mul_ps(w, x))
#define F_STORE(p, v) _mm_storeu_ps(p, v)

#include "kernels_x86.inc"

/* Blocks of LANES rows; groups of 4 k (int8: pmaddubsw), 2 k (int16:
 * pmaddwd), 1 k (float: broadcast multiply-add); int8 has the narrow route
 * for 7-bit weights (kernels_x86.inc). */
const asr_kernels asr_kernels_sse41 = {
    .kernel = ASR_KERNEL_SSE41, .name = "sse41", .built = 1,
    .layout = {{LANES, 1, 1, 0, 0}, {LANES, 2, 2, 0, 0}, {LANES, 4, 4, 0, 1}},
    .gemm_s8 = gemm_s8s8s32_sse41, .gemm_s16 = gemm_s16s16s64_sse41, .gemm_f32 = gemm_f32_sse41
};

#else /* not x86: the table says the kernel is not built */

#include "kernels.h"

const asr_kernels asr_kernels_sse41 = {.kernel = ASR_KERNEL_SSE41, .name = "sse41", .built = 0};

#endif /* x86 */
