# hsmgroup top-level Makefile: one idea per target.
#   make            module + userspace        make check   every test tier
#   make demo       the main job in a VM      make style   checkpatch + clang-format
#   make bench      performance (docs/perf.md) make fuzz    longer fuzzing runs (host, guest)
#   make check-fresh  the README on a debootstrapped Debian 12 root
#   make check-kernels  the module on every Debian 12 kernel (check-kernels-all: 3 booted)
# Fragments (*/build.mk): each builds one library (lib/*) or program from
# the libraries it names, and adds itself to the lists below.

KDIR ?= $(shell scripts/kdir)
B := build
CC ?= gcc
CFLAGS ?= -O2 -g
HOST_CFLAGS := $(CFLAGS) -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter \
	-Wshadow -Wformat=2 -Werror=implicit-function-declaration -fstack-protector-strong \
	-Iuapi $(EXTRA_CFLAGS)
HOST_LDFLAGS := $(LDFLAGS) $(EXTRA_LDFLAGS)
# make install: where the fragments install their parts.
PREFIX ?= /usr/local
DESTDIR ?=

# Libraries (lib/*/build.mk): position-independent objects with hidden
# symbols in one archive each, linked into programs and into the PKCS#11
# module alike.
LIB_PIC := -fPIC -fvisibility=hidden
AR ?= ar
LIB_AR = @rm -f $@; $(AR) rcs $@ $^

# Filled by the fragments.
USER_BINS :=
TEST_BINS :=
UNIT_TESTS :=

.PHONY: all module user tests deps check check-host check-vm unit demo style clean install dkms-install
.PHONY: uninstall dkms-src dkms-uninstall check-dkms check-install
.PHONY: check-asan check-valgrind check-fuzz check-bench check-hsmp11d check-store-pg fuzz fuzz-host \
	fuzz-vm bench
.PHONY: bench-store bench-p11 check-hsmp11d-vm
.PHONY: check-crash lint
all: module user tests

deps:
	@scripts/install-deps --if-missing

# The fragments compute their compiler flags with pkg-config and the kernel
# build directory with scripts/kdir when make reads them, so the Debian
# packages must be there before they are read, whatever the first command
# typed on a fresh machine is: before reading them, make runs
# scripts/install-deps (its output goes to the terminal) unless $(DEPS_STAMP)
# is newer than it, and stops there with one line when that fails (not root).
# Goals that need no package skip this.
DEPS_STAMP := $(B)/.deps-installed
NO_DEPS_GOALS := clean dkms-uninstall uninstall
ifneq ($(MAKECMDGOALS),)
ifeq ($(filter-out $(NO_DEPS_GOALS),$(MAKECMDGOALS)),)
HSMG_SKIP_DEPS := 1
endif
endif
ifndef HSMG_SKIP_DEPS
ifneq ($(shell [ $(DEPS_STAMP) -nt scripts/install-deps ] && echo y),y)
$(shell scripts/install-deps --if-missing >&2)
ifneq ($(.SHELLSTATUS),0)
$(error the Debian packages above are needed first (scripts/install-deps))
endif
$(shell mkdir -p $(B) && touch $(DEPS_STAMP))
endif
endif

ifneq ($(HSMG_SKIP_DEPS)$(wildcard $(DEPS_STAMP)),)
# Libraries first, each after those it needs; then the programs.
include lib/log/build.mk lib/msg/build.mk lib/client/build.mk lib/store/build.mk \
	lib/card/build.mk lib/provider/build.mk
include libp11shim/build.mk
include $(sort $(wildcard tools/*/build.mk))
# Then what several test tiers link (tests/lib: the shell harness, the
# PKCS#11 loader; the kselftest harness and fixture; the mock card of the
# unit tests), then the tiers.
TEST_SHARED_MK := tests/lib/build.mk tests/kselftest/build.mk tests/shim/build.mk
include $(TEST_SHARED_MK)
include $(filter-out $(TEST_SHARED_MK),$(sort $(wildcard tests/*/build.mk)))
endif

module: | deps
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

user: $(USER_BINS) | deps
tests: $(TEST_BINS) $(UNIT_TESTS) fuzz-bins | deps

$(B)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -MMD -MP -c -o $@ $<

unit: $(UNIT_TESTS)
	@scripts/run-unit $(UNIT_TESTS)

