/*
 * suspicion.c - Lifeguard's suspicion timers, one slot per suspect member.
 *
 * SWIM turns a suspect into dead after a fixed timeout. Lifeguard starts the
 * timer long (max) and shortens it as independent members confirm the
 * suspicion, so a member that is merely slow gets time to refute while one
 * that many others cannot reach is declared quickly:
 *
 *     timeout(c) = max - (max - min) * log(c + 1) / log(k + 1),  >= min
 *
 * with c confirmations from distinct accusers after the first and k the
 * number expected (memberlist: SuspicionMult - 2). k = 0 means "no
 * confirmations to wait for": the timeout is min.
 *
 * Only suspects have a slot, so the table is small in a healthy mesh. The
 * deadlines live in a binary min-heap, so swim_next_deadline reads the
 * earliest in O(1) and a confirmation (which only ever shortens a deadline)
 * is one sift-up.
 */
#include "swim_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"

/* Slots are bounded by the members a node can know; this is a safety cap. */
#define SUSP_MAX (1u << 24)

uint64_t swim_suspicion_timeout(uint32_t n, uint32_t k, uint64_t min, uint64_t max)
{
	if (k == 0 || max <= min)
		return min;
	if (n >= k)
		return min;
	double frac = log((double)n + 1.0) / log((double)k + 1.0);
	double raw = (double)max - frac * (double)(max - min);
	uint64_t t = raw <= (double)min ? min : (uint64_t)floor(raw);
	return t < min ? min : t;
}

void swim_susp_create(struct swim_susp_table *t)
{
	memset(t, 0, sizeof(*t));
}

void swim_susp_destroy(struct swim_susp_table *t, struct swim_pool *pool)
{
	for (uint32_t i = 0; i < t->used; i++) {
		struct swim_susp *x = &t->slots[t->heap[i]];
		for (uint32_t j = 0; j < x->naccusers; j++)
			swim_pool_name_unref(pool, x->accusers[j]);
	}
	free(t->slots);
	free(t->heap);
	swim_idmap_destroy(&t->by_name);
	memset(t, 0, sizeof(*t));
}

uint32_t swim_susp_find(const struct swim_susp_table *t, uint32_t name_id)
{
	return swim_idmap_get(&t->by_name, name_id);
}

/* ---- heap ------------------------------------------------------------ */

static void heap_set(struct swim_susp_table *t, uint32_t pos, uint32_t slot)
{
	t->heap[pos] = slot;
	t->slots[slot].heap_pos = pos;
}

static void sift_up(struct swim_susp_table *t, uint32_t pos)
{
	uint32_t slot = t->heap[pos];
	uint64_t d = t->slots[slot].deadline;
	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;
		if (t->slots[t->heap[parent]].deadline <= d)
			break;
		heap_set(t, pos, t->heap[parent]);
		pos = parent;
	}
	heap_set(t, pos, slot);
}

static void sift_down(struct swim_susp_table *t, uint32_t pos)
{
	uint32_t slot = t->heap[pos];
	uint64_t d = t->slots[slot].deadline;
	for (;;) {
		uint32_t c = 2 * pos + 1;
		if (c >= t->used)
			break;
		if (c + 1 < t->used &&
		    t->slots[t->heap[c + 1]].deadline < t->slots[t->heap[c]].deadline)
			c++;
		if (t->slots[t->heap[c]].deadline >= d)
			break;
		heap_set(t, pos, t->heap[c]);
		pos = c;
	}
	heap_set(t, pos, slot);
}

/* ---- slots ----------------------------------------------------------- */

