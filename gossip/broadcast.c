/*
 * broadcast.c - the transmit-limited queue of news to piggyback.
 *
 * Every state change a node learns (or makes) is queued here and rides in
 * the spare bytes of outgoing datagrams: pings, acks and the gossip rounds.
 * Each item is sent at most mult * ceil(log10(N + 1)) times, enough for an
 * epidemic to reach every member with high probability, then dropped.
 *
 * Order: our own news first (a refutation is urgent: others are about to
 * declare us dead), then the items sent the fewest times, newest first among
 * equals - memberlist's order, kept here in a binary heap over
 * (ours, transmits, insertion number).
 *
 * At most one item per member is pending: news about a member supersedes
 * whatever was queued about it before, whatever its kind. An older SUSPECT
 * behind a newer ALIVE would only be refused as stale by every receiver,
 * so sending it is pure waste (memberlist invalidates by node name too).
 * KEYOP items are keyed by nothing and never supersede each other.
 *
 * Items do not store encoded messages: an ALIVE holds a reference to the
 * interned record and SUSPECT/DEAD hold name ids, and they are encoded when
 * sent. Only LEAVE and KEYOP (rare) keep a copy of their bytes.
 */
#include "swim_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"

/* Per fill: at most this many items examined that did not fit, and sent.
 * Few skips: once an ALIVE (~200 bytes) does not fit, the datagram is
 * nearly full, and each skip costs two heap operations. */
#define FILL_SKIP_MAX 8
#define FILL_TAKE_MAX 256

uint32_t swim_retransmit_limit(uint32_t mult, uint32_t n)
{
	uint32_t l = (uint32_t)ceil(log10((double)n + 1.0));
	return mult * (l == 0 ? 1 : l);
}

/* ---- heap ------------------------------------------------------------ */

static bool better(const struct swim_bcast_item *a, const struct swim_bcast_item *b)
{
	if (a->ours != b->ours)
		return a->ours;
	if (a->transmits != b->transmits)
		return a->transmits < b->transmits;
	return a->seq > b->seq;
}

static void heap_set(struct swim_bcast *q, uint32_t pos, uint32_t slot)
{
	q->heap[pos] = slot;
	q->items[slot].heap_pos = pos;
}

static void sift_up(struct swim_bcast *q, uint32_t pos)
{
	uint32_t slot = q->heap[pos];
	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;
		if (!better(&q->items[slot], &q->items[q->heap[parent]]))
			break;
		heap_set(q, pos, q->heap[parent]);
		pos = parent;
	}
	heap_set(q, pos, slot);
}

static void sift_down(struct swim_bcast *q, uint32_t pos)
{
	uint32_t slot = q->heap[pos];
	for (;;) {
		uint32_t c = 2 * pos + 1;
		if (c >= q->len)
			break;
		if (c + 1 < q->len && better(&q->items[q->heap[c + 1]], &q->items[q->heap[c]]))
			c++;
		if (!better(&q->items[q->heap[c]], &q->items[slot]))
			break;
		heap_set(q, pos, q->heap[c]);
		pos = c;
	}
	heap_set(q, pos, slot);
}

static void heap_push(struct swim_bcast *q, uint32_t slot)
{
	heap_set(q, q->len, slot);
	q->len++;
	sift_up(q, q->len - 1);
}

static void heap_remove(struct swim_bcast *q, uint32_t pos)
{
	q->len--;
	if (pos == q->len)
		return;
	heap_set(q, pos, q->heap[q->len]);
	sift_down(q, pos);
	sift_up(q, pos);
}

static uint32_t heap_pop(struct swim_bcast *q)
{
	uint32_t slot = q->heap[0];
	heap_remove(q, 0);
	return slot;
}

/* ---- items ----------------------------------------------------------- */

void swim_bcast_create(struct swim_bcast *q)
{
	memset(q, 0, sizeof(*q));
}

