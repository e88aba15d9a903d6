// SPDX-License-Identifier: GPL-2.0
/*
 * mock_transport - the kernel module played in-process over one emulated
 * card (see mock_transport.h).  Mirrors the errno contract of
 * uapi/linux/hsmgroup.h for the calls the shim makes.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "card.h"
#include "mock_transport.h"

#define MAX_SESS 256

struct shim_transport {
	int dummy;
};

struct mock_sess {
	bool used, logged_in;
	uint32_t flags;
	uint64_t card_id;
	/* As the kernel: the PIN while logged in, for members that join. */
	uint32_t login_flags, pin_len, cardpin_len, record_len;
	uint8_t pin[HSMG_MAX_PIN_LEN];
	uint8_t cardpin[16];
	uint8_t record[HSMG_AUTH_RECORD_MAX];
};

bool mock_open_fails;
uint32_t mock_nonline = 1;
unsigned int mock_submits, mock_logins, mock_open_sessions, mock_cardpin_logins;
unsigned int mock_delay_us, mock_max_parallel, mock_rendezvous;
int mock_submit_errno;
unsigned int mock_hold_ms;
bool mock_no_events;
unsigned int mock_event_waits, mock_wake_fd_wakeups;
/* The kernel's event descriptor, played by an eventfd: mock_set_online. */
static int event_fd = -1;
static pthread_once_t event_once = PTHREAD_ONCE_INIT;
static uint64_t offline_since_ms;
unsigned int mock_in_card;
static pthread_mutex_t rv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rv_cond = PTHREAD_COND_INITIALIZER;

/*
 * mock_rendezvous: a submit waits (10 s at most) until that many submits are
 * inside the card at once, so a test sees whether the shim lets them in
 * together however busy the machine is.
 */
static void rendezvous(unsigned int inside)
{
	struct timespec end;

	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += 10;
	pthread_mutex_lock(&rv_lock);
	pthread_cond_broadcast(&rv_cond);
	while (__atomic_load_n(&mock_in_card, __ATOMIC_SEQ_CST) < mock_rendezvous &&
	       inside < mock_rendezvous && pthread_cond_timedwait(&rv_cond, &rv_lock, &end) == 0)
		;
	pthread_mutex_unlock(&rv_lock);
}
/* The session table and the card pointer: submits run in parallel now. */
static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;

static struct hsmg_card *card;
static struct mock_sess sess[MAX_SESS];
static uint64_t next_card_session = 1000;
static struct shim_transport the_client;

static const uint8_t mk[HSMG_CARD_MK_LEN] = "hsmgroup mock master key 0123456";

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void event_fd_make(void)
{
	event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck_assert_int_ge(event_fd, 0);
}

void mock_event(void)
{
	uint64_t one = 1;

	pthread_once(&event_once, event_fd_make);
	ck_assert_int_eq(write(event_fd, &one, sizeof(one)), sizeof(one));
}

void mock_set_online(uint32_t n)
{
	if (!n && __atomic_load_n(&mock_nonline, __ATOMIC_SEQ_CST))
		__atomic_store_n(&offline_since_ms, mono_ms(), __ATOMIC_SEQ_CST);
	__atomic_store_n(&mock_nonline, n, __ATOMIC_SEQ_CST);
	/* As the kernel: a state change is an event (none at hold expiry). */
	mock_event();
}

/* A submit with no member online waits the hold time for one. */
static bool wait_member(void)
{
	uint64_t end = mono_ms() + mock_hold_ms;
	struct timespec ms = {0, 1000000};

	while (!__atomic_load_n(&mock_nonline, __ATOMIC_SEQ_CST)) {
		if (mono_ms() >= end)
			return false;
		nanosleep(&ms, NULL);
	}
	return true;
}

void mock_transport_reset(void)
{
	mock_hold_ms = 0;
	hsmg_card_free(card);
	card = NULL;
	memset(sess, 0, sizeof(sess));
	mock_open_sessions = 0;
	mock_delay_us = 0;
	mock_max_parallel = 0;
	mock_rendezvous = 0;
	mock_submit_errno = 0;
	mock_no_events = false;
	mock_event_waits = 0;
	mock_wake_fd_wakeups = 0;
	mock_login_release();
	mock_logins_waiting = 0;
	mock_login_valve = 0;
}

static void card_login(struct hsmg_card *c, struct mock_sess *s, uint32_t flags,
		       const struct hsmg_client_creds *cr, struct hsmg_card_result *res);

