/*
 * kernel_check.c - every kernel of this build against the reference,
 * as a stand-alone program, so kernels of another instruction set can be
 * tested under qemu-user on a machine that cannot run them natively
 * (tests/native/test_kernels_cross.py; built by native/Makefile).
 *
 * Usage
 *   kernel_check kernels
 *       Prints the names of the available kernels, one line, space separated.
 *
 *   kernel_check selftest SEED N
 *       N random shapes (rows 1..70, cols 1..300, batch 1..19, strides wider
 *       than the rows, caller pointers 1..3 bytes off alignment or with the
 *       last input row ending on an unreadable page), each run through
 *       asr_gemm_s8s8s32, asr_gemm_s16s16s64 and asr_gemm_f32 on every kernel
 *       in asr_kernels_available(). Integer results must equal ASR_KERNEL_REF
 *       bit for bit (and the reference must equal an int64 sum computed
 *       here); float results must lie within 1e-5 of the reference relative
 *       to sum |w||x|, and a frame computed alone must give the same bits as
 *       inside the batch. Every fourth shape uses extreme values (x = -128
 *       with w = +-127; +-32767 x -32768/32767), which reach the int16 and
 *       int32 pair-sum bounds the kernels rely on. Prints one summary line
 *       per kernel; exit status 0 when everything matched, 1 otherwise.
 *
 *   kernel_check gemm FILE_IN FILE_OUT
 *       Runs the requests in FILE_IN and writes their outputs to FILE_OUT,
 *       so a caller can compare this machine's results with another's on
 *       the same inputs. Exit status 0, or 1 with a message on stderr.
 *
 * Request format (FILE_IN), all little-endian, any number of requests back
 * to back until end of file:
 *     char     magic[4] = "ASRG"
 *     int32    dtype        0 = float32, 1 = int16, 2 = int8 (asr_dtype)
 *     int32    kernel         asr_kernel: -1 auto, 0 ref, 4 neon, 5 neondot, ...
 *     uint32   rows, cols, batch
 *     weights  rows x cols elements of dtype, row-major, contiguous
 *     x        batch x cols elements of dtype, row-major, contiguous
 * Output (FILE_OUT): for each request in order, batch x rows elements,
 * row-major, contiguous: int32 for int8, int64 for int16, float32 for
 * float32. The driver itself copies weights, x and out to addresses 1..3
 * bytes off alignment (varying per request) before calling the library.
 */
#define _DEFAULT_SOURCE 1 /* mmap's MAP_ANONYMOUS under -std=c99 */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#include <unistd.h>
#define HAVE_GUARD_PAGE 1
#endif

#include "asr.h"
#include "asr_testing.h"
#include "driver_common.h"

/* ------------------------------------------------------------- helpers */

/* splitmix64: a seeded, platform-independent stream, so a failing seed
 * reproduces on every machine. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static long rng_range(uint64_t *s, long lo, long hi)
{
    return lo + (long)(rng_next(s) % (uint64_t)(hi - lo + 1));
}

/* Approximately standard normal (sum of 4 uniforms, scaled): plenty for
 * float kernels and identical on every platform. */
