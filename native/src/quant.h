/* quant.h - internal: the scalar integer epilogue shared by every kernel path. */
#ifndef ASR_QUANT_H
#define ASR_QUANT_H

#include <stddef.h>
#include <stdint.h>

/* round(v * m / 2^total) with halves rounded up, saturated to int32;
 * m in [0, 2^31), total in [0, 63]. */
int32_t asr_requant_one(int64_t v, int32_t m, int total);
/* Q10 log-softmax of one row of n >= 1 logits (see asr_logsoftmax_q10). */
void asr_logsoftmax_q10_row(const int32_t *x, size_t n, int16_t *out);

#endif
