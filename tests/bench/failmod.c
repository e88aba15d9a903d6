// SPDX-License-Identifier: GPL-2.0
/*
 * A PKCS#11 module that fails on purpose, for tests/bench/run: one slot with
 * an initialized token; C_GenerateRandom fails with CKR_DEVICE_ERROR on every
 * third call of a process, C_GetSessionInfo always works, every mechanism is
 * unknown.  hsmg-bench must count exactly the failed calls as errors, report
 * the first one and exit 1 unless --allow-errors.
 */
#include <stdatomic.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

static atomic_ulong calls;
static atomic_int initialized;

static CK_RV fm_initialize(CK_VOID_PTR args)
{
	return atomic_exchange(&initialized, 1) ? CKR_CRYPTOKI_ALREADY_INITIALIZED : CKR_OK;
}

static CK_RV fm_finalize(CK_VOID_PTR reserved)
{
	return atomic_exchange(&initialized, 0) ? CKR_OK : CKR_CRYPTOKI_NOT_INITIALIZED;
}

static void blank(unsigned char *dst, size_t len, const char *s)
{
	memset(dst, ' ', len);
	memcpy(dst, s, strlen(s) < len ? strlen(s) : len);
}

static CK_RV fm_get_info(CK_INFO_PTR info)
{
	memset(info, 0, sizeof(*info));
	info->cryptokiVersion.major = 2;
	info->cryptokiVersion.minor = 40;
	blank(info->manufacturerID, sizeof(info->manufacturerID), "hsmgroup tests");
	blank(info->libraryDescription, sizeof(info->libraryDescription), "failing module");
	return CKR_OK;
}

static CK_RV fm_get_slot_list(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
	if (list) {
		if (*count < 1) {
			*count = 1;
			return CKR_BUFFER_TOO_SMALL;
		}
		list[0] = 7;
	}
	*count = 1;
	return CKR_OK;
}

static CK_RV fm_get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR ti)
{
	if (slot != 7)
		return CKR_SLOT_ID_INVALID;
	memset(ti, 0, sizeof(*ti));
	blank(ti->label, sizeof(ti->label), "failing");
	blank(ti->manufacturerID, sizeof(ti->manufacturerID), "hsmgroup tests");
	blank(ti->model, sizeof(ti->model), "failmod");
	blank(ti->serialNumber, sizeof(ti->serialNumber), "1");
	ti->flags = CKF_TOKEN_INITIALIZED | CKF_RNG;
	return CKR_OK;
}

static CK_RV fm_get_mechanism_info(CK_SLOT_ID slot, CK_MECHANISM_TYPE m, CK_MECHANISM_INFO_PTR mi)
{
	return CKR_MECHANISM_INVALID;
}

static CK_RV fm_open_session(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
			     CK_SESSION_HANDLE_PTR s)
{
	static atomic_ulong next = 1;

	if (slot != 7)
		return CKR_SLOT_ID_INVALID;
	*s = atomic_fetch_add(&next, 1);
	return CKR_OK;
}

static CK_RV fm_close_session(CK_SESSION_HANDLE s)
{
	return CKR_OK;
}

static CK_RV fm_close_all_sessions(CK_SLOT_ID slot)
{
	return CKR_OK;
}

static CK_RV fm_get_session_info(CK_SESSION_HANDLE s, CK_SESSION_INFO_PTR si)
{
	memset(si, 0, sizeof(*si));
	si->slotID = 7;
	si->state = CKS_RW_PUBLIC_SESSION;
	si->flags = CKF_SERIAL_SESSION | CKF_RW_SESSION;
	return CKR_OK;
}

static CK_RV fm_generate_random(CK_SESSION_HANDLE s, CK_BYTE_PTR buf, CK_ULONG len)
{
	if (atomic_fetch_add(&calls, 1) % 3 == 2)
		return CKR_DEVICE_ERROR;
	memset(buf, 0x5a, len);
	return CKR_OK;
}

static CK_FUNCTION_LIST fm_list = {
    .version = {2, 40},
    .C_Initialize = fm_initialize,
    .C_Finalize = fm_finalize,
    .C_GetInfo = fm_get_info,
    .C_GetSlotList = fm_get_slot_list,
    .C_GetTokenInfo = fm_get_token_info,
    .C_GetMechanismInfo = fm_get_mechanism_info,
    .C_OpenSession = fm_open_session,
    .C_CloseSession = fm_close_session,
    .C_CloseAllSessions = fm_close_all_sessions,
    .C_GetSessionInfo = fm_get_session_info,
    .C_GenerateRandom = fm_generate_random,
};

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	if (!list)
		return CKR_ARGUMENTS_BAD;
	*list = &fm_list;
	return CKR_OK;
}
