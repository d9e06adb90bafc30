#!/usr/bin/env python3
"""twbss.py PID MAP VAR: print a global of a BPF object's .bss map held by process PID
(a tornwatch), e.g. `twbss.py 1234 stablepa.bss wakeup_armed`; exit 1 if none is found.

The maps are found through PID's own file descriptors (map_id in /proc/PID/fdinfo), so
another tracer's maps of the same name are never read. bpftool prints the value by BTF."""
import glob
import json
import subprocess
import sys


def bpftool(*args):
    out = subprocess.run(["bpftool", "-j", *args], capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else None


def main():
    pid, name, var = sys.argv[1], sys.argv[2], sys.argv[3]
    ids = set()
    for fi in glob.glob(f"/proc/{pid}/fdinfo/*"):
        try:
            with open(fi) as f:
                ids.update(int(l.split()[1]) for l in f if l.startswith("map_id:"))
        except OSError:
            pass
    for i in sorted(ids):
        m = bpftool("map", "show", "id", str(i))
        if not m or m.get("name") != name:
            continue
        for entry in bpftool("map", "dump", "id", str(i)) or []:
            for sec in entry.get("formatted", {}).get("value", {}).values():
                for kv in sec:
                    if var in kv:
                        print(kv[var])
                        return 0
    return 1


sys.exit(main())