# The unit tests again, under ASan+UBSan (in $(B)/asan) and under valgrind.
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
check-asan:
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	HSMG_SHIM_SO=$(B)/asan/hsmgroup-pkcs11.so \
	$(MAKE) --no-print-directory B=$(B)/asan EXTRA_CFLAGS="$(SAN_FLAGS)" EXTRA_LDFLAGS="$(SAN_FLAGS)" unit

VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
check-valgrind: $(UNIT_TESTS)
	@CK_FORK=no HSMG_UNIT_WRAPPER="$(VALGRIND)" scripts/run-unit $(UNIT_TESTS)

# libFuzzer targets (tests/fuzz): FUZZ_SECONDS each by `make fuzz`, bounded in check.
FUZZ_SECONDS ?= 300
FUZZ_CHECK_SECONDS ?= 15
fuzz: fuzz-host fuzz-vm
fuzz-host: fuzz-bins
	@B=$(B) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run

# The kernel fuzzers in the test guest, long (docs/reliability.md, section 1):
# FUZZ_VM_CALLS ioctl calls (or FUZZ_VM_SECONDS) in FUZZ_VM_ROUNDS rounds with
# an unload after each, then FUZZ_NL_MESSAGES malformed netlink messages.
# Short rounds keep the rate up (about 1,000 calls/s in a round's first half
# minute, 200/s over an 18-minute round): the default takes about 25 minutes.
FUZZ_VM_CALLS ?= 1200000
FUZZ_VM_SECONDS ?= 2400
FUZZ_VM_ROUNDS ?= 40
FUZZ_VM_SEED ?= $(shell date +%s)
FUZZ_NL_MESSAGES ?= 100000
fuzz-vm: all
	HSMG_FUZZ_SEED=$(FUZZ_VM_SEED) HSMG_FUZZ_CALLS=$(FUZZ_VM_CALLS) \
		HSMG_FUZZ_SECONDS=$(FUZZ_VM_SECONDS) HSMG_FUZZ_ROUNDS=$(FUZZ_VM_ROUNDS) \
		scripts/vm --timeout $$(($(FUZZ_VM_SECONDS) + 300)) -- tests/fuzz/run-vm
	scripts/vm --cards 1 --timeout 1800 -- $(B)/tests/hsmg-nlfuzz \
		--iterations $(FUZZ_NL_MESSAGES) --seed $(FUZZ_VM_SEED)
check-fuzz: fuzz-bins
	@B=$(B) FUZZ_SECONDS=$(FUZZ_CHECK_SECONDS) FUZZ_SEED=1 tests/fuzz/run

# hsmg-bench against SoftHSM: every op runs, counts errors, sane percentiles.
check-bench: $(B)/hsmg-bench
	@tests/bench/run

# dkms-install/dkms-uninstall in a temporary DKMS tree against the installed headers.
check-dkms: module
	@tests/dkms/run

# hsmp11d's configuration and tokens (SoftHSM tokens as members) on the host.
check-hsmp11d: $(B)/hsmp11d
	@tests/hsmp11d/run-host

# The group of three hsmp11d members under faults, in the test guest.  Not in
# check-vm yet: 1 of its first 5 runs had one failed client operation during a
# fault (cause not found yet; the tier now prints the failed round and the
# members' log lines).
check-hsmp11d-vm: all
	@scripts/vm --timeout 900 -- tests/hsmp11d/run

# make install and make uninstall into a DESTDIR, with both PREFIXes.
check-install: user
	@tests/install/run

# Token store crash consistency: writers killed with SIGKILL (tests/crash/run),
# on SQLite and on PostgreSQL.
check-crash: $(B)/tests/hsmg-storewriter
	@tests/crash/run
	@HSMG_CRASH_STORE=postgresql tests/crash/run

# The module's unit tests again with the token store on PostgreSQL.
check-store-pg: $(SHIM_TEST_BINS) $(B)/hsmgroupctl $(B)/tests/hsmg-storewriter
	@tests/store/run-shim $(SHIM_TEST_BINS)
	@tests/store/migrate.sh

# Static analysis: sparse, checkpatch, clang-tidy, cppcheck (scripts/lint, ~1-2 min).
lint: | deps
	@scripts/lint

check-host: unit check-asan check-valgrind check-fuzz check-bench check-hsmp11d check-dkms \
	check-install check-crash check-store-pg lint

check-vm: all
	@tests/run-vm

check: check-host check-vm

