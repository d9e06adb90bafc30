#!/usr/bin/env bash
# What does tornwatch cost next to the tools one would use instead?
#
# The three write storms of bench/overhead.sh and a pgbench run at a fixed
# transaction count, on a scratch ext4 filesystem on a loop device, each run
# untraced, under `tornwatch --unit 8k`, under its floor (build-floor/tornwatch,
# 'make FLOOR=1': the same hooks, every program returning at once: what any
# design that keeps them pays), under norec (build-norec/tornwatch, 'make
# NOREC=1': its records written to a per-CPU scratch, not the ring buffer:
# what its programs' work costs apart from the records), under bench/join.bt (the simplest
# version of the same join bpftrace 0.17 can do with tracepoints: writes
# joined to the pages they dirty, bios only counted) and under libbpf-tools'
# biolatency (system-wide: that is what it is), in alternating order, ROUNDS
# rounds each.  Per workload it prints the median ops/s and its ratio to
# untraced, the workload's CPU time per operation and what each tracer adds
# to it, the time inside BPF programs (one extra round per tracer with
# kernel.bpf_stats_enabled=1), events/s, lost, and the tracers' own user-side
# CPU and BPF map memory; then the summary: issue #17's targets, each PASS
# or MISS with its numbers (BPF time per operation at most 0.30 us on the
# fdatasync storm, 0.25 us on the page-cache storm, 1.0 us and join.bt's on
# the direct storm, 6 us and biolatency's per pgbench transaction; added CPU
# per operation at most a third of join.bt's on the buffered storms and at
# most join.bt's on the direct storm and pgbench; tornwatch's own CPU at most
# 1% of one core at the pgbench rate; 0 lost and every unit followed
# everywhere).  It is a benchmark, not a test: the exit status is non-zero
# only when something broke.  At the defaults with ROUNDS=1 it took 81 to 108 s
# on a 2-CPU machine (most of it fixed: PostgreSQL's setup, bpftrace's start).
# bench/scale.sh measures how tornwatch's cost grows with scale.
#
# Environment: ROUNDS (7), N_SYNC (20000), N_CACHE (50000), N_DIRECT (5000),
# PG_TX (2000 transactions per client), PG_CLIENTS (2), PG_SCALE (2),
# PG_PORT (5499; names the socket in our own folder only), PG_BT_KEYS
# (65536: join.bt's map size for pgbench), WORKLOADS (a subset, e.g.
# "pgbench"), TW_EXTRA (more tornwatch options), RESULTS (a folder to keep
# every run's raw files in).
set -euo pipefail

ROUNDS=${ROUNDS:-7}
N_SYNC=${N_SYNC:-20000}
N_CACHE=${N_CACHE:-50000}
N_DIRECT=${N_DIRECT:-5000}
PG_TX=${PG_TX:-2000}
PG_CLIENTS=${PG_CLIENTS:-2}
PG_SCALE=${PG_SCALE:-2}
PG_PORT=${PG_PORT:-5499}
PG_BT_KEYS=${PG_BT_KEYS:-65536}
read -ra WORKLOADS <<<"${WORKLOADS:-fdatasync-storm page-cache-storm direct-storm pgbench}"
readonly UNIT=8192
readonly MODES=(untraced tornwatch floor norec bpftrace biolatency)

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
BENCH_NAME=compare
# shellcheck source=bench/lib.sh
. bench/lib.sh
readonly JOIN_BT=$REPO/bench/join.bt
WL_N[pgbench]=$((PG_TX * PG_CLIENTS))
WL_DESC[pgbench]="pgbench TPC-B, scale $PG_SCALE, $PG_CLIENTS clients x $PG_TX transactions, fsync on"
declare -A WL_OP=(
	[fdatasync-storm]=write [page-cache-storm]=write [direct-storm]=write [pgbench]=tx
)

CG="" TRACER_PID="" PGDATA="" PG_UP="" TRACEFS_MOUNTED=""
PGBIN=""

# ---------------------------------------------------------------------------
# Run by the traced side (exported: tornwatch's child bash calls them too).

# in_cg DIR CMD...: CMD in cgroup DIR (a subshell moves itself, then execs).
in_cg() {
	(echo "$BASHPID" >"$1/cgroup.procs" && exec "${@:2}")
}

