# tests/bench: a PKCS#11 module that fails on purpose (build/tests/bench-failmod.so), for
# the error accounting check of tests/bench/run.
TEST_BINS += $(B)/tests/bench-failmod.so

$(B)/tests/bench/failmod.o: HOST_CFLAGS += $(shell pkg-config --cflags p11-kit-1) -fPIC

$(B)/tests/bench-failmod.so: $(B)/tests/bench/failmod.o
	$(CC) $(HOST_CFLAGS) -shared -o $@ $^ $(HOST_LDFLAGS)
