# tests/store: the token store's contract over SQLite and PostgreSQL (a
# throwaway server started by the test with scripts/pg-server), on the host.
STORE_TEST_CFLAGS := $(LIB_STORE_CFLAGS) $(shell pkg-config --cflags check 2>/dev/null)
$(B)/tests/store/%.o: HOST_CFLAGS += $(STORE_TEST_CFLAGS)
$(B)/tests/store/test_store: $(B)/tests/store/test_store.o $(LIB_STORE) $(LIB_LOG)
	$(CC) -pthread -o $@ $^ $(HOST_LDFLAGS) $(shell pkg-config --libs check 2>/dev/null) \
		$(LIB_STORE_LIBS)

UNIT_TESTS += $(B)/tests/store/test_store
