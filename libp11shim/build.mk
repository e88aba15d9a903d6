# libp11shim: the PKCS#11 module build/hsmgroup-pkcs11.so.
# Objects are position independent with hidden visibility; the version
# script exports C_GetFunctionList, C_GetInterfaceList, C_GetInterface only.
# $(P11SHIM_OBJS) with $(P11SHIM_LIBDEPS) is also linked directly into the
# unit tests (tests/shim), which plug in a mock transport.

# Libraries it links: the token store, the message codec, the card's
# public-key code (verification in the module), the device client and the log.
P11SHIM_LIBDEPS := $(LIB_STORE) $(LIB_CARD) $(LIB_MSG) $(LIB_CLIENT) $(LIB_LOG)
P11SHIM_CFLAGS := $(LIB_PIC) $(LIB_STORE_CFLAGS) $(LIB_CARD_CFLAGS) $(LIB_CLIENT_CFLAGS) \
	$(shell pkg-config --cflags p11-kit-1 2>/dev/null)
P11SHIM_LIBS := $(LIB_STORE_LIBS) $(LIB_CARD_LIBS) -lpthread
P11SHIM_SRCS := module slot session auth crypto mech keys request transport pubverify object objmgr
P11SHIM_OBJS := $(patsubst %,$(B)/libp11shim/%.o,$(P11SHIM_SRCS))
P11SHIM_MAP := libp11shim/hsmgroup-pkcs11.map

$(B)/libp11shim/%.o: HOST_CFLAGS += $(P11SHIM_CFLAGS)

$(B)/hsmgroup-pkcs11.so: $(P11SHIM_OBJS) $(P11SHIM_LIBDEPS) $(P11SHIM_MAP)
	$(CC) -shared -Wl,--version-script=$(P11SHIM_MAP) -Wl,-z,defs -Wl,-z,now -Wl,-z,relro \
		-o $@ $(P11SHIM_OBJS) $(P11SHIM_LIBDEPS) $(HOST_LDFLAGS) $(P11SHIM_LIBS)

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
