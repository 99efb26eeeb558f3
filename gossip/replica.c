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
 * This file holds the lifecycle, the announcements and the routing of what
 * SWIM hands over; replica_pull.c fetches and serves bodies, replica_ae.c
 * runs anti-entropy.
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
	/* Bulk items (health records) are a steady stream and every send of an
	 * announcement costs bytes at every node, while a node the epidemic
	 * misses still gets the item from anti-entropy. 3 instead of 4 is a
	 * quarter fewer sends with, measured in shoalsim at 1,000 and 3,000
	 * nodes, no more misses than 4; 2 (8 sends at 3,000) left about one
	 * node per publish to anti-entropy, 20 s late. docs/protocol.md, "Bulk items and quiet
	 * members". */
	cfg->bulk_retransmit_mult = 3;
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

/* ---- announcements ---------------------------------------------------- */

int replica_announce_item(struct replica *r, const struct replica_item *it)
{
	shoal_buf_reset(&r->buf);
	int rc = replica_proto_encode_announce(&r->buf, it);
	/* A newer announcement of a key replaces a queued older one. A bulk
	 * item's announcement never goes to a quiet member. */
	uint64_t supersede = shorthash(it->key, it->key_len) | 1;
	bool bulk = r->app.bulk != NULL && r->app.bulk(r->app.ctx, it->key, it->key_len);
	if (rc == 0 && bulk)
		rc = swim_user_broadcast_bulk(r->s, supersede, r->buf.data, r->buf.len);
	else if (rc == 0)
		rc = swim_user_broadcast(r->s, supersede, r->buf.data, r->buf.len);
	if (rc == 0)
		r->st.announces_out++;
	return rc;
}

int replica_announce(struct replica *r, uint64_t now, const struct replica_item *it)
{
	(void)now;
	if (it == NULL || it->key == NULL || it->key_len == 0 || it->key_len > REPLICA_KEY_MAX)
		return -EINVAL;
	return replica_announce_item(r, it);
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
	if (replica_want_find(r, it.digest) != NULL || replica_lacks(r, &it))
		replica_want_add(r, now, &it, from, false, false);
}

/* ---- swim hooks -------------------------------------------------------- */

static void on_stream(void *ctx, uint64_t now, uint64_t conv, const struct shoal_addr *from,
                      const uint8_t *plain, size_t len)
{
	struct replica *r = ctx;
	struct replica_pull *p = replica_pull_of_conv(r, conv);
	int type = replica_proto_type(plain, len);
	bool inbound = (conv & SHOAL_CONV_INBOUND) != 0;

	if (type == REPLICA_MSG_ITEMS && p != NULL) {
		replica_on_items(r, now, p, plain, len);
	} else if (type == REPLICA_MSG_AE_LIST && r->ae.active && r->ae.conv == conv) {
		replica_ae_on_list(r, now, plain, len);
	} else if (type == REPLICA_MSG_PULL && inbound) {
		replica_serve_pull(r, conv, from, plain, len);
	} else if (type == REPLICA_MSG_AE_HELLO && inbound) {
		replica_ae_serve(r, conv, from, plain, len);
	} else if (type == REPLICA_MSG_AE_ROOT && inbound) {
		replica_ae_serve_root(r, conv, from, plain, len);
	} else if (type == REPLICA_MSG_AE_DIFFER && r->ae.active && r->ae.conv == conv &&
	           r->ae.root) {
		replica_ae_on_differ(r, now);
	} else {
		/* Out of turn, malformed, or for a conversation given up. */
		r->st.malformed++;
		if (p != NULL)
			replica_pull_fail(r, now, p, true);
		else if (r->ae.active && r->ae.conv == conv)
			replica_ae_end(r, true);
		else
			swim_stream_close(r->s, conv);
	}
}

static void on_stream_error(void *ctx, uint64_t now, uint64_t conv)
{
	struct replica *r = ctx;
	struct replica_pull *p = replica_pull_of_conv(r, conv);
	if (p != NULL)
		replica_pull_fail(r, now, p, false);
	else if (r->ae.active && r->ae.conv == conv)
		replica_ae_end(r, false);
}

static void tick(void *ctx, uint64_t now)
{
	struct replica *r = ctx;
	for (uint32_t i = 0; i < r->cfg.pulls_max && r->npulls > 0; i++)
		if (r->pulls[i].used && now >= r->pulls[i].deadline)
			replica_pull_fail(r, now, &r->pulls[i], true);
	replica_ae_tick(r, now);
	if (now >= r->sched_at)
		replica_schedule(r, now);
}

static void on_joined(void *ctx, uint64_t now, const struct shoal_addr *peer)
{
	replica_ae_on_joined(ctx, now, peer);
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
	r->first_due = cfg->ae_interval_us != 0;
	shoal_buf_create(&r->buf, REPLICA_MSG_MAX);

	struct swim_user_hooks h = {
	        .ctx = r,
	        .on_message = on_message,
	        .on_stream = on_stream,
	        .on_stream_error = on_stream_error,
	        .tick = tick,
	        .next_deadline = next_deadline,
	        .on_joined = on_joined,
	        .retransmit_mult = cfg->retransmit_mult,
	        .bulk_retransmit_mult = cfg->bulk_retransmit_mult,
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
