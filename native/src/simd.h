/*
 * simd.h - the caller-memory helpers of the SIMD kernel files
 * (kernels_x86.inc, kernels_avx512vnni.c, kernels_neon.c), defined once.
 *
 * Include after defining LANES (rows per vector block). Everything is
 * ALWAYS_INLINE so that each file's copy is compiled with that file's
 * target pragma and nothing crosses instruction sets.
 */
#ifndef ASR_SIMD_H
#define ASR_SIMD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The tile loops rely on these being inlined into their constant-trip
 * loops; a call would also cross the target pragma of the file. */
#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Four bytes of caller memory (any alignment) as one 32-bit word. */
ALWAYS_INLINE int32_t load4(const unsigned char *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The last n < 4 bytes of a row, zero-filled: never read past the row.
 * The zeros meet zero-padded weights, so they add nothing. */
ALWAYS_INLINE int32_t tail4(const unsigned char *p, size_t n)
{
    uint32_t v = 0;
    size_t j;
    for (j = 0; j < n; j++)
        v |= (uint32_t)p[j] << (8 * j);
    return (int32_t)v;
}

#ifdef LANES
/* Rows of block r of a tile that exist (the last block may be partial). */
ALWAYS_INLINE size_t rows_in_block(size_t rows_left, int r)
{
    size_t n = rows_left - (size_t)r * LANES;
    return n >= LANES ? LANES : n;
}
#endif

#endif /* ASR_SIMD_H */
