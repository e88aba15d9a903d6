// SPDX-License-Identifier: GPL-2.0
/*
 * hsmgroupctl - look at and change hsmgroup groups, queues, sessions and
 * policy through the "hsmgroup" generic netlink family; watch events.
 *
 * Exit status: 0 success, 1 runtime error (module not loaded, permission
 * denied, no such group/queue/session, kernel refused), 2 usage error.
 * See hsmgroupctl(8).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libudev.h>
#include <linux/hsmgroup.h>

#include "nl.h"
#include "out.h"
#include "token.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

static bool json;
static struct ctl_nl *nl;

static const char *const state_names[] = {
    [HSMG_QS_ONLINE] = "online",     [HSMG_QS_SUSPECT] = "suspect",
    [HSMG_QS_OFFLINE] = "offline",   [HSMG_QS_RECOVERING] = "recovering",
    [HSMG_QS_DRAINING] = "draining", [HSMG_QS_STANDBY] = "standby",
    [HSMG_QS_DISABLED] = "disabled", [HSMG_QS_MISMATCH] = "mismatch",
};

static const char *const admin_names[] = {
    [HSMG_ADMIN_NONE] = "none",	      [HSMG_ADMIN_ONLINE] = "online",
    [HSMG_ADMIN_DRAIN] = "drain",     [HSMG_ADMIN_DISABLE] = "disable",
    [HSMG_ADMIN_STANDBY] = "standby", [HSMG_ADMIN_ACTIVE] = "active",
};

static const char *const event_names[] = {
    [HSMG_EVENT_STATE] = "state",   [HSMG_EVENT_ATTACH] = "attach",
    [HSMG_EVENT_DETACH] = "detach", [HSMG_EVENT_MISMATCH] = "mismatch",
    [HSMG_EVENT_POLICY] = "policy", [HSMG_EVENT_SESSION_END] = "session-end",
    [HSMG_EVENT_ADMIN] = "admin",   [HSMG_EVENT_DAMPED] = "damped",
};

static const char *const policy_keys[HSMG_POLICY_NVALUES + 1] = {
    [HSMG_POLICY_A_RECOVERY_INTERVAL_MS] = "recovery_interval_ms",
    [HSMG_POLICY_A_RECOVERY_BACKOFF_MAX_MS] = "recovery_backoff_max_ms",
    [HSMG_POLICY_A_RECOVERY_RETRIES] = "recovery_retries",
    [HSMG_POLICY_A_HOLD_TIME_MS] = "hold_time_ms",
    [HSMG_POLICY_A_REQUEST_TIMEOUT_MS] = "request_timeout_ms",
    [HSMG_POLICY_A_KEYGEN_TIMEOUT_MS] = "keygen_timeout_ms",
    [HSMG_POLICY_A_SUSPECT_THRESHOLD] = "suspect_threshold",
    [HSMG_POLICY_A_MAX_ATTEMPTS] = "max_attempts",
};

static const char *name_of(const char *const *names, size_t n, uint32_t v)
{
	return v < n && names[v] ? names[v] : "unknown";
}
#define NAME(arr, v) name_of(arr, sizeof(arr) / sizeof((arr)[0]), v)

/* ---- errors ---- */

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("hsmgroupctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see hsmgroupctl --help)\n", stderr);
	exit(EXIT_USAGE);
}

/* Report a failed call on @what; returns EXIT_RUNTIME. */
static int nl_fail(int err, const char *what)
{
	const char *km = ctl_nl_errmsg(nl);

	if (err == -EPERM || err == -EACCES)
		fprintf(stderr,
			"hsmgroupctl: %s: permission denied (changes need CAP_NET_ADMIN: run as "
			"root)\n",
			what);
	else if (*km)
		fprintf(stderr, "hsmgroupctl: %s: %s (%s)\n", what, km, strerror(-err));
	else
		fprintf(stderr, "hsmgroupctl: %s: %s\n", what, strerror(-err));
	return EXIT_RUNTIME;
}

static int connect_nl(void)
{
	if (!nl)
		nl = ctl_nl_open();
	return nl ? 0 : -1;
}

/* ---- parsing arguments ---- */

static uint32_t parse_u32(const char *s, const char *what, uint32_t min, uint32_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max || s[0] == '-')
		usage_error("%s must be a number %u..%u, got '%s'", what, min, max, s);
	return v;
}

static uint64_t parse_u64(const char *s, const char *what)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || !v || s[0] == '-')
		usage_error("%s must be a positive number, got '%s'", what, s);
	return v;
}

static void parse_apqn(const char *s, uint16_t *adapter, uint16_t *domain)
{
	unsigned int a, d;
	int n = -1;

	/* At most 2 and 4 hex digits cannot overflow; %n and the range checks reject the rest. */
	if (sscanf(s, "%2x.%4x%n", &a, &d, &n) != 2 || // NOLINT(cert-err34-c)
	    n != (int)strlen(s) || a > 255 || d > 255)
		usage_error("queue must be AA.DDDD (hex adapter.domain, each 0-ff), got '%s'", s);
	*adapter = a;
	*domain = d;
}

/* ---- objects ---- */

struct group {
	uint32_t id, members, online, mismatch, sessions;
	uint64_t requests, errors, failovers;
	uint8_t mkvp[HSMG_MKVP_LEN];
	uint32_t policy[HSMG_POLICY_NVALUES + 1];
	uint32_t overrides;
	bool has_policy;
};

struct queue {
	uint16_t adapter, domain;
	uint32_t id, group, state, role, admin, attached, speed;
	uint32_t inflight, pending, max_inflight, sessions, max_sessions, latency_us;
	uint64_t requests, errors, transitions, latency_total_us, load, capabilities;
	uint32_t flaps, damp_ms, damped_left_ms; /* flap damping */
	uint8_t mkvp[HSMG_MKVP_LEN];
};

struct session {
	uint64_t id;
	uint32_t group, flags, pid, uid, members;
	bool logged_in, revoked;
	char comm[32];
	uint32_t apqn[256];
	unsigned int napqn;
};

struct vec {
	void *v;
	size_t n, cap, size;
};

static void *vec_add(struct vec *v)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 16;
		v->v = realloc(v->v, v->cap * v->size);
		if (!v->v) {
			fprintf(stderr, "hsmgroupctl: out of memory\n");
			exit(EXIT_RUNTIME);
		}
	}
	memset((char *)v->v + v->n * v->size, 0, v->size);
	return (char *)v->v + v->n++ * v->size;
}

static uint32_t u32a(struct nlattr *a)
{
	return a ? nla_get_u32(a) : 0;
}

static uint64_t u64a(struct nlattr *a)
{
	return a ? nla_get_u64(a) : 0;
}

static uint32_t u16a(struct nlattr *a)
{
	return a ? nla_get_u16(a) : 0;
}

static uint32_t u8a(struct nlattr *a)
{
	return a ? nla_get_u8(a) : 0;
}

static void copy_mkvp(uint8_t *dst, struct nlattr *a)
{
	if (a && nla_len(a) == HSMG_MKVP_LEN)
		memcpy(dst, nla_data(a), HSMG_MKVP_LEN);
}

