/*
 * asr_files.h - the recognizer's files read in C: the model (.asrm), the
 * binary LM (.asrlm), the binary lexicon (.asrlex) and WAV audio.
 *
 * Same conventions as asr.h: every function returns an asr_code and fills
 * the caller's asr_status; a damaged file is ASR_E_FORMAT and an unreadable
 * one ASR_E_IO, with a message naming the file and what is wrong. Nothing
 * is allocated from a size the file states before that size is checked
 * against the file. The checks are those of the Python readers
 * (asr/container.py, model.py, lm.py, lexicon.py), so a file one accepts
 * the other accepts (the C readers are stricter only where Python would
 * coerce: an integer field must be an integral JSON number, and strings
 * may not hold NUL).
 *
 * Files are memory-mapped read-only where the system has mmap (otherwise
 * read), checked whole (SHA-256), and unmapped before the loader returns:
 * asr_net_create packs the weights and asr_lm_create_arpa builds its hash
 * tables from the mapped arrays, so nothing keeps the mapping alive.
 *
 * This header is also part of the cffi cdef (asr/_build.py).
 */
#ifndef ASR_FILES_H
#define ASR_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "asr.h"
#include "asr_decoder.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- string lists */

/* An immutable list of UTF-8 strings (labels, LM vocabulary, lexicon
 * words) with a hash index for look-up by string. */
typedef struct asr_vocab asr_vocab;

/* A vocabulary of n strings (copied). */
int asr_vocab_create(const char *const *strings, size_t n, asr_vocab **out, asr_status *st);
void asr_vocab_free(asr_vocab *v);
size_t asr_vocab_size(const asr_vocab *v);
/* String i (NUL-terminated), or NULL when i is out of range. */
const char *asr_vocab_string(const asr_vocab *v, size_t i);
/* Index of a string; the last one when it occurs more than once (as a
 * Python dict built over the list keeps); -1 when absent. */
int32_t asr_vocab_find(const asr_vocab *v, const char *s);

/* ------------------------------------------------------------------- model */

/* The feature configuration stored in a model (asr/features.py
 * FeatureConfig); the front end computes exactly these features. */
typedef struct asr_feature_config {
    uint32_t sample_rate;       /* Hz                                        */
    double win_s;               /* window length, seconds                    */
    double hop_s;               /* frame shift, seconds                      */
    uint32_t win_len;           /* round(win_s * sample_rate), samples,
                                   ties to even as Python's round()          */
    uint32_t hop_len;           /* round(hop_s * sample_rate), samples       */
    uint32_t nfft;
    uint32_t num_filters;
    double low_hz;
    double high_hz;
    double preemph;
    double log_floor;
    char window[16];            /* "hamming" or "rect"                       */
    uint32_t cmn_frames;        /* running-mean time constant, frames; 0: off */
    uint32_t cmn_prior_frames;
    size_t n_cmn_prior;         /* values in cmn_prior (num_filters or 0)    */
    const double *cmn_prior;    /* owned by the model                        */
} asr_feature_config;

typedef struct asr_model asr_model;

/* Reads and validates a model file and builds its network for kernel
 * (ASR_KERNEL_AUTO: see asr_kernel_resolve), as asr/network.py does. */
int asr_model_load(const char *path, int kernel, asr_model **out, asr_status *st);
/* The same from n bytes in memory; name is used in messages. */
int asr_model_load_memory(const void *data, size_t n, const char *name, int kernel,
                          asr_model **out, asr_status *st);
void asr_model_free(asr_model *m);
/* The network (owned by the model: it lives until asr_model_free). */
const asr_net *asr_model_net(const asr_model *m);
/* The output labels in network order (owned by the model). */
const asr_vocab *asr_model_labels(const asr_model *m);
/* Index of the "<blk>" label (the first one), or -1. */
int32_t asr_model_blank(const asr_model *m);
/* The model's label log-priors (as many as its labels; NULL when the file
 * has none), for asr_decoder_set_label_prior. Owned by the model. */
const float *asr_model_label_log_prior(const asr_model *m);
/* Seconds per output frame: hop_s times the total subsampling. */
double asr_model_frame_shift(const asr_model *m);
const asr_feature_config *asr_model_features(const asr_model *m);

/* ---------------------------------------------------------- language model */

/* Reads a binary LM file (.asrlm; ARPA text is read by Python only): the
 * model in *lm (free with asr_lm_free) and its vocabulary in *vocab (free
 * with asr_vocab_free), LM word id i being string i. */
int asr_lm_load(const char *path, asr_lm **lm, asr_vocab **vocab, asr_status *st);
int asr_lm_load_memory(const void *data, size_t n, const char *name, asr_lm **lm,
                       asr_vocab **vocab, asr_status *st);

