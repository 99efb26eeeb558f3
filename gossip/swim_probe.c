/*
 * swim_probe.c - the failure detector: probe order, ping / ping-req, the
 * Lifeguard local health multiplier, serving others' ping-reqs, and the
 * gossip rounds.
 *
 * One probe runs per protocol period. Targets come from a shuffled array of
 * member ids walked round-robin and reshuffled at each wrap (SWIM's
 * randomized round-robin: every member is probed within two periods of N,
 * against unbounded gaps for purely random choice); new members are
 * inserted at a random position so that a burst of joins does not queue up
 * at the end. Members that were reaped stay in the array until the next
 * wrap, where the rebuild drops them, so removal costs nothing per member.
 *
 * Lifeguard's local health multiplier ("awareness") scales the period and
 * the probe timeout: a node whose own process or network is slow misses acks
 * and, if it took the misses at face value, would accuse healthy members.
 * Ping-req helpers send a NACK when the target stays silent, so a missing
 * nack tells "I cannot hear my helpers either" apart from "the target is
 * down": the multiplier rises by the number of nacks missed (by 1 when no
 * nacks were expected) and falls by 1 on a timely direct ack, as in
 * memberlist.
 *
 * The helper sends its NACK at 80% of the probe timeout (the Lifeguard
 * paper's figure) so that it reaches the origin before the origin's period
 * ends; memberlist waits the full timeout and its nacks often arrive late.
 */
#include "swim_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"

/* Extra members scanned in order when random sampling comes up short. */
#define SAMPLE_SCAN_MAX 256

uint64_t swim_scaled(const struct swim *s, uint64_t t)
{
	return s->cfg.lifeguard_lhm ? t * (s->awareness + 1) : t;
}

static void awareness_apply(struct swim *s, int delta)
{
	if (!s->cfg.lifeguard_lhm || delta == 0)
		return;
	int64_t a = (int64_t)s->awareness + delta;
	if (a < 0)
		a = 0;
	if (a > (int64_t)s->cfg.awareness_max - 1)
		a = (int64_t)s->cfg.awareness_max - 1;
	s->awareness = (uint32_t)a;
}

/* ---- probe order ------------------------------------------------------ */

void swim_order_add(struct swim *s, uint32_t id)
{
	struct swim_member *m = &s->members[id];
	if (m->flags & MEMBER_IN_ORDER)
		return;
	if (s->order_len == s->order_alloc) {
		uint32_t n = s->order_alloc == 0 ? 64 : s->order_alloc * 2;
		uint32_t *o = realloc(s->order, (size_t)n * sizeof(*o));
		if (o == NULL)
			return; /* not probed until the next rebuild */
		s->order = o;
		s->order_alloc = n;
	}
	uint32_t pos = shoal_env_uniform(s->env, s->order_len + 1);
	s->order[s->order_len++] = s->order[pos];
	s->order[pos] = id;
	m->flags |= MEMBER_IN_ORDER;
}

/* Drop reaped and duplicate ids, then shuffle (Fisher-Yates). */
static void order_rebuild(struct swim *s)
{
	uint32_t j = 0;
	for (uint32_t i = 0; i < s->order_len; i++) {
		struct swim_member *m = swim_member_at(s, s->order[i]);
		if (m != NULL)
			m->flags &= (uint8_t)~MEMBER_IN_ORDER;
	}
	for (uint32_t i = 0; i < s->order_len; i++) {
		uint32_t id = s->order[i];
		struct swim_member *m = swim_member_at(s, id);
		if (m == NULL || id == s->self_id || (m->flags & MEMBER_IN_ORDER))
			continue;
		m->flags |= MEMBER_IN_ORDER;
		s->order[j++] = id;
	}
	s->order_len = j;
	for (uint32_t i = j; i > 1; i--) {
		uint32_t r = shoal_env_uniform(s->env, i);
		uint32_t t = s->order[i - 1];
		s->order[i - 1] = s->order[r];
		s->order[r] = t;
	}
	s->order_pos = 0;
}

static uint32_t next_target(struct swim *s)
{
	for (uint32_t tries = 0; tries <= s->order_len; tries++) {
		if (s->order_pos >= s->order_len) {
			order_rebuild(s);
			if (s->order_len == 0)
				return SWIM_NONE;
		}
		uint32_t id = s->order[s->order_pos++];
		struct swim_member *m = swim_member_at(s, id);
		if (m != NULL && id != s->self_id &&
		    (m->state == SWIM_ALIVE || m->state == SWIM_SUSPECT))
			return id;
	}
	return SWIM_NONE;
}

