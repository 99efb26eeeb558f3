/*
 * swim_user.c - the path a service layered on SWIM (replica.c) uses to ride
 * membership's dissemination: a transmit-limited queue of short user
 * messages piggybacked on datagrams, routing of the service's stream types,
 * and folding the service's timer into swim_tick / swim_next_deadline.
 *
 * User messages always come after membership news in a datagram (they are
 * appended only once broadcast.c has filled what it wants), so a burst of
 * application announcements can never delay a refutation or a death. Among
 * themselves they go fewest-transmits first, newest first among equals, like
 * membership items. The queue is small (SWIM_USER_QUEUE_MAX) and scanned
 * linearly for each message taken: an announcement is ~60-300 bytes, so a
 * datagram takes at most a couple of dozen, i.e. O(24 * queue) per datagram,
 * and only while announcements are pending.
 *
 * A message is kept encoded as the USER wire message ([10, payload]), so
 * filling is a copy. Bulk messages have a transmit limit of their own
 * (hooks.bulk_retransmit_mult): they are the steady stream, and what their
 * thinner epidemic misses the service's anti-entropy repairs.
 */
#include "swim_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"

/* Per fill: at most this many messages appended, and this many that did
 * not fit looked at (once one does not fit the datagram is nearly full). */
#define USER_TAKE_MAX 64
#define USER_SKIP_MAX 8

/* The fewest sends a bulk message gets, unless other user messages get
 * fewer (docs/protocol.md, "Bulk items and quiet members"). */
#define SWIM_BULK_TRANSMITS_MIN 8

int swim_set_user(struct swim *s, const struct swim_user_hooks *hooks)
{
	if (hooks != NULL && s->user.on)
		return SHOAL_E_STATE;
	swim_user_destroy(s);
	if (hooks != NULL) {
		s->user.hooks = *hooks;
		s->user.on = true;
	}
	return 0;
}

void swim_user_destroy(struct swim *s)
{
	for (uint32_t i = 0; i < s->user.len; i++)
		free(s->user.items[i].msg);
	free(s->user.items);
	memset(&s->user, 0, sizeof(s->user));
}

uint32_t swim_user_queued(const struct swim *s)
{
	return s->user.len;
}

static bool worse(const struct swim_user_item *a, const struct swim_user_item *b)
{
	if (a->transmits != b->transmits)
		return a->transmits > b->transmits;
	return a->seq < b->seq;
}

static void item_drop(struct swim_user *u, uint32_t i)
{
	free(u->items[i].msg);
	u->items[i] = u->items[--u->len];
}

static int enqueue(struct swim *s, uint64_t supersede, const uint8_t *msg, size_t len, bool bulk)
{
	struct swim_user *u = &s->user;
	struct shoal_buf b;
	msgpack_packer pk;

	if (!u->on)
		return SHOAL_E_STATE;
	if (len == 0 || len > SWIM_USER_MSG_MAX)
		return SHOAL_E_TOO_BIG;
	for (uint32_t i = 0; supersede != 0 && i < u->len; i++) {
		if (u->items[i].supersede == supersede) {
			item_drop(u, i);
			break;
		}
	}
	if (u->len >= SWIM_USER_QUEUE_MAX) {
		uint32_t victim = 0;
		for (uint32_t i = 1; i < u->len; i++)
			if (worse(&u->items[i], &u->items[victim]))
				victim = i;
		item_drop(u, victim);
	}
	if (u->len == u->alloc) {
		uint32_t n = u->alloc == 0 ? 16 : u->alloc * 2;
		struct swim_user_item *it = realloc(u->items, (size_t)n * sizeof(*it));
		if (it == NULL)
			return -ENOMEM;
		u->items = it;
		u->alloc = n;
	}
	shoal_buf_create(&b, SWIM_USER_MSG_MAX + 16);
	shoal_packer_init(&pk, &b);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint8(&pk, SWIM_MSG_USER);
	swim_proto_pack_bin(&pk, msg, (uint32_t)len);
	if (b.err != 0) {
		int rc = b.err;
		shoal_buf_destroy(&b);
		return rc;
	}
	/* Fresh news goes out within an eighth of the gossip interval instead
	 * of waiting for the next round: each hop of an item's epidemic is an
	 * announcement plus a pull, and waiting up to a whole interval at every
	 * hop would make it slower than piggybacking the item itself. Rounds
	 * stay at most 8 per interval; every message is still sent its
	 * retransmit limit of times, only sooner. Bulk messages too: left to
	 * the regular rounds (measured in shoalsim at 1,000 nodes) they saved
	 * a few bytes per announcement, but records stayed in flight 2.5x
	 * longer, so more anti-entropy roots differed and the bytes in all
	 * went up. */
	uint64_t gi = s->cfg.gossip_interval_us;
	if (gi != 0 && s->next_gossip >= gi) {
		uint64_t soon = s->next_gossip - gi + gi / 8;
		if (soon < s->next_gossip)
			s->next_gossip = soon;
	}
	struct swim_user_item *it = &u->items[u->len++];
	memset(it, 0, sizeof(*it));
	it->seq = ++u->next_seq;
	it->supersede = supersede;
	it->bulk = bulk;
	it->len = (uint16_t)b.len;
	it->msg = b.data; /* ownership moves to the item */
	return 0;
}

