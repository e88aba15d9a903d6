/* SPDX-License-Identifier: GPL-2.0 */
/*
 * crypto - the cryptographic calls of PKCS#11 turned into card messages
 * (lib/msg/hsmgroup_msg.h): random, encrypt/decrypt, sign/verify,
 * digest.  Mechanisms: mech.h; keys and objects made by the card: keys.c.
 *
 * Multi-part operations keep no data on the host: *Init stores the key
 * input and the parameter, the first part asks the card for *_INIT, every
 * part sends the card's state blob back and keeps the next one.  Any
 * member of the group can serve any part, so an operation continues on
 * another member after a failover, with no replay and no length limit.
 * Single-part calls with more than SHIM_CHUNK bytes run as INIT, parts,
 * FINAL.  Exception: GCM decryption releases plaintext only after the tag
 * is checked, so its plaintext is held by the shim until C_DecryptFinal
 * (C_DecryptUpdate returns 0 bytes, as PKCS#11 3.0 allows).
 */
#ifndef SHIM_CRYPTO_H
#define SHIM_CRYPTO_H

#include <p11-kit/pkcs11.h>

#include "mech.h"

#endif
