# tests/limits: 10,000 sessions, detach storm, per-client in-flight cap
# (kselftest harness + the kselftest fixture), run by tests/limits/run in
# the VM tier "limits".
TEST_BINS += $(B)/tests/limits/limits_test
$(B)/tests/limits/limits_test.o: HOST_CFLAGS += -isystem $(KSFT_HDR) -Itests/kselftest -pthread
$(B)/tests/limits/limits_test.o: | $(KSFT_HDR)/kselftest_harness.h
$(B)/tests/limits/limits_test: $(B)/tests/limits/limits_test.o $(B)/tests/kselftest/fixture.o \
		$(LIB_CLIENT)
	$(CC) -pthread -o $@ $^ $(HOST_LDFLAGS)
