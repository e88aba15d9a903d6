#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""PyKCS11 suite against hsmgroup-pkcs11.so, in the guest with cards:

    scripts/vm --cards 3 -- /usr/bin/python3 tests/e2e/pykcs11_test.py

Every PKCS#11 function the module implements, through PyKCS11 (Debian's
python3-pykcs11, importable only by /usr/bin/python3), with results checked
against Python's own cryptography (hashlib, the 'cryptography' package), and
the bad inputs a client can make (invalid handles, wrong session states,
private objects before login).  Operations whose mechanism the token does
not list are skipped, saying so.  C_CopyObject, which PyKCS11 does not wrap,
is called through ctypes on the same loaded module.

Ends with the line "pykcs11: N passed, M failed"; exit 77 when it cannot run.
"""
import ctypes
import hashlib
import os
import sys
import tempfile
import unittest

try:
    import PyKCS11
    from PyKCS11 import (ckbytelist, Mechanism, PyKCS11Error, AES_GCM_Mechanism,
                         RSAOAEPMechanism, RSA_PSS_Mechanism, ECDH1_DERIVE_Mechanism)
    from PyKCS11.LowLevel import *  # noqa: F401,F403 (CK* constants)
except ImportError as e:
    print("pykcs11: SKIP: PyKCS11 not importable (%s); run with /usr/bin/python3" % e)
    sys.exit(77)

try:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
    HAVE_CRYPTOGRAPHY = True
except ImportError:
    HAVE_CRYPTOGRAPHY = False

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# E2E_MODULE: another module (e.g. SoftHSM, to check the tests themselves).
MODULE = os.environ.get("E2E_MODULE") or os.path.join(REPO, "build", "hsmgroup-pkcs11.so")
SO_PIN = "87654321"
USER_PIN = "12345678"
LABEL = "e2e-pykcs11"

if not os.environ.get("E2E_MODULE") and not os.path.exists("/dev/hsmgroup"):
    print("pykcs11: SKIP: /dev/hsmgroup missing (run in the guest: scripts/vm --cards 3 -- tests/e2e/run)")
    sys.exit(77)
if not os.path.exists(MODULE):
    print("pykcs11: SKIP: %s is not built (make)" % MODULE)
    sys.exit(77)
if "HSMGROUP_TOKEN_DIR" not in os.environ:
    os.environ["HSMGROUP_TOKEN_DIR"] = tempfile.mkdtemp(prefix="e2e-pykcs11-tokens.")
os.environ.setdefault("HSMGROUP_PIN_ITERATIONS", "1000")

CKM_AES_KEY_WRAP_PAD_ = 0x210A
CKM_AES_CMAC_ = 0x108A
CKM_AES_CTR_ = 0x1086
CKM_SHA256_HMAC_ = 0x251

lib = PyKCS11.PyKCS11Lib()
lib.load(MODULE)
SLOT = None
MECHS = set()
# ctypes view of the same module (dlopen gives the same instance).
_cdll = ctypes.CDLL(MODULE)


class CK_ATTRIBUTE_C(ctypes.Structure):
    _fields_ = [("type", ctypes.c_ulong), ("pValue", ctypes.c_void_p),
                ("ulValueLen", ctypes.c_ulong)]


def _fn(index, *argtypes):
    """Entry number index of the module's CK_FUNCTION_LIST."""
    fl = ctypes.POINTER(ctypes.c_void_p)()
    rv = _cdll.C_GetFunctionList(ctypes.byref(fl))
    assert rv == 0, rv
    # CK_VERSION (2 bytes), padded to a pointer, then the entries in order.
    addr = ctypes.cast(fl, ctypes.c_void_p).value + ctypes.sizeof(ctypes.c_void_p) * (1 + index)
    ptr = ctypes.c_void_p.from_address(addr).value
    return ctypes.CFUNCTYPE(ctypes.c_ulong, *argtypes)(ptr)


C_CopyObject = _fn(21, ctypes.c_ulong, ctypes.c_ulong, ctypes.POINTER(CK_ATTRIBUTE_C),
                   ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong))
C_GetObjectSize = _fn(23, ctypes.c_ulong, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong))
# PyKCS11 hides some CK_RVs (an attribute that is sensitive or invalid comes
# back as None; openSession always adds CKF_SERIAL_SESSION): raw calls.
C_GetAttributeValue = _fn(24, ctypes.c_ulong, ctypes.c_ulong, ctypes.POINTER(CK_ATTRIBUTE_C), ctypes.c_ulong)
C_OpenSession = _fn(12, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_void_p,
                    ctypes.POINTER(ctypes.c_ulong))
C_CloseSession = _fn(13, ctypes.c_ulong)
C_GetSessionInfo = _fn(15, ctypes.c_ulong, ctypes.c_void_p)
C_Logout = _fn(19, ctypes.c_ulong)


def raw_getattr_rv(session, o, attr):
    """CK_RV of a length query of one attribute."""
    a = (CK_ATTRIBUTE_C * 1)(CK_ATTRIBUTE_C(attr, None, 0))
    return C_GetAttributeValue(hval(session.session), hval(o), a, 1)


def rv_of(func, *args):
    """The CK_RV a PyKCS11 call raised (CKR_OK when it did not raise)."""
    try:
        func(*args)
    except PyKCS11Error as e:
        return e.value
    return CKR_OK


def hval(h):
    return h.value() if hasattr(h, "value") else int(h)


def obj(session, value):
    o = PyKCS11.CK_OBJECT_HANDLE(session)
    o.assign(value)
    return o


def mech_info(m):
    """C_GetMechanismInfo by number (PyKCS11's getMechanismInfo wants a name)."""
    info = PyKCS11.LowLevel.CK_MECHANISM_INFO()
    rv = lib.lib.C_GetMechanismInfo(SLOT, m, info)
    if rv != CKR_OK:
        raise PyKCS11Error(rv)
    return info


