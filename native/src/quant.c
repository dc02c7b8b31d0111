/*
 * quant.c - the integer epilogue of every layer: requantization of the
 * accumulators, and the fixed-point log-softmax of the output layer.
 *
 * No floating point here: this is the arithmetic an FPU-less target runs.
 */
#include <limits.h>
#include <string.h>

#include "asr_testing.h"
#include "kernels.h"
#include "fixedpoint_tables.h"
#include "quant.h"

/* floor(h / 2^s) for s in [0, 63], without relying on how >> treats
 * negative numbers (implementation-defined in C99). */
static int64_t floor_shift(int64_t h, int s)
{
    if (s == 0)
        return h;
    if (h >= 0)
        return h >> s;
    return -(int64_t)((((uint64_t)(-(h + 1))) >> s)) - 1;
}

/*
 * round(v * m / 2^total), rounding halves up (towards +infinity), exact.
 *
 * v * m needs up to 63 + 31 bits, more than int64 holds, and 32-bit targets
 * have no __int128, so the product is formed from 32-bit halves:
 * v = vh * 2^32 + vl (0 <= vl < 2^32), v*m = vh*m * 2^32 + vl*m. |v| is
 * first clamped to 2^62, far beyond any accumulator the format allows
 * (ASR_MAX_K * 32767^2 < 2^46 plus a bias of the same order), so vh*m and
 * vl*m + 2^(total-1) cannot overflow.
 */
int32_t asr_requant_one(int64_t v, int32_t m, int total)
{
    const int64_t lim = (int64_t)1 << 62;
    int64_t vh, hi, q;
    uint64_t vl, pl;

    if (v > lim)
        v = lim;
    if (v < -lim)
        v = -lim;
    vl = (uint64_t)v & 0xffffffffu;
    vh = (v - (int64_t)vl) / 4294967296LL;          /* exact division */
    pl = vl * (uint64_t)(uint32_t)m;                 /* < 2^63 */
    if (total > 0)
        pl += (uint64_t)1 << (total - 1);            /* < 2^64: no wrap */
    hi = vh * (int64_t)m + (int64_t)(pl >> 32);      /* v*m+r = hi*2^32 + (pl & mask) */
    if (total >= 32) {
        /* The low 32 bits are < one unit of 2^32 and cannot move the floor. */
        q = floor_shift(hi, total - 32);
    } else {
        int up = 32 - total;
        if (hi > (INT64_MAX >> up))
            return INT32_MAX;
        if (hi < -(INT64_MAX >> up))
            return INT32_MIN;
        q = hi * ((int64_t)1 << up) + (int64_t)((pl & 0xffffffffu) >> total);
    }
    if (q > INT32_MAX)
        return INT32_MAX;
    if (q < INT32_MIN)
        return INT32_MIN;
    return (int32_t)q;
}

int asr_requant_s64(const int64_t *acc, size_t n, const int64_t *bias,
                    const int32_t *mult, const int32_t *shift, int32_t zero_point,
                    int32_t lo, int32_t hi, int32_t *out, asr_status *st)
{
    size_t i;

    if (!acc || !bias || !mult || !shift || !out)
        return asr_fail(st, ASR_E_ARG, "asr_requant_s64: null pointer");
    if (n == 0 || n > ASR_MAX_DIM)
        return asr_fail(st, ASR_E_ARG, "asr_requant_s64: n=%zu outside 1..%d", n, ASR_MAX_DIM);
    if (lo > hi)
        return asr_fail(st, ASR_E_ARG, "asr_requant_s64: lo %d > hi %d", (int)lo, (int)hi);
    for (i = 0; i < n; i++) {
        if (mult[i] < 0 || shift[i] < -31 || shift[i] > 32)
            return asr_fail(st, ASR_E_ARG,
                            "asr_requant_s64: output %zu has multiplier %d / shift %d out of range",
                            i, (int)mult[i], (int)shift[i]);
    }
    for (i = 0; i < n; i++) {
        int64_t q = (int64_t)asr_requant_one(acc[i] + bias[i], mult[i], 31 + shift[i]) + zero_point;
        out[i] = (int32_t)(q < lo ? lo : q > hi ? hi : q);
    }
    return ASR_OK;
}

