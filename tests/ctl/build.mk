# tests/ctl: hsmg-nlfuzz, the netlink attribute fuzzer of tests/ctl/run.
TEST_BINS += $(B)/tests/hsmg-nlfuzz
$(B)/tests/hsmg-nlfuzz: $(B)/tests/ctl/nlfuzz.o
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS)
# hsmg-slotwait: a PKCS#11 application blocked in C_WaitForSlotEvent, for the
# hot-plug section of tests/ctl/run.
TEST_BINS += $(B)/tests/hsmg-slotwait
$(B)/tests/ctl/slotwait.o: HOST_CFLAGS += $(shell pkg-config --cflags p11-kit-1)
$(B)/tests/hsmg-slotwait: $(B)/tests/ctl/slotwait.o
	$(CC) $(HOST_CFLAGS) -pthread -o $@ $^ $(HOST_LDFLAGS) -ldl -pthread