def setUpModule():
    global SLOT, MECHS
    slots = lib.getSlotList(tokenPresent=True)
    if not slots:
        raise unittest.SkipTest("no slot with a token (are the cards running?)")
    SLOT = slots[0]
    lib.initToken(SLOT, SO_PIN, LABEL)
    # (some modules move an initialised token to a new slot: find it by label)
    for sl in lib.getSlotList(tokenPresent=True):
        if lib.getTokenInfo(sl).label.split("\0")[0].strip() == LABEL:
            SLOT = sl
    s = lib.openSession(SLOT, CKF_SERIAL_SESSION | CKF_RW_SESSION)
    s.login(SO_PIN, user_type=CKU_SO)
    s.initPin(USER_PIN)
    s.logout()
    s.closeSession()
    # PyKCS11 gives names ("CKM_SHA256") for the mechanisms it knows.
    MECHS = set(PyKCS11.CKM.get(m, m) if isinstance(m, str) else m for m in lib.getMechanismList(SLOT))


def need(*mechs):
    for m in mechs:
        if m not in MECHS and PyKCS11.CKM.get(m, m) not in MECHS:
            raise unittest.SkipTest("token does not list %s" % PyKCS11.CKM.get(m, hex(m) if isinstance(m, int) else m))


class Base(unittest.TestCase):
    """A R/W session, logged in as the user unless login = False."""
    login = True

    def setUp(self):
        lib.closeAllSessions(SLOT)  # no login state left by a failed test
        self.s = lib.openSession(SLOT, CKF_SERIAL_SESSION | CKF_RW_SESSION)
        if self.login:
            self.s.login(USER_PIN)

    def tearDown(self):
        try:
            if self.login:
                self.s.logout()
        except PyKCS11Error:
            pass
        try:
            self.s.closeSession()
        except PyKCS11Error:
            pass

    def assertRV(self, rv, func, *args):
        got = rv_of(func, *args)
        self.assertEqual(got, rv, "expected %s, got %s" % (PyKCS11.CKR.get(rv, rv), PyKCS11.CKR.get(got, got)))

    def aes_key(self, length=32, label="aes", token=False, **extra):
        need(CKM_AES_KEY_GEN)
        t = {CKA_CLASS: CKO_SECRET_KEY, CKA_KEY_TYPE: CKK_AES, CKA_VALUE_LEN: length,
             CKA_LABEL: label, CKA_TOKEN: token, CKA_PRIVATE: True, CKA_SENSITIVE: True,
             CKA_ENCRYPT: True, CKA_DECRYPT: True}
        t.update((getattr(PyKCS11.LowLevel, k), v) for k, v in extra.items())
        return self.s.generateKey(list(t.items()), Mechanism(CKM_AES_KEY_GEN))

    def ec_pair(self, curve_oid_der, label="ec", token=False, derive=False):
        need(CKM_EC_KEY_PAIR_GEN)
        pub = [(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_TOKEN, token),
               (CKA_EC_PARAMS, curve_oid_der), (CKA_VERIFY, True), (CKA_LABEL, label)]
        priv = [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_TOKEN, token),
                (CKA_PRIVATE, True), (CKA_SENSITIVE, True), (CKA_SIGN, True), (CKA_LABEL, label)]
        if derive:
            priv.append((CKA_DERIVE, True))
        return self.s.generateKeyPair(pub, priv, Mechanism(CKM_EC_KEY_PAIR_GEN))

    def ec_point(self, pub):
        raw = bytes(self.s.getAttributeValue(pub, [CKA_EC_POINT], allAsBinary=True)[0])
        # DER OCTET STRING around the uncompressed point.
        if raw[0] == 0x04 and raw[1] < 0x80 and len(raw) == raw[1] + 2:
            return raw[2:]
        if raw[0] == 0x04 and raw[1] == 0x81 and len(raw) == raw[2] + 3:
            return raw[3:]
        return raw

    # Multi-part helpers on the low-level API; output buffers are always given
    # (PyKCS11 turns an empty one into a length query).
    def _call_out(self, fn, *args, room=0):
        out = ckbytelist([0] * (room + 64))
        rv = fn(self.s.session, *args, out)
        if rv != CKR_OK:
            raise PyKCS11Error(rv)
        return bytes(out)

    def multi(self, kind, key, mech, parts):
        ll = self.s.lib
        init = getattr(ll, "C_%sInit" % kind)
        update = getattr(ll, "C_%sUpdate" % kind)
        final = getattr(ll, "C_%sFinal" % kind)
        rv = init(self.s.session, mech.to_native(), key)
        if rv != CKR_OK:
            raise PyKCS11Error(rv)
        out = b""
        for p in parts:
            if kind in ("Encrypt", "Decrypt"):
                # (room for all: a module may release held-back text at any part)
                out += self._call_out(update, ckbytelist(p), room=sum(len(q) for q in parts) + 32)
            else:
                rv = update(self.s.session, ckbytelist(p))
                if rv != CKR_OK:
                    raise PyKCS11Error(rv)
        if kind == "Verify":
            return None
        return out + self._call_out(final, room=sum(len(p) for p in parts) + 600)


P256 = bytes.fromhex("06082a8648ce3d030107")
P384 = bytes.fromhex("06052b81040022")
P521 = bytes.fromhex("06052b81040023")
CURVES = {"P-256": (P256, 256, "SECP256R1", hashes.SHA256 if HAVE_CRYPTOGRAPHY else None),
          "P-384": (P384, 384, "SECP384R1", hashes.SHA384 if HAVE_CRYPTOGRAPHY else None),
          "P-521": (P521, 521, "SECP521R1", hashes.SHA512 if HAVE_CRYPTOGRAPHY else None)}


