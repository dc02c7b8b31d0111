/*
 * dispatch.c - which kernels this CPU can run, the packed weight
 * layouts, and the validated public matrix products.
 *
 * Each instruction set lives in its own translation unit (kernels_ref.c,
 * kernels_sse41.c, kernels_avx2.c, kernels_avx512vnni.c, kernels_neon.c) and
 * exports one asr_kernels table. This file detects the CPU once, hands out
 * those tables, and packs weights into the layout each path expects, so the
 * kernels themselves never test a feature or allocate.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asr_testing.h"
#include "kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#define ASR_X86 1
#include <cpuid.h>
#endif

/* Same condition as in kernels_neon.c: the sdot kernels need an aarch64
 * compiler that can enable +dotprod for part of a file. */
#if defined(__aarch64__) && defined(__ARM_NEON) && \
    (defined(__ARM_FEATURE_DOTPROD) || (defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 8))
#define ASR_HAVE_NEONDOT 1
#endif

#if defined(__linux__) && (defined(__aarch64__) || defined(__arm__))
#include <sys/auxv.h>
#endif

extern const asr_kernels asr_kernels_ref;
#ifdef ASR_X86
extern const asr_kernels asr_kernels_sse41;
extern const asr_kernels asr_kernels_avx2;
extern const asr_kernels asr_kernels_avx512vnni;
#endif
#ifdef __ARM_NEON
extern const asr_kernels asr_kernels_neon;
#endif
#ifdef ASR_HAVE_NEONDOT
extern const asr_kernels asr_kernels_neondot;
#endif

static const char *const path_names[ASR_KERNEL_COUNT] = {
    "ref", "sse41", "avx2", "avx512vnni", "neon", "neondot"
};

/* ------------------------------------------------------------ detection */

#ifdef ASR_X86
static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0)); /* xgetbv */
    return ((uint64_t)hi << 32) | lo;
}

static unsigned detect_x86(void)
{
    unsigned a, b, c, d, mask = 0;
    int fma, osxsave, avx;
    uint64_t xcr0;

    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    /* pmaddubsw/psignb/pabsb are SSSE3, the rest of that file SSE4.1. */
    if ((c >> 9 & 1) && (c >> 19 & 1))
        mask |= 1u << ASR_KERNEL_SSE41;
    fma = c >> 12 & 1;
    osxsave = c >> 27 & 1;
    avx = c >> 28 & 1;
    if (!osxsave || !avx || __get_cpuid_max(0, NULL) < 7)
        return mask;
    /* The OS must save the ymm (bits 1-2) and zmm/opmask (bits 5-7) state,
     * or the registers would be corrupted by the next context switch. */
    xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6)
        return mask;
    __cpuid_count(7, 0, a, b, c, d);
    if ((b >> 5 & 1) && fma)
        mask |= 1u << ASR_KERNEL_AVX2;
    if ((b >> 16 & 1) && (b >> 30 & 1) && (c >> 11 & 1) && (xcr0 & 0xe0) == 0xe0)
        mask |= 1u << ASR_KERNEL_AVX512VNNI; /* AVX512F, AVX512BW, AVX512_VNNI */
    return mask;
}
#endif

static unsigned detect(void)
{
    unsigned mask = 1u << ASR_KERNEL_REF;
#if defined(ASR_X86)
    mask |= detect_x86();
#elif defined(__aarch64__) && defined(__ARM_NEON)
    mask |= 1u << ASR_KERNEL_NEON; /* Advanced SIMD is mandatory on aarch64 */
#if defined(ASR_HAVE_NEONDOT) && defined(__linux__)
    if (getauxval(AT_HWCAP) & (1ul << 20)) /* HWCAP_ASIMDDP */
        mask |= 1u << ASR_KERNEL_NEON_DOT;
#elif defined(ASR_HAVE_NEONDOT) && defined(__ARM_FEATURE_DOTPROD)
    mask |= 1u << ASR_KERNEL_NEON_DOT;
#endif
#elif defined(__arm__) && defined(__ARM_NEON)
#if defined(__linux__)
    if (getauxval(AT_HWCAP) & (1ul << 12)) /* HWCAP_NEON */
        mask |= 1u << ASR_KERNEL_NEON;
#else
    mask |= 1u << ASR_KERNEL_NEON;
#endif
#endif
    return mask;
}

