// SPDX-License-Identifier: GPL-2.0
/*
 * module - C_Initialize/C_Finalize, locking, fork detection, the function
 * list and the PKCS#11 3.0 interface query (see module.h).
 *
 * Only C_GetFunctionList, C_GetInterfaceList and C_GetInterface are
 * exported (hsmgroup-pkcs11.map); every other C_* function is hidden and
 * reached through the function list.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "module.h"
#include "session.h"
#include "slot.h"
#include "store.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

struct shim_global shim_g;

/* Serializes C_Initialize, C_Finalize and the fork reset. */
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
/* Bumped in every forked child (p11-kit's p11_forkid); shim_g.fork_gen
 * holds its value at C_Initialize. */
static unsigned int fork_gen;

/* ------------------------------------------------------------ locking */

static void lock(void)
{
	if (shim_g.app_locks)
		shim_g.args.LockMutex(shim_g.app_mutex);
	else
		pthread_mutex_lock(&shim_g.os_lock);
}

static void unlock(void)
{
	if (shim_g.app_locks)
		shim_g.args.UnlockMutex(shim_g.app_mutex);
	else
		pthread_mutex_unlock(&shim_g.os_lock);
}

static void atfork_prepare(void)
{
	pthread_mutex_lock(&init_lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&init_lock);
}

/*
 * In the child, at fork time (init_lock held since atfork_prepare, so
 * C_Initialize/C_Finalize are not half done): close the inherited files
 * now, not at the child's next PKCS#11 call, which may never come.  The
 * device files carry the parent's sessions and login: while a copy is open
 * the kernel keeps them after the parent dies.  Closing our copy is no call
 * on them (the parent's file stays open, nothing is released).  The rest
 * of the inherited state (memory) is dropped by forked_reset() at the
 * child's first call.  Only close() here: async-signal-safe.
 */
static void atfork_child(void)
{
	fork_gen++;
	if (shim_g.tp && shim_g.tp_ops->forked)
		shim_g.tp_ops->forked(shim_g.tp);
	if (shim_g.wake_fd >= 0)
		close(shim_g.wake_fd);
	shim_g.wake_fd = -1;
	/* Another thread of the parent may have held it: start clean. */
	pthread_mutex_init(&shim_g.os_lock, NULL);
	pthread_mutex_unlock(&init_lock);
}

/* Called in a child of the process that ran C_Initialize? */
static bool forked(void)
{
	return shim_g.fork_gen != __atomic_load_n(&fork_gen, __ATOMIC_RELAXED) ||
	       shim_g.pid != getpid();
}