# pgbench_round OUT: one pgbench run (client in its own cgroup), its output to
# OUT; prints "writes TX seconds S cpu_us C" where C is the CPU time of the
# whole cgroup tree (server and client) during the run.
pgbench_round() {
	local out=$1 c0 c1 n tps base i

	base=$(wc -l <"$TWC_CG/traced/cgroup.procs")
	c0=$(sed -n 's/^usage_usec //p' "$TWC_CG/cpu.stat")
	# In the background and waited for: pgbench catches SIGINT (it cancels the
	# query and goes on), and bash runs no trap for a foreground child that
	# caught it; an INT trap does interrupt "wait".
	in_cg "$TWC_CG/client" "$TWC_PGBIN/pgbench" -h "$TWC_SOCK" -p "$TWC_PG_PORT" \
		-U postgres -n -t "$TWC_PG_TX" -c "$TWC_PG_CLIENTS" postgres >"$out" 2>&1 &
	if ! wait $!; then
		tail -n 5 "$out" >&2
		return 1
	fi
	# The backends exit after pgbench does: their last CPU time counts too.
	for ((i = 0; i < 100; i++)); do
		[ "$(wc -l <"$TWC_CG/traced/cgroup.procs")" -le "$base" ] && break
		sleep 0.05
	done
	c1=$(sed -n 's/^usage_usec //p' "$TWC_CG/cpu.stat")
	n=$(sed -n 's|^number of transactions actually processed: \([0-9]*\)/.*|\1|p' "$out")
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out")
	[ -n "$n" ] && [ -n "$tps" ] || return 1
	awk -v n="$n" -v tps="$tps" -v c="$((c1 - c0))" \
		'BEGIN { printf "writes %d seconds %.6f cpu_us %d\n", n, n / tps, c }'
}

# ---------------------------------------------------------------------------

# Every exit path comes here: no tracer, server, mount, loop device, cgroup
# or sysctl left behind.
cleanup() {
	local rc=$? i pid

	set +e
	if [ -n "$TRACER_PID" ]; then
		kill -INT "$TRACER_PID" 2>/dev/null
		for ((i = 0; i < 100; i++)); do alive "$TRACER_PID" || break; sleep 0.1; done
		kill -KILL "$TRACER_PID" 2>/dev/null
		wait "$TRACER_PID" 2>/dev/null
	fi
	[ -n "$PG_UP" ] && stop_postgres
	# Anything still in our cgroups is ours (workload, server): end it.
	if [ -n "$CG" ] && [ -d "$CG" ]; then
		while read -r pid; do
			kill -KILL "$pid" 2>/dev/null
		done < <(cat "$CG"/*/cgroup.procs 2>/dev/null)
		for ((i = 0; i < 50; i++)); do
			[ -z "$(cat "$CG"/*/cgroup.procs 2>/dev/null)" ] && break
			sleep 0.1
		done
		rmdir "$CG"/traced "$CG"/client "$CG" 2>/dev/null
	fi
	if [ -n "${RESULTS:-}" ] && [ -n "$TMP" ] && [ -d "$TMP/res" ]; then
		mkdir -p "$RESULTS" && cp -r "$TMP/res/." "$RESULTS/"
	fi
	scratch_fs_cleanup
	[ -n "$TRACEFS_MOUNTED" ] && umount /sys/kernel/tracing
	exit "$rc"
}

