# tests/sessions: hsmg-holder, a client that holds sessions on command, for
# tests/sessions/run.
TEST_BINS += $(B)/tests/hsmg-holder
$(B)/tests/sessions/holder.o: HOST_CFLAGS += $(LIB_CLIENT_CFLAGS)
$(B)/tests/hsmg-holder: $(B)/tests/sessions/holder.o $(LIB_CLIENT)
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS)

# hsmg-presence: a PKCS#11 application keeping one session while every card
# goes away and one returns (tests/sessions/run).
TEST_BINS += $(B)/tests/hsmg-presence
$(B)/tests/sessions/presence.o: HOST_CFLAGS += $(shell pkg-config --cflags p11-kit-1)
$(B)/tests/hsmg-presence: $(B)/tests/sessions/presence.o
	$(CC) $(HOST_CFLAGS) -o $@ $^ -ldl