static void register_atfork(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* In a forked child: drop everything inherited.  Called with init_lock. */
static void forked_reset(void)
{
	if (!shim_g.initialized || !forked())
		return;
	shim_sessions_free(true);
	shim_slots_free(true);
	if (shim_g.tp)
		shim_g.tp_ops->abandon(shim_g.tp);
	shim_g.tp = NULL;
	/* Shared with the parent: close our copy (atfork_child did, unless the
	 * child was made without fork(3)), never read or write it. */
	if (shim_g.wake_fd >= 0)
		close(shim_g.wake_fd);
	shim_g.wake_fd = -1;
	shim_g.initialized = false;
	shim_g.app_locks = false;
}

CK_RV shim_enter(void)
{
	if (!__atomic_load_n(&shim_g.initialized, __ATOMIC_ACQUIRE))
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	if (forked()) {
		pthread_mutex_lock(&init_lock);
		forked_reset();
		pthread_mutex_unlock(&init_lock);
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	}
	lock();
	if (!shim_g.initialized) {
		unlock();
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	}
	return CKR_OK;
}

void shim_leave(void)
{
	unlock();
}

void shim_unlock(void)
{
	unlock();
}

void shim_relock(void)
{
	lock();
}

void shim_wake_update(bool pending)
{
	uint64_t v = 1;
	bool want = pending || __atomic_load_n(&shim_g.finalizing, __ATOMIC_ACQUIRE);
	ssize_t n;

	if (shim_g.wake_fd < 0 || want == shim_g.wake_armed)
		return;
	/* Nonblocking, the counter 0 or 1: neither call blocks or overflows. */
	n = want ? write(shim_g.wake_fd, &v, sizeof(v)) : read(shim_g.wake_fd, &v, sizeof(v));
	if (n == sizeof(v) || (!want && n < 0 && errno == EAGAIN))
		shim_g.wake_armed = want;
}

/* ------------------------------------------------------ init, finalize */

static CK_RV check_init_args(const CK_C_INITIALIZE_ARGS *a)
{
	int n;

	if (a->pReserved)
		return CKR_ARGUMENTS_BAD;
	n = !!a->CreateMutex + !!a->DestroyMutex + !!a->LockMutex + !!a->UnlockMutex;
	if (n != 0 && n != 4)
		return CKR_ARGUMENTS_BAD;
	return CKR_OK;
}

CK_RV C_Initialize(CK_VOID_PTR pInitArgs)
{
	const CK_C_INITIALIZE_ARGS *a = pInitArgs;
	int err;
	CK_RV rv;

	pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&init_lock);
	forked_reset();
	if (shim_g.initialized) {
		rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
		goto out;
	}
	memset(&shim_g.args, 0, sizeof(shim_g.args));
	if (a) {
		rv = check_init_args(a);
		if (rv != CKR_OK)
			goto out;
		shim_g.args = *a;
	}
	/* The application's mutexes only when it does not allow ours. */
	shim_g.app_locks = a && a->CreateMutex && !(a->flags & CKF_OS_LOCKING_OK);
	if (shim_g.app_locks) {
		rv = a->CreateMutex(&shim_g.app_mutex);
		if (rv != CKR_OK)
			goto out;
	} else {
		pthread_mutex_init(&shim_g.os_lock, NULL);
	}

	shim_config_load(&shim_g.cfg);
	shim_store_set_timeout(shim_g.cfg.store_timeout_ms);
	shim_store_set_lookup_notify(shim_g.cfg.store_lookup_notify);
	shim_g.tp_ops = shim_transport_ops();
	shim_g.tp = NULL;
	err = shim_g.tp_ops->open(shim_g.cfg.device, &shim_g.tp);
	if (err) {
		/* Not fatal: the module shows no slot until the device exists. */
		shim_err("cannot open %s: %s; no slots", shim_g.cfg.device, strerror(-err));
		shim_g.tp = NULL;
	}
	shim_g.pid = getpid();
	shim_g.fork_gen = fork_gen;
	shim_g.sessions = NULL;
	shim_g.slots = NULL;
	shim_g.next_session = 1;
	shim_g.next_object = 1;
	shim_g.inflight = 0;
	shim_g.waiters = 0;
	shim_g.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (shim_g.wake_fd < 0)
		shim_warn("eventfd: %s; C_Finalize wakes slot waiters late", strerror(errno));
	shim_g.wake_armed = false;
	__atomic_store_n(&shim_g.finalizing, 0, __ATOMIC_RELEASE);
	shim_slots_refresh();
	__atomic_store_n(&shim_g.initialized, true, __ATOMIC_RELEASE);
	shim_info("initialized (pid %d)", (int)shim_g.pid);
	rv = CKR_OK;
out:
	pthread_mutex_unlock(&init_lock);
	return rv;
}

CK_RV C_Finalize(CK_VOID_PTR pReserved)
{
	CK_RV rv;

	if (pReserved)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&init_lock);
	/* A forked child's first call: nothing of the parent's to finalize
	 * (shim_enter() would take init_lock again). */
	if (shim_g.initialized && forked()) {
		forked_reset();
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
		goto out;
	}
	rv = shim_enter();
	if (rv != CKR_OK)
		goto out;
	__atomic_store_n(&shim_g.finalizing, 1, __ATOMIC_RELEASE);
	/* Wake C_WaitForSlotEvent now; the level stays up from here on. */
	shim_wake_update(false);
	/* Threads waiting for the card or an event come back before anything
	 * is freed. */
	while (shim_g.inflight || shim_g.waiters) {
		unlock();
		usleep(1000);
		lock();
	}
	shim_sessions_free(false);
	shim_slots_free(false);
	if (shim_g.tp)
		shim_g.tp_ops->close(shim_g.tp);
	shim_g.tp = NULL;
	if (shim_g.wake_fd >= 0)
		close(shim_g.wake_fd);
	shim_g.wake_fd = -1;
	__atomic_store_n(&shim_g.initialized, false, __ATOMIC_RELEASE);
	unlock();
	if (shim_g.app_locks)
		shim_g.args.DestroyMutex(shim_g.app_mutex);
	else
		pthread_mutex_destroy(&shim_g.os_lock);
	shim_g.app_locks = false;
out:
	pthread_mutex_unlock(&init_lock);
	return rv;
}

