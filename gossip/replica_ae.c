/*
 * replica_ae.c - anti-entropy for replicated items: digests first, then only
 * the differing buckets, then pulls of only what is missing or newer.
 *
 * Announcements are best effort: a node that was down, partitioned, or whose
 * want table overflowed misses some. Periodically (ae_interval, jittered
 * +-50% so nodes do not exchange in lockstep) and ae_first after start (a
 * join or a restart), a node asks one random member; and as soon as a join
 * completes, it asks the member it joined through:
 *
 *   C -> S  AE_ROOT   [34, B, one hash over the B bucket hashes]
 *   S -> C  AE_LIST   [33, B, []] when the roots match        S closes
 *        or AE_DIFFER [35] when they do not                    S closes
 *   C -> S  AE_HELLO  [32, B, hash of each of B buckets]   (new stream)
 *   S -> C  AE_LIST   [33, B, S's (key, version, digest, size) in the
 *                             buckets whose hash differs]     S closes
 *   C       wants what it lacks, sourced at S; the pull path fetches it
 *
 * The root comes first because converged is the common case: two nodes
 * that agree exchange ~30 bytes, not 8*B (32 KiB at the intents' 4096
 * buckets, every interval, would be most of a node's idle traffic).
 *
 * Items are spread over B buckets by a hash of their key and each bucket is
 * summarised by the XOR of a hash of (key, version, digest) (replica_bucket,
 * replica_item_hash; the app computes them). A converged pair exchanges
 * the root and an empty list; a differing pair then 8*B bytes (2 KiB at
 * B = 256). A node that missed k items
 * is listed about min(k, B) buckets of n/B items each, and pulls the k
 * bodies: the cost follows what it missed, not the store size (with n = 1000
 * and B = 256, missing 10 items lists ~40 entries, missing 100 ~320).
 *
 * The exchange is one-way: the client learns what the server has. What the
 * client has and the server lacks reaches the server by its own exchanges,
 * or by the announcements. An answer is capped at ae_list_max entries and
 * REPLICA_MSG_MAX bytes; the buckets that do not fit are left for the next
 * round.
 *
 * Scope: an exchange that a quiet member (a leaf) starts, or that is started
 * with one, carries REPLICA_SCOPE_NO_BULK, and both ends hash and list only
 * the items that are not bulk: a leaf holds no other site's health record,
 * so comparing them would list the whole health table to it every round.
 * A quiet server narrows whatever it is asked to the same scope (a peer
 * that did not know it was quiet then sees roots differ and lists only
 * non-bulk buckets of its own). Scope 0 is written as before (three
 * elements), so exchanges between full nodes are unchanged on the wire.
 */
#include "replica_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"
#include "shoal/swim.h"

/* The app's bucket hashes over what `scope` keeps. */
static int hashes_in(struct replica *r, uint32_t scope, uint32_t b, uint64_t *out)
{
	if (scope != 0 && r->app.scoped_hashes != NULL)
		return r->app.scoped_hashes(r->app.ctx, scope, b, out);
	return r->app.bucket_hashes(r->app.ctx, b, out);
}

static int items_in(struct replica *r, uint32_t scope, uint32_t b, uint32_t bucket,
                    replica_item_fn fn, void *cbctx)
{
	if (scope != 0 && r->app.scoped_items != NULL)
		return r->app.scoped_items(r->app.ctx, scope, b, bucket, fn, cbctx);
	return r->app.bucket_items(r->app.ctx, b, bucket, fn, cbctx);
}

void replica_ae_end(struct replica *r, bool close)
{
	if (close)
		swim_stream_close(r->s, r->ae.conv);
	memset(&r->ae, 0, sizeof(r->ae));
}

/* One 64-bit hash over the bucket hashes, in order; both ends compute it
 * from the same B, so equal roots mean equal buckets (up to 2^-64). */
static uint64_t root_of(const uint64_t *hashes, uint32_t b)
{
	uint64_t x = UINT64_C(0xcbf29ce484222325);
	for (uint32_t i = 0; i < b; i++) {
		x ^= hashes[i];
		x *= UINT64_C(0x100000001b3);
		x ^= x >> 29;
	}
	return x;
}

/* Open a round with `peer`: a root probe, or the full bucket list, over
 * what `scope` keeps. */
