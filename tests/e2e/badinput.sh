#!/usr/bin/env bash
# Bad input: a table of refused invocations. Each row gives the exact exit status and the
# exact message; the run must print that ONE line on stderr (naming the option and what to
# do), nothing on stdout, and make not one bpf() call (strace): every refusal comes before
# anything is loaded.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

STRACE=$(command -v strace)
[ -n "$STRACE" ] || skip "bad input: no strace; the 'no bpf() call' part of each row is not checked"

# bad STATUS MESSAGE ARGS...: tornwatch ARGS exits STATUS and prints "tornwatch: MESSAGE".
# ($T in MESSAGE and ARGS stands for the test's temporary folder.)
bad() {
	local want_rc=$1 want="tornwatch: $2" rc nbpf=0 what=""
	shift 2
	if [ -n "$STRACE" ]; then
		"$STRACE" -f -qq -e trace=bpf -o "$TMPD/bpf" ${AS:-} "$TW" "$@" >"$TMPD/out" 2>"$TMPD/err"
		rc=$?
		nbpf=$(grep -c 'bpf(' "$TMPD/bpf")
	else
		${AS:-} "$TW" "$@" >"$TMPD/out" 2>"$TMPD/err"
		rc=$?
	fi
	[ "$rc" == "$want_rc" ] || what+=" exit status $rc, not $want_rc;"
	[ "$(cat "$TMPD/err")" == "$want" ] || what+=" stderr '$(cat "$TMPD/err")', not '$want';"
	[ "$(wc -l <"$TMPD/err")" == 1 ] || what+=" $(wc -l <"$TMPD/err") lines on stderr;"
	[ -s "$TMPD/out" ] && what+=" stdout not empty;"
	[ "$nbpf" == 0 ] || what+=" $nbpf bpf() calls;"
	if [ -z "$what" ]; then
		ok "bad input: ${*//$T/\$T}"
	else
		notok "bad input: ${*//$T/\$T}:$what"
	fi
}

T=$TMPD
NS="give a number with an optional k/m suffix such as 8k"
NN="give a decimal such as 10"
UNIT="give a power of two from 512 to 1m, e.g. 8k, 16k"
RB="give a power of two from 64k to 1g, e.g. 4m or 64m"
KINDS="give a comma list of split,modified,misaligned,refused,pending,lost,untracked,inferred,exposed"
EMPTYK="has an empty kind; give a comma list without empty items, e.g. split,modified,lost"
AS_EX="give e.g. --atomic-size 259:0=16k or --atomic-size /dev/nvme0n1=16k"
LIVE="is for live tracing; a --replay takes it from its record or has no use for it: drop it"

# Sizes: trailing garbage, negative, overflow, zero, not a power of two.
bad 2 "--unit: '8kx' is not a size; $NS" --unit 8kx -- true
bad 2 "--unit: 'abc' is not a size; $NS" --unit abc -- true
bad 2 "--unit: '-8k' is not a size; $NS" --unit -8k -- true
bad 2 "--unit: 3k is not a power of two; give one from 512 to 1m, e.g. 8k, 16k" --unit 3k -- true
bad 2 "--unit: 2m is out of range; $UNIT" --unit 2m -- true
bad 2 "--unit: 256 is out of range; $UNIT" --unit 256 -- true
bad 2 "--unit: 0 is out of range; $UNIT" --unit 0 -- true
bad 2 "--unit: 99999999999999999999 is out of range; $UNIT" --unit 99999999999999999999 -- true
bad 2 "--ringbuf: 3000 is not a power of two; give one from 64k to 1g, e.g. 4m or 64m" \
	--ringbuf 3000 -- true
bad 2 "--ringbuf: 3m is not a power of two; give one from 64k to 1g, e.g. 4m or 64m" \
	--ringbuf 3m -- true
bad 2 "--ringbuf: 32k is out of range; $RB" --ringbuf 32k -- true
bad 2 "--ringbuf: 2g is out of range; $RB" --ringbuf 2g -- true
bad 2 "--ringbuf: 0 is out of range; $RB" --ringbuf 0 -- true
bad 2 "--ringbuf: '16q' is not a size; $NS" --ringbuf 16q -- true
bad 2 "--atomic-size: '7:0' is not DEV=SIZE; $AS_EX" --atomic-size 7:0 -- true
bad 2 "--atomic-size: 'sda' is neither MAJ:MIN nor a /dev path; $AS_EX (lsblk shows MAJ:MIN)" \
	--atomic-size sda=16k -- true
