#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Disk images as they would be after simulated power cuts, and the writer's units in each.

From fusehold's log (tests/fusehold_log.h), its data file and the mark (the log line count
at which the workload starts, everything before it durable), cuts.py rebuilds the device
at the mark (the base image), then for each cut: a sparse copy of the base, plus the
post-mark changes the cut keeps (devlog.py's durability rule). It attaches a loop device to
the copy, mounts it so the journal or log recovers, reads the writer's stamped file back
(tests/writer_stamp.c), unmounts, detaches, and classifies each unit: torn when its
sectors carry different versions (or one fails its checksum).

Device models: request (a volatile write is absent or present) and sector (absent,
present, or present in 512-byte sectors). Cuts, per model:
  flush   at the reply of every post-mark flush, every volatile change absent
  write   at the reply of every post-mark write (at most --write-cuts, evenly spaced):
          what was acknowledged by then present; a write in flight absent (request) or its
          first half of sectors present (sector)
  random  --random cuts: a time drawn inside a random change's volatile window, then each
          volatile change kept or not (sector: in part) at random; --seed replays them
Cuts that keep exactly the same changes share one image (mounted once); --jobs images are
mounted at once (the output does not depend on it). An image that does not mount is
repaired (e2fsck -fy, xfs_repair) and mounted again; both are counted.

Output (--out): a JSON line per cut: model, kind, cut time t_ns (CLOCK_MONOTONIC), image,
mounted, and per unit (file offset, as a string) the versions its sectors carry in order of
first appearance ("zero": never written, "bad": a failed stamp); torn: the torn units.
The summary (--summary, and a line on stderr) counts cuts, images, torn units, seconds.
tests/crash/check.py compares them with tornwatch's events.
"""
import argparse
import concurrent.futures
import ctypes
import errno
import fcntl
import json
import os
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import devlog  # noqa: E402
import stamps  # noqa: E402

SECTOR = devlog.SECTOR
ALL = "all"	# a change kept whole


def volatile(op, t):
    """Received by t and not yet made durable by a flush."""
    return op.recv <= t and (op.durable_at is None or op.durable_at > t)


def durable(op, t):
    return op.durable_at is not None and op.durable_at <= t


class Planner:
    """Which post-mark changes each cut keeps: {index in changes: ALL or frozenset of sectors}."""

    def __init__(self, changes, flushes, model, rng):
        self.changes, self.flushes, self.model, self.rng = changes, flushes, model, rng

    def _base(self, t):
        return {i: ALL for i, op in enumerate(self.changes) if durable(op, t)}

    def flush_cuts(self):
        for f in self.flushes:
            yield "flush", f.reply, self._base(f.reply)

    def write_cuts(self, limit):
        writes = [op for op in self.changes if op.kind == "W"] if limit > 0 else []
        if len(writes) > limit:
            step = len(writes) / limit
            writes = [writes[int(k * step)] for k in range(limit)]
        for w in writes:
            t = w.reply
            keep = self._base(t)
            for i, op in enumerate(self.changes):
                if i in keep or not volatile(op, t):
                    continue
                if op.reply <= t:
                    keep[i] = ALL
                elif self.model == "sector" and op.len >= 2 * SECTOR:
                    keep[i] = frozenset(range(op.len // SECTOR // 2))
            yield "write", t, keep

    def random_cuts(self, n):
        end = max((op.reply for op in self.changes + self.flushes), default=0)
        for _ in range(n):
            op = self.rng.choice(self.changes)
            hi = op.durable_at if op.durable_at is not None else end
            t = self.rng.randint(op.recv, max(op.recv, hi - 1))
            keep = self._base(t)
            for i, c in enumerate(self.changes):
                if i in keep or not volatile(c, t):
                    continue
                state = self._random_state(c)
                if state is not None:
                    keep[i] = state
            yield "random", t, keep

    def _random_state(self, op):
        r = self.rng.random()
        nsec = op.len // SECTOR
        if self.model == "request" or nsec < 2:
            return ALL if r < 0.5 else None
        if r < 0.25:
            return None
        if r < 0.5:
            return ALL
        part = frozenset(s for s in range(nsec) if self.rng.random() < 0.5)
        if not part:
            return None
        return ALL if len(part) == nsec else part


def image_key(keep):
    return tuple(sorted((i, s if s == ALL else tuple(sorted(s))) for i, s in keep.items()))


def sparse_copy(src, dst):
    """dst: src's bytes, its holes left holes."""
    si = os.open(src, os.O_RDONLY)
    so = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        size = os.fstat(si).st_size
        os.ftruncate(so, size)
        off = 0
        while off < size:
            try:
                data = os.lseek(si, off, os.SEEK_DATA)
            except OSError:
                break	# ENXIO: only a hole is left
            hole = os.lseek(si, data, os.SEEK_HOLE)
            pos = data
            while pos < hole:
                n = os.copy_file_range(si, so, hole - pos, pos, pos)
                if n <= 0:
                    raise OSError(f"copy_file_range {src} -> {dst} at {pos}: {n}")
                pos += n
            off = hole
    finally:
        os.close(si)
        os.close(so)


# <linux/loop.h>: attaching and detaching with ioctls, mounting with mount(2): no process
# per image (losetup, mount and umount as processes cost about half the time per image).
LOOP_SET_FD, LOOP_CLR_FD, LOOP_CTL_GET_FREE = 0x4C00, 0x4C01, 0x4C82
_libc = ctypes.CDLL(None, use_errno=True)


def _check(ret, what):
    if ret:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


class Mounter:
    """Attach, mount (recovery), read the writer's file, unmount, detach: one image.
    An image that does not mount is repaired (e2fsck -fy, xfs_repair) and mounted again."""

    def __init__(self, fs, mnt, rel, roff, rlen):
        self.fs, self.mnt, self.rel, self.roff, self.rlen = fs, mnt, rel, roff, rlen
        self.loop_fd = None
        self.loop = None
        self.mounted = False

    def _attach(self, image):
        ctl = os.open("/dev/loop-control", os.O_RDWR)
        try:
            for _ in range(100):	# another process may take the free device first
                n = fcntl.ioctl(ctl, LOOP_CTL_GET_FREE)
                dev = f"/dev/loop{n}"
                fd = os.open(dev, os.O_RDWR)
                img = os.open(image, os.O_RDWR)
                try:
                    fcntl.ioctl(fd, LOOP_SET_FD, img)
                except OSError as e:
                    os.close(fd)
                    if e.errno != errno.EBUSY:
                        raise
                    continue
                finally:
                    os.close(img)
                self.loop_fd, self.loop = fd, dev
                return
        finally:
            os.close(ctl)
        raise OSError(errno.EBUSY, "no free loop device")

    def _mount(self):
        opts = b"nouuid" if self.fs == "xfs" else b"noinit_itable"
        if _libc.mount(self.loop.encode(), self.mnt.encode(), self.fs.encode(), 0, opts):
            err = ctypes.get_errno()
            return f"mount: {os.strerror(err)}"
        self.mounted = True
        return None

    def _repair(self):
        p = subprocess.run(self._repair_cmd() + [self.loop], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        lines = [l for l in p.stdout.splitlines() if l.strip()]
        return p.returncode, lines[-1].strip() if lines else ""

    def open(self, image):
        """Attach image and mount it, repaired first if it does not mount: (what failed or
        None, the repair done or None). release() undoes it, whatever came back."""
        self._attach(image)
        repair = None
        err = self._mount()
        if err:
            rc, last = self._repair()
            repair = f"{err}; repaired ({' '.join(self._repair_cmd())} exit {rc}: {last})"
            err = self._mount()
        return err, repair

    def read(self, image):
        """(the bytes read or None, what failed or None, the repair done or None)"""
        try:
            err, repair = self.open(image)
            if err:
                return None, err, repair
            try:
                with open(os.path.join(self.mnt, self.rel), "rb") as f:
                    f.seek(self.roff)
                    buf = f.read(self.rlen)
            except OSError as e:
                return None, f"read: {e}", repair
            return buf, None, repair
        finally:
            self.release()

    def _repair_cmd(self):
        return ["e2fsck", "-fy"] if self.fs == "ext4" else ["xfs_repair"]

    def release(self):
        if self.mounted:
            _check(_libc.umount2(self.mnt.encode(), 0), f"umount {self.mnt}")
            self.mounted = False
        if self.loop_fd is not None:
            fcntl.ioctl(self.loop_fd, LOOP_CLR_FD)
            os.close(self.loop_fd)
            self.loop_fd = self.loop = None


def classify(buf, roff, unit):
    units, torn = {}, []
    for u in range(0, len(buf) - unit + 1, unit):
        vs = stamps.unit_versions(buf[u:u + unit], roff + u)
        units[str(roff + u)] = stamps.summary(vs)
        if stamps.is_torn(vs):
            torn.append(str(roff + u))
    return units, torn


class Worker:
    """One image at a time: its own scratch file, mount point, loop device, data handle."""

    def __init__(self, n, work, a):
        self.a = a
        self.scratch = os.path.join(work, f"cut{n}.img")
        mnt = os.path.join(work, f"mnt{n}")
        os.makedirs(mnt, exist_ok=True)
        self.mounter = Mounter(a.fs, mnt, a.file, a.offset, a.length)
        self.data = devlog.Data(a.data)

    def image(self, base, changes, keep):
        """What one image holds: mounted (repaired), and its units, or the error."""
        a = self.a
        build(base, self.scratch, changes, keep, self.data)
        try:
            buf, err, repair = self.mounter.read(self.scratch)
        finally:
            os.unlink(self.scratch)
        if buf is None:
            r = {"mounted": False, "error": err}
        elif len(buf) != a.length:
            r = {"mounted": True, "error": f"read {len(buf)} of {a.length}"}
        else:
            units, torn = classify(buf, a.offset, a.unit)
            r = {"mounted": True, "units": units, "torn": torn}
        if repair:
            r["repaired"] = repair
        return r

    def close(self):
        self.mounter.release()
        self.data.close()


def build(base, scratch, changes, keep, data):
    sparse_copy(base, scratch)
    fd = os.open(scratch, os.O_RDWR)
    try:
        for i in sorted(keep):	# the log's order: later changes land on earlier ones
            devlog.apply(fd, changes[i], data, None if keep[i] == ALL else keep[i])
    finally:
        os.close(fd)


def log_args(ap, mark_help):
    """The recording device's log, its mark and the filesystem (cuts.py, pgcuts.py)."""
    ap.add_argument("--log", required=True, help="fusehold --log")
    ap.add_argument("--data", required=True, help="fusehold --log-data")
    ap.add_argument("--mark", type=int, required=True, help=mark_help)
    ap.add_argument("--fs", required=True, choices=["ext4", "xfs"])


def cut_args(ap, random_cuts, write_cuts, jobs_help):
    """Which cuts, how many images at once, and the outputs (cuts.py, pgcuts.py)."""
    ap.add_argument("--model", choices=["request", "sector", "both"], default="both")
    ap.add_argument("--random", type=int, default=random_cuts, help="random cuts per model")
    ap.add_argument("--write-cuts", type=int, default=write_cuts,
                    help="at most this many after-write cuts per model")
    ap.add_argument("--seed", type=int, help="default: drawn, and printed")
    ap.add_argument("--workdir", help="images go here (default: a directory in /dev/shm)")
    ap.add_argument("--jobs", type=int, default=2, help=jobs_help)
    ap.add_argument("--out", required=True, help="JSON lines, one per cut")
    ap.add_argument("--summary", help="the totals as JSON")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    log_args(ap, "the log's line count when the workload started")
    ap.add_argument("--file", required=True, help="the writer's file, relative to the fs root")
    ap.add_argument("--offset", type=int, default=0, help="first byte of the units")
    ap.add_argument("--length", type=int, required=True, help="bytes of units to read")
    ap.add_argument("--unit", type=int, required=True, help="unit size in bytes")
    cut_args(ap, 100, 100, "images mounted at once (default 2)")
    a = ap.parse_args()
    if a.unit % SECTOR or a.length % a.unit or a.offset % SECTOR:
        ap.error("--unit, --length and --offset must be in sectors, --length in units")
    return a


def start(a, name):
    """The seed, the log and its post-mark changes and flushes of a cuts run (cuts.py,
    pgcuts.py), or None when the log cannot be cut (said on stderr)."""
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 31)
    print(f"# {name}: seed {seed} (--seed {seed} replays these cuts)", file=sys.stderr)
    log = devlog.Log(a.log)
    late = log.not_durable_before(a.mark)
    if late:
        print(f"{name}: {len(late)} changes before the mark (line {a.mark}) are not durable "
              f"there, the first on log line {late[0].line + 1}", file=sys.stderr)
        return None
    changes, flushes = log.changes(a.mark), log.flushes(a.mark)
    if not changes:
        print(f"{name}: no change after the mark", file=sys.stderr)
        return None
    return seed, log, changes, flushes


def main():
    a = parse_args()
    run = start(a, "cuts.py")
    if run is None:
        return 1
    seed, log, changes, flushes = run
    work = a.workdir or tempfile.mkdtemp(prefix="tw-cuts.", dir="/dev/shm")
    os.makedirs(work, exist_ok=True)
    base = os.path.join(work, "base.img")
    data = devlog.Data(a.data)
    workers = []
    summary = {"seed": seed, "changes": len(changes), "flushes": len(flushes), "models": {}}
    t_start = time.monotonic()
    try:
        devlog.replay(log, data, base, a.mark)
        summary["base_seconds"] = round(time.monotonic() - t_start, 3)
        workers = [Worker(n, work, a) for n in range(max(1, a.jobs))]
        with open(a.out, "w") as out:
            models = ["request", "sector"] if a.model == "both" else [a.model]
            for model in models:
                summary["models"][model] = run_model(model, a, seed, changes, flushes, base,
                                                     workers, out)
    finally:
        for w in workers:
            w.close()
        data.close()
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)
    summary["seconds"] = round(time.monotonic() - t_start, 3)
    if a.summary:
        with open(a.summary, "w") as f:
            json.dump(summary, f, indent=1)
    print(f"# cuts.py: base image {summary['base_seconds']} s, {summary['seconds']} s in all",
          file=sys.stderr)
    for model, m in summary["models"].items():
        print(f"# cuts.py: {model}-atomic: {m['cuts']} cuts, {m['images']} images "
              f"({m['repaired']} mounted only once repaired, {m['mount_failures']} not at "
              f"all), {m['torn_units']} torn units in "
              f"{m['cuts_with_torn']} cuts, {m['seconds']} s, {m['seconds_per_image']} s "
              f"per image", file=sys.stderr)
    return 0


