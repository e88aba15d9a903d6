# tests/failover: hsmg-load (checked load client) and hsmg-members (member
# lister / rejoin waiter) used by tests/failover/run and tests/sessions/run,
# over the device client (lib/client).
$(B)/tests/failover/%.o: HOST_CFLAGS += $(LIB_CLIENT_CFLAGS)

TEST_BINS += $(B)/tests/hsmg-members
$(B)/tests/hsmg-members: $(B)/tests/failover/members.o $(LIB_CLIENT)
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS)

# hsmg-load builds its requests with the message codec (lib/msg).
TEST_BINS += $(B)/tests/hsmg-load
$(B)/tests/failover/load%.o: HOST_CFLAGS += $(LIB_MSG_CFLAGS) $(shell pkg-config --cflags p11-kit-1)
$(B)/tests/hsmg-load: $(B)/tests/failover/load.o $(B)/tests/failover/loadops.o \
		$(LIB_CLIENT) $(LIB_MSG)
	$(CC) $(HOST_CFLAGS) -pthread -o $@ $^ $(HOST_LDFLAGS) \
		$(shell pkg-config --libs libcrypto) -pthread
