#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""PostgreSQL after simulated power cuts: which pages each cut damaged, and what recovery left.

From fusehold's log of a device that held a PostgreSQL cluster with data checksums
(initdb -k), the images are built as tests/crash/cuts.py builds them (its Planner: request-
and sector-atomic models; after-write and seeded random cuts; the same durability rule;
cuts that keep the same changes share one image). For each image:
  mount    the filesystem recovers its journal or log (cuts.py's Mounter)
  before   pg_checksums --check on the files as the cut left them, before any WAL replay:
           the torn pages. pg_checksums refuses a cluster that was not shut down, so the
           state in global/pg_control is set to "shut down" (its CRC-32C recomputed) for
           this one run, and put back byte for byte afterwards
  reboot   postmaster.pid removed: the cut rebooted the host, so the PID it names is stale
           (stale_lock: there was one)
  start    pg_ctl start on the image's data directory: WAL crash recovery. A server that
           does not start is counted, with the page recovery could not read when its log
           names one ("invalid page in block N of relation base/D/R")
  amcheck  (--amcheck DB) pg_amcheck --install-missing --heapallindexed DB: heap and
           B-tree checks, every heap tuple found in each index
  stop     pg_ctl stop -m fast (a shutdown checkpoint)
  after    pg_checksums --check again: the pages recovery left damaged
A page is named by its file relative to the data directory and its block (file offset
block * 8192). The server runs as the postgres user on a unix socket in --rundir, one port
per worker (--port, --port + 1, ...).

Output (--out): a JSON line per cut: model, kind, t_ns, image, kept, mounted, stale_lock,
started, before and after (lists of [file, block]), invalid_page ([file, block] or null),
zeroed (the pages the server's log says it read as zeros), amcheck (with --amcheck, where
the server started: pg_amcheck's exit status and its first lines), seconds (of its image),
errors. The server log of image N under a model is --rundir/MODEL-N.log. --summary: the
totals per model.
tests/crash/pgcheck.py compares the pages with tornwatch's events.
"""
import argparse
import concurrent.futures
import errno
import json
import os
import queue
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cuts  # noqa: E402
import devlog  # noqa: E402

BLCKSZ = 8192
DB_SHUTDOWNED = 1   # DBState in pg_control
PG_CONTROL_VERSION = 1300   # PostgreSQL 13 to 16
BAD_RE = re.compile(r'checksum verification failed in file "([^"]+)", block (\d+):')
BAD_COUNT_RE = re.compile(r"^Bad checksums:\s+(\d+)$", re.M)
# The page recovery could not read (the startup process's ERROR, promoted to FATAL), and
# pages a read zeroed (the visibility map and free space map read with RBM_ZERO_ON_ERROR).
INVALID_RE = re.compile(r"(?:ERROR|FATAL|PANIC):\s+invalid page in block (\d+) of relation "
                        r"(\S+)$", re.M)
ZEROED_RE = re.compile(r"WARNING:\s+invalid page in block (\d+) of relation ([^;\s]+); "
                       r"zeroing out page")


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC32C = _crc32c_table()


def crc32c(buf):
    c = 0xFFFFFFFF
    for b in buf:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def control_crc_offset(ctl):
    """Where pg_control's CRC-32C sits: the first 4-byte slot that is the CRC of all before
    it (the struct's last field; its offset is the struct's layout, not a constant here)."""
    for off in range(24, 1024, 4):
        if int.from_bytes(ctl[off:off + 4], "little") == crc32c(ctl[:off]):
            return off
    return None


def control_as_shut_down(ctl):
    """pg_control's bytes with state DB_SHUTDOWNED and the CRC recomputed, or None."""
    if int.from_bytes(ctl[8:12], "little") != PG_CONTROL_VERSION:
        return None
    off = control_crc_offset(ctl)
    if off is None:
        return None
    out = bytearray(ctl)
    out[16:20] = DB_SHUTDOWNED.to_bytes(4, "little")
    out[off:off + 4] = crc32c(bytes(out[:off])).to_bytes(4, "little")
    return bytes(out)


class Postgres:
    """Commands as the postgres user, on this worker's own port and socket directory."""

    def __init__(self, pgbin, rundir, port):
        self.pgbin, self.rundir, self.port = pgbin, rundir, port

    def run(self, args, timeout=120):
        cmd = ["runuser", "-u", "postgres", "--", "env", "-i",
               f"PATH={self.pgbin}:/usr/bin:/bin", "LC_ALL=C", f"PGHOST={self.rundir}",
               f"PGPORT={self.port}", "PGUSER=postgres"] + args
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            return 124, "", f"timed out after {e.timeout} s"
        return p.returncode, p.stdout, p.stderr

    def checksums(self, pgdata):
        """([[file, block], ...], error or None): pg_checksums --check."""
        rc, out, err = self.run(["pg_checksums", "--check", "-D", pgdata])
        bad = [[os.path.relpath(m.group(1), pgdata), int(m.group(2))]
               for m in BAD_RE.finditer(err)]
        n = BAD_COUNT_RE.search(out)
        if n is None:
            return bad, f"pg_checksums exit {rc}: {err.strip().splitlines()[-1:]}"
        if int(n.group(1)) != len(bad):
            return bad, f"pg_checksums counts {n.group(1)} bad, names {len(bad)}"
        return bad, None

    def checksums_unrecovered(self, pgdata):
        """pg_checksums on the files as the cut left them (pg_control said shut down)."""
        path = os.path.join(pgdata, "global", "pg_control")
        with open(path, "rb") as f:
            orig = f.read()
        patched = control_as_shut_down(orig)
        if patched is None:
            return [], "pg_control: not a PostgreSQL 13-16 control file, or its CRC is bad"
        try:
            with open(path, "r+b") as f:
                f.write(patched)
            return self.checksums(pgdata)
        finally:
            with open(path, "r+b") as f:
                f.write(orig)

    def start(self, pgdata, log):
        opts = f"-p {self.port} -k {self.rundir} -c listen_addresses=''"
        rc, _, err = self.run(["pg_ctl", "start", "-w", "-t", "120", "-D", pgdata, "-l", log,
                               "-o", opts], timeout=150)
        return rc == 0, err.strip()

    def stop(self, pgdata, mode="fast"):
        rc, _, err = self.run(["pg_ctl", "stop", "-w", "-t", "60", "-m", mode, "-D", pgdata],
                              timeout=90)
        return rc == 0, err.strip()

    def gone(self, pgdata):
        """No server left on pgdata (pg_ctl start may fail and leave one; pid file stays
        when the postmaster died)."""
        rc, _, _ = self.run(["pg_ctl", "status", "-D", pgdata])
        if rc == 0:  # running
            self.stop(pgdata, "immediate")


def log_tail(path, n=2):
    """The server log's last FATAL, PANIC or ERROR lines (the reason it did not start)."""
    try:
        with open(path) as f:
            lines = [l.strip() for l in f if re.search(r"(FATAL|PANIC|ERROR):", l)]
    except OSError as e:
        return [f"{path}: {e}"]
    return lines[-n:]


def stale_lock(pgdata):
    """Remove the traced server's postmaster.pid, as the reboot after a power cut makes it
    stale: whether there was one. Left in place, it names a PID of the traced life that this
    host may have given to another process since (its PID counter wraps within seconds in a
    CI run); when that process is the postgres user's, the server refuses to start ('lock
    file "postmaster.pid" already exists'). tests/real/pgcut.sh makes it so every run."""
    try:
        os.unlink(os.path.join(pgdata, "postmaster.pid"))
    except FileNotFoundError:
        return False
    return True


class Worker:
    """One image at a time: its scratch file, mount point, loop device, server port."""

    def __init__(self, n, work, a):
        self.a = a
        self.scratch = os.path.join(work, f"cut{n}.img")
        self.mnt = os.path.join(work, f"mnt{n}")
        os.makedirs(self.mnt, exist_ok=True)
        self.mounter = cuts.Mounter(a.fs, self.mnt, None, 0, 0)
        self.data = devlog.Data(a.data)
        self.pg = Postgres(a.pgbin, a.rundir, a.port + n)
        self.log = None

    def image(self, base, changes, keep, name):
        """Build, mount, check, recover, check: the record of image NAME (its server log is
        --rundir/NAME.log)."""
        t0 = time.monotonic()
        self.log = os.path.join(self.a.rundir, f"{name}.log")
        cuts.build(base, self.scratch, changes, keep, self.data)
        r = {"mounted": False, "stale_lock": False, "started": False, "before": [], "after": [],
             "invalid_page": None, "zeroed": [], "errors": []}
        try:
            err, repair = self.mounter.open(self.scratch)
            if repair:
                r["repaired"] = repair
            if err:
                r["errors"].append(err)
            else:
                r["mounted"] = True
                self.recover(os.path.join(self.mnt, self.a.pgdata), r)
        finally:
            r["umount_retries"] = self.release()
            os.unlink(self.scratch)
        r["seconds"] = round(time.monotonic() - t0, 3)
        return r

    def release(self):
        """Unmount and detach: the number of retries. pg_ctl stop returns once postmaster.pid
        is gone; the postmaster, its working directory in the mount, exits just after (EBUSY
        seen once in about 500 XFS images): up to 5 s."""
        for n in range(100):
            try:
                self.mounter.release()
                return n
            except OSError as e:
                if e.errno != errno.EBUSY:
                    raise
                time.sleep(0.05)
        self.mounter.release()
        return 100

    def recover(self, pgdata, r):
        r["before"], err = self.pg.checksums_unrecovered(pgdata)
        if err:
            r["errors"].append(f"before: {err}")
        r["stale_lock"] = stale_lock(pgdata)
        if os.path.exists(self.log):
            os.unlink(self.log)
        started, err = self.pg.start(pgdata, self.log)
        try:
            with open(self.log) as f:
                text = f.read()
        except OSError:
            text = ""
        r["zeroed"] = [[m.group(2), int(m.group(1))] for m in ZEROED_RE.finditer(text)]
        if not started:
            r["errors"].append("start: " + " | ".join(log_tail(self.log) or [err]))
            m = INVALID_RE.search(text)
            if m:
                r["invalid_page"] = [m.group(2), int(m.group(1))]
            self.pg.gone(pgdata)
            return
        r["started"] = True
        if self.a.amcheck:
            rc, out, err = self.pg.run(["pg_amcheck", "--install-missing", "--heapallindexed",
                                        self.a.amcheck])
            lines = [l for l in (out + err).splitlines() if l.strip()]
            r["amcheck"] = {"rc": rc, "report": lines[:4]}
        stopped, err = self.pg.stop(pgdata)
        if not stopped:
            r["errors"].append(f"stop: {err}")
            self.pg.gone(pgdata)
            return
        r["after"], err = self.pg.checksums(pgdata)
        if err:
            r["errors"].append(f"after: {err}")

    def close(self):
        if self.mounter.mounted:	# interrupted: no server may keep the mount busy
            self.pg.gone(os.path.join(self.mnt, self.a.pgdata))
        try:
            self.release()
        finally:
            self.data.close()


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    cuts.log_args(ap, "the log's line count when the traced run started")
    ap.add_argument("--pgdata", required=True, help="the data directory, relative to the fs root")
    ap.add_argument("--pgbin", default="/usr/lib/postgresql/15/bin")
    ap.add_argument("--rundir", required=True,
                    help="the postgres user's directory: sockets and server logs")
    ap.add_argument("--port", type=int, required=True, help="worker n's server: port + n")
    ap.add_argument("--amcheck", metavar="DB",
                    help="pg_amcheck --heapallindexed DB while the recovered server runs")
    cuts.cut_args(ap, 20, 10, "images recovered at once")
    return ap.parse_args()


def recover_all(images, base, changes, workers, prefix):
    """{key: result} for each distinct image, len(workers) at a time; image n's name is
    PREFIX + n."""
    idle = queue.Queue()
    for w in workers:
        idle.put(w)

    def one(keep, name):
        w = idle.get()
        try:
            return w.image(base, changes, keep, name)
        finally:
            idle.put(w)

    with concurrent.futures.ThreadPoolExecutor(len(workers)) as ex:
        futures = {key: ex.submit(one, keep, f"{prefix}{n}")
                   for n, (key, keep) in enumerate(images.items())}
        return {key: f.result() for key, f in futures.items()}


def run_model(model, a, seed, changes, flushes, base, workers, out):
    rng = random.Random(f"{seed}-{model}")
    plan = cuts.Planner(changes, flushes, model, rng)
    cl = list(plan.write_cuts(a.write_cuts)) + list(plan.random_cuts(a.random))
    m = {"cuts": len(cl), "images": 0, "mount_failures": 0, "not_started": 0,
         "bad_before": 0, "bad_after": 0, "images_bad_before": 0, "images_bad_after": 0,
         "invalid_pages": 0, "errors": 0, "first_errors": [], "umount_retries": 0}
    t0 = time.monotonic()
    images = {}
    for _, _, keep in cl:
        images.setdefault(cuts.image_key(keep), keep)
    results = recover_all(images, base, changes, workers, f"{model}-")
    ids = {key: n for n, key in enumerate(images)}
    for r in results.values():
        m["mount_failures"] += not r["mounted"]
        m["not_started"] += r["mounted"] and not r["started"]
        m["bad_before"] += len(r["before"])
        m["bad_after"] += len(r["after"])
        m["images_bad_before"] += bool(r["before"])
        m["images_bad_after"] += bool(r["after"])
        m["invalid_pages"] += r["invalid_page"] is not None
        m["errors"] += bool(r["errors"])
        m["umount_retries"] += r["umount_retries"]
        if r["errors"] and len(m["first_errors"]) < 3:
            m["first_errors"].append(r["errors"][0][:300])
    for kind, t, keep in cl:
        key = cuts.image_key(keep)
        rec = {"model": model, "kind": kind, "t_ns": t, "image": ids[key], "kept": len(keep)}
        rec.update(results[key])
        out.write(json.dumps(rec) + "\n")
    m["images"] = len(images)
    m["seconds"] = round(time.monotonic() - t0, 3)
    m["seconds_per_image"] = round(m["seconds"] / max(1, len(images)), 3)
    return m


def main():
    a = parse_args()
    run = cuts.start(a, "pgcuts.py")
    if run is None:
        return 1
    seed, log, changes, flushes = run
    work = a.workdir or tempfile.mkdtemp(prefix="tw-pgcuts.", dir="/dev/shm")
    os.makedirs(work, exist_ok=True)
    os.chmod(work, 0o711)   # the postgres user reaches the data directories through it
    base = os.path.join(work, "base.img")
    data = devlog.Data(a.data)
    workers = []
    summary = {"seed": seed, "changes": len(changes), "flushes": len(flushes), "models": {}}
    t_start = time.monotonic()
    try:
        devlog.replay(log, data, base, a.mark)
        workers = [Worker(n, work, a) for n in range(max(1, a.jobs))]
        with open(a.out, "w") as out:
            models = ["request", "sector"] if a.model == "both" else [a.model]
            for model in models:
                summary["models"][model] = run_model(model, a, seed, changes, flushes,
                                                     base, workers, out)
    finally:
        for w in workers:
            try:
                w.close()
            except OSError as e:	# the next workers still release theirs
                print(f"pgcuts.py: {e}", file=sys.stderr)
        data.close()
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)
    summary["seconds"] = round(time.monotonic() - t_start, 3)
    if a.summary:
        with open(a.summary, "w") as f:
            json.dump(summary, f, indent=1)
    for model, m in summary["models"].items():
        print(f"# pgcuts.py: {model}-atomic: {m['cuts']} cuts, {m['images']} images, "
              f"{m['mount_failures']} not mounted, {m['not_started']} where the server did "
              f"not start; bad pages before recovery {m['bad_before']} (in "
              f"{m['images_bad_before']} images), after {m['bad_after']} (in "
              f"{m['images_bad_after']}); {m['seconds_per_image']} s per image; "
              f"{m['umount_retries']} umount retries",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (devlog.LogError, OSError) as e:
        print(f"pgcuts.py: {e}", file=sys.stderr)
        sys.exit(1)