# --------------------------------------------------------------------------
class T01General(unittest.TestCase):
    def test_getinfo(self):
        i = lib.getInfo()
        self.assertEqual(i.manufacturerID.strip(), "hsmgroup")
        self.assertIn(tuple(i.cryptokiVersion)[0], (2, 3))

    def test_slots(self):
        all_slots = lib.getSlotList(tokenPresent=False)
        present = lib.getSlotList(tokenPresent=True)
        self.assertIn(SLOT, all_slots)
        self.assertIn(SLOT, present)
        si = lib.getSlotInfo(SLOT)
        self.assertTrue(si.flags & CKF_TOKEN_PRESENT)
        self.assertTrue(si.flags & CKF_HW_SLOT)
        self.assertIn("hsmgroup", si.slotDescription)

    def test_slot_invalid(self):
        self.assertEqual(rv_of(lib.getSlotInfo, 0xdead), CKR_SLOT_ID_INVALID)
        self.assertEqual(rv_of(lib.getTokenInfo, 0xdead), CKR_SLOT_ID_INVALID)
        self.assertEqual(rv_of(lib.openSession, 0xdead), CKR_SLOT_ID_INVALID)
        self.assertEqual(rv_of(lib.getMechanismList, 0xdead), CKR_SLOT_ID_INVALID)

    def test_token_info(self):
        ti = lib.getTokenInfo(SLOT)
        # (PyKCS11's C_InitToken passes the label unpadded: cut at the NUL)
        self.assertEqual(ti.label.split("\0")[0].strip(), LABEL)
        for f in (CKF_TOKEN_INITIALIZED, CKF_LOGIN_REQUIRED, CKF_USER_PIN_INITIALIZED, CKF_RNG):
            self.assertTrue(ti.flags & f, "token flag %s missing" % PyKCS11.CKF.get(f, f))
        self.assertEqual(len(ti.serialNumber.strip()), 16)
        self.assertEqual(ti.manufacturerID.strip(), "hsmgroup")

    def test_mechanisms(self):
        for m in (CKM_SHA256, CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKM_AES_KEY_GEN, CKM_AES_GCM):
            self.assertIn(m, MECHS, PyKCS11.CKM[m])
        mi = mech_info(CKM_EC_KEY_PAIR_GEN)
        self.assertTrue(mi.flags & CKF_GENERATE_KEY_PAIR)
        self.assertGreaterEqual(mi.ulMaxKeySize, 256)
        mi = mech_info(CKM_AES_GCM)
        self.assertTrue(mi.flags & CKF_ENCRYPT and mi.flags & CKF_DECRYPT)
        mi = mech_info(CKM_SHA256)
        self.assertTrue(mi.flags & CKF_DIGEST)
        self.assertEqual(rv_of(mech_info, 0x7fff0000), CKR_MECHANISM_INVALID)

    def test_wait_for_slot_event_nonblocking(self):
        # No event pending: CKR_NO_EVENT (or not supported).
        rv = rv_of(lib.waitForSlotEvent, CKF_DONT_BLOCK)
        self.assertIn(rv, (CKR_NO_EVENT, CKR_OK, CKR_FUNCTION_NOT_SUPPORTED))

    def test_wrong_so_pin_on_init_token(self):
        self.assertEqual(rv_of(lib.initToken, SLOT, "00000000", LABEL), CKR_PIN_INCORRECT)


# --------------------------------------------------------------------------
class T02Sessions(unittest.TestCase):
    def setUp(self):
        lib.closeAllSessions(SLOT)

    def test_states(self):
        ro = lib.openSession(SLOT, CKF_SERIAL_SESSION)
        rw = lib.openSession(SLOT, CKF_SERIAL_SESSION | CKF_RW_SESSION)
        self.assertEqual(ro.getSessionInfo().state, CKS_RO_PUBLIC_SESSION)
        self.assertEqual(rw.getSessionInfo().state, CKS_RW_PUBLIC_SESSION)
        rw.login(USER_PIN)
        # Login state is per application: every session sees it.
        self.assertEqual(ro.getSessionInfo().state, CKS_RO_USER_FUNCTIONS)
        self.assertEqual(rw.getSessionInfo().state, CKS_RW_USER_FUNCTIONS)
        self.assertEqual(rv_of(rw.login, USER_PIN), CKR_USER_ALREADY_LOGGED_IN)
        # (a R/O session is open too: either answer is right)
        self.assertIn(rv_of(rw.login, SO_PIN, CKU_SO),
                      (CKR_USER_ANOTHER_ALREADY_LOGGED_IN, CKR_SESSION_READ_ONLY_EXISTS))
        rw.logout()
        self.assertEqual(ro.getSessionInfo().state, CKS_RO_PUBLIC_SESSION)
        self.assertEqual(rv_of(rw.logout), CKR_USER_NOT_LOGGED_IN)
        # SO login with a read-only session open.
        self.assertEqual(rv_of(rw.login, SO_PIN, CKU_SO), CKR_SESSION_READ_ONLY_EXISTS)
        ro.closeSession()
        rw.login(SO_PIN, CKU_SO)
        self.assertEqual(rw.getSessionInfo().state, CKS_RW_SO_FUNCTIONS)
        # No read-only session while the SO is logged in.
        self.assertEqual(rv_of(lib.openSession, SLOT, CKF_SERIAL_SESSION), CKR_SESSION_READ_WRITE_SO_EXISTS)
        rw.logout()
        rw.closeSession()

    def test_serial_flag_required(self):
        h = ctypes.c_ulong(0)
        self.assertEqual(C_OpenSession(SLOT, 0, None, None, ctypes.byref(h)), CKR_SESSION_PARALLEL_NOT_SUPPORTED)

    def test_invalid_session_handle(self):
        si = ctypes.create_string_buffer(64)
        self.assertEqual(C_GetSessionInfo(0xdead, si), CKR_SESSION_HANDLE_INVALID)
        self.assertEqual(C_CloseSession(0xdead), CKR_SESSION_HANDLE_INVALID)
        self.assertEqual(C_Logout(0xdead), CKR_SESSION_HANDLE_INVALID)

    def test_closed_session_is_invalid(self):
        s = lib.openSession(SLOT)
        h = s.session
        s.closeSession()
        si = ctypes.create_string_buffer(64)
        self.assertEqual(C_GetSessionInfo(hval(h), si), CKR_SESSION_HANDLE_INVALID)

    def test_close_all_sessions(self):
        a = lib.openSession(SLOT)
        b = lib.openSession(SLOT)
        ha, hb = a.session, b.session
        lib.closeAllSessions(SLOT)
        si = ctypes.create_string_buffer(64)
        self.assertEqual(C_GetSessionInfo(hval(ha), si), CKR_SESSION_HANDLE_INVALID)
        self.assertEqual(C_GetSessionInfo(hval(hb), si), CKR_SESSION_HANDLE_INVALID)

    def test_wrong_pin(self):
        s = lib.openSession(SLOT, CKF_SERIAL_SESSION | CKF_RW_SESSION)
        self.assertEqual(rv_of(s.login, "99999999"), CKR_PIN_INCORRECT)
        s.login(USER_PIN)  # a good login resets the counter
        s.logout()
        s.closeSession()

    def test_set_pin(self):
        s = lib.openSession(SLOT, CKF_SERIAL_SESSION | CKF_RW_SESSION)
        s.login(USER_PIN)
        self.assertEqual(rv_of(s.setPin, "00000000", "11112222"), CKR_PIN_INCORRECT)
        s.setPin(USER_PIN, "11112222")
        s.logout()
        self.assertEqual(rv_of(s.login, USER_PIN), CKR_PIN_INCORRECT)
        s.login("11112222")
        s.setPin("11112222", USER_PIN)
        s.logout()
        s.login(USER_PIN)
        s.logout()
        s.closeSession()

    def test_init_pin_needs_so(self):
        s = lib.openSession(SLOT, CKF_SERIAL_SESSION | CKF_RW_SESSION)
        self.assertIn(rv_of(s.initPin, USER_PIN), (CKR_USER_NOT_LOGGED_IN,))
        s.login(USER_PIN)
        self.assertEqual(rv_of(s.initPin, USER_PIN), CKR_USER_NOT_LOGGED_IN)
        s.logout()
        s.login(SO_PIN, CKU_SO)
        s.initPin(USER_PIN)  # the SO sets the user PIN again
        s.logout()
        s.closeSession()