/* A card of the group: it locks a PIN after MOCK_PIN_MAX_FAILURES failed
 * logins (as hsmsimd --pin-max-failures), the value the fixture also gives
 * the module (HSMGROUP_PIN_MAX_FAILURES) for its token flags. */
static struct hsmg_card *new_card(void)
{
	struct hsmg_card *c = hsmg_card_new(mk, 1, 0);

	if (c && hsmg_card_set_pin_policy(c, MOCK_PIN_MAX_FAILURES, NULL)) {
		hsmg_card_free(c);
		c = NULL;
	}
	return c;
}

void mock_failover(void)
{
	struct hsmg_card *second = new_card();
	struct hsmg_card_result res;
	int i;

	ck_assert_ptr_nonnull(second);
	pthread_rwlock_wrlock(&lock);
	/* The kernel logs the group's sessions in on the member that joins. */
	for (i = 0; i < MAX_SESS; i++)
		if (sess[i].used && sess[i].logged_in)
			card_login(second, &sess[i], sess[i].login_flags,
				   &(struct hsmg_client_creds){sess[i].pin, sess[i].pin_len,
							       sess[i].cardpin, sess[i].cardpin_len,
							       sess[i].record, sess[i].record_len},
				   &res);
	hsmg_card_free(card);
	card = second;
	pthread_rwlock_unlock(&lock);
}

static int m_open(const char *device, struct shim_transport **out)
{
	(void)device;
	if (mock_open_fails)
		return -ENOENT;
	if (!card) {
		card = new_card();
		if (!card)
			return -ENOMEM;
	}
	*out = &the_client;
	return 0;
}

static void m_close(struct shim_transport *t)
{
	(void)t;
	memset(sess, 0, sizeof(sess));
	mock_open_sessions = 0;
}

static void m_abandon(struct shim_transport *t)
{
	(void)t;
}

unsigned int mock_forked_calls;

static void m_forked(struct shim_transport *t)
{
	(void)t;
	mock_forked_calls++;
}

static int m_list_groups(struct shim_transport *t, struct hsmg_group_info *groups, uint32_t *count)
{
	(void)t;
	if (*count < 1) {
		*count = 1;
		return -ENOSPC;
	}
	memset(groups, 0, sizeof(*groups));
	groups[0].group_id = MOCK_GROUP_ID;
	groups[0].nmembers = 1;
	groups[0].nonline = __atomic_load_n(&mock_nonline, __ATOMIC_SEQ_CST);
	groups[0].hold_time_ms = mock_hold_ms;
	if (!groups[0].nonline && mock_hold_ms)
		groups[0].offline_ms =
		    (uint32_t)(mono_ms() - __atomic_load_n(&offline_since_ms, __ATOMIC_SEQ_CST));
	hsmg_card_mkvp(card, groups[0].mkvp);
	*count = 1;
	return 0;
}

static struct mock_sess *lookup(uint32_t id)
{
	if (id < 1 || id > MAX_SESS || !sess[id - 1].used)
		return NULL;
	return &sess[id - 1];
}

static int m_session_open(struct shim_transport *t, uint32_t group_id, uint32_t flags,
			  uint32_t *session_id)
{
	uint32_t i;

	(void)t;
	if (group_id != MOCK_GROUP_ID)
		return -ENOENT;
	if (flags & ~HSMG_SESSION_ALL_FLAGS)
		return -EINVAL;
	for (i = 0; i < MAX_SESS; i++) {
		if (!sess[i].used) {
			sess[i].used = true;
			sess[i].logged_in = false;
			sess[i].flags = flags;
			sess[i].card_id = next_card_session++;
			*session_id = i + 1;
			mock_open_sessions++;
			return 0;
		}
	}
	return -EMFILE;
}

static void card_logout(struct mock_sess *s)
{
	struct hsmg_be_req req = {
	    .type = HSMG_BE_REQ_LOGOUT, .session = s->card_id, .session_flags = s->flags};
	struct hsmg_card_result res;
	uint8_t ans[64];

	hsmg_card_process(card, 0, &req, NULL, ans, sizeof(ans), &res);
	s->logged_in = false;
	memset(s->pin, 0, sizeof(s->pin));
	memset(s->cardpin, 0, sizeof(s->cardpin));
	s->cardpin_len = 0;
}

static int m_session_close(struct shim_transport *t, uint32_t session_id)
{
	struct mock_sess *s = lookup(session_id);

	(void)t;
	if (!s)
		return -ENOENT;
	if (s->logged_in)
		card_logout(s);
	memset(s, 0, sizeof(*s));
	mock_open_sessions--;
	return 0;
}

