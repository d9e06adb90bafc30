#!/usr/bin/env bash
# The Debian package (make deb: build/deb/), installed on this machine and removed again:
#   - lintian: no error and no warning (the overrides in debian/ say why);
#   - dpkg -i: every file where it belongs; the installed tornwatch --version, man tornwatch,
#     its bash completion (every option of --help), and a short trace (8 whole units);
#   - the unit: systemd-analyze verify, systemd-analyze security's exposure (the README's);
#   - its ExecStart line, as systemd would run it for tornwatch@postgresql@15-twtestPID:
#     the MainPID a stand-in systemctl gives is a real PostgreSQL's postmaster, started here;
#     run with the unit's capability bounding set only and no new privileges; the process
#     must be tornwatch -p POSTMASTER -f with /etc/default/tornwatch's options, follow the
#     postmaster's children, trace a pgbench run and write its textfile;
#   - dpkg -r leaves only the conffile, dpkg --purge nothing (dpkg -L checked).
# systemd does not run here (PID 1 is not systemd), hence the ExecStart line by hand.
# A tornwatch package already on the machine is never touched: the test fails instead.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

need_root "package"
VERSION=$("$TW" --version | awk '{ print $2 }')
DEB=$TOP/build/deb/tornwatch_${VERSION}_amd64.deb
if [ ! -f "$DEB" ]; then
	notok "package: $DEB missing (make deb)"
	exit 0
fi
if dpkg-query -W -f='${Status}' tornwatch 2>/dev/null | grep -q 'ok installed'; then
	notok "package: a tornwatch package is installed here; the test would replace it"
	exit 0
fi
UNIT=/lib/systemd/system/tornwatch@.service
INST=postgresql@15-twtest$$
PROM=/var/lib/prometheus/node-exporter/tornwatch-$INST.prom
INSTALLED=
purge() {
	[ -n "$INSTALLED" ] && dpkg --purge tornwatch >/dev/null 2>&1
	rm -f "$PROM"
}
trap 'purge; cleanup' EXIT

check "package: lintian errors and warnings" 0 \
	"$(grep -cE '^[EW]: ' "$TOP/build/deb/lintian.txt")"
dpkg -i "$DEB" >"$TMPD/dpkg-i.txt" 2>&1
rc=$?
INSTALLED=1
check "package: dpkg -i" 0 $rc
dpkg -L tornwatch | sort >"$TMPD/files"
for f in /usr/sbin/tornwatch /usr/share/man/man8/tornwatch.8.gz \
	/usr/share/bash-completion/completions/tornwatch $UNIT /etc/default/tornwatch \
	/usr/libexec/tornwatch/tornwatch-follow /usr/share/tornwatch/tornwatch.rules.yml \
	/usr/share/tornwatch/tornwatch.schema.json /usr/share/doc/tornwatch/copyright; do
	grep -qxF "$f" "$TMPD/files" && [ -f "$f" ] && ok "package: installs $f" ||
		notok "package: $f not installed"
done
check "package: the installed tornwatch --version" "tornwatch $VERSION" \
	"$(/usr/sbin/tornwatch --version)"
MANWIDTH=80 man -P cat tornwatch >"$TMPD/man.txt" 2>&1
check "package: man tornwatch renders its NAME" 1 "$(grep -cx NAME "$TMPD/man.txt")"

