/*
 * container.c - opening and checking container files (container.h): map,
 * verify, parse the header, and hand out bounds-checked array views.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define CT_HAVE_MMAP 1
#endif

#include "common.h"
#include "container.h"
#include "sha256.h"

static const char *const DTYPE_NAMES[CT_NDTYPES] = {"float32", "int8", "int16", "int32", "int64",
                                                    "uint8"};
static const size_t DTYPE_SIZES[CT_NDTYPES] = {4, 1, 2, 4, 8, 1};

int ct_fail(const ct_file *f, asr_status *st, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return asr_fail(st, ASR_E_FORMAT, "%s: %s", f->name, msg);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void set_name(ct_file *f, const char *name)
{
    size_t n = strlen(name);
    /* Keep the end of a long path: the file name is the useful part. */
    if (n >= sizeof(f->name))
        snprintf(f->name, sizeof(f->name), "...%s", name + n - (sizeof(f->name) - 4));
    else
        memcpy(f->name, name, n + 1);
}

/* The checks of asr/container.py read(), in its order, so both refuse a
 * damaged file with the same reason. */
static int verify(ct_file *f, const char magic[8], uint32_t version, const char *kind,
                  asr_status *st)
{
    uint32_t found, hlen;
    uint64_t dlen, start, expected;
    uint8_t digest[32];
    const json_value *table;
    int rc;
    if (f->size < 8 || memcmp(f->data, magic, 8) != 0)
        return ct_fail(f, st, "not a %s (bad magic)", kind);
    if (f->size < 24)
        return ct_fail(f, st, "truncated: %zu bytes, shorter than the fixed header", f->size);
    found = rd32(f->data + 8);
    hlen = rd32(f->data + 12);
    dlen = (uint64_t)rd32(f->data + 16) | (uint64_t)rd32(f->data + 20) << 32;
    if (found != version)
        return ct_fail(f, st, "format version %u; this library reads version %u", found, version);
    if (hlen > CT_MAX_HEADER)
        return ct_fail(f, st, "a header of %u bytes is larger than the %u allowed", hlen,
                       CT_MAX_HEADER);
    start = 24 + (uint64_t)hlen;
    start += (CT_ALIGN - start % CT_ALIGN) % CT_ALIGN;
    if (dlen > UINT64_MAX - start - 32)
        return ct_fail(f, st, "impossible data length %llu", (unsigned long long)dlen);
    expected = start + dlen + 32;
    if ((uint64_t)f->size < expected)
        return ct_fail(f, st, "truncated: %zu bytes, the header announces %llu", f->size,
                       (unsigned long long)expected);
    if ((uint64_t)f->size > expected)
        return ct_fail(f, st, "%llu unexpected bytes after the checksum",
                       (unsigned long long)((uint64_t)f->size - expected));
    asr_sha256(f->data, f->size - 32, digest);
    if (memcmp(digest, f->data + f->size - 32, 32) != 0)
        return ct_fail(f, st, "checksum mismatch: the file is corrupted");
    rc = json_parse((const char *)f->data + 24, hlen, &f->header, st);
    if (rc != ASR_OK) {
        char inner[sizeof(st->message)];
        if (rc != ASR_E_FORMAT)
            return rc;
        memcpy(inner, st->message, sizeof(inner));
        inner[sizeof(inner) - 1] = '\0';
        return ct_fail(f, st, "the JSON header does not parse: %.150s", inner);
    }
    table = json_get(&f->header, "tensors");
    if (!table || table->type != JSON_OBJECT)
        return ct_fail(f, st, "the header has no tensor table");
    f->body = f->data + start;
    f->body_len = dlen;
    return ASR_OK;
}

int ct_open_memory(ct_file *f, const void *data, size_t n, const char *name,
                   const char magic[8], uint32_t version, const char *kind, asr_status *st)
{
    memset(f, 0, sizeof(*f));
    set_name(f, name ? name : "<memory>");
    /* A copy from malloc, aligned for every dtype, so a caller's buffer at
     * any address gives aligned arrays. One byte more so n = 0 works. */
    f->heap = malloc(n + 1);
    if (!f->heap)
        return asr_fail(st, ASR_E_NOMEM, "%s: out of memory copying %zu bytes", f->name, n);
    if (n)
        memcpy(f->heap, data, n);
    f->data = f->heap;
    f->size = n;
    return verify(f, magic, version, kind, st);
}

/* Reads the whole file into the heap: for systems without mmap, and for
 * files mmap refuses (empty ones, pipes). */
static int read_whole(ct_file *f, FILE *fp, asr_status *st)
{
    size_t cap = 0, n = 0, got;
    for (;;) {
        if (asr_grow((void **)&f->heap, &cap, n + 65536, 1))
            return asr_fail(st, ASR_E_NOMEM, "%s: out of memory reading the file", f->name);
        got = fread(f->heap + n, 1, cap - n, fp);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(fp))
        return asr_fail(st, ASR_E_IO, "%s: cannot read: %s", f->name, strerror(errno));
    f->data = f->heap;
    f->size = n;
    return ASR_OK;
}

