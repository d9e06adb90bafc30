# shellcheck shell=bash
# The PostgreSQL server of a test (postgres.sh, pgcut.sh): run as the postgres user, pointed
# at this test's server only, and stopped on every exit path before lib.sh's cleanup
# unmounts its filesystem. Source after lib.sh; the test sets PGBIN, RUNDIR, PORT, PGDATA.

# as_pg CMD...: run CMD as the postgres user, pointed at this test's server only.
as_pg() {
	runuser -u postgres -- env -i PATH="$PGBIN:/usr/bin:/bin" LC_ALL=C PGDATA="$PGDATA" \
		PGHOST="$RUNDIR" PGPORT="$PORT" PGUSER=postgres "$@"
}

# pg_stop: stop the server of $PGDATA if one runs (fast shutdown; immediate as the fallback,
# SIGKILL to the postmaster as the last resort) and wait until it is gone: the filesystem
# must unmount.
pg_stop() {
	local pm
	[ -n "$PGDATA" ] && [ -f "$PGDATA/postmaster.pid" ] || return 0
	as_pg pg_ctl stop -m fast -w -t 30 >>"$RUNDIR/pg_ctl.log" 2>&1 && return 0
	as_pg pg_ctl stop -m immediate -w -t 30 >>"$RUNDIR/pg_ctl.log" 2>&1 && return 0
	pm=$(head -1 "$PGDATA/postmaster.pid" 2>/dev/null)
	# only our postmaster: a dead one's PID may be another process's by now
	[ -n "$pm" ] && [ "$(readlink "/proc/$pm/cwd" 2>/dev/null)" = "$PGDATA" ] &&
		kill -KILL "$pm" 2>/dev/null
	sleep 1
}

pg_cleanup() {
	pg_stop
	cleanup
}
trap pg_cleanup EXIT
