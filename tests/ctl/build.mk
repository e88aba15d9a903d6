# tests/ctl: hsmg-nlfuzz, the netlink attribute fuzzer of tests/ctl/run.
TEST_BINS += $(B)/tests/hsmg-nlfuzz
$(B)/tests/hsmg-nlfuzz: $(B)/tests/ctl/nlfuzz.o
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS)
# hsmg-slotwait: a PKCS#11 application blocked in C_WaitForSlotEvent, for the
# hot-plug section of tests/ctl/run.
TEST_BINS += $(B)/tests/hsmg-slotwait
$(B)/tests/ctl/slotwait.o: HOST_CFLAGS += $(P11LOAD_CFLAGS)
$(B)/tests/hsmg-slotwait: $(B)/tests/ctl/slotwait.o $(P11LOAD_OBJ)
	$(CC) $(HOST_CFLAGS) -pthread -o $@ $^ $(HOST_LDFLAGS) -ldl -pthread