check_setup() {
	local v

	[ "$(id -u)" -eq 0 ] || die "needs root"
	for v in ROUNDS N_SYNC N_CACHE N_DIRECT PG_TX PG_CLIENTS PG_SCALE PG_PORT PG_BT_KEYS; do
		[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
	done
	[ "$ROUNDS" -ge 1 ] || die "ROUNDS must be >= 1"
	for v in "${WORKLOADS[@]}"; do
		[ -n "${WL_N[$v]:-}" ] || die "unknown workload '$v' in WORKLOADS"
	done
	if [ ! -x "$TORNWATCH" ] || [ ! -x "$WRITER" ] || [ ! -x "$(tw_bin floor)" ] ||
	   [ ! -x "$(tw_bin norec)" ]; then
		die "$TORNWATCH, $(tw_bin floor), $(tw_bin norec) or $WRITER missing; run make compare" \
			"(or make all, then make FLOOR=1 build-floor/tornwatch and make NOREC=1 build-norec/tornwatch)"
	fi
	for v in bpftool python3 mkfs.ext4 losetup sysctl stdbuf runuser; do
		command -v "$v" >/dev/null || die "$v not found"
	done
	if ! command -v bpftrace >/dev/null || ! command -v biolatency >/dev/null; then
		die "bpftrace or biolatency missing: apt-get install -y bpftrace libbpf-tools"
	fi
	# bpftrace finds tracepoints in tracefs, which a fresh machine may not have mounted.
	if [ ! -e /sys/kernel/tracing/events ]; then
		mount -t tracefs tracefs /sys/kernel/tracing || die "cannot mount tracefs on /sys/kernel/tracing"
		TRACEFS_MOUNTED=1
	fi
	if [[ " ${WORKLOADS[*]} " == *" pgbench "* ]]; then
		PGBIN=${PGBIN:-$(dirname "$(readlink -f "$(command -v initdb || echo /nonexistent)")")}
		[ -x "$PGBIN/initdb" ] || PGBIN=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
		for v in initdb pg_ctl pgbench psql; do
			[ -x "$PGBIN/$v" ] || die "PostgreSQL's $v not found (PGBIN=$PGBIN); apt-get install -y postgresql"
		done
		id postgres >/dev/null 2>&1 || die "no 'postgres' user"
	fi
	[ $((N_CACHE * UNIT)) -le $((400 << 20)) ] || die "N_CACHE*8k must be <= 400 MiB"
}

# A scratch ext4 on a loop device over a sparse image (lazy init off: no
# ext4lazyinit writes while we measure), and a cgroup v2 tree: "traced" holds
# the workload (the writer, or the PostgreSQL server) and is what join.bt
# filters on; "client" holds pgbench; the root's cpu.stat is their CPU time.
setup() {
	local cg2

	scratch_fs_setup tw-compare.XXXXXX $((1 << 30))
	chmod 711 "$TMP"

	cg2=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
	[ -n "$cg2" ] || die "no cgroup2 hierarchy mounted"
	CG=$cg2/tw-compare.$$
	mkdir "$CG" "$CG/traced" "$CG/client" || die "cannot create cgroups under $cg2"
	[ -r "$CG/cpu.stat" ] || die "$CG/cpu.stat missing"
	CG_ID=$(stat -c %i "$CG/traced")

	export TWC_CG=$CG TWC_SOCK=$TMP/sock TWC_PG_PORT=$PG_PORT TWC_PG_TX=$PG_TX
	export TWC_PG_CLIENTS=$PG_CLIENTS TWC_PGBIN=$PGBIN
	export -f in_cg cpu_ns drained snapshot measure pgbench_round
}

# ---------------------------------------------------------------------------
# PostgreSQL: our own cluster in the loop filesystem, unix socket only, in
# our own folder.  autovacuum is off and checkpoints are ours (between
# rounds, untimed), so that every round does the same work.

pg() {
	runuser -u postgres -- "$PGBIN/$1" "${@:2}"
}

pg_pid() {
	head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null
}

start_postgres() {
	PGDATA=$MNT/pgdata
	mkdir -p "$PGDATA" "$TMP/sock"
	chown postgres: "$PGDATA" "$TMP/sock"
	pg initdb -D "$PGDATA" -U postgres --auth=trust >"$TMP/initdb.log" 2>&1 ||
		{ tail -n 5 "$TMP/initdb.log" >&2; die "initdb failed"; }
	PG_UP=1
	in_cg "$CG/traced" runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -l "$TMP/sock/pg.log" -w \
		-o "-c listen_addresses='' -c unix_socket_directories=$TMP/sock -c port=$PG_PORT" \
		-o "-c autovacuum=off -c checkpoint_timeout=1h -c max_wal_size=4GB" \
		-o "-c shared_buffers=128MB -c fsync=on -c synchronous_commit=on" \
		start >"$TMP/pg_ctl.log" 2>&1 ||
		{ tail -n 5 "$TMP/sock/pg.log" >&2; die "PostgreSQL did not start"; }
	"$PGBIN/pgbench" -h "$TMP/sock" -p "$PG_PORT" -U postgres -i -s "$PG_SCALE" -q postgres \
		>"$TMP/pgbench-init.log" 2>&1 ||
		{ tail -n 5 "$TMP/pgbench-init.log" >&2; die "pgbench -i failed"; }
	checkpoint
}

stop_postgres() {
	local pid i

	pid=$(pg_pid)
	pg pg_ctl -D "$PGDATA" -m fast -w -t 30 stop >/dev/null 2>&1
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -QUIT "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	PG_UP=""
}

checkpoint() {
	"$PGBIN/psql" -h "$TMP/sock" -p "$PG_PORT" -U postgres -qAt -c CHECKPOINT postgres >/dev/null ||
		die "CHECKPOINT failed"
}

# Not part of any timed region: the same starting state for every round.
settle() {
	if [ "$1" = pgbench ]; then
		checkpoint
	else
		sync -f "$MNT"
	fi
}

# ---------------------------------------------------------------------------
# Tracers.

# workload_cmd WL PREFIX: the argv of one run of WL (sets WCMD).
workload_cmd() {
	local wl=$1 p=$2 args

	if [ "$wl" = pgbench ]; then
		WCMD=(pgbench_round "$p.pgbench")
	else
		read -ra args <<<"${WL_ARGS[$wl]}"
		WCMD=(in_cg "$CG/traced" "$WRITER" "${args[@]}" -n "${WL_N[$wl]}" -t "$MNT/$wl.dat")
	fi
}

# join.bt's maps are all BPFTRACE_MAP_KEYS_MAX long: room for every 4 KiB
# page a storm dirties (the page map is the one that grows).
bt_keys() {
	if [ "$1" = pgbench ]; then
		echo "$PG_BT_KEYS"
	else
		echo $((${WL_N[$1]} * UNIT / 4096 + 4096))
	fi
}

# tw_bin MODE: the tornwatch binary MODE runs. "floor" is tornwatch built with 'make FLOOR=1':
# the same hooks, every BPF program returning at once: what they cost before any work;
# "norec" with 'make NOREC=1': the same work, its records never reaching the ring buffer.
tw_bin() {
	case $1 in
	floor | norec) echo "$REPO/build-$1/tornwatch" ;;
	*) echo "$TORNWATCH" ;;
	esac
}

