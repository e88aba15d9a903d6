/* SPDX-License-Identifier: GPL-2.0 */
/*
 * objmgr - object handles and visibility, token vs session objects, and the
 * object calls of PKCS#11 (create, copy, destroy, size, get/set attributes,
 * find).
 *
 * Handles: a token object's handle is twice its row id in the token store
 * (even; row ids are never reused), a session object's handle is odd and
 * counts up.  Private objects are invisible (CKR_OBJECT_HANDLE_INVALID, not
 * found) unless the user is logged in.
 */
#ifndef SHIM_OBJMGR_H
#define SHIM_OBJMGR_H

#include <p11-kit/pkcs11.h>

struct shim_object;
struct shim_session;

/*
 * Find object @h visible to session @s.  Session objects are returned as
 * they are in the token's list; token objects are loaded from the store.
 * Give every result back with shim_obj_put().
 */
CK_RV shim_obj_get(struct shim_session *s, CK_OBJECT_HANDLE h, struct shim_object **out);
void shim_obj_put(struct shim_object *o);

/*
 * Store the new object @o for session @s (a token object when CKA_TOKEN is
 * true) after the session checks (read-only session, login for private
 * objects).  Takes @o in every case; sets *@h on success.
 */
CK_RV shim_obj_add(struct shim_session *s, struct shim_object *o, CK_OBJECT_HANDLE *h);
/* Undo shim_obj_add() (a key pair whose second half failed). */
void shim_obj_remove(struct shim_session *s, CK_OBJECT_HANDLE h);

#endif
