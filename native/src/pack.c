/*
 * pack.c - weight matrices into the layout their kernel declares
 * (asr_kernels.layout), once, at load, so the kernels never allocate or
 * rearrange anything.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

/* Whether k-groups g1 and g2 of rows [r0, r1) may share one widening
 * (asr_packed.sched): each int16 lane's four weights, k and k + 1 of both
 * groups, have |w| summing to at most ASR_FUSE_S8 in every row. */
static int pair_fusable(const unsigned char *src, size_t w_stride, size_t r0, size_t r1, size_t g1, size_t g2)
{
    size_t r;
    for (r = r0; r < r1; r++) {
        const int8_t *a = (const int8_t *)(const void *)(src + r * w_stride + 4 * g1);
        const int8_t *b = (const int8_t *)(const void *)(src + r * w_stride + 4 * g2);
        if (abs(a[0]) + abs(a[1]) + abs(b[0]) + abs(b[1]) > ASR_FUSE_S8 ||
            abs(a[2]) + abs(a[3]) + abs(b[2]) + abs(b[3]) > ASR_FUSE_S8)
            return 0;
    }
    return 1;
}

/* How far ahead (in k-groups) a group looks for a partner to fuse with:
 * on the bundled model's hidden layers 32 fuses 99.7-100 % of the groups,
 * where fixed neighbours (2p with 2p + 1) fused 83-91 %. */
#define PAIR_WINDOW 32

/* The extra tables of a narrow int8 matrix (asr_packed.corr, .sched):
 * corr[r] = -128 * (sum of row r), |.| <= 128 * 63 * ASR_NARROW_MAX_K < 2^31,
 * 0 for padding rows; per tile of ASR_S8_TILE row blocks, the fused pairs
 * (each group paired greedily with the first fusable free group among the
 * next PAIR_WINDOW), then the groups left single. taken: scratch of cols / 4
 * bytes. */
static void pack_narrow_s8(const unsigned char *src, size_t rows, size_t cols, size_t w_stride,
                           size_t lanes, size_t nblocks, int32_t *corr, uint32_t *sched,
                           unsigned char *taken)
{
    size_t full = cols / 4, tile_rows = lanes * ASR_S8_TILE, r, k, t, g, c;

    memset(corr, 0, nblocks * lanes * sizeof(int32_t));
    for (r = 0; r < rows; r++) {
        const int8_t *row = (const int8_t *)(const void *)(src + r * w_stride);
        int32_t sum = 0;
        for (k = 0; k < cols; k++)
            sum += row[k];
        corr[r] = -128 * sum;
    }
    for (t = 0; t * tile_rows < rows; t++) {
        size_t r0 = t * tile_rows, r1 = r0 + tile_rows < rows ? r0 + tile_rows : rows;
        uint32_t *ts = sched + t * (full + 2), nf = 0, nu = 0;
        /* taken[g]: 0 free, 1 in a pair, 2 single. Pairs are listed as they
         * are found, then the single groups in ascending order. */
        memset(taken, 0, full);
        for (g = 0; g < full; g++) {
            if (taken[g])
                continue;
            for (c = g + 1; c < full && c <= g + PAIR_WINDOW; c++)
                if (!taken[c] && pair_fusable(src, w_stride, r0, r1, g, c))
                    break;
            if (c < full && c <= g + PAIR_WINDOW) {
                taken[g] = taken[c] = 1;
                ts[2 + nf++] = (uint32_t)(4 * g | 4 * c << 16);
            } else {
                taken[g] = 2;
            }
        }
        for (g = 0; g < full; g++)
            if (taken[g] == 2)
                ts[2 + nf + nu++] = (uint32_t)(4 * g);
        ts[0] = nf;
        ts[1] = nu;
    }
}

/* Checks the arguments of asr_pack that do not depend on the values. */
static int check_args(const void *w, int kernel, int dtype, size_t rows, size_t cols, size_t w_stride,
                      asr_status *st)
{
    if (!w)
        return asr_fail(st, ASR_E_ARG, "asr_pack: null weights");
    if (!asr_valid_dtype(dtype))
        return asr_fail(st, ASR_E_ARG, "asr_pack: unknown dtype %d", dtype);
    if (!asr_kernels_for(kernel))
        return asr_fail(st, ASR_E_UNSUPPORTED, "asr_pack: kernel %d is not available", kernel);
    if (rows == 0 || rows > ASR_MAX_DIM || cols == 0 || cols > ASR_MAX_K)
        return asr_fail(st, ASR_E_ARG, "asr_pack: %zu x %zu weights (rows must be 1..%d, cols 1..%d)",
                        rows, cols, ASR_MAX_DIM, ASR_MAX_K);
    if (w_stride < cols)
        return asr_fail(st, ASR_E_SHAPE, "asr_pack: row stride %zu is less than cols %zu", w_stride, cols);
    if (!asr_span_bytes(w, rows, w_stride, cols, asr_dtype_size(dtype)))
        return asr_fail(st, ASR_E_ARG, "asr_pack: row stride %zu overflows the address space", w_stride);
    return ASR_OK;
}

/* The one scan of the integer weights in the library, for every caller
 * (the network and the stand-alone products): refuses the value that
 * breaks exactness, -128 (int8) or -32768 (int16), see
 * native/QUANTIZATION.md sections 1, 3 and 4, and tells in *narrow whether
 * every int8 |w| <= ASR_NARROW_S8. */
