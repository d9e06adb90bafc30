#!/usr/bin/env bash
# Output files (--json, --prom, --record): a device, a FIFO, a socket or standard output is
# written in place, never replaced; a symbolic link is refused, and a planted link at a
# temporary name is never followed; a regular file is replaced whole with no temporary left;
# every path is checked before tracing starts (the traced command never runs); a write
# error is one line and exit status 2. All in a private directory; the system's /dev/null,
# /dev/full and /dev/stdout are used only once a private device node has come through.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

need_root "outfile"
D="$TMPD/out"
mkdir -p "$D"
MARK="$D/marker"	# created by the traced command: proves it ran
cd "$D"	# a relative name a broken tornwatch might write (say "-") lands here

# run NAME ARGS...: tornwatch with stdout, stderr and the exit status kept
run() {
	local name=$1
	shift
	rm -f "$MARK"
	timeout -k 5 60 "$TW" "$@" >"$TMPD/$name.out" 2>"$TMPD/$name.err"
	RC=$?
}

has() {	# has NAME FILE NEEDLE: FILE contains NEEDLE
	if grep -qF -- "$3" "$2"; then
		ok "$1"
	else
		notok "$1: '$(head -c 300 "$2")' lacks '$3'"
	fi
}

# refused NAME NEEDLE ARGS...: exit 2, one line on stderr with NEEDLE, the command never ran,
# nothing created in the test's directory
refused() {
	local name=$1 needle=$2 before
	shift 2
	rm -f "$MARK"
	before=$(ls -A "$D" | tr '\n' ' ')
	run refused "$@" -- touch "$MARK"
	check "outfile $name: nothing created" "$before" "$(ls -A "$D" | tr '\n' ' ')"
	check "outfile $name: exit status" 2 $RC
	check "outfile $name: one error line" 1 "$(wc -l <"$TMPD/refused.err")"
	has "outfile $name: says '$needle'" "$TMPD/refused.err" "$needle"
	check "outfile $name: the command did not run" no "$([ -e "$MARK" ] && echo yes || echo no)"
}

# fifo_reader_waits PID: wait until PID's child (under timeout) blocks opening its FIFO, so
# that it reads what comes to the FIFO, not a file put in its place afterwards
fifo_reader_waits() {
	until_true child_in_fifo_open "$1" || notok "outfile: the FIFO reader never opened its FIFO"
}
child_in_fifo_open() {
	local c
	for c in $(pgrep -P "$1"); do
		grep -q wait_for_partner "/proc/$c/wchan" 2>/dev/null && return 0
	done
	return 1
}

devsig() {	# devsig PATH: its type and major:minor
	stat -c '%F %t:%T' "$1" 2>&1
}

# Devices are written in place. A private node first: a broken tornwatch replaces it, not
# the system's.
mknod "$D/null" c 1 3
run null --json "$D/null" -- true
check "outfile --json null node: exit status" 0 $RC
check "outfile --json null node: still the device" "character special file 1:3" \
	"$(devsig "$D/null")"
SAFE=$([ "$(devsig "$D/null")" == "character special file 1:3" ] && echo 1 || echo 0)
if [ "$SAFE" == 1 ]; then
	before=$(devsig /dev/null)
	run devnull --json /dev/null -- true
	check "outfile --json /dev/null: exit status" 0 $RC
	check "outfile --json /dev/null: still the device" "$before" "$(devsig /dev/null)"
else
	notok "outfile --json /dev/null: not run: the private node was replaced, /dev/null would be"
fi

mknod "$D/full" c 1 7
for opt in --json --prom --record; do
	run full $opt "$D/full" -- true
	check "outfile $opt full node: exit status" 2 $RC
	check "outfile $opt full node: one error line" 1 "$(wc -l <"$TMPD/full.err")"
	has "outfile $opt full node: says why" "$TMPD/full.err" "$D/full: No space left on device"
	has "outfile $opt full node: the text report still on stdout" "$TMPD/full.out" "UNITS total"
	check "outfile $opt full node: still the device" "character special file 1:7" \
		"$(devsig "$D/full")"
