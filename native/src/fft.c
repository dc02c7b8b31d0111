/*
 * fft.c - radix-2 real FFT in double for the float frontend's power
 * spectrum.
 *
 * n real points are packed as n/2 complex points z[j] = x[2j] + i x[2j+1],
 * transformed by an iterative decimation-in-time FFT, and split into the
 * n/2 + 1 bins of the real signal. Double precision so the power spectrum
 * agrees with numpy's (asr/reference.py) to about 1e-15 relative; the
 * operations run in a fixed order, so the same build gives the same bits
 * for the same frame whatever else is going on.
 */
#include <math.h>
#include <stdlib.h>

#include "common.h"
#include "frontend_int.h"

int fft_f64_plan_init(fft_f64_plan *p, uint32_t n)
{
    uint32_t m = n / 2, k, bits = 0;
    p->n = n;
    p->tw_re = (double *)malloc(m * sizeof(double));
    p->tw_im = (double *)malloc(m * sizeof(double));
    p->bitrev = (uint32_t *)malloc(m * sizeof(uint32_t));
    if (!p->tw_re || !p->tw_im || !p->bitrev) {
        fft_f64_plan_free(p);
        return -1;
    }
    while ((1u << bits) < m)
        bits++;
    for (k = 0; k < m; k++) {
        double a = -2.0 * ASR_PI * (double)k / (double)n;
        p->tw_re[k] = cos(a);
        p->tw_im[k] = sin(a);
        p->bitrev[k] = asr_bit_reverse(k, bits);
    }
    return 0;
}

void fft_f64_plan_free(fft_f64_plan *p)
{
    free(p->tw_re);
    free(p->tw_im);
    free(p->bitrev);
    p->tw_re = p->tw_im = NULL;
    p->bitrev = NULL;
}

void fft_power_f64(const fft_f64_plan *p, const double *x, double *work, double *power)
{
    uint32_t n = p->n, m = n / 2, len, i, j, k;
    double *re = work, *im = work + m;
    double scale = 1.0 / (double)n;     /* a power of two: exact */

    for (k = 0; k < m; k++) {
        uint32_t r = p->bitrev[k];
        re[r] = x[2 * k];
        im[r] = x[2 * k + 1];
    }
    /* Butterflies of the m-point complex FFT; exp(-2 pi i j / len) is
     * entry j * (n / len) of the n-point table. */
    for (len = 2; len <= m; len <<= 1) {
        uint32_t half = len / 2, step = n / len;
        for (i = 0; i < m; i += len) {
            for (j = 0; j < half; j++) {
                double wr = p->tw_re[j * step], wi = p->tw_im[j * step];
                uint32_t a = i + j, b = i + j + half;
                double vr = re[b] * wr - im[b] * wi;
                double vi = re[b] * wi + im[b] * wr;
                re[b] = re[a] - vr;
                im[b] = im[a] - vi;
                re[a] = re[a] + vr;
                im[a] = im[a] + vi;
            }
        }
    }
    /* Split: with Z = FFT(z), E = (Z[k] + conj Z[m-k]) / 2 is the
     * transform of the even samples and O = (Z[k] - conj Z[m-k]) / 2i of
     * the odd ones; X[k] = E + exp(-2 pi i k / n) O. */
    for (k = 0; k <= m; k++) {
        uint32_t a = k % m, b = (m - k) % m;
        double er = 0.5 * (re[a] + re[b]), ei = 0.5 * (im[a] - im[b]);
        double or_ = 0.5 * (im[a] + im[b]), oi = -0.5 * (re[a] - re[b]);
        double wr = k < m ? p->tw_re[k] : -1.0, wi = k < m ? p->tw_im[k] : 0.0;
        double xr = er + (or_ * wr - oi * wi);
        double xi = ei + (or_ * wi + oi * wr);
        power[k] = (xr * xr + xi * xi) * scale;
    }
}
