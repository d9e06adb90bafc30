#!/usr/bin/env bash
# PostgreSQL 15 under simulated power cuts, on one filesystem (ext4 or xfs): the pages a cut
# tears, what WAL recovery leaves of them, and whether tornwatch had flagged them (issue 15).
#
# Per setting of full_page_writes (off, then on): a fresh cluster with data checksums
# (initdb -k) on the recording crash device (tests/holdlib.sh crash_setup: fusehold --log).
# Small on purpose: shared_buffers 1MB (backends evict and write pages all the time), the
# *_flush_after settings at 64kB (the kernel writes them out at once), a CHECKPOINT every 3 s.
# pgbench -i runs untraced before the mark; then tornwatch --events=all --unit 8k traces the
# server's whole life: start, pgbench -T, stop. tests/crash/pgcuts.py builds the device as
# power cuts at sampled moments would leave it (cuts.py's request- and sector-atomic models),
# mounts each image, runs pg_checksums on the unrecovered files, starts the server (WAL
# recovery), stops it, runs pg_checksums again. tests/crash/pgcheck.py then asserts:
#   - every damaged page (before or after recovery, or the one recovery could not read) was
#     one tornwatch reported exposed at that cut (exposed_from_ns <= T < exposed_until_ns);
#   - full_page_writes=on: the server starts on every image, and recovery leaves no bad page
#     but in the visibility map and free space map forks (no full-page image covers those:
#     a torn visibility map page stays, counted; PostgreSQL reads it as zeros), and
#     pg_amcheck --heapallindexed on the recovered server finds no corruption;
#   - sector-atomic, under either setting: the cuts tore pages (before recovery);
# and this script: the trace lost nothing, pgbench committed, every image mounted. Images
# where the server does not start (full_page_writes=off: recovery reads a torn page and
# stops) are counted and printed, not failed.
#
# PGCUT_RANDOM, PGCUT_WRITE_CUTS: cuts per model (default 30 and 10); PGCUT_SEED replays the
# cuts; PGCUT_SECS: pgbench's seconds (default 12); PGCUT_ONLY="off" or "on": one setting;
# PGCUT_KB=4: the loop queue's max_sectors_kb (default: crash_setup's largest), at which an
# 8 KiB page is two requests, so request-atomic cuts must tear pages too; PGCUT_AMCHECK: the
# settings whose recovered servers pg_amcheck checks (default "on"; "off on": both; "": none;
# it doubles the time per image).
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../holdlib.sh"

FS=${1:?usage: pgcut.sh ext4|xfs}
need_root "pgcut $FS"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
for c in initdb pg_ctl pgbench psql createdb pg_checksums; do
	if [ ! -x "$PGBIN/$c" ]; then
		notok "pgcut $FS: $PGBIN/$c missing (make deps installs postgresql)"
		exit 0
	fi
done
if ! id -u postgres >/dev/null 2>&1; then
	notok "pgcut $FS: no postgres user (make deps installs postgresql, which creates it)"
	exit 0
fi
CRASH="$TOP/tests/crash"
PY=$(python3 -c 'import sys; print(sys.executable)')	# no version manager's shim per start
SCALE=2 CLIENTS=4 SECS=${PGCUT_SECS:-12}
RANDOM_CUTS=${PGCUT_RANDOM:-30} WRITE_CUTS=${PGCUT_WRITE_CUTS:-10}

chmod 711 "$TMPD"	# the postgres user reaches its data directory and socket through it
RUNDIR=$TMPD/pg		# the postgres user's: sockets, server logs, the workload's output
mkdir "$RUNDIR"
chown postgres: "$RUNDIR"
cd "$TMPD" || exit 1
PORT=$((30000 + $$ % 20000))	# lock files in our own socket directory: no collision
PGDATA=

. "$TOP/tests/real/pglib.sh"

# The traced life, run as postgres (LIFE LOG OUT): start, pgbench with a CHECKPOINT every
# 3 s beside it, fast stop; all output to OUT (tornwatch's stdout is its events).
LIFE=$TMPD/life.sh
cat >"$LIFE" <<EOF
set -e
exec >"\$2" 2>&1
pg_ctl -l "\$1" -w -t 60 start
( while sleep 3; do psql -X -q -c CHECKPOINT bench || true; done ) &
loop=\$!
pgbench -n -c $CLIENTS -j 2 -T $SECS bench
kill \$loop
wait \$loop || true
pg_ctl -m fast -w -t 60 stop
EOF
chmod 644 "$LIFE"

