/*
 * tomb.c - what a node remembers of members it has reaped, and the
 * reconnect attempts that heal partitions longer than dead_keep.
 *
 * Reaping frees a dead or left member's entry and its signed record. Two
 * things must outlive that:
 *
 *   - Its last incarnation and state. A node that crashed never refutes, so
 *     its last ALIVE record carries the very incarnation it was declared
 *     dead at; a copy that is still travelling (a slow node's push-pull, a
 *     suspicion pushed by a node that has not yet timed it out) would, once
 *     the member is forgotten, be "first sight" and bring it back alive. So
 *     the reaped member's slot in members[] keeps (incarnation, state,
 *     reaped_at) with rec = 0 and MEMBER_TOMB set: no extra byte per
 *     member. An ALIVE at or below that incarnation puts the member back as
 *     dead (or left) instead: the view stays true, and a member that is in
 *     fact running (the other side of a long partition) hears that it was
 *     declared dead and refutes with a higher incarnation, as it would have
 *     before the reap.
 *   - Where it was. Nobody contacts a reaped member again, so two halves of
 *     a partition longer than dead_keep never met again. Like Serf, which
 *     keeps failed members and joins one of them every reconnect interval,
 *     each node keeps the reaped members' addresses (and its seeds) and
 *     every reconnect_interval (jittered) runs one push-pull with one of
 *     them, with probability candidates / live members (Serf's throttle):
 *     the fleet as a whole tries each remembered member about once per
 *     interval, however large it is. One successful exchange merges the
 *     two tables, and the refutation rules sort out the states.
 *
 * The ring below lists tombs in reap order, so expiry (reconnect_timeout,
 * 24 h like Serf's reconnect and tombstone timeouts) and eviction (at
 * SWIM_TOMBS_MAX, oldest first) pop from its front. A ring entry is 32
 * bytes and holds a reference on the name so the id cannot be handed to
 * another name while the slot remembers it. An entry whose member came
 * back is left in place and skipped (its reaped_at no longer matches the
 * slot's).
 */
#include "swim_internal.h"

#include <stdlib.h>
#include <string.h>

static bool entry_valid(const struct swim *s, const struct swim_tomb *t)
{
	const struct swim_member *m = &s->members[t->name_id];
	return m->rec == 0 && (m->flags & MEMBER_TOMB) && m->since == t->reaped_at;
}

static struct swim_tomb *ring_at(const struct swim *s, uint32_t i)
{
	return &s->tombs[(s->tombs_head + i) & (s->tombs_alloc - 1)];
}

/* Forget the slot's tomb (the member is gone for good, or back). */
static void slot_clear(struct swim *s, uint32_t id)
{
	struct swim_member *m = &s->members[id];
	if (m->rec != 0 || !(m->flags & MEMBER_TOMB))
		return;
	if (m->state == SWIM_DEAD)
		s->tombs_dead--;
	memset(m, 0, sizeof(*m));
}

static void ring_pop(struct swim *s)
{
	struct swim_tomb *t = ring_at(s, 0);
	if (entry_valid(s, t))
		slot_clear(s, t->name_id);
	swim_pool_name_unref(s->pool, t->name_id);
	s->tombs_head = (s->tombs_head + 1) & (s->tombs_alloc - 1);
	s->tombs_len--;
}

static int ring_grow(struct swim *s)
{
	uint32_t n = s->tombs_alloc == 0 ? 16 : s->tombs_alloc * 2;
	struct swim_tomb *a = malloc((size_t)n * sizeof(*a));
	if (a == NULL)
		return -1;
	for (uint32_t i = 0; i < s->tombs_len; i++)
		a[i] = *ring_at(s, i);
	free(s->tombs);
	s->tombs = a;
	s->tombs_alloc = n;
	s->tombs_head = 0;
	return 0;
}

