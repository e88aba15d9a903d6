# common/: code shared by libp11shim, tools and tests (message codec).
# Link $(COMMON_OBJS) into any program that builds or parses messages.

COMMON_OBJS := $(B)/common/hsmg_msg.o