static int group_cb(struct nlattr **tb, void *arg)
{
	struct nlattr *g[HSMG_GROUP_A_MAX + 1], *p[HSMG_POLICY_A_MAX + 1];
	struct group *gr;
	int a;

	if (ctl_nl_nest(g, HSMG_GROUP_A_MAX, tb[HSMG_A_GROUP]))
		return 0;
	gr = vec_add(arg);
	gr->id = u32a(g[HSMG_GROUP_A_ID]);
	gr->members = u32a(g[HSMG_GROUP_A_MEMBERS]);
	gr->online = u32a(g[HSMG_GROUP_A_ONLINE]);
	gr->mismatch = u32a(g[HSMG_GROUP_A_MISMATCH]);
	gr->sessions = u32a(g[HSMG_GROUP_A_SESSIONS]);
	gr->requests = u64a(g[HSMG_GROUP_A_REQUESTS]);
	gr->errors = u64a(g[HSMG_GROUP_A_ERRORS]);
	gr->failovers = u64a(g[HSMG_GROUP_A_FAILOVERS]);
	copy_mkvp(gr->mkvp, g[HSMG_GROUP_A_MKVP]);
	if (!ctl_nl_nest(p, HSMG_POLICY_A_MAX, tb[HSMG_A_POLICY])) {
		gr->has_policy = true;
		for (a = 1; a <= HSMG_POLICY_NVALUES; a++)
			gr->policy[a] = u32a(p[a]);
		gr->overrides = u32a(p[HSMG_POLICY_A_OVERRIDES]);
	}
	return 0;
}

static int queue_cb(struct nlattr **tb, void *arg)
{
	struct nlattr *a[HSMG_QUEUE_A_MAX + 1];
	struct queue *q;

	if (ctl_nl_nest(a, HSMG_QUEUE_A_MAX, tb[HSMG_A_QUEUE]))
		return 0;
	q = vec_add(arg);
	q->adapter = u16a(a[HSMG_QUEUE_A_ADAPTER]);
	q->domain = u16a(a[HSMG_QUEUE_A_DOMAIN]);
	q->id = u32a(a[HSMG_QUEUE_A_ID]);
	q->group = u32a(a[HSMG_QUEUE_A_GROUP_ID]);
	q->state = u32a(a[HSMG_QUEUE_A_STATE]);
	q->role = u8a(a[HSMG_QUEUE_A_ROLE]);
	q->admin = u32a(a[HSMG_QUEUE_A_ADMIN]);
	q->attached = u8a(a[HSMG_QUEUE_A_ATTACHED]);
	q->speed = u32a(a[HSMG_QUEUE_A_SPEED]);
	q->inflight = u32a(a[HSMG_QUEUE_A_INFLIGHT]);
	q->pending = u32a(a[HSMG_QUEUE_A_PENDING]);
	q->max_inflight = u32a(a[HSMG_QUEUE_A_MAX_INFLIGHT]);
	q->sessions = u32a(a[HSMG_QUEUE_A_SESSIONS]);
	q->max_sessions = u32a(a[HSMG_QUEUE_A_MAX_SESSIONS]);
	q->requests = u64a(a[HSMG_QUEUE_A_REQUESTS]);
	q->errors = u64a(a[HSMG_QUEUE_A_ERRORS]);
	q->transitions = u64a(a[HSMG_QUEUE_A_TRANSITIONS]);
	q->latency_us = u32a(a[HSMG_QUEUE_A_LATENCY_US]);
	q->latency_total_us = u64a(a[HSMG_QUEUE_A_LATENCY_TOTAL_US]);
	q->load = u64a(a[HSMG_QUEUE_A_LOAD]);
	q->capabilities = u64a(a[HSMG_QUEUE_A_CAPABILITIES]);
	q->flaps = u32a(a[HSMG_QUEUE_A_FLAPS]);
	q->damp_ms = u32a(a[HSMG_QUEUE_A_DAMP_MS]);
	q->damped_left_ms = u32a(a[HSMG_QUEUE_A_DAMPED_LEFT_MS]);
	copy_mkvp(q->mkvp, a[HSMG_QUEUE_A_MKVP]);
	return 0;
}

static int session_cb(struct nlattr **tb, void *arg)
{
	struct nlattr *a[HSMG_SESSION_A_MAX + 1], *m;
	struct session *s;
	int rem;

	if (ctl_nl_nest(a, HSMG_SESSION_A_MAX, tb[HSMG_A_SESSION]))
		return 0;
	s = vec_add(arg);
	s->id = u64a(a[HSMG_SESSION_A_ID]);
	s->group = u32a(a[HSMG_SESSION_A_GROUP_ID]);
	s->flags = u32a(a[HSMG_SESSION_A_FLAGS]);
	s->logged_in = u8a(a[HSMG_SESSION_A_LOGGED_IN]);
	s->revoked = u8a(a[HSMG_SESSION_A_REVOKED]);
	s->pid = u32a(a[HSMG_SESSION_A_OWNER_PID]);
	s->uid = u32a(a[HSMG_SESSION_A_OWNER_UID]);
	s->members = u32a(a[HSMG_SESSION_A_MEMBERS]);
	if (a[HSMG_SESSION_A_OWNER_COMM])
		snprintf(s->comm, sizeof(s->comm), "%s",
			 (const char *)nla_data(a[HSMG_SESSION_A_OWNER_COMM]));
	if (a[HSMG_SESSION_A_MEMBER_LIST])
		nla_for_each_nested(m, a[HSMG_SESSION_A_MEMBER_LIST],
				    rem) if (nla_type(m) == HSMG_SESSION_A_MEMBER_APQN &&
					     s->napqn < 256) s->apqn[s->napqn++] = nla_get_u32(m);
	return 0;
}

static void put_group_id(struct nl_msg *msg, uint32_t id)
{
	struct nlattr *n = nla_nest_start(msg, HSMG_A_GROUP);

	nla_put_u32(msg, HSMG_GROUP_A_ID, id);
	nla_nest_end(msg, n);
}

static void put_queue_id(struct nl_msg *msg, uint16_t adapter, uint16_t domain)
{
	nla_put_u16(msg, HSMG_QUEUE_A_ADAPTER, adapter);
	nla_put_u16(msg, HSMG_QUEUE_A_DOMAIN, domain);
}

static int fetch_groups(struct vec *v, uint32_t id)
{
	struct nl_msg *msg = ctl_nl_msg(nl, HSMG_CMD_GET_GROUP, !id);

	*v = (struct vec){.size = sizeof(struct group)};
	if (id)
		put_group_id(msg, id);
	return ctl_nl_call(nl, msg, group_cb, v);
}

static int fetch_queues(struct vec *v, uint32_t group)
{
	struct nl_msg *msg = ctl_nl_msg(nl, HSMG_CMD_GET_QUEUE, true);

	*v = (struct vec){.size = sizeof(struct queue)};
	if (group)
		put_group_id(msg, group);
	return ctl_nl_call(nl, msg, queue_cb, v);
}

