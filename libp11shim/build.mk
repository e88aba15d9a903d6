# libp11shim: the PKCS#11 module build/hsmgroup-pkcs11.so.
# Objects are position independent with hidden visibility; the version
# script exports C_GetFunctionList, C_GetInterfaceList, C_GetInterface only.
# $(P11SHIM_OBJS) (with its own PIC copy of the codec) is also linked
# directly into the unit tests (tests/shim), which plug in a mock transport.

P11SHIM_PKGS := p11-kit-1 sqlite3 libcrypto
P11SHIM_CFLAGS := -fPIC -fvisibility=hidden $(shell pkg-config --cflags $(P11SHIM_PKGS) 2>/dev/null)
P11SHIM_LIBS := $(shell pkg-config --libs sqlite3 libcrypto 2>/dev/null) -lpthread
P11SHIM_SRCS := module slot session pin cardpin store object objmgr crypto mech keys request \
	transport log config pubverify
P11SHIM_OBJS := $(patsubst %,$(B)/libp11shim/%.o,$(P11SHIM_SRCS)) $(B)/libp11shim/hsmg_msg.o \
	$(B)/libp11shim/pk.o
P11SHIM_MAP := libp11shim/hsmgroup-pkcs11.map

$(B)/libp11shim/%.o: HOST_CFLAGS += $(P11SHIM_CFLAGS)

# The codec again, built PIC for the shared object.
$(B)/libp11shim/hsmg_msg.o: common/hsmg_msg.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -MMD -MP -c -o $@ $<

# The card's public-key code, PIC, for verifying in the module (pubverify.c).
# Programs that also link the card (tests) take this copy instead of theirs.
$(B)/libp11shim/pk.o: tools/hsmsimd/pk.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -MMD -MP -c -o $@ $<
$(B)/libp11shim/pubverify.o: HOST_CFLAGS += -Itools/hsmsimd

$(B)/hsmgroup-pkcs11.so: $(P11SHIM_OBJS) $(P11SHIM_MAP)
	$(CC) -shared -Wl,--version-script=$(P11SHIM_MAP) -Wl,-z,defs -Wl,-z,now -Wl,-z,relro \
		-o $@ $(P11SHIM_OBJS) $(HOST_LDFLAGS) $(P11SHIM_LIBS)

USER_BINS += $(B)/hsmgroup-pkcs11.so

# make install: the module into the multiarch PKCS#11 directory
# (/usr/lib/x86_64-linux-gnu/pkcs11/), a p11-kit module file so that
# `p11-kit list-modules` and GnuTLS p11tool find it, the man page and an
# example configuration (never over an existing one; uninstall removes it
# when it is unchanged).  DESTDIR and PREFIX
# are honoured; PREFIX defaults to /usr here (p11-kit reads its module files
# from /usr/share/p11-kit/modules only), whatever other fragments default to.
P11_PREFIX = $(if $(filter command line environment,$(origin PREFIX)),$(PREFIX),/usr)
P11_MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
P11_LIBDIR = $(P11_PREFIX)/lib$(if $(P11_MULTIARCH),/$(P11_MULTIARCH))/pkcs11
P11_MODDIR = $(P11_PREFIX)/share/p11-kit/modules
P11_MANDIR = $(P11_PREFIX)/share/man
P11_CONFDIR ?= /etc/hsmgroup

.PHONY: install-pkcs11 uninstall-pkcs11
install: install-pkcs11
uninstall: uninstall-pkcs11
install-pkcs11: $(B)/hsmgroup-pkcs11.so
	install -D -m 0644 $(B)/hsmgroup-pkcs11.so $(DESTDIR)$(P11_LIBDIR)/hsmgroup-pkcs11.so
	install -d $(DESTDIR)$(P11_MODDIR)
	printf '# hsmgroup HA HSM group (installed by hsmgroup)\nmodule: %s\n' \
		'$(P11_LIBDIR)/hsmgroup-pkcs11.so' > $(DESTDIR)$(P11_MODDIR)/hsmgroup.module
	chmod 0644 $(DESTDIR)$(P11_MODDIR)/hsmgroup.module
	install -D -m 0644 man/hsmgroup-pkcs11.7 $(DESTDIR)$(P11_MANDIR)/man7/hsmgroup-pkcs11.7
	[ -e $(DESTDIR)$(P11_CONFDIR)/pkcs11.conf ] || \
		install -D -m 0644 libp11shim/pkcs11.conf $(DESTDIR)$(P11_CONFDIR)/pkcs11.conf
uninstall-pkcs11:
	rm -f $(DESTDIR)$(P11_LIBDIR)/hsmgroup-pkcs11.so $(DESTDIR)$(P11_MODDIR)/hsmgroup.module \
		$(DESTDIR)$(P11_MANDIR)/man7/hsmgroup-pkcs11.7
	if cmp -s libp11shim/pkcs11.conf $(DESTDIR)$(P11_CONFDIR)/pkcs11.conf; then \
		rm -f $(DESTDIR)$(P11_CONFDIR)/pkcs11.conf; \
		rmdir $(DESTDIR)$(P11_CONFDIR) 2>/dev/null || true; fi
