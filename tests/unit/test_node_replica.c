/*
 * test_node_replica.c - the replication service on real shoald nodes: two
 * nodes in one libuv loop on loopback, each with a one-item toy store
 * attached through node_replica_attach in place of the intent store (which
 * shoald attaches at start). An item put at one reaches the other over the
 * real UDP gossip and TCP pull paths.
 */
#include "../../node/node.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "free_port.h"
#include "shoal/error.h"

/* ---- a store of one item -------------------------------------------------- */

struct one_store {
	bool has;
	char key[32];
	uint32_t key_len;
	uint64_t version;
	uint8_t digest[REPLICA_DIGEST_LEN];
	uint8_t body[8192];
	uint32_t size;
};

static int one_lookup(void *ctx, const uint8_t *key, uint32_t key_len, uint64_t *version,
                      uint8_t digest[REPLICA_DIGEST_LEN])
{
	struct one_store *s = ctx;
	if (!s->has || key_len != s->key_len || memcmp(key, s->key, key_len) != 0)
		return SHOAL_E_NOT_FOUND;
	*version = s->version;
	memcpy(digest, s->digest, REPLICA_DIGEST_LEN);
	return 0;
}

static void one_item(struct one_store *s, struct replica_item *it)
{
	it->key = (const uint8_t *)s->key;
	it->key_len = s->key_len;
	it->version = s->version;
	memcpy(it->digest, s->digest, REPLICA_DIGEST_LEN);
	it->size = s->size;
}

static int one_fetch(void *ctx, const uint8_t *key, uint32_t key_len, struct replica_item *it,
                     const uint8_t **body)
{
	uint64_t v;
	uint8_t d[REPLICA_DIGEST_LEN];
	if (one_lookup(ctx, key, key_len, &v, d) != 0)
		return SHOAL_E_NOT_FOUND;
	one_item(ctx, it);
	*body = ((struct one_store *)ctx)->body;
	return 0;
}

static enum replica_verdict one_offer(void *ctx, uint64_t now, const struct replica_item *it,
                                      const uint8_t *body, const struct shoal_addr *from,
                                      const char **reason)
{
	struct one_store *s = ctx;
	(void)now;
	(void)from;
	if (it->size > sizeof(s->body) || it->key_len >= sizeof(s->key)) {
		*reason = "too big";
		return REPLICA_REJECTED;
	}
	if (s->has && s->version >= it->version)
		return REPLICA_DUPLICATE;
	s->has = true;
	memcpy(s->key, it->key, it->key_len);
	s->key_len = it->key_len;
	s->version = it->version;
	memcpy(s->digest, it->digest, REPLICA_DIGEST_LEN);
	memcpy(s->body, body, it->size);
	s->size = it->size;
	return REPLICA_ACCEPTED;
}

static int one_hashes(void *ctx, uint32_t buckets, uint64_t *out)
{
	struct one_store *s = ctx;
	struct replica_item it;
	memset(out, 0, buckets * sizeof(*out));
	if (s->has) {
		one_item(s, &it);
		out[replica_bucket(it.key, it.key_len, buckets)] = replica_item_hash(&it);
	}
	return 0;
}

static int one_items(void *ctx, uint32_t buckets, uint32_t bucket, replica_item_fn fn, void *cbctx)
{
	struct one_store *s = ctx;
	struct replica_item it;
	if (s->has) {
		one_item(s, &it);
		if (replica_bucket(it.key, it.key_len, buckets) == bucket)
			fn(cbctx, &it);
	}
	return 0;
}

/* ---- two nodes in one loop ------------------------------------------------- */

static char tmpdir[64];

static uint16_t free_port(void)
{
	uint16_t p = test_free_port();
	if (p == 0)
		fail_msg("no free port in 15000-19999");
	return p;
}

struct site {
	struct node_config cfg;
	struct node node;
	struct one_store store;
	char gossip[64];
};

