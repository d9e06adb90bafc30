#!/usr/bin/env bash
# Are the BPF objects the same program after a move of BPF source (a split, a rename, code moved
# between files)? Compares each build/NAME.bpf.o with a copy saved before the move, and their
# skeletons, fact by fact (tests/bpfsame.py says what a fact is):
#   - data sections (.rodata, .data, license, .maps): sizes and bytes; .bss: size
#   - symbols: every function and object, its section, offset and size
#   - maps: type, key and value sizes, max_entries, flags; global variables: section and type
#   - func_info and CO-RE relocations (type and access string, by type name, not BTF number)
#   - the instructions and relocations of every code section (llvm-objdump), by section name
#   - the skeleton's API: the maps, programs, links and variables user/ can name
#     (.text a subprogram at a time; a callback's address by the subprogram's name)
# Left out, since they cannot change what the kernel runs: line info, BTF type numbering, the
# order of code sections in the file (programs then load and attach in another order; each
# is verified on its own) and of subprograms in .text (libbpf copies each subprogram after
# every program that uses it, in the order the program refers to it). Those orders are
# printed, as "# note" lines, when they differ.
#
#   tests/bpfsame.sh save [DIR]    build the BPF objects and skeletons; keep copies in DIR
#   tests/bpfsame.sh [check] [DIR] build them again; compare each with its copy in DIR
#   tests/bpfsame.sh A.o B.o       compare two objects
# DIR defaults to /tmp/tw-bpfsame. Exit status 0 when every object is the same.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
OUT=${OUT:-build}
tmp=$(mktemp -d /tmp/tw-bpfsame.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

objects() {
	sed -n 's/^BPF_PROGS := //p' Makefile
}

build() {
	local targets=() p
	for p in $(objects); do
		targets+=("$OUT/$p.bpf.o" "$OUT/$p.skel.h")
	done
	make -s "${targets[@]}" >&2
}

# skel_api SKEL: the declarations of the skeleton's struct, each with the block it sits in;
# sorted, so that an order that changed (see "# note") does not count.
skel_api() {
	awk '/^struct [a-z_0-9]+ \{$/ { on = 1 } on { print } on && /^};$/ { exit }' "$1" |
		awk '/\{$/ { path[++d] = $0; next } /^\t*\}/ { p = ""; for (i = 2; i <= d; i++)
		     p = p path[i] "/"; print p $0; d--; next } { p = ""; for (i = 2; i <= d; i++)
		     p = p path[i] "/"; print p $0 }' | sed 's/\t//g' | sort
	grep '_Static_assert' "$1" | sort
}

fail=0
# same WHAT BEFORE AFTER: ok when the two descriptions match; the first differences otherwise.
same() {
	if cmp -s "$2" "$3"; then
		echo "ok - $1"
	else
		echo "not ok - $1"
		diff "$2" "$3" | head -n 40 | sed 's/^/#   /'
		fail=1
	fi
}

# count PATTERN FILE: lines of FILE that match
count() {
	grep -c "$1" "$2"
}

# compare_obj NAME BEFORE.o AFTER.o
compare_obj() {
	local name=$1 f x
	for x in a b; do
		[ $x = a ] && f=$2 || f=$3
		python3 tests/bpfsame.py "$f" >"$tmp/$name.$x" ||
			{ echo "not ok - $name: cannot read $f"; fail=1; return; }
		# The last part, the order of code sections and subprograms, is only reported.
		sed '/^== code sections in file order/,$d' "$tmp/$name.$x" >"$tmp/$name.$x.cmp"
		sed -n '/^== code sections in file order/,$p' "$tmp/$name.$x" >"$tmp/$name.order.$x"
	done
	f=$tmp/$name.a.cmp
	same "$name: data, symbols, maps, variables, CO-RE relocations, code ($(count '^section [^.]' \
"$f") programs, $(count '^section \.text ' "$f") subprograms, $(count '^map ' "$f") maps, \
$(count '^var ' "$f") variables, $(count '^core_relo ' "$f") CO-RE relocations)" \
		"$tmp/$name.a.cmp" "$tmp/$name.b.cmp"
	if ! cmp -s "$tmp/$name.order.a" "$tmp/$name.order.b"; then
		echo "# note: $name: code sections or subprograms in another order (load and attach" \
			"order; libbpf appends subprograms to each program in the order it calls them):"
		diff "$tmp/$name.order.a" "$tmp/$name.order.b" | grep '^[<>]' | sed 's/^/#   /'
	fi
}

# compare_skel NAME BEFORE.skel.h AFTER.skel.h
compare_skel() {
	skel_api "$2" >"$tmp/$1.skel.a"
	skel_api "$3" >"$tmp/$1.skel.b"
	same "$1: skeleton API ($(grep -c 'struct bpf_program \*' "$2") program fields, \
$(grep -c 'struct bpf_map \*' "$2") map fields, variables and their sizes)" \
		"$tmp/$1.skel.a" "$tmp/$1.skel.b"
	if ! diff -q <(awk '/^struct [a-z_0-9]+ \{$/,/^};$/' "$2") \
		<(awk '/^struct [a-z_0-9]+ \{$/,/^};$/' "$3") >/dev/null; then
		echo "# note: $1: the skeleton's fields in another order (names unchanged)"
	fi
}

mode=${1:-check}
[ $# -eq 1 ] && [ -d "$1" ] && set -- check "$1" && mode=check
case "$mode" in
save)
	dir=${2:-/tmp/tw-bpfsame}
	build || exit 1
	mkdir -p "$dir"
	for p in $(objects); do
		cp "$OUT/$p.bpf.o" "$OUT/$p.skel.h" "$dir/" || exit 1
	done
	echo "saved $(objects | wc -w) objects and skeletons in $dir"
	exit 0
	;;
check)
	dir=${2:-/tmp/tw-bpfsame}
	build || exit 1
	for p in $(objects); do
		if [ ! -f "$dir/$p.bpf.o" ]; then
			echo "not ok - $p: no $dir/$p.bpf.o (tests/bpfsame.sh save $dir, before the move)"
			fail=1
			continue
		fi
		compare_obj "$p" "$dir/$p.bpf.o" "$OUT/$p.bpf.o"
		[ -f "$dir/$p.skel.h" ] && compare_skel "$p" "$dir/$p.skel.h" "$OUT/$p.skel.h"
	done
	;;
*)
	[ $# -eq 2 ] || { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
	compare_obj "$(basename "$1" .bpf.o)" "$1" "$2"
	;;
esac
exit $fail
