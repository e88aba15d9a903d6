# lib/client: the userspace client of /dev/hsmgroup (open, info, groups,
# sessions, login, submit, the event file), built into $(LIB_CLIENT): the
# PKCS#11 module, the benchmark, the load tools and the tests use it.
LIB_CLIENT := $(B)/lib/libhsmg-client.a
LIB_CLIENT_CFLAGS := -Ilib/client
LIB_CLIENT_LIBS :=

$(B)/lib/client/%.o: HOST_CFLAGS += $(LIB_PIC) $(LIB_CLIENT_CFLAGS)
$(LIB_CLIENT): $(B)/lib/client/client.o
	$(LIB_AR)
