#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""tornwatch's verdicts against simulated power cuts (tests/crash/cuts.py).

Reads tornwatch's per-unit events (NDJSON, `--events=all --json F`: "path", "off", "len",
"verdict", and absolute CLOCK_MONOTONIC ns or null: "write_ns", "persisted_ns",
"exposed_from_ns", "exposed_until_ns") and cuts.py's JSON lines (per cut: model, t_ns,
and the versions each unit's sectors carry). The writer's options (-s, -R, -n, -o) say
which version went where: version v (v >= 1) is write v - 1 of the run; at one offset,
the k-th version is the k-th event by write_ns. Version 0 (-P) is durable before the run.

For each cut at time T, per device model, it asserts:
  recall     every torn unit was exposed at T: the event of the newest version in it has
             exposed_from_ns <= T < exposed_until_ns (null: still exposed at the end)
  precision  request-atomic: no torn unit's newest version was called whole, atomic or
             cow-atomic; sector-atomic: none was called atomic or cow-atomic, and a torn
             whole one is larger than the device's atomic size (--atomic-size)
  lost       no unit holds a version older than the newest one tornwatch called persisted
             at or before T (persisted_ns <= T)
and prints "ok - ..." / "not ok - ..." lines (the first offenders named), with the counts:
torn units and how many of them tornwatch had flagged.

