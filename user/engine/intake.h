/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Intake (intake.c): the files and threads that records name, found or made by the rooms
 * that handle their records; task_ent holds a thread's name, open wait and writepages pass.
 */
#ifndef TW_ENGINE_INTAKE_H
#define TW_ENGINE_INTAKE_H

#include "engine.h"
#include "writeback.h"

struct task_ent {
	struct hkey k;			/* tid */
	uint32_t pid;
	char comm[TW_COMM_LEN];
	bool waiting;
	enum tw_wait_context ctx;
	struct wb_pass pass;
};

struct file_ent *file_get(struct tracker *t, uint32_t dev, uint64_t ino, bool create);
struct task_ent *task_find(struct tracker *t, uint32_t tid);
struct task_ent *task_get(struct tracker *t, uint32_t tid, uint32_t pid);

#endif
