/*
 * fft_fixed.c - the integer frontend's real FFT: the float one's packing
 * (n reals as n/2 complex points), radix-2 butterflies and split, in int32
 * data with Q30 twiddles and 64-bit products rounded half up.
 *
 * No scaling between stages: the caller normalizes each frame (block
 * floating point, frontend_fixed.c) so that |x| <= 2^(30 - log2 n), and
 * then every value the transform forms is bounded by the input's sum of
 * magnitudes (QUANTIZATION.md section 8):
 *   |Z| <= (n/2) sqrt(2) 2^(30 - log2 n) = 2^29.5 for every butterfly
 *   output, |X| <= n 2^(30 - log2 n) = 2^30 after the split,
 * so int32 holds the data, a twiddle product (< 2^60.5) and the sum of
 * two fit int64, and 4|X|^2 <= 2^62 fits uint64. Rounding adds at most one
 * unit per stage, far inside the slack of these bounds.
 */
#include <math.h>
#include <stdlib.h>

#include "common.h"
#include "frontend_int.h"

int fft_q30_plan_init(fft_q30_plan *p, uint32_t n)
{
    uint32_t m = n / 2, k, bits = 0;
    p->n = n;
    p->tw_re = (int32_t *)malloc(m * sizeof(int32_t));
    p->tw_im = (int32_t *)malloc(m * sizeof(int32_t));
    p->bitrev = (uint32_t *)malloc(m * sizeof(uint32_t));
    if (!p->tw_re || !p->tw_im || !p->bitrev) {
        fft_q30_plan_free(p);
        return -1;
    }
    while ((1u << bits) < m)
        bits++;
    p->log2n = bits + 1;
    for (k = 0; k < m; k++) {
        double a = -2.0 * ASR_PI * (double)k / (double)n;
        /* |cos|, |sin| <= 1, so the Q30 values lie in [-2^30, 2^30] */
        p->tw_re[k] = (int32_t)floor(cos(a) * 1073741824.0 + 0.5);
        p->tw_im[k] = (int32_t)floor(sin(a) * 1073741824.0 + 0.5);
        p->bitrev[k] = asr_bit_reverse(k, bits);
    }
    return 0;
}

void fft_q30_plan_free(fft_q30_plan *p)
{
    free(p->tw_re);
    free(p->tw_im);
    free(p->bitrev);
    p->tw_re = p->tw_im = NULL;
    p->bitrev = NULL;
}

void fft_power_q30(const fft_q30_plan *p, const int32_t *x, int32_t *work, uint64_t *p4)
{
    uint32_t n = p->n, m = n / 2, len, i, j, k;
    int32_t *re = work, *im = work + m;

    for (k = 0; k < m; k++) {
        uint32_t r = p->bitrev[k];
        re[r] = x[2 * k];
        im[r] = x[2 * k + 1];
    }
    for (len = 2; len <= m; len <<= 1) {
        uint32_t half = len / 2, step = n / len;
        for (i = 0; i < m; i += len) {
            for (j = 0; j < half; j++) {
                /* int32 x int32 -> int64 products: one smull on 32-bit ARM */
                int32_t wr = p->tw_re[j * step], wi = p->tw_im[j * step];
                uint32_t a = i + j, b = i + j + half;
                int32_t vr = (int32_t)FX_RND64((int64_t)re[b] * wr - (int64_t)im[b] * wi, 30);
                int32_t vi = (int32_t)FX_RND64((int64_t)re[b] * wi + (int64_t)im[b] * wr, 30);
                re[b] = re[a] - vr;
                im[b] = im[a] - vi;
                re[a] = re[a] + vr;
                im[a] = im[a] + vi;
            }
        }
    }
    /* The split of fft.c without its halvings: 2E and 2O from Z, then
     * 2X = 2E + w 2O, so p4 = |2X|^2 = 4 |X|^2 loses no bit to a halving.
     * 2E and 2O are sums of two values of modulus <= 2^29.5: below 2^30.5,
     * int32; |2X| <= 2^31 needs 64 bits, its magnitude fits uint32. */
    for (k = 0; k <= m; k++) {
        uint32_t a = k % m, b = (m - k) % m;
        int32_t er = re[a] + re[b], ei = im[a] - im[b];
        int32_t or_ = im[a] + im[b], oi = re[b] - re[a];
        int32_t wr = k < m ? p->tw_re[k] : -(1 << 30), wi = k < m ? p->tw_im[k] : 0;
        int64_t xr = er + FX_RND64((int64_t)or_ * wr - (int64_t)oi * wi, 30);
        int64_t xi = ei + FX_RND64((int64_t)or_ * wi + (int64_t)oi * wr, 30);
        uint32_t ur = (uint32_t)(xr < 0 ? -xr : xr), ui = (uint32_t)(xi < 0 ? -xi : xi);
        p4[k] = (uint64_t)ur * ur + (uint64_t)ui * ui;
    }
}
