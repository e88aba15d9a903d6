# tests/failover: hsmg-load (checked load client) and hsmg-members (member
# lister / rejoin waiter) used by tests/failover/run and tests/sessions/run.
HSMG_TEST_DEV_O := $(B)/tests/failover/dev.o

TEST_BINS += $(B)/tests/hsmg-members
$(B)/tests/hsmg-members: $(B)/tests/failover/members.o $(HSMG_TEST_DEV_O)
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS)

# hsmg-load builds its requests with the message codec (lib/msg).
TEST_BINS += $(B)/tests/hsmg-load
$(B)/tests/failover/load%.o: HOST_CFLAGS += $(LIB_MSG_CFLAGS) $(shell pkg-config --cflags p11-kit-1)
$(B)/tests/hsmg-load: $(B)/tests/failover/load.o $(B)/tests/failover/loadops.o \
		$(HSMG_TEST_DEV_O) $(LIB_MSG)
	$(CC) $(HOST_CFLAGS) -pthread -o $@ $^ $(HOST_LDFLAGS) \
		$(shell pkg-config --libs libcrypto) -pthread
