// SPDX-License-Identifier: GPL-2.0
/*
 * pinguard - failed logins counted per group, token and user, and the
 * wait they impose on the next login of that token and user.
 *
 * A login that carries an authentication record (struct
 * hsmg_auth_record_hdr) is checked against it by every member; the cards
 * count failures too and keep their count across restarts, and lock the
 * PIN at their maximum.  The group adds what a card alone cannot: one
 * attempt at a time per token and user across every client of the host,
 * and an exponential wait after each failure (hsmg_pinguard_delay_ms), so
 * that guessing through the kernel is slow from the first failure on.
 * The count lives in memory; what survives a reboot is the cards' count.
 * A login that succeeds forgets the entry.
 */
#include <linux/jiffies.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include <linux/hsmgroup.h>

#include "group.h"
#include "pinguard.h"

/* Entries per group: beyond, the oldest makes room. */
#define HSMG_PINGUARD_MAX 1024
#define HSMG_PINGUARD_BASE_MS 100
#define HSMG_PINGUARD_MAX_SHIFT 7 /* 12.8 s */

/**
 * struct hsmg_pin_fails - the failed logins of one token and user.
 * @node: in hsmg_group.pin_fails.
 * @token: the record's token.
 * @user: HSMG_AUTH_USER or HSMG_AUTH_SO.
 * @failures: failed logins since the last that worked.
 * @next: no login before this (jiffies).
 * @busy: a login of this token and user is under way.
 *
 * Under hsmg_group.pin_lock, as the list and the group's pin_gen (bumped
 * at each login's end: waiters look again).
 */
struct hsmg_pin_fails {
	struct list_head node;
	u8 token[16];
	u16 user;
	u32 failures;
	unsigned long next;
	bool busy;
};

/* hsmg_pinguard_delay_ms - the wait after @failures failed logins. */
u32 hsmg_pinguard_delay_ms(u32 failures)
{
	if (!failures)
		return 0;
	return HSMG_PINGUARD_BASE_MS <<
		min_t(u32, failures - 1, HSMG_PINGUARD_MAX_SHIFT);
}

static struct hsmg_pin_fails *
hsmg_pinguard_find(struct hsmg_group *g, const struct hsmg_auth_record_hdr *h)
{
	struct hsmg_pin_fails *f;

	lockdep_assert_held(&g->pin_lock);
	list_for_each_entry(f, &g->pin_fails, node)
		if (f->user == h->user && !memcmp(f->token, h->token, 16))
			return f;
	return NULL;
}

/*
 * The entry of @h, made when missing (NULL: no memory, or *@full when the
 * group counts too many tokens).  pin_lock held.
 */
static struct hsmg_pin_fails *
hsmg_pinguard_get(struct hsmg_group *g, const struct hsmg_auth_record_hdr *h,
		  bool *full)
{
	struct hsmg_pin_fails *f = hsmg_pinguard_find(g, h);

	lockdep_assert_held(&g->pin_lock);
	*full = false;
	if (f)
		return f;
	if (g->npin_fails >= HSMG_PINGUARD_MAX) {
		/*
		 * Full: the entry whose wait ended longest ago makes room (it
		 * only delays; the cards keep counting).
		 */
		struct hsmg_pin_fails *o;

		list_for_each_entry(o, &g->pin_fails, node)
			if (!o->busy && (!f || time_before(o->next, f->next)))
				f = o;
		if (!f) {
			*full = true;
			return NULL;
		}
		memset(f->token, 0, sizeof(f->token));
		f->failures = 0;
	} else {
		f = kzalloc(sizeof(*f), GFP_KERNEL);
		if (!f)
			return NULL;
		list_add(&f->node, &g->pin_fails);
		g->npin_fails++;
	}
	memcpy(f->token, h->token, sizeof(f->token));
	f->user = h->user;
	f->next = jiffies;
	return f;
}

/* Forget @f when it counts nothing and nobody uses it.  pin_lock held. */
static void hsmg_pinguard_put(struct hsmg_group *g, struct hsmg_pin_fails *f)
{
	lockdep_assert_held(&g->pin_lock);
	if (f->busy || f->failures)
		return;
	list_del(&f->node);
	g->npin_fails--;
	kfree(f);
}

/**
 * hsmg_pinguard_enter - wait until a login of @h's token and user may run.
 * @g: the group.
 * @h: the head of the login's record.
 * @slot: the entry to hand to hsmg_pinguard_leave() (out).
 *
 * Return: 0, -EINTR (a signal), -EAGAIN (every entry of the group is in a
 * login), -ENOMEM.
 */
int hsmg_pinguard_enter(struct hsmg_group *g,
			const struct hsmg_auth_record_hdr *h,
			struct hsmg_pin_fails **slot)
{
	struct hsmg_pin_fails *f;
	unsigned long gen;
	long wait, ret;
	bool full;

	mutex_lock(&g->pin_lock);
	for (;;) {
		/* Looked up again after each sleep: a login may free it. */
		f = hsmg_pinguard_get(g, h, &full);
		if (!f) {
			mutex_unlock(&g->pin_lock);
			if (!full)
				return -ENOMEM;
			pr_warn_ratelimited("group %u: %u logins with a record at once; login refused\n",
					    g->id, g->npin_fails);
			return -EAGAIN;
		}
		wait = f->busy ? MAX_SCHEDULE_TIMEOUT : (long)(f->next - jiffies);
		if (wait <= 0)
			break;
		gen = g->pin_gen;
		hsmg_pinguard_put(g, f);
		mutex_unlock(&g->pin_lock);
		ret = wait_event_interruptible_timeout(g->pin_wq,
						       READ_ONCE(g->pin_gen) != gen,
						       wait);
		if (ret < 0)
			return -EINTR;
		mutex_lock(&g->pin_lock);
	}
	f->busy = true;
	mutex_unlock(&g->pin_lock);
	*slot = f;
	return 0;
}

/**
 * hsmg_pinguard_leave - the login of @slot ended with @result.
 * @g: the group.
 * @slot: from hsmg_pinguard_enter().
 * @result: 0 (the entry goes), -EACCES or -EKEYEXPIRED (one more failure),
 *	anything else (no PIN was judged: nothing changes).
 */
void hsmg_pinguard_leave(struct hsmg_group *g, struct hsmg_pin_fails *slot,
			 int result)
{
	mutex_lock(&g->pin_lock);
	slot->busy = false;
	if (result == -EACCES || result == -EKEYEXPIRED) {
		slot->failures++;
		slot->next = jiffies +
			msecs_to_jiffies(hsmg_pinguard_delay_ms(slot->failures));
		pr_notice_ratelimited("group %u: failed login %u of a token's %s\n",
				      g->id, slot->failures,
				      slot->user == HSMG_AUTH_SO ? "SO" : "user");
	} else if (!result) {
		slot->failures = 0;
	}
	hsmg_pinguard_put(g, slot);
	WRITE_ONCE(g->pin_gen, g->pin_gen + 1);
	mutex_unlock(&g->pin_lock);
	wake_up_all(&g->pin_wq);
}

/* hsmg_pinguard_free - forget every count of @g (the group goes). */
void hsmg_pinguard_free(struct hsmg_group *g)
{
	struct hsmg_pin_fails *f, *tmp;

	list_for_each_entry_safe(f, tmp, &g->pin_fails, node) {
		WARN_ON_ONCE(f->busy);
		list_del(&f->node);
		kfree(f);
	}
	g->npin_fails = 0;
}
