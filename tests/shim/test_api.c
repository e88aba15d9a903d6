// SPDX-License-Identifier: GPL-2.0
/*
 * test_api - the library as a whole: C_Initialize/C_Finalize and their
 * arguments, calls before initialization, argument checking, the function
 * list and the 3.0 interfaces, exported symbols of the .so, locking with
 * application mutexes, threads, fork, slot events, missing device/token.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "mock_transport.h"
#include "procfd.h"

#ifndef CKF_INTERFACE_FORK_SAFE
typedef struct CK_INTERFACE {
	CK_CHAR *pInterfaceName;
	CK_VOID_PTR pFunctionList;
	CK_FLAGS flags;
} CK_INTERFACE;
#endif
typedef CK_RV (*get_interface_list_fn)(CK_INTERFACE *, CK_ULONG *);
typedef CK_RV (*get_interface_fn)(CK_UTF8CHAR *, CK_VERSION *, CK_INTERFACE **, CK_FLAGS);

/* The path of the built module; `make unit` runs from the repository. */
static const char *so_path(void)
{
	const char *p = getenv("HSMG_SHIM_SO");

	return p ? p : "build/hsmgroup-pkcs11.so";
}

START_TEST(not_initialized)
{
	CK_SLOT_ID slot;
	CK_ULONG n = 1;
	CK_INFO info;
	CK_SESSION_HANDLE h;
	uint8_t buf[8];

	CK_RV_IS(p11->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
	CK_RV_IS(p11->C_GetSlotList(CK_FALSE, &slot, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
	CK_RV_IS(p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &h),
		 CKR_CRYPTOKI_NOT_INITIALIZED);
	CK_RV_IS(p11->C_GenerateRandom(1, buf, 8), CKR_CRYPTOKI_NOT_INITIALIZED);
	CK_RV_IS(p11->C_WrapKey(1, NULL, 0, 0, NULL, NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
	CK_RV_IS(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL),
		 CKR_CRYPTOKI_NOT_INITIALIZED);
	CK_RV_IS(p11->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
}
END_TEST

START_TEST(init_args)
{
	CK_C_INITIALIZE_ARGS a;

	memset(&a, 0, sizeof(a));
	a.pReserved = &a;
	CK_RV_IS(p11->C_Initialize(&a), CKR_ARGUMENTS_BAD);
	memset(&a, 0, sizeof(a));
	a.CreateMutex = (CK_CREATEMUTEX)1; /* only one of four */
	CK_RV_IS(p11->C_Initialize(&a), CKR_ARGUMENTS_BAD);
	memset(&a, 0, sizeof(a));
	a.flags = CKF_OS_LOCKING_OK;
	CK_OK(p11->C_Initialize(&a));
	CK_RV_IS(p11->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
	CK_RV_IS(p11->C_Finalize(&a), CKR_ARGUMENTS_BAD);
	CK_OK(p11->C_Finalize(NULL));
	CK_OK(p11->C_Initialize(NULL));
}
END_TEST

static int mutexes, locks, unlocks;

static CK_RV m_create(CK_VOID_PTR_PTR m)
{
	pthread_mutex_t *mx = malloc(sizeof(*mx));

	pthread_mutex_init(mx, NULL);
	*m = mx;
	mutexes++;
	return CKR_OK;
}

static CK_RV m_destroy(CK_VOID_PTR m)
{
	pthread_mutex_destroy(m);
	free(m);
	mutexes--;
	return CKR_OK;
}

static CK_RV m_lock(CK_VOID_PTR m)
{
	pthread_mutex_lock(m);
	locks++;
	return CKR_OK;
}

static CK_RV m_unlock(CK_VOID_PTR m)
{
	unlocks++;
	pthread_mutex_unlock(m);
	return CKR_OK;
}

START_TEST(app_mutexes)
{
	CK_C_INITIALIZE_ARGS a = {m_create, m_destroy, m_lock, m_unlock, 0, NULL};
	CK_INFO info;

	CK_OK(p11->C_Initialize(&a));
	ck_assert_int_eq(mutexes, 1);
	CK_OK(p11->C_GetInfo(&info));
	ck_assert_int_gt(locks, 0);
	ck_assert_int_eq(locks, unlocks);
	CK_OK(p11->C_Finalize(NULL));
	ck_assert_int_eq(mutexes, 0);
	/* With CKF_OS_LOCKING_OK the module uses its own locks. */
	a.flags = CKF_OS_LOCKING_OK;
	locks = 0;
	CK_OK(p11->C_Initialize(&a));
	CK_OK(p11->C_GetInfo(&info));
	ck_assert_int_eq(locks, 0);
	ck_assert_int_eq(mutexes, 0);
}
END_TEST

START_TEST(info_and_args)
{
	CK_INFO info;
	CK_SLOT_ID slots[2];
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_SESSION_INFO sei;
	CK_ULONG n;
	CK_SESSION_HANDLE h;

	CK_OK(p11->C_GetInfo(&info));
	ck_assert(info.cryptokiVersion.major == 2 && info.cryptokiVersion.minor == 40);
	ck_assert(!memcmp(info.manufacturerID, "hsmgroup ", 9));
	CK_RV_IS(p11->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
	CK_RV_IS(p11->C_GetSlotList(CK_FALSE, slots, NULL), CKR_ARGUMENTS_BAD);
	CK_OK(p11->C_GetSlotList(CK_FALSE, NULL, &n));
	ck_assert_uint_eq(n, 1);
	n = 0;
	CK_RV_IS(p11->C_GetSlotList(CK_FALSE, slots, &n), CKR_BUFFER_TOO_SMALL);
	ck_assert_uint_eq(n, 1);
	CK_OK(p11->C_GetSlotList(CK_FALSE, slots, &n));
	ck_assert_uint_eq(slots[0], MOCK_GROUP_ID);
	CK_OK(p11->C_GetSlotInfo(slots[0], &si));
	ck_assert(si.flags & CKF_TOKEN_PRESENT);
	CK_RV_IS(p11->C_GetSlotInfo(slots[0], NULL), CKR_ARGUMENTS_BAD);
	CK_RV_IS(p11->C_GetSlotInfo(999, &si), CKR_SLOT_ID_INVALID);
	CK_RV_IS(p11->C_GetTokenInfo(slots[0], NULL), CKR_ARGUMENTS_BAD);
	CK_RV_IS(p11->C_GetTokenInfo(999, &ti), CKR_SLOT_ID_INVALID);
	h = t_open(false);
	CK_RV_IS(p11->C_GetSessionInfo(h, NULL), CKR_ARGUMENTS_BAD);
	CK_RV_IS(p11->C_GetSessionInfo(h + 100, &sei), CKR_SESSION_HANDLE_INVALID);
	CK_RV_IS(p11->C_Logout(h), CKR_USER_NOT_LOGGED_IN);
	CK_RV_IS(p11->C_Login(h, CKU_CONTEXT_SPECIFIC, PIN(USER_PIN)),
		 CKR_OPERATION_NOT_INITIALIZED);
}
END_TEST

START_TEST(unsupported)
{
	CK_SESSION_HANDLE h = t_open(false);
	CK_MECHANISM m = {CKM_SHA256, NULL, 0};
	CK_ULONG n = 0;
	uint8_t b[8];

	CK_RV_IS(p11->C_GetOperationState(h, NULL, &n), CKR_FUNCTION_NOT_SUPPORTED);
	CK_RV_IS(p11->C_SetOperationState(h, b, 8, 0, 0), CKR_FUNCTION_NOT_SUPPORTED);
	CK_RV_IS(p11->C_DigestKey(h, 2), CKR_FUNCTION_NOT_SUPPORTED);
	CK_RV_IS(p11->C_SignRecoverInit(h, &m, 2), CKR_FUNCTION_NOT_SUPPORTED);
	CK_RV_IS(p11->C_SignRecover(h, b, 8, b, &n), CKR_FUNCTION_NOT_SUPPORTED);
	CK_RV_IS(p11->C_VerifyRecoverInit(h, &m, 2), CKR_FUNCTION_NOT_SUPPORTED);
	CK_RV_IS(p11->C_VerifyRecover(h, b, 8, b, &n), CKR_FUNCTION_NOT_SUPPORTED);
	CK_RV_IS(p11->C_DigestEncryptUpdate(h, b, 8, b, &n), CKR_FUNCTION_NOT_SUPPORTED);
	CK_RV_IS(p11->C_DecryptDigestUpdate(h, b, 8, b, &n), CKR_FUNCTION_NOT_SUPPORTED);
	CK_RV_IS(p11->C_SignEncryptUpdate(h, b, 8, b, &n), CKR_FUNCTION_NOT_SUPPORTED);
	CK_RV_IS(p11->C_DecryptVerifyUpdate(h, b, 8, b, &n), CKR_FUNCTION_NOT_SUPPORTED);
	/* Wrap, unwrap, derive exist; SHA-256 is none of their mechanisms. */
	CK_RV_IS(p11->C_WrapKey(h, &m, 2, 4, b, &n), CKR_MECHANISM_INVALID);
	CK_RV_IS(p11->C_UnwrapKey(h, &m, 2, b, 8, NULL, 0, &n), CKR_MECHANISM_INVALID);
	CK_RV_IS(p11->C_DeriveKey(h, &m, 2, NULL, 0, &n), CKR_MECHANISM_INVALID);
	CK_RV_IS(p11->C_GetFunctionStatus(h), CKR_FUNCTION_NOT_PARALLEL);
	CK_RV_IS(p11->C_CancelFunction(h), CKR_FUNCTION_NOT_PARALLEL);
}
END_TEST

START_TEST(function_list_complete)
{
	/* Every entry after the version is a function pointer. */
	void (**fp)(void) = (void (**)(void))((char *)p11 + sizeof(CK_VERSION) +
					      (sizeof(void *) - sizeof(CK_VERSION)));
	size_t i, n = (sizeof(*p11) - sizeof(void *)) / sizeof(void *);

	ck_assert_uint_eq(n, 68);
	for (i = 0; i < n; i++)
		ck_assert_msg(fp[i] != NULL, "function list entry %zu is NULL", i);
	ck_assert(p11->version.major == 2 && p11->version.minor == 40);
	CK_RV_IS(C_GetFunctionList(NULL), CKR_ARGUMENTS_BAD);
}
END_TEST

START_TEST(exports)
{
	void *dl = dlopen(so_path(), RTLD_NOW | RTLD_LOCAL);
	static const char *const hidden[] = {
	    "C_Initialize",  "C_Sign",		"shim_enter", "shim_g",
	    "hsmg_msg_init", "shim_store_open", NULL};
	get_interface_list_fn gil;
	get_interface_fn gi;
	CK_FUNCTION_LIST *fl = NULL;
	CK_RV (*gfl)(CK_FUNCTION_LIST_PTR_PTR);
	CK_INTERFACE list[2], *itf = NULL;
	CK_VERSION v30 = {3, 0}, v240 = {2, 40};
	CK_ULONG n = 0;
	size_t i;

	ck_assert_msg(dl, "dlopen %s: %s", so_path(), dlerror());
	*(void **)&gfl = dlsym(dl, "C_GetFunctionList");
	*(void **)&gil = dlsym(dl, "C_GetInterfaceList");
	*(void **)&gi = dlsym(dl, "C_GetInterface");
	ck_assert(gfl && gil && gi);
	for (i = 0; hidden[i]; i++)
		ck_assert_msg(!dlsym(dl, hidden[i]), "%s is exported", hidden[i]);
	CK_OK(gfl(&fl));
	ck_assert_ptr_nonnull(fl->C_Initialize);

	CK_OK(gil(NULL, &n));
	ck_assert_uint_eq(n, 1);
	CK_RV_IS(gil(list, NULL), CKR_ARGUMENTS_BAD);
	n = 0;
	CK_RV_IS(gil(list, &n), CKR_BUFFER_TOO_SMALL);
	n = 2;
	CK_OK(gil(list, &n));
	ck_assert_str_eq((char *)list[0].pInterfaceName, "PKCS 11");
	ck_assert_ptr_eq(list[0].pFunctionList, fl);
	CK_OK(gi(NULL, NULL, &itf, 0));
	ck_assert_ptr_eq(itf->pFunctionList, fl);
	CK_OK(gi((CK_UTF8CHAR *)"PKCS 11", &v240, &itf, 0));
	CK_RV_IS(gi((CK_UTF8CHAR *)"PKCS 11", &v30, &itf, 0), CKR_ARGUMENTS_BAD);
	CK_RV_IS(gi((CK_UTF8CHAR *)"Vendor X", NULL, &itf, 0), CKR_ARGUMENTS_BAD);
	CK_RV_IS(gi(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD);
	dlclose(dl);
}
END_TEST

START_TEST(no_device)
{
	CK_ULONG n = 5;

	mock_open_fails = true;
	CK_OK(p11->C_Initialize(NULL));
	CK_OK(p11->C_GetSlotList(CK_FALSE, NULL, &n));
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(token_absent)
{
	CK_SLOT_ID slot = t_slot(), got;
	CK_TOKEN_INFO ti;
	CK_SESSION_HANDLE h;
	CK_ULONG n;

	/* The initial presence is one event; then nothing happens. */
	CK_OK(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &got, NULL));
	ck_assert_uint_eq(got, slot);
	CK_RV_IS(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &got, NULL), CKR_NO_EVENT);
	CK_RV_IS(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL), CKR_ARGUMENTS_BAD);
	mock_nonline = 0;
	CK_OK(p11->C_WaitForSlotEvent(0, &got, NULL));
	ck_assert_uint_eq(got, slot);
	CK_OK(p11->C_GetSlotList(CK_TRUE, NULL, &n));
	ck_assert_uint_eq(n, 0);
	CK_OK(p11->C_GetSlotList(CK_FALSE, NULL, &n));
	ck_assert_uint_eq(n, 1);
	CK_RV_IS(p11->C_GetTokenInfo(slot, &ti), CKR_TOKEN_NOT_PRESENT);
	CK_RV_IS(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h),
		 CKR_TOKEN_NOT_PRESENT);
	mock_nonline = 2;
	CK_OK(p11->C_WaitForSlotEvent(0, &got, NULL));
	CK_OK(p11->C_GetTokenInfo(slot, &ti));
}
END_TEST

static void *waiter(void *arg)
{
	CK_SLOT_ID slot;

	(void)arg;
	return (void *)(uintptr_t)p11->C_WaitForSlotEvent(0, &slot, NULL);
}

START_TEST(finalize_wakes_waiter)
{
	CK_SLOT_ID slot;
	pthread_t t;
	void *ret;

	CK_OK(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL)); /* initial event */
	pthread_create(&t, NULL, waiter, NULL);
	usleep(200000);
	CK_OK(p11->C_Finalize(NULL));
	pthread_join(t, &ret);
	ck_assert_uint_eq((uintptr_t)ret, CKR_CRYPTOKI_NOT_INITIALIZED);
	CK_OK(p11->C_Initialize(NULL));
}
END_TEST

static void *worker(void *arg)
{
	CK_MECHANISM m = {CKM_SHA256, NULL, 0};
	CK_SESSION_HANDLE h;
	uint8_t buf[64], md[32];
	CK_ULONG n;
	int i;

	(void)arg;
	if (p11->C_OpenSession(MOCK_GROUP_ID, CKF_SERIAL_SESSION, NULL, NULL, &h) != CKR_OK)
		return (void *)1;
	for (i = 0; i < 50; i++) {
		n = sizeof(md);
		if (p11->C_GenerateRandom(h, buf, sizeof(buf)) != CKR_OK ||
		    p11->C_DigestInit(h, &m) != CKR_OK ||
		    p11->C_DigestUpdate(h, buf, sizeof(buf)) != CKR_OK ||
		    p11->C_DigestFinal(h, md, &n) != CKR_OK)
			return (void *)2;
	}
	return p11->C_CloseSession(h) == CKR_OK ? NULL : (void *)3;
}

START_TEST(threads)
{
	pthread_t t[4];
	void *ret;
	int i;

	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], &ret);
		ck_assert_ptr_null(ret);
	}
	ck_assert_uint_eq(mock_open_sessions, 0);
}
END_TEST

