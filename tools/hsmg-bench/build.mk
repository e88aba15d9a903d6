# tools/hsmg-bench: the benchmark behind every performance claim (build/hsmg-bench).
# Loads PKCS#11 modules with dlopen; the raw mode uses the message codec.

HSMG_BENCH_CFLAGS := $(shell pkg-config --cflags p11-kit-1 2>/dev/null)
HSMG_BENCH_OBJS := $(addprefix $(B)/tools/hsmg-bench/,main.o hist.o p11.o raw.o floor.o) \
	$(COMMON_OBJS)

$(B)/tools/hsmg-bench/%.o: HOST_CFLAGS += $(HSMG_BENCH_CFLAGS)

$(B)/hsmg-bench: $(HSMG_BENCH_OBJS)
	$(CC) $(HOST_CFLAGS) -pthread -o $@ $^ $(HOST_LDFLAGS) -ldl -lm -pthread

USER_BINS += $(B)/hsmg-bench
