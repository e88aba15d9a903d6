# tests/failover: hsmg-load (checked load client) and hsmg-members (member
# lister / rejoin waiter) used by tests/failover/run and tests/sessions/run.
HSMG_TEST_DEV_O := $(B)/tests/failover/dev.o
LOAD_MSG_OBJS := $(or $(COMMON_OBJS),$(B)/common/hsmg_msg.o)

TEST_BINS += $(B)/tests/hsmg-members
$(B)/tests/hsmg-members: $(B)/tests/failover/members.o $(HSMG_TEST_DEV_O)
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS)

# hsmg-load needs the message codec (common/hsmg_msg.c).
ifneq ($(wildcard common/hsmg_msg.c),)
TEST_BINS += $(B)/tests/hsmg-load
endif
$(B)/tests/failover/loadops.o: HOST_CFLAGS += $(shell pkg-config --cflags p11-kit-1)
$(B)/tests/hsmg-load: $(B)/tests/failover/load.o $(B)/tests/failover/loadops.o \
		$(HSMG_TEST_DEV_O) $(LOAD_MSG_OBJS)
	$(CC) $(HOST_CFLAGS) -pthread -o $@ $^ $(HOST_LDFLAGS) \
		$(shell pkg-config --libs libcrypto) -pthread
