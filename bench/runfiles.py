"""The raw files of one measured run (measure in bench/lib.sh), read for the reports of
bench/compare.sh and bench/scale.sh. PREFIX.t: the workload's "writes N seconds S cpu_us C";
PREFIX.progs0/.progs1: `bpftool prog show -j` before and after it; PREFIX.cpu0/.cpu1: the
tracer's CPU ns; PREFIX.ids/.mapids: the ids of the programs and maps the tracer held;
PREFIX.maps and PREFIX.perf: `bpftool map show -j` and `bpftool perf show -j` at the end.
"""
import json, os


def read(path):
    return open(path).read()

def timing(p):
    f = read(p + ".t").split()
    n, secs, cpu = int(f[1]), float(f[3]), float(f[5])
    return {"n": n, "secs": secs, "ops": n / secs, "cpu": cpu / n}

def ids(path):
    return {int(x) for x in read(path).split()} if os.path.exists(path) else set()

def tracer_cpu_ns(p):
    try:
        return int(read(p + ".cpu1")) - int(read(p + ".cpu0"))
    except (OSError, ValueError):
        return None

def map_bytes(p):
    mids = ids(p + ".mapids")
    if not mids or not os.path.exists(p + ".maps"):
        return None
    return sum(m.get("bytes_memlock", 0) for m in json.load(open(p + ".maps")) if m["id"] in mids)

def prog_costs(p):
    """Per-program (runs, ns) of this tracer's programs between the snapshots."""
    pids = ids(p + ".ids")
    names = {}
    if os.path.exists(p + ".perf"):  # bpftrace: names of the tracepoints
        for e in json.load(open(p + ".perf")):
            if e.get("prog_id") in pids and e.get("tracepoint"):
                names[e["prog_id"]] = e["tracepoint"]
    before = {x["id"]: x for x in json.load(open(p + ".progs0")) if x["id"] in pids}
    after = {x["id"]: x for x in json.load(open(p + ".progs1")) if x["id"] in pids}
    out = {}
    for i, x in after.items():
        b = before.get(i, {})
        name = names.get(i, x.get("name", str(i)))
        cnt, ns = out.get(name, (0, 0))
        out[name] = (cnt + x.get("run_cnt", 0) - b.get("run_cnt", 0),
                     ns + x.get("run_time_ns", 0) - b.get("run_time_ns", 0))
    return out

def tracer_maps(p):
    """The tracer's maps as `bpftool map show -j` lists them (name, max_entries, bytes_memlock)."""
    mids = ids(p + ".mapids")
    if not mids or not os.path.exists(p + ".maps"):
        return []
    return [m for m in json.load(open(p + ".maps")) if m["id"] in mids]
