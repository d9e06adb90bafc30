#!/usr/bin/env bash
# A real PostgreSQL 15 (Debian's postgresql package) under tornwatch --unit 8k, on one
# filesystem (argument: ext4 or xfs) on its own loop device. Each run gets a fresh cluster
# (initdb, untraced) and the same workload: createdb, pgbench -i, a pgbench run of a fixed
# transaction count, CHECKPOINT. Four runs:
#   attach          tornwatch -p POSTMASTER -f on a running server, stopped by SIGINT
#   life            tornwatch -- the server's whole life (pg_ctl start, workload, pg_ctl stop)
#   attach, split   as attach, with the loop queue's max_sectors_kb at 4
#   life, split     as life, with the loop queue's max_sectors_kb at 4
# The truths asserted come from how PostgreSQL works and how the device was set up, never
# from tornwatch's own output: the workload's relation files are the ones pg_class names;
# the checkpointer writes every dirty buffer at CHECKPOINT and sends its writes out with
# sync_file_range (checkpoint_flush_after, set here); a shut-down server has fsynced every
# relation file it wrote (shutdown checkpoint); an 8 KiB page cannot go to a device that
# takes at most 4 KiB per request in one request.
# The server runs as the postgres user, on a unix socket in this test's own directory only,
# and is stopped on every exit path before lib.sh's cleanup unmounts the filesystem.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

FS=${1:?usage: postgres.sh ext4|xfs}
need_root "postgres $FS"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
for c in initdb pg_ctl pgbench psql createdb; do
	if [ ! -x "$PGBIN/$c" ]; then
		notok "postgres $FS: $PGBIN/$c missing (make deps installs postgresql)"
		exit 0
	fi
done
if ! id -u postgres >/dev/null 2>&1; then
	notok "postgres $FS: no postgres user (make deps installs postgresql, which creates it)"
	exit 0
fi

SCALE=5 CLIENTS=4 TX=500	# pgbench -i -s SCALE; pgbench -c CLIENTS -t TX (per client)
# A relation file: base/DBOID/RELFILENODE or global/RELFILENODE, any fork, any segment.
REL_RE='/(base/[0-9]+|global)/[0-9]+(_(fsm|vm|init))?(\.[0-9]+)?$'

chmod 711 "$TMPD"	# the postgres user reaches its data directory and socket through it
mkfs_loop "$FS" fs
RUNDIR=$TMPD/pg		# the postgres user's: socket, server logs, the workload's outputs
mkdir "$RUNDIR"
chown postgres: "$RUNDIR"
cd "$TMPD" || exit 1
PORT=$((30000 + $$ % 20000))	# a lock file in our own socket directory: no collision
PGDATA=

. "$TOP/tests/real/pglib.sh"

# new_cluster NAME: initdb (untraced) a fresh cluster in $MNT/NAME; it becomes $PGDATA.
# The cluster of the previous run is removed first (its server is stopped).
new_cluster() {
	if [ -n "$PGDATA" ]; then
		pg_stop
		rm -rf "$PGDATA"
	fi
	PGDATA=$MNT/$1
	mkdir "$PGDATA"
	chown postgres: "$PGDATA"
	chmod 700 "$PGDATA"
	if ! as_pg initdb -A trust -U postgres -E UTF8 --locale=C >"$RUNDIR/initdb-$1.log" 2>&1
	then
		notok "postgres $FS: initdb failed: $(tail -3 "$RUNDIR/initdb-$1.log")"
		exit 1
	fi
	# fsync stays on (the default). checkpoint_flush_after is Linux's default, said aloud:
	# the checkpointer starts the writeback of each 256 kB it wrote with sync_file_range.
	# huge_pages off: with "try" (the default) the server takes every free huge page of the
	# host, and another test's reservation with them (memkinds.sh's hugetlb buffers).
	cat >>"$PGDATA/postgresql.conf" <<-EOF
		listen_addresses = ''
		unix_socket_directories = '$RUNDIR'
		port = $PORT
		huge_pages = off
		checkpoint_flush_after = 256kB
	EOF
}