static int begin(struct replica *r, uint64_t now, const struct shoal_addr *peer, bool full,
                 uint32_t scope)
{
	uint32_t b = r->cfg.ae_buckets;
	uint64_t *hashes;
	int rc;

	if ((hashes = calloc(b, sizeof(*hashes))) == NULL)
		return -ENOMEM;
	rc = hashes_in(r, scope, b, hashes);
	shoal_buf_reset(&r->buf);
	if (rc == 0)
		rc = full ? replica_proto_encode_hello(&r->buf, b, hashes, scope)
		          : replica_proto_encode_root(&r->buf, b, root_of(hashes, b), scope);
	free(hashes);
	if (rc < 0)
		return rc;
	r->ae.active = true;
	r->ae.root = !full;
	r->ae.scope = scope;
	r->ae.conv = swim_stream_open(r->s);
	r->ae.peer = *peer;
	r->ae.deadline = now + r->cfg.pull_timeout_us;
	if ((rc = swim_stream_send(r->s, r->ae.conv, peer, r->buf.data, r->buf.len)) < 0)
		replica_ae_end(r, true);
	return rc;
}

int replica_sync(struct replica *r, uint64_t now)
{
	struct shoal_addr peer;
	bool quiet = false;

	if (r->ae.active)
		return SHOAL_E_STATE;
	if (swim_random_member_q(r->s, NULL, &peer, &quiet) < 0)
		return SHOAL_E_NOT_FOUND;
	/* A quiet member (a leaf) holds no bulk items but its own, and takes
	 * none: neither end compares or lists them. */
	uint32_t scope = r->cfg.quiet || quiet ? REPLICA_SCOPE_NO_BULK : 0;
	return begin(r, now, &peer, false, scope);
}

void replica_ae_on_differ(struct replica *r, uint64_t now)
{
	struct shoal_addr peer = r->ae.peer;
	uint32_t scope = r->ae.scope;
	replica_ae_end(r, true);
	r->st.ae_root_differ++;
	begin(r, now, &peer, true, scope);
}

/* Uniform in [interval/2, 3*interval/2). */
static uint64_t jittered(struct replica *r, uint64_t interval)
{
	uint32_t span = interval > UINT32_MAX ? UINT32_MAX : (uint32_t)interval;
	return interval / 2 + (span > 0 ? shoal_env_uniform(r->env, span) : 0);
}

void replica_ae_tick(struct replica *r, uint64_t now)
{
	if (r->ae.active && now >= r->ae.deadline)
		replica_ae_end(r, true);
	if (now < r->next_ae)
		return;
	if (r->first_due && (r->ae.active || r->nwants > 0) &&
	    r->first_waits < REPLICA_FIRST_WAITS) {
		/* The first exchange waits while an earlier one (the join's) is
		 * running or what it listed is still being pulled: now, it would
		 * list all of that again (replica_ae_on_joined). */
		r->first_waits++;
		r->next_ae = now + r->cfg.ae_first_us;
		return;
	}
	if (replica_sync(r, now) == SHOAL_E_NOT_FOUND) {
		/* Alone (still joining): try again soon rather than a full
		 * interval later, so a fresh node catches up right after its join. */
		r->next_ae = now + r->cfg.ae_first_us;
		return;
	}
	r->first_due = false;
	r->next_ae = now + jittered(r, r->cfg.ae_interval_us);
}

/* The first exchange of a node that (re)joins goes to the member it joined
 * through, as soon as that join's push-pull completes: that member just
 * answered, so it is up and reachable, and a node back from a restart
 * learns what it missed in one round trip after its join instead of
 * ae_first later (1 s on a LAN, five gossip intervals in which an intent
 * the rest of the mesh holds is missing here).
 *
 * The scheduled first exchange still runs, with a random member, once this
 * one is done and what it listed has been pulled: it catches what was
 * published while the node joined (a root probe when nothing was). Until
 * then it is put off by ae_first, at most REPLICA_FIRST_WAITS times over: a
 * node that missed much is still pulling what the seed listed at ae_first,
 * and an exchange then would list again every item not yet pulled. No
 * exchange at a join while one runs, or while wants are pending (another
 * seed's exchange is being pulled, or announcements are): the scheduled
 * exchange covers those.
 *
 * Scope as replica_sync, except that the seed's quietness is not looked
 * up: a quiet seed narrows the exchange to its own scope (the header
 * comment). */
void replica_ae_on_joined(struct replica *r, uint64_t now, const struct shoal_addr *peer)
{
	if (r->cfg.ae_interval_us == 0 || r->ae.active || r->nwants > 0)
		return;
	begin(r, now, peer, false, r->cfg.quiet ? REPLICA_SCOPE_NO_BULK : 0);
}

uint64_t replica_ae_deadline(const struct replica *r)
{
	uint64_t d = r->next_ae;
	if (r->ae.active && r->ae.deadline < d)
		d = r->ae.deadline;
	return d;
}

/* ---- server ----------------------------------------------------------- */

struct list_ctx {
	struct replica *r;
	struct shoal_buf *entries; /* encoded entries */
	uint32_t n;                /* entries written */
	bool full;                 /* the cap was reached */
};

