# tests/unit: host unit tests (Check), run by `make unit` through scripts/run-unit.
#   test_msg   the message codec (lib/msg/hsmg_msg.c)
#   test_card  the card's request processing (lib/card)
#   test_p11card  the card over PKCS#11 tokens (SoftHSM)

UNIT_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null) $(LIB_CARD_CFLAGS)
UNIT_LIBS := $(shell pkg-config --libs check 2>/dev/null) $(LIB_CARD_LIBS)

$(B)/tests/unit/%.o: HOST_CFLAGS += $(UNIT_CFLAGS)

$(B)/tests/unit/test_msg: $(B)/tests/unit/test_msg.o $(LIB_MSG)
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS) $(UNIT_LIBS)

$(B)/tests/unit/test_card: $(B)/tests/unit/test_card.o $(LIB_CARD) $(LIB_MSG)
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS) $(UNIT_LIBS)

UNIT_TESTS += $(B)/tests/unit/test_msg $(B)/tests/unit/test_card

# Per-mechanism card tests (test_card_<family>), helpers in card_util.h.
CARD_UNIT_TESTS := $(B)/tests/unit/test_card_aes $(B)/tests/unit/test_card_mac \
	$(B)/tests/unit/test_card_wrap $(B)/tests/unit/test_card_rsa $(B)/tests/unit/test_card_ec
$(CARD_UNIT_TESTS): $(B)/tests/unit/%: $(B)/tests/unit/%.o $(LIB_CARD) $(LIB_MSG)
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS) $(UNIT_LIBS)

UNIT_TESTS += $(CARD_UNIT_TESTS)

# The card over vendor tokens (lib/card/p11*.c), SoftHSM's tokens as members.
$(B)/tests/unit/test_p11card: $(B)/tests/unit/test_p11card.o $(LIB_CARD) $(LIB_MSG)
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDFLAGS) $(UNIT_LIBS) -ldl
UNIT_TESTS += $(B)/tests/unit/test_p11card