static void pad(CK_UTF8CHAR *dst, size_t size, const char *s)
{
	size_t n = strlen(s);

	memset(dst, ' ', size);
	memcpy(dst, s, n < size ? n : size);
}

CK_RV C_GetInfo(CK_INFO_PTR pInfo)
{
	CK_RV rv = shim_enter();

	if (rv != CKR_OK)
		return rv;
	if (!pInfo) {
		rv = CKR_ARGUMENTS_BAD;
	} else {
		memset(pInfo, 0, sizeof(*pInfo));
		pInfo->cryptokiVersion.major = 2;
		pInfo->cryptokiVersion.minor = 40;
		pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID), "hsmgroup");
		pad(pInfo->libraryDescription, sizeof(pInfo->libraryDescription),
		    "hsmgroup HA HSM group PKCS#11");
		pInfo->libraryVersion.major = 0;
		pInfo->libraryVersion.minor = 1;
	}
	shim_leave();
	return rv;
}

/* --------------------------------------------------- not supported */

static CK_RV unsupported(void)
{
	CK_RV rv = shim_enter();

	if (rv != CKR_OK)
		return rv;
	shim_leave();
	return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
			  CK_ULONG_PTR pulOperationStateLen)
{
	return unsupported();
}

CK_RV C_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
			  CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
			  CK_OBJECT_HANDLE hAuthenticationKey)
{
	return unsupported();
}

CK_RV C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
	return unsupported();
}

CK_RV C_SignRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
			CK_OBJECT_HANDLE hKey)
{
	return unsupported();
}

CK_RV C_SignRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
		    CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	return unsupported();
}

CK_RV C_VerifyRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
			  CK_OBJECT_HANDLE hKey)
{
	return unsupported();
}

CK_RV C_VerifyRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen,
		      CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
	return unsupported();
}

CK_RV C_DigestEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
			    CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
	return unsupported();
}

CK_RV C_DecryptDigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
			    CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
	return unsupported();
}

CK_RV C_SignEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
			  CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
	return unsupported();
}

CK_RV C_DecryptVerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
			    CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
	return unsupported();
}

/* Legacy parallel functions: the standard's answer is NOT_PARALLEL. */
CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
	CK_RV rv = shim_enter();

	if (rv != CKR_OK)
		return rv;
	shim_leave();
	return CKR_FUNCTION_NOT_PARALLEL;
}

CK_RV C_CancelFunction(CK_SESSION_HANDLE hSession)
{
	return C_GetFunctionStatus(hSession);
}

/* ------------------------------------------------- function list */

static CK_FUNCTION_LIST function_list = {
    .version = {2, 40},
    .C_Initialize = C_Initialize,
    .C_Finalize = C_Finalize,
    .C_GetInfo = C_GetInfo,
    .C_GetFunctionList = C_GetFunctionList,
    .C_GetSlotList = C_GetSlotList,
    .C_GetSlotInfo = C_GetSlotInfo,
    .C_GetTokenInfo = C_GetTokenInfo,
    .C_GetMechanismList = C_GetMechanismList,
    .C_GetMechanismInfo = C_GetMechanismInfo,
    .C_InitToken = C_InitToken,
    .C_InitPIN = C_InitPIN,
    .C_SetPIN = C_SetPIN,
    .C_OpenSession = C_OpenSession,
    .C_CloseSession = C_CloseSession,
    .C_CloseAllSessions = C_CloseAllSessions,
    .C_GetSessionInfo = C_GetSessionInfo,
    .C_GetOperationState = C_GetOperationState,
    .C_SetOperationState = C_SetOperationState,
    .C_Login = C_Login,
    .C_Logout = C_Logout,
    .C_CreateObject = C_CreateObject,
    .C_CopyObject = C_CopyObject,
    .C_DestroyObject = C_DestroyObject,
    .C_GetObjectSize = C_GetObjectSize,
    .C_GetAttributeValue = C_GetAttributeValue,
    .C_SetAttributeValue = C_SetAttributeValue,
    .C_FindObjectsInit = C_FindObjectsInit,
    .C_FindObjects = C_FindObjects,
    .C_FindObjectsFinal = C_FindObjectsFinal,
    .C_EncryptInit = C_EncryptInit,
    .C_Encrypt = C_Encrypt,
    .C_EncryptUpdate = C_EncryptUpdate,
    .C_EncryptFinal = C_EncryptFinal,
    .C_DecryptInit = C_DecryptInit,
    .C_Decrypt = C_Decrypt,
    .C_DecryptUpdate = C_DecryptUpdate,
    .C_DecryptFinal = C_DecryptFinal,
    .C_DigestInit = C_DigestInit,
    .C_Digest = C_Digest,
    .C_DigestUpdate = C_DigestUpdate,
    .C_DigestKey = C_DigestKey,
    .C_DigestFinal = C_DigestFinal,
    .C_SignInit = C_SignInit,
    .C_Sign = C_Sign,
    .C_SignUpdate = C_SignUpdate,
    .C_SignFinal = C_SignFinal,
    .C_SignRecoverInit = C_SignRecoverInit,
    .C_SignRecover = C_SignRecover,
    .C_VerifyInit = C_VerifyInit,
    .C_Verify = C_Verify,
    .C_VerifyUpdate = C_VerifyUpdate,
    .C_VerifyFinal = C_VerifyFinal,
    .C_VerifyRecoverInit = C_VerifyRecoverInit,
    .C_VerifyRecover = C_VerifyRecover,
    .C_DigestEncryptUpdate = C_DigestEncryptUpdate,
    .C_DecryptDigestUpdate = C_DecryptDigestUpdate,
    .C_SignEncryptUpdate = C_SignEncryptUpdate,
    .C_DecryptVerifyUpdate = C_DecryptVerifyUpdate,
    .C_GenerateKey = C_GenerateKey,
    .C_GenerateKeyPair = C_GenerateKeyPair,
    .C_WrapKey = C_WrapKey,
    .C_UnwrapKey = C_UnwrapKey,
    .C_DeriveKey = C_DeriveKey,
    .C_SeedRandom = C_SeedRandom,
    .C_GenerateRandom = C_GenerateRandom,
    .C_GetFunctionStatus = C_GetFunctionStatus,
    .C_CancelFunction = C_CancelFunction,
    .C_WaitForSlotEvent = C_WaitForSlotEvent,
};

