/*
 * files_check.c - the file readers of asr_files.h as a stand-alone program,
 * so they can be run on another instruction set (and a 32-bit size_t)
 * under qemu-user; built by native/Makefile (files-native, files-armv7,
 * files-aarch64).
 *
 * Usage
 *   files_check MODEL LM LEXICON [WAV...]
 *       Loads the three files, builds the decoder over them, runs the
 *       network on a fixed input, scores a fixed sentence and parses each
 *       WAV; prints one line per fact. Exit 0, or 1 with the library's
 *       message on stderr.
 */
#include <stdio.h>
#include <stdlib.h>

#include "asr.h"
#include "asr_decoder.h"
#include "asr_files.h"

static int fail(const asr_status *st)
{
    fprintf(stderr, "files_check: %s\n", st->message);
    return 1;
}

int main(int argc, char **argv)
{
    asr_status st = {0, ""};
    asr_model *m = NULL;
    asr_lm *lm = NULL;
    asr_vocab *lm_vocab = NULL, *words = NULL;
    asr_lexicon *lex = NULL;
    asr_decoder *dec = NULL;
    asr_stream *s = NULL;
    const asr_feature_config *fc;
    float *feats = NULL, *out = NULL;
    size_t n_out = 0, i, n_in = 100;
    uint32_t n_labels, sub;
    int kernel, a, rc = 1;
    double sum = 0, logp;
    int32_t sentence[3];
    if (argc < 4) {
        fprintf(stderr, "usage: files_check MODEL LM LEXICON [WAV...]\n");
        return 2;
    }
    if (asr_model_load(argv[1], ASR_KERNEL_AUTO, &m, &st) ||
        asr_lm_load(argv[2], &lm, &lm_vocab, &st) ||
        asr_lexicon_load(argv[3], asr_model_labels(m), &lex, &words, &st) ||
        asr_decoder_create_words(asr_model_labels(m), lex, words, lm, lm_vocab, NULL, &dec, &st) ||
        asr_net_info(asr_model_net(m), &n_labels, &sub, &kernel, &st))
        goto done;
    fc = asr_model_features(m);
    printf("model labels %zu blank %d frame_shift %.6f kernel %s\n",
           asr_vocab_size(asr_model_labels(m)), asr_model_blank(m), asr_model_frame_shift(m),
           asr_kernel_name(kernel));
    printf("features rate %u win %u hop %u filters %u window %s cmn %u\n", fc->sample_rate,
           fc->win_len, fc->hop_len, fc->num_filters, fc->window, fc->cmn_frames);
    printf("lm words %zu lexicon words %zu\n", asr_vocab_size(lm_vocab), asr_vocab_size(words));
    sentence[0] = asr_vocab_find(lm_vocab, "the");
    sentence[1] = asr_vocab_find(lm_vocab, "cat");
    sentence[2] = asr_vocab_find(lm_vocab, "sat");
    if (asr_lm_score(lm, sentence, 3, 1, 1, &logp, &st))
        goto done;
    printf("lm score 'the cat sat' %.6f\n", logp);
    feats = malloc(n_in * fc->num_filters * sizeof(float));
    if (!feats || asr_stream_create(asr_model_net(m), &s, &st) ||
        asr_stream_pending(s, n_in, 1, &n_out, &st))
        goto done;
    out = malloc((n_out * n_labels + 1) * sizeof(float));
    if (!out)
        goto done;
    for (i = 0; i < n_in * fc->num_filters; i++)
        feats[i] = -20.0f + (float)(i % 97) * 0.1f;
    if (asr_stream_forward(s, feats, n_in, 1, out, n_out, &n_out, &st))
        goto done;
    for (i = 0; i < n_out * n_labels; i++)
        sum += out[i];
    printf("network %zu frames, sum of log-probs %.3f\n", n_out, sum);
    for (a = 4; a < argc; a++) {
        asr_wav_info info;
        float *x;
        double e = 0;
        if (asr_wav_read(argv[a], &info, &x, &st))
            goto done;
        for (i = 0; i < info.n_frames; i++)
            e += (double)x[i] * x[i];
        printf("wav %s: %u Hz %u ch %u bits, %zu frames, energy %.6f\n", argv[a], info.sample_rate,
               info.channels, info.bits, info.n_frames, e);
        asr_wav_free(x);
    }
    rc = 0;
done:
    if (rc)
        fail(&st);
    free(feats);
    free(out);
    asr_stream_free(s);
    asr_decoder_free(dec);
    asr_lexicon_free(lex);
    asr_vocab_free(words);
    asr_lm_free(lm);
    asr_vocab_free(lm_vocab);
    asr_model_free(m);
    return rc;
}