static int scan_weights(const unsigned char *src, int dtype, size_t rows, size_t cols, size_t w_stride,
                        int *narrow, asr_status *st)
{
    size_t r, k;
    *narrow = dtype == ASR_S8;
    for (r = 0; r < rows && dtype == ASR_S8; r++) {
        const int8_t *row = (const int8_t *)(const void *)(src + r * w_stride);
        for (k = 0; k < cols; k++) {
            if (row[k] < -ASR_S8_WEIGHT_MAX)
                return asr_fail(st, ASR_E_ARG, "int8 weight [%zu][%zu] is -128; int8 weights must lie "
                                "in [-127, 127] so the int32 accumulators stay exact", r, k);
            if (row[k] > ASR_NARROW_S8 || row[k] < -ASR_NARROW_S8)
                *narrow = 0;
        }
    }
    for (r = 0; r < rows && dtype == ASR_S16; r++) {
        const unsigned char *row = src + r * w_stride * 2;
        for (k = 0; k < cols; k++) {
            int16_t v;
            memcpy(&v, row + 2 * k, 2);
            if (v < -ASR_S16_WEIGHT_MAX)
                return asr_fail(st, ASR_E_ARG, "int16 weight [%zu][%zu] is -32768; int16 weights must "
                                "lie in [-32767, 32767] so the pair sums fit in int32", r, k);
        }
    }
    return ASR_OK;
}

/* Copies the rows into blocks and groups of lay (zeros stay in the padding:
 * dst is cleared), then adds the int8 offset of the layout, padding too,
 * since a stored offset is what encodes w = 0. */
static void copy_blocks(unsigned char *dst, size_t bytes, const unsigned char *src, const asr_layout *lay,
                        int dtype, size_t rows, size_t cols, size_t w_stride, size_t kp)
{
    size_t es = asr_dtype_size(dtype), group = lay->group ? lay->group : kp, r, g, i;
    memset(dst, 0, bytes);
    for (r = 0; r < rows; r++) {
        const unsigned char *row = src + r * w_stride * es;
        size_t block = r / lay->lanes, lane = r % lay->lanes;
        for (g = 0; g * group < cols; g++) {
            size_t at = ((block * (kp / group) + g) * lay->lanes + lane) * group;
            size_t n = cols - g * group < group ? cols - g * group : group;
            memcpy(dst + at * es, row + g * group * es, n * es);
        }
    }
    if (dtype == ASR_S8 && lay->s8_offset)
        for (i = 0; i < bytes; i++)
            dst[i] = (unsigned char)(dst[i] + lay->s8_offset);
}

int asr_pack(asr_packed *p, int kernel, int dtype, const void *w, size_t rows, size_t cols,
             size_t w_stride, asr_status *st)
{
    const unsigned char *src = (const unsigned char *)w;
    const asr_layout *lay;
    size_t kp, nblocks, ntiles, bytes, padded, extra;
    unsigned char *dst;
    int rc, narrow;

    if (!p)
        return asr_fail(st, ASR_E_ARG, "asr_pack: null output");
    memset(p, 0, sizeof(*p));
    if ((rc = check_args(w, kernel, dtype, rows, cols, w_stride, st)) != ASR_OK ||
        (rc = scan_weights(src, dtype, rows, cols, w_stride, &narrow, st)) != ASR_OK)
        return rc;

    lay = &asr_kernels_for(kernel)->layout[dtype];
    kp = (cols + lay->kalign - 1) / lay->kalign * lay->kalign;
    nblocks = (rows + lay->lanes - 1) / lay->lanes;
    bytes = nblocks * lay->lanes * kp * asr_dtype_size(dtype); /* <= 8192+15 rows x 65536 x 4: no overflow */
    padded = (bytes + 63) / 64 * 64;
    narrow = narrow && lay->s8_narrow && cols <= ASR_NARROW_MAX_K;
    ntiles = (nblocks + ASR_S8_TILE - 1) / ASR_S8_TILE;
    /* corr, the schedule and the pairing's scratch (pack_narrow_s8) */
    extra = narrow ? nblocks * lay->lanes * sizeof(int32_t) + ntiles * (cols / 4 + 2) * sizeof(uint32_t)
                     + cols / 4 : 0;
    p->alloc = malloc(padded + extra + 63);
    if (!p->alloc)
        return asr_fail(st, ASR_E_NOMEM, "asr_pack: out of memory for %zu bytes of weights", bytes);
    dst = (unsigned char *)(((uintptr_t)p->alloc + 63) & ~(uintptr_t)63);
    copy_blocks(dst, bytes, src, lay, dtype, rows, cols, w_stride, kp);
    if (narrow) {
        /* After the weights, 64-byte aligned: corr, then the schedule. */
        int32_t *corr = (int32_t *)(void *)(dst + padded);
        uint32_t *sched = (uint32_t *)(corr + nblocks * lay->lanes);
        pack_narrow_s8(src, rows, cols, w_stride, lay->lanes, nblocks, corr, sched,
                       (unsigned char *)(sched + ntiles * (cols / 4 + 2)));
        p->corr = corr;
        p->sched = sched;
    }
    p->kernel = kernel;
    p->dtype = dtype;
    p->rows = rows;
    p->cols = cols;
    p->ld = kp;
    p->data = dst;
    return ASR_OK;
}

void asr_packed_free(asr_packed *p)
{
    if (p) {
        free(p->alloc);
        p->alloc = NULL;
        p->data = NULL;
        p->corr = NULL;
        p->sched = NULL;
    }
}
