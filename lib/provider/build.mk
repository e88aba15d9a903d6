# lib/provider: the daemon around a queue provider's cards (provider.h):
# hsmsimd and hsmp11d are this plus how their cards are made.  Needs
# $(LIB_CARD).
LIB_PROVIDER := $(B)/lib/libhsmg-provider.a
LIB_PROVIDER_CFLAGS := -Ilib/provider $(LIB_CARD_CFLAGS)
LIB_PROVIDER_LIBS := $(LIB_CARD_LIBS)

$(B)/lib/provider/%.o: HOST_CFLAGS += $(LIB_PROVIDER_CFLAGS)
$(LIB_PROVIDER): $(B)/lib/provider/provider.o
	$(LIB_AR)