# The workload, run as postgres (WORKLOAD DB OUT): the pgbench relations' files (relname
# and pg_relation_filepath) go to OUT, before the CHECKPOINT that writes them all.
WORKLOAD=$TMPD/workload.sh
cat >"$WORKLOAD" <<EOF
set -e
createdb "\$1"
pgbench -i -q -s $SCALE "\$1"
pgbench -n -c $CLIENTS -j 2 -t $TX "\$1"
psql -X -At -F ' ' -c "select relname, pg_relation_filepath(oid) from pg_class
	where relname like 'pgbench%' and relkind in ('r', 'i')" "\$1" >"\$2"
psql -X -q -c CHECKPOINT "\$1"
EOF
# The whole server life (LIFE LOG DB REL OUT): start, workload, stop, all output to OUT
# (tornwatch's stdout is its report); for tornwatch -- CMD.
LIFE=$TMPD/life.sh
cat >"$LIFE" <<EOF
set -e
exec >"\$4" 2>&1
pg_ctl -l "\$1" -w -t 60 start
bash '$WORKLOAD' "\$2" "\$3"
pg_ctl -m fast -w -t 60 stop
EOF
chmod 644 "$WORKLOAD" "$LIFE"

# run_attach NAME: a running server, tornwatch -p POSTMASTER -f, the workload, SIGINT.
run_attach() {
	local name=$1 json=$TMPD/$1.json pm twpid n before after expected
	new_cluster "$name"
	if ! as_pg pg_ctl -l "$RUNDIR/$name.log" -w -t 60 start >>"$RUNDIR/pg_ctl.log" 2>&1; then
		notok "postgres $FS $name: the server did not start: $(tail -3 "$RUNDIR/$name.log")"
		return
	fi
	pm=$(head -1 "$PGDATA/postmaster.pid")
	before=$(pgrep -P "$pm" | sort | tr '\n' ' ')
	"$TW" -v -p "$pm" -f --unit 8k --json "$json" >"$TMPD/$name.txt" 2>"$TMPD/$name.err" &
	twpid=$!
	KILLS+=("$twpid")
	await_tracing "$FS $name" "$TMPD/$name.err" "$twpid"
	after=$(pgrep -P "$pm" | sort | tr '\n' ' ')
	# The /proc scan finds the postmaster's children already there (checkpointer, background
	# writer, WAL writer, launchers); if one came or went meanwhile, either count is right.
	n=$(sed -n "s/^tornwatch: pid $pm: \([0-9]*\) descendants traced$/\1/p" "$TMPD/$name.err")
	expected=$(wc -w <<<"$before")
	[ "$n" = "$(wc -w <<<"$after")" ] && expected=$n
	check "$FS $name: the postmaster's children followed" "$expected" "$n"
	as_pg bash "$WORKLOAD" "$name" "$RUNDIR/$name.rel" >"$RUNDIR/$name.out" 2>&1
	check "$FS $name: workload exit status" 0 $?
	kill -INT "$twpid"
	wait "$twpid"
	check "$FS $name: tornwatch exit status after SIGINT" 0 $?
	assert_run "$name" attach
}

# run_life NAME: tornwatch -- the server's whole life; its exit status is the command's.
run_life() {
	local name=$1 json=$TMPD/$1.json
	new_cluster "$name"
	"$TW" --unit 8k --json "$json" -- runuser -u postgres -- env -i \
		PATH="$PGBIN:/usr/bin:/bin" LC_ALL=C PGDATA="$PGDATA" PGHOST="$RUNDIR" \
		PGPORT="$PORT" PGUSER=postgres bash "$LIFE" "$RUNDIR/$name.log" "$name" \
		"$RUNDIR/$name.rel" "$RUNDIR/$name.out" >"$TMPD/$name.txt" 2>"$TMPD/$name.err"
	check "$FS $name: tornwatch -- server life: exit status" 0 $?
	assert_run "$name" life
}

