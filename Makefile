# tornwatch: clang -> .bpf.o -> bpftool gen skeleton -> one binary with the BPF objects embedded.
# 'make V=1' for loud builds.

ARCH ?= x86
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= gcc
OUT := build
TW_BIN := tornwatch
# 'make SAN=1': the same build with ASan and UBSan, in its own folder so build/ and ./tornwatch
# stay as they are; any report aborts (tests/e2e/sanitize.sh).
ifeq ($(SAN),1)
OUT := build-san
TW_BIN := $(OUT)/tornwatch
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
# 'make FLOOR=1': tornwatch with every BPF program returning at once, in build-floor/: what the
# hooks cost before any work (bench/compare.sh's "floor" column). Never a trace.
ifeq ($(FLOOR),1)
OUT := build-floor
TW_BIN := $(OUT)/tornwatch
BENCH_FLAGS := -DTW_BENCH_FLOOR
endif
# 'make NOREC=1': tornwatch whose records go to a per-CPU scratch, not the ring buffer, in
# build-norec/: what its programs' work costs apart from the records (compare.sh's "norec").
ifeq ($(NOREC),1)
OUT := build-norec
TW_BIN := $(OUT)/tornwatch
BENCH_FLAGS := -DTW_BENCH_NOREC
endif
VMLINUX := vmlinux/$(ARCH)/vmlinux.h
VERSION := 0.1.0

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS ?= -O2 -g
# user/ has a folder per room (lib, engine, report, kernel: docs/design.md); headers are
# included by their bare names.
USER_INC := -Iuser -Iuser/lib -Iuser/engine -Iuser/report -Iuser/kernel
CFLAGS += -Wall -Wextra -Wno-unused-parameter -Werror -std=gnu11 -D_GNU_SOURCE -MMD -MP \
	  -I$(OUT) -Ibpf $(USER_INC) -DTW_VERSION='"$(VERSION)"' $(SAN_FLAGS) $(BENCH_FLAGS)
BPF_CFLAGS := -O2 -g -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -I$(dir $(VMLINUX)) -Ibpf -MMD -MP $(BENCH_FLAGS)
LDLIBS := -lbpf -lelf -lz

BPF_PROGS := tornwatch stablepage
BPF_OBJS := $(patsubst %,$(OUT)/%.bpf.o,$(BPF_PROGS))
SKELS := $(patsubst %,$(OUT)/%.skel.h,$(BPF_PROGS))

# Live: libbpf, the kernel (user/kernel/, but for the pure devfacts.c) and main(). Pure
# logic, everything else under user/: no libbpf, unit-tested without root.
LIVE_SRCS := user/tornwatch.c $(addprefix user/kernel/,tracer.c probe.c enrich.c filefacts.c follow.c \
	     libbpf_log.c ksyms.c devsysfs.c)
PURE_SRCS := $(filter-out $(LIVE_SRCS),$(wildcard user/*.c user/*/*.c))
PURE_OBJS := $(patsubst user/%.c,$(OUT)/%.o,$(PURE_SRCS))
LIVE_OBJS := $(patsubst user/%.c,$(OUT)/%.o,$(LIVE_SRCS))

UNIT_TESTS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(wildcard tests/unit/test_*.c))

# libFuzzer targets: tests/fuzz/ (rules below)
FUZZ_OUT := $(OUT)/fuzz
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	       -fno-sanitize-recover=all -Wall -Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE \
	       -Ibpf $(USER_INC) -DTW_VERSION='"$(VERSION)"'
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(FUZZ_OUT)/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_OBJS := $(patsubst user/%.c,$(FUZZ_OUT)/%.o,$(PURE_SRCS))
.SECONDARY: $(FUZZ_OBJS)

.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJS)
.PHONY: all deps deps-demo clean test unit-test fuzz fuzz-build e2e-test demo bench compare bench-builds static deb vmlinux install \
	vmtest san

all: $(TW_BIN) $(OUT)/writer
ifeq ($(SAN),1)
all: $(UNIT_TESTS) $(OUT)/gen_records
endif

# What tests/e2e/sanitize.sh runs, built by a second make in build-san/.
san:
	$(Q)$(MAKE) --no-print-directory SAN=1

deps:
	$(Q)./scripts/deps.sh

# What make demo needs and no more (make deps: the tests' peers too).
deps-demo:
	$(Q)./scripts/deps.sh demo

$(OUT) $(OUT)/tests:
	$(Q)mkdir -p $@

