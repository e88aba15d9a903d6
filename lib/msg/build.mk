# lib/msg: the message format between clients and cards (hsmgroup_msg.h,
# version 1) and its codec (hsmg_msg.c), built into $(LIB_MSG).
LIB_MSG := $(B)/lib/libhsmg-msg.a
LIB_MSG_CFLAGS := -Ilib/msg
LIB_MSG_LIBS :=

$(B)/lib/msg/%.o: HOST_CFLAGS += $(LIB_PIC) $(LIB_MSG_CFLAGS)
$(LIB_MSG): $(B)/lib/msg/hsmg_msg.o
	$(LIB_AR)
