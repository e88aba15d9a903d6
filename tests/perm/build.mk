# tests/perm: permissions and isolation (tests/perm/run, VM tier "perm"):
# hsmg-perm_test (kselftest harness + the kselftest fixture) and
# hsmg-permtool (open/login helper run under other uids).
TEST_BINS += $(B)/tests/perm/perm_test $(B)/tests/hsmg-permtool
$(B)/tests/perm/perm_test.o: HOST_CFLAGS += -isystem $(KSFT_HDR) -Itests/kselftest -pthread
$(B)/tests/perm/perm_test.o: | $(KSFT_HDR)/kselftest_harness.h
$(B)/tests/perm/perm_test: $(B)/tests/perm/perm_test.o $(B)/tests/kselftest/fixture.o
	$(CC) -pthread -o $@ $^ $(HOST_LDFLAGS)
$(B)/tests/hsmg-permtool: $(B)/tests/perm/permtool.o $(B)/tests/failover/dev.o
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS)