# --------------------------------------------------------------------------
class T03Objects(Base):
    def data_tmpl(self, label, token=False, private=False, value=b"hello"):
        return [(CKA_CLASS, CKO_DATA), (CKA_TOKEN, token), (CKA_PRIVATE, private),
                (CKA_LABEL, label), (CKA_APPLICATION, "e2e"), (CKA_VALUE, value)]

    def test_create_find_get_set_destroy(self):
        for token in (False, True):
            label = "data-%s" % token
            o = self.s.createObject(self.data_tmpl(label, token=token, value=b"v" * 100))
            found = self.s.findObjects([(CKA_LABEL, label)])
            self.assertEqual([hval(x) for x in found], [hval(o)])
            v, l, t = self.s.getAttributeValue(o, [CKA_VALUE, CKA_LABEL, CKA_TOKEN])
            self.assertEqual(bytes(v), b"v" * 100)
            self.assertEqual(l, label)
            self.assertEqual(bool(t), token)
            self.s.setAttributeValue(o, [(CKA_LABEL, label + "-renamed")])
            self.assertEqual(self.s.getAttributeValue(o, [CKA_LABEL])[0], label + "-renamed")
            size = ctypes.c_ulong(0)
            self.assertEqual(C_GetObjectSize(hval(self.s.session), hval(o), ctypes.byref(size)), CKR_OK)
            self.s.destroyObject(o)
            self.assertEqual(self.s.findObjects([(CKA_LABEL, label + "-renamed")]), [])
            self.assertEqual(raw_getattr_rv(self.s, o, CKA_LABEL), CKR_OBJECT_HANDLE_INVALID)

    def test_copy_object(self):
        o = self.s.createObject(self.data_tmpl("to-copy"))
        label = b"copied"
        buf = ctypes.create_string_buffer(label, len(label))
        attrs = (CK_ATTRIBUTE_C * 1)(CK_ATTRIBUTE_C(CKA_LABEL, ctypes.cast(buf, ctypes.c_void_p), len(label)))
        newh = ctypes.c_ulong(0)
        rv = C_CopyObject(hval(self.s.session), hval(o), attrs, 1, ctypes.byref(newh))
        self.assertEqual(rv, CKR_OK, PyKCS11.CKR.get(rv, rv))
        self.assertNotEqual(newh.value, hval(o))
        c = obj(self.s, newh.value)
        v, l = self.s.getAttributeValue(c, [CKA_VALUE, CKA_LABEL])
        self.assertEqual((bytes(v), l), (b"hello", "copied"))
        rv = C_CopyObject(hval(self.s.session), 0xdead, attrs, 1, ctypes.byref(newh))
        self.assertEqual(rv, CKR_OBJECT_HANDLE_INVALID)
        self.s.destroyObject(c)
        self.s.destroyObject(o)

    def test_find_all_and_by_class(self):
        a = self.s.createObject(self.data_tmpl("find-a"))
        b = self.s.createObject(self.data_tmpl("find-b"))
        allh = [hval(x) for x in self.s.findObjects()]
        self.assertIn(hval(a), allh)
        self.assertIn(hval(b), allh)
        data = [hval(x) for x in self.s.findObjects([(CKA_CLASS, CKO_DATA), (CKA_APPLICATION, "e2e")])]
        self.assertIn(hval(a), data)
        self.assertEqual(self.s.findObjects([(CKA_LABEL, "no-such-object")]), [])
        self.s.destroyObject(a)
        self.s.destroyObject(b)

    def test_invalid_object_handle(self):
        self.assertEqual(raw_getattr_rv(self.s, obj(self.s, 0xdead), CKA_LABEL), CKR_OBJECT_HANDLE_INVALID)
        self.assertRV(CKR_OBJECT_HANDLE_INVALID, self.s.destroyObject, obj(self.s, 0xdead))
        self.assertRV(CKR_OBJECT_HANDLE_INVALID, self.s.setAttributeValue, obj(self.s, 0xdead), [(CKA_LABEL, "x")])

    def test_invalid_attribute(self):
        o = self.s.createObject(self.data_tmpl("attr"))
        self.assertEqual(raw_getattr_rv(self.s, o, 0x7fff0001), CKR_ATTRIBUTE_TYPE_INVALID)
        self.assertRV(CKR_ATTRIBUTE_READ_ONLY, self.s.setAttributeValue, o, [(CKA_CLASS, CKO_SECRET_KEY)])
        self.s.destroyObject(o)

    def test_template_checks(self):
        self.assertRV(CKR_TEMPLATE_INCOMPLETE, self.s.createObject, [(CKA_LABEL, "no-class")])
        self.assertRV(CKR_ATTRIBUTE_VALUE_INVALID, self.s.createObject, [(CKA_CLASS, 0x7fff)])

    def test_find_operation_state(self):
        ll = self.s.lib
        res = PyKCS11.LowLevel.ckobjlist(10)
        self.assertEqual(ll.C_FindObjects(self.s.session, res), CKR_OPERATION_NOT_INITIALIZED)
        self.assertEqual(ll.C_FindObjectsFinal(self.s.session), CKR_OPERATION_NOT_INITIALIZED)