static void start_site(struct site *s, uv_loop_t *loop, const char *name, const char *join)
{
	char api[64], dir[128], err[512];
	snprintf(s->gossip, sizeof(s->gossip), "127.0.0.1:%u", (unsigned)free_port());
	snprintf(api, sizeof(api), "127.0.0.1:%u", (unsigned)free_port());
	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, name);
	char *argv[] = {"shoald", "--name",     (char *)name, "--bind",    s->gossip, "--api",
	                api,      "--data-dir", dir,          "--profile", "fast",    "--log-level",
	                "warn",   "--join",     (char *)join, NULL};
	int argc = join != NULL ? 15 : 13;
	assert_int_equal(node_config_parse(&s->cfg, argc, argv, err, sizeof(err)), 0);
	if (node_start(&s->node, loop, &s->cfg, err, sizeof(err)) != 0)
		fail_msg("node_start: %s", err);
}

static void attach(struct site *s)
{
	struct replica_app app = {.ctx = &s->store,
	                          .lookup = one_lookup,
	                          .fetch = one_fetch,
	                          .offer = one_offer,
	                          .bucket_hashes = one_hashes,
	                          .bucket_items = one_items};
	/* shoald attaches its intent store at start: one service per node. */
	assert_int_equal(node_replica_attach(&s->node, &app, NULL), SHOAL_E_EXISTS);
	node_wire_detach(&s->node);
	assert_null(s->node.replica);
	assert_int_equal(node_replica_attach(&s->node, &app, NULL), 0);
	assert_int_equal(node_replica_attach(&s->node, &app, NULL), SHOAL_E_EXISTS);
}

struct waiter {
	uv_timer_t timer;
	struct site *sites;
	uint32_t nsites;
	uint32_t want_members; /* 0: wait for site 1's store instead */
	int ticks_left;        /* 10 ms each */
	bool done;
};

static void on_poll(uv_timer_t *t)
{
	struct waiter *w = t->data;
	bool ok;
	if (w->want_members != 0) {
		uint32_t counts[4] = {0};
		swim_member_counts(w->sites[1].node.swim, counts);
		ok = counts[SWIM_ALIVE] >= w->want_members;
	} else {
		ok = w->sites[1].store.has;
	}
	if (ok || --w->ticks_left <= 0) {
		w->done = ok;
		uv_timer_stop(t);
		uv_stop(t->loop);
	}
}

static bool run_until(uv_loop_t *loop, struct site *sites, uint32_t members, int seconds)
{
	struct waiter w = {
	        .sites = sites, .nsites = 2, .want_members = members, .ticks_left = seconds * 100};
	uv_timer_init(loop, &w.timer);
	w.timer.data = &w;
	uv_timer_start(&w.timer, on_poll, 10, 10);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&w.timer, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return w.done;
}

static void test_item_crosses_real_sockets(void **state)
{
	(void)state;
	uv_loop_t loop;
	struct site *sites = calloc(2, sizeof(*sites));
	assert_non_null(sites);
	assert_int_equal(uv_loop_init(&loop), 0);
	start_site(&sites[0], &loop, "a1", NULL);
	start_site(&sites[1], &loop, "b1", sites[0].gossip);
	assert_true(run_until(&loop, sites, 2, 10));

	attach(&sites[0]);
	attach(&sites[1]);
	struct one_store *a = &sites[0].store;
	a->has = true;
	a->key_len = (uint32_t)snprintf(a->key, sizeof(a->key), "app/kuard");
	a->version = 42;
	a->size = 6000;
	randombytes_buf(a->body, a->size);
	replica_digest(a->body, a->size, a->digest);
	struct replica_item it;
	one_item(a, &it);
	assert_int_equal(node_replica_announce(&sites[0].node, &it), 0);

	assert_true(run_until(&loop, sites, 0, 10));
	assert_int_equal(sites[1].store.version, 42);
	assert_int_equal(sites[1].store.size, 6000);
	assert_memory_equal(sites[1].store.body, a->body, a->size);
	const struct replica_stats *st = replica_stats(sites[1].node.replica);
	assert_int_equal(st->accepted, 1);
	assert_int_equal(st->body_bytes_in, 6000);
	assert_int_equal(replica_stats(sites[0].node.replica)->served_items, 1);

	for (int i = 0; i < 2; i++) {
		node_stop(&sites[i].node);
		assert_null(sites[i].node.replica);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	for (int i = 0; i < 2; i++)
		node_config_destroy(&sites[i].cfg);
	free(sites);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/shoal-replica-XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_item_crosses_real_sockets, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
