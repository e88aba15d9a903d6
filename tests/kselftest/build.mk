# tests/kselftest/: kselftest-harness tests of every ioctl, run in the VM by
# tests/kselftest/run.  The harness headers come from Debian's linux-source
# tarball at build time (extracted once into build/), never copied here.

KSFT_SRC ?= /usr/src/linux-source-6.1.tar.xz
KSFT_HDR := $(B)/kselftest-hdr
KSFT_NAMES := $(patsubst tests/kselftest/%_test.c,%,$(wildcard tests/kselftest/*_test.c))
KSFT_BINS := $(patsubst %,$(B)/tests/kselftest/%_test,$(KSFT_NAMES))
KSFT_OBJS := $(patsubst %,$(B)/tests/kselftest/%_test.o,$(KSFT_NAMES)) \
	$(B)/tests/kselftest/fixture.o
TEST_BINS += $(KSFT_BINS)

$(KSFT_HDR)/kselftest_harness.h:
	@mkdir -p $(KSFT_HDR)
	tar -xJf $(KSFT_SRC) -C $(KSFT_HDR) --strip-components=4 --wildcards \
		'*/tools/testing/selftests/kselftest.h' \
		'*/tools/testing/selftests/kselftest_harness.h'
	@touch $@

$(KSFT_OBJS): HOST_CFLAGS += -isystem $(KSFT_HDR) -pthread $(LIB_CLIENT_CFLAGS)
$(KSFT_OBJS): | $(KSFT_HDR)/kselftest_harness.h

$(B)/tests/kselftest/%_test: $(B)/tests/kselftest/%_test.o $(B)/tests/kselftest/fixture.o \
		$(LIB_CLIENT)
	$(CC) -pthread -o $@ $^ $(HOST_LDFLAGS)

.PHONY: kselftest
kselftest: $(KSFT_BINS)
