/*
 * replica.c - announce, pull once, announce again: dissemination of
 * application items whose bodies each node receives about once.
 *
 * SWIM's piggybacked gossip hands every message to every node about
 * lambda*log N times (each of N nodes sends it mult*log10 N times to random
 * peers). That is what makes it robust, and it is cheap for a 100-byte
 * record; for a 20 KB body it would be ~20x the body per node. So only the
 * announcement (key, version, digest, size: ~60 bytes plus the key) rides
 * gossip, as a SWIM user message. A node that hears of an item it lacks
 * pulls the body over a stream from the node whose datagram carried the
 * announcement - that node announced it, so it holds it - and, once the app
 * has accepted the body, announces it in turn. Each node thus pulls each body
 * once, from a node one gossip hop closer to the origin; the epidemic of
 * announcements still reaches everyone in O(log N) rounds, each hop only
 * delayed by one pull.
 *
 * Wants are deduplicated by digest: hearing the announcement again while the
 * pull is in flight only remembers one more announcer (up to
 * REPLICA_SOURCES_MAX). A pull that breaks, times out, comes back malformed,
 * lacks the item, or carries a body that is truncated or does not hash to
 * the announced digest is retried from the next announcer, then from random
 * members, tries_max times in all; after that the item is left to
 * anti-entropy (replica_ae.c). Wants due to the same node are batched into
 * one pull (up to batch_max), which is why the scheduler runs from the tick
 * right after a datagram instead of inside the announcement handler.
 *
 * Limits, all fixed or from replica_config: wants_max items wanted at once
 * (announcements beyond are dropped and counted: anti-entropy repairs),
 * pulls_max pull conversations, batch_max items per pull, body_max bytes per
 * body, SWIM_USER_QUEUE_MAX queued announcements, one pull answer at most
 * REPLICA_MSG_MAX (16 MiB - 4 KiB) whatever the batch.
 */
#include "shoal/replica.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "replica_internal.h"
#include "shoal/error.h"

static const uint8_t zero_key[crypto_shorthash_KEYBYTES];

/* ---- helpers for the app ------------------------------------------------- */

static uint64_t shorthash(const uint8_t *p, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;
	crypto_shorthash(h, p, len, zero_key);
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | h[i];
	return v;
}

uint32_t replica_bucket(const uint8_t *key, uint32_t key_len, uint32_t buckets)
{
	return (uint32_t)(shorthash(key, key_len) & (buckets - 1));
}

uint64_t replica_item_hash(const struct replica_item *it)
{
	uint8_t buf[REPLICA_KEY_MAX + 8 + REPLICA_DIGEST_LEN];
	memcpy(buf, it->key, it->key_len);
	for (int i = 0; i < 8; i++)
		buf[it->key_len + (uint32_t)i] = (uint8_t)(it->version >> (56 - 8 * i));
	memcpy(buf + it->key_len + 8, it->digest, REPLICA_DIGEST_LEN);
	return shorthash(buf, (size_t)it->key_len + 8 + REPLICA_DIGEST_LEN);
}

void replica_digest(const uint8_t *body, size_t len, uint8_t out[REPLICA_DIGEST_LEN])
{
	crypto_hash_sha256(out, body, len);
}

/* ---- config ----------------------------------------------------------- */

void replica_config_defaults(struct replica_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->retransmit_mult = 0;
	cfg->pull_timeout_us = 2000000;
	cfg->retry_us = 1000000;
	cfg->pulls_max = 8;
	cfg->batch_max = 32;
	cfg->wants_max = 4096;
	cfg->tries_max = 6;
	cfg->body_max = (1u << 20) + (64u << 10);
	cfg->ae_interval_us = 30000000;
	cfg->ae_first_us = 1000000;
	cfg->ae_buckets = 256;
	cfg->ae_list_max = 4096;
}

void replica_config_scale(struct replica_config *cfg, uint32_t divisor)
{
	if (divisor <= 1)
		return;
	cfg->pull_timeout_us /= divisor;
	cfg->retry_us /= divisor;
	cfg->ae_interval_us /= divisor;
	cfg->ae_first_us /= divisor;
}