# relstats JSON PGDATA RELFILE REL_RE DEV: key=value lines over the report (rel_*: over the
# relation files).
relstats() {
	python3 - "$@" <<'PY'
import json, os, re, sys
d, pgdata, relfile = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
rel_re, dev = re.compile(sys.argv[4]), sys.argv[5]
V = ("whole", "atomic", "split", "cow_atomic", "superseded", "modified", "discarded", "pending")
u = d["units"]
out = {
    "verdicts_sum": sum(u[k] for k in V) == u["total"],
    "pending_parts": u["pending_cached"] + u["pending_inflight"] == u["pending"],
    "files_sum": sum(f["units"] for f in d["files"]) == u["total"],
    "files_bad": sum(1 for f in d["files"]
                     if f["units"] != f["verdicts"]["total"]
                     or sum(f["verdicts"][k] for k in V) != f["units"]
                     or f["split"] != f["verdicts"]["split"]),
}
rel = [f for f in d["files"] if rel_re.search(f["path"])]
for k in V + ("split_block", "split_writeback", "pending_cached", "pending_inflight"):
    out["rel_" + k] = sum(f["verdicts"][k] for f in rel)
out["rel_units"] = sum(f["units"] for f in rel)
out["rel_files"] = len(rel)
# Every relation file named with units is a file of this cluster.
bad = [f["path"] for f in rel if f["units"] and
       not (f["path"].startswith(pgdata + "/") and os.path.isfile(f["path"]))]
out["rel_outside"] = f"{len(bad)} ({' '.join(bad[:3])} ...)" if bad else "0"
out["rel_other_dev"] = sum(1 for f in rel if f["dev"] != dev)
# Every pgbench relation (from pg_class) is named, with units.
missing = []
for line in open(relfile):
    name, path = line.split()
    if not any(f["path"] == os.path.join(pgdata, path) and f["units"] for f in d["files"]):
        missing.append(f"{name}({path})")
n = sum(1 for _ in open(relfile))
out["pgbench_missing"] = f"{len(missing)} of {n}" + (": " + " ".join(missing) if missing else "")
out["trig_sync_file_range"] = d["writeback_triggers"]["sync_file_range"]
# Files deleted while traced (sort files of the parallel index build, pg_internal.init, ...):
# none of their units can still be waiting for the device.
gone = [f for f in d["files"] if f["deleted"]]
out["deleted_files"] = len(gone)
out["deleted_pending"] = sum(f["verdicts"]["pending"] for f in gone)
out["deleted_discarded"] = sum(f["verdicts"]["discarded"] for f in gone)
# For the log: what the whole server did.
out["all"] = (f"units {u['total']}: whole {u['whole']} split {u['split']} superseded "
              f"{u['superseded']} modified {u['modified']} discarded {u['discarded']} "
              f"pending {u['pending']} (cached "
              f"{u['pending_cached']}, in flight {u['pending_inflight']})")
out["triggers"] = " ".join(f"{k} {v}" for k, v in d["writeback_triggers"].items() if v)
out["modes"] = " ".join(f"{k} {m['writes']}/{m['units']}" for k, m in d["modes"].items()
                        if m["writes"])
for k, v in sorted(out.items()):
    print(f"{k}={v}")
PY
}

# positive N: "yes" when N > 0, else "no (N)".
positive() {
	if [ "${1:-0}" -gt 0 ] 2>/dev/null; then echo yes; else echo "no (${1:-})"; fi
}

