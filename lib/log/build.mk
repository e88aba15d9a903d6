# lib/log: the libraries' logging (syslog or a file, level from the
# environment; never stdout/stderr unless asked), built into $(LIB_LOG).
LIB_LOG := $(B)/lib/libhsmg-log.a
LIB_LOG_CFLAGS := -Ilib/log
LIB_LOG_LIBS :=

$(B)/lib/log/%.o: HOST_CFLAGS += $(LIB_PIC) $(LIB_LOG_CFLAGS)
$(LIB_LOG): $(B)/lib/log/log.o
	$(LIB_AR)
