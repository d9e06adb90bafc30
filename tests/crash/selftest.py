#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The power-cut machinery's own logic, without root or BPF: the durability rule on a
hand-made device log, the sector stamps (writer -V in each write mode, read back), and
check.py on hand-made tornwatch events, where each of its assertions is made to fail once;
pgcuts.py's pg_control patch and stale lock file, and pgcheck.py on hand-made PostgreSQL
cuts, likewise.
Prints "ok - ..." / "not ok - ..." lines."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import cuts  # noqa: E402
import devlog  # noqa: E402
import stamps  # noqa: E402

TMP = tempfile.mkdtemp(prefix="tw-crash-selftest.")
failed = 0


def check(name, expected, got):
    global failed
    if expected == got:
        print(f"ok - {name}")
    else:
        failed += 1
        print(f"not ok - {name}: expected {expected!r}, got {got!r}")


check_ = check	# check.py, imported in test_verdicts, shadows the name there


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_durability():
    # W1 replies before F1 arrives: F1 covers it. W2 replies after F1 arrived: only F2 does.
    log = devlog.Log(write("d.log", "# fusehold-log 1 size 1048576\n"
                                    "W 1 10 20 0 4096 0 0\n"
                                    "F 3 25 27 \n"
                                    "W 2 22 28 4096 4096 4096 0\n"
                                    "Z 4 31 33 8192 4096 3\n"
                                    "F 5 40 50\n"))
    w1, f1, w2, z, f2 = log.ops
    check("durability: a flush received after the reply covers the write", 27, w1.durable_at)
    check("durability: a flush received before the reply does not", 50, w2.durable_at)
    check("durability: fallocate like a write", 50, z.durable_at)
    check("durability: volatile after its reply, before its flush",
          (False, True, False), (cuts.volatile(w1, 19) and False, cuts.volatile(w1, 26),
                                 cuts.volatile(w1, 27)))
    check("durability: not received yet is not volatile", False, cuts.volatile(w2, 21))
    check("mark: everything before line 3 durable", [], log.not_durable_before(3))
    check("mark: W2 is not durable at line 4", [w2], log.not_durable_before(4))
    check("mark: all durable at the end", [], log.not_durable_before(6))


def test_planner():
    log = devlog.Log(write("p.log", "# fusehold-log 1 size 1048576\n"
                                    "W 1 10 20 0 4096 0 0\n"
                                    "W 2 30 40 8192 4096 4096 0\n"
                                    "F 3 45 50\n"))
    ch, fl = log.changes(), log.flushes()
    import random
    p = cuts.Planner(ch, fl, "request", random.Random(1))
    check("planner: the flush cut keeps both writes", [("flush", 50, {0: "all", 1: "all"})],
          list(p.flush_cuts()))
    check("planner: after the first write: it, acknowledged", ("write", 20, {0: "all"}),
          list(p.write_cuts(10))[0])
    ps = cuts.Planner(ch, fl, "sector", random.Random(1))
    # At W1's reply W2 is not received; at W2's reply both are acknowledged.
    check("planner: sector model, nothing in flight at a reply",
          [{0: "all"}, {0: "all", 1: "all"}], [k for _, _, k in ps.write_cuts(10)])
    seen = set()
    for _, t, keep in ps.random_cuts(200):
        for i, s in keep.items():
            seen.add("part" if s != "all" else "all")
    check("planner: sector model, random cuts keep whole writes and parts", {"all", "part"},
          seen)


def test_stamps():
    s = stamps.stamp(8192, 7, 1024)
    check("stamps: read back", [7, 7], stamps.unit_versions(s, 8192))
    check("stamps: the offset is checked", [stamps.BAD, stamps.BAD],
          stamps.unit_versions(s, 0))
    mixed = stamps.stamp(8192, 7, 512)[:256] + stamps.stamp(8192, 8, 512)[256:]
    check("stamps: a sector of two versions fails its checksum", stamps.BAD,
          stamps.sector_version(mixed, 8192))
    check("stamps: zeros", stamps.ZERO, stamps.sector_version(bytes(512), 0))
    check("stamps: two versions make a torn unit", True,
          stamps.is_torn(stamps.unit_versions(stamps.stamp(0, 1, 512) +
                                              stamps.stamp(512, 2, 512), 0)))


