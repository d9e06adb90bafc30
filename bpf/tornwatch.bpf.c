// SPDX-License-Identifier: GPL-2.0
/*
 * tornwatch: join the writes of traced processes to the bios and requests that
 * carry their bytes to the device. Tracepoints only (tp_btf).
 *
 * What this side decides: which writes are traced (by tgid), which bios carry
 * bytes of traced files (by page identity: folio -> mapping -> inode + index,
 * never by the pid at the block layer, since writeback runs in kworkers), and
 * for direct I/O, by the writer's own in-flight kiocb. It emits one record per
 * fact; the verdict per unit is pure logic in user space (user/engine/).
 *
 * One compilation unit, its stages in bpf/stage/ in the order data flows (each file says
 * what it owns). The order below is also the order of the object's maps, its global data
 * and its subprograms: tests/bpfsame.sh compares objects built before and after a move.
 */
#include "tw_common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Shared by several stages: the options set before load, the table of followed bios. */
#include "stage/shared.bpf.h"

/* Write entry: the file a write goes to, the syscalls, direct writes by kiocb, io_uring. */
#include "stage/write.bpf.h"
#include "stage/sync.bpf.h"
#include "stage/syscall.bpf.h"
#include "stage/dio.bpf.h"
#include "stage/uring.bpf.h"

/* Page cache: writeback that begins, folios dropped unwritten. */
#include "stage/pagecache.bpf.h"

/* Block layer: bios and their file extents, then the requests that carry them. */
#include "stage/bvec.bpf.h"
#include "stage/bio.bpf.h"
#include "stage/request.bpf.h"

/* Traced tasks: forks, execs, exits. */
#include "stage/task.bpf.h"
