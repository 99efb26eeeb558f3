/*
 * replica_pull.c - fetching bodies: the want table, batched pulls with
 * failover, judging what comes back, and serving other nodes' pulls.
 *
 * A want is one item this node lacks, keyed by its announced digest, with
 * up to REPLICA_SOURCES_MAX nodes that announced or listed it. The scheduler
 * (run from the tick, so that wants due to one node are batched) takes due
 * wants in table order and opens one pull per target node, up to pulls_max
 * at once and batch_max items each. Every way a pull can go wrong - broken,
 * timed out, malformed, item missing, body truncated or not matching its
 * digest - moves the item on to its next source (replica.c has the
 * overview).
 *
 * Costs: want_find is a linear scan of the table (a settled node's table is
 * empty; a node catching up holds at most wants_max). The scheduler looks at
 * each queued want once per run and at the table once more per pull opened.
 */
#include "replica_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"

/* ---- wants ------------------------------------------------------------- */

struct replica_want *replica_want_find(struct replica *r, const uint8_t *digest)
{
	for (uint32_t i = 0; i < r->wants_alloc; i++)
		if (r->wants[i].state != WANT_FREE &&
		    memcmp(r->wants[i].digest, digest, REPLICA_DIGEST_LEN) == 0)
			return &r->wants[i];
	return NULL;
}

static void want_free(struct replica *r, struct replica_want *w)
{
	memset(w, 0, sizeof(*w));
	r->nwants--;
}

static void add_source(struct replica_want *w, const struct shoal_addr *src)
{
	if (src == NULL)
		return;
	for (uint32_t i = 0; i < w->nsrc; i++)
		if (shoal_addr_equal(&w->src[i], src))
			return;
	if (w->nsrc < REPLICA_SOURCES_MAX)
		w->src[w->nsrc++] = *src;
}

bool replica_lacks(struct replica *r, const struct replica_wire_item *it)
{
	uint64_t version;
	uint8_t digest[REPLICA_DIGEST_LEN];
	if (r->app.lookup(r->app.ctx, it->key, it->key_len, &version, digest) != 0)
		return true;
	if (memcmp(digest, it->digest, REPLICA_DIGEST_LEN) == 0 || version > it->version)
		return false;
	/* Older, or a concurrent write at the same version: the app merges. */
	return true;
}

int replica_want_add(struct replica *r, uint64_t now, const struct replica_wire_item *it,
                     const struct shoal_addr *src, bool quiet)
{
	struct replica_want *w = replica_want_find(r, it->digest);
	if (w != NULL) {
		add_source(w, src);
		w->quiet = w->quiet && quiet;
		return 0;
	}
	if (it->size > r->cfg.body_max)
		return SHOAL_E_TOO_BIG;
	if (r->nwants >= r->cfg.wants_max) {
		r->st.wants_dropped++;
		return SHOAL_E_TOO_BIG;
	}
	if (r->nwants == r->wants_alloc) {
		uint32_t n = r->wants_alloc == 0 ? 16 : r->wants_alloc * 2;
		if (n > r->cfg.wants_max)
			n = r->cfg.wants_max;
		struct replica_want *ws = realloc(r->wants, (size_t)n * sizeof(*ws));
		if (ws == NULL)
			return -ENOMEM;
		memset(ws + r->wants_alloc, 0, (size_t)(n - r->wants_alloc) * sizeof(*ws));
		r->wants = ws;
		r->wants_alloc = n;
	}
	for (uint32_t i = 0; i < r->wants_alloc; i++) {
		if (r->wants[i].state != WANT_FREE)
			continue;
		w = &r->wants[i];
		w->state = WANT_QUEUED;
		w->key_len = (uint8_t)it->key_len;
		memcpy(w->key, it->key, it->key_len);
		w->version = it->version;
		memcpy(w->digest, it->digest, REPLICA_DIGEST_LEN);
		w->size = it->size;
		w->quiet = quiet;
		w->not_before = now;
		add_source(w, src);
		r->nwants++;
		if (r->app.heard != NULL && src != NULL) {
			struct replica_item heard = {.key = it->key,
			                             .key_len = it->key_len,
			                             .version = it->version,
			                             .size = it->size};
			memcpy(heard.digest, it->digest, REPLICA_DIGEST_LEN);
			r->app.heard(r->app.ctx, &heard, src);
		}
		if (now < r->sched_at)
			r->sched_at = now;
		return 0;
	}
	return -ENOMEM; /* cannot happen: nwants < wants_alloc */
}