int swim_user_broadcast(struct swim *s, uint64_t supersede, const uint8_t *msg, size_t len)
{
	return enqueue(s, supersede, msg, len, false);
}

int swim_user_broadcast_bulk(struct swim *s, uint64_t supersede, const uint8_t *msg, size_t len)
{
	return enqueue(s, supersede, msg, len, true);
}

uint32_t swim_user_fill(struct swim *s, bool quiet_target)
{
	struct swim_user *u = &s->user;
	uint32_t mult =
	        u->hooks.retransmit_mult != 0 ? u->hooks.retransmit_mult : s->cfg.retransmit_mult;
	uint32_t bulk_mult =
	        u->hooks.bulk_retransmit_mult != 0 ? u->hooks.bulk_retransmit_mult : mult;
	uint32_t limit = swim_retransmit_limit(mult, swim_known_count(s));
	uint32_t bulk_limit = swim_retransmit_limit(bulk_mult, swim_known_count(s));
	/* A small fleet keeps the full count: with ceil(log10(N+1)) = 2 the
	 * thinner multiplier would leave 6 sends, enough to miss a member now
	 * and then and leave its record to anti-entropy, tens of seconds later,
	 * while the bytes saved are negligible at that size. */
	uint32_t bulk_floor = limit < SWIM_BULK_TRANSMITS_MIN ? limit : SWIM_BULK_TRANSMITS_MIN;
	if (bulk_limit < bulk_floor)
		bulk_limit = bulk_floor;
	uint64_t gen = ++u->fill_gen; /* marks the items this fill looked at */
	uint32_t taken = 0, skipped = 0;
	size_t budget = swim_tx_budget(s);

	while (u->len > 0 && taken < USER_TAKE_MAX && skipped < USER_SKIP_MAX &&
	       s->tx.len + 8 <= budget) {
		uint32_t best = UINT32_MAX;
		for (uint32_t i = 0; i < u->len; i++)
			if (u->items[i].gen != gen &&
			    (best == UINT32_MAX || worse(&u->items[best], &u->items[i])))
				best = i;
		if (best == UINT32_MAX)
			break;
		struct swim_user_item *it = &u->items[best];
		it->gen = gen;
		if (it->bulk && quiet_target)
			continue; /* not for a quiet member, and not a transmit */
		if (s->tx.err != 0 || s->tx.len + it->len > budget) {
			skipped++;
			continue; /* a smaller one may still fit */
		}
		if (shoal_buf_append(&s->tx, it->msg, it->len) != 0)
			break;
		taken++;
		if (++it->transmits >= (it->bulk ? bulk_limit : limit))
			item_drop(u, best);
	}
	return taken;
}

void swim_user_deliver(struct swim *s, uint64_t now, const struct shoal_addr *from,
                       const struct swim_msg *m)
{
	if (s->user.on && s->user.hooks.on_message != NULL)
		s->user.hooks.on_message(s->user.hooks.ctx, now, from, m->body, m->body_len);
}

