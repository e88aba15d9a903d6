# tests/modes: hsmg-modes, a PKCS#11 client for the strict/VHSM mode tests
# (tests/modes/run, in the guest).
TEST_BINS += $(B)/tests/hsmg-modes
$(B)/tests/modes/%.o: HOST_CFLAGS += $(P11LOAD_CFLAGS)
$(B)/tests/hsmg-modes: $(B)/tests/modes/client.o $(P11LOAD_OBJ)
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS) -ldl