static void card_login(struct hsmg_card *c, struct mock_sess *s, uint32_t flags,
		       const struct hsmg_client_creds *cr, struct hsmg_card_result *res)
{
	struct hsmg_be_req req = {.type = HSMG_BE_REQ_LOGIN};
	struct hsmg_be_login lg = {.flags = flags,
				   .pin_len = cr->pin_len,
				   .cardpin_len = cr->cardpin_len,
				   .record_len = cr->record_len};
	uint8_t payload[sizeof(lg) + HSMG_MAX_PIN_LEN + 16 + HSMG_AUTH_RECORD_MAX], ans[64];

	memcpy(payload, &lg, sizeof(lg));
	memcpy(payload + sizeof(lg), cr->pin, cr->pin_len);
	if (cr->cardpin_len)
		memcpy(payload + sizeof(lg) + cr->pin_len, cr->cardpin, cr->cardpin_len);
	if (cr->record_len)
		memcpy(payload + sizeof(lg) + cr->pin_len + cr->cardpin_len, cr->record,
		       cr->record_len);
	req.session = s->card_id;
	req.session_flags = s->flags;
	req.len = sizeof(lg) + cr->pin_len + cr->cardpin_len + cr->record_len;
	hsmg_card_process(c, 0, &req, payload, ans, sizeof(ans), res);
	memset(payload, 0, sizeof(payload));
}

unsigned int mock_logins_waiting, mock_login_valve;
static bool login_held;
static pthread_mutex_t login_gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t login_open = PTHREAD_COND_INITIALIZER;

void mock_login_hold(void)
{
	pthread_mutex_lock(&login_gate);
	login_held = true;
	pthread_mutex_unlock(&login_gate);
}

void mock_login_release(void)
{
	pthread_mutex_lock(&login_gate);
	login_held = false;
	pthread_cond_broadcast(&login_open);
	pthread_mutex_unlock(&login_gate);
}

static void login_wait_gate(void)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20;
	pthread_mutex_lock(&login_gate);
	if (login_held)
		__atomic_add_fetch(&mock_logins_waiting, 1, __ATOMIC_SEQ_CST);
	while (login_held) {
		if (pthread_cond_timedwait(&login_open, &login_gate, &until)) {
			mock_login_valve++;
			break;
		}
	}
	pthread_mutex_unlock(&login_gate);
}

static int m_login(struct shim_transport *t, uint32_t session_id, uint32_t flags,
		   const struct hsmg_client_creds *cr)
{
	bool vhsm;

	struct mock_sess *s = lookup(session_id);
	struct hsmg_card_result res;

	(void)t;
	login_wait_gate();
	s = lookup(session_id);
	if (!s)
		return -ENOENT;
	if (flags & ~HSMG_LOGIN_ALL_FLAGS)
		return -EINVAL;
	if (cr->pin_len < 1)
		return -EINVAL;
	if (cr->pin_len > HSMG_MAX_PIN_LEN || cr->record_len > HSMG_AUTH_RECORD_MAX)
		return -E2BIG;
	/* As the kernel: a card-PIN of 8..16 bytes for (only) VHSM user logins. */
	vhsm = (s->flags & HSMG_SESSION_VHSM) && !(flags & HSMG_LOGIN_SO);
	if (vhsm ? cr->cardpin_len < 8 || cr->cardpin_len > 16 : cr->cardpin_len != 0)
		return -EINVAL;
	if (s->logged_in)
		return -EBUSY;
	card_login(card, s, flags, cr, &res);
	if (res.status == HSMG_BE_QUOTA)
		return -EDQUOT;
	if (res.status == HSMG_BE_PIN_INCORRECT)
		return -EACCES;
	if (res.status == HSMG_BE_PIN_LOCKED)
		return -EKEYEXPIRED;
	if (res.status != HSMG_BE_OK)
		return -EIO;
	s->logged_in = true;
	s->login_flags = flags;
	s->pin_len = cr->pin_len;
	memcpy(s->pin, cr->pin, cr->pin_len);
	s->cardpin_len = cr->cardpin_len;
	if (cr->cardpin_len)
		memcpy(s->cardpin, cr->cardpin, cr->cardpin_len);
	s->record_len = cr->record_len;
	if (cr->record_len)
		memcpy(s->record, cr->record, cr->record_len);
	mock_cardpin_logins += cr->cardpin_len != 0;
	mock_logins++;
	return 0;
}

