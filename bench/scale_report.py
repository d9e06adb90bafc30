#!/usr/bin/env python3
"""The report of bench/scale.sh: per row, tornwatch's BPF time, its own CPU and its memory,
each against the base row (the first), and whether it stays flat within noise.

  scale_report.py RES ROUNDS "ROW|WRITES|UNITS_PER_WRITE|DESCRIPTION"...

RES holds ROW.ROUND.* for ROUND 1..ROUNDS: measure's files (see runfiles.py), tornwatch's
JSON (.json) and -v lines (.err), its RssAnon in kB once attached (.anon0) and at the peak
(.anon1).
"""
import json, os, re, statistics, sys

from runfiles import prog_costs, read, timing, tracer_cpu_ns, tracer_maps

NOISE_FLOOR = 0.20  # ratios within 20% of 1 are flat whatever the spread of the rounds

res, rounds, specs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
void = []  # rounds whose BPF figures are void: kernel.bpf_stats_enabled was off


def slot_bytes(maps, name):
    """Bytes a map takes per entry it has room for (its memory is preallocated at load)."""
    m = [x for x in maps if x.get("name") == name]
    return m[0]["bytes_memlock"] / m[0]["max_entries"] if m and m[0].get("max_entries") else None


def run_data(row, r):
    p = f"{res}/{row}.{r}"
    t = timing(p)
    j = json.load(open(p + ".json"))
    costs = prog_costs(p)
    ns, runs = sum(x for _, x in costs.values()), sum(c for c, _ in costs.values())
    if os.path.exists(p + ".stats_off") or not runs or not ns:  # bpf_stats were turned off
        void.append(f"{row}.{r}")
        ns = runs = None
    units = j["units"]["total"]
    cpu = tracer_cpu_ns(p)
    maps = tracer_maps(p)
    m = re.search(r"at most (\d+) units followed at once", read(p + ".err"))
    peak = int(m.group(1)) if m else None
    growth = (int(read(p + ".anon1")) - int(read(p + ".anon0"))) * 1024
    return {
        "n": t["n"], "ops": t["ops"], "units": units, "files": len(j["files"]),
        "lost": j["lost"]["total"], "untracked": j["units"]["untracked"],
        "ns_run": ns / runs if runs else None, "ns_write": ns / t["n"] if ns else None,
        "ns_unit": ns / units if ns and units else None,
        "runs_write": runs / t["n"] if runs else None,
        "us_write": cpu / 1000 / t["n"] if cpu is not None else None,
        "us_unit": cpu / 1000 / units if cpu is not None and units else None,
        "map_bytes": sum(x.get("bytes_memlock", 0) for x in maps) if maps else None,
        "file_slot": slot_bytes(maps, "files"), "bio_slot": slot_bytes(maps, "bios"),
        "peak_units": peak, "anon_growth": growth,
        "anon_unit": growth / peak if peak else None,
    }


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs):
    """(max - min) / median of the rounds: their own noise."""
    xs = [x for x in xs if x is not None]
    m = med(xs)
    return (max(xs) - min(xs)) / m if xs and m else 0.0


def fmt(v, f):
    return "-" if v is None else f.format(v)


UNITS_JUDGED = 10000  # fewer units at once: the anonymous growth is mostly other state

# The figures a row is judged on: per program run, per unit, per unit followed at once.
JUDGED = [("ns_run", "BPF ns/run"), ("ns_unit", "BPF ns/unit"), ("us_unit", "tornwatch us/unit"),
          ("map_bytes", "BPF map bytes"), ("anon_unit", "anon B/unit at once")]
# Shown with their ratio, not judged: per write grows with the write's size by design.
SHOWN = [("ns_write", "BPF ns/write"), ("us_write", "tornwatch us/write")]
TIME = [("ops", "writes/s", "{:.0f}"), ("ns_run", "BPF ns/run", "{:.0f}"),
        ("runs_write", "runs/write", "{:.2f}"), ("ns_write", "BPF ns/write", "{:.0f}"),
        ("ns_unit", "BPF ns/unit", "{:.0f}"), ("us_write", "tw us/write", "{:.2f}"),
        ("us_unit", "tw us/unit", "{:.2f}")]
MEM = [("map_bytes", "BPF map bytes", "{:.0f}"), ("file_slot", "B/file slot", "{:.0f}"),
       ("bio_slot", "B/bio slot", "{:.0f}"), ("files", "files", "{:.0f}"),
       ("peak_units", "units at once", "{:.0f}"), ("anon_growth", "anon growth B", "{:.0f}"),
       ("anon_unit", "B/unit at once", "{:.0f}")]

