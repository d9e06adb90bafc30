#!/usr/bin/env bash
# Every way a run ends (argument: ext4 or xfs): SIGINT, SIGTERM, repeated signals, SIGKILL,
# the traced command killed, -p's process gone (and its pid reused), -d, and two tornwatch
# at once. Each run's counts are exact and lost 0, its report written where one is due, and
# every BPF program and link it held (noted by id from its fdinfo while it traced: other
# tornwatch on the machine are not ours) is gone once it ended.
# Synchronisation: files that appear, FIFOs, the process's own wait channel and pending
# signals; every wait is bounded (20 s) as a guard against a hang, never timed otherwise.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

FS=${1:?usage: exits.sh ext4|xfs}
# The system's python3 (json, signal, subprocess only): a pyenv shim first in PATH costs
# seconds per call on a busy machine, and this file calls it for every check.
[ -x /usr/bin/python3 ] && PATH=/usr/bin:$PATH
need_root "exits $FS"
WITHPID="$TOP/build/withpid"
[ -x "$WITHPID" ] || { notok "exits $FS: $WITHPID missing; run make build/withpid"; exit 1; }
mkfs_loop "$FS" "fs"
N=16

# in_fifo_open PID: the process waits in open() of a FIFO for the other end.
in_fifo_open() { grep -qx wait_for_partner "/proc/$1/wchan" 2>/dev/null; }

# signal_taken PID SIG: SIG is no longer pending for PID (its handler ran), or PID is gone.
signal_taken() {
	python3 - "$1" "$2" <<'PY'
import signal, sys
bit = 1 << (signal.Signals["SIG" + sys.argv[2]] - 1)
try:
    st = dict(l.split(":", 1) for l in open(f"/proc/{sys.argv[1]}/status"))
except OSError:
    sys.exit(0)
sys.exit(1 if (int(st["SigPnd"], 16) | int(st["ShdPnd"], 16)) & bit else 0)
PY
}

gone() { ! kill -0 "$1" 2>/dev/null; }

