// SPDX-License-Identifier: GPL-2.0
/*
 * modtp FILE N: attach tp_btf/xfs_file_buffered_write (a module tracepoint), make N
 * buffered writes to FILE (on XFS), and check that the program saw exactly N. Prints
 * "ok - ..." / "not ok - ..." lines; exit 1 on a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>
#include <bpf/libbpf.h>
#include "modtp.skel.h"

static int write_n(const char *path, int n)
{
	char buf[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return -errno;
	memset(buf, 'x', sizeof(buf));
	for (int i = 0; i < n; i++) {
		if (pwrite(fd, buf, sizeof(buf), (off_t)i * sizeof(buf)) != sizeof(buf)) {
			close(fd);
			return -EIO;
		}
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct modtp_bpf *skel;
	int n, err;

	if (argc != 3) {
		fprintf(stderr, "usage: modtp FILE N\n");
		return 2;
	}
	n = atoi(argv[2]);
	skel = modtp_bpf__open();
	if (!skel) {
		printf("not ok - module tracepoint: cannot open the BPF object\n");
		return 1;
	}
	skel->rodata->target_tgid = getpid();
	err = modtp_bpf__load(skel);
	if (err) {
		printf("not ok - module tracepoint: libbpf %s cannot load "
		       "tp_btf/xfs_file_buffered_write: %s\n", libbpf_version_string(),
		       strerror(-err));
		goto out;
	}
	printf("ok - module tracepoint: libbpf %s loads tp_btf/xfs_file_buffered_write "
	       "(%s)\n", libbpf_version_string(), access("/sys/kernel/btf/xfs", R_OK) ?
	       "xfs is built in: vmlinux BTF" : "from the module's BTF, /sys/kernel/btf/xfs");
	err = modtp_bpf__attach(skel);
	if (err) {
		printf("not ok - module tracepoint: cannot attach: %s\n", strerror(-err));
		goto out;
	}
	printf("ok - module tracepoint: attached\n");
	err = write_n(argv[1], n);
	if (err) {
		printf("not ok - module tracepoint: cannot write %s: %s\n", argv[1], strerror(-err));
		goto out;
	}
	if (skel->bss->hits == (__u64)n) {
		printf("ok - module tracepoint: %d buffered writes on XFS, %d hits\n", n, n);
	} else {
		printf("not ok - module tracepoint: %d buffered writes on XFS, expected %d hits, "
		       "got %llu\n", n, n, (unsigned long long)skel->bss->hits);
		err = -1;
	}
out:
	modtp_bpf__destroy(skel);
	return err ? 1 : 0;
}
