/*
 * asr.h - the whole public C API of the fixed-point acoustic-model runtime.
 *
 * Conventions
 *   - Every function returns an asr_code (0 = ASR_OK) and, on failure, fills the
 *     caller's asr_status with the code and a one-line message. There is no
 *     global mutable state: the status lives with the caller, so any number of
 *     threads may use the library at once as long as they do not share an
 *     asr_stream.
 *   - Sizes are size_t and are validated: null pointers, zero or huge
 *     dimensions, products that would overflow, and buffers that are too small
 *     are reported, never dereferenced.
 *   - Matrices are row-major. "K" is the inner (reduction) dimension.
 *
 * This header is also the cffi cdef (asr/_build.py strips the preprocessor
 * lines), so it must stay plain C declarations without macros in types.
 */
#ifndef ASR_H
#define ASR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 2: the kernel choice is named asr_kernel (was asr_path).
 * 3: the feature frontend (asr_frontend.h), the recognizer (asr_recognizer.h),
 *    files read in C (asr_files.h: model, LM, lexicon, WAV) with the codes
 *    ASR_E_FORMAT and ASR_E_IO.
 * 4: the integer frontend (ASR_FE_INT; asr_frontend_desc grows its
 *    quantization fields), asr_stream_forward_q, asr_net_input_quant,
 *    asr_recognizer_open (frontend, phrases and search options). */
#define ASR_API_VERSION 4

typedef enum asr_code {
    ASR_OK = 0,
    ASR_E_ARG = 1,        /* a null pointer, a bad enum, a size out of range  */
    ASR_E_NOMEM = 2,      /* an allocation failed                             */
    ASR_E_SHAPE = 3,      /* dimensions that do not fit together              */
    ASR_E_UNSUPPORTED = 4, /* a kernel this CPU or build does not have        */
    ASR_E_FORMAT = 5,     /* a file that is damaged, truncated or of another
                             kind or version (asr_files.h)                    */
    ASR_E_IO = 6          /* a file that cannot be opened or read            */
} asr_code;

typedef struct asr_status {
    int code;
    char message[240];
} asr_status;

int asr_api_version(void);

/* ---------------------------------------------------------------- kernels */

/* Kernels: one implementation of the matrix products per instruction set.
 * Each integer kernel computes exactly the same integers as every other;
 * ASR_KERNEL_REF is the specification. (Not to be confused with the
 * convolution width of a layer, asr_layer_desc.kernel / ASR_MAX_KERNEL.) */
typedef enum asr_kernel {
    ASR_KERNEL_AUTO = -1,      /* the best kernel this CPU has                 */
    ASR_KERNEL_REF = 0,        /* plain C99                                    */
    ASR_KERNEL_SSE41 = 1,      /* x86 SSE4.1                                   */
    ASR_KERNEL_AVX2 = 2,       /* x86 AVX2                                     */
    ASR_KERNEL_AVX512VNNI = 3, /* x86 AVX-512BW + VNNI                         */
    ASR_KERNEL_NEON = 4,       /* armv7 NEON or aarch64 Advanced SIMD          */
    ASR_KERNEL_NEON_DOT = 5    /* aarch64 with the sdot instruction            */
} asr_kernel;

#define ASR_KERNEL_COUNT 6

/* Bit (1 << kernel) is set for every kernel this build and this CPU can run. */
unsigned asr_kernels_available(void);
/* Short lower-case name of a kernel ("ref", "sse41", "avx2", "avx512vnni",
 * "neon", "neondot"); NULL for an unknown one. */
const char *asr_kernel_name(int kernel);
/* The kernel ASR_KERNEL_AUTO resolves to: the environment variable ASR_KERNEL
 * (a kernel name, or "auto") when it is set, otherwise the best available.
 * ASR_E_UNSUPPORTED when this CPU or build lacks the kernel asked for. */
int asr_kernel_resolve(int kernel, int *resolved, asr_status *st);

/* ---------------------------------------------------------------- network */

typedef enum asr_dtype { ASR_F32 = 0, ASR_S16 = 1, ASR_S8 = 2 } asr_dtype;
typedef enum asr_act { ASR_ACT_NONE = 0, ASR_ACT_RELU = 1, ASR_ACT_LOGSOFTMAX = 2 } asr_act;

/* Largest sizes the network accepts; they bound the int32 accumulator
 * (native/QUANTIZATION.md) and reject absurd headers before anything is
 * allocated. */
#define ASR_MAX_DIM 8192
#define ASR_MAX_K 65536
#define ASR_NARROW_MAX_K 8192
#define ASR_MAX_KERNEL 32
#define ASR_MAX_STRIDE 8
#define ASR_MAX_LAYERS 64
/* Integer weights are symmetric: -128 and -32768 are refused, because the
 * no-saturation bounds of the kernels need |w| <= these (native/QUANTIZATION.md). */
#define ASR_S8_WEIGHT_MAX 127
#define ASR_S16_WEIGHT_MAX 32767