int replica_want(struct replica *r, uint64_t now, const struct replica_item *it,
                 const struct shoal_addr *srcs, uint32_t n)
{
	if (it == NULL || it->key == NULL || it->key_len == 0 || it->key_len > REPLICA_KEY_MAX)
		return -EINVAL;
	struct replica_wire_item w = {.key = it->key,
	                              .key_len = it->key_len,
	                              .version = it->version,
	                              .digest = it->digest,
	                              .size = it->size};
	/* Asked for by the app, not announced to anyone: a body nobody else is
	 * waiting for is not announced again once taken (quiet). */
	int rc = replica_want_add(r, now, &w, n > 0 ? &srcs[0] : NULL, true);
	for (uint32_t i = 1; rc == 0 && i < n; i++)
		rc = replica_want_add(r, now, &w, &srcs[i], true);
	return rc;
}

/* A try failed: on to the next announcer, then random members, then give
 * the item up to anti-entropy. */
static void want_advance(struct replica *r, uint64_t now, struct replica_want *w)
{
	w->state = WANT_QUEUED;
	w->tries++;
	w->cur++;
	if (w->tries >= r->cfg.tries_max) {
		r->st.abandoned++;
		want_free(r, w);
		return;
	}
	/* Another announcer holds it now; a random member may not have it yet,
	 * so give the epidemic a moment before asking one. */
	w->not_before = w->cur < w->nsrc ? now : now + r->cfg.retry_us;
	if (w->not_before < r->sched_at)
		r->sched_at = w->not_before;
}

/* ---- pulls: client --------------------------------------------------- */

struct replica_pull *replica_pull_of_conv(struct replica *r, uint64_t conv)
{
	for (uint32_t i = 0; i < r->cfg.pulls_max; i++)
		if (r->pulls[i].used && r->pulls[i].conv == conv)
			return &r->pulls[i];
	return NULL;
}

static void pull_end(struct replica *r, struct replica_pull *p, bool close)
{
	if (close)
		swim_stream_close(r->s, p->conv);
	memset(p, 0, sizeof(*p));
	r->npulls--;
}

/* The whole pull failed: every want in it moves on. */
void replica_pull_fail(struct replica *r, uint64_t now, struct replica_pull *p, bool close)
{
	r->st.pull_failures++;
	for (uint32_t i = 0; i < p->n; i++)
		want_advance(r, now, &r->wants[p->want[i]]);
	pull_end(r, p, close);
	if (now < r->sched_at)
		r->sched_at = now;
}

/* Where a queued want is to be pulled from next; false if nowhere yet. */
static bool want_target(struct replica *r, struct replica_want *w, struct shoal_addr *out)
{
	if (w->cur < w->nsrc) {
		*out = w->src[w->cur];
		return true;
	}
	const struct shoal_addr *avoid = w->nsrc > 0 ? &w->src[w->nsrc - 1] : NULL;
	return swim_random_member(r->s, avoid, out) == 0;
}

static int send_pull(struct replica *r, struct replica_pull *p)
{
	int rc;
	shoal_buf_reset(&r->buf);
	replica_proto_encode_list_head(&r->buf, REPLICA_MSG_PULL, 0, p->n);
	for (uint32_t i = 0; i < p->n; i++) {
		const struct replica_want *w = &r->wants[p->want[i]];
		replica_proto_encode_pull_entry(&r->buf, w->key, w->key_len, w->digest);
	}
	if ((rc = r->buf.err) != 0)
		return rc;
	return swim_stream_send(r->s, p->conv, &p->peer, r->buf.data, r->buf.len);
}

