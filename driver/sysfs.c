// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs and uevents.  /sys/class/hsmgroup/groupN is a group,
 * /sys/class/hsmgroup/AA.DDDD a member queue (its device is a child of its
 * group's: /sys/devices/virtual/hsmgroup/groupN/AA.DDDD).  Every attribute
 * is read-only; changes go through the netlink family.  Devices live as long
 * as their group or member record (until unload); state changes, attach and
 * detach are "change" uevents with HSMG_EVENT, HSMG_STATE and HSMG_REASON.
 * Attribute readers take the group lock (process context), so a device is
 * unregistered (which waits for them) before its object is freed.
 */
#include "main.h"

#include <linux/device.h>
#include <linux/kobject.h>
#include <linux/lockdep.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "compat.h"
#include "event.h"
#include "group.h"
#include "health.h"
#include "queue.h"
#include "sysfs.h"

static const char *const hsmg_event_names[] = {
	[HSMG_EVENT_STATE] = "state",
	[HSMG_EVENT_ATTACH] = "attach",
	[HSMG_EVENT_DETACH] = "detach",
	[HSMG_EVENT_MISMATCH] = "mismatch",
	[HSMG_EVENT_POLICY] = "policy",
	[HSMG_EVENT_SESSION_END] = "session-end",
	[HSMG_EVENT_ADMIN] = "admin",
	[HSMG_EVENT_DAMPED] = "damped",
};

static const char *const hsmg_admin_names[] = {
	[HSMG_ADMIN_NONE] = "none",
	[HSMG_ADMIN_ONLINE] = "online",
	[HSMG_ADMIN_DRAIN] = "drain",
	[HSMG_ADMIN_DISABLE] = "disable",
	[HSMG_ADMIN_STANDBY] = "standby",
	[HSMG_ADMIN_ACTIVE] = "active",
};

static bool hsmg_env_has(struct kobj_uevent_env *env, const char *prefix)
{
	size_t n = strlen(prefix);
	int i;

	for (i = 0; i < env->envp_idx; i++)
		if (!strncmp(env->envp[i], prefix, n))
			return true;
	return false;
}

static int hsmg_dev_uevent(const struct device *dev,
			   struct kobj_uevent_env *env);

#ifndef HSMG_HAVE_CONST_DEV_UEVENT
/* Before 6.3 the class callback takes a mutable device (compat.h). */
static int hsmg_dev_uevent_mut(struct device *dev, struct kobj_uevent_env *env)
{
	return hsmg_dev_uevent(dev, env);
}

#define hsmg_dev_uevent_cb hsmg_dev_uevent_mut
#else
#define hsmg_dev_uevent_cb hsmg_dev_uevent
#endif

static struct class hsmg_class = {
	.name = HSMG_SYSFS_CLASS,
	HSMG_CLASS_OWNER
	.dev_uevent = hsmg_dev_uevent_cb,
};

static const struct device_type hsmg_group_type = {
	.name = "hsmgroup-group",
};

static const struct device_type hsmg_queue_type = {
	.name = "hsmgroup-queue",
};

/* Identity of every uevent; the state unless the event carries its own. */
static int hsmg_dev_uevent(const struct device *dev,
			   struct kobj_uevent_env *env)
{
	struct hsmg_queue *q;
	struct hsmg_group *g;
	u32 state;
	int ret;

	if (dev->type == &hsmg_queue_type) {
		q = dev_get_drvdata(dev);
		ret = add_uevent_var(env, "HSMG_QUEUE=%02x.%04x", q->adapter,
				     q->domain);
		if (!ret)
			ret = add_uevent_var(env, "HSMG_GROUP=%u", q->group->id);
		if (ret || hsmg_env_has(env, "HSMG_STATE="))
			return ret;
		spin_lock(&q->group->lock);
		state = hsmg_queue_visible_state(q);
		spin_unlock(&q->group->lock);
		return add_uevent_var(env, "HSMG_STATE=%s",
				      hsmg_queue_state_name(state));
	}
	if (dev->type == &hsmg_group_type) {
		g = dev_get_drvdata(dev);
		return add_uevent_var(env, "HSMG_GROUP=%u", g->id);
	}
	return 0;
}

/* ---- queue attributes ---- */

#define HSMG_Q_ATTR(_name, _fmt, ...)					\
static ssize_t _name##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	struct hsmg_queue *q = dev_get_drvdata(dev);			\
	ssize_t n;							\
									\
	spin_lock(&q->group->lock);					\
	n = sysfs_emit(buf, _fmt "\n", __VA_ARGS__);			\
	spin_unlock(&q->group->lock);					\
	return n;							\
}									\
static DEVICE_ATTR_RO(_name)