SHIM_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
	if (!ppFunctionList)
		return CKR_ARGUMENTS_BAD;
	*ppFunctionList = &function_list;
	return CKR_OK;
}

/* -------------------------------------------- PKCS#11 3.0 interfaces */

/*
 * p11-kit's pkcs11.h of Debian 12 is v2.40: the v3.0 interface types are
 * declared here as the standard defines them.  The one interface is
 * "PKCS 11" with the v2.40 function list (version 2.40 in its header).
 */
#ifndef CKF_INTERFACE_FORK_SAFE
typedef struct CK_INTERFACE {
	CK_CHAR *pInterfaceName;
	CK_VOID_PTR pFunctionList;
	CK_FLAGS flags;
} CK_INTERFACE;
typedef CK_INTERFACE *CK_INTERFACE_PTR;
typedef CK_INTERFACE_PTR *CK_INTERFACE_PTR_PTR;
#endif

SHIM_EXPORT CK_RV C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount);
SHIM_EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
				 CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags);

static CK_INTERFACE interfaces[] = {
    {(CK_CHAR *)"PKCS 11", &function_list, 0},
};

#define NINTERFACES (sizeof(interfaces) / sizeof(interfaces[0]))

SHIM_EXPORT CK_RV C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
	size_t i;

	if (!pulCount)
		return CKR_ARGUMENTS_BAD;
	if (!pInterfacesList) {
		*pulCount = NINTERFACES;
		return CKR_OK;
	}
	if (*pulCount < NINTERFACES) {
		*pulCount = NINTERFACES;
		return CKR_BUFFER_TOO_SMALL;
	}
	for (i = 0; i < NINTERFACES; i++)
		pInterfacesList[i] = interfaces[i];
	*pulCount = NINTERFACES;
	return CKR_OK;
}

SHIM_EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
				 CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
	const CK_FUNCTION_LIST *fl;
	size_t i;

	if (!ppInterface)
		return CKR_ARGUMENTS_BAD;
	for (i = 0; i < NINTERFACES; i++) {
		fl = interfaces[i].pFunctionList;
		if (pInterfaceName && strcmp((const char *)pInterfaceName,
					     (const char *)interfaces[i].pInterfaceName))
			continue;
		if (pVersion &&
		    (pVersion->major != fl->version.major || pVersion->minor != fl->version.minor))
			continue;
		if ((flags & interfaces[i].flags) != flags)
			continue;
		*ppInterface = &interfaces[i];
		return CKR_OK;
	}
	return CKR_ARGUMENTS_BAD;
}