static int list_one(void *cbctx, const struct replica_item *it)
{
	struct list_ctx *lc = cbctx;
	if (lc->n >= lc->r->cfg.ae_list_max ||
	    lc->entries->len + replica_proto_list_entry_max(it->key_len) > lc->entries->cap) {
		lc->full = true;
		return 1;
	}
	if (it->key_len == 0 || it->key_len > REPLICA_KEY_MAX)
		return 0; /* the app's own bad item: not ours to spread */
	if (replica_proto_encode_list_entry(lc->entries, it) < 0) {
		lc->full = true;
		return 1;
	}
	lc->n++;
	return 0;
}

void replica_ae_serve(struct replica *r, uint64_t conv, const struct shoal_addr *from,
                      const uint8_t *plain, size_t len)
{
	const uint8_t *theirs;
	uint32_t b, scope;
	uint64_t *ours = NULL;
	struct shoal_buf entries;
	struct list_ctx lc = {.r = r, .entries = &entries};

	if (replica_proto_decode_hello(plain, len, &b, &theirs, &scope) < 0) {
		r->st.malformed++;
		swim_stream_close(r->s, conv);
		return;
	}
	scope |= r->cfg.quiet ? REPLICA_SCOPE_NO_BULK : 0;
	if ((ours = calloc(b, sizeof(*ours))) == NULL || hashes_in(r, scope, b, ours) < 0) {
		free(ours);
		swim_stream_close(r->s, conv);
		return;
	}
	shoal_buf_create(&entries, REPLICA_MSG_MAX - 16);
	for (uint32_t i = 0; i < b && !lc.full; i++) {
		uint64_t h = 0;
		for (uint32_t j = 0; j < 8; j++)
			h = (h << 8) | theirs[8 * i + j];
		if (h != ours[i] && items_in(r, scope, b, i, list_one, &lc) < 0)
			break;
	}
	free(ours);
	r->st.ae_served++;
	shoal_buf_reset(&r->buf);
	replica_proto_encode_list_head(&r->buf, REPLICA_MSG_AE_LIST, b, lc.n);
	if (entries.len > 0)
		shoal_buf_append(&r->buf, entries.data, entries.len);
	shoal_buf_destroy(&entries);
	if (r->buf.err == 0)
		swim_stream_send(r->s, conv, from, r->buf.data, r->buf.len);
	swim_stream_close(r->s, conv);
}

void replica_ae_serve_root(struct replica *r, uint64_t conv, const struct shoal_addr *from,
                           const uint8_t *plain, size_t len)
{
	uint32_t b, scope;
	uint64_t theirs, *ours;

	if (replica_proto_decode_root(plain, len, &b, &theirs, &scope) < 0) {
		r->st.malformed++;
		swim_stream_close(r->s, conv);
		return;
	}
	scope |= r->cfg.quiet ? REPLICA_SCOPE_NO_BULK : 0;
	if ((ours = calloc(b, sizeof(*ours))) == NULL || hashes_in(r, scope, b, ours) < 0) {
		free(ours);
		swim_stream_close(r->s, conv);
		return;
	}
	bool same = root_of(ours, b) == theirs;
	free(ours);
	r->st.ae_roots_served++;
	shoal_buf_reset(&r->buf);
	if (same)
		replica_proto_encode_list_head(&r->buf, REPLICA_MSG_AE_LIST, b, 0);
	else
		replica_proto_encode_differ(&r->buf);
	if (r->buf.err == 0)
		swim_stream_send(r->s, conv, from, r->buf.data, r->buf.len);
	swim_stream_close(r->s, conv);
}

/* ---- client ----------------------------------------------------------- */

void replica_ae_on_list(struct replica *r, uint64_t now, const uint8_t *plain, size_t len)
{
	struct replica_wire_list l, again;
	struct replica_wire_item e;
	uint32_t lacking = 0;

	if (replica_proto_decode_list(plain, len, REPLICA_MSG_AE_LIST, REPLICA_AE_LIST_HARD_MAX,
	                              &l) < 0) {
		r->st.malformed++;
		replica_ae_end(r, true);
		return;
	}
	r->st.ae_rounds++;
	r->st.ae_entries_in += l.n;
	again = l;
	for (uint32_t i = 0; i < l.n; i++) {
		replica_proto_next(&l, &e);
		lacking += replica_lacks(r, &e);
	}
	/* A bulk catch-up is pulled quietly: the rest of the mesh has it. */
	bool quiet = lacking > REPLICA_AE_REGOSSIP_MAX;
	for (uint32_t i = 0; i < again.n && lacking > 0; i++) {
		replica_proto_next(&again, &e);
		if (replica_lacks(r, &e))
			replica_want_add(r, now, &e, &r->ae.peer, quiet, true);
	}
	replica_ae_end(r, true);
}