/* The kernel's errnos map to the return values docs/pkcs11.md names. */
START_TEST(errno_map)
{
	ck_assert_uint_eq(shim_errno_to_ckr(0), CKR_OK);
	ck_assert_uint_eq(shim_errno_to_ckr(-ENODEV), CKR_DEVICE_ERROR);
	ck_assert_uint_eq(shim_errno_to_ckr(-ETIMEDOUT), CKR_DEVICE_ERROR);
	ck_assert_uint_eq(shim_errno_to_ckr(-EKEYREJECTED), CKR_DEVICE_ERROR);
	ck_assert_uint_eq(shim_errno_to_ckr(-EDQUOT), CKR_SESSION_COUNT);
	ck_assert_uint_eq(shim_errno_to_ckr(-EKEYREVOKED), CKR_SESSION_CLOSED);
	ck_assert_uint_eq(shim_errno_to_ckr(-EINTR), CKR_FUNCTION_CANCELED);
	ck_assert_uint_eq(shim_errno_to_ckr(-ENOMEM), CKR_HOST_MEMORY);
}
END_TEST

START_TEST(fork_child)
{
	CK_SESSION_HANDLE h = t_user_session(true), hc;
	CK_SESSION_INFO si;
	CK_INFO info;
	int status, nev = procfd_count("eventfd");
	pid_t pid;

	ck_assert_int_ge(nev, 1);
	mock_forked_calls = 0;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* At fork time, before any call: the inherited files are closed
		 * (a child that never calls PKCS#11 must not keep them). */
		if (mock_forked_calls != 1)
			_exit(8);
		if (procfd_count("eventfd") != nev - 1)
			_exit(9);
		/* The child inherits nothing usable, then starts over. */
		if (p11->C_GetInfo(&info) != CKR_CRYPTOKI_NOT_INITIALIZED)
			_exit(10);
		if (p11->C_GetSessionInfo(h, &si) != CKR_CRYPTOKI_NOT_INITIALIZED)
			_exit(11);
		if (p11->C_Initialize(NULL) != CKR_OK)
			_exit(12);
		if (p11->C_OpenSession(MOCK_GROUP_ID, CKF_SERIAL_SESSION, NULL, NULL, &hc) !=
		    CKR_OK)
			_exit(13);
		if (p11->C_GetSessionInfo(hc, &si) != CKR_OK || si.state != CKS_RO_PUBLIC_SESSION)
			_exit(14);
		if (p11->C_Login(hc, CKU_USER, PIN(USER_PIN)) != CKR_OK)
			_exit(15);
		_exit(p11->C_Finalize(NULL) == CKR_OK ? 0 : 16);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	/* The parent's state is untouched (the handler ran in the child only). */
	ck_assert_uint_eq(mock_forked_calls, 0);
	ck_assert_int_eq(procfd_count("eventfd"), nev);
	CK_OK(p11->C_GetSessionInfo(h, &si));
	ck_assert_uint_eq(si.state, CKS_RW_USER_FUNCTIONS);
}
END_TEST

/* A child whose first call is C_Finalize (cleaning up what it inherited)
 * gets CKR_CRYPTOKI_NOT_INITIALIZED at once (it hung on the module's lock)
 * and can start over. */
START_TEST(fork_child_finalize_first)
{
	CK_SESSION_HANDLE h = t_user_session(true), hc;
	int status;
	pid_t pid;

	(void)h;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		alarm(10); /* a hang ends as SIGALRM */
		if (p11->C_Finalize(NULL) != CKR_CRYPTOKI_NOT_INITIALIZED)
			_exit(10);
		if (p11->C_Finalize(NULL) != CKR_CRYPTOKI_NOT_INITIALIZED)
			_exit(11);
		if (p11->C_Initialize(NULL) != CKR_OK)
			_exit(12);
		if (p11->C_OpenSession(MOCK_GROUP_ID, CKF_SERIAL_SESSION, NULL, NULL, &hc) !=
		    CKR_OK)
			_exit(13);
		_exit(p11->C_Finalize(NULL) == CKR_OK ? 0 : 14);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shim-api");
	TCase *pre = tcase_create("uninitialized");
	TCase *tc = tcase_create("api");

	tcase_add_checked_fixture(pre, t_setup_noinit, t_teardown);
	tcase_add_test(pre, not_initialized);
	tcase_add_test(pre, init_args);
	tcase_add_test(pre, app_mutexes);
	tcase_add_test(pre, function_list_complete);
	tcase_add_test(pre, exports);
	tcase_add_test(pre, no_device);
	suite_add_tcase(s, pre);

	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, info_and_args);
	tcase_add_test(tc, unsupported);
	tcase_add_test(tc, token_absent);
	tcase_add_test(tc, finalize_wakes_waiter);
	tcase_add_test(tc, threads);
	tcase_add_test(tc, errno_map);
	tcase_add_test(tc, fork_child);
	tcase_add_test(tc, fork_child_finalize_first);
	suite_add_tcase(s, tc);
	return t_run(s);
}