static bool eligible(struct swim *s, uint32_t id, uint32_t want, uint32_t exclude,
                     const uint32_t *out, uint32_t got)
{
	struct swim_member *m = swim_member_at(s, id);
	if (m == NULL || id == s->self_id || id == exclude || !((1u << m->state) & want))
		return false;
	for (uint32_t i = 0; i < got; i++)
		if (out[i] == id)
			return false;
	return true;
}

uint32_t swim_sample(struct swim *s, uint32_t k, uint32_t want, uint32_t exclude, uint32_t *out)
{
	uint32_t got = 0;
	if (s->order_len == 0 || k == 0)
		return 0;
	/* Random draws are O(k) when most members qualify (the normal case);
	 * a bounded scan covers the rest without an O(N) walk. */
	for (uint32_t tries = 4 * k + 8; got < k && tries > 0; tries--) {
		uint32_t id = s->order[shoal_env_uniform(s->env, s->order_len)];
		if (eligible(s, id, want, exclude, out, got))
			out[got++] = id;
	}
	uint32_t start = shoal_env_uniform(s->env, s->order_len);
	uint32_t scan = s->order_len < SAMPLE_SCAN_MAX ? s->order_len : SAMPLE_SCAN_MAX;
	for (uint32_t i = 0; got < k && i < scan; i++) {
		uint32_t id = s->order[(start + i) % s->order_len];
		if (eligible(s, id, want, exclude, out, got))
			out[got++] = id;
	}
	return got;
}

/* ---- our probes -------------------------------------------------------- */

static void send_ping(struct swim *s, uint32_t target, uint32_t seq, bool buddy)
{
	struct swim_member *m = swim_member_at(s, target);
	const struct swim_record *r = swim_member_record(s, m);
	const struct swim_pool_name *tn = swim_pool_name(s->pool, target);
	const struct swim_pool_name *me = swim_pool_name(s->pool, s->self_id);
	uint32_t count = 0;

	swim_tx_begin(s);
	/* Buddy system: tell a suspect first, so it can refute in its ack. */
	if (buddy) {
		shoal_buf_reset(&s->item);
		swim_proto_encode_accuse(&s->item, SWIM_MSG_SUSPECT, (const uint8_t *)tn->str,
		                         tn->len, m->incarnation, (const uint8_t *)me->str,
		                         me->len);
		count += swim_tx_add_item(s);
	}
	shoal_buf_reset(&s->item);
	swim_proto_encode_ping(&s->item, seq, (const uint8_t *)tn->str, tn->len,
	                       (const uint8_t *)me->str, me->len);
	count += swim_tx_add_item(s);
	swim_send_tx(s, &r->addr, target, count, true);
}

static void remember_ping(struct swim *s, uint64_t now, uint32_t target, uint32_t seq)
{
	struct swim_ping_sent *e = &s->pings[s->pings_pos];
	e->seq = seq;
	e->target = target;
	e->at = now;
	s->pings_pos = (s->pings_pos + 1) % SWIM_PINGS_RECENT;
}

void swim_probe_check_suspect(struct swim *s, uint64_t now, uint32_t id)
{
	/* Its own sequence number: the ack matches no probe, but the
	 * suspect's ALIVE rides first in it and ends the suspicion; an ack
	 * that comes too late for that still says how slow it is. */
	uint32_t seq = ++s->seq;
	remember_ping(s, now, id, seq);
	send_ping(s, id, seq, true);
}

static void send_ping_reqs(struct swim *s)
{
	struct swim_probe *p = &s->probe;
	uint32_t helpers[64];
	uint32_t k = s->cfg.indirect_checks < 64 ? s->cfg.indirect_checks : 64;
	struct swim_member *t = swim_member_at(s, p->target);

	p->indirect = true;
	if (t == NULL)
		return;
	/* Ping the target directly once more, alongside the helpers: under
	 * loss the first ping or its ack is the likeliest hop to have been
	 * dropped, and a second try costs two small datagrams against the
	 * four hops each helper needs (memberlist sends a TCP ping here). */
	send_ping(s, p->target, p->seq, s->cfg.lifeguard_buddy && t->state == SWIM_SUSPECT);
	const struct swim_record *tr = swim_member_record(s, t);
	const struct swim_pool_name *tn = swim_pool_name(s->pool, p->target);
	uint32_t n = swim_sample(s, k, 1u << SWIM_ALIVE, p->target, helpers);
	for (uint32_t i = 0; i < n; i++) {
		const struct swim_record *hr = swim_member_record(s, swim_member_at(s, helpers[i]));
		swim_tx_begin(s);
		shoal_buf_reset(&s->item);
		swim_proto_encode_ping_req(&s->item, p->seq, (const uint8_t *)tn->str, tn->len,
		                           &tr->addr);
		if (swim_tx_add_item(s))
			swim_send_tx(s, &hr->addr, helpers[i], 1, true);
	}
	if (n > 0)
		s->stats.indirect_probes++;
	p->nacks_expected = s->cfg.lifeguard_lhm ? n : 0;
}

