# tools/hsmg-bench: the benchmark behind every performance claim (build/hsmg-bench).
# Loads PKCS#11 modules with dlopen; the raw mode sends messages of the
# codec (lib/msg) with the device client (lib/client), --raw-local hands
# them to the card of lib/card in-process.

HSMG_BENCH_OBJS := $(addprefix $(B)/tools/hsmg-bench/,main.o hist.o p11.o raw.o floor.o)

$(B)/tools/hsmg-bench/%.o: HOST_CFLAGS += $(LIB_CARD_CFLAGS) $(LIB_CLIENT_CFLAGS)

$(B)/hsmg-bench: $(HSMG_BENCH_OBJS) $(LIB_CARD) $(LIB_MSG) $(LIB_CLIENT)
	$(CC) $(HOST_CFLAGS) -pthread -o $@ $^ $(HOST_LDFLAGS) $(LIB_CARD_LIBS) -ldl -lm

USER_BINS += $(B)/hsmg-bench

# hsmg-kmem: kernel memory per session and per request in flight (make bench).
$(B)/hsmg-kmem: $(B)/tools/hsmg-bench/kmem.o $(LIB_CLIENT)
	$(CC) $(HOST_CFLAGS) -pthread -o $@ $^ $(HOST_LDFLAGS) -pthread

USER_BINS += $(B)/hsmg-kmem
