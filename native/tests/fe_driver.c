/*
 * fe_driver.c - the feature frontend of asr_frontend.h as a stand-alone
 * program, so its frames can be computed on another instruction set under
 * qemu-user and compared with this machine's bit for bit
 * (tests/native/test_frontend_cross.py; built by native/Makefile).
 *
 * Usage
 *   fe_driver RATE CHUNK CMN IN OUT
 *       Reads IN, raw little-endian int16 mono PCM at RATE Hz, feeds it to
 *       an asr_fstream in calls of CHUNK samples (0: one call), finishes,
 *       and writes every frame to OUT as raw little-endian float32,
 *       frames x 40, nothing else. The frontend is the bundled model's
 *       (asr.features.FeatureConfig's defaults: 16 kHz, 25 ms Hamming
 *       window every 10 ms, 512-point FFT, 40 filters 20..7600 Hz,
 *       pre-emphasis 0.97, floor 1e-10); CMN > 0 adds the channel
 *       normalization with cmn_frames = CMN, 100 prior frames and the
 *       prior -10 + 0.25 j for filter j.
 *   fe_driver RATE CHUNK CMN IN OUT MODE
 *       The same with MODE float (the above), or the integer frontend:
 *       q16 writes its int32 log energies (Q16 nats), s8 and s16 its
 *       quantized frames (int8, int16) for a network with mean
 *       -8 + 0.2 j, inv_std 0.25 + 0.005 j, in_scale 0.03 (s8) or 0.0002
 *       (s16) and in_zero 3 (s8) or -17 (s16); raw little-endian values.
 *   Exit status 0; 1 with a message on stderr for a bad file or a library
 *   error; 2 for a usage error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asr_frontend.h"

#define MAX_PCM_BYTES ((long)1 << 30)

static int fail(const char *what, const asr_status *st)
{
    fprintf(stderr, "fe_driver: %s: %s\n", what, st ? st->message : "");
    return 1;
}

/* The frames of one call (values of esize bytes), appended to f. */
static int write_frames(FILE *f, const void *y, size_t n, size_t esize)
{
    return fwrite(y, esize * 40, n, f) == n ? 0 : -1;
}

