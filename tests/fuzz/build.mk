# tests/fuzz: libFuzzer targets (clang, ASan + UBSan) of the message codec,
# hsmsimd's request processing, the token store's decoding and the
# configuration parser.  Not part of `make`: tests/fuzz/run builds nothing,
# `make fuzz` (long) and `make check-fuzz` (bounded) build $(FUZZ_BINS) first.

FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE -Wall -Wextra \
	-Wno-unused-parameter -Iuapi -Ilib/msg -Ilib/card -Ilib/store -Ilib/log -Ilib/client -Ilibp11shim \
	$(shell pkg-config --cflags libcrypto p11-kit-1 sqlite3 libpq 2>/dev/null)
FUZZ_NAMES := msg card object store config
FUZZ_BINS := $(patsubst %,$(B)/fuzz/fuzz_%,$(FUZZ_NAMES))
FUZZ_SHIM := $(B)/fuzz/libp11shim
# object.c needs the mechanism and curve tables (mech.c).
FUZZ_OBJECT := $(FUZZ_SHIM)/object.o $(FUZZ_SHIM)/mech.o $(B)/fuzz/lib/msg/hsmg_mech.o

$(B)/fuzz/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(B)/fuzz/fuzz_%: $(B)/fuzz/tests/fuzz/fuzz_%.o
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LIBS_$*)

$(B)/fuzz/fuzz_msg: $(B)/fuzz/lib/msg/hsmg_msg.o
$(B)/fuzz/fuzz_card: $(patsubst $(B)/%,$(B)/fuzz/%,$(LIB_CARD_OBJS)) $(B)/fuzz/lib/msg/hsmg_msg.o \
		$(B)/fuzz/lib/msg/hsmg_mech.o $(B)/fuzz/lib/msg/hsmg_rv.o
$(B)/fuzz/fuzz_object: $(FUZZ_OBJECT)
$(B)/fuzz/fuzz_store: $(B)/fuzz/lib/store/store.o $(B)/fuzz/lib/store/store_sqlite.o \
		$(B)/fuzz/lib/store/store_pg.o $(FUZZ_OBJECT) $(B)/fuzz/lib/log/log.o
$(B)/fuzz/fuzz_config: $(B)/fuzz/lib/store/config.o $(B)/fuzz/lib/log/log.o
FUZZ_LIBS_card := $(shell pkg-config --libs libcrypto 2>/dev/null) -lpthread -ldl
FUZZ_LIBS_store := $(shell pkg-config --libs sqlite3 libpq libcrypto 2>/dev/null) -lpthread

.PHONY: fuzz-bins
fuzz-bins: $(FUZZ_BINS)

# hsmg-ioctl-fuzz: the ioctl fuzzer of the test guest (tests/fuzz/run-vm).
TEST_BINS += $(B)/tests/hsmg-ioctl-fuzz
$(B)/tests/fuzz/ioctl_fuzz.o: HOST_CFLAGS += $(LIB_MSG_CFLAGS)
$(B)/tests/hsmg-ioctl-fuzz: $(B)/tests/fuzz/ioctl_fuzz.o $(LIB_MSG)
	$(CC) $(HOST_CFLAGS) -pthread -o $@ $^ $(HOST_LDFLAGS) -pthread