done
if [ "$SAFE" == 1 ]; then
	run devfull --json /dev/full -- true
	check "outfile --json /dev/full: exit status" 2 $RC
	check "outfile --json /dev/full: one error line" 1 "$(wc -l <"$TMPD/devfull.err")"
	has "outfile --json /dev/full: names it" "$TMPD/devfull.err" "--json: cannot write /dev/full"
	check "outfile --json /dev/full: still the device" "character special file 1:7" \
		"$(devsig /dev/full)"
fi

# A FIFO receives the report, and stays a FIFO.
mkfifo "$D/fifo"
timeout 30 python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["source"])' \
	"$D/fifo" >"$TMPD/fifo.read" 2>&1 &
reader=$!
fifo_reader_waits $reader
run fifo --json "$D/fifo" -- true
check "outfile --json FIFO: exit status" 0 $RC
wait $reader
check "outfile --json FIFO: the reader parsed the JSON" "0 live" "$? $(cat "$TMPD/fifo.read")"
check "outfile --json FIFO: still a FIFO" fifo "$(stat -c %F "$D/fifo")"

# A unix socket is connected to.
python3 - "$D/sock" >"$TMPD/sock.read" 2>&1 <<'PY' &
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(1)
s.settimeout(30)
c, _ = s.accept()
data = b""
while chunk := c.recv(65536):
	data += chunk
print(json.loads(data)["source"])
PY
reader=$!
until_true test -S "$D/sock" || notok "outfile --json socket: the reader never listened"
run sock --json "$D/sock" -- true
check "outfile --json socket: exit status" 0 $RC
wait $reader
check "outfile --json socket: the reader parsed the JSON" "0 live" "$? $(cat "$TMPD/sock.read")"
check "outfile --json socket: still a socket" socket "$(stat -c %F "$D/sock")"

# A symbolic link is refused before tracing; its target is untouched.
echo precious >"$D/victim"
touch -d @1000000000 "$D/victim"
ln -s victim "$D/link"
for opt in --json --prom --record; do
	refused "$opt symlink" "$opt: '$D/link' is a symbolic link" $opt "$D/link"
	check "outfile $opt symlink: target untouched" "precious 1000000000" \
		"$(cat "$D/victim") $(stat -c %Y "$D/victim")"
	check "outfile $opt symlink: still the link" victim "$(readlink "$D/link")"
done

# Links planted at the temporary names a writer could pick (PATH.tmp.PID for tornwatch's
# own pid and 50 around it) are never followed: the report replaces PATH, the target is intact.
for opt in --json --prom --record; do
	P="$D/planted${opt#--}"
	mkdir "$P"
	echo old >"$P/out"
	# the shell's pid is tornwatch's after exec
	sh -c 'for i in $(seq $(($$ - 10)) $(($$ + 40))); do ln -s ../victim "$1.tmp.$i"; done
		exec "$2" "$3" "$1" -- true' sh "$P/out" "$TW" $opt >"$TMPD/plant.out" 2>&1
	check "outfile $opt planted links: exit status" 0 $?
	check "outfile $opt planted links: target untouched" "precious 1000000000" \
		"$(cat "$D/victim") $(stat -c %Y "$D/victim")"
	check "outfile $opt planted links: still 51 links" 51 "$(find "$P" -type l | wc -l)"
	check "outfile $opt planted links: the output is a regular file" "regular file" \
		"$(stat -c %F "$P/out")"
	check "outfile $opt planted links: and the only one" 1 "$(find "$P" -type f | wc -l)"
done
has "outfile --prom planted links: the metrics" "$D/plantedprom/out" "tornwatch_lost_events_total 0"
"$TW" --replay "$D/plantedrecord/out" >/dev/null 2>&1
check "outfile --record planted links: the record replays" 0 $?

# Paths that cannot be written are refused before the command runs, and nothing is created.
for opt in --json --prom --record; do
	refused "$opt missing directory" "$opt: cannot write $D/nodir/x: its directory" \
		$opt "$D/nodir/x"