static int fetch_queue(struct vec *v, uint16_t adapter, uint16_t domain)
{
	struct nl_msg *msg = ctl_nl_msg(nl, HSMG_CMD_GET_QUEUE, false);
	struct nlattr *n = nla_nest_start(msg, HSMG_A_QUEUE);

	put_queue_id(msg, adapter, domain);
	nla_nest_end(msg, n);
	*v = (struct vec){.size = sizeof(struct queue)};
	return ctl_nl_call(nl, msg, queue_cb, v);
}

static int fetch_sessions(struct vec *v, uint32_t group, uint64_t id)
{
	struct nl_msg *msg = ctl_nl_msg(nl, HSMG_CMD_GET_SESSION, !id);

	*v = (struct vec){.size = sizeof(struct session)};
	if (group)
		put_group_id(msg, group);
	if (id) {
		struct nlattr *n = nla_nest_start(msg, HSMG_A_SESSION);

		nla_put_u64(msg, HSMG_SESSION_A_ID, id);
		nla_nest_end(msg, n);
	}
	return ctl_nl_call(nl, msg, session_cb, v);
}

int ctl_group_lookup(uint32_t id, const char *serial, uint32_t *out_id, uint8_t mkvp[HSMG_MKVP_LEN])
{
	const struct group *g, *found = NULL;
	char s[17];
	struct vec gs;
	int ret;

	if (connect_nl())
		return -1;
	ret = fetch_groups(&gs, id);
	if (ret == -ENOENT && id) {
		fprintf(stderr,
			"hsmgroupctl: no group %u (hsmgroupctl group list shows the groups)\n", id);
		return -1;
	}
	if (ret) {
		nl_fail(ret, "groups");
		return -1;
	}
	for (size_t i = 0; i < gs.n; i++) {
		g = (const struct group *)gs.v + i;
		for (int k = 0; k < 8; k++)
			sprintf(s + 2 * k, "%02X", g->mkvp[k]);
		if (serial ? !strcasecmp(s, serial) : (!id || g->id == id)) {
			if (found) {
				fprintf(stderr,
					"hsmgroupctl: %zu groups: name one with --group G "
					"or --serial SERIAL\n",
					gs.n);
				free(gs.v);
				return -1;
			}
			found = g;
		}
	}
	if (!found) {
		if (serial)
			fprintf(
			    stderr,
			    "hsmgroupctl: no token with serial %s (hsmgroupctl group list shows "
			    "the MKVPs; the serial is their first 16 hex digits)\n",
			    serial);
		else
			fprintf(stderr, "hsmgroupctl: no group\n");
		free(gs.v);
		return -1;
	}
	*out_id = found->id;
	memcpy(mkvp, found->mkvp, HSMG_MKVP_LEN);
	free(gs.v);
	return 0;
}

/* ---- printing ---- */

static void mkvp_short(char *buf, const uint8_t *mkvp)
{
	int i;

	for (i = 0; i < 8; i++)
		sprintf(buf + 2 * i, "%02x", mkvp[i]);
}

static void json_policy(const struct group *g)
{
	int a;

	j_obj("policy");
	for (a = 1; a <= HSMG_POLICY_NVALUES; a++)
		j_u64(policy_keys[a], g->policy[a]);
	j_arr("overrides");
	for (a = 1; a <= HSMG_POLICY_NVALUES; a++)
		if (g->overrides & (1u << a))
			j_str(NULL, policy_keys[a]);
	j_end();
	j_end();
}

static void json_group(const struct group *g)
{
	j_obj(NULL);
	j_u64("id", g->id);
	j_hex("mkvp", g->mkvp, HSMG_MKVP_LEN);
	j_u64("members", g->members);
	j_u64("online", g->online);
	j_u64("mismatch", g->mismatch);
	j_u64("sessions", g->sessions);
	j_u64("requests", g->requests);
	j_u64("errors", g->errors);
	j_u64("failovers", g->failovers);
	if (g->has_policy)
		json_policy(g);
	j_end();
}

static void apqn_str(char *buf, size_t len, uint32_t adapter, uint32_t domain)
{
	snprintf(buf, len, "%02x.%04x", adapter, domain);
}

static void json_queue(const struct queue *q)
{
	char apqn[16];

	apqn_str(apqn, sizeof(apqn), q->adapter, q->domain);
	j_obj(NULL);
	j_str("queue", apqn);
	j_u64("adapter", q->adapter);
	j_u64("domain", q->domain);
	j_u64("queue_id", q->id);
	j_u64("group", q->group);
	j_str("state", NAME(state_names, q->state));
	j_str("role", q->role ? "standby" : "active");
	j_str("admin", NAME(admin_names, q->admin));
	j_bool("attached", q->attached);
	j_u64("weight", q->speed);
	j_u64("inflight", q->inflight);
	j_u64("pending", q->pending);
	j_u64("max_inflight", q->max_inflight);
	j_u64("load", q->load);
	j_u64("sessions", q->sessions);
	j_u64("max_sessions", q->max_sessions);
	j_u64("requests", q->requests);
	j_u64("errors", q->errors);
	j_u64("transitions", q->transitions);
	j_u64("latency_us", q->latency_us);
	j_u64("latency_total_us", q->latency_total_us);
	j_u64("capabilities", q->capabilities);
	j_hex("mkvp", q->mkvp, HSMG_MKVP_LEN);
	j_u64("flaps", q->flaps);
	j_u64("damp_ms", q->damp_ms);
	j_u64("damped_left_ms", q->damped_left_ms);
	j_end();
}

static void json_session(const struct session *s)
{
	char buf[32];
	unsigned int i;

	j_obj(NULL);
	/* u64 ids as strings: JSON readers keep them exact. */
	snprintf(buf, sizeof(buf), "%" PRIu64, s->id);
	j_str("id", buf);
	j_u64("group", s->group);
	j_bool("logged_in", s->logged_in);
	j_bool("revoked", s->revoked);
	j_bool("rw", s->flags & HSMG_SESSION_RW);
	j_bool("strict", s->flags & HSMG_SESSION_STRICT);
	j_bool("vhsm", s->flags & HSMG_SESSION_VHSM);
	j_u64("pid", s->pid);
	j_u64("uid", s->uid);
	j_str("comm", s->comm);
	j_u64("members", s->members);
	j_arr("member_queues");
	for (i = 0; i < s->napqn; i++) {
		apqn_str(buf, sizeof(buf), s->apqn[i] >> 8, s->apqn[i] & 0xff);
		j_str(NULL, buf);
	}
	j_end();
	j_end();
}

static void table_groups(const struct vec *v)
{
	char mk[20];
	size_t i;

	printf("%-6s %-17s %7s %6s %8s %8s %10s %8s %9s\n", "GROUP", "MKVP", "MEMBERS", "ONLINE",
	       "MISMATCH", "SESSIONS", "REQUESTS", "ERRORS", "FAILOVERS");
	for (i = 0; i < v->n; i++) {
		const struct group *g = (const struct group *)v->v + i;

		mkvp_short(mk, g->mkvp);
		printf("%-6u %-16s… %7u %6u %8u %8u %10" PRIu64 " %8" PRIu64 " %9" PRIu64 "\n",
		       g->id, mk, g->members, g->online, g->mismatch, g->sessions, g->requests,
		       g->errors, g->failovers);
	}
}

