# tests/sessions: hsmg-holder, a client that holds sessions on command, for
# tests/sessions/run.
TEST_BINS += $(B)/tests/hsmg-holder
$(B)/tests/hsmg-holder: $(B)/tests/sessions/holder.o $(B)/tests/failover/dev.o
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS)
