/*
 * container.h - the checksummed container of the model (.asrm), binary LM
 * (.asrlm) and binary lexicon (.asrlex) files, as asr/container.py writes
 * it. Internal; the public loaders are in asr_files.h.
 *
 * Layout (little-endian): magic (8 bytes), version u32, header_len u32,
 * data_len u64, the JSON header, zeros to a multiple of 64, the data
 * section (each array at a 64-byte aligned offset), and the SHA-256 of
 * every byte before the last 32.
 */
#ifndef ASR_CONTAINER_H
#define ASR_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#include "asr.h"
#include "json.h"

#define CT_MAX_NDIM 8
/* Largest JSON header accepted: far above any real one (15 kB), and it
 * bounds the parser's memory before a byte of it is read. */
#define CT_MAX_HEADER (16u << 20)
#define CT_ALIGN 64

typedef enum ct_dtype {
    CT_F32, CT_S8, CT_S16, CT_S32, CT_S64, CT_U8, CT_NDTYPES
} ct_dtype;

typedef struct ct_file {
    const uint8_t *data;        /* the whole file (mapped, or a heap copy) */
    size_t size;
    void *map;                  /* what to unmap (NULL: data is heap)      */
    size_t map_len;
    uint8_t *heap;              /* what to free                            */
    const uint8_t *body;        /* the data section                        */
    uint64_t body_len;
    json_value header;
    char name[160];             /* for messages: the path, shortened       */
} ct_file;

/* A named array of the data section, checked: dtype known, every
 * dimension >= 0, count * itemsize == nbytes, offset aligned, and the
 * whole of it inside the data section. data is aligned for its dtype. */
typedef struct ct_tensor {
    ct_dtype dtype;
    size_t ndim;
    size_t shape[CT_MAX_NDIM];
    size_t count;               /* product of shape                        */
    const void *data;
} ct_tensor;

/* Opens path (mapped read-only where the OS can), checks magic, version,
 * lengths and checksum, parses the header and its tensor table. kind names
 * the file in messages ("model file"). Errors name the file and return
 * ASR_E_IO (cannot read) or ASR_E_FORMAT; f needs ct_close either way. */
int ct_open(ct_file *f, const char *path, const char magic[8], uint32_t version,
            const char *kind, asr_status *st);
/* The same over n bytes in memory (copied, so arrays are aligned). */
int ct_open_memory(ct_file *f, const void *data, size_t n, const char *name,
                   const char magic[8], uint32_t version, const char *kind, asr_status *st);
void ct_close(ct_file *f);

/* Tensor name of the table, of dtype want (-1: any). ASR_E_FORMAT naming
 * the file and the tensor when it is absent or its entry is impossible. */
int ct_tensor_get(const ct_file *f, const char *name, int want, ct_tensor *t, asr_status *st);

/* The strings of a newline-joined UTF-8 uint8 tensor (asr/container.py
 * add_strings): *out gets n pointers into one allocation (free(*out)
 * frees all). An empty tensor is one empty string, as Python splits it. */
int ct_strings(const ct_file *f, const char *name, char ***out, size_t *n, asr_status *st);

/* Fails with ASR_E_FORMAT and "NAME: message". */
int ct_fail(const ct_file *f, asr_status *st, const char *fmt, ...);

#endif /* ASR_CONTAINER_H */
