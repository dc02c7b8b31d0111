/*
 * heap_count.c - counts the heap and file-mapping bytes a program holds,
 * for the peak-RAM figure of pipeline_driver.c (asr-rtf --platform).
 *
 * Linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,
 * --wrap=mmap,--wrap=munmap: every call to those names in the program
 * (the library, the driver, and in a static build libc's own stdio) lands
 * here and goes on to the real function.
 *
 * Heap bytes are those the allocator reserved for each block
 * (malloc_usable_size: the request rounded up to the allocator's chunk),
 * added when a block is made and taken off when it is freed, so no size
 * header is needed and a block the counter never saw (allocated inside
 * libc through an internal name) cannot corrupt anything: freeing it only
 * makes the count low by its size. The allocator's own bookkeeping (8 bytes
 * per block in glibc) and the stack are not counted.
 *
 * Mapped bytes are those of mmap calls made by name, i.e. the library's
 * read-only file mappings (container.c); glibc's malloc maps its large
 * blocks through an internal name, so they are counted once, as heap.
 * A mapping the counter did not record is unmapped without counting.
 *
 * Single-threaded, as the driver is.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/types.h>

#include "heap_count.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_munmap(void *addr, size_t len);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __wrap_munmap(void *addr, size_t len);

/* The loaders hold at most 3 files mapped at once (model, lexicon, LM);
 * more slots than that, and a mapping beyond them is simply not counted. */
#define MAX_MAPS 16

static struct {
    size_t heap, heap_peak;
    size_t mapped, total_peak;     /* total = heap + mapped */
    void *map_addr[MAX_MAPS];
    size_t map_len[MAX_MAPS];
} hc;

static void note(void)
{
    if (hc.heap > hc.heap_peak)
        hc.heap_peak = hc.heap;
    if (hc.heap + hc.mapped > hc.total_peak)
        hc.total_peak = hc.heap + hc.mapped;
}

static void added(void *p)
{
    if (p) {
        hc.heap += malloc_usable_size(p);
        note();
    }
}

static void removed(void *p)
{
    if (p) {
        size_t n = malloc_usable_size(p);
        hc.heap -= n < hc.heap ? n : hc.heap;
    }
}

void *__wrap_malloc(size_t n)
{
    void *p = __real_malloc(n);
    added(p);
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    void *p = __real_calloc(n, size);
    added(p);
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    size_t before = p ? malloc_usable_size(p) : 0;
    void *q = __real_realloc(p, n);
    if (q || n == 0) {     /* on failure the old block stays, counted */
        hc.heap -= before < hc.heap ? before : hc.heap;
        added(q);
    }
    return q;
}

void __wrap_free(void *p)
{
    removed(p);
    __real_free(p);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    void *p = __real_mmap(addr, len, prot, flags, fd, off);
    int i;
    if (p != MAP_FAILED)
        for (i = 0; i < MAX_MAPS; i++)
            if (!hc.map_addr[i]) {
                hc.map_addr[i] = p;
                hc.map_len[i] = len;
                hc.mapped += len;
                note();
                break;
            }
    return p;
}

int __wrap_munmap(void *addr, size_t len)
{
    int i;
    for (i = 0; i < MAX_MAPS; i++)
        if (hc.map_addr[i] == addr) {
            hc.mapped -= hc.map_len[i];
            hc.map_addr[i] = NULL;
            break;
        }
    return __real_munmap(addr, len);
}

size_t heap_count_live(void)
{
    return hc.heap;
}

size_t heap_count_peak(void)
{
    return hc.heap_peak;
}

size_t heap_count_total_peak(void)
{
    return hc.total_peak;
}

void heap_count_reset_peaks(void)
{
    hc.heap_peak = hc.heap;
    hc.total_peak = hc.heap + hc.mapped;
}
