#!/usr/bin/env bash
# Install the Debian packages tornwatch needs; does nothing when all are present.
#   deps.sh demo    what make demo needs: the build and the demo's own tools
#   deps.sh         everything: make test's suites too (PostgreSQL, fio, bpftrace, qemu, ...)
set -euo pipefail

# The build (make) and make demo: a loop device with ext4, a FUSE hold, xfs_io.
demo=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make gcc
      e2fsprogs xfsprogs util-linux python3 fuse3 libfuse3-dev)
# The tests' peers and tools.
tests=(groff-base mandoc man-db python3-jsonschema prometheus-node-exporter prometheus
       postgresql fio bpftrace libbpf-tools valgrind
       libclang-rt-14-dev	# libFuzzer and the sanitizers' runtime: make fuzz
       debhelper lintian fakeroot bash-completion systemd libcap2-bin file binutils # make deb, its test
       qemu-system-x86 busybox-static kmod xz-utils)	# the last line: make vmtest
case ${1:-all} in
demo) pkgs=("${demo[@]}") ;;
all) pkgs=("${demo[@]}" "${tests[@]}") ;;
*) echo "deps: unknown set '$1'; give demo, or nothing for all" >&2; exit 2 ;;
esac
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run 'sudo make deps'" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
