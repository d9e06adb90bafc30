# SPDX-License-Identifier: GPL-2.0
"""The sector stamps of `writer -V` (tests/writer_stamp.c), read back.

Every 512-byte sector: magic, its file offset, the version of the write that carried it,
a pattern, and a crc32 of its first 508 bytes. A sector that mixes two writes fails the
checksum; a unit whose sectors carry different versions is torn.
"""
import struct
import zlib

SECTOR = 512
MAGIC = 0x31504D5453575400

# What a sector says, besides a version number.
ZERO = "zero"	# all zeros: never written
BAD = "bad"	# not a stamp of this offset, or its checksum fails


def sector_version(buf, off):
    """The version stamped in one 512-byte sector read at file offset off, or ZERO / BAD."""
    magic, where, version = struct.unpack_from("<QQQ", buf, 0)
    if magic != MAGIC:
        return ZERO if buf.count(0) == SECTOR else BAD
    (crc,) = struct.unpack_from("<I", buf, 508)
    if where != off or crc != zlib.crc32(buf[:508]):
        return BAD
    return version


def unit_versions(buf, off):
    """The version of each sector of a unit read at file offset off (a list)."""
    return [sector_version(buf[i:i + SECTOR], off + i) for i in range(0, len(buf), SECTOR)]


def is_torn(versions):
    """Sectors from more than one write, or one that is not a whole stamp."""
    return BAD in versions or len(set(versions)) > 1


def summary(versions):
    """The distinct versions of a unit, in sector order of first appearance."""
    seen = []
    for v in versions:
        if v not in seen:
            seen.append(v)
    return seen


def stamp(off, version, size=SECTOR):
    """The bytes writer -V writes (for self-tests): see tests/writer_stamp.c."""
    out = bytearray()
    for s in range(off, off + size, SECTOR):
        sec = bytearray(SECTOR)
        struct.pack_into("<QQQ", sec, 0, MAGIC, s, version)
        x = _splitmix(s ^ ((version * 0xC2B2AE3D27D4EB4F) & _M64))
        for i in range(24, 504, 8):
            x = _splitmix(x)
            struct.pack_into("<Q", sec, i, x)
        struct.pack_into("<I", sec, 508, zlib.crc32(bytes(sec[:508])))
        out += sec
    return bytes(out)


_M64 = (1 << 64) - 1


def _splitmix(x):
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def mix64(i):
    """writer.c's mix64: where write i of a -R run lands."""
    return _splitmix(i)


def planned_offsets(count, size, off0=0, stride=0, rng=0):
    """The file offset of each version 1..count of a writer -V run (index 0: unused)."""
    stride = stride or size
    offs = [None]
    for i in range(count):
        offs.append(off0 + mix64(i) % (rng // size) * size if rng else off0 + i * stride)
    return offs
