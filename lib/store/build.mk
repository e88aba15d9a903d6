# lib/store: the token store (its interface, store.c, and the SQLite
# implementation, store_sqlite.c; objects, the user PIN's verifier, the
# card-PIN, the configuration file), used by the PKCS#11 module and
# hsmgroupctl, built into $(LIB_STORE).  Needs $(LIB_LOG).
LIB_STORE := $(B)/lib/libhsmg-store.a
LIB_STORE_CFLAGS := -Ilib/store $(LIB_LOG_CFLAGS) \
	$(shell pkg-config --cflags p11-kit-1 sqlite3 libpq libcrypto 2>/dev/null)
LIB_STORE_LIBS := $(shell pkg-config --libs sqlite3 libpq libcrypto 2>/dev/null) $(LIB_LOG_LIBS)
LIB_STORE_OBJS := $(patsubst %,$(B)/lib/store/%.o,store store_sqlite store_pg pin cardpin config)

$(B)/lib/store/%.o: HOST_CFLAGS += $(LIB_PIC) $(LIB_STORE_CFLAGS)
$(LIB_STORE): $(LIB_STORE_OBJS)
	$(LIB_AR)
