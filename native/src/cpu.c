/*
 * cpu.c - which kernels this CPU can run, and which one a caller gets.
 *
 * A kernel is available when it is built (its table's flag, set by its own
 * kernels_*.c file from what the compiler could target) and supported (this
 * file's CPU detection: cpuid/xgetbv on x86, HWCAP on ARM Linux). Detection
 * runs once; the tables are handed out from then on, so no kernel ever
 * tests a feature.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#define ASR_X86 1
#include <cpuid.h>
#endif

#if defined(__linux__) && (defined(__aarch64__) || defined(__arm__))
#include <sys/auxv.h>
#endif

/* Indexed by asr_kernel: numbered from slowest to fastest per architecture,
 * so the best available kernel is the highest one. */
static const asr_kernels *const tables[ASR_KERNEL_COUNT] = {
    &asr_kernels_ref, &asr_kernels_sse41, &asr_kernels_avx2, &asr_kernels_avx512vnni,
    &asr_kernels_neon, &asr_kernels_neondot
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

/* The kernels this CPU supports, whether or not they are built. */
static unsigned detect(void)
{
    unsigned mask = 1u << ASR_KERNEL_REF;
#if defined(ASR_X86)
    mask |= detect_x86();
#elif defined(__aarch64__)
    mask |= 1u << ASR_KERNEL_NEON; /* Advanced SIMD is mandatory on aarch64 */
#if defined(__linux__)
    if (getauxval(AT_HWCAP) & (1ul << 20)) /* HWCAP_ASIMDDP */
        mask |= 1u << ASR_KERNEL_NEON_DOT;
#elif defined(__ARM_FEATURE_DOTPROD)
    mask |= 1u << ASR_KERNEL_NEON_DOT;
#endif
#elif defined(__arm__) && defined(__linux__)
    if (getauxval(AT_HWCAP) & (1ul << 12)) /* HWCAP_NEON */
        mask |= 1u << ASR_KERNEL_NEON;
#elif defined(__arm__) && defined(__ARM_NEON)
    mask |= 1u << ASR_KERNEL_NEON;
#endif
    return mask;
}

static unsigned built(void)
{
    unsigned mask = 0;
    int k;
    for (k = 0; k < ASR_KERNEL_COUNT; k++)
        if (tables[k]->built)
            mask |= 1u << k;
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
        mask = (detect() & built()) | 0x80000000u;
        __atomic_store_n(&cached, mask, __ATOMIC_RELAXED);
    }
    return mask & 0x7fffffffu;
}

/* ------------------------------------------------------------ selection */

const char *asr_kernel_name(int kernel)
{
    return kernel >= 0 && kernel < ASR_KERNEL_COUNT ? tables[kernel]->name : NULL;
}

const asr_kernels *asr_kernels_for(int kernel)
{
    if (kernel < 0 || kernel >= ASR_KERNEL_COUNT || !(asr_kernels_available() >> kernel & 1))
        return NULL;
    return tables[kernel];
}

/* "ref, sse41, ..." of the kernels in mask, for messages. */
static void list_names(char *buf, size_t cap, unsigned mask)
{
    size_t len = 0;
    int k;
    buf[0] = '\0';
    for (k = 0; k < ASR_KERNEL_COUNT; k++) {
        size_t n = strlen(tables[k]->name);
        if ((mask >> k & 1) && len + n + 3 < cap) {
            if (len) {
                memcpy(buf + len, ", ", 2);
                len += 2;
            }
            memcpy(buf + len, tables[k]->name, n + 1);
            len += n;
        }
    }
}

/* Case-insensitive a == b for a from the environment, b lower case. */
static int same_name(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char ca = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        if (ca != *b)
            return 0;
    }
    return *a == *b;
}

/* The kernel ASR_KERNEL names, ASR_KERNEL_AUTO when it is unset or "auto",
 * or ASR_KERNEL_COUNT when it names none. */
static int kernel_from_env(void)
{
    const char *env = getenv("ASR_KERNEL");
    int k;
    if (!env || !*env || same_name(env, "auto"))
        return ASR_KERNEL_AUTO;
    for (k = 0; k < ASR_KERNEL_COUNT; k++)
        if (same_name(env, tables[k]->name))
            break;
    return k;
}

int asr_kernel_resolve(int kernel, int *resolved, asr_status *st)
{
    char names[96];
    unsigned mask = asr_kernels_available();
    const char *what = "kernel ";

    if (!resolved)
        return asr_fail(st, ASR_E_ARG, "asr_kernel_resolve: null output pointer");
    *resolved = ASR_KERNEL_REF;
    if (kernel == ASR_KERNEL_AUTO) {
        kernel = kernel_from_env();
        if (kernel == ASR_KERNEL_COUNT) {
            list_names(names, sizeof(names), (1u << ASR_KERNEL_COUNT) - 1);
            return asr_fail(st, ASR_E_ARG, "ASR_KERNEL=%.40s is not a kernel (auto, %s)",
                            getenv("ASR_KERNEL"), names);
        }
        if (kernel == ASR_KERNEL_AUTO)
            for (kernel = ASR_KERNEL_COUNT - 1; !(mask >> kernel & 1); kernel--)
                ;
        else
            what = "ASR_KERNEL=";
    } else if (kernel < 0 || kernel >= ASR_KERNEL_COUNT) {
        return asr_fail(st, ASR_E_ARG, "unknown kernel %d (valid: -1 auto, 0..%d)", kernel,
                        ASR_KERNEL_COUNT - 1);
    }
    if (!(mask >> kernel & 1)) {
        list_names(names, sizeof(names), mask);
        return asr_fail(st, ASR_E_UNSUPPORTED, "%s%s is not available on this CPU or build "
                        "(available: %s)", what, tables[kernel]->name, names);
    }
    *resolved = kernel;
    return ASR_OK;
}