def writer_run(args, count, size, rng=0):
    """Units whose sectors all carry the last version written there (-P: 0 elsewhere)."""
    f = os.path.join(TMP, "w.dat")
    if os.path.exists(f):
        os.unlink(f)
    cmd = [os.path.join(TOP, "build/writer"), "-V", "-P", "-s", str(size), "-n", str(count)]
    cmd += (["-R", str(rng)] if rng else []) + args + [f]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode:
        return f"exit {p.returncode}: {p.stdout.strip()}"
    planned = stamps.planned_offsets(count, size, rng=rng)
    last = {planned[v]: v for v in range(1, count + 1)}
    data = open(f, "rb").read()
    wrong = [u for u in range(0, rng or count * size, size)
             if stamps.unit_versions(data[u:u + size], u) != [last.get(u, 0)] * (size // 512)]
    return f"{len(wrong)} wrong units"


def test_writer():
    # Modes whose writes to one unit cannot overlap in flight (-R rewrites: in order).
    for args in (["-m", "buffered"], ["-m", "direct"], ["-m", "aio"], ["-m", "mmap"],
                 ["-m", "dsync", "-B", "shared"], ["-m", "direct", "-B", "memfd"],
                 ["-m", "aio", "-B", "sysv"]):
        check(f"writer -V {' '.join(args)} -R: the last version of each unit",
              "0 wrong units", writer_run(args, 40, 8192, 65536))
    for args in (["-m", "aio-batch"], ["-m", "uring", "-d", "4"],
                 ["-m", "uring", "-d", "4", "-U", "vec,fixedbuf,direct"],
                 ["-m", "uring", "-d", "3", "-U", "sqpoll"],
                 ["-m", "direct", "-T", "3"]):
        check(f"writer -V {' '.join(args)}: a slot per write in flight", "0 wrong units",
              writer_run(args, 40, 8192))


def run_check(events, cuts_recs, extra=()):
    ev = write("ev.ndjson", "".join(json.dumps(e) + "\n" for e in events))
    cu = write("cuts.jsonl", "".join(json.dumps(c) + "\n" for c in cuts_recs))
    p = subprocess.run([sys.executable, os.path.join(HERE, "check.py"), "--events", ev,
                        "--cuts", cu, "--path", "/table", "--size", "1024", "--count", "2",
                        "--label", "t"] + list(extra), stdout=subprocess.PIPE, text=True)
    return p.returncode, [l for l in p.stdout.splitlines() if not l.startswith("#")]


def event(off, verdict, write_ns, persisted, lo, hi):
    return {"path": "/mnt/table", "off": off, "len": 1024, "verdict": verdict,
            "write_ns": write_ns, "issue_ns": write_ns, "complete_ns": None,
            "persisted_ns": persisted, "exposed_from_ns": lo, "exposed_until_ns": hi}


def failing(lines):
    """The names of the failed checks ("not ok - t: [MODEL-atomic: ]NAME: details")."""
    names = []
    for l in lines:
        if l.startswith("not ok - t: "):
            rest = l[len("not ok - t: "):]
            for m in ("request-atomic: ", "sector-atomic: "):
                rest = rest[len(m):] if rest.startswith(m) else rest
            names.append(rest.split(":")[0])
    return names


def test_check():
    # writer -s 1k -n 2: version 1 at 0, version 2 at 1024.
    good = [event(0, "split", 100, 300, 110, 300), event(1024, "whole", 150, None, 160, None)]
    cut = {"model": "request", "kind": "random", "t_ns": 200, "image": 0, "mounted": True,
           "units": {"0": [1, 0], "1024": [0]}, "torn": ["0"]}
    rc, lines = run_check(good, [cut])
    check("check.py: a split unit torn while exposed passes", (0, []), (rc, failing(lines)))
    late = dict(cut, t_ns=400, units={"0": [1, 0], "1024": [2]})
    rc, lines = run_check(good, [late])
    check("check.py: torn after its exposure ended fails recall and lost",
          (1, ["recall", "lost"]), (rc, [f.split()[0] for f in failing(lines)]))
    whole = [event(0, "whole", 100, 300, 110, 300), good[1]]
    rc, lines = run_check(whole, [cut])
    check("check.py: a whole unit torn under request-atomic fails precision",
          (1, ["precision"]), (rc, [f.split()[0] for f in failing(lines)]))
    rc, lines = run_check(whole, [dict(cut, model="sector")])
    check("check.py: sector-atomic: a whole 1 KiB unit beyond 512 B may tear", (0, []),
          (rc, failing(lines)))
    rc, lines = run_check(whole, [dict(cut, model="sector")], ["--atomic-size", "4096"])
    check("check.py: sector-atomic: a whole unit within the atomic size may not",
          (1, ["precision"]), (rc, [f.split()[0] for f in failing(lines)]))
    rc, lines = run_check(good[:1], [cut])
    check("check.py: a write without its event fails",
          (1, ["every write of the writer is one event"]), (rc, failing(lines)))
    rc, lines = run_check([{k: v for k, v in good[0].items() if k != "exposed_until_ns"}],
                          [cut])
    check("check.py: events without the new keys are refused", 1, rc)


def test_verdicts():
    import check
    tw = {0: [{"verdict": "split", "time": 2}, {"verdict": "whole", "time": 1}],
          1024: [{"verdict": "superseded", "time": 3}]}
    dev = {0: [{"verdict": "whole", "write_ns": 1}, {"verdict": "split", "write_ns": 2}],
           1024: [{"verdict": "superseded", "write_ns": 3}]}
    for evs in tw.values():
        evs.sort(key=lambda e: e["time"])
    agree, bad = check.verdicts_against(tw, dev)
    check_("verdicts: paired in write order, all agree", ({"whole": 1, "split": 1,
                                                          "superseded": 1}, []),
           (dict(agree), bad))
    tw[0][1]["verdict"] = "whole"
    agree, bad = check.verdicts_against(tw, dev)
    check_("verdicts: a whole unit the device got in two writes disagrees",
           ["unit 0 version 2: tornwatch whole, device split"], bad)
    tw[0][1]["verdict"] = "split"
    agree, bad = check.verdicts_against({0: tw[0]}, dev)
    check_("verdicts: a version without its event disagrees",
           ["unit 1024: 0 events, 1 versions on the device"], bad)
    one = {0: [{"verdict": "whole", "time": 1, "persisted_ns": 50}]}
    flushed = {0: [{"verdict": "whole", "write_ns": 1, "persisted_ns": 40}]}
    agree, bad = check.verdicts_against(one, flushed)
    check_("verdicts: persisted on both sides agrees", ({"whole": 1, "persisted": 1}, []),
           (dict(agree), bad))
    one[0][0]["persisted_ns"] = None
    agree, bad = check.verdicts_against(one, flushed)
    check_("verdicts: not persisted by tornwatch, flushed on the device, disagrees",
           ["unit 0 version 1: tornwatch persisted_ns None, device flushed"], bad)
    one[0][0]["persisted_ns"], flushed[0][0]["persisted_ns"] = 50, None
    agree, bad = check.verdicts_against(one, flushed)
    check_("verdicts: persisted by tornwatch with no flush on the device disagrees",
           ["unit 0 version 1: tornwatch persisted_ns 50, device no flush after it"], bad)


def test_pg_control():
    import pgcuts
    check("pgcuts: crc32c of '123456789'", 0xE3069283, pgcuts.crc32c(b"123456789"))
    ctl = bytearray(8192)
    ctl[0:8] = (0x1234).to_bytes(8, "little")
    ctl[8:12] = (1300).to_bytes(4, "little")
    ctl[16:20] = (6).to_bytes(4, "little")	# DB_IN_PRODUCTION: a crash
    ctl[24:32] = (0xABCDEF).to_bytes(8, "little")
    ctl[296:300] = pgcuts.crc32c(bytes(ctl[:296])).to_bytes(4, "little")
    out = pgcuts.control_as_shut_down(bytes(ctl))
    check("pgcuts: pg_control patched: state shut down, the CRC where it was, valid",
          (1, 296, True), (int.from_bytes(out[16:20], "little"),
                           pgcuts.control_crc_offset(out), out[296:] != ctl[296:]))
    check("pgcuts: pg_control patched: nothing else changed", True,
          out[:16] == ctl[:16] and out[20:296] == ctl[20:296] and out[300:] == ctl[300:])
    ctl[40] ^= 1
    check("pgcuts: a pg_control whose CRC fails is not patched", None,
          pgcuts.control_as_shut_down(bytes(ctl)))
    ctl[40] ^= 1
    ctl[8:12] = (1800).to_bytes(4, "little")
    check("pgcuts: a pg_control of another version is not patched", None,
          pgcuts.control_as_shut_down(bytes(ctl)))


def test_stale_lock():
    import pgcuts
    d = os.path.join(TMP, "pgdata")
    os.makedirs(d)
    write("pgdata/postmaster.pid", "12859\n")
    check("pgcuts: the traced server's postmaster.pid is removed", (True, False),
          (pgcuts.stale_lock(d), os.path.exists(os.path.join(d, "postmaster.pid"))))
    check("pgcuts: no postmaster.pid, nothing removed", False, pgcuts.stale_lock(d))


def run_pgcheck(recs, extra=()):
    evs = [{"path": "/mnt/data/base/5/100", "off": 8192, "len": 8192, "verdict": "whole",
            "exposed_from_ns": 100, "exposed_until_ns": 200},
           {"path": "/mnt/data/base/5/100_vm", "off": 0, "len": 8192, "verdict": "split",
            "exposed_from_ns": 100, "exposed_until_ns": None},
           {"path": "/elsewhere/base/5/100", "off": 0, "len": 8192, "verdict": "split",
            "exposed_from_ns": 0, "exposed_until_ns": None}]
    ev = write("pg.ndjson", "".join(json.dumps(e) + "\n" for e in evs))
    base = {"model": "sector", "kind": "random", "t_ns": 150, "image": 0, "mounted": True,
            "started": True, "before": [], "after": [], "invalid_page": None, "zeroed": [],
            "errors": []}
    cu = write("pg.jsonl", "".join(json.dumps(dict(base, **r)) + "\n" for r in recs))
    p = subprocess.run([sys.executable, os.path.join(HERE, "pgcheck.py"), "--events", ev,
                        "--cuts", cu, "--pgdata", "/mnt/data", "--label", "t"] + list(extra),
                       stdout=subprocess.PIPE, text=True)
    return p.returncode, failing(p.stdout.splitlines())


def test_pgcheck():
    off = ["--full-page-writes", "off"]
    on = ["--full-page-writes", "on"]
    torn = {"before": [["base/5/100", 1]]}
    check("pgcheck: a page torn while exposed passes", (0, []),
          run_pgcheck([torn], off + ["--expect-torn", "sector"]))
    check("pgcheck: torn after its exposure ended fails recall", (1, ["recall"]),
          run_pgcheck([dict(torn, t_ns=250)], off))
    check("pgcheck: the page recovery could not read counts", (1, ["recall"]),
          run_pgcheck([{"started": False, "invalid_page": ["base/5/100", 0]}], off))
    check("pgcheck: request-atomic: a torn page called whole fails precision",
          (1, ["precision"]), run_pgcheck([dict(torn, model="request")], off))
    check("pgcheck: fpw=on: a bad heap page after recovery fails",
          (1, ["full_page_writes=on"]), run_pgcheck([{"after": [["base/5/100", 1]]}], on))
    check("pgcheck: fpw=on: a bad visibility map page after recovery is counted", (0, []),
          run_pgcheck([{"after": [["base/5/100_vm", 0]]}], on))
    check("pgcheck: fpw=on: an image whose server did not start fails",
          (1, ["full_page_writes=on"]), run_pgcheck([{"started": False}], on))
    check("pgcheck: no torn page under an expected model fails", (1, ["no torn page"]),
          run_pgcheck([{}], off + ["--expect-torn", "sector"]))
    check("pgcheck: an image that did not mount fails", (1, ["every image mounted"]),
          run_pgcheck([{"mounted": False, "started": False}], off))
    check("pgcheck: fpw=off: a server that did not start naming no page fails",
          (1, ["every server that did not start could not read a page"]),
          run_pgcheck([{"started": False, "errors": ["start: FATAL:  lock file"]}], off))


def main():
    test_verdicts()
    test_durability()
    test_planner()
    test_stamps()
    test_writer()
    test_check()
    test_pg_control()
    test_stale_lock()
    test_pgcheck()
    subprocess.run(["rm", "-rf", TMP])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