# The module against every Debian 12 kernel in the archive (headers unpacked
# into a cache), and the kselftest, failover and chaos tiers booted on the
# newest 6.12 PREEMPT_RT kernel (tests/kernels/run; in CI); check-kernels-all
# boots the oldest 6.1 and the newest 6.12 generic kernel too.
.PHONY: check-kernels check-kernels-all
check-kernels: all
	@tests/kernels/run
check-kernels-all: all
	@tests/kernels/run --all-runs

# The README's commands as a newcomer types them, on a freshly debootstrapped
# Debian 12 root (tests/fresh/run): make demo, then make check-host.
.PHONY: check-fresh
check-fresh: | deps
	@tests/fresh/run

# The VM checks on two debug kernels (KASAN, lockdep, kmemleak, UBSAN; and the
# same with KCSAN for KASAN), built from linux-source-6.1 once and cached
# (scripts/build-debug-kernel [--kcsan]).  Not part of
# check: it does not fit the 40 min (docs/reliability.md has the times).
.PHONY: check-debug
check-debug: all
	@scripts/check-debug

demo: all
	@scripts/demo

# Side-by-side performance run in the test guest; writes docs/perf.md.
bench: all
	@scripts/bench

# The token store: SQLite against PostgreSQL, in the test guest; writes docs/perf.md.
bench-store: all
	@scripts/bench-store

# Vendor tokens (SoftHSM through hsmp11d) against SoftHSM, p11-kit and the emulated
# card, in the test guest; writes docs/perf.md.
bench-p11: all
	@scripts/bench-p11

# make install / uninstall (DESTDIR, PREFIX): the fragments add their parts.
install: install-hsmgroupctl
uninstall: uninstall-hsmgroupctl

# DKMS (dkms.conf): dkms-install copies the module's source to
# $(DKMS_SRCTREE)/hsmgroup-<version> and has dkms add, build and install it for
# DKMS_KERNELS: by default the running kernel and every other kernel whose
# headers are installed (with KDIR given: that kernel only); DKMS rebuilds it
# for kernels installed later.  dkms-uninstall removes it from every kernel and
# deletes the source.  DKMS_FLAGS go to every dkms call (tests/dkms/run: a
# temporary DKMS tree, so that the host is not changed).
HSMG_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' dkms.conf)
DKMS_SRCTREE ?= /usr/src
DKMS_KERNELS ?= $(if $(filter command line environment,$(origin KDIR)),\
	$(patsubst /lib/modules/%/build,%,$(KDIR)),\
	$(patsubst /lib/modules/%/build,%,$(wildcard /lib/modules/*/build)))
DKMS_FLAGS ?=
DKMS_MV := -m hsmgroup -v $(HSMG_VERSION)
DKMS_DIR = $(DKMS_SRCTREE)/hsmgroup-$(HSMG_VERSION)
DKMS_FILES := dkms.conf driver/Kbuild $(filter-out %.mod.c,$(wildcard driver/*.[ch])) \
	$(wildcard uapi/linux/*.h)
dkms-src:
	rm -rf $(DKMS_DIR)
	for f in $(DKMS_FILES); do install -D -m 0644 $$f $(DKMS_DIR)/$$f || exit 1; done
dkms-install: dkms-src
	@[ -n "$(strip $(DKMS_KERNELS))" ] || { echo "dkms-install: no kernel headers installed" \
		"(scripts/install-deps installs those of the running kernel)" >&2; exit 1; }
	@[ -n "$(filter command line environment,$(origin KDIR))" ] || \
		[ -d /lib/modules/$$(uname -r)/build ] || echo "dkms-install: the running kernel" \
		"$$(uname -r) has no headers: not built for it (scripts/install-deps says why)" >&2
	if dkms status $(DKMS_MV) $(DKMS_FLAGS) | grep -q .; then \
		dkms remove $(DKMS_MV) --all $(DKMS_FLAGS); fi
	dkms add $(DKMS_MV) $(DKMS_FLAGS)
	for k in $(DKMS_KERNELS); do \
		dkms build $(DKMS_MV) -k $$k $(DKMS_FLAGS) && \
		dkms install $(DKMS_MV) -k $$k $(DKMS_FLAGS) || exit 1; done
dkms-uninstall:
	if dkms status $(DKMS_MV) $(DKMS_FLAGS) | grep -q .; then \
		dkms remove $(DKMS_MV) --all $(DKMS_FLAGS); fi
	rm -rf $(DKMS_DIR)

style:
	@scripts/style

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean || true
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' -type f 2>/dev/null)