static void table_queues(const struct vec *v)
{
	char apqn[16];
	size_t i;

	char held[16];

	printf("%-8s %5s %-10s %-7s %-7s %6s %5s %5s %5s %8s %10s %7s %8s %5s %8s\n", "QUEUE",
	       "GROUP", "STATE", "ROLE", "ADMIN", "WEIGHT", "INFL", "PEND", "SESS", "LAT_US",
	       "REQUESTS", "ERRORS", "QUEUE_ID", "FLAPS", "DAMPED");
	for (i = 0; i < v->n; i++) {
		const struct queue *q = (const struct queue *)v->v + i;

		apqn_str(apqn, sizeof(apqn), q->adapter, q->domain);
		/* DAMPED: ms until a flapping member may rejoin, - when not held. */
		if (q->damped_left_ms)
			snprintf(held, sizeof(held), "%ums", q->damped_left_ms);
		else
			snprintf(held, sizeof(held), "-");
		printf("%-8s %5u %-10s %-7s %-7s %6u %5u %5u %5u %8u %10" PRIu64 " %7" PRIu64
		       " %8u %5u %8s\n",
		       apqn, q->group, NAME(state_names, q->state), q->role ? "standby" : "active",
		       NAME(admin_names, q->admin), q->speed, q->inflight, q->pending, q->sessions,
		       q->latency_us, q->requests, q->errors, q->id, q->flaps, held);
	}
}

static void table_sessions(const struct vec *v)
{
	char flags[16], apqn[16];
	size_t i;
	unsigned int k;

	printf("%-20s %5s %-9s %-5s %7s %6s %-16s %s\n", "SESSION", "GROUP", "STATE", "FLAGS",
	       "PID", "UID", "COMM", "MEMBERS");
	for (i = 0; i < v->n; i++) {
		const struct session *s = (const struct session *)v->v + i;

		snprintf(flags, sizeof(flags), "%s%s%s", s->flags & HSMG_SESSION_RW ? "rw" : "ro",
			 s->flags & HSMG_SESSION_STRICT ? ",s" : "",
			 s->flags & HSMG_SESSION_VHSM ? ",v" : "");
		printf("%-20" PRIu64 " %5u %-9s %-5s %7u %6u %-16s %u", s->id, s->group,
		       s->revoked     ? "revoked"
		       : s->logged_in ? "logged-in"
				      : "open",
		       flags, s->pid, s->uid, s->comm, s->members);
		for (k = 0; k < s->napqn; k++) {
			apqn_str(apqn, sizeof(apqn), s->apqn[k] >> 8, s->apqn[k] & 0xff);
			printf("%s%s", k ? "," : " (", apqn);
		}
		printf("%s\n", s->napqn ? ")" : "");
	}
}

static void print_policy(const struct group *g)
{
	int a;

	for (a = 1; a <= HSMG_POLICY_NVALUES; a++) {
		printf("  %-24s %u", policy_keys[a], g->policy[a]);
		if (a == HSMG_POLICY_A_RECOVERY_RETRIES && !g->policy[a])
			printf(" (infinite)");
		printf("%s\n", g->overrides & (1u << a) ? "" : "  (module default)");
	}
}

/* ---- commands ---- */

static int cmd_group(int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "list";
	struct vec gs, qs;
	uint32_t id = 0;
	char what[64];
	int ret;

	if (!strcmp(sub, "list")) {
		if (argc > 1)
			usage_error("group list takes no argument");
	} else if (!strcmp(sub, "show")) {
		if (argc != 2)
			usage_error("group show needs a group id");
		id = parse_u32(argv[1], "group id", 1, INT32_MAX);
	} else {
		usage_error("unknown group command '%s' (list, show G)", sub);
	}
	if (connect_nl())
		return EXIT_RUNTIME;
	snprintf(what, sizeof(what), id ? "group %u" : "groups", id);
	ret = fetch_groups(&gs, id);
	if (ret == -ENOENT && id) {
		fprintf(stderr,
			"hsmgroupctl: no group %u (hsmgroupctl group list shows the groups)\n", id);
		return EXIT_RUNTIME;
	}
	if (ret)
		return nl_fail(ret, what);
	if (!id) {
		if (json) {
			j_arr(NULL);
			for (size_t i = 0; i < gs.n; i++)
				json_group((struct group *)gs.v + i);
			j_end();
			j_newline();
		} else {
			table_groups(&gs);
		}
		return 0;
	}
	ret = fetch_queues(&qs, id);
	if (ret)
		return nl_fail(ret, what);
	if (json) {
		/* The group object plus its members. */
		const struct group *g = gs.v;

		j_obj(NULL);
		j_u64("id", g->id);
		j_hex("mkvp", g->mkvp, HSMG_MKVP_LEN);
		j_u64("members", g->members);
		j_u64("online", g->online);
		j_u64("mismatch", g->mismatch);
		j_u64("sessions", g->sessions);
		j_u64("requests", g->requests);
		j_u64("errors", g->errors);
		j_u64("failovers", g->failovers);
		json_policy(g);
		j_arr("queues");
		for (size_t i = 0; i < qs.n; i++)
			json_queue((struct queue *)qs.v + i);
		j_end();
		j_end();
		j_newline();
	} else {
		const struct group *g = gs.v;

		printf("group %u\n  mkvp      ", g->id);
		for (int i = 0; i < HSMG_MKVP_LEN; i++)
			printf("%02x", g->mkvp[i]);
		printf("\n  members   %u (%u online, %u in mismatch)\n  sessions  %u logged in\n"
		       "  requests  %" PRIu64 " (%" PRIu64 " errors, %" PRIu64
		       " failovers)\npolicy:\n",
		       g->members, g->online, g->mismatch, g->sessions, g->requests, g->errors,
		       g->failovers);
		print_policy(g);
		printf("queues:\n");
		table_queues(&qs);
	}
	return 0;
}

static int queue_not_found(uint16_t a, uint16_t d)
{
	fprintf(stderr,
		"hsmgroupctl: no queue %02x.%04x (hsmgroupctl queue list shows the queues)\n", a,
		d);
	return EXIT_RUNTIME;
}

