/*
 * asr_frontend.h - the feature frontend of the C API: audio samples in,
 * log-mel frames out, incrementally.
 *
 * Same conventions as asr.h: every function returns an asr_code and fills
 * the caller's asr_status on failure; every size and pointer is checked.
 *
 * The computation is the one asr/reference.py specifies (python_speech_features'
 * framing, power spectrum and mel filterbank, with stateful pre-emphasis and
 * the causal channel normalization), preceded by the resampler of
 * asr/audio.py (Resampler) when the input rate is not the model's:
 *
 *   samples -> resample to sample_rate -> pre-emphasis -> frames of win_len
 *   every hop_len -> window -> |FFT(nfft)|^2 / nfft -> mel filterbank ->
 *   log(max(energy, log_floor)) -> channel normalization (cmn_frames > 0)
 *
 * Streaming: a stream fed in any chunking (empty chunks and one-sample
 * chunks included) writes bit-identical frames, because every sample and
 * every frame is computed by the same arithmetic in the same order whatever
 * the chunk boundaries. Memory is bounded: a stream holds one window of
 * samples and the resampler's filter span, never the chunks it was given.
 *
 * Modes: ASR_FE_FLOAT computes in double and writes float frames
 * (asr_fstream_accept_s16/_f32, asr_fstream_finish). ASR_FE_INT computes
 * in integers only from the int16 PCM to the output: fixed-point resampler,
 * pre-emphasis and window, a block-floating-point FFT, power and mel
 * energies in 64 bits, a table log, the channel normalization, and the
 * network's normalization and input quantization folded into one integer
 * affine map per filter; it writes int8 or int16 frames in the first
 * layer's quantization (or int32 log energies in Q16 nats) through
 * asr_fstream_accept_s16_q/_f32_q and asr_fstream_finish_q. Its formats
 * and bounds: native/QUANTIZATION.md section 8. Both modes take the same
 * description fields; the integer mode adds the quantization fields below
 * (asr_net_input_quant reads them from a network).
 *
 * Plain declarations only: asr/_build.py reads this file as a cffi cdef.
 */
#ifndef ASR_FRONTEND_H
#define ASR_FRONTEND_H

#include <stddef.h>
#include <stdint.h>

#include "asr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Frontend modes. ASR_FE_AUTO is only a choice for asr_recognizer_open
 * (asr_recognizer_files.frontend): the float frontend for float networks,
 * for integer ones the default that native/src/recognizer.c names. */
#define ASR_FE_AUTO -1
#define ASR_FE_FLOAT 0
#define ASR_FE_INT 1

/* ASR_FE_INT output besides ASR_S8/ASR_S16: int32 log-mel energies (after
 * the channel normalization) in Q16 nats, value = q / 65536. */
#define ASR_FE_OUT_Q16 16

/* Integer-mode limits (native/QUANTIZATION.md section 8): the running
 * mean's constants and the log floor are bounded so that every step fits
 * 64 bits. A resampling filter table of more than ASR_FE_INT_MAX_TAPS
 * coefficients (rates coprime with the model's, such as 44101 Hz) is not
 * stored: each output's row is computed when needed, with the same taps,
 * so every rate is accepted in bounded memory (1 MB of table at most). */
#define ASR_FE_INT_MAX_CMN_FRAMES 65536
#define ASR_FE_INT_MAX_TAPS 262144

#define ASR_FE_WINDOW_HAMMING 0
#define ASR_FE_WINDOW_RECT 1

/* Limits that reject absurd descriptions before anything is allocated:
 * rates in Hz (input and model), nfft a power of two in 4..ASR_FE_MAX_NFFT. */
#define ASR_FE_MAX_RATE 768000
#define ASR_FE_MAX_NFFT 8192
#define ASR_FE_MAX_FILTERS 1024
#define ASR_FE_MAX_CMN_FRAMES 100000000
/* Samples per accept call; larger inputs are split by the caller. Keeps
 * every count of a call far from overflow in 64-bit arithmetic. */
#define ASR_FE_MAX_CHUNK 1073741824

/* What the frontend computes; mirrors asr.features.FeatureConfig. The
 * caller's arrays may be freed after asr_frontend_create. */
