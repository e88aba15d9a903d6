# tests/ctl: hsmg-nlfuzz, the netlink attribute fuzzer of tests/ctl/run.
TEST_BINS += $(B)/tests/hsmg-nlfuzz
$(B)/tests/hsmg-nlfuzz: $(B)/tests/ctl/nlfuzz.o
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS)