# The bash completion knows every long option of --help, and completes values.
missing=
for o in $(/usr/sbin/tornwatch --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
	grep -qE -- "(^|[[:space:]'])$o([[:space:]=']|$)" \
		/usr/share/bash-completion/completions/tornwatch ||
		missing="$missing $o"
done
check "package: options of --help missing from the completion" "" "$missing"
got=$(bash -c 'source /usr/share/bash-completion/bash_completion
source /usr/share/bash-completion/completions/tornwatch
compopt() { :; }
COMP_WORDS=(tornwatch --check --fail-on split,mo); COMP_CWORD=3
COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
_tornwatch tornwatch split,mo --fail-on; echo "${COMPREPLY[*]}"' 2>&1)
check "package: completion of --fail-on split,mo" "split,modified" "$got"

# A short trace by the installed binary.
mkfs_loop ext4 pkg
/usr/sbin/tornwatch --unit 8k --json "$TMPD/short.json" -- "$WRITER" -s 8k -n 8 -y 1 \
	"$MNT/short" >/dev/null 2>&1
check "package: installed tornwatch traces (exit status)" 0 $?
FS=ext4 expect "package trace" "$TMPD/short.json" units.total=8 units.whole=8

# The unit, as systemd would read it.
systemd-analyze verify "tornwatch@postgresql@15-main.service" >"$TMPD/verify.txt" 2>&1
check "package: systemd-analyze verify tornwatch@postgresql@15-main.service" "0 " \
	"$? $(head -c 300 "$TMPD/verify.txt")"
ln -s "$UNIT" "$TMPD/tornwatch@postgresql@15-main.service"
systemd-analyze security --offline=yes "$TMPD/tornwatch@postgresql@15-main.service" \
	>"$TMPD/security.txt" 2>&1
check "package: systemd-analyze security: exposure (README: Run as a service)" "1.4 OK" \
	"$(sed -n 's/^→ Overall exposure level for .*: \([0-9.]* [A-Z]*\).*/\1/p' "$TMPD/security.txt")"

# Its ExecStart line, with a real PostgreSQL's postmaster as the MainPID.
PGBIN=/usr/lib/postgresql/15/bin
chmod 711 "$TMPD"
RUNDIR=$TMPD/pg && mkdir "$RUNDIR" && chown postgres: "$RUNDIR"
PORT=$((30000 + $$ % 20000))
PGDATA=$MNT/pgdata && mkdir "$PGDATA" && chown postgres: "$PGDATA" && chmod 700 "$PGDATA"
. "$TOP/tests/real/pglib.sh"
as_pg initdb -A trust -U postgres -E UTF8 --locale=C >"$RUNDIR/initdb.log" 2>&1 ||
	notok "package: initdb failed"
cat >>"$PGDATA/postgresql.conf" <<-EOC
	listen_addresses = ''
	unix_socket_directories = '$RUNDIR'
	port = $PORT
	huge_pages = off
EOC
as_pg pg_ctl -l "$RUNDIR/pg.log" -w -t 60 start >"$RUNDIR/pg_ctl.log" 2>&1 ||
	notok "package: the server did not start"
pm=$(head -1 "$PGDATA/postmaster.pid")
mkdir "$TMPD/bin"
cat >"$TMPD/bin/systemctl" <<EOC
#!/bin/sh
# systemctl show --property MainPID --value $INST.service, answered as systemd would
[ "\$*" = "show --property MainPID --value $INST.service" ] && echo $pm && exit 0
echo "stand-in systemctl: unexpected: \$*" >&2
exit 1
EOC
chmod +x "$TMPD/bin/systemctl"
line=$(sed -n 's/^ExecStart=//p' "$UNIT")
line=${line//%i/$INST}
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT" | tr 'A-Z ' 'a-z,')
drop=$(capsh --print | sed -n 's/^Bounding set =//p' | tr ',' '\n' | grep -vxF -e "${caps//,/$'\n'}" -e '' |
	paste -sd,)
(
	set -a
	. /etc/default/tornwatch
	set +a
	TORNWATCH_OPTS="$TORNWATCH_OPTS -v --json $TMPD/svc.json"
	export TORNWATCH_OPTS SYSTEMCTL=$TMPD/bin/systemctl
	exec capsh --drop="$drop" -- -c "exec setpriv --no-new-privs $line"
) >"$TMPD/svc.txt" 2>"$TMPD/svc.err" &
svc=$!
KILLS+=("$svc")
await_tracing "package: the service" "$TMPD/svc.err" "$svc"
check "package: ExecStart runs tornwatch -p MAINPID -f with /etc/default/tornwatch's options" \
	"/usr/sbin/tornwatch -p $pm -f --unit 8k -i 15 --prom $PROM -v --json $TMPD/svc.json" \
	"$(tr '\0' ' ' </proc/$svc/cmdline | sed 's/ $//')"
check "package: its capability bounding set is the unit's" "$caps" \
	"$(capsh --decode="$(awk '/^CapBnd:/ { print $2 }' /proc/$svc/status)" | sed 's/^0x[0-9a-f]*=//' |
		tr ',' '\n' | sort | paste -sd,)"
check "package: no new privileges" 1 "$(awk '/^NoNewPrivs:/ { print $2 }' /proc/$svc/status)"
check "package: the postmaster's children followed" "$(pgrep -P "$pm" | wc -l)" \
	"$(sed -n "s/^tornwatch: pid $pm: \([0-9]*\) descendants traced$/\1/p" "$TMPD/svc.err")"
as_pg bash -c 'createdb tw && pgbench -i -q -s 1 tw && pgbench -n -c 2 -t 100 tw' \
	>"$RUNDIR/bench.out" 2>&1
check "package: pgbench processed its transactions" "200/200" \
	"$(sed -n 's/^number of transactions actually processed: //p' "$RUNDIR/bench.out")"
kill -INT "$svc"	# the unit's KillSignal
wait "$svc"
check "package: tornwatch exit status after SIGINT" 0 $?
# What the service printed and wrote (README: Run as a service quotes them).
grep -E '^tornwatch: (pid|tracing)' "$TMPD/svc.err" | head -n 4 | sed 's/^/# service stderr: /'
grep -E '^tornwatch_(report_timestamp_seconds|lost_events_total) |^tornwatch_units_total\{' "$PROM" |
	head -n 4 | sed 's/^/# textfile: /'
FS=ext4 expect "package service" "$TMPD/svc.json" units.untracked=0
[ "$(jget "$TMPD/svc.json" units.total)" -gt 0 ] && ok "package: the service traced units" ||
	notok "package: the service traced no unit"
check "package: the textfile's units equal the JSON report's" \
	"$(jget "$TMPD/svc.json" units.total)" \
	"$(awk '/^tornwatch_units_total\{/ { n += $2 } END { print n + 0 }' "$PROM" 2>/dev/null)"
pg_stop
rm -f "$PROM"

# Removal: dpkg -r keeps only the conffile; --purge takes it too.
dpkg -r tornwatch >"$TMPD/dpkg-r.txt" 2>&1
check "package: dpkg -r" 0 $?
left=
while read -r f; do
	[ "$f" = /etc/default/tornwatch ] && continue
	[ -d "$f" ] && continue	# directories (/lib a link to usr/lib) are others' too
	[ -f "$f" ] || [ -L "$f" ] && left="$left $f"
done <"$TMPD/files"
check "package: files left after dpkg -r (but the conffile)" "" "$left"
check "package: dpkg -r keeps the conffile" yes "$([ -f /etc/default/tornwatch ] && echo yes)"
dpkg --purge tornwatch >"$TMPD/dpkg-p.txt" 2>&1
check "package: dpkg --purge" 0 $?
INSTALLED=
check "package: the conffile gone after --purge" no "$([ -e /etc/default/tornwatch ] && echo yes || echo no)"
check "package: dpkg knows no tornwatch" "" \
	"$(dpkg-query -W -f='${Status}' tornwatch 2>/dev/null | grep -o 'ok installed')"
check_no_leftover_bpf "package"