static bool config_ok(const struct replica_config *c)
{
	return c->pull_timeout_us > 0 && c->pulls_max >= 1 && c->pulls_max <= REPLICA_PULLS_MAX &&
	       c->batch_max >= 1 && c->batch_max <= REPLICA_BATCH_MAX && c->wants_max >= 1 &&
	       c->tries_max >= 1 && c->tries_max <= UINT16_MAX && c->body_max >= 1 &&
	       c->body_max <= REPLICA_BODY_MAX && c->ae_buckets >= 1 &&
	       c->ae_buckets <= REPLICA_BUCKETS_MAX && (c->ae_buckets & (c->ae_buckets - 1)) == 0 &&
	       c->ae_list_max >= 1 && c->ae_list_max <= REPLICA_AE_LIST_HARD_MAX;
}

/* ---- wants ------------------------------------------------------------- */

static struct replica_want *want_find(struct replica *r, const uint8_t *digest)
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
	struct replica_want *w = want_find(r, it->digest);
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
		if (now < r->sched_at)
			r->sched_at = now;
		return 0;
	}
	return -ENOMEM; /* cannot happen: nwants < wants_alloc */
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

/* ---- announcements ---------------------------------------------------- */

static int announce(struct replica *r, const struct replica_item *it)
{
	shoal_buf_reset(&r->buf);
	int rc = replica_proto_encode_announce(&r->buf, it);
	if (rc == 0)
		/* A newer announcement of a key replaces a queued older one. */
		rc = swim_user_broadcast(r->s, shorthash(it->key, it->key_len) | 1, r->buf.data,
		                         r->buf.len);
	if (rc == 0)
		r->st.announces_out++;
	return rc;
}

int replica_announce(struct replica *r, uint64_t now, const struct replica_item *it)
{
	(void)now;
	if (it == NULL || it->key == NULL || it->key_len == 0 || it->key_len > REPLICA_KEY_MAX)
		return -EINVAL;
	return announce(r, it);
}

static void on_message(void *ctx, uint64_t now, const struct shoal_addr *from, const uint8_t *msg,
                       size_t len)
{
	struct replica *r = ctx;
	struct replica_wire_item it;

	if (replica_proto_decode_announce(msg, len, &it) < 0) {
		r->st.malformed++;
		return;
	}
	r->st.announces_in++;
	if (want_find(r, it.digest) != NULL || replica_lacks(r, &it))
		replica_want_add(r, now, &it, from, false);
}

/* ---- pulls: client --------------------------------------------------- */

static struct replica_pull *pull_of_conv(struct replica *r, uint64_t conv)
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
static void pull_fail(struct replica *r, uint64_t now, struct replica_pull *p, bool close)
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
static void schedule(struct replica *r, uint64_t now)
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
			pull_fail(r, now, p, true);
	}
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
	replica_digest(e->body, e->size, digest);
	bool same = memcmp(e->digest, w->digest, REPLICA_DIGEST_LEN) == 0;
	/* The body must hash to the digest it came with, and that must be the
	 * one announced (with its size: a short body is a truncated one) unless
	 * the source has since moved on to a newer version. */
	if (memcmp(digest, e->digest, REPLICA_DIGEST_LEN) != 0 ||
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
			announce(r, &it);
		break;
	case REPLICA_DUPLICATE:
		r->st.duplicates++;
		break;
	default:
		/* The bytes are the ones announced: another source would serve the
		 * same, so the item is not retried. */
		r->st.rejected++;
		break;
	}
	want_free(r, w);
}

