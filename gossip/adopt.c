/*
 * adopt.c - take over the live membership of another swim on the same pool.
 *
 * A process that hosts many swims on one record pool (the simulator, tests,
 * a multi-tenant host) can bring a new node to the state a settled join
 * would leave it in without the join: the peer's alive records are already
 * verified and interned in the shared pool, so adopting one is taking a
 * reference, as a push-pull merge does once the record has been checked.
 * The outcome is the join's outcome after its news has spread: every member
 * alive at the peer's incarnation, no suspicion, nothing queued to gossip
 * (everybody already knows), each new member placed in the probe order at a
 * position drawn from this node's own PRNG, and the periodic push-pull
 * re-phased uniformly over the interval for the new mesh size, so that
 * nodes adopted together do not all exchange at once.
 *
 * A sparse peer's members are walked through its probe order (its known
 * members, no free slots), so adopting from a node that knows only itself
 * costs O(1) and building a mesh of N costs O(N^2) member inserts in all,
 * the size of the tables themselves.
 */
#include "swim_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"

/* Grow the member table and the probe order once, to what the peer holds,
 * instead of doubling through every power of two on the way. */
static int reserve_for(struct swim *s, const struct swim *peer)
{
	uint32_t want = peer->members_alloc;
	if (want > s->pool->names_len)
		want = s->pool->names_len; /* ids are below the pool's high-water mark */
	if (want > s->members_alloc) {
		struct swim_member *a = realloc(s->members, (size_t)want * sizeof(*a));
		if (a == NULL)
			return -ENOMEM;
		memset(a + s->members_alloc, 0, (size_t)(want - s->members_alloc) * sizeof(*a));
		s->members = a;
		s->members_alloc = want;
	}
	uint32_t order = s->order_len + peer->order_len + 1;
	if (order > s->order_alloc) {
		uint32_t *o = realloc(s->order, (size_t)order * sizeof(*o));
		if (o == NULL)
			return -ENOMEM;
		s->order = o;
		s->order_alloc = order;
	}
	return 0;
}

static void adopt_one(struct swim *s, uint64_t now, const struct swim *peer, uint32_t id)
{
	const struct swim_member *m = swim_member_at(peer, id);
	if (m == NULL || m->state != SWIM_ALIVE)
		return;
	swim_apply_alive(s, now, m->rec - 1, false);
}

int swim_adopt(struct swim *s, uint64_t now, const struct swim *peer)
{
	if (peer == s || peer->pool != s->pool)
		return -EINVAL;
	if (s->left)
		return SHOAL_E_STATE;
	int rc = reserve_for(s, peer);
	if (rc != 0)
		return rc;
	uint64_t before = s->members_added;
	if (peer->order_len >= peer->members_alloc / 2) {
		/* A dense table: walk it by id, so the shared records (allocated
		 * roughly in id order) are read in memory order, not at random. */
		for (uint32_t id = 0; id < peer->members_alloc; id++)
			adopt_one(s, now, peer, id);
	} else {
		adopt_one(s, now, peer, peer->self_id);
		for (uint32_t i = 0; i < peer->order_len; i++)
			adopt_one(s, now, peer, peer->order[i]);
	}
	if (s->members_added != before)
		s->next_pushpull = now + swim_pp_phase(s, swim_pp_interval(s));
	return 0;
}