# since T0: seconds since T0 (date +%s.%N), one decimal.
since() {
	awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.1f", t1 - t0 }'
}

# cluster FPW: initdb -k in $MNT/data, configured small, pgbench -i, CHECKPOINT, stopped.
cluster() {
	PGDATA=$MNT/data
	mkdir "$PGDATA" && chown postgres: "$PGDATA" && chmod 700 "$PGDATA" || return 1
	as_pg initdb -k -A trust -U postgres -E UTF8 --locale=C >"$RUNDIR/initdb.log" 2>&1 ||
		{ echo "initdb: $(tail -3 "$RUNDIR/initdb.log")" >&2; return 1; }
	# huge_pages off: with "try" (the default) the server takes every free huge page of the
	# host, and another test's reservation with them (memkinds.sh's hugetlb buffers).
	cat >>"$PGDATA/postgresql.conf" <<-EOF
		listen_addresses = ''
		unix_socket_directories = '$RUNDIR'
		port = $PORT
		full_page_writes = $1
		shared_buffers = 1MB
		huge_pages = off
		checkpoint_timeout = 30s
		max_wal_size = 32MB
		min_wal_size = 32MB
		checkpoint_flush_after = 64kB
		bgwriter_flush_after = 64kB
		backend_flush_after = 64kB
	EOF
	as_pg pg_ctl -l "$RUNDIR/init.log" -w -t 60 start >>"$RUNDIR/pg_ctl.log" 2>&1 &&
		as_pg createdb bench &&
		as_pg pgbench -i -q -s $SCALE bench >"$RUNDIR/pgbench-i.log" 2>&1 &&
		as_pg psql -X -q -c CHECKPOINT bench &&
		as_pg pg_ctl stop -m fast -w -t 60 >>"$RUNDIR/pg_ctl.log" 2>&1
}

# hold_pid PID: start a process of the postgres user's that has PID (the host's next PID set
# to PID - 1, up to 50 times: another process may take it first); HOLDER is its PID, stopped
# on exit. Fails when PID is in use.
hold_pid() {
	local n
	HOLDER=
	for n in $(seq 50); do
		kill -0 "$1" 2>/dev/null && return 1
		echo $(($1 - 1)) >/proc/sys/kernel/ns_last_pid || return 1
		setpriv --reuid=postgres --regid=postgres --clear-groups sleep 100000 &
		if [ $! -eq "$1" ]; then
			HOLDER=$!
			KILLS+=("$HOLDER")
			return 0
		fi
		kill $! && wait $! 2>/dev/null
	done
	return 1
}