static int cmd_queue(int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "list";
	uint32_t group = 0, admin = 0, speed = 0;
	uint16_t adapter, domain;
	char what[64];
	struct vec qs;
	int ret, i;

	if (!strcmp(sub, "list")) {
		for (i = 1; i < argc; i++) {
			if (!strcmp(argv[i], "--group") && i + 1 < argc)
				group = parse_u32(argv[++i], "group id", 1, INT32_MAX);
			else
				usage_error("queue list takes [--group G], got '%s'", argv[i]);
		}
		if (connect_nl())
			return EXIT_RUNTIME;
		ret = fetch_queues(&qs, group);
		if (ret == -ENOENT && group) {
			fprintf(stderr, "hsmgroupctl: no group %u\n", group);
			return EXIT_RUNTIME;
		}
		if (ret)
			return nl_fail(ret, "queues");
		if (json) {
			j_arr(NULL);
			for (size_t k = 0; k < qs.n; k++)
				json_queue((struct queue *)qs.v + k);
			j_end();
			j_newline();
		} else {
			table_queues(&qs);
		}
		return 0;
	}
	if (!strcmp(sub, "show")) {
		if (argc != 2)
			usage_error("queue show needs a queue AA.DDDD");
		parse_apqn(argv[1], &adapter, &domain);
		if (connect_nl())
			return EXIT_RUNTIME;
		ret = fetch_queue(&qs, adapter, domain);
		if (ret == -ENOENT)
			return queue_not_found(adapter, domain);
		if (ret)
			return nl_fail(ret, argv[1]);
		if (json) {
			json_queue(qs.v);
			j_newline();
		} else {
			table_queues(&qs);
		}
		return 0;
	}
	if (strcmp(sub, "set"))
		usage_error("unknown queue command '%s' (list, show, set)", sub);
	if (argc < 4)
		usage_error("queue set AA.DDDD state online|drain|standby|active|disable|offline "
			    "and/or weight N");
	parse_apqn(argv[1], &adapter, &domain);
	for (i = 2; i < argc; i += 2) {
		if (i + 1 >= argc)
			usage_error("queue set: '%s' needs a value", argv[i]);
		if (!strcmp(argv[i], "state")) {
			const char *s = argv[i + 1];

			if (!strcmp(s, "online"))
				admin = HSMG_ADMIN_ONLINE;
			else if (!strcmp(s, "drain"))
				admin = HSMG_ADMIN_DRAIN;
			else if (!strcmp(s, "disable") || !strcmp(s, "offline"))
				admin = HSMG_ADMIN_DISABLE;
			else if (!strcmp(s, "standby"))
				admin = HSMG_ADMIN_STANDBY;
			else if (!strcmp(s, "active"))
				admin = HSMG_ADMIN_ACTIVE;
			else
				usage_error("unknown state '%s' (online, drain, standby, active, "
					    "disable, offline)",
					    s);
		} else if (!strcmp(argv[i], "weight")) {
			speed = parse_u32(argv[i + 1], "weight", 1, 10000);
		} else {
			usage_error("queue set: unknown setting '%s' (state, weight)", argv[i]);
		}
	}
	if (connect_nl())
		return EXIT_RUNTIME;
	{
		struct nl_msg *msg = ctl_nl_msg(nl, HSMG_CMD_SET_QUEUE, false);
		struct nlattr *n = nla_nest_start(msg, HSMG_A_QUEUE);

		put_queue_id(msg, adapter, domain);
		if (admin)
			nla_put_u32(msg, HSMG_QUEUE_A_ADMIN, admin);
		if (speed)
			nla_put_u32(msg, HSMG_QUEUE_A_SPEED, speed);
		nla_nest_end(msg, n);
		qs = (struct vec){.size = sizeof(struct queue)};
		ret = ctl_nl_call(nl, msg, queue_cb, &qs);
	}
	snprintf(what, sizeof(what), "queue set %s", argv[1]);
	if (ret == -ENOENT)
		return queue_not_found(adapter, domain);
	if (ret)
		return nl_fail(ret, what);
	if (json && qs.n) {
		json_queue(qs.v);
		j_newline();
	} else if (qs.n) {
		table_queues(&qs);
	}
	return 0;
}

static int cmd_session(int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "list";
	uint32_t group = 0;
	struct vec ss = {0};
	bool show;
	uint64_t id;
	int ret, i;

	if (!strcmp(sub, "list")) {
		for (i = 1; i < argc; i++) {
			if (!strcmp(argv[i], "--group") && i + 1 < argc)
				group = parse_u32(argv[++i], "group id", 1, INT32_MAX);
			else
				usage_error("session list takes [--group G], got '%s'", argv[i]);
		}
		if (connect_nl())
			return EXIT_RUNTIME;
		ret = fetch_sessions(&ss, group, 0);
		if (ret)
			return nl_fail(ret, "sessions");
		if (json) {
			j_arr(NULL);
			for (size_t k = 0; k < ss.n; k++)
				json_session((struct session *)ss.v + k);
			j_end();
			j_newline();
		} else {
			table_sessions(&ss);
		}
		return 0;
	}
	if (!strcmp(sub, "show") || !strcmp(sub, "logout")) {
		if (argc != 2)
			usage_error("session %s needs a session id", sub);
		id = parse_u64(argv[1], "session id");
		if (connect_nl())
			return EXIT_RUNTIME;
		show = !strcmp(sub, "show");
		if (show) {
			ret = fetch_sessions(&ss, 0, id);
			if (!ret && !ss.n)
				ret = -ENOENT;
		} else {
			struct nl_msg *msg = ctl_nl_msg(nl, HSMG_CMD_END_SESSION, false);
			struct nlattr *n = nla_nest_start(msg, HSMG_A_SESSION);

			nla_put_u64(msg, HSMG_SESSION_A_ID, id);
			nla_nest_end(msg, n);
			ret = ctl_nl_call(nl, msg, NULL, NULL);
		}
		if (ret == -ENOENT) {
			fprintf(stderr,
				"hsmgroupctl: no session %" PRIu64
				" (hsmgroupctl session list shows the sessions)\n",
				id);
			return EXIT_RUNTIME;
		}
		if (ret)
			return nl_fail(ret, show ? "session show" : "session logout");
		if (show) {
			if (json) {
				json_session(ss.v);
				j_newline();
			} else {
				table_sessions(&ss);
			}
		} else if (json) {
			printf("{\"ended\":\"%" PRIu64 "\"}\n", id);
		} else {
			printf("session %" PRIu64 " ended (logged out on every member)\n", id);
		}
		return 0;
	}
	usage_error("unknown session command '%s' (list, show ID, logout ID)", sub);
	return EXIT_USAGE;
}

static int policy_key(const char *k)
{
	int a;

	for (a = 1; a <= HSMG_POLICY_NVALUES; a++)
		if (!strcmp(k, policy_keys[a]))
			return a;
	/* Short aliases without the unit. */
	for (a = 1; a <= HSMG_POLICY_NVALUES; a++) {
		size_t n = strlen(k);

		if (!strncmp(k, policy_keys[a], n) && !strcmp(policy_keys[a] + n, "_ms"))
			return a;
	}
	return 0;
}

static void print_group_policy(const struct group *g)
{
	if (json) {
		j_obj(NULL);
		j_u64("group", g->id);
		json_policy(g);
		j_end();
		j_newline();
	} else {
		printf("group %u policy:\n", g->id);
		print_policy(g);
	}
}

