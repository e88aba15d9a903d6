# libp11shim: the PKCS#11 module build/hsmgroup-pkcs11.so.
# Objects are position independent with hidden visibility; the version
# script exports C_GetFunctionList, C_GetInterfaceList, C_GetInterface only.
# $(P11SHIM_OBJS) (with its own PIC copy of the codec) is also linked
# directly into the unit tests (tests/shim), which plug in a mock transport.

P11SHIM_PKGS := p11-kit-1 sqlite3 libcrypto
P11SHIM_CFLAGS := -fPIC -fvisibility=hidden $(shell pkg-config --cflags $(P11SHIM_PKGS) 2>/dev/null)
P11SHIM_LIBS := $(shell pkg-config --libs sqlite3 libcrypto 2>/dev/null) -lpthread
P11SHIM_SRCS := module slot session pin store object objmgr crypto mech keys request transport log \
	config
P11SHIM_OBJS := $(patsubst %,$(B)/libp11shim/%.o,$(P11SHIM_SRCS)) $(B)/libp11shim/hsmg_msg.o
P11SHIM_MAP := libp11shim/hsmgroup-pkcs11.map

$(B)/libp11shim/%.o: HOST_CFLAGS += $(P11SHIM_CFLAGS)

# The codec again, built PIC for the shared object.
$(B)/libp11shim/hsmg_msg.o: common/hsmg_msg.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/hsmgroup-pkcs11.so: $(P11SHIM_OBJS) $(P11SHIM_MAP)
	$(CC) -shared -Wl,--version-script=$(P11SHIM_MAP) -Wl,-z,defs -Wl,-z,now -Wl,-z,relro \
		-o $@ $(P11SHIM_OBJS) $(HOST_LDFLAGS) $(P11SHIM_LIBS)

USER_BINS += $(B)/hsmgroup-pkcs11.so