# setting FPW: one device, one cluster, one traced run, its cuts and checks.
setting() {
	local fpw=$1 name=pg$1 label="$FS full_page_writes=$1" mark rc t0 start tx
	t0=$(date +%s.%N)
	crash_setup "$FS" "$name" dio "${PGCUT_KB:-}" ||
		{ notok "$label: crash device setup"; return; }
	label="$FS max_sectors_kb $(cat "$QUEUE/max_sectors_kb") full_page_writes=$fpw"
	cluster "$fpw" || { notok "$label: the cluster (initdb -k, pgbench -i)"; return; }
	mark=$(crash_mark "$name")
	"$TW" --json "$TMPD/$name.json" --events=all --unit 8k -- runuser -u postgres -- env -i \
		PATH="$PGBIN:/usr/bin:/bin" LC_ALL=C PGDATA="$PGDATA" PGHOST="$RUNDIR" \
		PGPORT="$PORT" PGUSER=postgres bash "$LIFE" "$RUNDIR/$name.log" \
		"$RUNDIR/$name.out" >"$TMPD/$name.events" 2>"$TMPD/$name.tw.err"
	rc=$?
	check "$label: tornwatch -- server life: exit status" 0 $rc
	[ $rc -eq 0 ] || sed 's/^/# /' "$RUNDIR/$name.out" "$TMPD/$name.tw.err" | tail -5
	tx=$(sed -n 's/^number of transactions actually processed: //p' "$RUNDIR/$name.out")
	check "$label: pgbench committed transactions" yes "$([ "${tx:-0}" -gt 0 ] && echo yes)"
	expect "full_page_writes=$fpw" "$TMPD/$name.json"
	echo "# $label: $tx transactions in $SECS s; $(grep -c '^{' "$TMPD/$name.events") unit" \
		"events; $(grep -c '^W' "$CRASH_LOG") device writes, $(grep -c '^F' "$CRASH_LOG")" \
		"flushes; exposure $(jget "$TMPD/$name.json" exposure)"
	local traced=$PGDATA
	PGDATA=	# stopped; the images get servers of their own
	umount "$MNT" || { notok "$label: umount"; return; }
	# The images' postmaster.pid names the traced postmaster; a power cut reboots the host,
	# this one did not, and may give that PID to a postgres process while the images recover
	# (a postgres process there: 'lock file "postmaster.pid" already exists', the server does
	# not start). Make it so: pgcuts.py must treat the lock file as the stale one it is.
	local pm
	pm=$(sed -n 's/.*\[\([0-9]*\)\] LOG:  starting PostgreSQL.*/\1/p' "$RUNDIR/$name.log" | head -1)
	if [ -z "$pm" ]; then
		notok "$label: no 'starting PostgreSQL' line with the postmaster's PID in $name.log"
	elif hold_pid "$pm"; then
		ok "$label: the traced postmaster's PID $pm is a postgres process's while the images recover"
	else
		echo "# $label: PID $pm of the traced postmaster is in use: $(ps -o user=,comm= -p "$pm")"
	fi
	start=$(date +%s.%N)
	local amcheck=()
	[[ " ${PGCUT_AMCHECK-on} " == *" $fpw "* ]] && amcheck=(--amcheck bench)
	"$PY" "$CRASH/pgcuts.py" --log "$CRASH_LOG" --data "$CRASH_DATA" --mark "$mark" \
		--fs "$FS" --pgdata data --pgbin "$PGBIN" --rundir "$RUNDIR" --port $((PORT + 1)) \
		--random "$RANDOM_CUTS" --write-cuts "$WRITE_CUTS" \
		${PGCUT_SEED:+--seed "$PGCUT_SEED"} "${amcheck[@]}" \
		--out "$TMPD/$name.cuts.jsonl" --summary "$TMPD/$name.summary.json" 2>&1 |
		sed 's/^/# /'
	check "$label: pgcuts.py exit status" 0 "${PIPESTATUS[0]}"
	[ -n "$HOLDER" ] && kill "$HOLDER" && wait "$HOLDER" 2>/dev/null
	# Sector-atomic cuts tear pages under either setting (full_page_writes=on must repair
	# them); request-atomic ones too when a page is more than one request.
	local torn=(--expect-torn sector)
	[ "${PGCUT_KB:-8}" -lt 8 ] && torn+=(--expect-torn request)
	"$PY" "$CRASH/pgcheck.py" --events "$TMPD/$name.events" --cuts "$TMPD/$name.cuts.jsonl" \
		--pgdata "$traced" --full-page-writes "$fpw" "${torn[@]}" --label "$label"
	echo "# $label: $(since "$t0") s in all, $(since "$start") s for the images and checks"
	if [ -n "${PGCUT_KEEP:-}" ]; then	# keep the outputs: PGCUT_KEEP=DIR
		cp "$TMPD/$name".{json,events,cuts.jsonl,summary.json} "$PGCUT_KEEP/" 2>/dev/null
		cp "$CRASH_LOG" "$PGCUT_KEEP/$name.devlog"
		cp "$CRASH_DATA" "$PGCUT_KEEP/$name.devdata"
		echo "$mark $traced" >"$PGCUT_KEEP/$name.mark"
		mkdir -p "$PGCUT_KEEP/$name.logs" && cp "$RUNDIR"/*.log "$PGCUT_KEEP/$name.logs/"
	fi
}

for fpw in ${PGCUT_ONLY:-off on}; do
	setting "$fpw"
done
check_no_leftover_bpf "pgcut $FS"
