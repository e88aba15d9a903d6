# lib/card: the coprocessor card (request processing, key and state blobs,
# sessions, pin-blobs) with its OpenSSL crypto, built into $(LIB_CARD);
# hsmsimd serves it on /dev/hsmgroup-backend, the unit tests and the
# benchmark call it in-process, the PKCS#11 module verifies with its
# public-key code (pk.c).  Needs $(LIB_MSG).
LIB_CARD := $(B)/lib/libhsmg-card.a
LIB_CARD_CFLAGS := -Ilib/card $(LIB_MSG_CFLAGS) \
	$(shell pkg-config --cflags libcrypto p11-kit-1 2>/dev/null)
LIB_CARD_LIBS := $(shell pkg-config --libs libcrypto 2>/dev/null) -lpthread -ldl $(LIB_MSG_LIBS)
LIB_CARD_OBJS := $(patsubst %,$(B)/lib/card/%.o,core blob auth ossl ossl_keys ossl_gen ossl_cipher ossl_sig \
	ossl_wrap ossl_digest hashstate aesmode pk p11 p11_ops)

$(B)/lib/card/%.o: HOST_CFLAGS += $(LIB_PIC) $(LIB_CARD_CFLAGS)
$(LIB_CARD): $(LIB_CARD_OBJS)
	$(LIB_AR)
