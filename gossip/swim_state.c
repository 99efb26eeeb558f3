/*
 * swim_state.c - the SWIM rules: what a node does with news about a member.
 *
 * memberlist's semantics, with signed identity on top:
 *   - ALIVE with a higher incarnation than held (or first sight) wins, and
 *     it must be signed by the key it carries; a name already bound to a
 *     different key is refused until that member has been reaped;
 *   - SUSPECT applies at an incarnation >= held to an alive member (and
 *     confirms a suspect one); DEAD applies at >= held to anything not
 *     already dead or left; older news is stale and ignored;
 *   - news that we are suspect or dead is refuted by a new signed ALIVE with
 *     a higher incarnation;
 *   - LEAVE is signed by the member's own key, so it is final for that
 *     incarnation.
 * Two departures from memberlist make refutation robust in small meshes,
 * where each item is sent only 4 times: a suspicion at a newer incarnation
 * than the one held restarts the timer (the old round was refuted), and an
 * accusation about ourselves at an incarnation we already passed re-sends
 * our current ALIVE.
 * Each applied change is queued for dissemination and reported as an event.
 */
#include "swim_internal.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <sodium.h>

#include "shoal/error.h"

void swim_emit(struct swim *s, enum swim_event_type type, uint32_t name_id, uint32_t inc,
               uint32_t from_id, bool via_probe, const struct shoal_addr *addr)
{
	if (s->cfg.on_event == NULL)
		return;
	struct swim_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.name = swim_pool_name(s->pool, name_id)->str;
	ev.incarnation = inc;
	ev.from = from_id != SWIM_NONE ? swim_pool_name(s->pool, from_id)->str : NULL;
	ev.via_probe = via_probe;
	ev.addr = addr;
	s->cfg.on_event(s->cfg.event_ctx, &ev);
}

/* Move a member to `state` at `inc`, keeping counts and the suspicion table
 * in step. */
static void set_state(struct swim *s, struct swim_member *m, uint8_t state, uint32_t inc,
                      uint64_t now)
{
	if (m->state == SWIM_SUSPECT && state != SWIM_SUSPECT) {
		uint32_t slot = swim_susp_find(&s->susp, (uint32_t)(m - s->members));
		if (slot != SWIM_NONE)
			swim_susp_remove(&s->susp, s->pool, slot);
	}
	if (m->state != state) {
		s->counts[m->state]--;
		s->counts[state]++;
		m->state = state;
		m->since = now;
	}
	m->incarnation = inc;
}