class T04Visibility(Base):
    login = False

    def test_private_objects_hidden_before_login(self):
        self.s.login(USER_PIN)
        priv = self.s.createObject([(CKA_CLASS, CKO_DATA), (CKA_TOKEN, True), (CKA_PRIVATE, True),
                                    (CKA_LABEL, "private-data"), (CKA_VALUE, b"secret")])
        self.s.createObject([(CKA_CLASS, CKO_DATA), (CKA_TOKEN, True), (CKA_PRIVATE, False),
                                   (CKA_LABEL, "public-data"), (CKA_VALUE, b"open")])
        self.s.logout()
        self.assertEqual(self.s.findObjects([(CKA_LABEL, "private-data")]), [])
        self.assertEqual(len(self.s.findObjects([(CKA_LABEL, "public-data")])), 1)
        self.assertEqual(raw_getattr_rv(self.s, priv, CKA_VALUE), CKR_OBJECT_HANDLE_INVALID)
        # Creating a private object needs a login.
        self.assertRV(CKR_USER_NOT_LOGGED_IN, self.s.createObject,
                      [(CKA_CLASS, CKO_DATA), (CKA_PRIVATE, True), (CKA_LABEL, "x")])
        # So does key generation of a private key.
        self.assertRV(CKR_USER_NOT_LOGGED_IN, self.s.generateKey,
                      [(CKA_CLASS, CKO_SECRET_KEY), (CKA_VALUE_LEN, 32), (CKA_PRIVATE, True)],
                      Mechanism(CKM_AES_KEY_GEN))
        self.s.login(USER_PIN)
        found = self.s.findObjects([(CKA_LABEL, "private-data")])
        self.assertEqual(len(found), 1)
        self.s.destroyObject(found[0])
        self.s.destroyObject(self.s.findObjects([(CKA_LABEL, "public-data")])[0])
        self.s.logout()

    def test_read_only_session(self):
        ro = lib.openSession(SLOT, CKF_SERIAL_SESSION)
        ro.login(USER_PIN)
        self.assertEqual(rv_of(ro.createObject, [(CKA_CLASS, CKO_DATA), (CKA_TOKEN, True), (CKA_LABEL, "ro")]),
                         CKR_SESSION_READ_ONLY)
        # Session objects are allowed in R/O sessions.
        o = ro.createObject([(CKA_CLASS, CKO_DATA), (CKA_TOKEN, False), (CKA_LABEL, "ro-session")])
        ro.destroyObject(o)
        ro.logout()
        ro.closeSession()


# --------------------------------------------------------------------------
class T05Random(Base):
    login = False

    def test_random(self):
        a = bytes(self.s.generateRandom(64))
        b = bytes(self.s.generateRandom(64))
        self.assertEqual(len(a), 64)
        self.assertNotEqual(a, b)
        self.assertEqual(len(bytes(self.s.generateRandom(1))), 1)
        rv = rv_of(self.s.seedRandom, b"12345678")
        self.assertIn(rv, (CKR_OK, CKR_RANDOM_SEED_NOT_SUPPORTED))


class T06Digest(Base):
    login = False

    def test_digests_single_and_multi(self):
        data = os.urandom(5000)
        for m, h in ((CKM_SHA_1, "sha1"), (CKM_SHA224, "sha224"), (CKM_SHA256, "sha256"),
                     (CKM_SHA384, "sha384"), (CKM_SHA512, "sha512")):
            if m not in MECHS:
                continue
            with self.subTest(h=h):
                want = hashlib.new(h, data).digest()
                self.assertEqual(bytes(self.s.digest(data, Mechanism(m))), want)
                d = self.s.digestSession(Mechanism(m))
                for i in range(0, len(data), 777):
                    d.update(data[i:i + 777])
                self.assertEqual(bytes(d.final()), want)

    def test_digest_state_errors(self):
        ll = self.s.lib
        self.assertEqual(ll.C_DigestUpdate(self.s.session, ckbytelist(b"x")), CKR_OPERATION_NOT_INITIALIZED)
        self.assertRV(CKR_MECHANISM_INVALID, self.s.digest, b"x", Mechanism(0x7fff0000))
        # An operation already active.
        d = self.s.digestSession(Mechanism(CKM_SHA256))
        self.assertEqual(ll.C_DigestInit(self.s.session, Mechanism(CKM_SHA256).to_native()), CKR_OPERATION_ACTIVE)
        d.final()