# start_tw NAME ARGS...: tornwatch -v ARGS in the background (TWPID); returns once it traces,
# with the ids of the BPF programs and links it holds in $TMPD/NAME.ids.
start_tw() {
	local name=$1
	shift
	"$TW" -v "$@" >"$TMPD/$name.txt" 2>"$TMPD/$name.err" &
	TWPID=$!
	await_tracing "$FS $name" "$TMPD/$name.err" "$TWPID"
	cat /proc/$TWPID/fdinfo/* 2>/dev/null | awk '/^(prog|link)_id:/ { print $1 $2 }' |
		sort -u >"$TMPD/$name.ids"
}

# left_ids IDS: how many of the noted program and link ids the kernel still has.
left_ids() {
	python3 - "$1" <<'PY'
import json, subprocess, sys
want = {l.strip() for l in open(sys.argv[1]) if l.strip()}
have, unsure = set(), False
for kind in ("prog", "link"):
    out = subprocess.run(["bpftool", "-j", kind, "show"], capture_output=True, text=True).stdout
    for o in json.loads(out or "[]"):
        if "id" in o:
            have.add(f"{kind}_id:{o['id']}")
        else:	# {"error": ...}: an object that went away while it was listed; ask again
            unsure = True
print(-1 if unsure else len(want & have))
PY
}

# bpf_gone NAME: the programs and links tornwatch held while it traced are all gone (the
# kernel frees them a little after the last fd closes: up to 5 s).
bpf_gone() {
	local ids="$TMPD/$1.ids" n i
	n=$(grep -c . "$ids")
	if [ "$(grep -c '^prog_id' "$ids")" -eq 0 ] || [ "$(grep -c '^link_id' "$ids")" -eq 0 ]; then
		notok "$FS $1: no program or link ids noted while it traced ($n ids)"
		return
	fi
	for _ in $(seq 3000); do	# the kernel frees them a little later; a hang guard
		n=$(left_ids "$ids")
		[ "$n" = 0 ] && break
		sleep 0.1
	done
	check "$FS $1: none of its $(grep -c . "$ids") BPF programs and links left" 0 "$n"
}

# A command that writes N units, says so ($TMPD/written: touch writes nothing), then goes
# on running (the sh execs sleep). Its pid: cmd_pid, while tornwatch runs.
holding_cmd() {
	rm -f "$TMPD/written"
	HOLDING=(sh -c "'$WRITER' -s 8k -n $N '$MNT/$1' && touch '$TMPD/written' && exec sleep 600")
}

# start_holding NAME TW-ARGS...: tornwatch TW-ARGS -- the holding command, its pid in CMDPID,
# once the command's writes are done.
start_holding() {
	local name=$1
	shift
	holding_cmd "$name"
	start_tw "$name" "$@" -- "${HOLDING[@]}"
	cmd_pid
	until_true test -e "$TMPD/written"
}

# cmd_pid: CMDPID, the command of tornwatch $TWPID (its only child).
cmd_pid() {
	read -r CMDPID _ <"/proc/$TWPID/task/$TWPID/children"
	KILLS+=("$CMDPID")
}

# command_outlived NAME: the command outlived tornwatch (not tornwatch's to end); end it.
command_outlived() {
	kill -0 "$CMDPID" 2>/dev/null && ok "$FS $1: the command keeps running" ||
		notok "$FS $1: the command was ended"
	grep -q "keeps running" "$TMPD/$1.err" && ok "$FS $1: says the command keeps running" ||
		notok "$FS $1: $(tail -1 "$TMPD/$1.err")"
	kill "$CMDPID"
}

# SIGINT, SIGTERM to tornwatch alone (a service manager's stop): report, exit 0.
scenario_signal() {
	local sig=$1 name=sig${1,,}
	start_holding "$name" --unit 8k --json "$TMPD/$name.json"
	kill -"$sig" "$TWPID"
	wait "$TWPID"
	check "$FS SIG$sig: exit status" 0 $?
	expect "SIG$sig" "$TMPD/$name.json" units.total=$N units.whole=$N units.pending=0
	grep -q "^LOST" "$TMPD/$name.txt" && ok "$FS SIG$sig: text report" ||
		notok "$FS SIG$sig: no text report"
	command_outlived "$name"
	bpf_gone "$name"
}

# Two signals (STYLE.md: the second one kills): the first ends tracing and the report waits
# for its reader (--json to a FIFO); the second ends tornwatch at once, status 128 + SIGINT,
# with nothing attached and nothing written. The first one alone never costs the report:
# scenario_signal. SIGTERM then SIGINT: each taken before the next is sent.
scenario_two_signals() {
	local name=sig2
	mkfifo "$TMPD/$name.fifo"
	start_holding "$name" --unit 8k --json "$TMPD/$name.fifo"
	kill -TERM "$TWPID"
	until_true signal_taken "$TWPID" TERM
	until_true in_fifo_open "$TWPID" ||
		notok "$FS two signals: not waiting for the FIFO after SIGTERM"
	kill -INT "$TWPID"
	wait "$TWPID"
	check "$FS two signals: the second ends tornwatch, exit status 128+SIGINT" 130 $?
	kill "$CMDPID"
	bpf_gone "$name"
}

# SIGKILL: no report (not even a temporary file next to it), nothing left.
scenario_sigkill() {
	local name=sigkill
	mkdir "$TMPD/killdir"
	start_holding "$name" --unit 8k --json "$TMPD/killdir/r.json"
	kill -KILL "$TWPID"
	{ wait "$TWPID"; } 2>/dev/null	# without bash's "Killed" line
	check "$FS SIGKILL: exit status" 137 $?
	check "$FS SIGKILL: no report file, no temporary file" "" "$(ls -A "$TMPD/killdir")"
	kill "$CMDPID"
	bpf_gone "$name"
}

# The traced command killed (SIGKILL): tornwatch reports and exits with 128+9, the
# command's status; with --check, 3 (the command failed) and the status in the JSON.
scenario_command_killed() {
	local name=cmdkill
	start_holding "$name" --unit 8k --json "$TMPD/$name.json"
	kill -KILL "$CMDPID"
	wait "$TWPID"
	check "$FS command killed: exit status 128+SIGKILL" 137 $?
	expect "command killed" "$TMPD/$name.json" units.total=$N units.whole=$N
	bpf_gone "$name"

	name=cmdkill-check
	start_holding "$name" --check --unit 8k --json "$TMPD/$name.json"
	kill -KILL "$CMDPID"
	wait "$TWPID"
	check "$FS command killed, --check: exit status 3" 3 $?
	expect "command killed, --check" "$TMPD/$name.json" units.total=$N units.whole=$N \
		check.passed=True check.command_status=137
	bpf_gone "$name"
}

# -d reached while the command runs: report, exit 0, the command left running.
scenario_duration() {
	local name=duration state
	holding_cmd "$name"
	start_tw "$name" -d 5 --unit 8k --json "$TMPD/$name.json" -- "${HOLDING[@]}"
	cmd_pid
	# Stopped, tornwatch cannot end before the writes are done, whatever they take: the
	# kernel side records them all the same. -d is counted from the "tracing" line above.
	kill -STOP "$TWPID"
	state=$(awk '{ print $3 }' "/proc/$TWPID/stat" 2>/dev/null)
	[ "$state" = T ] || notok "$FS -d: tornwatch ended before the test could stop it ($state)"
	until_true test -e "$TMPD/written"
	kill -CONT "$TWPID"
	wait "$TWPID"
	check "$FS -d reached: exit status" 0 $?
	expect "-d reached" "$TMPD/$name.json" units.total=$N units.whole=$N units.pending=0
	command_outlived "$name"
	bpf_gone "$name"
}

# -p PID whose process exits: tornwatch notices, reports and ends by itself.
scenario_pid_exits() {
	local name=pexit wpid
	rm -f "$TMPD/go"
	"$WRITER" -s 8k -n $N -w "$TMPD/go" "$MNT/$name" >/dev/null &
	wpid=$!
	start_tw "$name" -p "$wpid" --unit 8k --json "$TMPD/$name.json"
	touch "$TMPD/go"
	wait "$wpid"
	until_true gone "$TWPID" || { notok "$FS -p: tornwatch did not end"; kill "$TWPID"; }
	wait "$TWPID"
	check "$FS -p, process exits: exit status" 0 $?
	expect "-p, process exits" "$TMPD/$name.json" units.total=$N units.whole=$N
	bpf_gone "$name"
}

# -p PID whose process exits and stays a zombie (its parent, sleep, never reaps it): its
# writes are over, tornwatch ends. (Before: kill(pid, 0) still found the zombie.)
scenario_pid_zombie() {
	local name=zombie shpid
	rm -f "$TMPD/go" "$TMPD/$name.pid"
	sh -c "'$WRITER' -s 8k -n $N -w '$TMPD/go' '$MNT/$name' >'$TMPD/$name.pid' & exec sleep 600" &
	shpid=$!
	KILLS+=("$shpid")
	until_true test -s "$TMPD/$name.pid"
	start_tw "$name" -p "$(cat "$TMPD/$name.pid")" --unit 8k --json "$TMPD/$name.json"
	touch "$TMPD/go"
	until_true gone "$TWPID" ||
		{ notok "$FS -p, zombie: tornwatch did not end"; kill "$TWPID"; }
	wait "$TWPID"
	check "$FS -p, process exits, a zombie: exit status" 0 $?
	expect "-p, zombie" "$TMPD/$name.json" units.total=$N units.whole=$N
	kill "$shpid"
	bpf_gone "$name"
}

# The pid of -p's process reused by another process (clone3 with set_tid: exactly that pid).
scenario_pid_reused() {
	local name=reuse wpid rpid
	# 1. The traced process exits while tornwatch is stopped, and its pid is reused at once:
	#    tornwatch must still see its process gone and end; the new one is not traced.
	rm -f "$TMPD/go"
	"$WRITER" -s 8k -n $N -w "$TMPD/go" "$MNT/$name" >/dev/null &
	wpid=$!
	start_tw "$name" -p "$wpid" --unit 8k --json "$TMPD/$name.json"
	kill -STOP "$TWPID"
	touch "$TMPD/go"
	wait "$wpid"
	rm -f "$TMPD/new-written"
	"$WITHPID" "$wpid" sh -c "'$WRITER' -s 8k -n 8 '$MNT/$name-new' &&
		touch '$TMPD/new-written' && exec sleep 600" &
	rpid=$!
	KILLS+=("$rpid")
	until_true test -e "$TMPD/new-written"
	kill -CONT "$TWPID"
	until_true gone "$TWPID" ||
		{ notok "$FS pid reused: tornwatch took the new process for its own and ran on"; kill "$TWPID"; }
	wait "$TWPID"
	check "$FS pid reused after exit: exit status" 0 $?
	expect "pid reused after exit" "$TMPD/$name.json" units.total=$N files.0.units=$N
	check "$FS pid reused after exit: one file" 1 "$(python3 -c "import json; print(len(json.load(open('$TMPD/$name.json'))['files']))")"
	kill "$wpid"	# the new process, with the reused pid
	wait "$rpid" 2>/dev/null
	bpf_gone "$name"

	# 2. The process ends, and its pid is reused, after tornwatch checked it and before it
	#    traces (held here by its --record FIFO, opened before the programs are loaded):
	#    the new process is not traced; tornwatch ends at once with an empty report.
	name=reuse-early
	mkfifo "$TMPD/$name.fifo"
	rm -f "$TMPD/go" "$TMPD/go2"
	"$WRITER" -s 8k -n $N -w "$TMPD/go" "$MNT/$name" >/dev/null &
	wpid=$!
	"$TW" -v -p "$wpid" --unit 8k --record "$TMPD/$name.fifo" --json "$TMPD/$name.json" \
		>"$TMPD/$name.txt" 2>"$TMPD/$name.err" &
	TWPID=$!
	until_true in_fifo_open "$TWPID" || notok "$FS early reuse: never waited for the FIFO"
	kill "$wpid"
	wait "$wpid"
	"$WITHPID" "$wpid" "$WRITER" -s 8k -n 8 -w "$TMPD/go2" "$MNT/$name-new" >/dev/null &
	rpid=$!
	KILLS+=("$rpid")
	cat "$TMPD/$name.fifo" >/dev/null &
	wait_tracing "$TMPD/$name.err" "$TWPID"	# or it ended already: either way, before go2
	touch "$TMPD/go2"
	wait "$rpid"
	until_true gone "$TWPID" || { notok "$FS early reuse: tornwatch did not end"; kill "$TWPID"; }
	wait "$TWPID"
	check "$FS pid reused before tracing: exit status" 0 $?
	expect "pid reused before tracing" "$TMPD/$name.json" units.total=0 writes=0
}

# Two tornwatch on one filesystem at once, each around its own writer (both writers wait
# for one go, so their writes overlap): each counts its own units, exactly.
scenario_two_instances() {
	local twa twb
	rm -f "$TMPD/go"
	start_tw twoA --unit 8k --json "$TMPD/twoA.json" -- \
		"$WRITER" -s 8k -n 24 -y 4 -w "$TMPD/go" "$MNT/two-a"
	twa=$TWPID
	start_tw twoB --unit 8k --json "$TMPD/twoB.json" -- \
		"$WRITER" -s 8k -n 40 -y 4 -w "$TMPD/go" "$MNT/two-b"
	twb=$TWPID
	touch "$TMPD/go"
	wait "$twa"
	check "$FS two at once, A: exit status" 0 $?
	wait "$twb"
	check "$FS two at once, B: exit status" 0 $?
	expect "two at once, A" "$TMPD/twoA.json" units.total=24 units.whole=24 files.0.units=24
	expect "two at once, B" "$TMPD/twoB.json" units.total=40 units.whole=40 files.0.units=40
	case "$(jget "$TMPD/twoA.json" files.0.path) $(jget "$TMPD/twoB.json" files.0.path)" in
	*/two-a\ */two-b) ok "$FS two at once: each names its own file" ;;
	*) notok "$FS two at once: files.0 $(jget "$TMPD/twoA.json" files.0.path) and $(jget "$TMPD/twoB.json" files.0.path)" ;;
	esac
	bpf_gone twoA
	bpf_gone twoB
}

scenario_signal INT
scenario_signal TERM
scenario_two_signals
scenario_sigkill
scenario_command_killed
scenario_duration
scenario_pid_exits
scenario_pid_zombie
scenario_pid_reused
scenario_two_instances
check_no_leftover_bpf "exits $FS"
