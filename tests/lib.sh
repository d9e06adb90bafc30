# shellcheck shell=bash
# Shared helpers for tornwatch's end-to-end tests: loop-device filesystems made and
# removed by the test itself, TAP-like result lines, JSON lookups. Source it.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TW="$TOP/tornwatch"
WRITER="$TOP/build/writer"
TMPD=$(mktemp -d /tmp/tw-test.XXXXXX)
LOOPS=()
MOUNTS=()
RESTORE=()	# "file value" pairs written back on exit
HOLDS=()	# hold files (holdlib.sh), removed first: held writes must end before any umount
LATE_MOUNTS=()	# unmounted after the loops are detached (FUSE mounts under loop devices)

KILLS=()	# processes a test started (servers), stopped on exit

cleanup() {
	local i
	for i in "${KILLS[@]}"; do
		kill "$i" 2>/dev/null && wait "$i" 2>/dev/null
	done
	rm -f "${HOLDS[@]}"
	for ((i = ${#RESTORE[@]} - 1; i >= 0; i--)); do
		echo "${RESTORE[i]#* }" >"${RESTORE[i]%% *}" 2>/dev/null || true
	done
	for m in "${MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	for l in "${LOOPS[@]}"; do
		losetup -d "$l" 2>/dev/null || true
	done
	for m in "${LATE_MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; }
skip() { echo "skip - $*"; }

# check NAME EXPECTED ACTUAL
check() {
	if [ "$2" == "$3" ]; then
		ok "$1"
	else
		notok "$1: expected $2, got $3"
	fi
}

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		skip "$1: needs root"
		exit 0
	fi
}

# need_tracefs: bpftrace's tracepoint: probes look their events up in tracefs, which a fresh
# machine (no systemd) may not have mounted. Mounted at its standard place if absent, and left
# there: suites run in parallel, and one must not unmount it under another's bpftrace.
need_tracefs() {
	[ -d /sys/kernel/tracing/events ] && return 0
	if mount -t tracefs tracefs /sys/kernel/tracing; then
		echo "# mounted tracefs at /sys/kernel/tracing (bpftrace needs it)"
	else
		notok "cannot mount tracefs at /sys/kernel/tracing: bpftrace's tracepoints need it"
		return 1
	fi
}

# mkfs_loop FS NAME: a fresh filesystem on its own loop device, mounted at $TMPD/NAME.
# Sets LOOP (e.g. /dev/loop3), QUEUE (its sysfs queue dir) and MNT.
mkfs_loop() {
	local fs=$1 name=$2 img="$TMPD/$2.img"
	truncate -s 512M "$img"
	LOOP=$(losetup -f --show "$img")
	LOOPS+=("$LOOP")
	case $fs in
	ext4) mkfs.ext4 -q -F "$LOOP" ;;
	xfs) mkfs.xfs -q -f "$LOOP" ;;
	*) echo "mkfs_loop: unknown fs $fs" >&2; return 1 ;;
	esac
	MNT="$TMPD/$name"
	mkdir -p "$MNT"
	mount "$LOOP" "$MNT"
	MOUNTS=("$MNT" "${MOUNTS[@]}")
	QUEUE=/sys/block/$(basename "$LOOP")/queue
}

