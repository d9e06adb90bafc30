# SPDX-License-Identifier: GPL-2.0
"""fusehold's request log (tests/fusehold_log.h): read it, replay it onto an image file, and
tell which writes a power cut at time T keeps.

The durability rule is dm-log-writes': a write (or fallocate) is durable at T once a flush
received after its reply (F.recv >= W.reply) has replied (F.reply <= T). A write received
after T never happened. Any other write received by T is volatile: absent, present, or
present in part.

    python3 devlog.py replay LOG DATA OUT [--upto LINES]   rebuild the device (sparse)
    python3 devlog.py verify LOG DATA BACKING               the log replayed == BACKING
    python3 devlog.py check-mark LOG --mark LINES           every change before LINES durable
"""
import argparse
import bisect
import ctypes
import os
import sys
import zlib

SECTOR = 512

# fallocate(2) modes the loop driver sends for discard and write-zeroes
FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
FALLOC_FL_ZERO_RANGE = 0x10
FALLOC_FL_WRITE_ZEROES = 0x80
ZEROING = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_WRITE_ZEROES


class LogError(Exception):
    pass


class Op:
    """One logged request: kind W (write), Z (fallocate) or F (fsync)."""
    __slots__ = ("kind", "line", "seq", "recv", "reply", "off", "len", "data_off", "crc",
                 "mode", "durable_at")

    def __init__(self, kind, line, f):
        self.kind, self.line = kind, line
        self.seq, self.recv, self.reply = int(f[1]), int(f[2]), int(f[3])
        self.off = self.len = self.data_off = self.crc = self.mode = None
        self.durable_at = None	# reply of the first flush that covers it (None: none)
        if kind == "W":
            self.off, self.len, self.data_off = int(f[4]), int(f[5]), int(f[6])
            self.crc = int(f[7], 16)
        elif kind == "Z":
            self.off, self.len, self.mode = int(f[4]), int(f[5]), int(f[6], 16)

    def zeroes(self):
        """A fallocate that changes the bytes (to zeros); mode 0 / KEEP_SIZE only allocates."""
        if self.mode & ~(ZEROING | FALLOC_FL_KEEP_SIZE):
            raise LogError(f"line {self.line}: fallocate mode {self.mode:#x} not modelled")
        return bool(self.mode & ZEROING)


class Log:
    def __init__(self, path, data_path=None):
        self.path, self.data_path = path, data_path
        self.size = None
        self.max_write = None
        self.ops = []		# W, Z and F in reply order (the log's order)
        self.lines = 0
        with open(path) as f:
            for n, text in enumerate(f):
                self.lines = n + 1
                if not text.endswith("\n"):
                    raise LogError(f"{path}:{n + 1}: a partial line")
                fields = text.split()
                if not fields:
                    raise LogError(f"{path}:{n + 1}: an empty line")
                if fields[0] == "#":
                    self._note(fields[1:])
                elif fields[0] in ("W", "Z", "F") and len(fields) == {"W": 8, "Z": 7,
                                                                       "F": 4}[fields[0]]:
                    self.ops.append(Op(fields[0], n, fields))
                else:
                    raise LogError(f"{path}:{n + 1}: not a log line: {text.strip()}")
        if self.size is None:
            raise LogError(f"{path}: no '# fusehold-log 1 size N' header")
        self._durability()

    def _note(self, f):
        if f[:3] == ["fusehold-log", "1", "size"]:
            self.size = int(f[3])
        elif f[0] == "max_write":
            self.max_write = int(f[1])

    def _durability(self):
        """durable_at of each W and Z: the earliest reply of a flush received after its reply."""
        flushes = sorted((op.recv, op.reply) for op in self.ops if op.kind == "F")
        recvs = [r for r, _ in flushes]
        suffix_min, best = [0] * len(flushes), None
        for i in range(len(flushes) - 1, -1, -1):
            best = flushes[i][1] if best is None else min(best, flushes[i][1])
            suffix_min[i] = best
        for op in self.ops:
            if op.kind == "F":
                continue
            i = bisect.bisect_left(recvs, op.reply)
            op.durable_at = suffix_min[i] if i < len(flushes) else None

    def changes(self, lo=0, hi=None):
        """The W and Z ops on log lines [lo, hi)."""
        hi = self.lines if hi is None else hi
        return [op for op in self.ops if op.kind != "F" and lo <= op.line < hi]

    def flushes(self, lo=0, hi=None):
        hi = self.lines if hi is None else hi
        return [op for op in self.ops if op.kind == "F" and lo <= op.line < hi]

    def not_durable_before(self, mark):
        """Changes before line mark that no flush before mark covers."""
        last = max((f.recv for f in self.flushes(0, mark)), default=None)
        return [op for op in self.changes(0, mark) if last is None or last < op.reply]


