# tests/shim: Check unit tests of hsmgroup-pkcs11 on the host.  They link
# the module's objects directly with a mock transport that feeds the
# emulated card (lib/card/card.c), and dlopen the .so for the export
# test.

SHIM_TEST_NAMES := $(patsubst tests/shim/%.c,%,$(wildcard tests/shim/test_*.c))
SHIM_TEST_BINS := $(patsubst %,$(B)/tests/shim/%,$(SHIM_TEST_NAMES))
SHIM_TEST_LIB := $(B)/tests/shim/helpers.o $(B)/tests/shim/mock_transport.o $(PROCFD_OBJ)
SHIM_TEST_CFLAGS := -Ilibp11shim $(P11SHIM_CFLAGS) -Itests/lib -pthread \
	$(shell pkg-config --cflags check 2>/dev/null)
SHIM_TEST_LIBS := $(shell pkg-config --libs check 2>/dev/null) $(P11SHIM_LIBS) -ldl

$(B)/tests/shim/%.o: HOST_CFLAGS += $(SHIM_TEST_CFLAGS)

$(B)/tests/shim/test_%: $(B)/tests/shim/test_%.o $(SHIM_TEST_LIB) $(P11SHIM_OBJS) \
		$(P11SHIM_LIBDEPS) | $(B)/hsmgroup-pkcs11.so
	$(CC) -pthread -o $@ $^ $(HOST_LDFLAGS) $(SHIM_TEST_LIBS)

UNIT_TESTS += $(SHIM_TEST_BINS)