HSMG_Q_ATTR(state, "%s", hsmg_queue_state_name(hsmg_queue_visible_state(q)));
HSMG_Q_ATTR(role, "%s", q->standby ? "standby" : "active");
HSMG_Q_ATTR(admin, "%s", hsmg_admin_names[q->admin]);
HSMG_Q_ATTR(weight, "%u", q->speed);
HSMG_Q_ATTR(mkvp, "%*phN", HSMG_MKVP_LEN, q->mkvp);
HSMG_Q_ATTR(requests, "%llu", q->requests);
HSMG_Q_ATTR(errors, "%llu", q->errors);
HSMG_Q_ATTR(inflight, "%u", q->ninflight);
HSMG_Q_ATTR(pending, "%u", q->npending);
HSMG_Q_ATTR(max_inflight, "%u", q->max_inflight);
HSMG_Q_ATTR(sessions, "%u", q->sessions);
HSMG_Q_ATTR(max_sessions, "%u", q->max_sessions);
HSMG_Q_ATTR(group, "%u", q->group->id);
HSMG_Q_ATTR(queue_id, "%u", q->id);
HSMG_Q_ATTR(attached, "%d", q->attached);
HSMG_Q_ATTR(transitions, "%llu", q->transitions);
HSMG_Q_ATTR(latency_us, "%u", q->lat_avg_us);
HSMG_Q_ATTR(load, "%llu", q->assigned_weight);
HSMG_Q_ATTR(flaps, "%u", hsmg_health_flaps(q));
HSMG_Q_ATTR(damp_ms, "%u", hsmg_health_damp_ms(q));
HSMG_Q_ATTR(damped_left_ms, "%u", hsmg_health_damped_left_ms(q));
HSMG_Q_ATTR(busy_polls, "%lld", atomic64_read(&q->busy_polls));

static struct attribute *hsmg_queue_attrs[] = {
	&dev_attr_state.attr,
	&dev_attr_role.attr,
	&dev_attr_admin.attr,
	&dev_attr_weight.attr,
	&dev_attr_mkvp.attr,
	&dev_attr_requests.attr,
	&dev_attr_errors.attr,
	&dev_attr_inflight.attr,
	&dev_attr_pending.attr,
	&dev_attr_max_inflight.attr,
	&dev_attr_sessions.attr,
	&dev_attr_max_sessions.attr,
	&dev_attr_group.attr,
	&dev_attr_queue_id.attr,
	&dev_attr_attached.attr,
	&dev_attr_transitions.attr,
	&dev_attr_latency_us.attr,
	&dev_attr_load.attr,
	&dev_attr_flaps.attr,
	&dev_attr_damp_ms.attr,
	&dev_attr_damped_left_ms.attr,
	&dev_attr_busy_polls.attr,
	NULL
};

static const struct attribute_group hsmg_queue_group = {
	.attrs = hsmg_queue_attrs,
};

static const struct attribute_group *hsmg_queue_groups[] = {
	&hsmg_queue_group,
	NULL
};

/* ---- group attributes ---- */