class Data:
    """The --log-data file: the bytes of every logged write, checked against their crc32."""

    def __init__(self, path):
        self.f = open(path, "rb")

    def bytes_of(self, op):
        self.f.seek(op.data_off)
        buf = self.f.read(op.len)
        if len(buf) != op.len or zlib.crc32(buf) != op.crc:
            raise LogError(f"log line {op.line + 1}: the data of the write at {op.off} "
                           f"(len {op.len}) does not match its crc32")
        return buf

    def close(self):
        self.f.close()


_libc = ctypes.CDLL(None, use_errno=True)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]


def punch(fd, off, length):
    """Zeros over [off, off + length) without allocating (tmpfs has no ZERO_RANGE)."""
    if _libc.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, length):
        err = ctypes.get_errno()
        raise OSError(err, f"fallocate punch {off}+{length}: {os.strerror(err)}")


def sector_runs(sectors):
    """Sorted sector indexes as (first, count) runs."""
    runs = []
    for s in sorted(sectors):
        if runs and runs[-1][0] + runs[-1][1] == s:
            runs[-1][1] += 1
        else:
            runs.append([s, 1])
    return runs


def apply(fd, op, data, sectors=None):
    """Op's change onto the image open as fd: whole, or only the given 512-byte sectors."""
    if op.kind == "Z" and not op.zeroes():
        return
    runs = [(0, op.len // SECTOR)] if sectors is None else sector_runs(sectors)
    buf = data.bytes_of(op) if op.kind == "W" else None
    for first, count in runs:
        lo, n = first * SECTOR, count * SECTOR
        if op.kind == "W":
            os.pwrite(fd, buf[lo:lo + n], op.off + lo)
        else:
            punch(fd, op.off + lo, n)


def replay(log, data, out, upto=None):
    """A sparse image of the device after the changes on log lines [0, upto)."""
    fd = os.open(out, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.ftruncate(fd, log.size)
        for op in log.changes(0, upto):
            if op.len % SECTOR or op.off % SECTOR:
                raise LogError(f"log line {op.line + 1}: {op.off}+{op.len} is not in sectors")
            apply(fd, op, data)
    finally:
        os.close(fd)


def data_extents(fd, size):
    """(start, end) of the ranges SEEK_DATA finds: outside them the file reads as zeros."""
    out, off = [], 0
    while off < size:
        try:
            start = os.lseek(fd, off, os.SEEK_DATA)
        except OSError:
            break	# ENXIO: a hole to the end
        end = os.lseek(fd, start, os.SEEK_HOLE)
        out.append((start, end))
        off = end
    return out


def first_difference(a, b):
    """The first offset where files a and b differ (None: the same), reading only where
    either has data."""
    fa, fb = os.open(a, os.O_RDONLY), os.open(b, os.O_RDONLY)
    try:
        size = os.fstat(fa).st_size
        if os.fstat(fb).st_size != size:
            return min(size, os.fstat(fb).st_size)
        for start, end in sorted(data_extents(fa, size) + data_extents(fb, size)):
            for off in range(start, end, 1 << 20):
                n = min(1 << 20, end - off)
                x, y = os.pread(fa, n, off), os.pread(fb, n, off)
                if x != y:
                    return off + next(i for i in range(n) if x[i:i + 1] != y[i:i + 1])
        return None
    finally:
        os.close(fa)
        os.close(fb)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("replay", help="rebuild the device from the log")
    r.add_argument("log")
    r.add_argument("data")
    r.add_argument("out")
    r.add_argument("--upto", type=int, help="only the log's first UPTO lines")
    v = sub.add_parser("verify", help="the log replayed gives the backing file")
    v.add_argument("log")
    v.add_argument("data")
    v.add_argument("backing")
    v.add_argument("--workdir", default="/dev/shm")
    m = sub.add_parser("check-mark", help="every change before the mark is durable")
    m.add_argument("log")
    m.add_argument("--mark", type=int, required=True)
    a = ap.parse_args()
    try:
        log = Log(a.log)
        if a.cmd == "replay":
            data = Data(a.data)
            replay(log, data, a.out, a.upto)
            data.close()
            return 0
        if a.cmd == "verify":
            out = os.path.join(a.workdir, f"devlog-verify.{os.getpid()}")
            try:
                replay(log, Data(a.data), out)
                diff = first_difference(out, a.backing)
            finally:
                if os.path.exists(out):
                    os.unlink(out)
            if diff is not None:
                print(f"devlog: the log replayed differs from {a.backing} at byte {diff}",
                      file=sys.stderr)
                return 1
            print(f"# devlog: {len(log.changes())} changes replayed: {a.backing} byte for "
                  f"byte", file=sys.stderr)
            return 0
        bad = log.not_durable_before(a.mark)
        for op in bad[:10]:
            print(f"devlog: line {op.line + 1}: {op.kind} at {op.off} not durable at the mark",
                  file=sys.stderr)
        return 1 if bad else 0
    except (LogError, OSError) as e:
        print(f"devlog: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