rows = []
for spec in specs:
    row, n, upw, desc = spec.split("|")
    rows.append((row, int(n), int(upw), desc, [run_data(row, r) for r in range(1, rounds + 1)]))
base = rows[0][4]


def ratio(runs, key):
    b, v = med([x[key] for x in base]), med([x[key] for x in runs])
    return v / b if b and v is not None else None


def table(title, cols):
    W = 16
    print(f"\n  {title:<12}" + "".join(f"{label:>{W}}" for _, label, _ in cols))
    for row, _, _, _, runs in rows:
        cells = []
        for key, _, f in cols:
            v, r = med([x[key] for x in runs]), ratio(runs, key)
            cells.append(fmt(v, f) + (f" x{r:.2f}" if r is not None and runs is not base else ""))
        print(f"  {row:<12}" + "".join(f"{c:>{W}}" for c in cells))


print(f"\nscale: tornwatch on the fdatasync storm, medians of {rounds} rounds per row, xRATIO to "
      f"{rows[0][0]}")
for row, n, upw, desc, _ in rows:
    print(f"  {row:<12}{desc}; {n} writes ({n * upw} units of 8 KiB) per run")
table("time", TIME)
table("memory", MEM)

print("\n  verdicts (judged: " + ", ".join(l for _, l in JUDGED) + f"; noise: the larger of "
      f"{NOISE_FLOOR:.0%} and the spread, (max - min) / median, of either row's rounds):")
for row, n, upw, desc, runs in rows[1:]:
    out, grows, lower, missing = [], [], [], []
    few = min(med([x["peak_units"] for x in rr]) or 0 for rr in (base, runs)) < UNITS_JUDGED
    for key, label in JUDGED + SHOWN:
        r = ratio(runs, key)
        if r is None:
            out.append(f"{label} -")
            missing += [label] if (key, label) in JUDGED else []
            continue
        tol = max(NOISE_FLOOR, spread([x[key] for x in base]), spread([x[key] for x in runs]))
        judged = (key, label) in JUDGED and not (key == "anon_unit" and few)
        if judged and r > 1 + tol:
            grows.append(label)
        elif judged and r < 1 - tol:
            lower.append(label)
        out.append(f"{label} x{r:.2f}" + ("" if abs(r - 1) <= tol else f" (beyond +-{tol:.0%})")
                   + ("" if judged else " [not judged]"))
    verdict = ("NOT judged: no figures for " + ", ".join(missing) if missing else
               "flat within noise" if not grows and not lower else
               "NOT flat, GROWS: " + ", ".join(grows) if grows else
               "not flat but does not grow (lower: " + ", ".join(lower) + ")")
    print(f"  {row}: {verdict}\n      " + ", ".join(out))
print(f"  (anon B/unit at once is judged only with {UNITS_JUDGED} units at once or more in both "
      "rows)")

lost = sum(x["lost"] for _, _, _, _, runs in rows for x in runs)
untracked = sum(x["untracked"] for _, _, _, _, runs in rows for x in runs)
short = [(row, x["units"]) for row, n, upw, _, runs in rows for x in runs if x["units"] != n * upw]
if void:
    print(f"\n  WARNING: BPF figures left out of {', '.join(void)}: kernel.bpf_stats_enabled was "
          "off during the run (another benchmark turned it off?)")
print(f"\n  lost {lost}, untracked {untracked} (all rows and rounds)"
      + (f"; WARNING: units followed differ from the writes' units: {short}" if short else ""))
print("""
How it is measured:
- BPF: tornwatch's programs' run_time_ns and run_cnt (kernel.bpf_stats_enabled=1 in every
  run) between snapshots just before and after the writer, while attached. The syscall and
  block programs run for every task and bio on the machine and filter, so their runs include
  other processes' (cheap ones). Per unit: per 8 KiB unit tornwatch followed (its JSON).
- tornwatch us: its process's CPU time (all threads, user + sys, schedstat) from the
  writer's start until it has consumed the events.
- Memory: BPF maps are preallocated at load, sized by --max-files, --max-bios, ...: their
  bytes (bytes_memlock) are the same whatever the load, so a file or a bio in flight costs
  its slot (bytes / max_entries of the files and bios maps) and no map holds units. Units
  live in tornwatch's user space: its anonymous memory growth (peak RssAnon, sampled every
  50 ms, minus RssAnon once attached) per unit followed at once (-v's peak). With few
  units at once the growth is mostly other state (tables, buffers, in 4 KiB pages):
  bench/storm.sh measures bytes per unit with millions of units. files: the files
  tornwatch saw written, the writer's one and the measuring shell's output files.""")