void swim_tomb_reap(struct swim *s, uint64_t now, uint32_t id)
{
	struct swim_member *m = swim_member_at(s, id);
	if (m == NULL)
		return;
	uint32_t inc = m->incarnation;
	uint8_t state = m->state;
	struct shoal_addr addr = swim_member_record(s, m)->addr;

	swim_pool_name_ref(s->pool, id); /* the record's reference goes with it */
	swim_member_drop(s, id);
	if (s->tombs_len == SWIM_TOMBS_MAX)
		ring_pop(s);
	if (s->tombs_len == s->tombs_alloc && ring_grow(s) < 0) {
		/* Without memory the member is simply forgotten, as before. */
		swim_pool_name_unref(s->pool, id);
		return;
	}
	struct swim_tomb *t = ring_at(s, s->tombs_len++);
	t->reaped_at = now;
	t->name_id = id;
	t->addr = addr;
	m = &s->members[id];
	m->incarnation = inc;
	m->state = state;
	m->since = now;
	m->flags = MEMBER_TOMB;
	if (state == SWIM_DEAD)
		s->tombs_dead++;
}

const struct swim_member *swim_tomb_at(const struct swim *s, uint32_t id)
{
	if (id >= s->members_alloc)
		return NULL;
	const struct swim_member *m = &s->members[id];
	return m->rec == 0 && (m->flags & MEMBER_TOMB) ? m : NULL;
}

void swim_tomb_forget(struct swim *s, uint32_t id)
{
	if (id < s->members_alloc)
		slot_clear(s, id);
}

void swim_tomb_expire(struct swim *s, uint64_t now)
{
	while (s->tombs_len > 0) {
		const struct swim_tomb *t = ring_at(s, 0);
		if (entry_valid(s, t) && now - t->reaped_at < s->cfg.reconnect_timeout_us)
			break;
		ring_pop(s);
	}
}

void swim_tomb_destroy(struct swim *s)
{
	while (s->tombs_len > 0)
		ring_pop(s);
	free(s->tombs);
	s->tombs = NULL;
	s->tombs_alloc = 0;
}

/* ---- reconnect ----------------------------------------------------------- */

static uint32_t others_live(const struct swim *s)
{
	uint32_t n = swim_live_count(s);
	return s->left ? n : n - 1;
}

/* A dead member's address, starting from a random place in the ring. */
static const struct shoal_addr *random_dead(struct swim *s)
{
	uint32_t start = shoal_env_uniform(s->env, s->tombs_len);
	for (uint32_t k = 0; k < s->tombs_len; k++) {
		const struct swim_tomb *t = ring_at(s, (start + k) % s->tombs_len);
		if (entry_valid(s, t) && s->members[t->name_id].state == SWIM_DEAD)
			return &t->addr;
	}
	return NULL;
}

void swim_reconnect_tick(struct swim *s, uint64_t now)
{
	if (s->cfg.reconnect_interval_us == 0 || now < s->next_reconnect)
		return;
	s->next_reconnect = now + swim_pp_jittered(s, s->cfg.reconnect_interval_us);
	if (s->left)
		return;
	/* Left members said goodbye: only the dead, and the seeds, are worth
	 * knocking on. */
	uint32_t cands = s->tombs_dead + s->nseeds;
	if (cands == 0)
		return;
	/* Serf's throttle: try with probability candidates / live members, so
	 * the fleet tries each candidate about once per interval. */
	uint32_t live = others_live(s);
	if (live > cands && shoal_env_uniform(s->env, live) >= cands)
		return;
	uint32_t pick = shoal_env_uniform(s->env, cands);
	const struct shoal_addr *to = pick < s->nseeds ? &s->seeds[pick] : random_dead(s);
	if (to == NULL)
		return;
	s->stats.reconnects++;
	swim_pp_start(s, now, to, SWIM_PP_PERIODIC, -1);
}

uint64_t swim_reconnect_deadline(const struct swim *s)
{
	if (s->cfg.reconnect_interval_us == 0 || s->left || s->tombs_dead + s->nseeds == 0)
		return UINT64_MAX;
	return s->next_reconnect;
}
