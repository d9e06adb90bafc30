/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel feature probes: detect, never compare version numbers (STYLE.md). Each choice is
 * printed with -v, and always when a feature is missing. */
#ifndef TW_PROBE_H
#define TW_PROBE_H

#include <stdbool.h>

struct btf;
struct tornwatch_bpf;

/*
 * Between open and load: set each program's autoload to what this kernel has (syscall
 * tracepoints or the generic sys_enter/sys_exit, optional and renamed tp_btf tracepoints,
 * iomap_dio_rw_begin or iomap_iter) and REQ_ATOMIC's bit in rodata.
 */
void probe_choose_programs(struct tornwatch_bpf *s, struct btf *vmlinux, bool verbose);
/* -v: does this kernel take RWF_WRITETHROUGH (one write on an unlinked temporary file)? */
void probe_writethrough(void);

#endif