int swim_members_reserve(struct swim *s, uint32_t id)
{
	if (id < s->members_alloc)
		return 0;
	uint32_t n = s->members_alloc < 64 ? 64 : s->members_alloc;
	while (n <= id)
		n *= 2;
	struct swim_member *a = realloc(s->members, (size_t)n * sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	memset(a + s->members_alloc, 0, (size_t)(n - s->members_alloc) * sizeof(*a));
	s->members = a;
	s->members_alloc = n;
	return 0;
}

void swim_member_drop(struct swim *s, uint32_t id)
{
	struct swim_member *m = swim_member_at(s, id);
	if (m == NULL)
		return;
	uint32_t slot = m->state == SWIM_SUSPECT ? swim_susp_find(&s->susp, id) : SWIM_NONE;
	if (slot != SWIM_NONE)
		swim_susp_remove(&s->susp, s->pool, slot);
	s->counts[m->state]--;
	swim_pool_record_unref(s->pool, m->rec - 1);
	memset(m, 0, sizeof(*m));
}

int swim_self_record(struct swim *s, const uint8_t *labels, uint32_t labels_len)
{
	const struct swim_pool_name *n = swim_pool_name(s->pool, s->self_id);
	struct swim_alive_body a;
	struct shoal_buf body;
	uint8_t sig[SWIM_SIG_LEN];
	uint32_t rid;
	int rc;

	memset(&a, 0, sizeof(a));
	a.name.p = (const uint8_t *)n->str;
	a.name.len = n->len;
	a.incarnation = s->incarnation;
	a.addr = s->cfg.advertise;
	a.pubkey = s->cfg.site_pk;
	a.labels = labels;
	a.labels_len = labels_len;
	a.version.p = (const uint8_t *)s->version;
	a.version.len = (uint32_t)strlen(s->version);

	shoal_buf_create(&body, SWIM_BODY_MAX);
	if ((rc = swim_proto_encode_alive_body(&body, &a)) < 0) {
		shoal_buf_destroy(&body);
		return rc;
	}
	crypto_sign_detached(sig, NULL, body.data, body.len, s->sk);
	/* Decode our own bytes so the record's fields point into them. */
	rc = swim_proto_decode_alive_body(body.data, (uint32_t)body.len, &a);
	if (rc == 0)
		rc = swim_pool_record_add_trusted(s->pool, body.data, (uint32_t)body.len, sig, &a,
		                                  &rid);
	shoal_buf_destroy(&body);
	if (rc < 0)
		return rc;

	struct swim_member *m = &s->members[s->self_id];
	if (m->rec != 0) {
		swim_pool_record_unref(s->pool, m->rec - 1);
	} else {
		m->state = SWIM_ALIVE;
		s->counts[SWIM_ALIVE]++;
	}
	m->rec = rid + 1;
	m->incarnation = s->incarnation;
	s->self_rec = rid;
	swim_bcast_alive(s, s->self_id, rid);
	return 0;
}

int swim_refute(struct swim *s, uint64_t now, uint32_t at_least)
{
	const struct swim_record *r = swim_pool_record(s->pool, s->self_rec);
	uint32_t base = at_least > s->incarnation ? at_least : s->incarnation;
	int rc;

	(void)now;
	if (base == UINT32_MAX)
		return SHOAL_E_RANGE; /* cannot go higher; others will keep their view */
	s->incarnation = base + 1;
	/* The labels live in the old record, which stays referenced until the
	 * new one replaces it inside swim_self_record. */
	if ((rc = swim_self_record(s, r->body + r->labels_off, r->labels_len)) < 0)
		return rc;
	s->stats.refutations++;
	if (s->cfg.lifeguard_lhm && s->awareness + 1 < s->cfg.awareness_max)
		s->awareness++;
	swim_emit(s, SWIM_EV_REFUTED, s->self_id, s->incarnation, SWIM_NONE, false, NULL);
	swim_emit(s, SWIM_EV_INCARNATION, s->self_id, s->incarnation, SWIM_NONE, false, NULL);
	return 0;
}

static bool same_content(const struct swim_record *a, const struct swim_record *b)
{
	return shoal_addr_equal(&a->addr, &b->addr) && a->labels_len == b->labels_len &&
	       memcmp(a->body + a->labels_off, b->body + b->labels_off, a->labels_len) == 0 &&
	       strcmp(a->version, b->version) == 0;
}

/* ALIVE about ourselves: only our own key may speak for us, and a record of
 * ours we do not hold (an earlier run's) must be outbid. */
static void alive_self(struct swim *s, uint64_t now, uint32_t rid)
{
	const struct swim_record *r = swim_pool_record(s->pool, rid);
	if (memcmp(swim_record_pubkey(r), s->cfg.site_pk, SWIM_PK_LEN) != 0) {
		s->stats.name_conflicts++;
		swim_emit(s, SWIM_EV_NAME_CONFLICT, s->self_id, r->incarnation, SWIM_NONE, false,
		          &r->addr);
		return;
	}
	if (s->left || rid == s->self_rec)
		return;
	if (r->incarnation < s->incarnation) {
		s->stats.stale++;
		return;
	}
	swim_refute(s, now, r->incarnation);
}

/* SUSPECT or DEAD about ourselves. At an incarnation we already passed,
 * the sender missed our refutation: send our current ALIVE around again
 * (its transmit count starts over) instead of letting the old accusation
 * outlive it - with 4 transmissions per item in a small mesh, a member
 * that missed every copy would otherwise time its suspicion out and
 * declare us dead. At our incarnation or above, refute. */
static void accused_self(struct swim *s, uint64_t now, uint32_t inc)
{
	if (s->left)
		return;
	if (inc < s->incarnation) {
		s->stats.stale++;
		swim_bcast_alive(s, s->self_id, s->self_rec);
		return;
	}
	swim_refute(s, now, inc);
}

/* An ALIVE at or below the incarnation a reaped member was dead (or left)
 * at is that member's old record, not news: put the member back as it was
 * reaped (tomb.c says why). A dead member that is in fact running hears
 * about it from the DEAD we queue (gossip reaches dead members too) and
 * refutes with a higher incarnation; memberlist, which forgets reaped
 * members entirely, takes the old record as a new member. */
static void reinstate(struct swim *s, uint64_t now, uint32_t id, uint32_t rid, uint8_t state,
                      uint32_t inc, bool rebroadcast)
{
	const struct swim_record *r = swim_pool_record(s->pool, rid);
	swim_tomb_forget(s, id);
	struct swim_member *m = &s->members[id];
	swim_pool_record_ref(s->pool, rid);
	m->rec = rid + 1;
	swim_member_note_quiet(s, m);
	m->state = state;
	m->incarnation = inc;
	m->since = now;
	s->counts[state]++;
	s->stats.reinstated++;
	if (state == SWIM_LEFT) {
		swim_emit(s, SWIM_EV_LEFT, id, inc, SWIM_NONE, false, NULL);
		return;
	}
	swim_emit(s, SWIM_EV_DEAD, id, inc, SWIM_NONE, false, &r->addr);
	if (rebroadcast)
		swim_bcast_accuse(s, SWIM_MSG_DEAD, id, inc, s->self_id);
}

void swim_member_note_quiet(struct swim *s, struct swim_member *m)
{
	bool quiet = false;
	if (s->cfg.is_quiet != NULL && m->rec != 0) {
		const struct swim_record *r = swim_member_record(s, m);
		quiet = s->cfg.is_quiet(s->cfg.quiet_ctx, r->body + r->labels_off, r->labels_len);
	}
	m->flags = (m->flags & ~MEMBER_QUIET) | (quiet ? MEMBER_QUIET : 0);
}

bool swim_id_quiet(const struct swim *s, uint32_t id)
{
	const struct swim_member *m = id == SWIM_NONE ? NULL : swim_member_at(s, id);
	return m != NULL && (m->flags & MEMBER_QUIET) != 0;
}

void swim_apply_alive(struct swim *s, uint64_t now, uint32_t rid, bool rebroadcast)
{
	const struct swim_record *r = swim_pool_record(s->pool, rid);
	uint32_t id = r->name_id;
	struct swim_member *m;

	if (id == s->self_id) {
		alive_self(s, now, rid);
		return;
	}
	m = swim_member_at(s, id);
	if (m == NULL && swim_tomb_at(s, id) != NULL) {
		const struct swim_member *t = swim_tomb_at(s, id);
		if (r->incarnation <= t->incarnation) {
			reinstate(s, now, id, rid, t->state, t->incarnation, rebroadcast);
			return;
		}
		swim_tomb_forget(s, id); /* it restarted or refuted: a member again */
	}
	if (m == NULL) {
		if (swim_members_reserve(s, id) < 0)
			return;
		m = &s->members[id];
		swim_pool_record_ref(s->pool, rid);
		m->rec = rid + 1;
		swim_member_note_quiet(s, m);
		m->state = SWIM_ALIVE;
		m->incarnation = r->incarnation;
		m->since = now;
		s->counts[SWIM_ALIVE]++;
		s->members_added++;
		swim_order_add(s, id);
		swim_emit(s, SWIM_EV_ALIVE, id, r->incarnation, SWIM_NONE, false, &r->addr);
		if (rebroadcast)
			swim_bcast_alive(s, id, rid);
		return;
	}

	const struct swim_record *held = swim_member_record(s, m);
	if (memcmp(swim_record_pubkey(held), swim_record_pubkey(r), SWIM_PK_LEN) != 0) {
		s->stats.name_conflicts++;
		swim_emit(s, SWIM_EV_NAME_CONFLICT, id, r->incarnation, SWIM_NONE, false, &r->addr);
		return;
	}
	if (r->incarnation <= m->incarnation) {
		if (m->rec - 1 != rid)
			s->stats.stale++;
		return;
	}

	uint8_t old_state = m->state;
	bool changed = !same_content(held, r);
	swim_pool_record_ref(s->pool, rid);
	swim_pool_record_unref(s->pool, m->rec - 1);
	m->rec = rid + 1;
	swim_member_note_quiet(s, m);
	set_state(s, m, SWIM_ALIVE, r->incarnation, now);
	if (old_state != SWIM_ALIVE)
		swim_emit(s, SWIM_EV_ALIVE, id, r->incarnation, SWIM_NONE, false, &r->addr);
	else if (changed)
		swim_emit(s, SWIM_EV_UPDATE, id, r->incarnation, SWIM_NONE, false, &r->addr);
	if (rebroadcast)
		swim_bcast_alive(s, id, rid);
}

/* Lifeguard's suspicion bounds for the current mesh size. */
static void suspicion_bounds(const struct swim *s, uint32_t *k, uint64_t *min, uint64_t *max)
{
	uint32_t n = swim_live_count(s);
	double scale = n > 10 ? log10((double)n) : 1.0;
	*min = (uint64_t)((double)s->cfg.suspicion_mult * scale * (double)s->cfg.probe_interval_us);
	*max = *min * s->cfg.suspicion_max_mult;
	/* memberlist derives k from the multiplier (mult - 2); Shoal sets it
	 * on its own, so a short min can demand many confirmations. */
	*k = s->cfg.suspicion_confirm;
	/* Only n - 2 members (not us, not the suspect) can confirm. memberlist
	 * drops to k = 0, the fixed minimum, when n - 2 < k; that hands a lone
	 * false suspicion in a small mesh the shortest timeout, so Shoal asks
	 * for as many confirmations as there are members able to give them. */
	if (*k > 0 && n < *k + 2)
		*k = n > 2 ? n - 2 : 0;
	if (!s->cfg.lifeguard_suspicion) {
		*k = 0;
		*max = *min;
	}
}

void swim_apply_suspect(struct swim *s, uint64_t now, uint32_t id, uint32_t inc, uint32_t from_id,
                        bool via_probe)
{
	struct swim_member *m = swim_member_at(s, id);
	if (m == NULL)
		return;
	if (id == s->self_id) {
		accused_self(s, now, inc);
		return;
	}
	if (inc < m->incarnation) {
		s->stats.stale++;
		return;
	}
	if (m->state == SWIM_SUSPECT && inc == m->incarnation) {
		uint32_t slot = swim_susp_find(&s->susp, id);
		if (slot == SWIM_NONE)
			return;
		/* Our own probe failed too: we now hold first-hand evidence. */
		if (via_probe)
			s->susp.slots[slot].via_probe = true;
		if (swim_susp_confirm(&s->susp, s->pool, slot, from_id))
			swim_bcast_accuse(s, SWIM_MSG_SUSPECT, id, inc, from_id);
		return;
	}
	if (m->state != SWIM_ALIVE && m->state != SWIM_SUSPECT)
		return;

	uint32_t k;
	uint64_t min, max;
	suspicion_bounds(s, &k, &min, &max);
	uint32_t old = m->state == SWIM_SUSPECT ? swim_susp_find(&s->susp, id) : SWIM_NONE;
	int slot = swim_susp_start(&s->susp, s->pool, id, from_id, now, k, min, max, via_probe);
	if (slot < 0)
		return;
	if (m->state == SWIM_SUSPECT) {
		/* Suspected at a newer incarnation than ours: the member refuted
		 * the suspicion we hold (we missed its ALIVE) and is suspected
		 * anew. Our timer belongs to the refuted round, so it restarts
		 * with this one; memberlist keeps the old timer and can declare
		 * a member dead that refuted in time. A member that is really
		 * down cannot raise its incarnation, so this never delays its
		 * death by more than one timeout. */
		if (old != SWIM_NONE)
			swim_susp_remove(&s->susp, s->pool, old);
		m->incarnation = inc;
		m->since = now;
		swim_bcast_accuse(s, SWIM_MSG_SUSPECT, id, inc, from_id);
		return;
	}
	set_state(s, m, SWIM_SUSPECT, inc, now);
	if (via_probe)
		s->stats.suspicions++;
	swim_emit(s, SWIM_EV_SUSPECT, id, inc, from_id, via_probe, NULL);
	swim_bcast_accuse(s, SWIM_MSG_SUSPECT, id, inc, from_id);
}

void swim_apply_dead(struct swim *s, uint64_t now, uint32_t id, uint32_t inc, uint32_t from_id,
                     bool via_probe)
{
	struct swim_member *m = swim_member_at(s, id);
	if (m == NULL)
		return;
	if (id == s->self_id) {
		accused_self(s, now, inc);
		return;
	}
	if (inc < m->incarnation) {
		s->stats.stale++;
		return;
	}
	if (m->state == SWIM_DEAD || m->state == SWIM_LEFT)
		return;
	set_state(s, m, SWIM_DEAD, inc, now);
	if (via_probe)
		s->stats.deaths++;
	swim_emit(s, SWIM_EV_DEAD, id, inc, from_id, via_probe, NULL);
	swim_bcast_accuse(s, SWIM_MSG_DEAD, id, inc, from_id);
}

void swim_apply_left(struct swim *s, uint64_t now, uint32_t id, uint32_t inc, const uint8_t *msg,
                     size_t len)
{
	struct swim_member *m = swim_member_at(s, id);
	if (m == NULL)
		return;
	if (id == s->self_id) {
		/* A leave of ours we did not send now: an earlier run's. */
		if (s->left)
			return;
		if (inc < s->incarnation) {
			s->stats.stale++;
			return;
		}
		swim_refute(s, now, inc);
		return;
	}
	if (inc < m->incarnation) {
		s->stats.stale++;
		return;
	}
	if (m->state == SWIM_LEFT)
		return;
	set_state(s, m, SWIM_LEFT, inc, now);
	s->stats.leaves++;
	swim_emit(s, SWIM_EV_LEFT, id, inc, SWIM_NONE, false, NULL);
	if (msg != NULL)
		swim_bcast_blob(s, SWIM_MSG_LEAVE, id, msg, len);
}

/* ---- fleet key operations --------------------------------------------- */

static void emit_keyring(struct swim *s, enum swim_key_op op, const uint8_t *key)
{
	if (s->cfg.on_event == NULL)
		return;
	struct swim_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.type = SWIM_EV_KEYRING;
	ev.name = swim_pool_name(s->pool, s->self_id)->str;
	ev.incarnation = s->incarnation;
	ev.key_op = op;
	ev.key = key;
	s->cfg.on_event(s->cfg.event_ctx, &ev);
}

static bool keyop_seen(struct swim *s, uint64_t op_id)
{
	for (uint32_t i = 0; i < SWIM_KEYOPS_SEEN; i++)
		if (s->keyops_seen[i] == op_id)
			return true;
	s->keyops_seen[s->keyops_pos] = op_id;
	s->keyops_pos = (s->keyops_pos + 1) % SWIM_KEYOPS_SEEN;
	return false;
}

/* Apply a key op to the local ring: 1 applied, 0 nothing to do, or a
 * negative code when it must not be applied here. */
static int keyop_apply(struct swim *s, enum swim_key_op op, const uint8_t *key)
{
	int idx = shoal_keyring_find(s->kr, key);
	int rc;
	switch (op) {
	case SWIM_KEY_INSTALL:
		if (idx >= 0)
			return 0;
		rc = shoal_keyring_install(s->kr, key);
		return rc < 0 ? rc : 1;
	case SWIM_KEY_USE:
		if (idx < 0)
			return SHOAL_E_NOT_FOUND;
		if (idx == 0)
			return 0;
		rc = shoal_keyring_use(s->kr, key);
		return rc < 0 ? rc : 1;
	case SWIM_KEY_REMOVE:
		if (idx < 0)
			return 0;
		if (idx == 0)
			return SHOAL_E_LAST_KEY;
		rc = shoal_keyring_remove(s->kr, key);
		return rc < 0 ? rc : 1;
	}
	return -EINVAL;
}

void swim_handle_keyop(struct swim *s, uint64_t now, const struct swim_msg *m)
{
	(void)now;
	/* Op id 0 is never issued, and marks empty slots of the ring. */
	if (m->op_id == 0 || keyop_seen(s, m->op_id))
		return;
	int rc = keyop_apply(s, (enum swim_key_op)m->op, m->key);
	if (rc < 0)
		s->stats.keyops_ignored++;
	else if (rc > 0)
		emit_keyring(s, (enum swim_key_op)m->op, m->key);
	/* Pass it on either way: others may be able to apply it. */
	swim_bcast_blob(s, SWIM_MSG_KEYOP, SWIM_NONE, m->raw, m->raw_len);
}

int swim_keyring_op(struct swim *s, uint64_t now, enum swim_key_op op, const uint8_t key[32])
{
	uint64_t op_id = 0;
	int rc;

	(void)now;
	if (op != SWIM_KEY_INSTALL && op != SWIM_KEY_USE && op != SWIM_KEY_REMOVE)
		return -EINVAL;
	if (op == SWIM_KEY_REMOVE && shoal_keyring_find(s->kr, key) < 0)
		return SHOAL_E_NOT_FOUND;
	if ((rc = keyop_apply(s, op, key)) < 0)
		return rc;
	if (rc > 0)
		emit_keyring(s, op, key);
	while (op_id == 0)
		s->env->random_bytes(s->env->ctx, (uint8_t *)&op_id, sizeof(op_id));
	keyop_seen(s, op_id);
	shoal_buf_reset(&s->item);
	if ((rc = swim_proto_encode_keyop(&s->item, op_id, (uint8_t)op, key)) < 0)
		return rc;
	return swim_bcast_blob(s, SWIM_MSG_KEYOP, SWIM_NONE, s->item.data, s->item.len);
}
