#!/usr/bin/env python3
"""recstat.py FILE: the records of a tornwatch --record file, counted by type.

With --flush-devs: instead, the devices ("MAJ:MIN", sorted) of its FLUSH records, one a line.
With --sizes: "NAME SIZE COUNT" per type and record size seen.

Reads the file format of docs/record-format.md on its own (no tornwatch code): the 96-byte
file header, then records that each start with ts_ns (u64), type (u32), size (u32), pid, tid.
Prints one line per type seen, "NAME COUNT", in type order. Exit 1 on a malformed file.
"""
import struct
import sys

NAMES = ["?", "FILE", "WRITE_BEGIN", "WRITE_END", "DIO_BEGIN", "BIO_QUEUE", "BIO_SPLIT",
         "RQ_ISSUE", "RQ_COMPLETE", "ATOMIC_COW", "PATH", "STATS", "TASK", "MODIFIED",
         "WAIT_BEGIN", "WAIT_END", "DEVICE", "DIO_END", "FLUSH", "ATOMIC_LIMITS", "DISCARD",
         "WB_START", "BIO_GONE", "SYNC_END", "AIO_END", "URING_END", "MMAP_DIRTY"]


def main(path, flush_devs=False, sizes=False):
    data = open(path, "rb").read()
    if len(data) < 96 or data[:8] != b"TORNWREC":
        sys.exit(f"recstat: {path} is not a tornwatch record")
    at, counts, devs, bysize = struct.unpack_from("<I", data, 12)[0], {}, set(), {}
    while at < len(data):
        if at + 24 > len(data):
            sys.exit(f"recstat: {path}: truncated record header at byte {at}")
        _, typ, size = struct.unpack_from("<QII", data, at)
        if size < 24 or at + size > len(data):
            sys.exit(f"recstat: {path}: bad record size {size} at byte {at}")
        counts[typ] = counts.get(typ, 0) + 1
        bysize[(typ, size)] = bysize.get((typ, size), 0) + 1
        if typ == 18 and size >= 40:  # FLUSH: rq (u64), dev (u32: major << 20 | minor)
            dev = struct.unpack_from("<I", data, at + 32)[0]
            devs.add((dev >> 20, dev & 0xFFFFF))
        at += size
    if flush_devs:
        for maj, mnr in sorted(devs):
            print(f"{maj}:{mnr}")
        return
    if sizes:
        for (typ, size), n in sorted(bysize.items()):
            print(NAMES[typ] if typ < len(NAMES) else f"TYPE{typ}", size, n)
        return
    for typ in sorted(counts):
        print(NAMES[typ] if typ < len(NAMES) else f"TYPE{typ}", counts[typ])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--flush-devs"]:
        main(sys.argv[2], flush_devs=True)
    elif sys.argv[1:2] == ["--sizes"]:
        main(sys.argv[2], sizes=True)
    else:
        main(sys.argv[1])
