#!/usr/bin/python3
"""Sign with one token key in a loop while the database goes away and back.

   signer.py LABEL SECONDS STOPFILE

Logs in once, finds the private key LABEL once (a lookup in the store),
then signs (C_SignInit + C_Sign, ECDSA over a SHA-256 hash) until SECONDS
have passed or STOPFILE exists, verifying every signature with the public
key.  Prints "signer: N signatures, E errors" and exits 1 when E > 0 or N == 0.
"""
import hashlib
import os
import sys
import time

import PyKCS11

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
label, seconds, stopfile = sys.argv[1], float(sys.argv[2]), sys.argv[3]
lib = PyKCS11.PyKCS11Lib()
lib.load(os.path.join(REPO, "build", "hsmgroup-pkcs11.so"))
slot = lib.getSlotList(tokenPresent=True)[0]
s = lib.openSession(slot, PyKCS11.CKF_SERIAL_SESSION | PyKCS11.CKF_RW_SESSION)
s.login("12345678")
priv = s.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY), (PyKCS11.CKA_LABEL, label)])[0]
pub = s.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_PUBLIC_KEY), (PyKCS11.CKA_LABEL, label)])[0]
print("signer: key found, signing", flush=True)
n = errors = 0
end = time.time() + seconds
while time.time() < end and not os.path.exists(stopfile):
    h = hashlib.sha256(b"multihost %d" % n).digest()
    try:
        sig = s.sign(priv, h, PyKCS11.Mechanism(PyKCS11.CKM_ECDSA))
        if not s.verify(pub, h, sig, PyKCS11.Mechanism(PyKCS11.CKM_ECDSA)):
            raise RuntimeError("signature %d does not verify" % n)
        n += 1
    except Exception as e:  # any error counts: the application would see it
        errors += 1
        print("signer: error:", e, flush=True)
    time.sleep(0.05)
s.logout()
s.closeSession()
print("signer: %d signatures, %d errors" % (n, errors))
sys.exit(1 if errors or not n else 0)