typedef struct asr_frontend_desc {
    int mode;                 /* ASR_FE_FLOAT or ASR_FE_INT                     */
    uint32_t sample_rate;     /* Hz: the rate the features are computed at      */
    uint32_t win_len;         /* samples per frame, 1..nfft                     */
    uint32_t hop_len;         /* samples between frame starts, 1..win_len       */
    uint32_t nfft;            /* FFT size: a power of two, 4..ASR_FE_MAX_NFFT   */
    uint32_t num_filters;     /* mel filters = values per frame                 */
    double low_hz;            /* lowest filter edge, Hz, >= 0                   */
    double high_hz;           /* highest edge, Hz, <= sample_rate/2; 0: the top */
    double preemph;           /* y[n] = x[n] - preemph x[n-1], |preemph| <= 1   */
    double log_floor;         /* energies are clamped to this (> 0) before log  */
    int window;               /* ASR_FE_WINDOW_HAMMING or ASR_FE_WINDOW_RECT    */
    uint32_t cmn_frames;      /* running-mean time constant, frames; 0: off     */
    uint32_t cmn_prior_frames;/* weight of cmn_prior at the start, frames       */
    const double *cmn_prior;  /* num_filters log energies; needed if cmn_frames */
    /* ASR_FE_INT only (ignored by ASR_FE_FLOAT): out_dtype ASR_S8 or
     * ASR_S16 writes each value x as the network's first layer takes it,
     * q = clamp(round((x - mean) inv_std / in_scale) + in_zero), halves
     * rounded up; ASR_FE_OUT_Q16 writes x itself in Q16 (the other fields
     * unused). mean and inv_std: num_filters values each. */
    int out_dtype;
    double in_scale;          /* > 0                                            */
    int32_t in_zero;          /* in the range of out_dtype                      */
    const float *mean;
    const float *inv_std;
} asr_frontend_desc;

typedef struct asr_frontend asr_frontend; /* immutable after creation; shareable  */
typedef struct asr_fstream asr_fstream;   /* one audio stream; one thread at once */

/* Validates the description and computes the window, the filterbank and
 * the FFT tables. */
int asr_frontend_create(const asr_frontend_desc *desc, asr_frontend **out, asr_status *st);
void asr_frontend_free(asr_frontend *fe);
/* Values per frame and the rate the features are computed at. */
int asr_frontend_info(const asr_frontend *fe, uint32_t *num_filters, uint32_t *sample_rate,
                      asr_status *st);

/* The mode and the output of a frontend: out_dtype is ASR_F32 in float
 * mode; in_scale and in_zero are the description's (0 in float mode or
 * for ASR_FE_OUT_Q16). Any pointer but fe may be NULL. */
int asr_frontend_format(const asr_frontend *fe, int *mode, int *out_dtype, double *in_scale,
                        int32_t *in_zero, asr_status *st);

/* A stream of mono audio at in_rate Hz (1..ASR_FE_MAX_RATE); it resamples
 * to the frontend's rate when in_rate differs. The stream keeps a pointer
 * to fe, which must outlive it. */
int asr_fstream_create(const asr_frontend *fe, uint32_t in_rate, asr_fstream **out,
                       asr_status *st);
void asr_fstream_free(asr_fstream *s);
/* How many frames the next call would write: asr_fstream_accept_* with
 * n_samples more samples (finish = 0), or those then asr_fstream_finish
 * (finish != 0; n_samples = 0 asks about finish alone). */
int asr_fstream_pending(const asr_fstream *s, size_t n_samples, int finish, size_t *n_frames,
                        asr_status *st);
/* Feed n samples (may be 0) and write the frames now complete into out
 * (room for out_cap frames of num_filters floats). Float samples are in
 * [-1, 1] (not clamped) and must be finite; int16 samples are scaled by
 * 1/32768. A call that fails (non-finite sample, out_cap too small, ...)
 * changes nothing, so the stream can go on. Float mode only. */
int asr_fstream_accept_f32(asr_fstream *s, const float *x, size_t n, float *out, size_t out_cap,
                           size_t *n_frames, asr_status *st);
int asr_fstream_accept_s16(asr_fstream *s, const int16_t *x, size_t n, float *out, size_t out_cap,
                           size_t *n_frames, asr_status *st);
/* Ends the input: flushes the resampler (zeros after the last sample) and
 * writes the remaining frames, the last zero-padded, so the total is
 * python_speech_features' count (1 for up to win_len samples, then one
 * more per hop_len started). After it the stream refuses every call.
 * Float mode only. */
int asr_fstream_finish(asr_fstream *s, float *out, size_t out_cap, size_t *n_frames,
                       asr_status *st);
/* The integer mode's feeding calls: the same contract, frames of
 * num_filters values of the frontend's out_dtype (int8, int16 or int32)
 * into out. The frontend's samples are 24-bit fixed point, Q8 of the int16
 * scale: int16 PCM k is 256 k, a float sample x is
 * clamp(floor(2^23 x + 1/2), -2^24, 2^24 - 1) (x in [-2, 2) kept, finite
 * required), which is 256 k for x = k / 32768: int16 PCM as floats gives
 * the int16 call's frames, and float audio keeps 8 bits below int16's. */
int asr_fstream_accept_s16_q(asr_fstream *s, const int16_t *x, size_t n, void *out,
                             size_t out_cap, size_t *n_frames, asr_status *st);
int asr_fstream_accept_f32_q(asr_fstream *s, const float *x, size_t n, void *out,
                             size_t out_cap, size_t *n_frames, asr_status *st);
int asr_fstream_finish_q(asr_fstream *s, void *out, size_t out_cap, size_t *n_frames,
                         asr_status *st);
/* Samples at the frontend's rate produced so far (after resampling). */
int asr_fstream_samples(const asr_fstream *s, uint64_t *n_resampled, asr_status *st);

#ifdef __cplusplus
}
#endif

#endif /* ASR_FRONTEND_H */
