#!/usr/bin/env bash
# The layout rules of docs/design.md, checked: no source file of user/ or bpf/ over 600 lines,
# no function there over 80 lines (a function: a line that starts a definition at column 0,
# to its closing brace at column 0; tables are data, not functions, and are not seen), and
# each file opens with a comment saying what it owns. Needs no root.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
MAX_LINES=${MAX_LINES:-600} MAX_FUNC=${MAX_FUNC:-80}
files=$(git ls-files 'user/*.[ch]' 'bpf/*.[ch]' 2>/dev/null || find user bpf -name '*.[ch]')
long=0 big=0 bare=0
for f in $files; do
	n=$(wc -l <"$f")
	if [ "$n" -gt "$MAX_LINES" ]; then
		echo "not ok - layout: $f has $n lines (at most $MAX_LINES: split it by concern)"
		big=$((big + 1))
	fi
	# the first comment within the first 3 lines (after an SPDX line)
	if ! head -n 3 "$f" | grep -q '^/\*'; then
		echo "not ok - layout: $f does not open with a comment saying what it owns"
		bare=$((bare + 1))
	fi
	while read -r len name; do
		echo "not ok - layout: $f: $name is $len lines (at most $MAX_FUNC: name its steps)"
		long=$((long + 1))
	done < <(awk -v max="$MAX_FUNC" '
		/^[a-zA-Z_].*\(/ && !/;[[:space:]]*$/ && !/^(struct|enum|union)[^(]*$/ { name = $0; start = NR }
		/^}/ && start { if (NR - start > max) { sub(/\(.*/, "", name); print NR - start, name } start = 0 }' "$f")
done
# Scripts are run as commands (tests/run.sh runs each suite directly): a tracked file that
# opens with #! is executable in git, or a fresh clone cannot run it.
noexec=0
while read -r mode f; do
	if [ "$mode" != 100755 ] && head -c 2 "$f" 2>/dev/null | grep -q '^#!'; then
		echo "not ok - layout: $f opens with #! but is not executable in git (chmod +x, git add)"
		noexec=$((noexec + 1))
	fi
done < <(git ls-files -s 2>/dev/null | awk '{ print $1, $4 }')
[ $noexec -eq 0 ] && echo "ok - layout: every script that opens with #! is executable"
[ $big -eq 0 ] && echo "ok - layout: no file of user/ or bpf/ over $MAX_LINES lines"
[ $long -eq 0 ] && echo "ok - layout: no function of user/ or bpf/ over $MAX_FUNC lines"
[ $bare -eq 0 ] && echo "ok - layout: every file of user/ and bpf/ opens with a comment"
echo "# layout: $(echo "$files" | wc -w) files"
