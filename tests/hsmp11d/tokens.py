#!/usr/bin/python3
"""Make SoftHSM tokens that can be hsmp11d members (in $SOFTHSM2_CONF's directory).

    tokens.py SO_PIN USER_PIN LABEL=KEY [LABEL=KEY ...]
    tokens.py --rekey SO_PIN LABEL=KEY     the token's group key replaced

KEY is the group key in hex (32 bytes: AES-256; 16: an AES-128 key, which
hsmp11d must refuse), or "none" for a token without one.  The key is created
as the vendor's cloning would put it: by the SO, CKA_TRUSTED, wrap/unwrap
only, not extractable, labelled hsmgroup-wrap.
"""
import sys

import PyKCS11 as P

SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"


def free_slot(lib):
    for s in lib.getSlotList(tokenPresent=True):
        if not lib.getTokenInfo(s).flags & P.CKF_TOKEN_INITIALIZED:
            return s
    raise SystemExit("tokens.py: no free SoftHSM slot")


def slot_of(lib, label):
    for s in lib.getSlotList(tokenPresent=True):
        if lib.getTokenInfo(s).label.strip() == label:
            return s
    raise SystemExit(f"tokens.py: no token {label} after initialising it")


def group_key(s, key):
    s.createObject([
        (P.CKA_CLASS, P.CKO_SECRET_KEY), (P.CKA_KEY_TYPE, P.CKK_AES),
        (P.CKA_VALUE, bytes.fromhex(key)), (P.CKA_TOKEN, True),
        (P.CKA_PRIVATE, False), (P.CKA_TRUSTED, True), (P.CKA_WRAP, True),
        (P.CKA_UNWRAP, True), (P.CKA_EXTRACTABLE, False),
        (P.CKA_SENSITIVE, True), (P.CKA_LABEL, "hsmgroup-wrap"),
        # Wrapping only: a group key that decrypts gives wrapped keys out in clear.
        (P.CKA_ENCRYPT, False), (P.CKA_DECRYPT, False), (P.CKA_SIGN, False),
        (P.CKA_VERIFY, False)])


def main():
    lib = P.PyKCS11Lib()
    lib.load(SOFTHSM)
    if sys.argv[1] == "--rekey":
        label, key = sys.argv[3].split("=", 1)
        s = lib.openSession(slot_of(lib, label), P.CKF_SERIAL_SESSION | P.CKF_RW_SESSION)
        s.login(sys.argv[2], P.CKU_SO)
        for o in s.findObjects([(P.CKA_LABEL, "hsmgroup-wrap")]):
            s.destroyObject(o)
        group_key(s, key)
        s.logout()
        s.closeSession()
        return
    so_pin, user_pin = sys.argv[1], sys.argv[2]
    for spec in sys.argv[3:]:
        label, key = spec.split("=", 1)
        lib.initToken(free_slot(lib), so_pin, label.ljust(32))
        s = lib.openSession(slot_of(lib, label), P.CKF_SERIAL_SESSION | P.CKF_RW_SESSION)
        s.login(so_pin, P.CKU_SO)
        s.initPin(user_pin)
        if key != "none":
            group_key(s, key)
        s.logout()
        s.closeSession()


if __name__ == "__main__":
    main()
