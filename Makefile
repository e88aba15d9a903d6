# hsmgroup top-level Makefile: one idea per target.
#   make            module + userspace        make check   every test tier
#   make demo       the main job in a VM      make style   checkpatch + clang-format
# Fragments (*/build.mk) add userspace programs and tests to the lists below.

KDIR ?= $(shell scripts/kdir)
B := build
CC ?= gcc
CFLAGS ?= -O2 -g
HOST_CFLAGS := $(CFLAGS) -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter \
	-Wshadow -Wformat=2 -Werror=implicit-function-declaration -fstack-protector-strong \
	-Iuapi -Icommon $(EXTRA_CFLAGS)
HOST_LDFLAGS := $(LDFLAGS) $(EXTRA_LDFLAGS)

# Filled by the fragments.
USER_BINS :=
TEST_BINS :=
UNIT_TESTS :=

.PHONY: all module user tests deps check check-host check-vm unit demo style clean install dkms-install
all: module user tests

deps:
	@scripts/install-deps --if-missing

include common/build.mk
-include libp11shim/build.mk
include $(sort $(wildcard tools/*/build.mk))
include $(sort $(wildcard tests/*/build.mk))

module: | deps
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

user: $(USER_BINS) | deps
tests: $(TEST_BINS) $(UNIT_TESTS) | deps

$(B)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -MMD -MP -c -o $@ $<

unit: $(UNIT_TESTS)
	@scripts/run-unit $(UNIT_TESTS)

check-host: unit

check-vm: all
	@tests/run-vm

check: check-host check-vm

demo: all
	@scripts/demo

style:
	@scripts/style

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean || true
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
