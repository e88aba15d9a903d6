# tools/hsmsimd: the emulated coprocessor card (build/hsmsimd).
# card.o + hashstate.o hold the request processing (also linked by the unit
# tests through HSMSIMD_CARD_OBJS); main.o is the daemon around them.

HSMSIMD_CFLAGS := $(shell pkg-config --cflags libcrypto p11-kit-1 2>/dev/null)
HSMSIMD_LIBS := $(shell pkg-config --libs libcrypto 2>/dev/null) -lpthread
HSMSIMD_CARD_OBJS := $(B)/tools/hsmsimd/card.o $(B)/tools/hsmsimd/hashstate.o \
	$(B)/tools/hsmsimd/aesmode.o $(B)/tools/hsmsimd/pk.o
HSMSIMD_OBJS := $(B)/tools/hsmsimd/main.o $(HSMSIMD_CARD_OBJS) $(COMMON_OBJS)

$(B)/tools/hsmsimd/%.o: HOST_CFLAGS += $(HSMSIMD_CFLAGS)

$(B)/hsmsimd: $(HSMSIMD_OBJS)
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS) $(HSMSIMD_LIBS)

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