bad 2 "--atomic-size: /dev/null is not a block device; $AS_EX" --atomic-size /dev/null=16k -- true
bad 2 "--atomic-size: 1000 is not a multiple of 512 bytes; $AS_EX" --atomic-size 7:0=1000 -- true
bad 2 "--atomic-size: 99999999999999999999 is out of range; give 512 to 1g" \
	--atomic-size 7:0=99999999999999999999 -- true

# Counts: zero where it means nothing, negative, trailing garbage, overflow.
bad 2 "--max-units: 0 is out of range; give 1 to 1073741824" --max-units 0 -- true
bad 2 "--max-units: '-5' is not a number; $NN" --max-units -5 -- true
bad 2 "--max-units: '1k' is not a number; $NN" --max-units 1k -- true
bad 2 "--max-units: 99999999999999999999 is out of range; give 1 to 1073741824" \
	--max-units 99999999999999999999 -- true
bad 2 "--max-files: 0 is out of range; give 1 to 16777216" --max-files 0 -- true
bad 2 "--max-bios: 15 is out of range; give 16 to 16777216" --max-bios 15 -- true
bad 2 "--max-procs: 0 is out of range; give 1 to 4194304" --max-procs 0 -- true
bad 2 "--top: '-1' is not a number; $NN" --top -1 -- true
bad 2 "--json-version: 3 is out of range; give 1 to 2" --json-version 3 --json /dev/null -- true
bad 2 "--json-version: 'x' is not a number; $NN" --json-version x --json /dev/null -- true
bad 2 "--json-version says which JSON to write; add --json FILE" --json-version 1 -- true

# PIDs.
bad 2 "-p/--pid: 'abc' is not a number; $NN" -p abc
bad 2 "-p/--pid: 0 is out of range; give 1 to 4194304" -p 0
bad 2 "-p/--pid: '-1' is not a number; $NN" -p -1
bad 2 "-p/--pid: '5x' is not a number; $NN" -p 5x
bad 2 "-p/--pid: ' 5' is not a number; $NN" -p " 5"
bad 2 "-p/--pid: 99999999999999999999 is out of range; give 1 to 4194304" -p 99999999999999999999
mapfile -t many < <(for i in $(seq 65); do echo -p; echo "$i"; done)
bad 2 "-p: at most 64 PIDs; use -f to follow children" "${many[@]}"

# Durations and intervals.
bad 2 "-d/--duration: 0 is out of range; give 1 to 31536000" -d 0 -- true
bad 2 "-d/--duration: '5x' is not a number; $NN" -d 5x -- true
bad 2 "-d/--duration: '1.5' is not a number; $NN" -d 1.5 -- true
bad 2 "-d/--duration: '-5' is not a number; $NN" -d -5 -- true
bad 2 "-d/--duration: 99999999999999999999 is out of range; give 1 to 31536000" \
	-d 99999999999999999999 -- true
bad 2 "-i/--interval: 0 is out of range; give 1 to 86400" -i 0 -- true
bad 2 "-i/--interval COUNT: 0 is out of range; give 1 to 4294967296" -i 1 0 -- true

# --fail-on words, --events.
bad 2 "--fail-on: unknown kind 'splat'; $KINDS" --check --fail-on split,splat -- true
bad 2 "--fail-on: empty list; give e.g. split,modified,lost" --check --fail-on "" -- true
bad 2 "--fail-on: 'split,' $EMPTYK" --check --fail-on split, -- true
bad 2 "--fail-on: 'split,,lost' $EMPTYK" --check --fail-on split,,lost -- true
bad 2 "--fail-on goes with --check; add --check" --fail-on split -- true
bad 2 "--events: 'bogus' is not 'all'; give --events or --events=all" --events=bogus -- true
bad 2 "--events and --json - both write to stdout; give --json a file name" \
	--events --json - -- true

# What to trace, and options that exclude each other or come twice.
bad 2 "nothing to trace; give -p PID or -- COMMAND (see 'tornwatch --help')" --unit 8k
bad 2 "give either -p PID or -- COMMAND, not both" -p 1 -- true
bad 2 "-f follows the children of -p PIDs; a -- COMMAND is always followed with its children" \
	-f -- true
bad 2 "unknown option '--frobnicate'; see 'tornwatch --help'" --frobnicate
bad 2 "-p needs a value; see 'tornwatch --help'" -p
bad 2 "--max-units needs a value; see 'tornwatch --help'" --max-units
bad 2 "unexpected argument 'true'; put the command after '--'" --unit 8k true
bad 2 "-d/--duration given twice; give it once" -d 1 -d 2 -- true
bad 2 "-u/--unit given twice; give it once" --unit 8k --unit 16k -- true
bad 2 "-w/--record given twice; give it once" --record "$T/a" --record "$T/b" -- true
bad 2 "-r/--replay given twice; give it once" --replay "$T/a" --replay "$T/b"