static int cmd_policy(int argc, char **argv)
{
	uint32_t vals[HSMG_POLICY_NVALUES + 1] = {0}, set = 0, reset = 0, id;
	struct vec gs;
	int ret, i, a;

	if (argc < 2 || (strcmp(argv[0], "get") && strcmp(argv[0], "set")))
		usage_error("policy get G | policy set G key=value...");
	id = parse_u32(argv[1], "group id", 1, INT32_MAX);
	if (!strcmp(argv[0], "get") && argc != 2)
		usage_error("policy get takes one group id");
	if (!strcmp(argv[0], "set")) {
		if (argc < 3)
			usage_error("policy set G needs key=value (keys: recovery_interval_ms, "
				    "recovery_backoff_max_ms, recovery_retries, hold_time_ms, "
				    "request_timeout_ms, keygen_timeout_ms, suspect_threshold, "
				    "max_attempts)");
		for (i = 2; i < argc; i++) {
			char key[64], *eq = strchr(argv[i], '=');

			if (!eq || eq == argv[i] || (size_t)(eq - argv[i]) >= sizeof(key))
				usage_error("policy set: expected key=value, got '%s'", argv[i]);
			snprintf(key, sizeof(key), "%.*s", (int)(eq - argv[i]), argv[i]);
			a = policy_key(key);
			if (!a)
				usage_error("policy set: unknown key '%s'", key);
			if (!strcmp(eq + 1, "default")) {
				reset |= 1u << a;
				continue;
			}
			if (a == HSMG_POLICY_A_RECOVERY_RETRIES && !strcmp(eq + 1, "infinite"))
				vals[a] = 0;
			else
				vals[a] = parse_u32(eq + 1, key, 0, UINT32_MAX);
			set |= 1u << a;
		}
	}
	if (connect_nl())
		return EXIT_RUNTIME;
	if (!strcmp(argv[0], "get")) {
		ret = fetch_groups(&gs, id);
	} else {
		struct nl_msg *msg = ctl_nl_msg(nl, HSMG_CMD_SET_POLICY, false);
		struct nlattr *n;

		put_group_id(msg, id);
		n = nla_nest_start(msg, HSMG_A_POLICY);
		for (a = 1; a <= HSMG_POLICY_NVALUES; a++)
			if (set & (1u << a))
				nla_put_u32(msg, a, vals[a]);
		if (reset)
			nla_put_u32(msg, HSMG_POLICY_A_RESET, reset);
		nla_nest_end(msg, n);
		gs = (struct vec){.size = sizeof(struct group)};
		ret = ctl_nl_call(nl, msg, group_cb, &gs);
	}
	if (ret == -ENOENT) {
		fprintf(stderr,
			"hsmgroupctl: no group %u (hsmgroupctl group list shows the groups)\n", id);
		return EXIT_RUNTIME;
	}
	if (ret == -ERANGE || (ret == -EINVAL && *ctl_nl_errmsg(nl))) {
		fprintf(stderr, "hsmgroupctl: policy set: %s\n",
			*ctl_nl_errmsg(nl) ? ctl_nl_errmsg(nl) : "value out of range");
		return EXIT_USAGE;
	}
	if (ret)
		return nl_fail(ret, "policy");
	if (gs.n)
		print_group_policy(gs.v);
	return 0;
}

struct stats {
	uint32_t groups, queues, attached, online, sessions, logged_in;
	uint64_t requests, errors, failovers, transitions, dropped;
};

static int stats_cb(struct nlattr **tb, void *arg)
{
	struct nlattr *a[HSMG_STATS_A_MAX + 1];
	struct stats *st = arg;

	if (ctl_nl_nest(a, HSMG_STATS_A_MAX, tb[HSMG_A_STATS]))
		return 0;
	st->groups = u32a(a[HSMG_STATS_A_GROUPS]);
	st->queues = u32a(a[HSMG_STATS_A_QUEUES]);
	st->attached = u32a(a[HSMG_STATS_A_ATTACHED]);
	st->online = u32a(a[HSMG_STATS_A_ONLINE]);
	st->sessions = u32a(a[HSMG_STATS_A_SESSIONS]);
	st->logged_in = u32a(a[HSMG_STATS_A_LOGGED_IN]);
	st->requests = u64a(a[HSMG_STATS_A_REQUESTS]);
	st->errors = u64a(a[HSMG_STATS_A_ERRORS]);
	st->failovers = u64a(a[HSMG_STATS_A_FAILOVERS]);
	st->transitions = u64a(a[HSMG_STATS_A_TRANSITIONS]);
	st->dropped = u64a(a[HSMG_STATS_A_EVENTS_DROPPED]);
	return 0;
}

static int fetch_stats(struct stats *st)
{
	memset(st, 0, sizeof(*st));
	return ctl_nl_call(nl, ctl_nl_msg(nl, HSMG_CMD_GET_STATS, false), stats_cb, st);
}

static void json_stats(const struct stats *st)
{
	j_u64("groups", st->groups);
	j_u64("queues", st->queues);
	j_u64("attached", st->attached);
	j_u64("online", st->online);
	j_u64("sessions", st->sessions);
	j_u64("logged_in", st->logged_in);
	j_u64("requests", st->requests);
	j_u64("errors", st->errors);
	j_u64("failovers", st->failovers);
	j_u64("transitions", st->transitions);
	j_u64("events_dropped", st->dropped);
}

static int cmd_stats(int argc, char **argv)
{
	struct stats st;
	int ret;

	if (argc)
		usage_error("stats takes no argument");
	if (connect_nl())
		return EXIT_RUNTIME;
	ret = fetch_stats(&st);
	if (ret)
		return nl_fail(ret, "stats");
	if (json) {
		j_obj(NULL);
		json_stats(&st);
		j_end();
		j_newline();
		return 0;
	}
	printf("groups          %u\nqueues          %u (%u attached, %u online)\n"
	       "sessions        %u (%u logged in)\nrequests        %" PRIu64
	       "\nerrors          %" PRIu64 "\nfailovers       %" PRIu64
	       "\ntransitions     %" PRIu64 "\nevents dropped  %" PRIu64 "\n",
	       st.groups, st.queues, st.attached, st.online, st.sessions, st.logged_in, st.requests,
	       st.errors, st.failovers, st.transitions, st.dropped);
	return 0;
}

static int cmd_status(int argc, char **argv)
{
	struct vec gs, qs;
	struct stats st;
	int ret;

	if (argc)
		usage_error("status takes no argument");
	if (connect_nl())
		return EXIT_RUNTIME;
	ret = fetch_stats(&st);
	if (!ret)
		ret = fetch_groups(&gs, 0);
	if (!ret)
		ret = fetch_queues(&qs, 0);
	if (ret)
		return nl_fail(ret, "status");
	if (json) {
		j_obj(NULL);
		j_bool("loaded", true);
		json_stats(&st);
		j_arr("group_list");
		for (size_t i = 0; i < gs.n; i++)
			json_group((struct group *)gs.v + i);
		j_end();
		j_arr("queue_list");
		for (size_t i = 0; i < qs.n; i++)
			json_queue((struct queue *)qs.v + i);
		j_end();
		j_end();
		j_newline();
		return 0;
	}
	printf("hsmgroup: %u group%s, %u queue%s (%u online), %u session%s (%u logged in)\n\n",
	       st.groups, st.groups == 1 ? "" : "s", st.queues, st.queues == 1 ? "" : "s",
	       st.online, st.sessions, st.sessions == 1 ? "" : "s", st.logged_in);
	table_groups(&gs);
	printf("\n");
	table_queues(&qs);
	return 0;
}

/* ---- monitor ---- */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%03ld", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ts.tv_nsec / 1000000);
}

static long events_seen;

