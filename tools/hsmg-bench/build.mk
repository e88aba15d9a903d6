# tools/hsmg-bench: the benchmark behind every performance claim (build/hsmg-bench).
# Loads PKCS#11 modules with dlopen; the raw mode uses the message codec, and
# --raw-local links the emulated card of tools/hsmsimd.

HSMG_BENCH_CFLAGS := $(shell pkg-config --cflags p11-kit-1 libcrypto 2>/dev/null) -Itools/hsmsimd
# The card objects by name: this fragment is included before tools/hsmsimd's,
# whose HSMSIMD_CARD_OBJS is still empty here (keep the two lists equal).
HSMG_BENCH_CARD_OBJS := $(addprefix $(B)/tools/hsmsimd/,card.o hashstate.o aesmode.o pk.o)
HSMG_BENCH_OBJS := $(addprefix $(B)/tools/hsmg-bench/,main.o hist.o p11.o raw.o floor.o) \
	$(HSMG_BENCH_CARD_OBJS) $(COMMON_OBJS)

$(B)/tools/hsmg-bench/%.o: HOST_CFLAGS += $(HSMG_BENCH_CFLAGS)

$(B)/hsmg-bench: $(HSMG_BENCH_OBJS)
	$(CC) $(HOST_CFLAGS) -pthread -o $@ $^ $(HOST_LDFLAGS) \
		$(shell pkg-config --libs libcrypto 2>/dev/null) -ldl -lm -pthread

USER_BINS += $(B)/hsmg-bench

# hsmg-kmem: kernel memory per session and per request in flight (make bench).
$(B)/hsmg-kmem: $(B)/tools/hsmg-bench/kmem.o
	$(CC) $(HOST_CFLAGS) -pthread -o $@ $^ $(HOST_LDFLAGS) -pthread

USER_BINS += $(B)/hsmg-kmem