/* Release an item that is no longer in the heap. */
static void item_free(struct swim_bcast *q, struct swim_pool *pool, uint32_t slot)
{
	struct swim_bcast_item *it = &q->items[slot];
	if (it->name_id != SWIM_NONE) {
		swim_idmap_del(&q->by_name, it->name_id);
		swim_pool_name_unref(pool, it->name_id);
	}
	if (it->from_id != SWIM_NONE)
		swim_pool_name_unref(pool, it->from_id);
	if (it->rec != SWIM_NONE)
		swim_pool_record_unref(pool, it->rec);
	free(it->blob);
	memset(it, 0, sizeof(*it));
	q->free[q->nfree++] = slot;
}

/* Free the slot arrays of an empty queue. */
static void release_storage(struct swim_bcast *q)
{
	uint64_t next_seq = q->next_seq;
	free(q->items);
	free(q->free);
	free(q->heap);
	swim_idmap_destroy(&q->by_name);
	memset(q, 0, sizeof(*q));
	q->next_seq = next_seq;
}

void swim_bcast_destroy(struct swim_bcast *q, struct swim_pool *pool)
{
	while (q->len > 0)
		item_free(q, pool, heap_pop(q));
	release_storage(q);
}

static int reserve(struct swim_bcast *q)
{
	if (q->nfree > 0 || q->hwm < q->alloc)
		return 0;
	uint32_t n = q->alloc == 0 ? 16 : q->alloc * 2;
	struct swim_bcast_item *it = realloc(q->items, (size_t)n * sizeof(*it));
	if (it == NULL)
		return -ENOMEM;
	q->items = it;
	uint32_t *f = realloc(q->free, (size_t)n * sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	q->free = f;
	uint32_t *h = realloc(q->heap, (size_t)n * sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	q->heap = h;
	q->alloc = n;
	return 0;
}

/* Take a slot for a new item, superseding any about the same member and
 * making room under the cap. The caller fills it and calls heap_push. */
static int item_new(struct swim *s, uint32_t name_id, uint32_t *out)
{
	struct swim_bcast *q = &s->bcast;
	uint32_t slot;
	int rc;

	if (name_id != SWIM_NONE && (slot = swim_idmap_get(&q->by_name, name_id)) != SWIM_NONE) {
		heap_remove(q, q->items[slot].heap_pos);
		item_free(q, s->pool, slot);
	}
	if (q->len >= SWIM_BCAST_MAX) {
		/* The heap's last entry is a leaf: among the worst placed. */
		uint32_t victim = q->heap[q->len - 1];
		heap_remove(q, q->len - 1);
		item_free(q, s->pool, victim);
	}
	if ((rc = reserve(q)) < 0)
		return rc;
	if (name_id != SWIM_NONE && (rc = swim_idmap_put(&q->by_name, name_id, 0)) < 0)
		return rc;
	slot = q->nfree > 0 ? q->free[--q->nfree] : q->hwm++;
	struct swim_bcast_item *it = &q->items[slot];
	memset(it, 0, sizeof(*it));
	it->seq = ++q->next_seq;
	it->name_id = name_id;
	it->from_id = SWIM_NONE;
	it->rec = SWIM_NONE;
	it->ours = name_id != SWIM_NONE && name_id == s->self_id;
	if (name_id != SWIM_NONE) {
		swim_pool_name_ref(s->pool, name_id);
		swim_idmap_put(&q->by_name, name_id, slot); /* present already: cannot fail */
	}
	*out = slot;
	return 0;
}

int swim_bcast_alive(struct swim *s, uint32_t name_id, uint32_t rec)
{
	uint32_t slot;
	int rc = item_new(s, name_id, &slot);
	if (rc < 0)
		return rc;
	struct swim_bcast_item *it = &s->bcast.items[slot];
	it->kind = SWIM_MSG_ALIVE;
	it->rec = rec;
	swim_pool_record_ref(s->pool, rec);
	heap_push(&s->bcast, slot);
	return 0;
}

int swim_bcast_accuse(struct swim *s, uint8_t kind, uint32_t name_id, uint32_t incarnation,
                      uint32_t from_id)
{
	uint32_t slot;
	int rc = item_new(s, name_id, &slot);
	if (rc < 0)
		return rc;
	struct swim_bcast_item *it = &s->bcast.items[slot];
	it->kind = kind;
	it->incarnation = incarnation;
	it->from_id = from_id;
	swim_pool_name_ref(s->pool, from_id);
	heap_push(&s->bcast, slot);
	return 0;
}

int swim_bcast_blob(struct swim *s, uint8_t kind, uint32_t name_id, const uint8_t *msg, size_t len)
{
	uint32_t slot;
	uint8_t *copy;
	int rc;

	if (len > UINT16_MAX)
		return SHOAL_E_TOO_BIG;
	copy = malloc(len);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, msg, len);
	if ((rc = item_new(s, name_id, &slot)) < 0) {
		free(copy);
		return rc;
	}
	struct swim_bcast_item *it = &s->bcast.items[slot];
	it->kind = kind;
	it->blob = copy;
	it->blob_len = (uint16_t)len;
	heap_push(&s->bcast, slot);
	return 0;
}

/* Encode one item into s->item. */
static int encode_item(struct swim *s, const struct swim_bcast_item *it)
{
	shoal_buf_reset(&s->item);
	switch (it->kind) {
	case SWIM_MSG_ALIVE: {
		const struct swim_record *r = swim_pool_record(s->pool, it->rec);
		return swim_proto_encode_signed(&s->item, SWIM_MSG_ALIVE, r->body, r->body_len,
		                                r->sig);
	}
	case SWIM_MSG_SUSPECT:
	case SWIM_MSG_DEAD: {
		const struct swim_pool_name *n = swim_pool_name(s->pool, it->name_id);
		const struct swim_pool_name *f = swim_pool_name(s->pool, it->from_id);
		return swim_proto_encode_accuse(&s->item, it->kind, (const uint8_t *)n->str, n->len,
		                                it->incarnation, (const uint8_t *)f->str, f->len);
	}
	default:
		return shoal_buf_append(&s->item, it->blob, it->blob_len);
	}
}

uint32_t swim_bcast_fill(struct swim *s)
{
	struct swim_bcast *q = &s->bcast;
	uint32_t taken[FILL_TAKE_MAX], skipped[FILL_SKIP_MAX];
	uint32_t ntaken = 0, nskipped = 0;
	uint32_t limit = swim_retransmit_limit(s->cfg.retransmit_mult, swim_known_count(s));
	size_t budget = swim_tx_budget(s);

	/* The smallest message (an ACK) is 3 bytes: below that nothing fits. */
	while (q->len > 0 && ntaken < FILL_TAKE_MAX && nskipped < FILL_SKIP_MAX &&
	       s->tx.len + 3 <= budget) {
		uint32_t slot = heap_pop(q);
		if (encode_item(s, &q->items[slot]) == 0 && swim_tx_add_item(s)) {
			q->items[slot].transmits++;
			taken[ntaken++] = slot;
		} else {
			skipped[nskipped++] = slot;
		}
	}
	for (uint32_t i = 0; i < nskipped; i++)
		heap_push(q, skipped[i]);
	for (uint32_t i = 0; i < ntaken; i++) {
		if (q->items[taken[i]].transmits >= limit)
			item_free(q, s->pool, taken[i]);
		else
			heap_push(q, taken[i]);
	}
	/* A burst (a mass join) can grow the queue to thousands of slots; give
	 * the memory back once it has drained, since thousands of simulated
	 * nodes each hold one. */
	if (q->len == 0 && q->alloc > 64)
		release_storage(q);
	return ntaken;
}
