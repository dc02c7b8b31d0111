/*
 * common.h - internal helpers every native file may use: error reporting,
 * element sizes, overflow-checked spans, growth of arrays and hashing.
 * Each is defined once here (or in common.c) instead of per file.
 */
#ifndef ASR_COMMON_H
#define ASR_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "asr.h"

/* Fills st (when non-NULL) and returns code; shared by every .c file. */
int asr_fail(asr_status *st, int code, const char *fmt, ...);

/* Whether d is one of ASR_F32, ASR_S16, ASR_S8. */
static inline int asr_valid_dtype(int d)
{
    return d == ASR_F32 || d == ASR_S16 || d == ASR_S8;
}

/* Bytes of one weight/activation element of an asr_dtype. */
static inline size_t asr_dtype_size(int dtype)
{
    return dtype == ASR_F32 ? 4 : dtype == ASR_S16 ? 2 : 1;
}

/* ((n - 1) * stride + len) * elem bytes, or 0 when that overflows size_t or
 * the address space after p (p may be NULL: size only). */
size_t asr_span_bytes(const void *p, size_t n, size_t stride, size_t len, size_t elem);

/* Grows *p (realloc) to at least need elements of elem bytes, doubling from
 * 64 so appends cost amortized O(1). 0 on success, -1 when out of memory
 * (then *p and *cap are unchanged). */
int asr_grow(void **p, size_t *cap, size_t need, size_t elem);

/* k with its low `bits` bits in reverse order (the FFTs' input permutation). */
static inline uint32_t asr_bit_reverse(uint32_t k, uint32_t bits)
{
    uint32_t r = 0, b;
    for (b = 0; b < bits; b++)
        r |= ((k >> b) & 1u) << (bits - 1 - b);
    return r;
}

/* The 64-bit finalizer of MurmurHash3: spreads every input bit over every
 * output bit, so masking the result gives well-spread hash slots. */
static inline uint64_t asr_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

#endif /* ASR_COMMON_H */
