# tests/crash: hsmg-storewriter, the writer and checker of the token store
# crash test (tests/crash/run, in make check-host as check-crash): the
# module's own objects with the unit tests' mock transport, on the host.
TEST_BINS += $(B)/tests/hsmg-storewriter
$(B)/tests/crash/storewriter.o: HOST_CFLAGS += -Ilibp11shim -Itests/shim $(P11SHIM_CFLAGS)
$(B)/tests/hsmg-storewriter: $(B)/tests/crash/storewriter.o $(B)/tests/shim/mock_transport.o \
		$(P11SHIM_OBJS) $(P11SHIM_LIBDEPS)
	$(CC) -pthread -o $@ $^ $(HOST_LDFLAGS) $(P11SHIM_LIBS) \
		$(shell pkg-config --libs check 2>/dev/null)