# One object per bpf/NAME.bpf.c; tornwatch.bpf.c #includes its stages (bpf/stage/*.bpf.h), which
# -MMD lists in build/NAME.bpf.d. tests/bpfsame.sh: the objects before and after moving BPF code.
$(OUT)/%.bpf.o: bpf/%.bpf.c $(VMLINUX) | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(LIVE_OBJS): $(SKELS)

$(OUT)/%.o: user/%.c | $(OUT)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(TW_BIN): $(PURE_OBJS) $(LIVE_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# 'make static': the same objects linked with Debian's static libbpf, libelf and zlib (and
# glibc): build/static/tornwatch runs on a host with none of them (tests/e2e/static.sh).
STATIC_BIN := $(OUT)/static/tornwatch
static: $(STATIC_BIN)

$(STATIC_BIN): $(PURE_OBJS) $(LIVE_OBJS)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -static $^ $(LDLIBS) -o $@

# The ground-truth writer used by tests, the demo and the benchmark.
$(OUT)/writer: tests/writer.c tests/writer_uring.c tests/writer_stamp.c tests/writer.h | $(OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) tests/writer.c tests/writer_uring.c tests/writer_stamp.c -lz -o $@

# The record builders the unit tests share (tests/unit/fixture.c), linked into each.
TEST_FIXTURE := $(OUT)/tests/fixture.o
$(TEST_FIXTURE): tests/unit/fixture.c | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit -c $< -o $@

$(OUT)/tests/%: tests/unit/%.c $(TEST_FIXTURE) $(PURE_OBJS) | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(TEST_FIXTURE) $(PURE_OBJS) $(TEST_LDFLAGS) -o $@

# test_nomem fails the engine's allocations one by one: it wraps calloc and realloc.
$(OUT)/tests/test_nomem: TEST_LDFLAGS := -Wl,--wrap=calloc,--wrap=realloc

# The FUSE filesystem that holds writes in flight, for tests of pages under writeback.
# With --log it records what the "device" received (tests/fusehold_log.c), for tests/crash/.
$(OUT)/fusehold: tests/fusehold.c tests/fusehold_log.c tests/fusehold_log.h | $(OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(shell pkg-config --cflags fuse3) tests/fusehold.c tests/fusehold_log.c \
		$(shell pkg-config --libs fuse3) -lz -o $@

# A command run as the process with a chosen pid, for tests of pid reuse (tests/e2e/exits.sh).
$(OUT)/withpid: tests/withpid.c | $(OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

# Synthetic records holding every verdict, replayed by tests/e2e/schema.sh.
$(OUT)/gen_records: tests/gen_records.c $(PURE_OBJS) | $(OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(PURE_OBJS) -o $@

# The unit tests and the golden replays (tests/golden/: ./tornwatch --replay, no root).
unit-test: $(UNIT_TESTS) $(TW_BIN)
	$(Q)./tests/run.sh --unit-only

# Everything: unit tests, CLI smoke, end-to-end on ext4 and XFS. Needs root.
test: deps all $(UNIT_TESTS) $(OUT)/fusehold $(OUT)/gen_records $(OUT)/withpid $(OUT)/vm/modtp \
      $(FUZZ_TARGETS) san bench-builds $(STATIC_BIN) deb
	$(Q)./tests/run.sh

# The CLI smoke and core tests again on Debian's 6.1 and 6.12 kernels, each booted under qemu
# (TCG: no KVM needed) with this machine's root shared read-only (tests/vm/). make test runs it.
vmtest: deps all $(OUT)/vm/modtp $(STATIC_BIN)
	$(Q)./tests/vm/vmtest.sh 6.1 6.12

# tests/vm/modtp: libbpf's tp_btf on a module's tracepoint (XFS is a module in the guests).
$(OUT)/vm:
	$(Q)mkdir -p $@

$(OUT)/vm/modtp.bpf.o: tests/vm/modtp.bpf.c $(VMLINUX) | $(OUT)/vm
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/vm/modtp.skel.h: $(OUT)/vm/modtp.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name modtp_bpf > $@

$(OUT)/vm/modtp: tests/vm/modtp.c $(OUT)/vm/modtp.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(OUT)/vm $< $(LDLIBS) -o $@

demo: deps-demo all $(OUT)/fusehold
	$(Q)./tests/demo.sh

bench: deps all
	$(Q)./bench/overhead.sh

# The benchmark's own builds (bench/compare.sh's floor and norec columns; tests/e2e/benchbuilds.sh
# checks each is what it says), each a second make in its own folder.
bench-builds:
	$(Q)$(MAKE) --no-print-directory FLOOR=1 build-floor/tornwatch
	$(Q)$(MAKE) --no-print-directory NOREC=1 build-norec/tornwatch

# tornwatch beside bpftrace (bench/join.bt) and libbpf-tools' biolatency, pgbench included.
compare: deps all bench-builds
	$(Q)./bench/compare.sh

# libFuzzer targets (tests/fuzz/): the record reader and tracker (--replay), the option
# parser. Built with clang's ASan and UBSan; 'make fuzz' runs each for a bounded time.

$(FUZZ_OUT):
	$(Q)mkdir -p $@

$(FUZZ_OUT)/%.o: user/%.c | $(FUZZ_OUT)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS)
	$(call msg,LINK-FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJS) -o $@

fuzz-build: $(FUZZ_TARGETS)

fuzz: deps $(FUZZ_TARGETS)
	$(Q)./tests/fuzz/run.sh

# Regenerate the checked-in vmlinux.h from the running kernel's BTF.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX)

# 'make install PREFIX=/usr DESTDIR=/tmp/pkg' for packaging; PREFIX defaults to /usr/local.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/tornwatch
DATA := docs/tornwatch.rules.yml docs/tornwatch.schema.json
LIBEXECDIR ?= $(PREFIX)/libexec/tornwatch
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
install: tornwatch docs/tornwatch.8 $(DATA) dist/tornwatch-follow dist/tornwatch.bash-completion
	$(call msg,INSTALL,$(DESTDIR)$(SBINDIR)/tornwatch)
	$(Q)install -d -m 0755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DATADIR)
	$(Q)install -m 0755 tornwatch $(DESTDIR)$(SBINDIR)/tornwatch
	$(call msg,INSTALL,$(DESTDIR)$(MANDIR)/man8/tornwatch.8)
	$(Q)install -m 0644 docs/tornwatch.8 $(DESTDIR)$(MANDIR)/man8/tornwatch.8
	$(call msg,INSTALL,$(DESTDIR)$(DATADIR)/ (the alert rules, the JSON schema))
	$(Q)install -m 0644 $(DATA) $(DESTDIR)$(DATADIR)/
	$(call msg,INSTALL,$(DESTDIR)$(LIBEXECDIR)/tornwatch-follow (what tornwatch@.service runs))
	$(Q)install -d -m 0755 $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(COMPLETIONDIR)
	$(Q)sed 's|/usr/sbin/tornwatch|$(SBINDIR)/tornwatch|' dist/tornwatch-follow \
		>$(DESTDIR)$(LIBEXECDIR)/tornwatch-follow
	$(Q)chmod 0755 $(DESTDIR)$(LIBEXECDIR)/tornwatch-follow
	$(call msg,INSTALL,$(DESTDIR)$(COMPLETIONDIR)/tornwatch)
	$(Q)install -m 0644 dist/tornwatch.bash-completion $(DESTDIR)$(COMPLETIONDIR)/tornwatch

# 'make deb': the Debian package, built the Debian way (debian/: debhelper) from a copy of
# the source in build/deb/ (the tree stays clean); lintian's verdict in build/deb/lintian.txt.
DEB_DIR := build/deb
DEB := $(DEB_DIR)/tornwatch_$(VERSION)_amd64.deb
deb:
	$(Q)rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/tornwatch-$(VERSION)
	$(Q)git ls-files -z --cached --others --exclude-standard | \
		tar --null --ignore-failed-read -T - -cf - | tar -xf - -C $(DEB_DIR)/tornwatch-$(VERSION)
	$(call msg,DEB,$(DEB))
	$(Q)cd $(DEB_DIR)/tornwatch-$(VERSION) && dpkg-buildpackage -us -uc -b >../build.log 2>&1 || \
		{ tail -n 30 ../build.log; exit 1; }
	$(Q)lintian --info --display-info --pedantic $(DEB_DIR)/*.changes >$(DEB_DIR)/lintian.txt 2>&1; \
		cat $(DEB_DIR)/lintian.txt

clean:
	$(Q)rm -rf $(OUT) $(TW_BIN) build-san build-floor build-norec

-include $(wildcard $(OUT)/*.d $(OUT)/*/*.d $(OUT)/tests/*.d $(OUT)/vm/*.d $(FUZZ_OUT)/*.d \
	$(FUZZ_OUT)/*/*.d)