/* ----------------------------------------------------------------- lexicon */

/* Reads a binary lexicon (.asrlex) for a model's labels: the phone trie in
 * *lex (free with asr_lexicon_free) and its words in *words (word id i is
 * string i). A file written for other labels is mapped to these by phone
 * name (an unknown phone is an error), keeping only words that have a
 * pronunciation, in first-pronounced order: asr/lexicon.py load_lexicon. */
int asr_lexicon_load(const char *path, const asr_vocab *labels, asr_lexicon **lex,
                     asr_vocab **words, asr_status *st);
int asr_lexicon_load_memory(const void *data, size_t n, const char *name,
                            const asr_vocab *labels, asr_lexicon **lex, asr_vocab **words,
                            asr_status *st);

/* Only the words of keep (all their pronunciations; asr/lexicon.py
 * Lexicon.restricted): a word of keep the lexicon lacks is ASR_E_ARG naming
 * it. For phrase grammars. */
int asr_lexicon_load_words(const char *path, const asr_vocab *labels, const asr_vocab *keep,
                           asr_lexicon **lex, asr_vocab **words, asr_status *st);

/* ----------------------------------------------------------------- phrases */

/* A grammar LM that allows exactly the n phrases (asr/lm.py PhraseGrammar):
 * each phrase lower-cased and split on white space (ASCII: other letters
 * and spaces are kept as they are), a prefix trie of their words where
 * every continuation, and the end where a phrase ends, is equally likely.
 * *vocab gets the sorted distinct words, LM word id i being string i.
 * Empty phrases are skipped; none at all is ASR_E_ARG. */
int asr_grammar_from_phrases(const char *const *phrases, size_t n, asr_lm **lm, asr_vocab **vocab,
                             asr_status *st);

/* ----------------------------------------------------------------- decoder */

/* The default search options of asr/decoder.py DEFAULTS. */
void asr_decoder_opts_default(asr_decoder_opts *opts);
/* A decoder over loaded files: the blank is labels' "<blk>", and each
 * lexicon word is mapped to the LM id of the same string (-1 when the LM
 * lacks it), as asr/decoder.py does. lm and lm_vocab may both be NULL (no
 * LM); opts NULL means the defaults. Every object must outlive the
 * decoder. */
int asr_decoder_create_words(const asr_vocab *labels, const asr_lexicon *lex,
                             const asr_vocab *words, const asr_lm *lm, const asr_vocab *lm_vocab,
                             const asr_decoder_opts *opts, asr_decoder **out, asr_status *st);

/* --------------------------------------------------------------------- WAV */

/* WAV format codes (the fmt chunk's, or the sub-format of EXTENSIBLE). */
#define ASR_WAV_PCM 1
#define ASR_WAV_FLOAT 3
/* Largest channel count accepted. */
#define ASR_WAV_MAX_CHANNELS 1024

typedef struct asr_wav_info {
    uint32_t sample_rate;       /* Hz                                       */
    uint32_t channels;
    uint32_t bits;              /* 8, 16, 24, 32 (PCM) or 32 (float)        */
    int format;                 /* ASR_WAV_PCM or ASR_WAV_FLOAT             */
    size_t n_frames;            /* sample frames present (per channel)      */
    int truncated;              /* 1: the data chunk claims more bytes than
                                   the file holds; n_frames counts the whole
                                   frames that are there                    */
} asr_wav_info;

/* Parses a RIFF/WAVE file of n bytes: PCM of 8 (unsigned), 16, 24 or 32
 * bits, or 32-bit float, plain or WAVE_FORMAT_EXTENSIBLE, any channel
 * count; chunks other than fmt and data are skipped (odd sizes padded to
 * even). A data chunk running past the end of the file is read as far as
 * it goes (whole frames), as libsndfile does, and flagged in truncated.
 * Fills *info; when samples is not NULL also writes min(cap, n_frames)
 * mono samples: float in [-1, 1) for PCM, each channel scaled as
 * soundfile scales it (integers divided by 2^(bits-1), 8-bit unsigned
 * offset by 128: identical floats), the channels averaged as asr/audio.py
 * averages them (a float sum in channel order, then one division). */
int asr_wav_parse(const uint8_t *data, size_t n, asr_wav_info *info, float *samples,
                  size_t cap, asr_status *st);
/* Reads a WAV file whole: *samples (mono, as above; free with
 * asr_wav_free) of info->n_frames values. */
int asr_wav_read(const char *path, asr_wav_info *info, float **samples, asr_status *st);
void asr_wav_free(float *samples);

#ifdef __cplusplus
}
#endif

#endif /* ASR_FILES_H */
