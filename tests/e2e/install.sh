#!/usr/bin/env bash
# make install: the binary, the man page, the alert rules and the JSON schema land under
# DESTDIR/PREFIX with their modes, the installed binary runs, and the page renders without a
# single groff or mandoc warning.
# Needs make, groff-base (groff), mandoc and man-db (man); not root.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

ROOT="$TMPD/root"
BIN="$ROOT/usr/sbin/tornwatch"
PAGE="$ROOT/usr/share/man/man8/tornwatch.8"

# quiet NAME CMD...: the command exits 0 and prints nothing, on stdout or stderr.
quiet() {
	local name=$1 rc
	shift
	if ! command -v "$1" >/dev/null; then
		notok "$name: $1 is not installed"
		return
	fi
	"$@" >"$TMPD/quiet.out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && [ ! -s "$TMPD/quiet.out" ]; then
		ok "$name"
	else
		notok "$name: exit $rc, $(wc -l <"$TMPD/quiet.out") line(s): $(head -n 1 "$TMPD/quiet.out")"
	fi
}

make -C "$TOP" install DESTDIR="$ROOT" PREFIX=/usr >"$TMPD/make.out" 2>&1
rc=$?
check "install: make install DESTDIR PREFIX=/usr exit status" 0 $rc
[ $rc -eq 0 ] || sed 's/^/# /' "$TMPD/make.out"

# The binary.
[ -f "$BIN" ] && ok "install: usr/sbin/tornwatch exists" || notok "install: no usr/sbin/tornwatch"
[ -x "$BIN" ] && ok "install: binary is executable" || notok "install: binary not executable"
check "install: binary mode" 755 "$(stat -c %a "$BIN" 2>/dev/null)"
version=$("$BIN" --version 2>"$TMPD/version.err")
check "install: --version exit status" 0 $?
if [[ $version =~ ^tornwatch\ [0-9]+\.[0-9]+\.[0-9]+$ ]]; then
	ok "install: --version prints '$version'"
else
	notok "install: --version prints '$version', not 'tornwatch X.Y.Z'"
fi

# The alert rules and the JSON schema, as in the source.
for f in tornwatch.rules.yml tornwatch.schema.json; do
	check "install: usr/share/tornwatch/$f mode" 644 \
		"$(stat -c %a "$ROOT/usr/share/tornwatch/$f" 2>/dev/null)"
	cmp -s "$TOP/docs/$f" "$ROOT/usr/share/tornwatch/$f" &&
		ok "install: usr/share/tornwatch/$f is docs/$f" ||
		notok "install: usr/share/tornwatch/$f differs from docs/$f"
done

# The man page.
[ -f "$PAGE" ] && ok "install: usr/share/man/man8/tornwatch.8 exists" ||
	notok "install: no usr/share/man/man8/tornwatch.8"
check "install: man page mode" 644 "$(stat -c %a "$PAGE" 2>/dev/null)"
th_version=$(sed -n 's/^\.TH .*"\(tornwatch [0-9.]*\)".*/\1/p' "$PAGE" 2>/dev/null)
check "install: man page .TH names the binary's version" "$version" "$th_version"

command -v man >/dev/null || notok "install: man is not installed"
MANWIDTH=80 man -l "$PAGE" >"$TMPD/man.txt" 2>"$TMPD/man.err"
check "install: man -l renders the page (exit status)" 0 $?
for section in NAME SYNOPSIS "EXIT STATUS" EXAMPLES; do
	grep -qx "$section" "$TMPD/man.txt" && ok "install: man page has $section" ||
		notok "install: man page lacks the section $section"
done
quiet "install: groff -man -ww -z prints nothing" groff -man -ww -z "$PAGE"
quiet "install: mandoc -T lint prints nothing" mandoc -T lint "$PAGE"

# --help ends with its examples (the last unindented line is their heading), which show
# -p, --check and --prom.
"$BIN" --help >"$TMPD/help" 2>"$TMPD/help.err"
heading=$(grep -n '^[^[:space:]]' "$TMPD/help" | tail -n 1)
case ${heading#*:} in
EXAMPLES | EXAMPLES: | Examples:) ok "install: --help ends with an examples block" ;;
*) notok "install: --help's last block is '${heading#*:}', not EXAMPLES" ;;
esac
tail -n +$((${heading%%:*} + 1)) "$TMPD/help" >"$TMPD/examples"
for opt in -p --check --prom; do
	grep -qE -- "(^|[[:space:]])$opt([[:space:]]|$)" "$TMPD/examples" &&
		ok "install: --help examples use $opt" ||
		notok "install: --help examples do not use $opt"
done
