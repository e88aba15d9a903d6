/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pubverify - single-part C_Verify with a public key object, done in the
 * module: no secret is involved, so no card, no kernel round trip, and it
 * works while no member is online.  The verification is the emulated
 * card's own code (lib/card/pk.c, linked in), so results and return
 * values are the card's.  Setting local_verify = 0 sends every verify to a
 * card instead.
 */
#ifndef SHIM_PUBVERIFY_H
#define SHIM_PUBVERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

struct shim_op;

/* Can @op (a VERIFY operation) be done here? */
bool shim_pubverify_applies(const struct shim_op *op);
/* Verify @sig over @data with @op's public key, mechanism and parameter. */
CK_RV shim_pubverify(const struct shim_op *op, const uint8_t *data, size_t len, const uint8_t *sig,
		     size_t sig_len);

#endif
