// SPDX-License-Identifier: GPL-2.0
/*
 * A tp_btf program on a tracepoint of a module (xfs: a module in Debian's kernels), for
 * tests/vm/modtp.c: libbpf must find the tracepoint in the module's BTF
 * (/sys/kernel/btf/xfs), not in vmlinux's, and the kernel must attach to it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tgid = 0;
__u64 hits = 0;

SEC("tp_btf/xfs_file_buffered_write")
int BPF_PROG(modtp_xfs_buffered_write)
{
	if (bpf_get_current_pid_tgid() >> 32 == target_tgid)
		__sync_fetch_and_add(&hits, 1);
	return 0;
}