/* The period ended: judge the probe that ran in it. */
static void finish_probe(struct swim *s, uint64_t now)
{
	struct swim_probe *p = &s->probe;
	p->active = false;
	swim_links_record(s, p);
	if (p->acked)
		return;
	if (p->nacks_expected > 0) {
		if (p->nacks < p->nacks_expected)
			awareness_apply(s, (int)(p->nacks_expected - p->nacks));
	} else {
		awareness_apply(s, 1);
	}
	struct swim_member *m = swim_member_at(s, p->target);
	if (s->left || m == NULL || (m->state != SWIM_ALIVE && m->state != SWIM_SUSPECT))
		return;
	/* It refuted while we waited (its newer ALIVE reached us by gossip or
	 * push-pull after our ping went out): it has just spoken for itself,
	 * and our failed round is about the incarnation it left behind.
	 * memberlist likewise accuses at the incarnation the probe began
	 * with, which its rules then drop as stale. */
	if (m->incarnation != p->incarnation)
		return;
	swim_apply_suspect(s, now, p->target, m->incarnation, s->self_id, true);
	/* Buddy system at once: tell the suspect now rather than at our next
	 * probe of it (up to 2N periods away) or whenever gossip reaches it.
	 * A member that is only slow then refutes one of its own delays after
	 * the suspicion began, well inside the minimum timeout. */
	if (s->cfg.lifeguard_buddy && m->state == SWIM_SUSPECT)
		swim_probe_check_suspect(s, now, p->target);
}

void swim_probe_tick(struct swim *s, uint64_t now)
{
	struct swim_probe *p = &s->probe;

	if (p->active && !p->acked && !p->indirect && now >= p->ping_req_at)
		send_ping_reqs(s);
	if (now < s->next_probe)
		return;
	if (p->active)
		finish_probe(s, now);
	uint64_t period = swim_scaled(s, s->cfg.probe_interval_us);
	s->next_probe = now + period;
	if (s->left)
		return; /* a leaving node answers pings but accuses nobody */
	uint32_t target = next_target(s);
	if (target == SWIM_NONE)
		return;
	struct swim_member *m = swim_member_at(s, target);
	memset(p, 0, sizeof(*p));
	p->active = true;
	p->target = target;
	p->incarnation = m->incarnation;
	p->seq = ++s->seq;
	p->start = now;
	p->ping_req_at = now + swim_scaled(s, s->cfg.probe_timeout_us);
	p->end = s->next_probe;
	s->stats.probes++;
	remember_ping(s, now, target, p->seq);
	send_ping(s, target, p->seq, s->cfg.lifeguard_buddy && m->state == SWIM_SUSPECT);
}

void swim_probe_on_nack(struct swim *s, uint32_t seq)
{
	struct swim_probe *p = &s->probe;
	if (p->active && seq == p->seq) {
		p->nacks++;
		s->stats.nacks++;
	}
}

/* ---- serving ping-reqs ------------------------------------------------- */

static void helpers_recompute(struct swim *s)
{
	uint64_t next = UINT64_MAX;
	for (uint32_t i = 0; i < SWIM_HELPERS_MAX; i++) {
		const struct swim_helper *h = &s->helpers[i];
		if (!h->used)
			continue;
		uint64_t d = (!h->nacked && s->cfg.lifeguard_lhm) ? h->nack_at : h->expire_at;
		if (d < next)
			next = d;
	}
	s->helpers_next = next;
}

static void send_ack(struct swim *s, const struct shoal_addr *to, uint8_t type, uint32_t seq)
{
	swim_tx_begin(s);
	shoal_buf_reset(&s->item);
	swim_proto_encode_ack(&s->item, type, seq);
	if (swim_tx_add_item(s))
		swim_send_tx(s, to, SWIM_NONE, 1, true);
}

/* An ack for a ping of ours whose probe is over: the member is up, only
 * slow. If we hold it suspect, its suspicion remembers how slow, so that
 * the last check before declaring it dead waits long enough for it to
 * answer (see SWIM_SUSP_LATE_CHECKS). */