static int reserve(struct swim_susp_table *t)
{
	if (t->free_head != 0 || t->hwm < t->alloc)
		return 0;
	if (t->alloc >= SUSP_MAX)
		return SHOAL_E_TOO_BIG;
	uint32_t n = t->alloc == 0 ? 8 : t->alloc * 2;
	struct swim_susp *s = realloc(t->slots, (size_t)n * sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	t->slots = s;
	uint32_t *h = realloc(t->heap, (size_t)n * sizeof(*h));
	if (h == NULL)
		return -ENOMEM; /* slots grew; alloc stays, the next call retries */
	t->heap = h;
	t->alloc = n;
	return 0;
}

int swim_susp_start(struct swim_susp_table *t, struct swim_pool *pool, uint32_t name_id,
                    uint32_t from_id, uint64_t now, uint32_t k, uint64_t min, uint64_t max,
                    bool via_probe)
{
	uint32_t slot;
	int rc = reserve(t);
	if (rc < 0)
		return rc;
	slot = t->free_head != 0 ? t->free_head - 1 : t->hwm;
	if ((rc = swim_idmap_put(&t->by_name, name_id, slot)) < 0)
		return rc;
	if (t->free_head != 0)
		t->free_head = t->slots[slot].name_id;
	else
		t->hwm++;
	struct swim_susp *x = &t->slots[slot];
	memset(x, 0, sizeof(*x));
	if (k > SWIM_SUSP_ACCUSERS - 1)
		k = SWIM_SUSP_ACCUSERS - 1;
	x->name_id = name_id;
	x->start = now;
	x->min = min;
	x->max = max < min ? min : max;
	x->k = k;
	x->via_probe = via_probe;
	x->health = 1;
	x->deadline = now + swim_suspicion_timeout(0, k, x->min, x->max);
	swim_pool_name_ref(pool, from_id);
	x->accusers[0] = from_id;
	x->naccusers = 1;
	heap_set(t, t->used, slot);
	t->used++;
	sift_up(t, t->used - 1);
	return (int)slot;
}

bool swim_susp_confirm(struct swim_susp_table *t, struct swim_pool *pool, uint32_t slot,
                       uint32_t from_id)
{
	struct swim_susp *x = &t->slots[slot];
	if (x->n >= x->k)
		return false;
	for (uint32_t i = 0; i < x->naccusers; i++)
		if (x->accusers[i] == from_id)
			return false;
	/* k < SWIM_SUSP_ACCUSERS and n < k, so there is room. */
	swim_pool_name_ref(pool, from_id);
	x->accusers[x->naccusers++] = from_id;
	x->n++;
	x->deadline = x->start + swim_suspicion_timeout(x->n, x->k, x->min, x->max);
	sift_up(t, x->heap_pos);
	return true;
}

bool swim_susp_rescale(struct swim_susp_table *t, uint32_t slot, uint32_t health)
{
	struct swim_susp *x = &t->slots[slot];
	if (health <= x->health)
		return false;
	x->min = x->min / x->health * health;
	x->max = x->max / x->health * health;
	uint64_t deadline = x->start + (x->deadline - x->start) / x->health * health;
	x->health = health;
	swim_susp_defer(t, slot, deadline);
	return true;
}

void swim_susp_late_reply(struct swim_susp_table *t, uint32_t slot, uint64_t rtt)
{
	struct swim_susp *x = &t->slots[slot];
	if (rtt > x->late_rtt)
		x->late_rtt = rtt;
}

void swim_susp_defer(struct swim_susp_table *t, uint32_t slot, uint64_t deadline)
{
	struct swim_susp *x = &t->slots[slot];
	if (deadline <= x->deadline)
		return;
	x->deadline = deadline;
	sift_down(t, x->heap_pos);
}

void swim_susp_remove(struct swim_susp_table *t, struct swim_pool *pool, uint32_t slot)
{
	struct swim_susp *x = &t->slots[slot];
	uint32_t pos = x->heap_pos;

	for (uint32_t i = 0; i < x->naccusers; i++)
		swim_pool_name_unref(pool, x->accusers[i]);
	/* A restarted suspicion of the same member may already own the map
	 * entry (started before this one is removed). */
	if (swim_idmap_get(&t->by_name, x->name_id) == slot)
		swim_idmap_del(&t->by_name, x->name_id);
	t->used--;
	if (pos != t->used) {
		heap_set(t, pos, t->heap[t->used]);
		sift_down(t, pos);
		/* If it did not sink, it may need to rise instead. */
		sift_up(t, pos);
	}
	x->name_id = t->free_head;
	x->naccusers = 0;
	t->free_head = slot + 1;
}

uint64_t swim_susp_next_deadline(const struct swim_susp_table *t)
{
	return t->used > 0 ? t->slots[t->heap[0]].deadline : UINT64_MAX;
}

uint32_t swim_susp_top(const struct swim_susp_table *t)
{
	return t->used > 0 ? t->heap[0] : SWIM_NONE;
}