int main(int argc, char **argv)
{
    asr_frontend_desc d;
    asr_frontend *fe = NULL;
    asr_fstream *s = NULL;
    asr_status st;
    double prior[40];
    float mean[40], inv_std[40];
    int16_t *pcm = NULL;
    void *y = NULL;
    size_t esize = 4;
    const char *mode = "float";
    size_t n_pcm, chunk, i, need, got;
    long rate, cmn, bytes;
    FILE *in, *out;
    int j, rc = 1;

    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: fe_driver RATE CHUNK CMN IN.s16 OUT [float|q16|s8|s16]\n");
        return 2;
    }
    if (argc == 7)
        mode = argv[6];
    if (strcmp(mode, "float") && strcmp(mode, "q16") && strcmp(mode, "s8") && strcmp(mode, "s16")) {
        fprintf(stderr, "fe_driver: MODE must be float, q16, s8 or s16\n");
        return 2;
    }
    rate = strtol(argv[1], NULL, 10);
    chunk = (size_t)strtoul(argv[2], NULL, 10);
    cmn = strtol(argv[3], NULL, 10);
    if (rate <= 0 || cmn < 0) {
        fprintf(stderr, "fe_driver: bad RATE or CMN\n");
        return 2;
    }
    in = fopen(argv[4], "rb");
    if (!in) {
        perror(argv[4]);
        return 1;
    }
    if (fseek(in, 0, SEEK_END) != 0 || (bytes = ftell(in)) < 0 || bytes > MAX_PCM_BYTES
        || fseek(in, 0, SEEK_SET) != 0) {
        fprintf(stderr, "fe_driver: %s: cannot size the file (or above 1 GiB)\n", argv[4]);
        fclose(in);
        return 1;
    }
    n_pcm = (size_t)bytes / 2;
    pcm = (int16_t *)malloc(n_pcm ? n_pcm * 2 : 1);
    if (!pcm || fread(pcm, 2, n_pcm, in) != n_pcm) {
        fprintf(stderr, "fe_driver: %s: read failed\n", argv[4]);
        fclose(in);
        free(pcm);
        return 1;
    }
    fclose(in);
    /* the files are little-endian; so are x86-64, armv7 and aarch64 Linux */
    if (chunk == 0 || chunk > n_pcm)
        chunk = n_pcm ? n_pcm : 1;

    memset(&d, 0, sizeof(d));
    d.mode = ASR_FE_FLOAT;
    d.sample_rate = 16000;
    d.win_len = 400;
    d.hop_len = 160;
    d.nfft = 512;
    d.num_filters = 40;
    d.low_hz = 20.0;
    d.high_hz = 7600.0;
    d.preemph = 0.97;
    d.log_floor = 1e-10;
    d.window = ASR_FE_WINDOW_HAMMING;
    for (j = 0; j < 40; j++)
        prior[j] = -10.0 + 0.25 * j;
    if (cmn > 0) {
        d.cmn_frames = (uint32_t)cmn;
        d.cmn_prior_frames = 100;
        d.cmn_prior = prior;
    }
    if (strcmp(mode, "float")) {
        int s8 = !strcmp(mode, "s8");
        d.mode = ASR_FE_INT;
        for (j = 0; j < 40; j++) {
            mean[j] = (float)(-8.0 + 0.2 * j);
            inv_std[j] = (float)(0.25 + 0.005 * j);
        }
        d.mean = mean;
        d.inv_std = inv_std;
        d.out_dtype = !strcmp(mode, "q16") ? ASR_FE_OUT_Q16 : s8 ? ASR_S8 : ASR_S16;
        d.in_scale = s8 ? 0.03 : 0.0002;
        d.in_zero = s8 ? 3 : -17;
        esize = !strcmp(mode, "q16") ? 4 : s8 ? 1 : 2;
    }
    out = fopen(argv[5], "wb");
    if (!out) {
        perror(argv[5]);
        free(pcm);
        return 1;
    }
    if (asr_frontend_create(&d, &fe, &st) != ASR_OK) {
        rc = fail("asr_frontend_create", &st);
        goto done;
    }
    if (asr_fstream_create(fe, (uint32_t)rate, &s, &st) != ASR_OK) {
        rc = fail("asr_fstream_create", &st);
        goto done;
    }
    for (i = 0; i <= n_pcm; i += chunk) {
        int last = i + chunk > n_pcm;
        size_t n = last ? n_pcm - i : chunk;
        if (asr_fstream_pending(s, n, last, &need, &st) != ASR_OK) {
            rc = fail("asr_fstream_pending", &st);
            goto done;
        }
        free(y);
        y = malloc((need ? need : 1) * 40 * esize);
        if (!y) {
            fprintf(stderr, "fe_driver: out of memory\n");
            goto done;
        }
        if ((d.mode == ASR_FE_INT ? asr_fstream_accept_s16_q(s, pcm + i, n, y, need, &got, &st)
             : asr_fstream_accept_s16(s, pcm + i, n, (float *)y, need, &got, &st)) != ASR_OK) {
            rc = fail("asr_fstream_accept_s16", &st);
            goto done;
        }
        if (write_frames(out, y, got, esize) != 0)
            goto io;
        if (last) {
            size_t more = need - got;
            if ((d.mode == ASR_FE_INT ? asr_fstream_finish_q(s, y, more, &got, &st)
                 : asr_fstream_finish(s, (float *)y, more, &got, &st)) != ASR_OK) {
                rc = fail("asr_fstream_finish", &st);
                goto done;
            }
            if (write_frames(out, y, got, esize) != 0)
                goto io;
            break;
        }
    }
    rc = 0;
    goto done;
io:
    fprintf(stderr, "fe_driver: %s: write failed\n", argv[5]);
done:
    if (fclose(out) != 0 && rc == 0) {
        fprintf(stderr, "fe_driver: %s: write failed\n", argv[5]);
        rc = 1;
    }
    asr_fstream_free(s);
    asr_frontend_free(fe);
    free(pcm);
    free(y);
    return rc;
}