# assert_run NAME KIND: the assertions every run shares, and the split ones.
assert_run() {
	local name=$1 kind=$2 json=$TMPD/$1.json s
	local -A r
	if [ ! -s "$json" ]; then
		notok "$FS $name: no JSON report ($(tail -2 "$TMPD/$name.err"))"
		return
	fi
	while IFS='=' read -r k v; do r[$k]=$v; done < <(relstats "$json" "$PGDATA" \
		"$RUNDIR/$name.rel" "$REL_RE" "$(stat -c '%Hd:%Ld' "$MNT")")
	check "$FS $name: pgbench processed its transactions" \
		"$((CLIENTS * TX))/$((CLIENTS * TX))" \
		"$(sed -n 's/^number of transactions actually processed: //p' "$RUNDIR/$name.out")"
	expect "$name" "$json" units.untracked=0 units.io_errors=0
	check "$FS $name: every unit has a verdict (the seven sum to units.total)" True \
		"${r[verdicts_sum]}"
	check "$FS $name: pending = pending_cached + pending_inflight" True "${r[pending_parts]}"
	check "$FS $name: every unit belongs to a file of files[]" True "${r[files_sum]}"
	check "$FS $name: files whose verdicts do not add up" 0 "${r[files_bad]}"
	check "$FS $name: relation-file units tracked" yes "$(positive "${r[rel_units]}")"
	check "$FS $name: pgbench relations (pg_class) missing from files[] or without units" \
		"0 of 7" "${r[pgbench_missing]}"
	check "$FS $name: relation files named that are not files of this cluster" 0 \
		"${r[rel_outside]}"
	check "$FS $name: relation files on another device than the loop device" 0 \
		"${r[rel_other_dev]}"
	check "$FS $name: files deleted while traced" yes "$(positive "${r[deleted_files]}")"
	check "$FS $name: units of deleted files still pending" 0 "${r[deleted_pending]}"
	check "$FS $name: the checkpointer's writes went out by sync_file_range" yes \
		"$(positive "${r[trig_sync_file_range]}")"
	if grep -Eq "^ +[0-9].* /.*/base/[0-9]+/[0-9]+$" "$TMPD/$name.txt"; then
		ok "$FS $name: the text report's FILES table names base/.../NNNN files"
	else
		notok "$FS $name: no base/.../NNNN file in the text report's FILES table"
	fi
	if [ "$kind" = life ]; then
		# The shutdown checkpoint wrote and fsynced every relation file: nothing pending.
		check "$FS $name: relation units pending after the shutdown checkpoint" 0 \
			"${r[rel_pending]}"
	fi
	case $name in
	*split*)
		check "$FS $name: relation units on the device whole (max_sectors_kb 4)" 0 \
			"${r[rel_whole]}"
		check "$FS $name: relation units on the device split" yes \
			"$(positive "${r[rel_split]}")"
		;;
	esac
	s="${r[rel_files]} relation files, units ${r[rel_units]}: whole ${r[rel_whole]}"
	s+=" split ${r[rel_split]} (block ${r[rel_split_block]},"
	s+=" writeback ${r[rel_split_writeback]})"
	s+=" superseded ${r[rel_superseded]} modified ${r[rel_modified]} pending ${r[rel_pending]}"
	echo "# $FS $name: $s"
	echo "# $FS $name: all files, ${r[all]}; ${r[deleted_files]} files deleted while traced," \
		"${r[deleted_discarded]} of their units discarded"
	echo "# $FS $name: written back by: ${r[triggers]}; modes (writes/units): ${r[modes]}"
	if [ -n "${PGREPORTS:-}" ]; then	# keep the reports: PGREPORTS=DIR
		cp "$json" "$PGREPORTS/$FS-$name.json"
		cp "$TMPD/$name.txt" "$PGREPORTS/$FS-$name.txt"
		cp "$RUNDIR/$name.rel" "$PGREPORTS/$FS-$name.rel"
	fi
}

run_attach attach
run_life life
set_sysfs "$QUEUE/max_sectors_kb" 4
run_attach attach-split
run_life life-split
pg_stop
check_no_leftover_bpf "postgres $FS"