# start_tracer MODE WL PREFIX: MODE in the background, attached, as
# TRACER_PID; its stdout and stderr in PREFIX.out and PREFIX.err.
start_tracer() {
	local mode=$1 wl=$2 p=$3 marker file i

	case $mode in
	bpftrace)
		BPFTRACE_MAP_KEYS_MAX=$(bt_keys "$wl") bpftrace -k "$JOIN_BT" "$CG_ID" \
			>"$p.out" 2>"$p.err" &
		marker="^join.bt: tracing" file=$p.out
		;;
	biolatency)
		stdbuf -oL biolatency >"$p.out" 2>"$p.err" &
		marker="^Tracing block device" file=$p.out
		;;
	tornwatch | floor | norec) # only for the server: the storms run as tornwatch's command
		# shellcheck disable=SC2086 # TW_EXTRA is a list of options
		"$(tw_bin "$mode")" -v --unit 8k ${TW_EXTRA:-} \
			-p "$(pg_pid)" -f --json "$p.json" >"$p.out" 2>"$p.err" &
		marker="^tornwatch: tracing" file=$p.err
		;;
	esac
	TRACER_PID=$!
	for ((i = 0; i < 600; i++)); do
		grep -q "$marker" "$file" 2>/dev/null && break
		if ! alive "$TRACER_PID"; then
			wait "$TRACER_PID" || true
			TRACER_PID=""
			tail -n 20 "$p.err" >&2
			die "$mode did not start (log above)"
		fi
		sleep 0.05
	done
	[ "$i" -lt 600 ] || die "$mode: not attached after 30 s"
	sleep 0.2 # and in its poll loop, where SIGINT is handled
}

# stop_tracer MODE PREFIX: SIGINT, as a user would; its report lands in
# PREFIX.out.  One that hangs is killed, leaving its threads' kernel stacks
# and a second of strace in PREFIX.hang; the run's timing and BPF figures,
# taken while it was attached, still count, its own report is marked lost.
stop_tracer() {
	local mode=$1 p=$2 rc=0 i t

	if ! alive "$TRACER_PID"; then # a Ctrl-C reaches it too
		wait "$TRACER_PID" || rc=$?
		TRACER_PID=""
		die "$mode exited (status $rc) before the run ended: interrupted?"
	fi
	kill -INT "$TRACER_PID"
	for ((i = 0; i < 600; i++)); do alive "$TRACER_PID" || break; sleep 0.05; done
	if alive "$TRACER_PID"; then
		for t in /proc/"$TRACER_PID"/task/*; do
			echo "== ${t##*/} $(cat "$t/comm") $(cat "$t/wchan" 2>/dev/null)"
			cat "$t/stack" 2>/dev/null
		done >"$p.hang"
		timeout 1 strace -f -p "$TRACER_PID" >>"$p.hang" 2>&1 || true
		kill -KILL "$TRACER_PID"
		wait "$TRACER_PID" || true
		TRACER_PID=""
		echo "   $mode did not exit within 30 s of SIGINT: killed, its report of this run is lost" \
			"(state in ${p##*/}.hang)" >&2
		return 0
	fi
	wait "$TRACER_PID" || rc=$?
	TRACER_PID=""
	[ "$rc" -eq 0 ] || die "$mode exited with status $rc after SIGINT"
}