# --------------------------------------------------------------------------
class T07AES(Base):
    def test_keygen_attributes(self):
        k = self.aes_key(32, label="aes-attr")
        cls, kt, vl, local, sens, ext = self.s.getAttributeValue(
            k, [CKA_CLASS, CKA_KEY_TYPE, CKA_VALUE_LEN, CKA_LOCAL, CKA_SENSITIVE, CKA_EXTRACTABLE])
        self.assertEqual((cls, kt, vl), (CKO_SECRET_KEY, CKK_AES, 32))
        self.assertTrue(local)
        self.assertEqual(raw_getattr_rv(self.s, k, CKA_VALUE), CKR_ATTRIBUTE_SENSITIVE)
        for n in (16, 24):
            self.aes_key(n)
        self.assertIn(rv_of(self.aes_key, 17), (CKR_ATTRIBUTE_VALUE_INVALID, CKR_KEY_SIZE_RANGE,
                                                 CKR_TEMPLATE_INCONSISTENT))

    def test_gcm_single_and_multi(self):
        need(CKM_AES_GCM)
        k = self.aes_key(32, label="gcm")
        iv = os.urandom(12)
        data = os.urandom(3000)
        mech = AES_GCM_Mechanism(iv, b"aad", 128)
        ct = bytes(self.s.encrypt(k, data, mech))
        self.assertEqual(len(ct), len(data) + 16)
        self.assertEqual(bytes(self.s.decrypt(k, ct, mech)), data)
        parts = [data[i:i + 1000] for i in range(0, len(data), 1000)]
        ct2 = self.multi("Encrypt", k, mech, parts)
        self.assertEqual(ct2, ct, "multi-part GCM ciphertext differs from single-part")
        pt = self.multi("Decrypt", k, mech, [ct[i:i + 700] for i in range(0, len(ct), 700)])
        self.assertEqual(pt, data)
        bad = bytearray(ct)
        bad[-1] ^= 1
        self.assertRV(CKR_ENCRYPTED_DATA_INVALID, self.s.decrypt, k, bytes(bad), mech)
        # Wrong AAD also fails the tag.
        self.assertRV(CKR_ENCRYPTED_DATA_INVALID, self.s.decrypt, k, ct, AES_GCM_Mechanism(iv, b"AAD", 128))

    def test_modes(self):
        k = self.aes_key(32, label="modes")
        data = os.urandom(4096)
        iv = os.urandom(16)
        tried = 0
        for m, param in ((CKM_AES_ECB, None), (CKM_AES_CBC, iv), (CKM_AES_CBC_PAD, iv)):
            if m not in MECHS:
                continue
            tried += 1
            with self.subTest(m=PyKCS11.CKM[m]):
                mech = Mechanism(m, param)
                ct = bytes(self.s.encrypt(k, data, mech))
                self.assertEqual(bytes(self.s.decrypt(k, ct, mech)), data)
                ct2 = self.multi("Encrypt", k, mech, [data[i:i + 1000] for i in range(0, len(data), 1000)])
                self.assertEqual(ct2, ct)
                pt = self.multi("Decrypt", k, mech, [ct[i:i + 333] for i in range(0, len(ct), 333)])
                self.assertEqual(pt, data)
        if CKM_AES_CTR_ in MECHS:
            tried += 1
            # CK_AES_CTR_PARAMS: ulCounterBits (unsigned long) + 16-byte counter block.
            param = (128).to_bytes(ctypes.sizeof(ctypes.c_ulong), sys.byteorder) + iv
            mech = Mechanism(CKM_AES_CTR_, param)
            ct = bytes(self.s.encrypt(k, data[:1001], mech))
            self.assertEqual(len(ct), 1001)
            self.assertEqual(bytes(self.s.decrypt(k, ct, mech)), data[:1001])
        if not tried:
            self.skipTest("token lists no AES ECB/CBC/CTR mode")
        if CKM_AES_CBC in MECHS:
            self.assertRV(CKR_DATA_LEN_RANGE, self.s.encrypt, k, data[:15], Mechanism(CKM_AES_CBC, iv))

    def test_usage_enforced(self):
        k = self.aes_key(32, label="no-encrypt", CKA_ENCRYPT=False, CKA_DECRYPT=False)
        self.assertRV(CKR_KEY_FUNCTION_NOT_PERMITTED, self.s.encrypt, k, b"x" * 16,
                      AES_GCM_Mechanism(os.urandom(12), b"", 128))

    def test_crypto_state_errors(self):
        ll = self.s.lib
        out = ckbytelist([0] * 64)
        self.assertEqual(ll.C_EncryptUpdate(self.s.session, ckbytelist(b"x" * 16), out), CKR_OPERATION_NOT_INITIALIZED)
        self.assertEqual(ll.C_DecryptFinal(self.s.session, out), CKR_OPERATION_NOT_INITIALIZED)
        self.assertEqual(ll.C_SignUpdate(self.s.session, ckbytelist(b"x")), CKR_OPERATION_NOT_INITIALIZED)
        self.assertEqual(ll.C_VerifyFinal(self.s.session, ckbytelist(b"x" * 64)), CKR_OPERATION_NOT_INITIALIZED)
        k = self.aes_key(32)
        self.assertRV(CKR_KEY_HANDLE_INVALID, self.s.encrypt, obj(self.s, 0xdead), b"x" * 16,
                      AES_GCM_Mechanism(os.urandom(12), b"", 128))
        self.assertRV(CKR_MECHANISM_INVALID, self.s.encrypt, k, b"x" * 16, Mechanism(0x7fff0000))
        # An AES key for ECDSA.
        self.assertRV(CKR_KEY_TYPE_INCONSISTENT, self.s.sign, k, b"x" * 32, Mechanism(CKM_ECDSA))

    def test_token_key_persists_across_sessions(self):
        k = self.aes_key(32, label="persist-aes", token=True)
        s2 = lib.openSession(SLOT)
        found = s2.findObjects([(CKA_LABEL, "persist-aes"), (CKA_CLASS, CKO_SECRET_KEY)])
        self.assertEqual(len(found), 1)
        mech = AES_GCM_Mechanism(b"\0" * 12, b"", 128)
        ct = bytes(self.s.encrypt(k, b"p" * 32, mech))
        self.assertEqual(bytes(s2.decrypt(found[0], ct, mech)), b"p" * 32)
        s2.closeSession()
        self.s.destroyObject(k)