done
check "outfile missing directory: not created" no "$([ -e "$D/nodir" ] && echo yes || echo no)"
mkdir "$D/ro"
mount -t tmpfs -o ro,size=1m tmpfs "$D/ro"
MOUNTS=("$D/ro" "${MOUNTS[@]}")
refused "--json read-only directory" "Read-only file system" --json "$D/ro/x.json"
refused "--prom a directory" "--prom: '$D' is a directory" --prom "$D"
mknod "$D/blk" b 7 250
refused "--record a block device" "is a block device" --record "$D/blk"
check "outfile --record a block device: still the device" "block special file 7:fa" \
	"$(devsig "$D/blk")"
refused "--record -" "--record: standard output carries the text report" --record -
check_no_leftover_bpf "outfile refusals"

# A regular file is replaced whole: its permission bits kept, no temporary file left.
mkdir "$D/r"
echo old >"$D/r/out.json"
chmod 0640 "$D/r/out.json"
run replace --json "$D/r/out.json" -- true
check "outfile --json replace: exit status" 0 $RC
check "outfile --json replace: the new report" live "$(jget "$D/r/out.json" source)"
check "outfile --json replace: mode kept" 640 "$(stat -c %a "$D/r/out.json")"
check "outfile --json replace: no temporary file left" out.json "$(echo $(ls -A "$D/r"))"

# Standard output and error.
run dash --json - -- true
check "outfile --json -: exit status" 0 $RC
check "outfile --json -: stdout is the JSON" live "$(jget "$TMPD/dash.out" source)"
if [ "$SAFE" == 1 ]; then
	run devstdout --json /dev/stdout -- true
	check "outfile --json /dev/stdout: exit status" 0 $RC
	check "outfile --json /dev/stdout: stdout is the JSON alone" live \
		"$(jget "$TMPD/devstdout.out" source 2>&1)"
	check "outfile --json /dev/stdout: still a link" /proc/self/fd/1 "$(readlink /dev/stdout)"
	run devstderr --json /dev/stderr -- true
	check "outfile --json /dev/stderr: exit status" 0 $RC
	check "outfile --json /dev/stderr: stderr is the JSON" live \
		"$(jget "$TMPD/devstderr.err" source 2>&1)"
fi

# --record to a regular file, then --replay; and to a FIFO read in the background.
run rec --unit 8k --record "$D/run.twr" --json "$D/live.json" -- \
	"$WRITER" -s 8k -n 16 "$D/data"
check "outfile --record file: exit status" 0 $RC
run replay --replay "$D/run.twr" --json "$D/replay.json"
check "outfile --record file: --replay exit status" 0 $RC
for k in writes units.total; do
	check "outfile --record file: replay has the live $k" "$(jget "$D/live.json" $k)" \
		"$(jget "$D/replay.json" $k 2>&1)"
done
check "outfile --record file: 16 writes" 16 "$(jget "$D/live.json" writes)"
# --replay checks its outputs first too: a path that cannot be written, and no report.
run replaynodir --replay "$D/run.twr" --json "$D/nodir/x.json"
check "outfile --replay, --json missing directory: exit status" 2 $RC
check "outfile --replay, --json missing directory: one error line" 1 \
	"$(wc -l <"$TMPD/replaynodir.err")"
check "outfile --replay, --json missing directory: nothing reported" 0 \
	"$(wc -c <"$TMPD/replaynodir.out")"
mkfifo "$D/recfifo"
timeout 30 cat "$D/recfifo" >"$D/fromfifo.twr" &
reader=$!
fifo_reader_waits $reader
run recfifo --unit 8k --record "$D/recfifo" --json "$D/live2.json" -- \
	"$WRITER" -s 8k -n 16 "$D/data2"
check "outfile --record FIFO: exit status" 0 $RC
wait $reader
check "outfile --record FIFO: the reader's exit status" 0 $?
run replay2 --replay "$D/fromfifo.twr" --json "$D/replay2.json"
check "outfile --record FIFO: --replay exit status" 0 $RC
check "outfile --record FIFO: replay has the live writes" "$(jget "$D/live2.json" writes)" \
	"$(jget "$D/replay2.json" writes 2>&1)"
check "outfile --record FIFO: still a FIFO" fifo "$(stat -c %F "$D/recfifo")"

check_no_leftover_bpf "outfile"