With --oracle (tests/crash/oracle.py's events, from the device log), it also asserts that
each version's verdict is the device's: whole when every device write that carried it
carried all of it, split when it took more than one, superseded when none carried it; and,
when the events carry persisted_ns, that tornwatch called it persisted exactly when a flush
received after the reply of every device write that carried it completed.
--verdicts-only does that alone, and needs only the keys tornwatch has always had (path,
off, len, verdict, time).
"""
import argparse
import json
import os
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stamps  # noqa: E402

ONE_REQUEST = {"whole", "atomic", "cow_atomic"}
NEVER_TORN = {"atomic", "cow_atomic"}
BASE_KEYS = ("path", "off", "len", "verdict")
KEYS = BASE_KEYS + ("write_ns", "persisted_ns", "exposed_from_ns", "exposed_until_ns")
# tornwatch's verdicts, as the device log can tell them
AS_DEVICE = {"whole": "whole", "atomic": "whole", "split": "split", "superseded": "superseded"}


def load_events(path, suffix, keys=KEYS):
    """The events of the writer's file, by unit offset, in write order (write_ns, else the
    event's time)."""
    by_off = defaultdict(list)
    with open(path) as f:
        for n, line in enumerate(f):
            if not line.startswith("{"):
                continue
            e = json.loads(line)
            missing = [k for k in keys if k not in e]
            if missing:
                raise ValueError(f"{path}:{n + 1}: no {', '.join(missing)}")
            if e["path"].endswith(suffix):
                by_off[e["off"]].append(e)
    for evs in by_off.values():
        evs.sort(key=lambda e: (e.get("write_ns") is None, e.get("write_ns") or 0,
                                e.get("time", 0)))
    return by_off


def verdicts_against(by_off, oracle):
    """(agreeing count, disagreements) of tornwatch's verdicts against the device log's."""
    agree, bad = defaultdict(int), []
    for off in sorted(set(by_off) | set(oracle)):
        tw, dev = by_off.get(off, []), oracle.get(off, [])
        if len(tw) != len(dev):
            bad.append(f"unit {off}: {len(tw)} events, {len(dev)} versions on the device")
            continue
        for e, d in zip(tw, dev):
            if AS_DEVICE.get(e["verdict"], e["verdict"]) != d["verdict"]:
                bad.append(f"unit {off} version {d['write_ns']}: tornwatch {e['verdict']}, "
                           f"device {d['verdict']}")
            elif "persisted_ns" in e and "persisted_ns" in d and d["verdict"] != "superseded" \
                    and (e["persisted_ns"] is None) != (d["persisted_ns"] is None):
                bad.append(f"unit {off} version {d['write_ns']}: tornwatch persisted_ns "
                           f"{e['persisted_ns']}, device "
                           f"{'flushed' if d['persisted_ns'] else 'no flush after it'}")
            else:
                agree[d["verdict"]] += 1
                if "persisted_ns" in e and d.get("persisted_ns") is not None:
                    agree["persisted"] += 1
    return agree, bad


def match_versions(by_off, planned):
    """{version: event}, and the offsets where events and writes do not pair up."""
    versions_at = defaultdict(list)
    for v in range(1, len(planned)):
        versions_at[planned[v]].append(v)
    ev, mismatched = {}, []
    for off in sorted(set(versions_at) | set(by_off)):
        vs, es = versions_at.get(off, []), by_off.get(off, [])
        if len(vs) != len(es):
            mismatched.append(f"{off}: {len(vs)} writes, {len(es)} events")
        for v, e in zip(vs, es):
            ev[v] = e
    return ev, versions_at, mismatched


def exposed(e, t):
    lo, hi = e["exposed_from_ns"], e["exposed_until_ns"]
    return lo is not None and lo <= t and (hi is None or t < hi)


class Tally:
    def __init__(self):
        self.torn = self.flagged = self.units = self.cuts = 0
        self.recall, self.precision, self.lost, self.unstamped = [], [], [], []


def check_cut(rec, ev, versions_at, atomic_size, t):
    """One cut's units against the events, into tally t."""
    T, model = rec["t_ns"], rec["model"]
    torn = set(rec.get("torn", []))
    t.cuts += 1
    for off_s, vs in rec["units"].items():
        off = int(off_s)
        t.units += 1
        ints = [v for v in vs if isinstance(v, int)]
        where = f"{rec['kind']} cut at {T} (image {rec['image']}): unit {off} {vs}"
        if len(ints) != len(vs):
            t.unstamped.append(where)
        persisted = [v for v in versions_at.get(off, [])
                     if v in ev and ev[v]["persisted_ns"] is not None and
                     ev[v]["persisted_ns"] <= T]
        if persisted and ints and min(ints) < max(persisted):
            t.lost.append(f"{where}: version {max(persisted)} persisted at "
                          f"{ev[max(persisted)]['persisted_ns']}")
        if off_s not in torn:
            continue
        t.torn += 1
        newest = max(ints) if ints else 0
        e = ev.get(newest)
        if e is None:
            t.recall.append(f"{where}: no event for version {newest}")
            continue
        if exposed(e, T):
            t.flagged += 1
        else:
            t.recall.append(f"{where}: version {newest} ({e['verdict']}) exposed "
                            f"[{e['exposed_from_ns']}, {e['exposed_until_ns']})")
        bad = e["verdict"] in (ONE_REQUEST if model == "request" else NEVER_TORN) or \
            (model == "sector" and e["verdict"] == "whole" and e["len"] <= atomic_size)
        if bad:
            t.precision.append(f"{where}: version {newest} called {e['verdict']}")


def report(label, name, problems, ok_text):
    if problems:
        print(f"not ok - {label}: {name}: {len(problems)}, e.g. " + "; ".join(problems[:3]))
    else:
        print(f"ok - {label}: {name}: {ok_text}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", required=True, help="tornwatch --events=all NDJSON")
    ap.add_argument("--cuts", help="cuts.py --out")
    ap.add_argument("--oracle", help="oracle.py's events: compare the verdicts")
    ap.add_argument("--verdicts-only", action="store_true",
                    help="only the verdicts against --oracle (no per-unit times needed)")
    ap.add_argument("--path", required=True, help="the writer's file: a suffix of its path")
    ap.add_argument("--size", type=int, required=True, help="writer -s (bytes)")
    ap.add_argument("--count", type=int, required=True, help="writer -n")
    ap.add_argument("--range", type=int, default=0, help="writer -R (bytes)")
    ap.add_argument("--offset", type=int, default=0, help="writer -o (bytes)")
    ap.add_argument("--atomic-size", type=int, default=512,
                    help="the device's power-fail atomic size (default 512)")
    ap.add_argument("--label", default="check", help="prefix of the result lines")
    a = ap.parse_args()
    if (a.verdicts_only and not a.oracle) or (not a.verdicts_only and not a.cuts):
        ap.error("give --cuts, or --verdicts-only with --oracle")
    try:
        by_off = load_events(a.events, a.path, BASE_KEYS if a.verdicts_only else KEYS)
        oracle = load_events(a.oracle, "", KEYS) if a.oracle else None
    except (OSError, ValueError) as e:
        print(f"not ok - {a.label}: events: {e}")
        return 1
    failed = False
    if oracle is not None:
        agree, bad = verdicts_against(by_off, oracle)
        report(a.label, "tornwatch's verdicts (and persistence) are the device log's", bad,
               f"{sum(v for k, v in agree.items() if k != 'persisted')} versions: " +
               ", ".join(f"{k} {v}" for k, v in sorted(agree.items())))
        failed = bool(bad)
    if a.verdicts_only:
        return 1 if failed else 0
    planned = stamps.planned_offsets(a.count, a.size, a.offset, 0, a.range)
    ev, versions_at, mismatched = match_versions(by_off, planned)
    report(a.label, "every write of the writer is one event", mismatched,
           f"{len(ev)} writes, {len(ev)} events")
    tallies = defaultdict(Tally)
    with open(a.cuts) as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("mounted") and "units" in rec:
                check_cut(rec, ev, versions_at, a.atomic_size, tallies[rec["model"]])
    for model, t in sorted(tallies.items()):
        lab = f"{a.label}: {model}-atomic"
        print(f"# {lab}: {t.cuts} cuts, {t.torn} torn units, {t.flagged} of them flagged "
              f"exposed by the events")
        report(lab, "every sector read back is a stamp", t.unstamped, f"{t.units} units")
        report(lab, "recall: every torn unit was exposed at its cut", t.recall,
               f"{t.flagged} of {t.torn}")
        report(lab, "precision: no torn unit called " +
               ("whole or atomic" if model == "request" else
                f"atomic, or whole within {a.atomic_size} bytes"), t.precision,
               f"0 of {t.torn}")
        report(lab, "lost: no unit older than its persisted version", t.lost,
               f"0 of {t.units}")
    return 0 if not failed and not mismatched and all(
        not (t.recall or t.precision or t.lost or t.unstamped) for t in tallies.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