# have_tp NAME: the kernel (vmlinux or a module's BTF) has tracepoint NAME. Scenarios whose
# tracepoint an older kernel lacks (tests/vm/ boots 6.1 and 6.12) say so in a skip line.
have_tp() {
	local f
	for f in /sys/kernel/btf/*; do
		# grep reads it all (no -q): an early exit would fail tr, and the pipe, on SIGPIPE
		tr '\0' '\n' <"$f" | grep -x "btf_trace_$1" >/dev/null && return 0
	done
	return 1
}

# set_sysfs FILE VALUE: remembered and restored on exit.
set_sysfs() {
	RESTORE+=("$1 $(cat "$1")")
	echo "$2" >"$1"
}

# cleanup_sysfs_now: put back the sysfs values set so far (as the exit trap would), before
# the next scenario starts.
cleanup_sysfs_now() {
	local i
	for ((i = ${#RESTORE[@]} - 1; i >= 0; i--)); do
		echo "${RESTORE[i]#* }" >"${RESTORE[i]%% *}"
	done
	RESTORE=()
}

# tw OUTJSON ARGS...: run tornwatch, report on stdout goes to $TMPD/last.txt.
tw() {
	local out=$1
	shift
	"$TW" --json "$out" $(tw_record "$out" "$@") "$@" >"$TMPD/last.txt" 2>"$TMPD/last.err"
}

# tw_record NAME [ARGS...]: with TW_RECORD_DIR set (tests/golden/capture.sh), the options
# that also record the run there, as SUITE-FS-NAME.twr (NAME's base name without .json);
# NAME-2.twr and on when NAME was used before; nothing when ARGS record already or replay.
# The records are the golden replays' inputs.
tw_record() {
	local name a
	[ -n "${TW_RECORD_DIR:-}" ] || return 0
	name=$(basename "$1" .json)
	shift
	for a in "$@"; do
		case $a in -w | --record | --record=* | -r | --replay | --replay=*) return 0 ;; esac
	done
	name=$TW_RECORD_DIR/$(basename "$0" .sh)-${FS:-none}-$name
	a=1	# a name used again (the previous run has renamed its record into place)
	while [ -e "$name$([ $a -gt 1 ] && echo "-$a").twr" ]; do a=$((a + 1)); done
	echo "--record $name$([ $a -gt 1 ] && echo "-$a").twr"
}

# jget FILE KEY.PATH: print a value from a JSON report ("files.0.path" works).
jget() {
	python3 - "$1" "$2" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split('.'):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v) if isinstance(v, (dict, list)) else v)
PY
}

# expect NAME JSON key=value...: the run lost nothing and each key has its value.
# Every end-to-end run asserts lost.total == 0. Prefixes the names with $FS.
expect() {
	local name=$1 json=$2 kv
	shift 2
	check "$FS $name: lost.total" 0 "$(jget "$json" lost.total)"
	for kv in "$@"; do
		check "$FS $name: ${kv%%=*}" "${kv#*=}" "$(jget "$json" "${kv%%=*}")"
	done
}

# until_true CMD...: run CMD every 50 ms until it succeeds. Fails after 300 s: a hang guard,
# not a deadline (on a loaded host, with the guests beside it, an attach or a start takes
# seconds; a test that went on before it would see the wrong thing).
until_true() {
	local i
	for i in $(seq 6000); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# wait_tracing ERR PID: until the tornwatch PID (in the background, its stderr in ERR, -v)
# says it is tracing, or has exited. Status 0 when it said so. No deadline but a hang guard
# of 300 s: attaching takes seconds on a loaded host (the guests and other suites beside it),
# and a test that went on before it would miss what it wrote.
wait_tracing() {
	until_true tracing_or_gone "$1" "$2"
	grep -q "tornwatch: tracing" "$1"
}
tracing_or_gone() { grep -q "tornwatch: tracing" "$1" || ! kill -0 "$2" 2>/dev/null; }

# await_tracing LABEL ERR PID: wait_tracing, and a failed check naming what tornwatch said
# when it did not get there.
await_tracing() {
	wait_tracing "$2" "$3" ||
		notok "$1: tornwatch did not say it was tracing: $(tail -n 3 "$2" | tr '\n' ' ')"
}

# No tornwatch program may stay loaded after a run: none pinned (no owner) and none
# owned by a process of this test. (Another tornwatch elsewhere on the box is not ours.)
# The kernel frees a closed program a little later: up to 300 s (a hang guard).
check_no_leftover_bpf() {
	local n i
	for i in $(seq 3000); do
		n=$(count_our_bpf_progs)
		[ "$n" -eq 0 ] && break
		sleep 0.1
	done
	check "$1: no tornwatch BPF program left loaded" 0 "$n"
}

count_our_bpf_progs() {
	bpftool prog show -j 2>/dev/null | python3 -c '
import glob, json, sys
me = int(sys.argv[1])
def ours(pid):
    while pid > 1:
        if pid == me:
            return True
        try:
            pid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False
# Which processes hold each program (prog and link fds say prog_id in fdinfo).
holders = {}
for fi in glob.glob("/proc/[0-9]*/fdinfo/*"):
    try:
        for line in open(fi):
            if line.startswith("prog_id:"):
                holders.setdefault(int(line.split()[1]), set()).add(int(fi.split("/")[2]))
    except OSError:
        pass
left = 0
for p in json.load(sys.stdin):
    if not p.get("name", "").startswith("tw_"):
        continue
    owners = holders.get(p["id"], set())
    if not owners or any(ours(o) for o in owners):
        left += 1
print(left)' $$
}