/* One time-delay (dilated 1-D convolution) layer with "valid" borders:
 *   y[t][o] = act( sum_j sum_i W[o][j*in_dim + i] * x[t*stride + j*dilation][i] + b[o] )
 * for taps j < kernel. Only the network input is padded (see asr_net_desc).
 * dtype is the type of the weights and of this layer's input activations.
 * For integer layers x is stored as q with x = (q - in_zero) * in_scale and
 * W as q with W = (q - w_zero) * w_scale[o]; the exporter folds every
 * constant into bias (accumulator units) and mult/shift (native/QUANTIZATION.md);
 * w_zero is nonzero only in the asymmetric scheme and costs one extra sum
 * over each input row. out_dtype is the next layer's input type, or ASR_F32
 * on the last layer, which must use ASR_ACT_LOGSOFTMAX. */
typedef struct asr_layer_desc {
    int dtype;
    int out_dtype;
    int act;
    uint32_t in_dim;
    uint32_t out_dim;
    uint32_t kernel;
    uint32_t dilation;
    uint32_t stride;
    const void *weight;     /* out_dim x (kernel*in_dim): float, int16 or int8 */
    const void *bias;       /* out_dim: float (F32) or int64 (S16, S8)         */
    const int32_t *mult;    /* out_dim, integer layers only                    */
    const int32_t *shift;   /* out_dim, integer layers only                    */
    int32_t w_zero;         /* weight zero point, integer layers               */
    int32_t out_zero;       /* zero point of the output activation             */
    int32_t out_lo;         /* clamp of the output activation (ReLU: out_zero) */
    int32_t out_hi;
} asr_layer_desc;

/* The network: feature normalization, input quantization, input padding,
 * then the layers. Features are (x - mean) * inv_std, then padded with
 * pad_left and pad_right all-zero frames (the padding is in normalized
 * space). Integer networks quantize the normalized features with
 * q = clamp(round(x / in_scale) + in_zero) into the first layer's dtype. */
typedef struct asr_net_desc {
    uint32_t feat_dim;
    const float *mean;      /* feat_dim */
    const float *inv_std;   /* feat_dim */
    uint32_t pad_left;
    uint32_t pad_right;
    float in_scale;         /* integer networks only */
    int32_t in_zero;
    uint32_t n_layers;
    const asr_layer_desc *layers;
} asr_net_desc;

typedef struct asr_net asr_net;       /* immutable after creation; shareable  */
typedef struct asr_stream asr_stream; /* per-utterance state; one thread each */

/* Validates the description, copies and packs the weights for the kernel
 * kernel (ASR_KERNEL_AUTO: see asr_kernel_resolve). The caller's arrays may be
 * freed afterwards. */
int asr_net_create(const asr_net_desc *desc, int kernel, asr_net **out, asr_status *st);
void asr_net_free(asr_net *net);
/* Output label count, total frame subsampling, and the kernel in use. */
int asr_net_info(const asr_net *net, uint32_t *n_out, uint32_t *subsampling, int *kernel,
                 asr_status *st);
/* Values per input feature frame. */
int asr_net_input_dim(const asr_net *net, uint32_t *feat_dim, asr_status *st);

/* A stream reads its network's weights on every forward, so the network
 * must outlive the stream's use; freeing may happen in either order (the
 * stream's free never touches the network). */
int asr_stream_create(const asr_net *net, asr_stream **out, asr_status *st);
void asr_stream_free(asr_stream *s);
/* How many output frames asr_stream_forward would write for n_frames more
 * input frames (and the end of input when finish is nonzero). */
int asr_stream_pending(const asr_stream *s, size_t n_frames, int finish, size_t *n_out,
                       asr_status *st);
/* Feeds n_frames feature frames (n_frames x feat_dim floats, may be 0) and,
 * when finish is nonzero, ends the input. Writes every output frame that is
 * now computable: log-probabilities, n_out x n_labels floats, into out (room
 * for out_cap frames; check with asr_stream_pending). Any split of the input
 * into calls gives bit-identical outputs. After finish the stream is done. */
int asr_stream_forward(asr_stream *s, const float *feats, size_t n_frames, int finish,
                       float *out, size_t out_cap, size_t *n_out, asr_status *st);
/* The same for frames already normalized and quantized, as the first
 * layer takes them (int8 or int16 per its dtype; n_frames x feat_dim): the
 * integer frontend's output. Gives the outputs asr_stream_forward gives
 * for features that quantize to the same values; the padding frames are
 * in_zero. Integer networks only. */
int asr_stream_forward_q(asr_stream *s, const void *q, size_t n_frames, int finish,
                         float *out, size_t out_cap, size_t *n_out, asr_status *st);
/* The network's input normalization and quantization: the first layer's
 * dtype (ASR_F32, ASR_S16, ASR_S8), in_scale and in_zero (0 for float),
 * and its mean and inv_std (feat_dim values, owned by the network). What an
 * integer frontend's description needs. Any pointer but net may be NULL. */
int asr_net_input_quant(const asr_net *net, int *dtype, double *in_scale, int32_t *in_zero,
                        const float **mean, const float **inv_std, asr_status *st);

#ifdef __cplusplus
}
#endif

#endif /* ASR_H */
