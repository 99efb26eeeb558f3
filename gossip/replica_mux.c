/*
 * replica_mux.c - several applications on one replication service.
 *
 * SWIM carries one service, and one service is what we want on the wire:
 * one announcement stream, one pull conversation per peer, one
 * anti-entropy round that covers everything a node holds. The mux is an
 * application that forwards each callback to the app owning the key (by
 * prefix) and, for anti-entropy, folds the apps together: a bucket's hash
 * is the XOR of every app's hash of that bucket, and listing a bucket lists
 * each app's items in it. Two nodes therefore see a bucket differ when any
 * app's items in it differ, and the listing brings whatever is missing,
 * whichever app it belongs to.
 *
 * A route may be bulk (the health table): its announcements never go to a
 * quiet member, and an anti-entropy round scoped REPLICA_SCOPE_NO_BULK
 * leaves its items out of both the hashes and the lists.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"
#include "shoal/replica.h"

struct route {
	char prefix[16];
	size_t len;
	bool bulk;
	struct replica_app app;
};

struct replica_mux {
	struct route routes[REPLICA_MUX_APPS];
	size_t n;
	struct replica_app app; /* the combined app handed to replica_new */
};

static const struct route *route_of(const struct replica_mux *m, const uint8_t *key, uint32_t len)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct route *r = &m->routes[i];
		if (r->len <= len && memcmp(key, r->prefix, r->len) == 0)
			return r;
	}
	return NULL;
}

static int mux_lookup(void *ctx, const uint8_t *key, uint32_t key_len, uint64_t *version,
                      uint8_t digest[REPLICA_DIGEST_LEN])
{
	const struct route *r = route_of(ctx, key, key_len);
	if (r == NULL)
		return SHOAL_E_NOT_FOUND;
	return r->app.lookup(r->app.ctx, key, key_len, version, digest);
}

static int mux_fetch(void *ctx, const uint8_t *key, uint32_t key_len, struct replica_item *it,
                     const uint8_t **body)
{
	const struct route *r = route_of(ctx, key, key_len);
	if (r == NULL)
		return SHOAL_E_NOT_FOUND;
	return r->app.fetch(r->app.ctx, key, key_len, it, body);
}

static enum replica_verdict mux_offer(void *ctx, uint64_t now, const struct replica_item *it,
                                      const uint8_t *body, const struct shoal_addr *from,
                                      const char **reason)
{
	const struct route *r = route_of(ctx, it->key, it->key_len);
	if (r == NULL) {
		*reason = "no application for the key";
		return REPLICA_REJECTED;
	}
	return r->app.offer(r->app.ctx, now, it, body, from, reason);
}

static int mux_digest(void *ctx, const uint8_t *key, uint32_t key_len, const uint8_t *body,
                      uint32_t len, uint8_t out[REPLICA_DIGEST_LEN])
{
	const struct route *r = route_of(ctx, key, key_len);
	if (r == NULL)
		return -1;
	if (r->app.digest == NULL) {
		replica_digest(body, len, out);
		return 0;
	}
	return r->app.digest(r->app.ctx, key, key_len, body, len, out);
}

static void mux_heard(void *ctx, const struct replica_item *it, const struct shoal_addr *from)
{
	const struct route *r = route_of(ctx, it->key, it->key_len);
	if (r != NULL && r->app.heard != NULL)
		r->app.heard(r->app.ctx, it, from);
}

static bool mux_bulk(void *ctx, const uint8_t *key, uint32_t key_len)
{
	const struct route *r = route_of(ctx, key, key_len);
	return r != NULL && r->bulk;
}

/* Does the scope leave this route's items out? */
static bool scoped_out(const struct route *r, uint32_t scope)
{
	return (scope & REPLICA_SCOPE_NO_BULK) != 0 && r->bulk;
}

static int mux_scoped_hashes(void *ctx, uint32_t scope, uint32_t buckets, uint64_t *out)
{
	struct replica_mux *m = ctx;
	uint64_t *one = malloc(buckets * sizeof(*one));
	if (one == NULL)
		return -ENOMEM;
	memset(out, 0, buckets * sizeof(*out));
	for (size_t i = 0; i < m->n; i++) {
		const struct replica_app *a = &m->routes[i].app;
		if (scoped_out(&m->routes[i], scope))
			continue;
		int rc = a->bucket_hashes(a->ctx, buckets, one);
		if (rc != 0) {
			free(one);
			return rc;
		}
		for (uint32_t b = 0; b < buckets; b++)
			out[b] ^= one[b];
	}
	free(one);
	return 0;
}

static int mux_bucket_hashes(void *ctx, uint32_t buckets, uint64_t *out)
{
	return mux_scoped_hashes(ctx, 0, buckets, out);
}

static int mux_scoped_items(void *ctx, uint32_t scope, uint32_t buckets, uint32_t bucket,
                            replica_item_fn fn, void *cbctx)
{
	struct replica_mux *m = ctx;
	for (size_t i = 0; i < m->n; i++) {
		const struct replica_app *a = &m->routes[i].app;
		if (scoped_out(&m->routes[i], scope))
			continue;
		int rc = a->bucket_items(a->ctx, buckets, bucket, fn, cbctx);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int mux_bucket_items(void *ctx, uint32_t buckets, uint32_t bucket, replica_item_fn fn,
                            void *cbctx)
{
	return mux_scoped_items(ctx, 0, buckets, bucket, fn, cbctx);
}

int replica_mux_new(struct replica_mux **out, const struct replica_mux_route *routes, size_t n)
{
	*out = NULL;
	if (routes == NULL || n == 0 || n > REPLICA_MUX_APPS)
		return -EINVAL;
	struct replica_mux *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct replica_app *a = routes[i].app;
		size_t len = routes[i].prefix != NULL ? strlen(routes[i].prefix) : 0;
		/* A catch-all before the end would hide the routes after it. */
		if (a == NULL || a->lookup == NULL || a->fetch == NULL || a->offer == NULL ||
		    a->bucket_hashes == NULL || a->bucket_items == NULL ||
		    len >= sizeof(m->routes[i].prefix) || (len == 0 && i + 1 != n)) {
			free(m);
			return -EINVAL;
		}
		memcpy(m->routes[i].prefix, routes[i].prefix != NULL ? routes[i].prefix : "", len);
		m->routes[i].len = len;
		m->routes[i].bulk = routes[i].bulk;
		m->routes[i].app = *a;
	}
	m->n = n;
	m->app = (struct replica_app){.ctx = m,
	                              .lookup = mux_lookup,
	                              .fetch = mux_fetch,
	                              .offer = mux_offer,
	                              .bucket_hashes = mux_bucket_hashes,
	                              .bucket_items = mux_bucket_items,
	                              .digest = mux_digest,
	                              .heard = mux_heard,
	                              .bulk = mux_bulk,
	                              .scoped_hashes = mux_scoped_hashes,
	                              .scoped_items = mux_scoped_items};
	*out = m;
	return 0;
}

void replica_mux_delete(struct replica_mux *m)
{
	free(m);
}

const struct replica_app *replica_mux_app(const struct replica_mux *m)
{
	return &m->app;
}