/* 2^(y / 2^16) * 2^30 for y <= 0 in Q16 (log2 units): the table gives the
 * fraction in 1/256 steps, linear interpolation the remaining 8 bits. */
static int64_t exp2_neg_q16(int64_t y)
{
    int64_t n = floor_shift(y, 16);                  /* integer part, <= 0 */
    int64_t f = y - n * 65536;                       /* fraction in [0, 65536) */
    int64_t i = f >> 8, r = f & 255;
    int64_t v = exp2_q30[i] + (((exp2_q30[i + 1] - exp2_q30[i]) * r + 128) >> 8);
    if (n <= -62)
        return 0;
    return v >> (-n);
}

/* log2(s / 2^30) in Q16 for s >= 2^30 (s is a sum that includes 2^30). */
static int64_t log2_q16_of_q30(uint64_t s)
{
    int b = 63;
    uint64_t mant;
    int64_t i, r;

    while (!(s >> b))
        b--;
    mant = b >= 16 ? s >> (b - 16) : s << (16 - b);  /* in [2^16, 2^17) */
    mant -= 65536;                                   /* fraction in Q16 */
    i = (int64_t)(mant >> 8);
    r = (int64_t)(mant & 255);
    return (int64_t)(b - 30) * 65536 + log2_q16[i] + (((log2_q16[i + 1] - log2_q16[i]) * r + 128) >> 8);
}

/*
 * Log-softmax in Q10 nats. With d_i = x_i - max <= 0:
 *   exp(d_i) = 2^(d_i * log2(e)),  log(sum) = ln(2) * log2(sum).
 * d is clamped at -2^20 (-1024 nats) so d * log2(e) in Q16 fits easily;
 * terms below 2^-62 of the maximum vanish, which is below Q10 resolution.
 * The sum of n <= ASR_MAX_DIM terms each <= 2^30 fits in 64 bits.
 */
void asr_logsoftmax_q10_row(const int32_t *x, size_t n, int16_t *out)
{
    const int64_t LOG2E_Q16 = 94548;   /* log2(e) * 2^16 */
    const int64_t LN2_Q16 = 45426;     /* ln(2) * 2^16 */
    int32_t mx = x[0];
    uint64_t sum = 0;
    int64_t lse;
    size_t i;

    for (i = 1; i < n; i++)
        if (x[i] > mx)
            mx = x[i];
    for (i = 0; i < n; i++) {
        int64_t d = (int64_t)x[i] - mx;
        if (d < -(1 << 20))
            d = -(1 << 20);
        sum += (uint64_t)exp2_neg_q16(floor_shift(d * LOG2E_Q16, 10));
    }
    /* Q16 * Q16 = Q32; to Q10 with rounding. */
    lse = floor_shift(log2_q16_of_q30(sum) * LN2_Q16 + ((int64_t)1 << 21), 22);
    for (i = 0; i < n; i++) {
        int64_t v = (int64_t)x[i] - mx - lse;
        out[i] = (int16_t)(v < -32767 ? -32767 : v > 0 ? 0 : v);
    }
}

int asr_logsoftmax_q10(const int32_t *logits, size_t n, int16_t *out, asr_status *st)
{
    if (!logits || !out)
        return asr_fail(st, ASR_E_ARG, "asr_logsoftmax_q10: null pointer");
    if (n == 0 || n > ASR_MAX_DIM)
        return asr_fail(st, ASR_E_ARG, "asr_logsoftmax_q10: n=%zu outside 1..%d", n, ASR_MAX_DIM);
    asr_logsoftmax_q10_row(logits, n, out);
    return ASR_OK;
}