# --------------------------------------------------------------------------
class T08EC(Base):
    def curve_test(self, name):
        oid, bits, cname, hcls = CURVES[name]
        mi = mech_info(CKM_EC_KEY_PAIR_GEN) if CKM_EC_KEY_PAIR_GEN in MECHS else None
        if mi is None or mi.ulMaxKeySize < bits:
            self.skipTest("token does not generate %s keys" % name)
        pub, priv = self.ec_pair(oid, label="ec-" + name)
        point = self.ec_point(pub)
        self.assertEqual(point[0], 4)
        self.assertEqual(raw_getattr_rv(self.s, priv, CKA_VALUE), CKR_ATTRIBUTE_SENSITIVE)
        data = os.urandom(2000)
        hname = {256: "sha256", 384: "sha384", 521: "sha512"}[bits]
        mech_h = {256: CKM_ECDSA_SHA256, 384: 0x1045, 521: 0x1046}[bits]
        digest = hashlib.new(hname, data).digest()
        sigs = []
        sig = bytes(self.s.sign(priv, digest, Mechanism(CKM_ECDSA)))
        self.assertEqual(len(sig), 2 * ((bits + 7) // 8))
        self.s.verify(pub, digest, sig, Mechanism(CKM_ECDSA))
        sigs.append(sig)
        if mech_h in MECHS:
            sig = bytes(self.s.sign(priv, data, Mechanism(mech_h)))
            self.s.verify(pub, data, sig, Mechanism(mech_h))
            sigs.append(sig)
            sig = self.multi("Sign", priv, Mechanism(mech_h), [data[:700], data[700:]])
            self.multi("Verify", pub, Mechanism(mech_h), [data[:1], data[1:]])
            rv = self.s.lib.C_VerifyFinal(self.s.session, ckbytelist(sig))
            self.assertEqual(rv, CKR_OK)
            sigs.append(sig)
        bad = bytearray(sigs[0])
        bad[5] ^= 1
        self.assertRV(CKR_SIGNATURE_INVALID, self._verify_raw, pub, digest, bytes(bad))
        self.assertRV(CKR_SIGNATURE_LEN_RANGE, self._verify_raw, pub, digest, sigs[0][:-1])
        if HAVE_CRYPTOGRAPHY:
            key = ec.EllipticCurvePublicKey.from_encoded_point(getattr(ec, cname)(), point)
            n = (bits + 7) // 8
            for s in sigs:
                der = utils.encode_dss_signature(int.from_bytes(s[:n], "big"), int.from_bytes(s[n:], "big"))
                key.verify(der, data, ec.ECDSA(hcls()))

    def _verify_raw(self, pub, data, sig):
        ll = self.s.lib
        rv = ll.C_VerifyInit(self.s.session, Mechanism(CKM_ECDSA).to_native(), pub)
        if rv == CKR_OK:
            rv = ll.C_Verify(self.s.session, ckbytelist(data), ckbytelist(sig))
        if rv != CKR_OK:
            raise PyKCS11Error(rv)

    def test_p256(self):
        self.curve_test("P-256")

    def test_p384(self):
        self.curve_test("P-384")

    def test_p521(self):
        self.curve_test("P-521")

    def test_bad_curve(self):
        need(CKM_EC_KEY_PAIR_GEN)
        self.assertIn(rv_of(self.ec_pair, bytes.fromhex("06052b8104000a")),  # secp256k1
                      (CKR_CURVE_NOT_SUPPORTED if "CKR_CURVE_NOT_SUPPORTED" in dir(PyKCS11.LowLevel) else 0x140,
                       CKR_ATTRIBUTE_VALUE_INVALID, CKR_TEMPLATE_INCONSISTENT, CKR_DOMAIN_PARAMS_INVALID))

    def test_sign_with_public_key_refused(self):
        pub, priv = self.ec_pair(P256)
        self.assertIn(rv_of(self.s.sign, pub, b"x" * 32, Mechanism(CKM_ECDSA)),
                      (CKR_KEY_TYPE_INCONSISTENT, CKR_KEY_FUNCTION_NOT_PERMITTED))

    def test_import_public_key_and_verify(self):
        if not HAVE_CRYPTOGRAPHY:
            self.skipTest("python3-cryptography missing")
        k = ec.generate_private_key(ec.SECP256R1())
        point = k.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        pub = self.s.createObject([(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_TOKEN, False),
                                   (CKA_EC_PARAMS, P256), (CKA_EC_POINT, b"\x04\x41" + point), (CKA_VERIFY, True)])
        digest = os.urandom(32)
        der = k.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        r, s = utils.decode_dss_signature(der)
        self.assertTrue(self.s.verify(pub, digest, r.to_bytes(32, "big") + s.to_bytes(32, "big"), Mechanism(CKM_ECDSA)))

    def test_ecdh_derive(self):
        need(CKM_EC_KEY_PAIR_GEN, CKM_ECDH1_DERIVE)
        pa, ka = self.ec_pair(P256, derive=True)
        pb, kb = self.ec_pair(P256, derive=True)
        tmpl = [(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE_LEN, 32), (CKA_TOKEN, False),
                (CKA_ENCRYPT, True), (CKA_DECRYPT, True), (CKA_SENSITIVE, True)]
        da = self.s.deriveKey(ka, tmpl, ECDH1_DERIVE_Mechanism(self.ec_point(pb)))
        db = self.s.deriveKey(kb, tmpl, ECDH1_DERIVE_Mechanism(self.ec_point(pa)))
        mech = AES_GCM_Mechanism(b"\0" * 12, b"", 128)
        self.assertEqual(bytes(self.s.encrypt(da, b"m" * 32, mech)), bytes(self.s.encrypt(db, b"m" * 32, mech)))


# --------------------------------------------------------------------------
class T09RSA(Base):
    made = False

    def rsa(self):
        """The token's RSA 2048 pair, generated once (slow in TCG), found by label."""
        need(CKM_RSA_PKCS_KEY_PAIR_GEN)
        if not T09RSA.made:
            pub = [(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_RSA), (CKA_TOKEN, True), (CKA_MODULUS_BITS, 2048),
                   (CKA_PUBLIC_EXPONENT, b"\x01\x00\x01"), (CKA_VERIFY, True), (CKA_ENCRYPT, True),
                   (CKA_LABEL, "py-rsa")]
            priv = [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_RSA), (CKA_TOKEN, True), (CKA_PRIVATE, True),
                    (CKA_SENSITIVE, True), (CKA_SIGN, True), (CKA_DECRYPT, True), (CKA_LABEL, "py-rsa")]
            self.s.generateKeyPair(pub, priv, Mechanism(CKM_RSA_PKCS_KEY_PAIR_GEN))
            T09RSA.made = True
        return (self.s.findObjects([(CKA_LABEL, "py-rsa"), (CKA_CLASS, CKO_PUBLIC_KEY)])[0],
                self.s.findObjects([(CKA_LABEL, "py-rsa"), (CKA_CLASS, CKO_PRIVATE_KEY)])[0])

    def pubkey(self, pub):
        from cryptography.hazmat.primitives.asymmetric import rsa as crsa
        n, e = self.s.getAttributeValue(pub, [CKA_MODULUS, CKA_PUBLIC_EXPONENT], allAsBinary=True)
        return crsa.RSAPublicNumbers(int.from_bytes(bytes(e), "big"), int.from_bytes(bytes(n), "big")).public_key()

    def test_sign_pkcs1(self):
        pub, priv = self.rsa()
        data = os.urandom(1000)
        sig = bytes(self.s.sign(priv, data, Mechanism(CKM_SHA256_RSA_PKCS)))
        self.assertEqual(len(sig), 256)
        self.assertTrue(self.s.verify(pub, data, sig, Mechanism(CKM_SHA256_RSA_PKCS)))
        sig2 = self.multi("Sign", priv, Mechanism(CKM_SHA256_RSA_PKCS), [data[:10], data[10:]])
        self.assertEqual(sig2, sig)  # PKCS#1 v1.5 is deterministic
        if HAVE_CRYPTOGRAPHY:
            self.pubkey(pub).verify(sig, data, padding.PKCS1v15(), hashes.SHA256())

    def test_sign_pss(self):
        pub, priv = self.rsa()
        need(CKM_SHA256_RSA_PKCS_PSS)
        data = os.urandom(300)
        mech = RSA_PSS_Mechanism(CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 32)
        sig = bytes(self.s.sign(priv, data, mech))
        self.assertTrue(self.s.verify(pub, data, sig, mech))
        if HAVE_CRYPTOGRAPHY:
            self.pubkey(pub).verify(sig, data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())

    def test_oaep(self):
        pub, priv = self.rsa()
        need(CKM_RSA_PKCS_OAEP)
        msg = os.urandom(64)
        mech = RSAOAEPMechanism(CKM_SHA256, CKG_MGF1_SHA256)
        ct = bytes(self.s.encrypt(pub, msg, mech))
        self.assertEqual(bytes(self.s.decrypt(priv, ct, mech)), msg)
        if HAVE_CRYPTOGRAPHY:
            ct2 = self.pubkey(pub).encrypt(msg, padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None))
            self.assertEqual(bytes(self.s.decrypt(priv, ct2, mech)), msg)