static void on_items(struct replica *r, uint64_t now, struct replica_pull *p, const uint8_t *plain,
                     size_t len)
{
	struct replica_wire_list l;
	struct replica_wire_item e;
	bool answered[REPLICA_BATCH_MAX] = {0};

	if (replica_proto_decode_list(plain, len, REPLICA_MSG_ITEMS, p->n, &l) < 0) {
		r->st.malformed++;
		pull_fail(r, now, p, true);
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

static void serve_pull(struct replica *r, uint64_t conv, const struct shoal_addr *from,
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

/* ---- swim hooks -------------------------------------------------------- */

static void on_stream(void *ctx, uint64_t now, uint64_t conv, const struct shoal_addr *from,
                      const uint8_t *plain, size_t len)
{
	struct replica *r = ctx;
	struct replica_pull *p = pull_of_conv(r, conv);
	int type = replica_proto_type(plain, len);
	bool inbound = (conv & SHOAL_CONV_INBOUND) != 0;

	if (type == REPLICA_MSG_ITEMS && p != NULL) {
		on_items(r, now, p, plain, len);
	} else if (type == REPLICA_MSG_AE_LIST && r->ae.active && r->ae.conv == conv) {
		replica_ae_on_list(r, now, plain, len);
	} else if (type == REPLICA_MSG_PULL && inbound) {
		serve_pull(r, conv, from, plain, len);
	} else if (type == REPLICA_MSG_AE_HELLO && inbound) {
		replica_ae_serve(r, conv, from, plain, len);
	} else {
		/* Out of turn, malformed, or for a conversation given up. */
		r->st.malformed++;
		if (p != NULL)
			pull_fail(r, now, p, true);
		else if (r->ae.active && r->ae.conv == conv)
			replica_ae_end(r, true);
		else
			swim_stream_close(r->s, conv);
	}
}

static void on_stream_error(void *ctx, uint64_t now, uint64_t conv)
{
	struct replica *r = ctx;
	struct replica_pull *p = pull_of_conv(r, conv);
	if (p != NULL)
		pull_fail(r, now, p, false);
	else if (r->ae.active && r->ae.conv == conv)
		replica_ae_end(r, false);
}

static void tick(void *ctx, uint64_t now)
{
	struct replica *r = ctx;
	for (uint32_t i = 0; i < r->cfg.pulls_max && r->npulls > 0; i++)
		if (r->pulls[i].used && now >= r->pulls[i].deadline)
			pull_fail(r, now, &r->pulls[i], true);
	replica_ae_tick(r, now);
	if (now >= r->sched_at)
		schedule(r, now);
}

static uint64_t next_deadline(void *ctx)
{
	const struct replica *r = ctx;
	uint64_t d = r->sched_at;
	for (uint32_t i = 0; i < r->cfg.pulls_max && r->npulls > 0; i++)
		if (r->pulls[i].used && r->pulls[i].deadline < d)
			d = r->pulls[i].deadline;
	uint64_t ae = replica_ae_deadline(r);
	return ae < d ? ae : d;
}

/* ---- lifecycle ------------------------------------------------------- */

int replica_new(struct replica **out, const struct replica_config *cfg, struct swim *s,
                const struct shoal_env *env, const struct replica_app *app, uint64_t now)
{
	struct replica *r;
	if (out == NULL || cfg == NULL || s == NULL || env == NULL || app == NULL ||
	    app->lookup == NULL || app->fetch == NULL || app->offer == NULL ||
	    app->bucket_hashes == NULL || app->bucket_items == NULL || !config_ok(cfg))
		return -EINVAL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -ENOMEM;
	if ((r->pulls = calloc(cfg->pulls_max, sizeof(*r->pulls))) == NULL) {
		free(r);
		return -ENOMEM;
	}
	r->cfg = *cfg;
	r->s = s;
	r->env = env;
	r->app = *app;
	r->sched_at = UINT64_MAX;
	r->next_ae = cfg->ae_interval_us != 0 ? now + cfg->ae_first_us : UINT64_MAX;
	shoal_buf_create(&r->buf, REPLICA_MSG_MAX);

	struct swim_user_hooks h = {
	        .ctx = r,
	        .on_message = on_message,
	        .on_stream = on_stream,
	        .on_stream_error = on_stream_error,
	        .tick = tick,
	        .next_deadline = next_deadline,
	        .retransmit_mult = cfg->retransmit_mult,
	};
	if (swim_set_user(s, &h) < 0) {
		shoal_buf_destroy(&r->buf);
		free(r->pulls);
		free(r);
		return SHOAL_E_STATE;
	}
	*out = r;
	return 0;
}

void replica_delete(struct replica *r)
{
	if (r == NULL)
		return;
	for (uint32_t i = 0; i < r->cfg.pulls_max; i++)
		if (r->pulls[i].used)
			swim_stream_close(r->s, r->pulls[i].conv);
	if (r->ae.active)
		swim_stream_close(r->s, r->ae.conv);
	swim_set_user(r->s, NULL);
	shoal_buf_destroy(&r->buf);
	free(r->wants);
	free(r->pulls);
	free(r);
}

uint32_t replica_pending(const struct replica *r)
{
	return r->nwants;
}

const struct replica_stats *replica_stats(const struct replica *r)
{
	return &r->st;
}
