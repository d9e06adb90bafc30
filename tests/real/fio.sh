#!/usr/bin/env bash
# fio under tornwatch on one filesystem (argument: ext4 or xfs). Each job writes a fresh
# file sequentially with one engine (psync, pvsync2, libaio, io_uring), buffered or direct,
# 8 KiB or 16 KiB blocks, with or without fsync; the truth is fio's own JSON report
# (jobs[0].write.total_ios, jobs[0].sync.total_ios), never tornwatch's output.
# With --unit 8k a bs=8k write is one unit, a bs=16k write two; tornwatch's `writes` counts
# write calls (psync, pvsync2) or kiocbs (libaio, io_uring), so it equals fio's total_ios.
# Buffered writes are followed through the write syscalls, io_submit (libaio buffered:
# iodepth 1 and 32, fio's batches of iocbs) and io_uring's requests (iodepth 1 and 32, with
# its submission thread, with registered buffers and file).
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

FS=${1:?usage: fio.sh ext4|xfs}
need_root "fio $FS"
if ! command -v fio >/dev/null; then
	skip "fio $FS: fio is not installed (apt-get install fio)"
	exit 0
fi
mkfs_loop "$FS" fs

SIZE_KB=4096		# each job writes 4 MiB: 512 writes of 8 KiB, 256 of 16 KiB
# fio writes its JSON into a FIFO read outside the traced tree: a write to a regular file
# (--output FILE, or a stdout redirected to one) would be a traced write of its own.
FIFO="$TMPD/fio.fifo"
mkfifo "$FIFO"

# load TWJSON FIOOUT: T[key] from tornwatch's report (every number under units, lost,
# modes.*.writes/units, writes, the files), F[key] from fio's JSON output (anything before
# its first '{' skipped; nothing when it has none), in one python run per job.
declare -A T F
load() {
	local src key val
	T=() F=()
	while IFS=' ' read -r src key val; do
		if [ "$src" = tw ]; then T[$key]=$val; else F[$key]=$val; fi
	done < <(python3 - "$1" "$2" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
for k in ("units", "lost"):
    for kk, v in t[k].items():
        print("tw", f"{k}.{kk}", v)
# The numbers printed under a job that failed a check: its verdicts, and what the run
# lost or could not place.
why = [f"units.{k}={t['units'][k]}" for k in ("total", "whole", "split", "superseded",
       "pending_cached", "pending_inflight")]
why += [f"{k}.{kk}={v}" for k in ("lost", "bpf", "join") for kk, v in t[k].items()
        if v and not isinstance(v, bool) and kk != "records"]
why += [f"modes.{m}.refused_errno={json.dumps(v['refused_errno'], separators=(',', ':'))}"
        for m, v in t["modes"].items() if v["refused"]]
print("tw why", " ".join(why))
print("tw writes", t["writes"])
for m, v in t["modes"].items():
    print("tw", f"modes.{m}.writes", v["writes"])
    print("tw", f"modes.{m}.units", v["units"])
    print("tw", f"modes.{m}.refused", v["refused"])
print("tw files", len(t["files"]))
print("tw files.0.path", t["files"][0]["path"] if t["files"] else "-")
print("tw files.0.ino", t["files"][0]["ino"] if t["files"] else "-")
s = open(sys.argv[2]).read()
if "{" in s:
    j = json.JSONDecoder().raw_decode(s[s.index("{"):])[0]["jobs"][0]
    print("fio error", j["error"])
    print("fio write.total_ios", j["write"]["total_ios"])
    print("fio sync.total_ios", j.get("sync", {}).get("total_ios", 0))
PY
	)
}

# jcheck NAME EXPECTED ACTUAL: lib.sh's check; a failure marks the job (JFAIL).
jcheck() {
	[ "$2" == "$3" ] || JFAIL=1
	check "$@"
}

# tw_expect NAME KEY=VALUE...: like lib.sh's expect, on the loaded report: lost.total is 0
# and each key has its value (a key the report lacks is "-").
tw_expect() {
	local name=$1 kv
	shift
	jcheck "$FS $name: lost.total" 0 "${T[lost.total]:--}"
	for kv in "$@"; do
		jcheck "$FS $name: ${kv%%=*}" "${kv#*=}" "${T[${kv%%=*}]:--}"
	done
}

# check_ge NAME MIN ACTUAL
check_ge() {
	if [ -n "$3" ] && [ "$3" -ge "$2" ]; then
		ok "$1"
	else
		JFAIL=1
		notok "$1: expected at least $2, got $3"
	fi
}

