# tools/hsmp11d: the queue provider over vendor PKCS#11 tokens (build/hsmp11d):
# the PKCS#11 card of lib/card (p11card.h) per configured token, served by
# lib/provider.

HSMP11D_OBJS := $(B)/tools/hsmp11d/main.o

$(B)/tools/hsmp11d/%.o: HOST_CFLAGS += $(LIB_PROVIDER_CFLAGS)

$(B)/hsmp11d: $(HSMP11D_OBJS) $(LIB_PROVIDER) $(LIB_CARD) $(LIB_MSG)
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS) $(LIB_PROVIDER_LIBS) -lpthread

USER_BINS += $(B)/hsmp11d

# make install: the daemon, its man page, the systemd template unit
# hsmp11d@.service (one process per configuration /etc/hsmgroup/%i.conf) and
# an example configuration.
.PHONY: install-hsmp11d uninstall-hsmp11d
install: install-hsmp11d
uninstall: uninstall-hsmp11d
install-hsmp11d: $(B)/hsmp11d
	install -D -m 0755 $(B)/hsmp11d $(DESTDIR)$(PREFIX)/sbin/hsmp11d
	install -D -m 0644 man/hsmp11d.8 $(DESTDIR)$(PREFIX)/share/man/man8/hsmp11d.8
	install -D -m 0644 tools/hsmp11d/hsmp11d.conf.example \
		$(DESTDIR)$(PREFIX)/share/doc/hsmgroup/hsmp11d.conf.example
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|/usr/local/sbin/hsmp11d|$(PREFIX)/sbin/hsmp11d|' systemd/hsmp11d@.service \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/hsmp11d@.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/hsmp11d@.service
uninstall-hsmp11d:
	rm -f $(DESTDIR)$(PREFIX)/sbin/hsmp11d $(DESTDIR)$(PREFIX)/share/man/man8/hsmp11d.8 \
		$(DESTDIR)$(PREFIX)/share/doc/hsmgroup/hsmp11d.conf.example \
		$(DESTDIR)$(SYSTEMDUNITDIR)/hsmp11d@.service