int ct_open(ct_file *f, const char *path, const char magic[8], uint32_t version,
            const char *kind, asr_status *st)
{
    FILE *fp;
    int rc;
    memset(f, 0, sizeof(*f));
    if (!path)
        return asr_fail(st, ASR_E_ARG, "null path");
    set_name(f, path);
#ifdef CT_HAVE_MMAP
    {
        int fd = open(path, O_RDONLY);
        struct stat sb;
        if (fd < 0)
            return asr_fail(st, ASR_E_IO, "%s: cannot open %s: %s", f->name, kind, strerror(errno));
        if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
            (unsigned long long)sb.st_size <= (unsigned long long)SIZE_MAX) {
            void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (m != MAP_FAILED) {
                f->map = m;
                f->map_len = (size_t)sb.st_size;
                f->data = m;
                f->size = (size_t)sb.st_size;
            }
        }
        close(fd);
        if (f->map)
            return verify(f, magic, version, kind, st);
    }
#endif
    fp = fopen(path, "rb");
    if (!fp)
        return asr_fail(st, ASR_E_IO, "%s: cannot open %s: %s", f->name, kind, strerror(errno));
    rc = read_whole(f, fp, st);
    fclose(fp);
    if (rc != ASR_OK)
        return rc;
    return verify(f, magic, version, kind, st);
}

void ct_close(ct_file *f)
{
    json_free(&f->header);
#ifdef CT_HAVE_MMAP
    if (f->map)
        munmap(f->map, f->map_len);
#endif
    free(f->heap);
    memset(f, 0, sizeof(*f));
}

int ct_tensor_get(const ct_file *f, const char *name, int want, ct_tensor *t, asr_status *st)
{
    const json_value *e = json_get(json_get(&f->header, "tensors"), name);
    const json_value *shape;
    const char *dt;
    long long off, nbytes, dim;
    size_t i, bytes;
    int d;
    memset(t, 0, sizeof(*t));
    if (!e)
        return ct_fail(f, st, "tensor %.60s is missing", name);
    dt = json_str(json_get(e, "dtype"));
    for (d = 0; d < CT_NDTYPES; d++)
        if (dt && strcmp(dt, DTYPE_NAMES[d]) == 0)
            break;
    if (d == CT_NDTYPES)
        return ct_fail(f, st, "tensor %.60s has an unknown dtype", name);
    shape = json_get(e, "shape");
    if (!shape || shape->type != JSON_ARRAY || shape->n > CT_MAX_NDIM)
        return ct_fail(f, st, "tensor %.60s has an impossible shape", name);
    t->dtype = (ct_dtype)d;
    t->ndim = shape->n;
    t->count = 1;
    /* Each dimension is at most 2^31 and the product is checked against the
     * data length at every step, so it cannot overflow. */
    for (i = 0; i < shape->n; i++) {
        if (!json_int(&shape->items[i], 0, 2147483648.0, &dim))
            return ct_fail(f, st, "tensor %.60s has an impossible shape", name);
        t->shape[i] = (size_t)dim;
        if (dim && t->count > f->body_len / (uint64_t)dim)
            return ct_fail(f, st, "tensor %.60s lies outside the data section or has a wrong size",
                           name);
        t->count *= (size_t)dim;
    }
    if (t->count > f->body_len / DTYPE_SIZES[d])
        return ct_fail(f, st, "tensor %.60s lies outside the data section or has a wrong size", name);
    bytes = t->count * DTYPE_SIZES[d];
    if (!json_int(json_get(e, "offset"), 0, 9007199254740992.0, &off) ||
        !json_int(json_get(e, "nbytes"), 0, 9007199254740992.0, &nbytes) ||
        (unsigned long long)nbytes != (unsigned long long)bytes || off % CT_ALIGN ||
        (uint64_t)off > f->body_len || bytes > f->body_len - (uint64_t)off)
        return ct_fail(f, st, "tensor %.60s lies outside the data section or has a wrong size", name);
    if (want >= 0 && d != want)
        return ct_fail(f, st, "tensor %.60s must be %s", name, DTYPE_NAMES[want]);
    t->data = f->body + off;
    return ASR_OK;
}

int ct_strings(const ct_file *f, const char *name, char ***out, size_t *n, asr_status *st)
{
    ct_tensor t;
    size_t i, k = 1, len;
    char **ptrs, *text;
    int rc = ct_tensor_get(f, name, CT_U8, &t, st);
    *out = NULL;
    *n = 0;
    if (rc)
        return rc;
    len = t.count;
    if (t.ndim != 1)
        return ct_fail(f, st, "tensor %.60s must be one-dimensional", name);
    /* NUL cannot be in a C string; Python would keep it, but no word or
     * label has one, so such a file is damaged. */
    if (memchr(t.data, 0, len) || !json_utf8_valid((const char *)t.data, len))
        return ct_fail(f, st, "tensor %.60s is not UTF-8 text", name);
    for (i = 0; i < len; i++)
        k += ((const char *)t.data)[i] == '\n';
    /* One block: k pointers, then the text with each newline made a NUL. */
    if (k > (SIZE_MAX - len - 1) / sizeof(char *))
        return asr_fail(st, ASR_E_NOMEM, "%s: out of memory", f->name);
    ptrs = malloc(k * sizeof(char *) + len + 1);
    if (!ptrs)
        return asr_fail(st, ASR_E_NOMEM, "%s: out of memory for %zu strings", f->name, k);
    text = (char *)(ptrs + k);
    if (len)
        memcpy(text, t.data, len);
    text[len] = '\0';
    ptrs[0] = text;
    for (i = 0, k = 1; i < len; i++)
        if (text[i] == '\n') {
            text[i] = '\0';
            ptrs[k++] = text + i + 1;
        }
    *out = ptrs;
    *n = k;
    return ASR_OK;
}