# fio_job ENGINE BS buffered|direct none|end_fsync|fsync [IODEPTH]: run one fio job under
# tornwatch and compare tornwatch's counts to fio's. IODEPTH (libaio, io_uring): 8.
fio_job() {
	local engine=$1 bs=$2 io=$3 sync=$4 depth=${5:-8} opt=${6:-}
	local name="$engine-$bs-$io-$sync-$depth${opt:+-$opt}" per=$((${bs%k} / 8))
	local label="$engine bs=$bs $io ${sync/none/no-fsync}"
	local json="$TMPD/$name.json" out="$TMPD/$name.fio" reader rc fd ios exp synced
	local args=(--name="$name" --filename="$MNT/$name" --rw=write --bs="$bs"
		--size="${SIZE_KB}k" --ioengine="$engine" --output-format=json --output="$FIFO")
	[ "$io" = direct ] && args+=(--direct=1)
	case $sync in
	fsync) args+=(--fsync=1) ;;	# fsync after every write but the last (fio's own rule)
	end_fsync) args+=(--end_fsync=1) ;;
	esac
	case $engine in
	libaio | io_uring)
		args+=(--iodepth="$depth")
		label+=" iodepth=$depth"
		;;
	esac
	case $opt in	# io_uring: its submission thread, or registered buffers and file
	sqpoll) args+=(--sqthread_poll=1) label+=" sqthread_poll" ;;
	fixed) args+=(--fixedbufs=1 --registerfiles=1) label+=" fixedbufs registerfiles" ;;
	esac

	cat "$FIFO" >"$out" &
	reader=$!
	tw "$json" --unit 8k -- fio "${args[@]}"
	rc=$?
	exec {fd}<>"$FIFO"	# a reader still waiting (fio never opened the FIFO) sees EOF
	exec {fd}>&-
	wait "$reader"
	check "$FS $label: fio's exit status under tornwatch" 0 $rc
	if [ ! -s "$json" ]; then
		notok "$FS $label: no tornwatch report: $(head -c 300 "$TMPD/last.err")"
		return
	fi
	load "$json" "$out"
	JFAIL=0
	ios=${F[write.total_ios]:-}
	if [ -z "$ios" ]; then
		notok "$FS $label: no JSON report from fio: $(head -c 300 "$out" "$TMPD/last.err")"
		return
	fi
	jcheck "$FS $label: fio's error" 0 "${F[error]}"
	jcheck "$FS $label: fio's write.total_ios is size/bs" $((SIZE_KB / ${bs%k})) "$ios"

	exp=$((per * ios))
	local mode=buffered
	[ "$io" = direct ] && mode=direct
	# Every count is tornwatch's number against the one derived from fio's.
	tw_expect "$label (fio: $ios writes, $per unit(s) each)" writes="$ios" \
		units.total="$exp" "modes.$mode.writes=$ios" "modes.$mode.units=$exp" \
		"modes.$mode.refused=0" units.misaligned=0 units.untracked=0 files=1 \
		files.0.ino="$(stat -c %i "$MNT/$name")"
	jcheck "$FS $label: the file is named by its path" "$MNT/$name" "${T[files.0.path]}"

	if [ "$io" = direct ] || [ "$sync" = end_fsync ]; then
		# On the device when the job ends: all whole (a default loop queue splits none).
		tw_expect "$label (fio: $ios writes)" units.whole="$exp" units.pending=0 \
			units.split=0 units.superseded=0 units.modified=0
	elif [ "$sync" = fsync ]; then
		# fio fsyncs after each write but not after its last one (sync.total_ios says how
		# many): the synced writes' units are whole, the rest may still be cached.
		# io_uring and libaio at iodepth > 1: fio's fsyncs are requests in flight beside
		# the writes, in no order with them; what they covered is unknown to the test.
		if [ "$depth" = 1 ] || [ "$engine" = psync ] || [ "$engine" = pvsync2 ]; then
			synced=$((per * ${F[sync.total_ios]}))
			check_ge "$FS $label: units.whole >= units fio fsynced ($per x ${F[sync.total_ios]})" \
				"$synced" "${T[units.whole]}"
		fi
		jcheck "$FS $label: units.whole + units.pending = fio's units" "$exp" \
			"$((${T[units.whole]} + ${T[units.pending]}))"
		tw_expect "$label (fio: $ios writes)" units.split=0
	fi
	# Buffered without fsync: the units may stay in the page cache (pending); the count
	# above is all that is known.
	if [ "$JFAIL" = 1 ]; then
		echo "# $FS $label: fio write.total_ios=$ios sync.total_ios=${F[sync.total_ios]};" \
			"tornwatch writes=${T[writes]} ${T[why]}"
	fi
}

for engine in psync pvsync2; do
	for bs in 8k 16k; do
		for sync in none end_fsync fsync; do
			fio_job "$engine" "$bs" buffered "$sync"
		done
		for sync in none fsync; do
			fio_job "$engine" "$bs" direct "$sync"
		done
	done
done
uring=1
if [ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" = 2 ]; then
	skip "fio $FS io_uring: kernel.io_uring_disabled is 2"
	uring=0
fi
# Buffered, iodepth 1 and 32. libaio: io_submit runs the writes itself, a batch of up to
# IODEPTH iocbs a call. io_uring: ext4 hands every write to an io-wq worker, XFS tries it
# inline first.
for engine in libaio io_uring; do
	[ "$engine" = io_uring ] && [ $uring = 0 ] && continue
	for depth in 1 32; do
		for bs in 8k 16k; do
			for sync in none end_fsync fsync; do
				fio_job "$engine" "$bs" buffered "$sync" "$depth"
			done
		done
	done
done
if [ $uring = 1 ]; then
	# fio's end_fsync does not reach a registered file (the data stays dirty at exit, seen
	# in /proc/meminfo): no end_fsync job with registerfiles.
	fio_job io_uring 16k buffered end_fsync 32 sqpoll
	fio_job io_uring 16k buffered none 32 fixed
	for opt in sqpoll fixed; do
		fio_job io_uring 8k buffered fsync 1 "$opt"
	done
fi
for engine in libaio io_uring; do
	[ "$engine" = io_uring ] && [ $uring = 0 ] && continue
	for bs in 8k 16k; do
		for sync in none fsync; do
			fio_job "$engine" "$bs" direct "$sync"
		done
	done
done
check_no_leftover_bpf "fio $FS"
