# tests/chaos: hsmg-chaos (checked PKCS#11 load through hsmgroup-pkcs11.so,
# every mechanism family) and hsmg-rejoin (time for a member to serve
# again), used by tests/chaos/run.
TEST_BINS += $(B)/tests/hsmg-chaos $(B)/tests/hsmg-rejoin
$(B)/tests/chaos/chaos.o: HOST_CFLAGS += $(P11LOAD_CFLAGS)
$(B)/tests/hsmg-chaos: $(B)/tests/chaos/chaos.o $(P11LOAD_OBJ)
	$(CC) $(HOST_CFLAGS) -pthread -o $@ $^ $(HOST_LDFLAGS) \
		$(shell pkg-config --libs libcrypto) -ldl -pthread
$(B)/tests/chaos/rejoin.o: HOST_CFLAGS += $(LIB_CLIENT_CFLAGS)
$(B)/tests/hsmg-rejoin: $(B)/tests/chaos/rejoin.o $(LIB_CLIENT)
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS)
