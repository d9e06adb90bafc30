#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""PostgreSQL's damaged pages after simulated power cuts (tests/crash/pgcuts.py) against
tornwatch's per-unit exposure times.

tornwatch traced the server during the run (`--events=all --json F --unit 8k`: NDJSON lines
with "path", "off", "exposed_from_ns", "exposed_until_ns"; CLOCK_MONOTONIC ns, the clock of
the device log). Its paths are those of the traced run: --pgdata is the data directory then,
and a page is (its file relative to the data directory, block): the unit at offset
block * 8192 of that file.

Per device model, asserted and counted:
  recall     every page a cut damaged (pg_checksums before recovery, after recovery, the page
             recovery could not read when the server did not start, and the pages the server
             read as zeros) was exposed at the cut's time T: an event for that file and
             offset with exposed_from_ns <= T < exposed_until_ns (null: still exposed at the
             end of the trace)
  precision  request-atomic: no damaged page's exposing event says whole or atomic (one
             request carried it whole: it cannot tear)
  fpw=on     (--full-page-writes on) the server started on every image that mounted (WAL
             recovery succeeded), and no bad page after recovery, but in the visibility map
             and free space map forks (_vm, _fsm): no full-page image covers them (clearing a
             visibility map bit is not WAL-logged), PostgreSQL reads a bad one as zeros, and
             a torn one can stay on disk after recovery (seen on XFS); they are counted
             and pg_amcheck (pgcuts.py --amcheck) found no corruption where it ran
  fpw=off    every server that did not start named the page its recovery could not read
             (any other reason, such as a lock file, is the harness's failure)
  torn       (--expect-torn MODEL, repeatable) the cuts under MODEL tore pages at all: else
             they prove nothing
Prints "ok - ..." / "not ok - ..." lines, the first offenders named, and '#' lines with the
counts: cuts, images, images where the server started, torn pages (summed over the cuts),
flagged.
"""
import argparse
import json
import os
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check import report  # noqa: E402

BLCKSZ = 8192
ONE_REQUEST = {"whole", "atomic", "cow_atomic"}
# The visibility map and free space map forks: no full-page image protects them (clearing a
# visibility map bit is not WAL-logged) and PostgreSQL reads a bad page of theirs as zeros.
MAP_FORKS = ("_vm", "_fsm")


def load_events(path, pgdata):
    """{(file relative to pgdata, offset): [(from, until, verdict)]}, and the events read."""
    out, n = defaultdict(list), 0
    prefix = pgdata.rstrip("/") + "/"
    with open(path) as f:
        for line in f:
            if not line.startswith("{"):
                continue
            e = json.loads(line)
            n += 1
            if not e.get("path", "").startswith(prefix):
                continue
            out[(e["path"][len(prefix):], e["off"])].append(
                (e["exposed_from_ns"], e["exposed_until_ns"], e["verdict"]))
    return out, n


def exposing(spans, t):
    """The verdicts of the events that say the unit was exposed at t."""
    return [v for lo, hi, v in spans if lo is not None and lo <= t and (hi is None or t < hi)]


class Tally:
    def __init__(self):
        self.cuts = self.torn = self.flagged = self.after = self.after_flagged = 0
        self.invalid = self.invalid_flagged = self.maps_after = 0
        self.images, self.started, self.mounted = set(), set(), set()
        self.unmounted = {}		# image: why
        self.not_started = {}		# image: why (the server log's last errors)
        self.unexplained = {}		# not started without naming the page it could not read
        self.amchecked, self.amcheck_bad = set(), {}	# images: checked, found corruption
        self.torn_pages = set()		# (image, file, block): distinct
        self.recall, self.precision, self.fpw, self.errors = [], [], [], []


def check_cut(rec, events, t):
    T = rec["t_ns"]
    t.cuts += 1
    t.images.add(rec["image"])
    if rec["mounted"]:
        t.mounted.add(rec["image"])
    else:
        t.unmounted[rec["image"]] = f"image {rec['image']}: {rec.get('errors')} " \
            f"{rec.get('repaired', '')}"
    if rec["started"]:
        t.started.add(rec["image"])
    elif rec["mounted"]:
        t.not_started[rec["image"]] = f"image {rec['image']}: {(rec.get('errors') or [''])[0]}"
        if not rec["invalid_page"]:
            t.unexplained[rec["image"]] = t.not_started[rec["image"]]
    if "amcheck" in rec:
        t.amchecked.add(rec["image"])
        if rec["amcheck"]["rc"] != 0:
            t.amcheck_bad[rec["image"]] = f"image {rec['image']}: pg_amcheck exit " \
                f"{rec['amcheck']['rc']}: {' | '.join(rec['amcheck']['report'])[:300]}"
    if rec.get("errors") and rec["started"]:	# a server that did not start is data
        t.errors.append(f"image {rec['image']}: {rec['errors'][0]}")
    where = f"{rec['kind']} cut at {T} (image {rec['image']})"
    pages = [("before", p) for p in rec["before"]] + [("after", p) for p in rec["after"]]
    if rec["invalid_page"]:
        pages.append(("unreadable in recovery", rec["invalid_page"]))
    pages += [("zeroed in recovery", p) for p in rec.get("zeroed", [])]
    for what, (rel, block) in pages:
        verdicts = exposing(events.get((rel, block * BLCKSZ), []), T)
        hit = bool(verdicts)
        # request-atomic: a page that one request carried whole cannot tear
        if rec["model"] == "request" and hit and set(verdicts) <= ONE_REQUEST:
            t.precision.append(f"{where}: {rel} block {block} ({what}): called {verdicts}")
        if what == "before":
            t.torn += 1
            t.flagged += hit
            t.torn_pages.add((rec["image"], rel, block))
        elif what == "after":
            t.after += 1
            t.after_flagged += hit
        else:
            t.invalid += 1
            t.invalid_flagged += hit
        if not hit:
            spans = events.get((rel, block * BLCKSZ), [])
            t.recall.append(f"{where}: {rel} block {block} ({what}): exposed {spans[:3]}")
    main = [p for p in rec["after"] if not p[0].endswith(MAP_FORKS)]
    t.maps_after += len(rec["after"]) - len(main)
    if main:
        t.fpw.append(f"{where}: {len(main)} bad, e.g. {main[:2]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", required=True, help="tornwatch --events=all NDJSON")
    ap.add_argument("--cuts", required=True, help="pgcuts.py --out")
    ap.add_argument("--pgdata", required=True, help="the data directory as traced")
    ap.add_argument("--full-page-writes", choices=["on", "off"], required=True)
    ap.add_argument("--expect-torn", action="append", default=[],
                    choices=["request", "sector"], help="the model's cuts must tear pages")
    ap.add_argument("--label", default="pgcheck")
    a = ap.parse_args()
    try:
        events, n = load_events(a.events, a.pgdata)
    except (OSError, ValueError, KeyError) as e:
        print(f"not ok - {a.label}: events: {e}")
        return 1
    print(f"# {a.label}: {n} events, {len(events)} units of the data directory")
    tallies = defaultdict(Tally)
    with open(a.cuts) as f:
        for line in f:
            rec = json.loads(line)
            check_cut(rec, events, tallies[rec["model"]])
    bad = False
    for model, t in sorted(tallies.items()):
        lab = f"{a.label}: {model}-atomic"
        print(f"# {lab}: {t.cuts} cuts, {len(t.images)} images, {len(t.mounted)} mounted, "
              f"{len(t.started)} started; bad pages before recovery {t.torn} ({len(t.torn_pages)}"
              f" distinct), {t.flagged} flagged; after recovery {t.after}, {t.after_flagged} "
              f"flagged ({t.maps_after} of them visibility or free space map pages); unreadable or "
              f"zeroed in recovery {t.invalid}, {t.invalid_flagged} flagged; pg_amcheck found "
              f"corruption in {len(t.amcheck_bad)} of {len(t.amchecked)} images")
        report(lab, "every image mounted", list(t.unmounted.values()), f"{len(t.images)}")
        report(lab, "pg_checksums and pg_ctl ran where the server started", t.errors,
               f"{len(t.started)} images")
        report(lab, "recall: every damaged page was exposed at its cut", t.recall,
               f"{t.flagged + t.after_flagged + t.invalid_flagged} of "
               f"{t.torn + t.after + t.invalid}")
        if model == "request":
            report(lab, "precision: no damaged page was one tornwatch called whole or atomic",
                   t.precision, f"0 of {t.torn + t.after + t.invalid}")
        bad |= bool(t.recall or t.precision or t.errors or t.images - t.mounted)
        if a.full_page_writes == "on":
            report(lab, "full_page_writes=on: the server started on every image",
                   list(t.not_started.values()), f"{len(t.started)}")
            report(lab, "full_page_writes=on: no bad page after recovery but map pages",
                   t.fpw, f"0 in {len(t.started)} images that started")
            if t.amchecked:
                report(lab, "full_page_writes=on: pg_amcheck found no corruption",
                       list(t.amcheck_bad.values()), f"{len(t.amchecked)} images")
                bad |= bool(t.amcheck_bad)
            bad |= bool(t.fpw or t.not_started)
        else:
            # full_page_writes=off: a server may not start, but only for the torn page its
            # recovery could not read; any other reason is the harness's
            report(lab, "every server that did not start could not read a page",
                   list(t.unexplained.values()),
                   f"{len(t.not_started)} did not start, each naming its page")
            bad |= bool(t.unexplained)
        if model in a.expect_torn:
            if t.torn:
                print(f"ok - {lab}: the cuts tore pages ({t.torn})")
            else:
                print(f"not ok - {lab}: no torn page: the cuts prove nothing")
                bad = True
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