/* Start pulls for due wants while slots are free, batching by target. */
static void schedule_pulls(struct replica *r, uint64_t now)
{
	r->sched_at = UINT64_MAX;
	for (uint32_t i = 0; i < r->wants_alloc && r->nwants > 0; i++) {
		struct replica_want *w = &r->wants[i];
		struct shoal_addr target;
		struct replica_pull *p = NULL;

		if (w->state != WANT_QUEUED)
			continue;
		if (w->not_before > now) {
			if (w->not_before < r->sched_at)
				r->sched_at = w->not_before;
			continue;
		}
		if (r->npulls >= r->cfg.pulls_max)
			return; /* rescheduled when a pull ends */
		if (!want_target(r, w, &target)) {
			w->not_before = now + r->cfg.retry_us;
			if (w->not_before < r->sched_at)
				r->sched_at = w->not_before;
			continue;
		}
		for (uint32_t k = 0; k < r->cfg.pulls_max && p == NULL; k++)
			if (!r->pulls[k].used)
				p = &r->pulls[k];
		memset(p, 0, sizeof(*p));
		p->used = true;
		r->npulls++;
		p->conv = swim_stream_open(r->s);
		p->peer = target;
		p->deadline = now + r->cfg.pull_timeout_us;
		/* This want and every later due one bound for the same node. */
		for (uint32_t j = i; j < r->wants_alloc && p->n < r->cfg.batch_max; j++) {
			struct replica_want *o = &r->wants[j];
			if (o->state != WANT_QUEUED || o->not_before > now)
				continue;
			if (o != w &&
			    !(o->cur < o->nsrc && shoal_addr_equal(&o->src[o->cur], &target)))
				continue;
			o->state = WANT_INFLIGHT;
			o->pull = (uint32_t)(p - r->pulls);
			o->at = target;
			p->want[p->n++] = j;
		}
		r->st.pulls++;
		if (send_pull(r, p) < 0)
			replica_pull_fail(r, now, p, true);
	}
}

void replica_schedule(struct replica *r, uint64_t now)
{
	schedule_pulls(r, now);
	/* A pull that failed to send just now re-queued its wants for now;
	 * they go out on the next tick, never in a loop within this one. */
	if (r->sched_at <= now)
		r->sched_at = now + 1;
}

/* Judge one body of a pull answer against the want it answers. */
static void take_item(struct replica *r, uint64_t now, struct replica_pull *p,
                      struct replica_want *w, const struct replica_wire_item *e)
{
	uint8_t digest[REPLICA_DIGEST_LEN];
	const char *reason = NULL;
	struct replica_item it = {
	        .key = e->key, .key_len = e->key_len, .version = e->version, .size = e->size};

	r->st.items_in++;
	r->st.body_bytes_in += e->size;
	bool digested = r->app.digest != NULL ? r->app.digest(r->app.ctx, e->key, e->key_len,
	                                                      e->body, e->size, digest) == 0
	                                      : (replica_digest(e->body, e->size, digest), true);
	bool same = memcmp(e->digest, w->digest, REPLICA_DIGEST_LEN) == 0;
	/* The body must hash to the digest it came with, and that must be the
	 * one announced (with its size: a short body is a truncated one) unless
	 * the source has since moved on to a newer version. */
	if (!digested || memcmp(digest, e->digest, REPLICA_DIGEST_LEN) != 0 ||
	    (same ? e->size != w->size : e->version <= w->version)) {
		r->st.bad_bodies++;
		want_advance(r, now, w);
		return;
	}
	memcpy(it.digest, e->digest, REPLICA_DIGEST_LEN);
	switch (r->app.offer(r->app.ctx, now, &it, e->body, &p->peer, &reason)) {
	case REPLICA_ACCEPTED:
		r->st.accepted++;
		if (!w->quiet)
			replica_announce_item(r, &it);
		break;
	case REPLICA_ACCEPTED_QUIET:
		r->st.accepted++;
		r->st.accepted_quiet++;
		break;
	case REPLICA_DUPLICATE:
		r->st.duplicates++;
		break;
	default:
		r->st.rejected++;
		/* When the digest covers every byte, another source would serve
		 * the same bytes: not retried. When the application's digest
		 * covers only part (an intent id leaves the signature out), a
		 * peer may have altered the rest: ask the next source. */
		if (r->app.digest != NULL) {
			want_advance(r, now, w);
			return;
		}
		break;
	}
	want_free(r, w);
}