static int event_cb(struct nlattr **tb, void *arg)
{
	struct nlattr *a[HSMG_EVENT_A_MAX + 1];
	const char *reason, *type;
	char ts[32], apqn[16] = "";
	uint32_t t;

	if (ctl_nl_nest(a, HSMG_EVENT_A_MAX, tb[HSMG_A_EVENT]))
		return 0;
	events_seen++;
	t = u32a(a[HSMG_EVENT_A_TYPE]);
	type = NAME(event_names, t);
	reason = a[HSMG_EVENT_A_REASON] ? nla_data(a[HSMG_EVENT_A_REASON]) : "";
	if (a[HSMG_EVENT_A_ADAPTER])
		apqn_str(apqn, sizeof(apqn), u16a(a[HSMG_EVENT_A_ADAPTER]),
			 u16a(a[HSMG_EVENT_A_DOMAIN]));
	timestamp(ts, sizeof(ts));
	if (json) {
		j_obj(NULL);
		j_str("time", ts);
		j_str("event", type);
		j_u64("group", u32a(a[HSMG_EVENT_A_GROUP_ID]));
		if (*apqn) {
			j_str("queue", apqn);
			j_u64("queue_id", u32a(a[HSMG_EVENT_A_QUEUE_ID]));
			if (t == HSMG_EVENT_STATE)
				j_str("old", NAME(state_names, u32a(a[HSMG_EVENT_A_OLD_STATE])));
			j_str("state", NAME(state_names, u32a(a[HSMG_EVENT_A_NEW_STATE])));
		}
		if (a[HSMG_EVENT_A_SESSION_ID]) {
			char sid[32];

			snprintf(sid, sizeof(sid), "%" PRIu64, u64a(a[HSMG_EVENT_A_SESSION_ID]));
			j_str("session", sid);
		}
		j_str("reason", reason);
		j_end();
		j_newline();
	} else if (t == HSMG_EVENT_STATE) {
		printf("%s state   queue %s group %u: %s -> %s (%s)\n", ts, apqn,
		       u32a(a[HSMG_EVENT_A_GROUP_ID]),
		       NAME(state_names, u32a(a[HSMG_EVENT_A_OLD_STATE])),
		       NAME(state_names, u32a(a[HSMG_EVENT_A_NEW_STATE])), reason);
	} else if (*apqn) {
		printf("%s %-7s queue %s group %u: %s (state %s)\n", ts, type, apqn,
		       u32a(a[HSMG_EVENT_A_GROUP_ID]), reason,
		       NAME(state_names, u32a(a[HSMG_EVENT_A_NEW_STATE])));
	} else {
		printf("%s %-7s group %u: %s", ts, type, u32a(a[HSMG_EVENT_A_GROUP_ID]), reason);
		if (a[HSMG_EVENT_A_SESSION_ID])
			printf(" (session %" PRIu64 ")", u64a(a[HSMG_EVENT_A_SESSION_ID]));
		printf("\n");
	}
	return 0;
}

static int monitor_udev(bool kernel, long count, double timeout)
{
	struct udev *udev = udev_new();
	struct udev_monitor *mon;
	struct timespec t0, now;
	long seen = 0;

	if (!udev) {
		fprintf(stderr, "hsmgroupctl: cannot use libudev\n");
		return EXIT_RUNTIME;
	}
	mon = udev_monitor_new_from_netlink(udev, kernel ? "kernel" : "udev");
	if (!mon || udev_monitor_filter_add_match_subsystem_devtype(mon, HSMG_SYSFS_CLASS, NULL) ||
	    udev_monitor_enable_receiving(mon)) {
		fprintf(stderr, "hsmgroupctl: cannot listen to %s events (root needed?)\n",
			kernel ? "kernel" : "udev");
		return EXIT_RUNTIME;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop && (count <= 0 || seen < count)) {
		struct pollfd p = {.fd = udev_monitor_get_fd(mon), .events = POLLIN};
		struct udev_list_entry *e;
		struct udev_device *d;
		char ts[32];
		int ms = 500;

		if (timeout > 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			double left =
			    timeout - (now.tv_sec - t0.tv_sec) - (now.tv_nsec - t0.tv_nsec) / 1e9;
			if (left <= 0)
				break;
			if (left * 1000 < ms)
				ms = left * 1000 + 1;
		}
		if (poll(&p, 1, ms) <= 0)
			continue;
		d = udev_monitor_receive_device(mon);
		if (!d)
			continue;
		seen++;
		timestamp(ts, sizeof(ts));
		if (json) {
			j_obj(NULL);
			j_str("time", ts);
			j_str("source", kernel ? "kernel" : "udev");
			j_str("action", udev_device_get_action(d));
			j_str("devpath", udev_device_get_devpath(d));
			udev_list_entry_foreach(
			    e, udev_device_get_properties_list_entry(
				   d)) if (!strncmp(udev_list_entry_get_name(e), "HSMG_", 5))
			    j_str(udev_list_entry_get_name(e), udev_list_entry_get_value(e));
			j_end();
			j_newline();
		} else {
			printf("%s %s %-6s %s", ts, kernel ? "KERNEL" : "UDEV",
			       udev_device_get_action(d), udev_device_get_sysname(d));
			udev_list_entry_foreach(
			    e, udev_device_get_properties_list_entry(
				   d)) if (!strncmp(udev_list_entry_get_name(e), "HSMG_", 5))
			    printf(" %s=%s", udev_list_entry_get_name(e),
				   udev_list_entry_get_value(e));
			printf("\n");
		}
		udev_device_unref(d);
	}
	udev_monitor_unref(mon);
	udev_unref(udev);
	return 0;
}

static int cmd_monitor(int argc, char **argv)
{
	bool udev = false, kernel = false;
	double timeout = 0;
	long count = 0;
	struct timespec t0, now;
	int i, ret;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--udev"))
			udev = true;
		else if (!strcmp(argv[i], "--kernel"))
			udev = kernel = true;
		else if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--count")) && i + 1 < argc)
			count = parse_u32(argv[++i], "count", 1, INT32_MAX);
		else if ((!strcmp(argv[i], "-t") || !strcmp(argv[i], "--timeout")) && i + 1 < argc)
			timeout = parse_u32(argv[++i], "timeout", 1, 86400);
		else
			usage_error(
			    "monitor takes [--udev|--kernel] [-c COUNT] [-t SECONDS], got '%s'",
			    argv[i]);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (udev)
		return monitor_udev(kernel, count, timeout);
	if (connect_nl())
		return EXIT_RUNTIME;
	ret = ctl_nl_subscribe(nl);
	if (ret)
		return nl_fail(ret, "monitor");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop && (count <= 0 || events_seen < count)) {
		struct pollfd p = {.fd = ctl_nl_fd(nl), .events = POLLIN};
		int ms = 500;

		if (timeout > 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			double left =
			    timeout - (now.tv_sec - t0.tv_sec) - (now.tv_nsec - t0.tv_nsec) / 1e9;
			if (left <= 0)
				break;
			if (left * 1000 < ms)
				ms = left * 1000 + 1;
		}
		if (poll(&p, 1, ms) <= 0)
			continue;
		ret = ctl_nl_events(nl, event_cb, NULL);
		if (ret) {
			fprintf(stderr, "hsmgroupctl: monitor: receive failed (events lost?)\n");
			return EXIT_RUNTIME;
		}
	}
	return 0;
}

