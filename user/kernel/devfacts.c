// SPDX-License-Identifier: GPL-2.0
/* A device's promises and what follows from them (devfacts.h): the power-fail atomic size,
 * write-through, the --atomic-size parser. Pure logic, no libbpf. */
/*
 * The rule for the power-fail atomic size: a device that advertises atomic writes
 * (queue/atomic_write_unit_max_bytes, from NVMe AWUPF or SCSI's atomic limits) keeps that
 * many bytes of one write together across a power cut; one that does not promises only its
 * physical block (a sector is written whole or not at all). --atomic-size overrides both,
 * for a drive whose vendor promises more (power-loss protection).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "common.h"
#include "devfacts.h"

const char *const tw_atomic_src_names[TW_AS_NR] = {
	[TW_AS_UNKNOWN] = "unknown", [TW_AS_SYSFS_ATOMIC] = "sysfs-atomic",
	[TW_AS_PHYSICAL_BLOCK] = "physical-block", [TW_AS_OPTION] = "option",
};

const char *tw_write_cache_name(uint32_t write_cache)
{
	switch (write_cache) {
	case TW_WC_BACK: return "write back";
	case TW_WC_THROUGH: return "write through";
	default: return "unknown";
	}
}

void tw_device_set_atomic_size(struct tw_device *d, uint32_t override)
{
	if (override) {
		d->atomic_size = override;
		d->atomic_src = TW_AS_OPTION;
	} else if (d->atomic_unit_max) {
		d->atomic_size = d->atomic_unit_max;
		d->atomic_src = TW_AS_SYSFS_ATOMIC;
	} else if (d->physical_block) {
		d->atomic_size = d->physical_block;
		d->atomic_src = TW_AS_PHYSICAL_BLOCK;
	} else {
		d->atomic_size = 0;
		d->atomic_src = TW_AS_UNKNOWN;
	}
}

bool tw_device_write_through(const struct tw_device *d)
{
	return d && d->write_cache == TW_WC_THROUGH;
}

#define AS_EXAMPLE "give e.g. --atomic-size 259:0=16k or --atomic-size /dev/nvme0n1=16k"

/* MAJ:MIN, digits only, or a block device node. */
static int parse_dev(const char *s, uint32_t *kdev, char *err, size_t errlen)
{
	const char *colon = strchr(s, ':');
	struct stat st;

	if (s[0] == '/') {
		if (stat(s, &st)) {
			snprintf(err, errlen, "--atomic-size: cannot stat %s: %s; %s", s,
				 strerror(errno), AS_EXAMPLE);
			return -1;
		}
		if (!S_ISBLK(st.st_mode)) {
			snprintf(err, errlen, "--atomic-size: %s is not a block device; %s", s,
				 AS_EXAMPLE);
			return -1;
		}
		*kdev = (major(st.st_rdev) << 20) | minor(st.st_rdev);
		return 0;
	}
	if (colon && colon > s && colon[1] && strspn(s, "0123456789") == (size_t)(colon - s) &&
	    strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
		unsigned long maj = strtoul(s, NULL, 10), min = strtoul(colon + 1, NULL, 10);

		if (maj < 4096 && min < (1UL << 20)) {
			*kdev = (uint32_t)((maj << 20) | min);
			return 0;
		}
	}
	snprintf(err, errlen, "--atomic-size: '%s' is neither MAJ:MIN nor a /dev path; %s (lsblk "
		 "shows MAJ:MIN)", s, AS_EXAMPLE);
	return -1;
}

int tw_parse_atomic_size(const char *arg, struct tw_atomic_size_opt *out, char *err,
			 size_t errlen)
{
	const char *eq = strrchr(arg, '=');
	char dev[256];
	uint64_t bytes;

	if (!eq || eq == arg || !eq[1] || (size_t)(eq - arg) >= sizeof(dev)) {
		snprintf(err, errlen, "--atomic-size: '%s' is not DEV=SIZE; %s", arg, AS_EXAMPLE);
		return -1;
	}
	memcpy(dev, arg, eq - arg);
	dev[eq - arg] = '\0';
	if (parse_dev(dev, &out->dev, err, errlen) ||
	    parse_size(eq + 1, "--atomic-size", 512, 1ULL << 30, &bytes, err, errlen))
		return -1;
	if (bytes % 512) {
		snprintf(err, errlen, "--atomic-size: %s is not a multiple of 512 bytes; %s", eq + 1,
			 AS_EXAMPLE);
		return -1;
	}
	out->bytes = (uint32_t)bytes;
	return 0;
}