static float rng_float(uint64_t *s)
{
    double acc = 0.0;
    int i;
    for (i = 0; i < 4; i++)
        acc += (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
    return (float)((acc - 2.0) * 1.7320508075688772);
}

static size_t elem_size(int dtype)
{
    return dtype == ASR_F32 ? 4 : dtype == ASR_S16 ? 2 : 1;
}

static size_t out_size(int dtype)
{
    return dtype == ASR_S16 ? 8 : 4;
}

static const char *dtype_name(int dtype)
{
    return dtype == ASR_F32 ? "float" : dtype == ASR_S16 ? "int16" : "int8";
}

/* A caller buffer placed `offset` bytes past a 64-byte boundary. Element
 * access goes through memcpy (get/put below), as a misaligned int16 or
 * float dereference is undefined and traps on some armv7 cores. */
typedef struct buffer {
    unsigned char *alloc;
    unsigned char *p;
    size_t bytes;
    size_t map_bytes;     /* nonzero: alloc is an mmap with a guard page */
} buffer;

static int buf_init(buffer *b, size_t bytes, size_t offset)
{
    memset(b, 0, sizeof(*b));
    b->alloc = (unsigned char *)malloc(bytes + 64 + offset);
    if (!b->alloc)
        return 0;
    b->p = (unsigned char *)(((uintptr_t)b->alloc + 63) & ~(uintptr_t)63) + offset;
    b->bytes = bytes;
    return 1;
}

/* A buffer whose last byte is followed by an inaccessible page: a kernel
 * that reads past the end of the last x row faults instead of passing. */
static int buf_init_guarded(buffer *b, size_t bytes)
{
#ifdef HAVE_GUARD_PAGE
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t data_pages = (bytes + page - 1) / page;
    void *m;
    memset(b, 0, sizeof(*b));
    b->map_bytes = (data_pages + 1) * page;
    m = mmap(NULL, b->map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 0;
    b->alloc = (unsigned char *)m;
    if (mprotect(b->alloc + data_pages * page, page, PROT_NONE) != 0) {
        munmap(m, b->map_bytes);
        return 0;
    }
    b->p = b->alloc + data_pages * page - bytes;
    b->bytes = bytes;
    return 1;
#else
    return buf_init(b, bytes, 1);
#endif
}

static void buf_free(buffer *b)
{
#ifdef HAVE_GUARD_PAGE
    if (b->map_bytes) {
        munmap(b->alloc, b->map_bytes);
        b->alloc = NULL;
        return;
    }
#endif
    free(b->alloc);
    b->alloc = NULL;
}

/* Element i of a buffer of dtype (or of an output type) as int64 / double. */
static int64_t get_int(const unsigned char *p, size_t i, size_t es)
{
    if (es == 1) {
        return (int8_t)p[i];
    } else if (es == 2) {
        int16_t v;
        memcpy(&v, p + 2 * i, 2);
        return v;
    } else if (es == 4) {
        int32_t v;
        memcpy(&v, p + 4 * i, 4);
        return v;
    } else {
        int64_t v;
        memcpy(&v, p + 8 * i, 8);
        return v;
    }
}

static double get_f32(const unsigned char *p, size_t i)
{
    float v;
    memcpy(&v, p + 4 * i, 4);
    return v;
}

static void put_int(unsigned char *p, size_t i, size_t es, int64_t v)
{
    if (es == 1) {
        p[i] = (unsigned char)(int8_t)v;
    } else {
        int16_t h = (int16_t)v;
        memcpy(p + 2 * i, &h, 2);
    }
}

static void put_f32(unsigned char *p, size_t i, float v)
{
    memcpy(p + 4 * i, &v, 4);
}

static int run_gemm(int kernel, int dtype, const void *w, size_t rows, size_t cols, size_t w_stride,
                    const void *x, size_t batch, size_t x_stride, void *out, size_t out_stride,
                    asr_status *st)
{
    if (dtype == ASR_S8)
        return asr_gemm_s8s8s32(kernel, (const int8_t *)w, rows, cols, w_stride, (const int8_t *)x, batch,
                                x_stride, (int32_t *)out, out_stride, st);
    if (dtype == ASR_S16)
        return asr_gemm_s16s16s64(kernel, (const int16_t *)w, rows, cols, w_stride, (const int16_t *)x,
                                  batch, x_stride, (int64_t *)out, out_stride, st);
    return asr_gemm_f32(kernel, (const float *)w, rows, cols, w_stride, (const float *)x, batch, x_stride,
                        (float *)out, out_stride, st);
}

/* ------------------------------------------------------------ selftest */

typedef struct tally {
    long cases[3];
    long bad[3];
} tally;

typedef struct shape {
    size_t rows, cols, batch, w_stride, x_stride, out_stride;
    int extreme;   /* 0 random, 1..3 the extreme patterns */
    int guarded;   /* x ends on a guard page instead of being misaligned */
    size_t off_w, off_x, off_out;
} shape;

/* Fills weights and inputs of one dtype for a shape. */
static void fill(uint64_t *s, int dtype, const shape *sh, unsigned char *w, unsigned char *x)
{
    size_t es = elem_size(dtype), i, nw = sh->rows * sh->w_stride,
           nx = (sh->batch - 1) * sh->x_stride + sh->cols;
    for (i = 0; i < nw; i++) {
        if (dtype == ASR_F32) {
            put_f32(w, i, rng_float(s));
        } else {
            long m = dtype == ASR_S8 ? 127 : 32767;
            long v = rng_range(s, -m, m);
            if (sh->extreme == 1)
                v = rng_next(s) & 1 ? m : -m;        /* random signs, full magnitude */
            else if (sh->extreme == 2)
                v = m;                                /* every product has one sign: */
            else if (sh->extreme == 3)
                v = -m;                               /* the largest |pair sum|      */
            put_int(w, i, es, v);
        }
    }
    for (i = 0; i < nx; i++) {
        if (dtype == ASR_F32) {
            put_f32(x, i, rng_float(s));
        } else {
            long lo = dtype == ASR_S8 ? -128 : -32768, hi = -lo - 1;
            long v = rng_range(s, lo, hi);
            if (sh->extreme == 1)
                v = dtype == ASR_S8 ? lo : (rng_next(s) & 1 ? lo : hi);
            else if (sh->extreme)
                v = lo;
            put_int(x, i, es, v);
        }
    }
}

/* Compares one kernel's output with the reference output and with an int64
 * (or double) sum computed here; returns the number of bad elements and
 * reports the first. */
static long compare(int kernel, int dtype, const shape *sh, const unsigned char *w, const unsigned char *x,
                    const unsigned char *ref, const unsigned char *got)
{
    size_t es = elem_size(dtype), os = out_size(dtype), n, o, k;
    long bad = 0;
    for (n = 0; n < sh->batch; n++) {
        for (o = 0; o < sh->out_stride; o++) {
            size_t at = n * sh->out_stride + o;
            int ok;
            if (o >= sh->rows) { /* columns past rows must be untouched */
                ok = memcmp(got + at * os, ref + at * os, os) == 0;
            } else if (dtype == ASR_F32) {
                double sum = 0.0, mag = 0.0, g = get_f32(got, at), r = get_f32(ref, at);
                for (k = 0; k < sh->cols; k++) {
                    double p = get_f32(w, o * sh->w_stride + k) * get_f32(x, n * sh->x_stride + k);
                    sum += p;
                    mag += fabs(p);
                }
                /* 1e-5 of sum |w x| bounds the error of any summation order. */
                ok = fabs(g - sum) <= 1e-5 * mag + 1e-30 && fabs(r - sum) <= 1e-5 * mag + 1e-30;
            } else {
                int64_t sum = 0;
                for (k = 0; k < sh->cols; k++)
                    sum += get_int(w, o * sh->w_stride + k, es) * get_int(x, n * sh->x_stride + k, es);
                ok = get_int(got, at, os) == sum && get_int(ref, at, os) == sum;
            }
            if (!ok) {
                if (!bad) {
                    if (dtype == ASR_F32)
                        fprintf(stderr, "  %s %s: out[%zu][%zu] = %.9g, ref %.9g\n", asr_kernel_name(kernel),
                                dtype_name(dtype), n, o, get_f32(got, at), get_f32(ref, at));
                    else
                        fprintf(stderr, "  %s %s: out[%zu][%zu] = %lld, ref %lld\n", asr_kernel_name(kernel),
                                dtype_name(dtype), n, o, (long long)get_int(got, at, os),
                                (long long)get_int(ref, at, os));
                }
                bad++;
            }
        }
    }
    return bad;
}

/* Float only: frame n computed alone must give exactly the bits it has
 * inside the batch (the summation order depends on cols alone). */
static long check_alone(int kernel, const shape *sh, const unsigned char *w, const unsigned char *x,
                        const unsigned char *got, size_t n)
{
    float one[80];
    asr_status st;
    if (asr_gemm_f32(kernel, (const float *)w, sh->rows, sh->cols, sh->w_stride,
                     (const float *)(x + 4 * n * sh->x_stride), 1, sh->cols, one, sh->rows, &st) != ASR_OK) {
        fprintf(stderr, "  %s float alone: %s\n", asr_kernel_name(kernel), st.message);
        return 1;
    }
    if (memcmp(one, got + 4 * n * sh->out_stride, 4 * sh->rows) != 0) {
        fprintf(stderr, "  %s float: frame %zu alone differs from inside the batch\n", asr_kernel_name(kernel), n);
        return 1;
    }
    return 0;
}

/* One shape, one dtype, every kernel. Returns 0 when it could not run. */
static int one_case(uint64_t *s, int dtype, const shape *sh, unsigned mask, tally *t, long case_no)
{
    size_t es = elem_size(dtype), os = out_size(dtype);
    size_t nw = sh->rows * sh->w_stride, nx = (sh->batch - 1) * sh->x_stride + sh->cols,
           no = sh->batch * sh->out_stride;
    buffer bw, bx, bref, bout;
    asr_status st;
    int kernel, ok = 1;

    if (!buf_init(&bw, nw * es, sh->off_w))
        return 0;
    if (!(sh->guarded ? buf_init_guarded(&bx, nx * es) : buf_init(&bx, nx * es, sh->off_x))) {
        buf_free(&bw);
        return 0;
    }
    if (!buf_init(&bref, no * os, sh->off_out) || !buf_init(&bout, no * os, sh->off_out)) {
        buf_free(&bw);
        buf_free(&bx);
        return 0;
    }
    fill(s, dtype, sh, bw.p, bx.p);
    memset(bref.p, 0x5a, no * os);
    if (run_gemm(ASR_KERNEL_REF, dtype, bw.p, sh->rows, sh->cols, sh->w_stride, bx.p, sh->batch, sh->x_stride,
                 bref.p, sh->out_stride, &st) != ASR_OK) {
        fprintf(stderr, "case %ld: ref %s: %s\n", case_no, dtype_name(dtype), st.message);
        ok = 0;
    }
    for (kernel = 0; ok && kernel < ASR_KERNEL_COUNT; kernel++) {
        long bad;
        if (!(mask >> kernel & 1))
            continue;
        memset(bout.p, 0x5a, no * os); /* the same sentinel as bref: padding must survive */
        if (run_gemm(kernel, dtype, bw.p, sh->rows, sh->cols, sh->w_stride, bx.p, sh->batch, sh->x_stride,
                     bout.p, sh->out_stride, &st) != ASR_OK) {
            fprintf(stderr, "case %ld: %s %s: %s\n", case_no, asr_kernel_name(kernel), dtype_name(dtype),
                    st.message);
            bad = 1;
        } else {
            bad = compare(kernel, dtype, sh, bw.p, bx.p, bref.p, bout.p);
            if (dtype == ASR_F32 && !bad && sh->rows <= 80)
                bad = check_alone(kernel, sh, bw.p, bx.p, bout.p, (size_t)rng_range(s, 0, (long)sh->batch - 1));
        }
        if (bad)
            fprintf(stderr, "case %ld: %s %s rows %zu cols %zu batch %zu strides w %zu x %zu out %zu "
                    "offsets %zu %zu %zu%s extreme %d: %ld bad\n", case_no, asr_kernel_name(kernel),
                    dtype_name(dtype), sh->rows, sh->cols, sh->batch, sh->w_stride, sh->x_stride,
                    sh->out_stride, sh->off_w, sh->off_x, sh->off_out, sh->guarded ? " (guarded x)" : "",
                    sh->extreme, bad);
        t[kernel].cases[dtype]++;
        t[kernel].bad[dtype] += bad != 0;
    }
    buf_free(&bw);
    buf_free(&bx);
    buf_free(&bref);
    buf_free(&bout);
    return ok;
}

static int selftest(uint64_t seed, long count)
{
    static const size_t special_cols[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65,
                                          127, 128, 129, 255, 256, 257, 299, 300};
    unsigned mask = asr_kernels_available();
    tally t[ASR_KERNEL_COUNT];
    uint64_t s = seed;
    long i, failures = 0;
    int kernel, dtype;

    memset(t, 0, sizeof(t));
    printf("kernels:");
    for (kernel = 0; kernel < ASR_KERNEL_COUNT; kernel++)
        if (mask >> kernel & 1)
            printf(" %s", asr_kernel_name(kernel));
    printf("\n");

    for (i = 0; i < count; i++) {
        shape sh;
        sh.rows = (size_t)rng_range(&s, 1, 70);
        sh.cols = rng_next(&s) & 1 ? (size_t)rng_range(&s, 1, 300)
                                   : special_cols[rng_next(&s) % (sizeof(special_cols) / sizeof(special_cols[0]))];
        sh.batch = (size_t)rng_range(&s, 1, 19);
        sh.w_stride = sh.cols + (size_t)rng_range(&s, 0, 3);
        sh.x_stride = sh.cols + (size_t)rng_range(&s, 0, 5);
        sh.out_stride = sh.rows + (size_t)rng_range(&s, 0, 3);
        sh.extreme = i % 4 == 3 ? (int)(i / 4 % 3) + 1 : 0;
        sh.guarded = i % 3 == 2;
        sh.off_w = (size_t)rng_range(&s, 0, 3);
        sh.off_x = (size_t)rng_range(&s, 1, 3);
        sh.off_out = (size_t)rng_range(&s, 1, 3);
        for (dtype = 0; dtype < 3; dtype++)
            if (!one_case(&s, dtype, &sh, mask, t, i)) {
                fprintf(stderr, "case %ld: out of memory or setup failure\n", i);
                failures++;
            }
    }
    for (kernel = 0; kernel < ASR_KERNEL_COUNT; kernel++) {
        long bad = 0;
        if (!(mask >> kernel & 1))
            continue;
        for (dtype = 0; dtype < 3; dtype++)
            bad += t[kernel].bad[dtype];
        printf("%-10s int8 %ld/%ld  int16 %ld/%ld  float %ld/%ld  %s\n", asr_kernel_name(kernel),
               t[kernel].cases[ASR_S8] - t[kernel].bad[ASR_S8], t[kernel].cases[ASR_S8],
               t[kernel].cases[ASR_S16] - t[kernel].bad[ASR_S16], t[kernel].cases[ASR_S16],
               t[kernel].cases[ASR_F32] - t[kernel].bad[ASR_F32], t[kernel].cases[ASR_F32],
               bad ? "FAIL" : "ok");
        failures += bad;
    }
    printf("%s (seed %llu, %ld shapes)\n", failures ? "FAILED" : "all kernels match the reference",
           (unsigned long long)seed, count);
    return failures ? 1 : 0;
}

/* ---------------------------------------------------------------- gemm */

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads exactly n bytes: 1, or 0 at a clean end of file (no byte of a
 * header), or -1 (message printed) for a truncated or unreadable file. */
static int read_all(FILE *f, void *p, size_t n, const char *what, long req)
{
    size_t got = fread(p, 1, n, f);
    if (got == n)
        return 1;
    if (got == 0 && strcmp(what, "header") == 0 && feof(f) && !ferror(f))
        return 0;
    fprintf(stderr, "kernel_check: request %ld: truncated %s\n", req, what);
    return -1;
}

static int gemm_file(const char *in_path, const char *out_path)
{
    FILE *in = fopen(in_path, "rb"), *out = fopen(out_path, "wb");
    long req;
    int rc = 0;

    if (!in || !out) {
        fprintf(stderr, "kernel_check: cannot open %s\n", !in ? in_path : out_path);
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        return 1;
    }
    for (req = 0;; req++) {
        unsigned char hdr[24];
        int dtype, kernel;
        size_t rows, cols, batch, es, os, off = (size_t)(req % 3) + 1;
        buffer bw, bx, bo;
        asr_status st;

        int got = read_all(in, hdr, sizeof(hdr), "header", req);
        if (got <= 0) {
            rc = got < 0;
            break;
        }
        if (memcmp(hdr, "ASRG", 4) != 0) {
            fprintf(stderr, "kernel_check: request %ld: bad magic\n", req);
            rc = 1;
            break;
        }
        dtype = (int)(int32_t)le32(hdr + 4);
        kernel = (int)(int32_t)le32(hdr + 8);
        rows = le32(hdr + 12);
        cols = le32(hdr + 16);
        batch = le32(hdr + 20);
        if (dtype < 0 || dtype > 2 || rows == 0 || rows > ASR_MAX_DIM || cols == 0 || cols > ASR_MAX_K ||
            batch == 0 || batch > 65536) {
            fprintf(stderr, "kernel_check: request %ld: bad header (dtype %d, %zu x %zu, batch %zu)\n", req,
                    dtype, rows, cols, batch);
            rc = 1;
            break;
        }
        es = elem_size(dtype);
        os = out_size(dtype);
        if (!buf_init(&bw, rows * cols * es, off)) {
            rc = 1;
            break;
        }
        if (!buf_init(&bx, batch * cols * es, off)) {
            buf_free(&bw);
            rc = 1;
            break;
        }
        if (!buf_init(&bo, batch * rows * os, 4 - off)) {
            buf_free(&bw);
            buf_free(&bx);
            rc = 1;
            break;
        }
        if (read_all(in, bw.p, bw.bytes, "weights", req) != 1 || read_all(in, bx.p, bx.bytes, "input", req) != 1) {
            rc = 1;
        } else if (run_gemm(kernel, dtype, bw.p, rows, cols, cols, bx.p, batch, cols, bo.p, rows, &st) != ASR_OK) {
            fprintf(stderr, "kernel_check: request %ld: %s\n", req, st.message);
            rc = 1;
        } else if (fwrite(bo.p, 1, bo.bytes, out) != bo.bytes) {
            fprintf(stderr, "kernel_check: cannot write %s\n", out_path);
            rc = 1;
        }
        buf_free(&bw);
        buf_free(&bx);
        buf_free(&bo);
        if (rc)
            break;
    }
    fclose(in);
    if (fclose(out) != 0) {
        fprintf(stderr, "kernel_check: cannot write %s\n", out_path);
        rc = 1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "kernels") == 0)
        return print_kernels();
    if (argc == 4 && strcmp(argv[1], "selftest") == 0) {
        char *end1, *end2;
        unsigned long long seed = strtoull(argv[2], &end1, 10);
        long count = strtol(argv[3], &end2, 10);
        if (*end1 || *end2 || count < 0) {
            fprintf(stderr, "kernel_check: SEED and N must be non-negative integers\n");
            return 2;
        }
        return selftest((uint64_t)seed, count);
    }
    if (argc == 4 && strcmp(argv[1], "gemm") == 0)
        return gemm_file(argv[2], argv[3]);
    fprintf(stderr, "usage: kernel_check kernels\n"
                    "       kernel_check selftest SEED N\n"
                    "       kernel_check gemm FILE_IN FILE_OUT\n");
    return 2;
}