/* ---- top ---- */

static int cmd_top(int argc, char **argv)
{
	struct vec prev = {.size = sizeof(struct queue)}, cur;
	double delay = 1.0;
	long count = 0, it;
	struct timespec t_prev = {0}, t_cur;
	bool tty = isatty(1);
	int i, ret;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			count = parse_u32(argv[++i], "iterations", 1, INT32_MAX);
		else if (!strcmp(argv[i], "-d") && i + 1 < argc) {
			char *end;

			delay = strtod(argv[++i], &end);
			if (*end || delay < 0.1 || delay > 3600)
				usage_error("-d takes seconds 0.1..3600, got '%s'", argv[i]);
		} else {
			usage_error("top takes [-n COUNT] [-d SECONDS], got '%s'", argv[i]);
		}
	}
	if (connect_nl())
		return EXIT_RUNTIME;
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (it = 0; !stop && (!count || it < count); it++) {
		double dt;
		char ts[32];

		if (it) {
			struct timespec d = {(time_t)delay, (long)((delay - (time_t)delay) * 1e9)};

			nanosleep(&d, NULL);
			if (stop)
				break;
		}
		ret = fetch_queues(&cur, 0);
		if (ret)
			return nl_fail(ret, "top");
		clock_gettime(CLOCK_MONOTONIC, &t_cur);
		dt = it ? (t_cur.tv_sec - t_prev.tv_sec) + (t_cur.tv_nsec - t_prev.tv_nsec) / 1e9
			: 0;
		timestamp(ts, sizeof(ts));
		if (json) {
			j_obj(NULL);
			j_str("time", ts);
			j_u64("iteration", it + 1);
			j_arr("queues");
		} else {
			if (tty)
				printf("\033[H\033[2J");
			printf("hsmgroupctl top - %s (every %.1fs)\n%-8s %5s %-10s %-7s %6s %5s "
			       "%5s %6s "
			       "%8s %8s %8s %10s\n",
			       ts, delay, "QUEUE", "GROUP", "STATE", "ROLE", "WEIGHT", "INFL",
			       "PEND", "LOAD", "REQ/S", "ERR/S", "LAT_US", "REQUESTS");
		}
		for (size_t k = 0; k < cur.n; k++) {
			const struct queue *q = (const struct queue *)cur.v + k, *p = NULL;
			double rps = 0, eps = 0;
			uint64_t lat = q->latency_us;
			char apqn[16];

			for (size_t m = 0; m < prev.n; m++) {
				const struct queue *c = (const struct queue *)prev.v + m;

				if (c->adapter == q->adapter && c->domain == q->domain)
					p = c;
			}
			if (p && dt > 0) {
				rps = (q->requests - p->requests) / dt;
				eps = (q->errors - p->errors) / dt;
				/* Mean over the interval when requests were served. */
				if (q->requests > p->requests)
					lat = (q->latency_total_us - p->latency_total_us) /
					      (q->requests - p->requests);
			}
			apqn_str(apqn, sizeof(apqn), q->adapter, q->domain);
			if (json) {
				j_obj(NULL);
				j_str("queue", apqn);
				j_u64("group", q->group);
				j_str("state", NAME(state_names, q->state));
				j_str("role", q->role ? "standby" : "active");
				j_u64("weight", q->speed);
				j_u64("inflight", q->inflight);
				j_u64("pending", q->pending);
				j_u64("load", q->load);
				j_u64("requests_per_s", (uint64_t)(rps + 0.5));
				j_u64("errors_per_s", (uint64_t)(eps + 0.5));
				j_u64("latency_us", lat);
				j_u64("requests", q->requests);
				j_end();
			} else {
				printf("%-8s %5u %-10s %-7s %6u %5u %5u %6" PRIu64
				       " %8.1f %8.1f %8" PRIu64 " %10" PRIu64 "\n",
				       apqn, q->group, NAME(state_names, q->state),
				       q->role ? "standby" : "active", q->speed, q->inflight,
				       q->pending, q->load, rps, eps, lat, q->requests);
			}
		}
		if (json) {
			j_end();
			j_end();
			j_newline();
		}
		fflush(stdout);
		free(prev.v);
		prev = cur;
		t_prev = t_cur;
	}
	free(prev.v);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: hsmgroupctl [-j|--json] COMMAND [ARGS]\n"
	    "  status                           module, groups and queues at a glance\n"
	    "  group [list | show G]            groups (show: members and policy)\n"
	    "  queue [list [--group G] | show AA.DDDD]\n"
	    "  queue set AA.DDDD [state online|drain|standby|active|disable|offline] [weight N]\n"
	    "  session [list [--group G] | show ID | logout ID]\n"
	    "  policy get G | policy set G key=value|key=default...\n"
	    "  stats                            module-wide counters\n"
	    "  monitor [--udev|--kernel] [-c COUNT] [-t SECONDS]   events as they happen\n"
	    "  top [-n COUNT] [-d SECONDS]      per-member load and latency, refreshing\n"
	    "  token cardpin [--group G | --serial SERIAL] [--pin-file FILE|-] [--replace]\n"
	    "                                   set a VHSM token's card-PIN (PINs read from\n"
	    "                                   FILE, the terminal or stdin, never arguments)\n"
	    "  token check [--group G | --serial SERIAL]\n"
	    "                                   the modes of a token's store; exit 1 when a\n"
	    "                                   file is open to users outside group hsmgroup\n"
	    "  token migrate --to STORE [--from STORE] [--group G | --serial S | --mkvp HEX]\n"
	    "                                   copy a token between stores (sqlite, sqlite:DIR,\n"
	    "                                   postgresql://...) and verify it row by row\n"
	    "Exit status: 0 ok, 1 runtime error, 2 usage error.  See hsmgroupctl(8).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *cmd;
	int c, ret;

	while ((c = getopt_long(argc, argv, "+jhV", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("hsmgroupctl (hsmgroup genetlink version %d)\n", HSMG_GENL_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind];
	argc -= optind + 1;
	argv += optind + 1;
	if (!strcmp(cmd, "status"))
		ret = cmd_status(argc, argv);
	else if (!strcmp(cmd, "group") || !strcmp(cmd, "groups"))
		ret = cmd_group(argc, argv);
	else if (!strcmp(cmd, "queue") || !strcmp(cmd, "queues"))
		ret = cmd_queue(argc, argv);
	else if (!strcmp(cmd, "session") || !strcmp(cmd, "sessions"))
		ret = cmd_session(argc, argv);
	else if (!strcmp(cmd, "policy"))
		ret = cmd_policy(argc, argv);
	else if (!strcmp(cmd, "stats"))
		ret = cmd_stats(argc, argv);
	else if (!strcmp(cmd, "monitor"))
		ret = cmd_monitor(argc, argv);
	else if (!strcmp(cmd, "top"))
		ret = cmd_top(argc, argv);
	else if (!strcmp(cmd, "token") || !strcmp(cmd, "tokens"))
		ret = cmd_token(argc, argv, json);
	else if (!strcmp(cmd, "help"))
		ret = (usage(stdout), 0);
	else
		usage_error("unknown command '%s'", cmd);
	ctl_nl_close(nl);
	return ret;
}
