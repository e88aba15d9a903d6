/* SPDX-License-Identifier: GPL-2.0 */
/*
 * module - the library's global state, its lock, and the entry/exit of
 * every PKCS#11 call.
 *
 * Locking: one module lock (a pthread mutex, or the application's mutex
 * when C_Initialize gave callbacks without CKF_OS_LOCKING_OK) guards every
 * shared structure; each call holds it between shim_enter() and
 * shim_leave() EXCEPT while it waits for the card: request.c drops it
 * around HSMG_IOC_SUBMIT (the kernel takes concurrent SUBMITs on one fd),
 * so N threads run N card requests at once.  What keeps that safe:
 * - the request is built (key blob, state, input copied) before the lock
 *   is dropped, the answer is applied after it is retaken;
 * - the session holds a reference (shim_session_enter/leave); a session
 *   closed meanwhile is unlinked at once and freed by its last holder, and
 *   the waiting call returns CKR_SESSION_CLOSED;
 * - the operation is marked busy: a second call on the same operation gets
 *   CKR_OPERATION_ACTIVE, a logout marks it cancelled and its holder ends it;
 * - C_Finalize stops new card calls (finalizing) and waits for inflight 0.
 * Calls that wait otherwise (C_WaitForSlotEvent) also do so unlocked,
 * counted in waiters; C_Finalize wakes them through wake_fd and waits for
 * waiters 0 too.
 *
 * Fork: a pthread_atfork child handler closes the inherited descriptors
 * (the device files, which carry the parent's sessions and login, and
 * wake_fd) at fork time, so that a child that never calls PKCS#11 does not
 * keep the parent's sessions alive after the parent died.  shim_enter()
 * detects the fork (a fork count bumped by that handler, as p11-kit's
 * p11_forkid, and the pid of C_Initialize for children made without
 * fork(3)); in a forked child the rest of the inherited state is dropped
 * without touching what the parent still uses (kernel sessions belong to
 * the parent's open file; the SQLite connection is abandoned) and every
 * call returns CKR_CRYPTOKI_NOT_INITIALIZED until the child calls
 * C_Initialize.
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
	unsigned int fork_gen; /* module.c's fork count at C_Initialize */
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

	volatile int finalizing; /* wakes C_WaitForSlotEvent, stops card calls */
	unsigned int inflight;	 /* threads waiting for the card (lock dropped) */
	unsigned int waiters;	 /* threads in C_WaitForSlotEvent (lock dropped) */
	/*
	 * Eventfd that C_WaitForSlotEvent polls besides the kernel's events:
	 * readable while a slot event is pending or C_Finalize runs (slot.c
	 * keeps that level under the module lock; wake_armed: it is readable
	 * now).  -1 when it could not be made (waits are then short).
	 */
	int wake_fd;
	bool wake_armed;
};

extern struct shim_global shim_g;

/* Fork check, initialized check, take the module lock. */
CK_RV shim_enter(void);
void shim_leave(void);
/* Drop and retake the module lock around a wait for the card (request.c);
 * between them the caller may touch nothing shared. */
void shim_unlock(void);
void shim_relock(void);
/*
 * Make wake_fd readable when @pending (a slot event waits to be taken) or
 * C_Finalize runs, else not.  Under the module lock.
 */
void shim_wake_update(bool pending);

#endif