unsigned asr_kernels_available(void)
{
    /* Detected once: cpuid traps to the hypervisor in a VM and would cost
     * microseconds per call. The cache is the only static mutable word in
     * the library; every thread computes the same value, so a race between
     * two first calls only repeats the detection. */
    static unsigned cached;
    unsigned mask = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (!mask) {
        mask = detect() | 0x80000000u;
        __atomic_store_n(&cached, mask, __ATOMIC_RELAXED);
    }
    return mask & 0x7fffffffu;
}

const char *asr_kernel_name(int path)
{
    return path >= 0 && path < ASR_KERNEL_COUNT ? path_names[path] : NULL;
}

const asr_kernels *asr_kernels_for(int path)
{
    if (path < 0 || path >= ASR_KERNEL_COUNT || !(asr_kernels_available() >> path & 1))
        return NULL;
    switch (path) {
    case ASR_KERNEL_REF: return &asr_kernels_ref;
#ifdef ASR_X86
    case ASR_KERNEL_SSE41: return &asr_kernels_sse41;
    case ASR_KERNEL_AVX2: return &asr_kernels_avx2;
    case ASR_KERNEL_AVX512VNNI: return &asr_kernels_avx512vnni;
#endif
#ifdef __ARM_NEON
    case ASR_KERNEL_NEON: return &asr_kernels_neon;
#endif
#ifdef ASR_HAVE_NEONDOT
    case ASR_KERNEL_NEON_DOT: return &asr_kernels_neondot;
#endif
    default: return NULL;
    }
}

static void list_available(char *buf, size_t cap)
{
    unsigned mask = asr_kernels_available();
    size_t len = 0;
    int p;
    buf[0] = '\0';
    for (p = 0; p < ASR_KERNEL_COUNT; p++) {
        size_t n = strlen(path_names[p]);
        if ((mask >> p & 1) && len + n + 3 < cap) {
            if (len) {
                memcpy(buf + len, ", ", 2);
                len += 2;
            }
            memcpy(buf + len, path_names[p], n + 1);
            len += n;
        }
    }
}

static int same_name(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char ca = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        if (ca != *b)
            return 0;
    }
    return *a == *b;
}

int asr_kernel_resolve(int path, int *resolved, asr_status *st)
{
    char avail[96];
    unsigned mask = asr_kernels_available();

    if (!resolved)
        return asr_fail(st, ASR_E_ARG, "asr_kernel_resolve: null output pointer");
    *resolved = ASR_KERNEL_REF;
    list_available(avail, sizeof(avail));
    if (path == ASR_KERNEL_AUTO) {
        const char *env = getenv("ASR_KERNEL");
        if (env && *env && !same_name(env, "auto")) {
            for (path = 0; path < ASR_KERNEL_COUNT; path++)
                if (same_name(env, path_names[path]))
                    break;
            if (path == ASR_KERNEL_COUNT)
                return asr_fail(st, ASR_E_ARG, "ASR_KERNEL=%.40s is not a kernel (auto, ref, sse41, "
                                "avx2, avx512vnni, neon, neondot)", env);
            if (!(mask >> path & 1))
                return asr_fail(st, ASR_E_UNSUPPORTED, "ASR_KERNEL=%s: this CPU or build lacks that path "
                                "(available: %s)", path_names[path], avail);
        } else {
            for (path = ASR_KERNEL_COUNT - 1; !(mask >> path & 1); path--)
                ; /* paths are numbered from slowest to fastest per architecture */
        }
    } else if (path < 0 || path >= ASR_KERNEL_COUNT) {
        return asr_fail(st, ASR_E_ARG, "unknown kernel %d (valid: -1 auto, 0..%d)", path,
                        ASR_KERNEL_COUNT - 1);
    } else if (!(mask >> path & 1)) {
        return asr_fail(st, ASR_E_UNSUPPORTED, "kernel %s is not available on this CPU or build "
                        "(available: %s)", path_names[path], avail);
    }
    *resolved = path;
    return ASR_OK;
}

