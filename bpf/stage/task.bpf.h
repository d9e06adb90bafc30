/* SPDX-License-Identifier: GPL-2.0 */
/* Traced tasks: forks followed (--follow-forks), names announced again after exec, and a
 * thread's exit (its held write return, its process's traced slot). */
#ifndef TW_STAGE_TASK_BPF_H
#define TW_STAGE_TASK_BPF_H

#include "write.bpf.h"

SEC("tp_btf/sched_process_fork")
int TW_PROG(tw_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid, ctgid;
	__u8 one = 1;

	if (!follow_forks)
		return 0;
	ptgid = BPF_CORE_READ(parent, tgid);
	ctgid = BPF_CORE_READ(child, tgid);
	if (ptgid == ctgid || !is_traced_tgid(ptgid))
		return 0;
	if (bpf_map_update_elem(&traced, &ctgid, &one, BPF_ANY))
		stat_inc(TW_LOST_TRACED_FULL);
	return 0;
}

/* A traced thread that execs gets a new name: announce it again at its next record. */
SEC("tp_btf/sched_process_exec")
int TW_PROG(tw_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct task_state *ts = task_state_get(false);

	if (ts)
		ts->announced = 0;
	return 0;
}

SEC("tp_btf/sched_process_exit")
int TW_PROG(tw_exit, struct task_struct *task)
{
	struct task_state *ts = task_state_get(false);
	__u32 tid = task->pid;

	if (ts)
		send_held_end(ts);

	/* The group leader ends last: its tgid slot is free for the next follower. */
	if (tid == task->tgid)
		bpf_map_delete_elem(&traced, &tid);
	return 0;
}

#endif /* TW_STAGE_TASK_BPF_H */
