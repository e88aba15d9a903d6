# tests/e2e: hsmg-e2e-multipart streams a file through hsmgroup-pkcs11.so
# (dlopen) for tests/e2e/multipart-failover.sh.
TEST_BINS += $(B)/tests/hsmg-e2e-multipart
$(B)/tests/e2e/%.o: HOST_CFLAGS += $(P11LOAD_CFLAGS)
$(B)/tests/hsmg-e2e-multipart: $(B)/tests/e2e/multipart.o $(P11LOAD_OBJ)
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS) -ldl
