# tests/perm: permissions and isolation (tests/perm/run, VM tier "perm"):
# hsmg-perm_test (kselftest harness + the kselftest fixture) and
# hsmg-permtool (open/login/sign-blob helper run under other uids).
TEST_BINS += $(B)/tests/perm/perm_test $(B)/tests/hsmg-permtool
$(B)/tests/perm/perm_test.o: HOST_CFLAGS += -isystem $(KSFT_HDR) -Itests/kselftest -pthread
$(B)/tests/perm/perm_test.o: | $(KSFT_HDR)/kselftest_harness.h
$(B)/tests/perm/perm_test: $(B)/tests/perm/perm_test.o $(B)/tests/kselftest/fixture.o \
		$(LIB_CLIENT)
	$(CC) -pthread -o $@ $^ $(HOST_LDFLAGS)
$(B)/tests/perm/permtool.o: HOST_CFLAGS += $(LIB_CLIENT_CFLAGS) $(LIB_MSG_CFLAGS)
$(B)/tests/hsmg-permtool: $(B)/tests/perm/permtool.o $(LIB_CLIENT) $(LIB_MSG)
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS)
