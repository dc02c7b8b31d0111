/*
 * qemu_insn_count.c - a qemu-user TCG plugin that counts the guest
 * instructions a program executes, for asr/cross.py. Built for the host by
 * native/Makefile (make insn-plugin) and loaded with
 *
 *     qemu-aarch64 -plugin qemu_insn_count.so -d plugin -D LOG  PROGRAM ...
 *
 * At exit it writes one line "insns N" to the qemu log (LOG).
 *
 * Counting: when qemu translates a block it calls on_translate, which asks
 * for on_exec to run with the block's instruction count each time the block
 * executes; on_exec adds it to the total. A block can be left early (a
 * fault, or a syscall that does not return); the driver run under it does
 * neither in its measured part, so the count is exact for it. Blocks are
 * the same on every run of the same binary and input, so the count is
 * reproducible. It is the number of architectural instructions, not of
 * cycles: it says nothing about how long a real core takes.
 *
 * The declarations below are the few functions of qemu's stable plugin C
 * API (docs/devel/tcg-plugins in the qemu sources) that this file uses,
 * stated here because Debian's qemu-user ships no qemu-plugin.h. They
 * are resolved against the qemu binary when it loads the plugin. Only
 * callbacks that exist unchanged from qemu 4.2 on are used; the one
 * version-dependent item is qemu_plugin_version, which must lie in the
 * range the loading qemu accepts (asr/cross.py tries each in turn).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef QEMU_PLUGIN_VERSION_WANTED
#define QEMU_PLUGIN_VERSION_WANTED 1
#endif

#define EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_info_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS = 0 };

typedef void (*tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, udata_cb_t cb, void *userdata);
void qemu_plugin_outs(const char *string);

EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION_WANTED;

/* qemu-user runs one vCPU per guest thread; the driver has one thread, so
 * a plain counter suffices (a threaded guest would need one per vCPU). */
static uint64_t executed;

static void on_exec(unsigned int vcpu_index, void *n_insns)
{
    (void)vcpu_index;
    executed += (uintptr_t)n_insns;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_exec, QEMU_PLUGIN_CB_NO_REGS,
                                         (void *)(uintptr_t)qemu_plugin_tb_n_insns(tb));
}

static void on_exit(qemu_plugin_id_t id, void *userdata)
{
    char line[64];
    (void)id;
    (void)userdata;
    snprintf(line, sizeof(line), "insns %llu\n", (unsigned long long)executed);
    qemu_plugin_outs(line);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info, int argc,
                               char **argv)
{
    (void)info;
    (void)argc;
    (void)argv;
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_exit, NULL);
    return 0;
}