/* The first element of a stream message, if it is a user type. */
static bool is_user_stream(const uint8_t *plain, size_t len)
{
	const uint8_t *pos = plain, *end = plain + len;
	uint32_t n;
	uint64_t type;
	if (shoal_mp_read_array(&pos, end, &n) < 0 || n == 0 ||
	    shoal_mp_read_uint(&pos, end, &type) < 0)
		return false;
	return type >= SWIM_USER_STREAM_MIN && type <= SWIM_USER_STREAM_MAX;
}

bool swim_user_on_stream(struct swim *s, uint64_t now, uint64_t conv, const struct shoal_addr *from,
                         const uint8_t *plain, size_t len)
{
	if (!is_user_stream(plain, len))
		return false;
	if (s->user.on && s->user.hooks.on_stream != NULL)
		s->user.hooks.on_stream(s->user.hooks.ctx, now, conv, from, plain, len);
	else
		s->env->stream_close(s->env->ctx, conv); /* nobody to serve it */
	return true;
}

bool swim_user_on_stream_error(struct swim *s, uint64_t now, uint64_t conv)
{
	for (uint32_t i = 0; i < SWIM_CONVS_MAX; i++)
		if (s->convs[i].role != CONV_FREE && s->convs[i].conv == conv)
			return false;
	if (!s->user.on || s->user.hooks.on_stream_error == NULL)
		return false;
	s->user.hooks.on_stream_error(s->user.hooks.ctx, now, conv);
	return true;
}

void swim_user_tick(struct swim *s, uint64_t now)
{
	if (s->user.on && s->user.hooks.tick != NULL)
		s->user.hooks.tick(s->user.hooks.ctx, now);
}

void swim_user_joined(struct swim *s, uint64_t now, const struct shoal_addr *peer)
{
	if (s->user.on && s->user.hooks.on_joined != NULL)
		s->user.hooks.on_joined(s->user.hooks.ctx, now, peer);
}

uint64_t swim_user_next_deadline(const struct swim *s)
{
	if (!s->user.on || s->user.hooks.next_deadline == NULL)
		return UINT64_MAX;
	return s->user.hooks.next_deadline(s->user.hooks.ctx);
}

/* ---- streams and members for the service ------------------------------- */

uint64_t swim_stream_open(struct swim *s)
{
	return ++s->next_conv & ~SHOAL_CONV_INBOUND;
}

int swim_stream_send(struct swim *s, uint64_t conv, const struct shoal_addr *to,
                     const uint8_t *plain, size_t len)
{
	size_t cap = len + SHOAL_SEAL_OVERHEAD, outlen;
	uint8_t *out;
	int rc;

	if (len > SWIM_STREAM_MAX)
		return SHOAL_E_TOO_BIG;
	if ((out = malloc(cap)) == NULL)
		return -ENOMEM;
	rc = shoal_seal(s->kr, s->env, plain, len, out, cap, &outlen);
	if (rc == 0) {
		s->stats.stream_msgs_out++;
		s->stats.stream_bytes_out += outlen;
		rc = s->env->stream_send(s->env->ctx, conv, to, out, outlen);
	}
	free(out);
	return rc;
}

void swim_stream_close(struct swim *s, uint64_t conv)
{
	s->env->stream_close(s->env->ctx, conv);
}

int swim_random_member_q(struct swim *s, const struct shoal_addr *avoid, struct shoal_addr *out,
                         bool *quiet)
{
	uint32_t ids[2];
	uint32_t n = swim_sample(s, 2, 1u << SWIM_ALIVE, SWIM_NONE, ids);
	for (uint32_t i = 0; i < n; i++) {
		const struct swim_record *r = swim_member_record(s, swim_member_at(s, ids[i]));
		if (avoid != NULL && shoal_addr_equal(&r->addr, avoid) && i + 1 < n)
			continue;
		*out = r->addr;
		if (quiet != NULL)
			*quiet = swim_id_quiet(s, ids[i]);
		return 0;
	}
	return SHOAL_E_NOT_FOUND;
}

int swim_random_member(struct swim *s, const struct shoal_addr *avoid, struct shoal_addr *out)
{
	return swim_random_member_q(s, avoid, out, NULL);
}

bool swim_member_quiet(const struct swim *s, const char *name)
{
	return swim_id_quiet(
	        s, swim_pool_name_find(s->pool, (const uint8_t *)name, (uint32_t)strlen(name)));
}

uint32_t swim_live_members(const struct swim *s)
{
	return swim_live_count(s);
}
