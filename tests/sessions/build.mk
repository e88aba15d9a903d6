# tests/sessions: hsmg-holder, a client that holds sessions on command, for
# tests/sessions/run.
TEST_BINS += $(B)/tests/hsmg-holder
$(B)/tests/sessions/holder.o: HOST_CFLAGS += $(LIB_CLIENT_CFLAGS)
$(B)/tests/hsmg-holder: $(B)/tests/sessions/holder.o $(LIB_CLIENT)
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS)

# hsmg-presence: a PKCS#11 application keeping one session while every card
# goes away and one returns (tests/sessions/run).
TEST_BINS += $(B)/tests/hsmg-presence
$(B)/tests/sessions/presence.o: HOST_CFLAGS += $(P11LOAD_CFLAGS)
$(B)/tests/hsmg-presence: $(B)/tests/sessions/presence.o $(P11LOAD_OBJ)
	$(CC) $(HOST_CFLAGS) -o $@ $^ -ldl

# hsmg-forkchild: a logged-in application with a pre-forked worker
# (tests/sessions/run, issue 18).
TEST_BINS += $(B)/tests/hsmg-forkchild
$(B)/tests/sessions/forkchild.o: HOST_CFLAGS += $(P11LOAD_CFLAGS)
$(B)/tests/hsmg-forkchild: $(B)/tests/sessions/forkchild.o $(P11LOAD_OBJ) $(PROCFD_OBJ)
	$(CC) $(HOST_CFLAGS) -o $@ $^ -ldl