/* -------------------------------------------------------------- packing */

/* Every path stores a weight matrix as blocks of `lanes` rows (the rows
 * padded with zeros to a multiple of lanes). Inside a block the reduction
 * dimension is cut into groups of `group` consecutive k, and a group is
 * stored for all lanes rows before the next group:
 *     data[((block * (Kp / group) + g) * lanes + r) * group + j] = W[block*lanes + r][g*group + j]
 * so one vector load gives `group` k of `lanes` rows, the operand shape of
 * pmaddubsw/vpdpbusd (group 4), pmaddwd (group 2), a broadcast FMA (group
 * 1) or NEON vmull_s8 + vmlal_s8 (group 2, two groups per 16 bytes). K is
 * zero-padded to Kp, a multiple of kalign, so no weight load has a tail.
 * The reference keeps plain rows (lanes 1, group Kp). */
typedef struct layout {
    unsigned lanes;
    unsigned group;      /* 0: the whole (padded) row */
    unsigned kalign;
    unsigned s8_offset;  /* added to int8 weights: 128 stores w + 128 as uint8 for vpdpbusd */
    unsigned s8_narrow;  /* int8 kernels have a route for |w| <= ASR_NARROW_S8 (kernels.h) */
} layout;

static const layout layouts[ASR_KERNEL_COUNT][3] = {
    /*                       ASR_F32            ASR_S16            ASR_S8 */
    [ASR_KERNEL_REF]        = {{1, 0, 1, 0, 0},  {1, 0, 1, 0, 0},  {1, 0, 1, 0, 0}},
    [ASR_KERNEL_SSE41]      = {{4, 1, 1, 0, 0},  {4, 2, 2, 0, 0},  {4, 4, 4, 0, 1}},
    [ASR_KERNEL_AVX2]       = {{8, 1, 1, 0, 0},  {8, 2, 2, 0, 0},  {8, 4, 4, 0, 1}},
    [ASR_KERNEL_AVX512VNNI] = {{16, 1, 1, 0, 0}, {16, 2, 2, 0, 0}, {16, 4, 4, 128, 0}},
    [ASR_KERNEL_NEON]       = {{4, 1, 1, 0, 0},  {4, 2, 2, 0, 0},  {4, 2, 4, 0, 0}},
    [ASR_KERNEL_NEON_DOT]   = {{4, 1, 1, 0, 0},  {4, 2, 2, 0, 0},  {4, 4, 4, 0, 0}},
};

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