# run_one WL MODE PREFIX: one run; PREFIX.t is the workload's line.
run_one() {
	local wl=$1 mode=$2 p=$3 rc=0

	workload_cmd "$wl" "$p"
	case $mode in
	untraced)
		measure "$p" 0 "${WCMD[@]}" || die "$wl: untraced run failed"
		;;
	tornwatch | floor | norec)
		if [ "$wl" = pgbench ]; then
			start_tracer "$mode" "$wl" "$p"
			measure "$p" "$TRACER_PID" "${WCMD[@]}" || die "$wl: run under $mode failed"
			stop_tracer "$mode" "$p"
		else
			# shellcheck disable=SC2086,SC2016
			"$(tw_bin "$mode")" --unit 8k ${TW_EXTRA:-} --json "$p.json" -- \
				bash -c 'measure "$@"' measure "$p" parent "${WCMD[@]}" \
				>"$p.out" 2>"$p.err" || rc=$?
			[ "$rc" -ne 130 ] || die "$wl: interrupted"
			if [ "$rc" -ne 0 ]; then
				tail -n 20 "$p.err" >&2
				die "$wl: traced run failed (exit $rc; tornwatch or the workload, log above)"
			fi
		fi
		[ -s "$p.json" ] || [ -e "$p.hang" ] || die "$wl: tornwatch wrote no JSON"
		;;
	bpftrace | biolatency)
		start_tracer "$mode" "$wl" "$p"
		measure "$p" "$TRACER_PID" "${WCMD[@]}" || die "$wl: run under $mode failed"
		stop_tracer "$mode" "$p"
		;;
	esac
	[ -s "$p.t" ] || die "$wl/$mode: no timing line"
	settle "$wl"
}

# "ops/s, us CPU/op" from a timing line, for the progress lines.
brief() {
	awk '{ printf "%7.0f/s %6.1fus", $2 / $4, $6 / $2 }' "$1"
}

# Untraced and the four tracers take turns, and the order rotates by one
# each round, so that drift of the machine (other tenants, writeback) and
# the position in the round hit all four alike.  A first untraced run, not
# counted, allocates the file (or warms the server's cache).
bench_workload() {
	local wl=$1 r k mode line

	echo "== $wl: ${WL_DESC[$wl]}, ${WL_N[$wl]} ${WL_OP[$wl]}s per run, $ROUNDS rounds"
	run_one "$wl" untraced "$TMP/res/$wl.warmup"
	for ((r = 1; r <= ROUNDS; r++)); do
		line="   round $r/$ROUNDS:"
		for ((k = 0; k < ${#MODES[@]}; k++)); do
			mode=${MODES[(k + r - 1) % ${#MODES[@]}]}
			run_one "$wl" "$mode" "$TMP/res/$wl.$mode.$r"
			line+=" $mode $(brief "$TMP/res/$wl.$mode.$r.t") |"
		done
		echo "${line% |}"
	done
	bpf_stats 1
	line="   profile rounds (bpf_stats on):"
	for mode in "${MODES[@]:1}"; do
		run_one "$wl" "$mode" "$TMP/res/$wl.$mode.profile"
		line+=" $mode $(brief "$TMP/res/$wl.$mode.profile.t") |"
	done
	bpf_stats 0
	echo "${line% |}"
}

# ---------------------------------------------------------------------------

report() {
	run_report "$REPO/bench/compare_report.py" WL_N WL_OP WL_DESC
}

main() {
	local start=$EPOCHREALTIME wl

	trap cleanup EXIT
	trap 'echo "compare: interrupted" >&2; exit 130' INT
	trap 'echo "compare: terminated" >&2; exit 143' TERM
	check_setup
	setup
	save_bpf_stats
	bpf_stats 0
	echo "compare: tornwatch vs its hooks' floor vs its work without records vs join.bt (bpftrace $(bpftrace --version | awk '{ print $2 }')) vs biolatency on $LOOP (ext4), kernel $(uname -r), $(nproc) CPUs"
	for wl in "${WORKLOADS[@]}"; do
		if [ "$wl" = pgbench ]; then
			start_postgres
		fi
		bench_workload "$wl"
	done
	if [ -n "$PG_UP" ]; then
		stop_postgres
	fi
	report
	echo "compare: done in $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s"
}

main "$@"
