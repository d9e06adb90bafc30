// SPDX-License-Identifier: GPL-2.0
/*
 * writer -V: every 512-byte sector of every write says what it is, so that a disk image
 * read back after a simulated power cut (tests/crash/) shows which write each sector came
 * from, and a sector that mixes two writes fails its checksum. Little endian:
 *
 *   [0, 8)     STAMP_MAGIC
 *   [8, 16)    the sector's file offset
 *   [16, 24)   the version: the write's number in the run, from 1 (-P's zeros: 0)
 *   [24, 504)  60 words of a pattern drawn from (offset, version)
 *   [504, 508) zero
 *   [508, 512) zlib crc32 of bytes [0, 508)
 *
 * tests/crash/stamps.py reads them back.
 */
#include <string.h>
#include <zlib.h>

#include "writer.h"

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

static void stamp_sector(unsigned char *s, uint64_t off, uint64_t version)
{
	uint64_t x = splitmix(off ^ (version * 0xc2b2ae3d27d4eb4fULL));
	unsigned long crc;

	put64(s, STAMP_MAGIC);
	put64(s + 8, off);
	put64(s + 16, version);
	for (int i = 24; i < 504; i += 8) {
		x = splitmix(x);
		put64(s + i, x);
	}
	memset(s + 504, 0, 4);
	crc = crc32(crc32(0L, Z_NULL, 0), s, 508);
	for (int i = 0; i < 4; i++)
		s[508 + i] = crc >> (8 * i);
}

void stamp_fill(char *buf, uint64_t size, uint64_t off, uint64_t version)
{
	for (uint64_t i = 0; i + STAMP_SECTOR <= size; i += STAMP_SECTOR)
		stamp_sector((unsigned char *)buf + i, off + i, version);
}