# Replay: a record file, alone.
# the formats this tornwatch reads (bpf/tornwatch.h: MIN to V), the one before and the one after
V=$(sed -n 's/^#define TW_RECORD_VERSION \([0-9]*\)$/\1/p' "$TOP/bpf/tornwatch.h")
VMIN=$(sed -n 's/^#define TW_RECORD_VERSION_MIN \([0-9]*\).*$/\1/p' "$TOP/bpf/tornwatch.h")
python3 -c "
import struct, sys
v, vmin = int(sys.argv[2]), int(sys.argv[3])
hdr = lambda v: b'TORNWREC' + struct.pack('<IIQQ64s', v, 96, 8192, 0, b'k')
open(sys.argv[1] + '/old.twr', 'wb').write(hdr(vmin - 1))
open(sys.argv[1] + '/new.twr', 'wb').write(hdr(v + 1))
open(sys.argv[1] + '/short.twr', 'wb').write(hdr(v)[:40])
open(sys.argv[1] + '/x.png', 'wb').write(b'\x89PNG\r\n\x1a\n' + bytes(200))
" "$T" "$V" "$VMIN"
: >"$T/empty.twr"
mkdir "$T/dir.twr"
bad 2 "--replay reports from a record file, it traces nothing: drop -p, or drop --replay to trace" \
	--replay "$T/old.twr" -p 1
bad 2 "--replay reports from a record file, it traces nothing: drop the command, or drop --replay to trace" \
	--replay "$T/old.twr" -- true
bad 2 "--replay reads a record, it makes none: drop --record (cp copies a record)" \
	--replay "$T/old.twr" --record "$T/copy.twr"
bad 2 "-f/--follow $LIVE" --replay "$T/old.twr" -f
bad 2 "-d/--duration $LIVE" --replay "$T/old.twr" -d 5
bad 2 "-i/--interval $LIVE" --replay "$T/old.twr" -i 1
bad 2 "-u/--unit $LIVE" --replay "$T/old.twr" --unit 8k
bad 2 "--ringbuf $LIVE" --replay "$T/old.twr" --ringbuf 4m
bad 2 "--no-stable $LIVE" --replay "$T/old.twr" --no-stable
bad 2 "--replay: cannot open $T/none: No such file or directory" --replay "$T/none"
bad 2 "--replay: $T/dir.twr is a directory, not a record file; give a file made by --record" \
	--replay "$T/dir.twr"
bad 2 "--replay: $T/empty.twr is empty; give a file made by --record" --replay "$T/empty.twr"
bad 2 "--replay: $TW is not a tornwatch record; give a file made by --record" --replay "$TW"
bad 2 "--replay: $T/x.png is not a tornwatch record; give a file made by --record" \
	--replay "$T/x.png"
bad 2 "--replay: $T/short.twr: the file header is truncated or corrupt (40 of 96 bytes, header size 96)" \
	--replay "$T/short.twr"
bad 2 "--replay: $T/old.twr has record format $((VMIN - 1)); this tornwatch reads $VMIN to $V only: replay it with the tornwatch that recorded it, or record again" \
	--replay "$T/old.twr"
bad 2 "--replay: $T/new.twr has record format $((V + 1)), newer than this tornwatch's $V: replay it with the tornwatch that recorded it" \
	--replay "$T/new.twr"

need_root "bad input (root part)"
bad 2 "-p 4194303: no such process; check the pid with 'ps -p 4194303'" -p 4194303
# kthreadd (pid 2 on every Linux) and any other kernel thread: no files of its own to trace
bad 2 "-p 2: kthreadd is a kernel thread, it writes no files of its own; give the pid of a user process (e.g. pgrep -o postgres)" \
	-p 2
# a thread that is not its process's leader: -p takes the process
"$WRITER" -T 2 -w "$T/go" "$T/threads.dat" >"$T/threads.pid" &
KILLS+=($!)
until_true test -s "$T/threads.pid"
leader=$(cat "$T/threads.pid")
tid=$(ls "/proc/$leader/task" | grep -vx "$leader" | head -1)
bad 2 "-p $tid: a thread of process $leader (writer); give -p $leader, which traces all its threads" \
	-p "$tid"
touch "$T/go"
if command -v setpriv >/dev/null; then
	AS="setpriv --reuid=65534 --regid=65534 --clear-groups" \
		bad 2 "needs root (CAP_BPF, CAP_PERFMON); run it with sudo" -- true
fi
check_no_leftover_bpf "bad input"
