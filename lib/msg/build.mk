# lib/msg: the message format between clients and cards (hsmgroup_msg.h,
# version 1), its codec (hsmg_msg.c) and the one table of its mechanisms
# (hsmg_mech.c) with the names of return values (hsmg_rv.c), built into
# $(LIB_MSG).
LIB_MSG := $(B)/lib/libhsmg-msg.a
LIB_MSG_CFLAGS := -Ilib/msg
LIB_MSG_LIBS :=

$(B)/lib/msg/%.o: HOST_CFLAGS += $(LIB_PIC) $(LIB_MSG_CFLAGS)
$(B)/lib/msg/hsmg_mech.o: HOST_CFLAGS += $(shell pkg-config --cflags p11-kit-1 2>/dev/null)
$(LIB_MSG): $(B)/lib/msg/hsmg_msg.o $(B)/lib/msg/hsmg_mech.o $(B)/lib/msg/hsmg_rv.o
	$(LIB_AR)
