/* SPDX-License-Identifier: GPL-2.0 */
/*
 * module - the library's global state, its lock, and the entry/exit of
 * every PKCS#11 call.
 *
 * Locking: one module lock (a pthread mutex, or the application's mutex
 * when C_Initialize gave callbacks without CKF_OS_LOCKING_OK) serializes
 * every call between shim_enter() and shim_leave().  Calls that wait
 * (C_WaitForSlotEvent) do so without holding it.  Finer locking (dropping
 * the lock around a card request) is a later step; the entry points already
 * go through shim_enter()/shim_leave() only.
 *
 * Fork: shim_enter() compares getpid() with the pid of C_Initialize.  In a
 * forked child every inherited state is dropped without touching what the
 * parent still uses (kernel sessions belong to the parent's open file; the
 * SQLite connection is abandoned) and every call returns
 * CKR_CRYPTOKI_NOT_INITIALIZED until the child calls C_Initialize.
 */
#ifndef SHIM_MODULE_H
#define SHIM_MODULE_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include <p11-kit/pkcs11.h>

#include "config.h"
#include "transport.h"

struct shim_slot;
struct shim_session;

struct shim_global {
	bool initialized;
	pid_t pid;
	struct shim_config cfg;

	/* Locking chosen at C_Initialize. */
	bool app_locks;
	CK_C_INITIALIZE_ARGS args;
	void *app_mutex;
	pthread_mutex_t os_lock;

	/* Client of the kernel module; NULL when the device could not be
	 * opened (the module then shows no slot). */
	const struct shim_transport_ops *tp_ops;
	struct shim_transport *tp;

	struct shim_slot *slots; /* list, never shrinks while initialized */
	struct shim_session *sessions;
	CK_SESSION_HANDLE next_session;
	CK_OBJECT_HANDLE next_object; /* session objects: odd handles */

	volatile int finalizing; /* wakes C_WaitForSlotEvent */
};

extern struct shim_global shim_g;

/* Fork check, initialized check, take the module lock. */
CK_RV shim_enter(void);
void shim_leave(void);

#endif