int asr_pack(asr_packed *p, int path, int dtype, const void *w, size_t rows, size_t cols,
             size_t w_stride, asr_status *st)
{
    const unsigned char *src = (const unsigned char *)w;
    const layout *lay;
    size_t es, kp, group, nblocks, ntiles, bytes, corr_bytes, r, k;
    unsigned char *dst;
    int narrow = 1;

    if (!p)
        return asr_fail(st, ASR_E_ARG, "asr_pack: null output");
    memset(p, 0, sizeof(*p));
    if (!w)
        return asr_fail(st, ASR_E_ARG, "asr_pack: null weights");
    if (!asr_valid_dtype(dtype))
        return asr_fail(st, ASR_E_ARG, "asr_pack: unknown dtype %d", dtype);
    if (!asr_kernels_for(path))
        return asr_fail(st, ASR_E_UNSUPPORTED, "asr_pack: kernel %d is not available", path);
    if (rows == 0 || rows > ASR_MAX_DIM || cols == 0 || cols > ASR_MAX_K)
        return asr_fail(st, ASR_E_ARG, "asr_pack: %zu x %zu weights (rows must be 1..%d, cols 1..%d)",
                        rows, cols, ASR_MAX_DIM, ASR_MAX_K);
    if (w_stride < cols)
        return asr_fail(st, ASR_E_SHAPE, "asr_pack: row stride %zu is less than cols %zu", w_stride, cols);
    es = asr_dtype_size(dtype);
    if (!asr_span_bytes(w, rows, w_stride, cols, es))
        return asr_fail(st, ASR_E_ARG, "asr_pack: row stride %zu overflows the address space", w_stride);

    /* Symmetric integer weights are what make every kernel exact: with
     * |w| <= 127 a pmaddubsw pair sum is at most 2 * 128 * 127 = 32512 (no
     * int16 saturation), and with |w| <= 32767 a pmaddwd pair sum is at most
     * 2 * 32768 * 32767 < 2^31. Reject the one value that breaks it. */
    for (r = 0; r < rows && dtype != ASR_F32; r++) {
        const unsigned char *row = src + r * w_stride * es;
        for (k = 0; k < cols; k++) {
            if (dtype == ASR_S8 && (int8_t)row[k] == -128)
                return asr_fail(st, ASR_E_ARG, "int8 weight [%zu][%zu] is -128; int8 weights must lie "
                                "in [-127, 127] so the int32 accumulators stay exact", r, k);
            if (dtype == ASR_S8 && ((int8_t)row[k] > ASR_NARROW_S8 || (int8_t)row[k] < -ASR_NARROW_S8))
                narrow = 0;
            if (dtype == ASR_S16) {
                int16_t v;
                memcpy(&v, row + 2 * k, 2);
                if (v == -32768)
                    return asr_fail(st, ASR_E_ARG, "int16 weight [%zu][%zu] is -32768; int16 weights must "
                                    "lie in [-32767, 32767] so the pair sums fit in int32", r, k);
            }
        }
    }

    lay = &layouts[path][dtype];
    kp = (cols + lay->kalign - 1) / lay->kalign * lay->kalign;
    group = lay->group ? lay->group : kp;
    nblocks = (rows + lay->lanes - 1) / lay->lanes;
    bytes = nblocks * lay->lanes * kp * es; /* <= 8192+15 rows x 65536 x 4: no overflow */
    narrow = narrow && dtype == ASR_S8 && lay->s8_narrow && cols <= ASR_NARROW_MAX_K;
    ntiles = (nblocks + ASR_S8_TILE - 1) / ASR_S8_TILE;
    /* corr, the schedule and the pairing's scratch (pack_narrow_s8) */
    corr_bytes = narrow ? nblocks * lay->lanes * sizeof(int32_t) + ntiles * (cols / 4 + 2) * sizeof(uint32_t)
                          + cols / 4 : 0;
    p->alloc = malloc((bytes + 63) / 64 * 64 + corr_bytes + 63);
    if (!p->alloc)
        return asr_fail(st, ASR_E_NOMEM, "asr_pack: out of memory for %zu bytes of weights", bytes);
    dst = (unsigned char *)(((uintptr_t)p->alloc + 63) & ~(uintptr_t)63);
    memset(dst, 0, bytes);
    for (r = 0; r < rows; r++) {
        const unsigned char *row = src + r * w_stride * es;
        size_t block = r / lay->lanes, lane = r % lay->lanes, g;
        for (g = 0; g * group < cols; g++) {
            size_t at = ((block * (kp / group) + g) * lay->lanes + lane) * group;
            size_t n = cols - g * group < group ? cols - g * group : group;
            memcpy(dst + at * es, row + g * group * es, n * es);
        }
    }
    if (dtype == ASR_S8 && lay->s8_offset) {
        size_t i;
        for (i = 0; i < bytes; i++)
            dst[i] = (unsigned char)(dst[i] + lay->s8_offset); /* padding too: it encodes w = 0 */
    }
    if (narrow) {
        /* After the weights, 64-byte aligned: corr, then the schedule. */
        int32_t *corr = (int32_t *)(void *)(dst + (bytes + 63) / 64 * 64);
        uint32_t *sched = (uint32_t *)(corr + nblocks * lay->lanes);
        pack_narrow_s8(src, rows, cols, w_stride, lay->lanes, nblocks, corr, sched,
                       (unsigned char *)(sched + ntiles * (cols / 4 + 2)));
        p->corr = corr;
        p->sched = sched;
    }
    p->path = path;
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

/* ------------------------------------------------ public matrix products */

void asr_gemm_packed(const asr_kernels *kern, const asr_packed *p, const void *x, size_t x_stride,
                     size_t batch, void *out, size_t out_stride)
{
    if (p->dtype == ASR_S8)
        kern->gemm_s8(p, (const int8_t *)x, x_stride, batch, (int32_t *)out, out_stride);
    else if (p->dtype == ASR_S16)
        kern->gemm_s16(p, (const int16_t *)x, x_stride, batch, (int64_t *)out, out_stride);
    else
        kern->gemm_f32(p, (const float *)x, x_stride, batch, (float *)out, out_stride);
}

static int gemm_checked(const char *fn, int path, int dtype, const void *w, size_t rows, size_t cols,
                        size_t w_stride, const void *x, size_t batch, size_t x_stride, void *out,
                        size_t out_stride, asr_status *st)
{
    asr_packed packed;
    size_t es = asr_dtype_size(dtype), os = dtype == ASR_S16 ? 8 : 4;
    int rc, resolved;

    if ((rc = asr_kernel_resolve(path, &resolved, st)) != ASR_OK)
        return rc;
    if (!w || !x || !out)
        return asr_fail(st, ASR_E_ARG, "%s: null %s pointer", fn, !w ? "weight" : !x ? "input" : "output");
    if (rows == 0 || rows > ASR_MAX_DIM)
        return asr_fail(st, ASR_E_ARG, "%s: rows %zu outside 1..%d", fn, rows, ASR_MAX_DIM);
    if (cols == 0 || cols > ASR_MAX_K)
        return asr_fail(st, ASR_E_ARG, "%s: cols %zu outside 1..%d (the accumulator bound)", fn, cols,
                        ASR_MAX_K);
    if (batch == 0)
        return asr_fail(st, ASR_E_ARG, "%s: batch is 0", fn);
    if (w_stride < cols || x_stride < cols)
        return asr_fail(st, ASR_E_SHAPE, "%s: %s stride %zu is less than cols %zu", fn,
                        w_stride < cols ? "weight" : "input", w_stride < cols ? w_stride : x_stride, cols);
    if (out_stride < rows)
        return asr_fail(st, ASR_E_SHAPE, "%s: output stride %zu is less than rows %zu", fn, out_stride, rows);
    if (!asr_span_bytes(w, rows, w_stride, cols, es) || !asr_span_bytes(x, batch, x_stride, cols, es) ||
        !asr_span_bytes(out, batch, out_stride, rows, os))
        return asr_fail(st, ASR_E_ARG, "%s: batch %zu / strides %zu, %zu, %zu overflow the address space",
                        fn, batch, w_stride, x_stride, out_stride);
    if ((rc = asr_pack(&packed, resolved, dtype, w, rows, cols, w_stride, st)) != ASR_OK)
        return rc;
    asr_gemm_packed(asr_kernels_for(resolved), &packed, x, x_stride, batch, out, out_stride);
    asr_packed_free(&packed);
    if (st) {
        st->code = ASR_OK;
        st->message[0] = '\0';
    }
    return ASR_OK;
}

int asr_gemm_s8s8s32(int path, const int8_t *w, size_t rows, size_t cols, size_t w_stride,
                     const int8_t *x, size_t batch, size_t x_stride,
                     int32_t *out, size_t out_stride, asr_status *st)
{
    return gemm_checked("asr_gemm_s8s8s32", path, ASR_S8, w, rows, cols, w_stride, x, batch, x_stride,
                        out, out_stride, st);
}

int asr_gemm_s16s16s64(int path, const int16_t *w, size_t rows, size_t cols, size_t w_stride,
                       const int16_t *x, size_t batch, size_t x_stride,
                       int64_t *out, size_t out_stride, asr_status *st)
{
    return gemm_checked("asr_gemm_s16s16s64", path, ASR_S16, w, rows, cols, w_stride, x, batch, x_stride,
                        out, out_stride, st);
}

int asr_gemm_f32(int path, const float *w, size_t rows, size_t cols, size_t w_stride,
                 const float *x, size_t batch, size_t x_stride,
                 float *out, size_t out_stride, asr_status *st)
{
    return gemm_checked("asr_gemm_f32", path, ASR_F32, w, rows, cols, w_stride, x, batch, x_stride,
                        out, out_stride, st);
}
