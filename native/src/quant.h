/* quant.h - internal: the scalar integer epilogue shared by every kernel. */
#ifndef ASR_QUANT_H
#define ASR_QUANT_H

#include <stddef.h>
#include <stdint.h>
#include <limits.h>

/* round(v * m / 2^total) with halves rounded up, saturated to int32;
 * m in [0, 2^31), total in [0, 63]. */
int32_t asr_requant_one(int64_t v, int32_t m, int total);
/* The same value, faster for the common case: when |v| < 2^31 the product
 * v * m (< 2^62) plus the rounding term (<= 2^62) fits int64, so one
 * multiply and one shift give exactly what the 32-bit-halves method gives;
 * other values take that method. Signed >> is implementation-defined in
 * C99, hence the explicit floor for negative products. */
static inline int32_t asr_requant_fast(int64_t v, int32_t m, int total)
{
    if (v > -2147483648LL && v < 2147483648LL && total >= 1 && total <= 62) {
        int64_t p = v * (int64_t)m + ((int64_t)1 << (total - 1));
        int64_t q = p >= 0 ? p >> total : -(int64_t)(((uint64_t)(-(p + 1))) >> total) - 1;
        return q > INT32_MAX ? INT32_MAX : q < INT32_MIN ? INT32_MIN : (int32_t)q;
    }
    return asr_requant_one(v, m, total);
}

/* Q10 log-softmax of one row of n >= 1 logits (see asr_logsoftmax_q10). */
void asr_logsoftmax_q10_row(const int32_t *x, size_t n, int16_t *out);

#endif