#define HSMG_G_ATTR(_name, _fmt, ...)					\
static ssize_t g_##_name##_show(struct device *dev,			\
				struct device_attribute *attr, char *buf) \
{									\
	struct hsmg_group *g = dev_get_drvdata(dev);			\
	struct hsmg_group_counts c;					\
	ssize_t n;							\
									\
	spin_lock(&g->lock);						\
	hsmg_group_counts(g, &c);					\
	n = sysfs_emit(buf, _fmt "\n", __VA_ARGS__);			\
	spin_unlock(&g->lock);						\
	return n;							\
}									\
static struct device_attribute dev_attr_g_##_name =			\
	__ATTR(_name, 0444, g_##_name##_show, NULL)

HSMG_G_ATTR(id, "%u", g->id);
HSMG_G_ATTR(mkvp, "%*phN", HSMG_MKVP_LEN, g->mkvp);
HSMG_G_ATTR(members, "%u", c.members);
HSMG_G_ATTR(online, "%u", c.online);
HSMG_G_ATTR(mismatch, "%u", c.mismatch);
HSMG_G_ATTR(sessions, "%u", c.sessions);
HSMG_G_ATTR(requests, "%llu", g->requests);
HSMG_G_ATTR(errors, "%llu", g->errors);
HSMG_G_ATTR(failovers, "%llu", g->failovers);
HSMG_G_ATTR(busy_polls, "%lld", atomic64_read(&g->busy_polls));
HSMG_G_ATTR(busy_poll_hits, "%lld", atomic64_read(&g->busy_poll_hits));

static struct attribute *hsmg_group_attrs[] = {
	&dev_attr_g_id.attr,
	&dev_attr_g_mkvp.attr,
	&dev_attr_g_members.attr,
	&dev_attr_g_online.attr,
	&dev_attr_g_mismatch.attr,
	&dev_attr_g_sessions.attr,
	&dev_attr_g_requests.attr,
	&dev_attr_g_errors.attr,
	&dev_attr_g_failovers.attr,
	&dev_attr_g_busy_polls.attr,
	&dev_attr_g_busy_poll_hits.attr,
	NULL
};

static const struct attribute_group hsmg_group_group = {
	.attrs = hsmg_group_attrs,
};

/* policy/: the effective values (set for the group or module default). */
#define HSMG_P_ATTR(_name, _attr)					\
static ssize_t p_##_name##_show(struct device *dev,			\
				struct device_attribute *attr, char *buf) \
{									\
	struct hsmg_group *g = dev_get_drvdata(dev);			\
									\
	return sysfs_emit(buf, "%u\n", hsmg_policy(g, _attr));		\
}									\
static struct device_attribute dev_attr_p_##_name =			\
	__ATTR(_name, 0444, p_##_name##_show, NULL)

HSMG_P_ATTR(recovery_interval_ms, HSMG_POLICY_A_RECOVERY_INTERVAL_MS);
HSMG_P_ATTR(recovery_backoff_max_ms, HSMG_POLICY_A_RECOVERY_BACKOFF_MAX_MS);
HSMG_P_ATTR(recovery_retries, HSMG_POLICY_A_RECOVERY_RETRIES);
HSMG_P_ATTR(hold_time_ms, HSMG_POLICY_A_HOLD_TIME_MS);
HSMG_P_ATTR(request_timeout_ms, HSMG_POLICY_A_REQUEST_TIMEOUT_MS);
HSMG_P_ATTR(keygen_timeout_ms, HSMG_POLICY_A_KEYGEN_TIMEOUT_MS);
HSMG_P_ATTR(suspect_threshold, HSMG_POLICY_A_SUSPECT_THRESHOLD);
HSMG_P_ATTR(max_attempts, HSMG_POLICY_A_MAX_ATTEMPTS);

static struct attribute *hsmg_policy_attrs[] = {
	&dev_attr_p_recovery_interval_ms.attr,
	&dev_attr_p_recovery_backoff_max_ms.attr,
	&dev_attr_p_recovery_retries.attr,
	&dev_attr_p_hold_time_ms.attr,
	&dev_attr_p_request_timeout_ms.attr,
	&dev_attr_p_keygen_timeout_ms.attr,
	&dev_attr_p_suspect_threshold.attr,
	&dev_attr_p_max_attempts.attr,
	NULL
};

static const struct attribute_group hsmg_policy_group = {
	.name = "policy",
	.attrs = hsmg_policy_attrs,
};

static const struct attribute_group *hsmg_group_groups[] = {
	&hsmg_group_group,
	&hsmg_policy_group,
	NULL
};

static void hsmg_dev_release(struct device *dev)
{
	kfree(dev);
}

/*
 * hsmg_sysfs_add - register a device with its add uevent carrying @state
 * (NULL: none).  Returns the device or NULL (sysfs is not essential: the
 * object works without it and a warning says so).
 */
static struct device *hsmg_sysfs_add(struct device *parent,
				     const struct device_type *type,
				     const struct attribute_group **groups,
				     void *data, const char *state,
				     const char *name)
{
	char env_state[32];
	char *envp[2] = { env_state };
	struct device *dev;
	int ret;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		goto fail;
	device_initialize(dev);
	dev->class = &hsmg_class;
	dev->parent = parent;
	dev->type = type;
	dev->groups = groups;
	dev->release = hsmg_dev_release;
	dev_set_drvdata(dev, data);
	ret = dev_set_name(dev, "%s", name);
	if (!ret) {
		/* Our own add uevent, with the state. */
		dev_set_uevent_suppress(dev, true);
		ret = device_add(dev);
		dev_set_uevent_suppress(dev, false);
	}
	if (ret) {
		put_device(dev);
		goto fail;
	}
	if (state) {
		snprintf(env_state, sizeof(env_state), "HSMG_STATE=%s", state);
		kobject_uevent_env(&dev->kobj, KOBJ_ADD, envp);
	} else {
		kobject_uevent(&dev->kobj, KOBJ_ADD);
	}
	return dev;
fail:
	pr_warn("%s: no sysfs device\n", name);
	return NULL;
}

/* hsmg_sysfs_group_add - at group creation (topology lock held). */
void hsmg_sysfs_group_add(struct hsmg_group *g)
{
	char name[24];

	lockdep_assert_held(&hsmg_topology_lock);
	snprintf(name, sizeof(name), "group%u", g->id);
	g->dev = hsmg_sysfs_add(NULL, &hsmg_group_type, hsmg_group_groups, g,
				NULL, name);
}

void hsmg_sysfs_group_del(struct hsmg_group *g)
{
	if (g->dev)
		device_unregister(g->dev);
	g->dev = NULL;
}

/* hsmg_sysfs_queue_add - at the first attach of an APQN (topology lock). */
void hsmg_sysfs_queue_add(struct hsmg_queue *q)
{
	char name[16];

	lockdep_assert_held(&hsmg_topology_lock);
	snprintf(name, sizeof(name), "%02x.%04x", q->adapter, q->domain);
	q->dev = hsmg_sysfs_add(q->group->dev, &hsmg_queue_type,
				hsmg_queue_groups, q,
				hsmg_queue_state_name(q->state), name);
}

void hsmg_sysfs_queue_del(struct hsmg_queue *q)
{
	if (q->dev)
		device_unregister(q->dev);
	q->dev = NULL;
}

/* hsmg_sysfs_event - the uevent of @ev (event work, process context). */
void hsmg_sysfs_event(const struct hsmg_event *ev)
{
	char e_event[32], e_state[32], e_old[32], e_reason[80], e_sid[40];
	char *envp[6] = { e_event };
	struct device *dev;
	int n = 1;

	dev = ev->queue ? ev->queue->dev : ev->group->dev;
	if (!dev || ev->type >= ARRAY_SIZE(hsmg_event_names) ||
	    !hsmg_event_names[ev->type])
		return;
	snprintf(e_event, sizeof(e_event), "HSMG_EVENT=%s",
		 hsmg_event_names[ev->type]);
	if (ev->queue) {
		snprintf(e_state, sizeof(e_state), "HSMG_STATE=%s",
			 hsmg_queue_state_name(ev->new_state));
		envp[n++] = e_state;
	}
	if (ev->type == HSMG_EVENT_STATE) {
		snprintf(e_old, sizeof(e_old), "HSMG_OLD_STATE=%s",
			 hsmg_queue_state_name(ev->old_state));
		envp[n++] = e_old;
	}
	if (ev->session_id) {
		snprintf(e_sid, sizeof(e_sid), "HSMG_SESSION=%llu",
			 ev->session_id);
		envp[n++] = e_sid;
	}
	snprintf(e_reason, sizeof(e_reason), "HSMG_REASON=%s", ev->reason);
	envp[n++] = e_reason;
	envp[n] = NULL;
	kobject_uevent_env(&dev->kobj, KOBJ_CHANGE, envp);
}

int hsmg_sysfs_init(void)
{
	return class_register(&hsmg_class);
}

void hsmg_sysfs_exit(void)
{
	class_unregister(&hsmg_class);
}
