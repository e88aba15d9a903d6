# tests/modes: hsmg-modes, a PKCS#11 client for the strict/VHSM mode tests
# (tests/modes/run, in the guest).
TEST_BINS += $(B)/tests/hsmg-modes
$(B)/tests/modes/%.o: HOST_CFLAGS += $(shell pkg-config --cflags p11-kit-1)
$(B)/tests/hsmg-modes: $(B)/tests/modes/client.o
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS) -ldl
