# tests/e2e: hsmg-e2e-multipart streams a file through hsmgroup-pkcs11.so
# (dlopen) for tests/e2e/multipart-failover.sh.
TEST_BINS += $(B)/tests/hsmg-e2e-multipart
$(B)/tests/e2e/%.o: HOST_CFLAGS += $(shell pkg-config --cflags p11-kit-1)
$(B)/tests/hsmg-e2e-multipart: $(B)/tests/e2e/multipart.o
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS) -ldl