static int m_logout(struct shim_transport *t, uint32_t session_id)
{
	struct mock_sess *s = lookup(session_id);

	(void)t;
	if (!s)
		return -ENOENT;
	if (!s->logged_in)
		return -EINVAL;
	card_logout(s);
	return 0;
}

static int m_submit(struct shim_transport *t, uint32_t group_id, uint32_t session_id,
		    uint32_t op_class, uint32_t flags, uint32_t timeout_ms, const void *reqbuf,
		    uint32_t req_len, void *resp, uint32_t *resp_len)
{
	struct mock_sess *s = NULL;
	struct hsmg_be_req req = {.type = HSMG_BE_REQ_CRYPTO};
	struct hsmg_card_result res;
	uint8_t *ans;

	(void)t;
	(void)timeout_ms;
	if (flags & ~HSMG_SUBMIT_ALL_FLAGS || op_class >= HSMG_OP_NR)
		return -EINVAL;
	if (group_id != MOCK_GROUP_ID)
		return -ENOENT;
	if (session_id) {
		s = lookup(session_id);
		if (!s)
			return -ENOENT;
	}
	if (req_len < 1)
		return -EINVAL;
	if (req_len > HSMG_MAX_MSG_SIZE || *resp_len > HSMG_MAX_MSG_SIZE)
		return -E2BIG;
	if (!__atomic_load_n(&mock_nonline, __ATOMIC_SEQ_CST) && !(mock_hold_ms && wait_member()))
		return -ENODEV;
	if (mock_submit_errno)
		return -mock_submit_errno;
	ans = malloc(HSMG_MAX_MSG_SIZE);
	if (!ans)
		return -ENOMEM;
	req.op_class = op_class;
	req.session = s ? s->card_id : 0;
	req.session_flags = s ? s->flags : 0;
	req.len = req_len;
	{
		unsigned int now = __atomic_add_fetch(&mock_in_card, 1, __ATOMIC_SEQ_CST), max;

		max = __atomic_load_n(&mock_max_parallel, __ATOMIC_SEQ_CST);
		while (now > max &&
		       !__atomic_compare_exchange_n(&mock_max_parallel, &max, now, false,
						    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			;
		if (mock_rendezvous)
			rendezvous(now);
		if (mock_delay_us)
			usleep(mock_delay_us);
		pthread_rwlock_rdlock(&lock);
		hsmg_card_process(card, 0, &req, reqbuf, ans, HSMG_MAX_MSG_SIZE, &res);
		pthread_rwlock_unlock(&lock);
		__atomic_sub_fetch(&mock_in_card, 1, __ATOMIC_SEQ_CST);
	}
	__atomic_add_fetch(&mock_submits, 1, __ATOMIC_SEQ_CST);
	if (res.status != HSMG_BE_OK) {
		free(ans);
		return res.status == HSMG_BE_BADREQ ? -EPROTO : -EIO;
	}
	if (res.len > *resp_len) {
		*resp_len = res.len;
		free(ans);
		return -ENOSPC;
	}
	memcpy(resp, ans, res.len);
	*resp_len = res.len;
	free(ans);
	return 0;
}

/* As io_wait_event over the eventfd; -EOPNOTSUPP with mock_no_events. */
static int m_wait_event(struct shim_transport *t, int wake_fd, int timeout_ms)
{
	struct pollfd p[2];
	uint64_t v;

	(void)t;
	if (__atomic_load_n(&mock_no_events, __ATOMIC_SEQ_CST))
		return -EOPNOTSUPP;
	pthread_once(&event_once, event_fd_make);
	if (timeout_ms) {
		__atomic_add_fetch(&mock_event_waits, 1, __ATOMIC_SEQ_CST);
		p[0] = (struct pollfd){.fd = event_fd, .events = POLLIN};
		p[1] = (struct pollfd){.fd = wake_fd, .events = POLLIN};
		if (poll(p, 2, timeout_ms) < 0 && errno != EINTR)
			return -errno;
		if (p[1].revents & POLLIN)
			__atomic_add_fetch(&mock_wake_fd_wakeups, 1, __ATOMIC_SEQ_CST);
	}
	return read(event_fd, &v, sizeof(v)) == sizeof(v);
}

const struct shim_transport_ops mock_transport_ops = {
    .open = m_open,
    .close = m_close,
    .abandon = m_abandon,
    .forked = m_forked,
    .list_groups = m_list_groups,
    .session_open = m_session_open,
    .session_close = m_session_close,
    .login = m_login,
    .logout = m_logout,
    .submit = m_submit,
    .wait_event = m_wait_event,
};