def mount_all(images, base, changes, workers):
    """{key: result} for each distinct image, len(workers) at a time."""
    idle = queue.Queue()
    for w in workers:
        idle.put(w)

    def one(keep):
        w = idle.get()
        try:
            return w.image(base, changes, keep)
        finally:
            idle.put(w)

    with concurrent.futures.ThreadPoolExecutor(len(workers)) as ex:
        futures = {key: ex.submit(one, keep) for key, keep in images.items()}
        return {key: f.result() for key, f in futures.items()}


def run_model(model, a, seed, changes, flushes, base, workers, out):
    rng = random.Random(f"{seed}-{model}")
    plan = Planner(changes, flushes, model, rng)
    cuts = list(plan.flush_cuts()) + list(plan.write_cuts(a.write_cuts)) + \
        list(plan.random_cuts(a.random))
    m = {"cuts": len(cuts), "images": 0, "mount_failures": 0, "repaired": 0, "repairs": [],
         "torn_units": 0, "cuts_with_torn": 0, "by_kind": {}}
    t0 = time.monotonic()
    images = {}	# key: the changes kept, the first cut's
    for _, _, keep in cuts:
        images.setdefault(image_key(keep), keep)
    results = mount_all(images, base, changes, workers)
    ids = {key: n for n, key in enumerate(images)}
    for r in results.values():
        m["mount_failures"] += not r["mounted"]
        if r.get("repaired") and r["mounted"]:	# mounted only after fsck
            m["repaired"] += 1
            if len(m["repairs"]) < 5:
                m["repairs"].append(r["repaired"])
    for kind, t, keep in cuts:
        key = image_key(keep)
        r = results[key]
        torn = len(r.get("torn", []))
        m["torn_units"] += torn
        m["cuts_with_torn"] += torn > 0
        k = m["by_kind"].setdefault(kind, {"cuts": 0, "torn_units": 0})
        k["cuts"] += 1
        k["torn_units"] += torn
        rec = {"model": model, "kind": kind, "t_ns": t, "image": ids[key], "kept": len(keep)}
        rec.update(r)
        out.write(json.dumps(rec) + "\n")
    m["images"] = len(images)
    m["seconds"] = round(time.monotonic() - t0, 3)
    m["seconds_per_image"] = round(m["seconds"] / max(1, len(images)), 4)
    return m


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (devlog.LogError, OSError) as e:
        print(f"cuts.py: {e}", file=sys.stderr)
        sys.exit(1)