void replica_on_items(struct replica *r, uint64_t now, struct replica_pull *p, const uint8_t *plain,
                      size_t len)
{
	struct replica_wire_list l;
	struct replica_wire_item e;
	bool answered[REPLICA_BATCH_MAX] = {0};

	if (replica_proto_decode_list(plain, len, REPLICA_MSG_ITEMS, p->n, &l) < 0) {
		r->st.malformed++;
		replica_pull_fail(r, now, p, true);
		return;
	}
	for (uint32_t i = 0; i < l.n; i++) {
		replica_proto_next(&l, &e);
		uint32_t k = 0;
		while (k < p->n && (answered[k] || r->wants[p->want[k]].key_len != e.key_len ||
		                    memcmp(r->wants[p->want[k]].key, e.key, e.key_len) != 0))
			k++;
		if (k == p->n) {
			r->st.malformed++; /* not asked for, or answered twice */
			continue;
		}
		answered[k] = true;
		take_item(r, now, p, &r->wants[p->want[k]], &e);
	}
	for (uint32_t k = 0; k < p->n; k++) {
		if (!answered[k]) {
			r->st.not_held++;
			want_advance(r, now, &r->wants[p->want[k]]);
		}
	}
	pull_end(r, p, true);
	if (now < r->sched_at)
		r->sched_at = now;
}

/* ---- pulls: server --------------------------------------------------- */

void replica_serve_pull(struct replica *r, uint64_t conv, const struct shoal_addr *from,
                        const uint8_t *plain, size_t len)
{
	struct replica_wire_list l;
	struct replica_wire_item e;
	struct shoal_buf entries;
	uint32_t n = 0;

	if (replica_proto_decode_list(plain, len, REPLICA_MSG_PULL, REPLICA_BATCH_MAX, &l) < 0) {
		r->st.malformed++;
		swim_stream_close(r->s, conv);
		return;
	}
	shoal_buf_create(&entries, REPLICA_MSG_MAX - 16);
	for (uint32_t i = 0; i < l.n; i++) {
		struct replica_item it;
		const uint8_t *body;
		replica_proto_next(&l, &e);
		memset(&it, 0, sizeof(it));
		if (r->app.fetch(r->app.ctx, e.key, e.key_len, &it, &body) != 0)
			continue;
		it.key = e.key; /* the app's pointer may not outlive the next call */
		it.key_len = e.key_len;
		if (it.size > r->cfg.body_max ||
		    entries.len + replica_proto_items_entry_max(it.key_len, it.size) > entries.cap)
			continue;
		if (replica_proto_encode_items_entry(&entries, &it, body) < 0)
			break;
		n++;
		r->st.served_items++;
		r->st.served_bytes += it.size;
	}
	shoal_buf_reset(&r->buf);
	replica_proto_encode_list_head(&r->buf, REPLICA_MSG_ITEMS, 0, n);
	if (entries.len > 0)
		shoal_buf_append(&r->buf, entries.data, entries.len);
	shoal_buf_destroy(&entries);
	if (r->buf.err == 0)
		swim_stream_send(r->s, conv, from, r->buf.data, r->buf.len);
	swim_stream_close(r->s, conv);
}
