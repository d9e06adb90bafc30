#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Events as a perfect tracer would report them, from the device's own log: a check of the
power-cut machinery itself (cuts.py and check.py agree with the ground truth), with no BPF.

For each version of the stamped writer (writer -V), the post-mark device writes that carried
its sectors are found by their stamps. Then, in tornwatch's NDJSON keys:
  verdict          whole when every write that carried it carried all its sectors, split
                   otherwise; superseded when no write carried it (rewritten in the cache)
  exposed_from_ns  the first of those writes' receive time
  exposed_until_ns the latest time a flush made one of them durable (null: never)
  persisted_ns     the same, when all of them became durable (else null)
  write_ns         the version number (orders one unit's versions)

    python3 oracle.py --log LOG --data DATA --mark LINES --path /mnt/table --size 8192 \\
        --count N [--range R] [--offset O] > events.ndjson
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import devlog  # noqa: E402
import stamps  # noqa: E402

SECTOR = stamps.SECTOR


def carriers(log, data, mark):
    """{version: [(write op, set of file offsets of its sectors it carried)]}"""
    out = {}
    for op in log.changes(mark):
        if op.kind != "W":
            continue
        buf = data.bytes_of(op)
        seen = {}
        for i in range(0, op.len, SECTOR):
            sec = buf[i:i + SECTOR]
            if sec[:8] != stamps.MAGIC.to_bytes(8, "little"):
                continue
            off = int.from_bytes(sec[8:16], "little")
            v = stamps.sector_version(sec, off)
            if isinstance(v, int) and v > 0:
                seen.setdefault(v, set()).add(off)
        for v, offs in seen.items():
            out.setdefault(v, []).append((op, offs))
    return out


def event(v, off, size, path, pieces):
    e = {"path": path, "off": off, "len": size, "write_ns": v, "issue_ns": None,
         "complete_ns": None}
    if not pieces:
        e.update(verdict="superseded", persisted_ns=None, exposed_from_ns=None,
                 exposed_until_ns=None)
        return e
    unit = set(range(off, off + size, SECTOR))
    whole = all(offs == unit for _, offs in pieces)
    until = [op.durable_at for op, _ in pieces]
    persisted = None if None in until else max(until)
    e.update(verdict="whole" if whole else "split", persisted_ns=persisted,
             exposed_from_ns=min(op.recv for op, _ in pieces), exposed_until_ns=persisted)
    return e


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--mark", type=int, required=True)
    ap.add_argument("--path", required=True, help="the path the events name")
    ap.add_argument("--size", type=int, required=True, help="writer -s: the unit")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--range", type=int, default=0)
    ap.add_argument("--offset", type=int, default=0)
    a = ap.parse_args()
    log = devlog.Log(a.log)
    data = devlog.Data(a.data)
    by_version = carriers(log, data, a.mark)
    planned = stamps.planned_offsets(a.count, a.size, a.offset, 0, a.range)
    for v in range(1, a.count + 1):
        print(json.dumps(event(v, planned[v], a.size, a.path, by_version.get(v, []))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