# --------------------------------------------------------------------------
class T10MacWrap(Base):
    def test_hmac(self):
        need(CKM_GENERIC_SECRET_KEY_GEN, CKM_SHA256_HMAC_)
        k = self.s.generateKey([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_GENERIC_SECRET),
                                (CKA_VALUE_LEN, 32), (CKA_TOKEN, False), (CKA_SIGN, True), (CKA_VERIFY, True)],
                               Mechanism(CKM_GENERIC_SECRET_KEY_GEN))
        data = os.urandom(999)
        mac = bytes(self.s.sign(k, data, Mechanism(CKM_SHA256_HMAC_)))
        self.assertEqual(len(mac), 32)
        self.assertTrue(self.s.verify(k, data, mac, Mechanism(CKM_SHA256_HMAC_)))
        self.assertEqual(self.multi("Sign", k, Mechanism(CKM_SHA256_HMAC_), [data[:100], data[100:]]), mac)
        self.assertFalse(self.s.verify(k, data + b"x", mac, Mechanism(CKM_SHA256_HMAC_)))

    def test_cmac(self):
        need(CKM_AES_CMAC_)
        k = self.aes_key(32, CKA_SIGN=True, CKA_VERIFY=True)
        data = os.urandom(100)
        mac = bytes(self.s.sign(k, data, Mechanism(CKM_AES_CMAC_)))
        self.assertEqual(len(mac), 16)
        self.assertTrue(self.s.verify(k, data, mac, Mechanism(CKM_AES_CMAC_)))

    def test_wrap_unwrap(self):
        wm = CKM_AES_KEY_WRAP if CKM_AES_KEY_WRAP in MECHS else (CKM_AES_KEY_WRAP_PAD_ if CKM_AES_KEY_WRAP_PAD_ in MECHS else None)
        if wm is None:
            self.skipTest("token lists no AES key wrap mechanism")
        kek = self.aes_key(32, label="kek", CKA_WRAP=True, CKA_UNWRAP=True)
        k = self.aes_key(32, label="to-wrap", CKA_EXTRACTABLE=True)
        wrapped = bytes(self.s.wrapKey(kek, k, Mechanism(wm)))
        self.assertEqual(len(wrapped), 40)
        k2 = self.s.unwrapKey(kek, wrapped, [(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_TOKEN, False),
                                             (CKA_ENCRYPT, True), (CKA_DECRYPT, True)], Mechanism(wm))
        mech = AES_GCM_Mechanism(b"\1" * 12, b"", 128)
        self.assertEqual(bytes(self.s.encrypt(k, b"w" * 48, mech)), bytes(self.s.encrypt(k2, b"w" * 48, mech)))
        ne = self.aes_key(32, label="not-extractable", CKA_EXTRACTABLE=False)
        self.assertRV(CKR_KEY_UNEXTRACTABLE, self.s.wrapKey, kek, ne, Mechanism(wm))
        bad = bytearray(wrapped)
        bad[0] ^= 1
        self.assertIn(rv_of(self.s.unwrapKey, kek, bytes(bad), [(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES)],
                            Mechanism(wm)), (CKR_WRAPPED_KEY_INVALID, CKR_ENCRYPTED_DATA_INVALID))


# --------------------------------------------------------------------------
class Result(unittest.TextTestResult):
    pass


def main():
    runner = unittest.TextTestRunner(verbosity=2, stream=sys.stdout, resultclass=Result)
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    r = runner.run(suite)
    failed = len(r.failures) + len(r.errors)
    passed = r.testsRun - failed - len(r.skipped)
    if r.skipped:
        print("pykcs11: %d skipped:" % len(r.skipped))
        for t, why in r.skipped:
            print("  - %s: %s" % (t.id().split(".", 1)[-1], why))
    if failed:
        print("pykcs11: failed: %s" % " ".join(t.id().split(".", 1)[-1] for t, _ in r.failures + r.errors))
    print("pykcs11: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