static void late_ack(struct swim *s, uint64_t now, uint32_t seq)
{
	for (uint32_t i = 0; i < SWIM_PINGS_RECENT; i++) {
		struct swim_ping_sent *e = &s->pings[i];
		if (e->seq != seq || seq == 0)
			continue;
		struct swim_member *m = swim_member_at(s, e->target);
		uint32_t slot = m != NULL && m->state == SWIM_SUSPECT
		                        ? swim_susp_find(&s->susp, e->target)
		                        : SWIM_NONE;
		if (slot != SWIM_NONE)
			swim_susp_late_reply(&s->susp, slot, now - e->at);
		e->seq = 0;
		return;
	}
}

void swim_probe_on_ack(struct swim *s, uint64_t now, uint32_t seq)
{
	struct swim_probe *p = &s->probe;
	if (p->active && seq == p->seq) {
		if (!p->acked) {
			p->acked = true;
			p->rtt = now - p->start > UINT32_MAX - 1 ? UINT32_MAX - 1
			                                         : (uint32_t)(now - p->start);
			s->stats.acks++;
			/* Only a timely direct ack says our own side is healthy. */
			if (!p->indirect && now <= p->ping_req_at)
				awareness_apply(s, -1);
		}
		return;
	}
	for (uint32_t i = 0; i < SWIM_HELPERS_MAX; i++) {
		struct swim_helper *h = &s->helpers[i];
		if (h->used && h->our_seq == seq) {
			send_ack(s, &h->origin, SWIM_MSG_ACK, h->origin_seq);
			h->used = false;
			helpers_recompute(s);
			return;
		}
	}
	late_ack(s, now, seq);
}

void swim_probe_on_ping_req(struct swim *s, uint64_t now, const struct shoal_addr *from,
                            const struct swim_msg *m)
{
	const struct swim_pool_name *me = swim_pool_name(s->pool, s->self_id);
	struct swim_helper *h = NULL;

	for (uint32_t i = 0; i < SWIM_HELPERS_MAX && h == NULL; i++)
		if (!s->helpers[i].used)
			h = &s->helpers[i];
	if (h == NULL)
		return; /* too many at once: the origin still has its other helpers */
	memset(h, 0, sizeof(*h));
	h->used = true;
	h->our_seq = ++s->seq;
	h->origin_seq = m->seq;
	h->origin = *from;
	h->nack_at = now + s->cfg.probe_timeout_us * 4 / 5;
	h->expire_at = now + s->cfg.probe_timeout_us;
	helpers_recompute(s);

	swim_tx_begin(s);
	shoal_buf_reset(&s->item);
	swim_proto_encode_ping(&s->item, h->our_seq, m->target.p, m->target.len,
	                       (const uint8_t *)me->str, me->len);
	if (swim_tx_add_item(s))
		swim_send_tx(s, &m->addr, swim_pool_name_find(s->pool, m->target.p, m->target.len),
		             1, true);
}

void swim_helpers_tick(struct swim *s, uint64_t now)
{
	if (now < s->helpers_next)
		return;
	for (uint32_t i = 0; i < SWIM_HELPERS_MAX; i++) {
		struct swim_helper *h = &s->helpers[i];
		if (!h->used)
			continue;
		if (s->cfg.lifeguard_lhm && !h->nacked && now >= h->nack_at) {
			send_ack(s, &h->origin, SWIM_MSG_NACK, h->origin_seq);
			h->nacked = true;
		}
		if (now >= h->expire_at)
			h->used = false;
	}
	helpers_recompute(s);
}

/* ---- gossip ----------------------------------------------------------- */

void swim_gossip_tick(struct swim *s, uint64_t now)
{
	uint32_t targets[64];

	if (s->cfg.gossip_interval_us == 0 || now < s->next_gossip)
		return;
	s->next_gossip = now + s->cfg.gossip_interval_us;
	if (s->bcast.len == 0 && s->user.len == 0)
		return;
	/* Recently dead members too (until reaped): one that was wrongly
	 * declared dead learns it here and refutes. */
	uint32_t k = s->cfg.gossip_nodes < 64 ? s->cfg.gossip_nodes : 64;
	uint32_t n =
	        swim_sample(s, k, (1u << SWIM_ALIVE) | (1u << SWIM_SUSPECT) | (1u << SWIM_DEAD),
	                    SWIM_NONE, targets);
	for (uint32_t i = 0; i < n && (s->bcast.len > 0 || s->user.len > 0); i++) {
		const struct swim_record *r = swim_member_record(s, swim_member_at(s, targets[i]));
		swim_tx_begin(s);
		uint32_t count = swim_bcast_fill(s);
		count += swim_user_fill(s, swim_id_quiet(s, targets[i]));
		if (count == 0)
			continue; /* maybe only bulk news left, and this one is quiet */
		swim_send_tx(s, &r->addr, targets[i], count, false);
	}
}
