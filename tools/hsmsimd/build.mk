# tools/hsmsimd: the emulated coprocessor card (build/hsmsimd): the card of
# lib/card with its master key, served by lib/provider.

HSMSIMD_OBJS := $(B)/tools/hsmsimd/main.o

$(B)/tools/hsmsimd/%.o: HOST_CFLAGS += $(LIB_PROVIDER_CFLAGS)

$(B)/hsmsimd: $(HSMSIMD_OBJS) $(LIB_PROVIDER) $(LIB_CARD) $(LIB_MSG)
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS) $(LIB_PROVIDER_LIBS) -lpthread

USER_BINS += $(B)/hsmsimd

# make install: the daemon, its man page and the systemd template unit
# hsmsimd@.service, whose ExecStart names $(PREFIX)/sbin/hsmsimd.
SYSTEMDUNITDIR ?= /lib/systemd/system
.PHONY: install-hsmsimd uninstall-hsmsimd
install: install-hsmsimd
uninstall: uninstall-hsmsimd
install-hsmsimd: $(B)/hsmsimd
	install -D -m 0755 $(B)/hsmsimd $(DESTDIR)$(PREFIX)/sbin/hsmsimd
	install -D -m 0644 man/hsmsimd.8 $(DESTDIR)$(PREFIX)/share/man/man8/hsmsimd.8
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|/usr/local/sbin/hsmsimd|$(PREFIX)/sbin/hsmsimd|' systemd/hsmsimd@.service \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/hsmsimd@.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/hsmsimd@.service
uninstall-hsmsimd:
	rm -f $(DESTDIR)$(PREFIX)/sbin/hsmsimd $(DESTDIR)$(PREFIX)/share/man/man8/hsmsimd.8 \
		$(DESTDIR)$(SYSTEMDUNITDIR)/hsmsimd@.service
