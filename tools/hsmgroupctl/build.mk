# tools/hsmgroupctl: the control tool (build/hsmgroupctl) over the "hsmgroup"
# generic netlink family (libnl-genl-3) and udev (libudev).
HSMGROUPCTL_CFLAGS := $(shell pkg-config --cflags libnl-genl-3.0 libudev 2>/dev/null)
HSMGROUPCTL_LIBS := $(shell pkg-config --libs libnl-genl-3.0 libudev 2>/dev/null)
HSMGROUPCTL_OBJS := $(B)/tools/hsmgroupctl/main.o $(B)/tools/hsmgroupctl/nl.o \
	$(B)/tools/hsmgroupctl/out.o $(B)/tools/hsmgroupctl/token.o \
	$(B)/tools/hsmgroupctl/migrate.o
# "token cardpin" uses the token store of lib/store, checks the user PIN by
# a login through lib/client and has the cards seal the card-PIN (lib/msg).
HSMGROUPCTL_LIBS += $(LIB_STORE_LIBS)

$(B)/tools/hsmgroupctl/%.o: HOST_CFLAGS += $(HSMGROUPCTL_CFLAGS)
$(B)/tools/hsmgroupctl/token.o: HOST_CFLAGS += $(LIB_STORE_CFLAGS) $(LIB_CLIENT_CFLAGS) \
	$(LIB_MSG_CFLAGS)
$(B)/tools/hsmgroupctl/migrate.o: HOST_CFLAGS += $(LIB_STORE_CFLAGS)

$(B)/hsmgroupctl: $(HSMGROUPCTL_OBJS) $(LIB_STORE) $(LIB_CLIENT) $(LIB_MSG) $(LIB_LOG)
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS) $(HSMGROUPCTL_LIBS)

USER_BINS += $(B)/hsmgroupctl

# make install: the tool, its bash completion and man page, hsmgroup(4), the
# udev rules (udev reads /lib/udev/rules.d whatever PREFIX is) and the
# sysusers.d entry of the hsmgroup group and the tmpfiles.d entry of the
# token directory /var/lib/hsmgroup (2770 root:hsmgroup), both applied at
# once on a live system (no DESTDIR) when systemd's tools are there.
UDEVRULESDIR ?= /lib/udev/rules.d
SYSUSERSDIR ?= /usr/lib/sysusers.d
TMPFILESDIR ?= /usr/lib/tmpfiles.d
.PHONY: install-hsmgroupctl uninstall-hsmgroupctl
install-hsmgroupctl: $(B)/hsmgroupctl
	install -D -m 0755 $(B)/hsmgroupctl $(DESTDIR)$(PREFIX)/sbin/hsmgroupctl
	install -D -m 0644 tools/hsmgroupctl/hsmgroupctl.bash-completion \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/hsmgroupctl
	install -D -m 0644 man/hsmgroupctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/hsmgroupctl.8
	install -D -m 0644 man/hsmgroup.4 $(DESTDIR)$(PREFIX)/share/man/man4/hsmgroup.4
	install -D -m 0644 udev/60-hsmgroup.rules $(DESTDIR)$(UDEVRULESDIR)/60-hsmgroup.rules
	install -D -m 0644 udev/hsmgroup.sysusers $(DESTDIR)$(SYSUSERSDIR)/hsmgroup.conf
	install -D -m 0644 udev/hsmgroup.tmpfiles $(DESTDIR)$(TMPFILESDIR)/hsmgroup.conf
	if [ -z "$(DESTDIR)" ] && command -v systemd-sysusers >/dev/null; then \
		systemd-sysusers $(SYSUSERSDIR)/hsmgroup.conf; fi
	if [ -z "$(DESTDIR)" ] && command -v systemd-tmpfiles >/dev/null; then \
		systemd-tmpfiles --create $(TMPFILESDIR)/hsmgroup.conf; fi
uninstall-hsmgroupctl:
	rm -f $(DESTDIR)$(PREFIX)/sbin/hsmgroupctl \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/hsmgroupctl \
		$(DESTDIR)$(PREFIX)/share/man/man8/hsmgroupctl.8 \
		$(DESTDIR)$(PREFIX)/share/man/man4/hsmgroup.4 \
		$(DESTDIR)$(UDEVRULESDIR)/60-hsmgroup.rules \
		$(DESTDIR)$(SYSUSERSDIR)/hsmgroup.conf \
		$(DESTDIR)$(TMPFILESDIR)/hsmgroup.conf
