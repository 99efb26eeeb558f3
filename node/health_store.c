/*
 * health_store.c - every site's newest health record, in memory (a
 * health_table), in LMDB, and on the wire as an application of the
 * replication service.
 *
 * A record is verified against the key membership binds to its site name,
 * so one arriving before its site's membership record is refused (the
 * announcement of a later version, or anti-entropy, brings it again). On
 * disk each record keeps the key it was verified with and when it arrived,
 * so a restarted node reloads the fleet's health without waiting for
 * membership, and an old record still looks as old as it is (stale, not
 * fresh).
 *
 * Health is soft state its owners publish again and again; it is written
 * without an fsync of its own (the next intent commit, or the OS, flushes
 * it), so thousands of records a minute cost no disk syncs. Intents, which
 * are acknowledged to operators, keep their synchronous commits.
 */
#include "node.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"

#define RECORD_FORMAT 1
#define RECORD_HEAD   (1 + 8 + 32) /* format, received wall ms, public key */

static const char prefix[] = NODE_HEALTH_KEY_PREFIX;
#define PREFIX_LEN (sizeof(prefix) - 1)

/* The key membership binds to `site` (while reloading: the stored one). */
static int key_of(void *ctx, const char *site, size_t len, uint8_t pk[32])
{
	struct node_health *h = ctx;
	char name[HEALTH_SITE_MAX + 1];
	struct swim_member_info mi;
	if (h->loading_pk != NULL) {
		memcpy(pk, h->loading_pk, 32);
		return 0;
	}
	if (len > HEALTH_SITE_MAX || h->n->swim == NULL)
		return SHOAL_E_NOT_FOUND;
	memcpy(name, site, len);
	name[len] = '\0';
	if (swim_member_find(h->n->swim, name, &mi) != 0 || mi.pubkey == NULL ||
	    mi.state == SWIM_LEFT)
		return SHOAL_E_NOT_FOUND;
	memcpy(pk, mi.pubkey, 32);
	return 0;
}

static int persist(struct node_health *h, const char *site, const uint8_t pk[32],
                   uint64_t received_ms, const uint8_t *bytes, size_t len)
{
	MDB_env *env = h->n->store.env;
	MDB_txn *txn;
	MDB_val k = {strlen(site), (void *)site}, v = {RECORD_HEAD + len, NULL};
	if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
		return SHOAL_E_STORE;
	if (mdb_put(txn, h->db, &k, &v, MDB_RESERVE) != 0) {
		mdb_txn_abort(txn);
		return SHOAL_E_STORE;
	}
	uint8_t *p = v.mv_data;
	p[0] = RECORD_FORMAT;
	for (int i = 0; i < 8; i++)
		p[1 + i] = (uint8_t)(received_ms >> (56 - 8 * i));
	memcpy(p + 9, pk, 32);
	memcpy(p + RECORD_HEAD, bytes, len);
	/* Soft state: commit without a sync of its own (see above). */
	mdb_env_set_flags(env, MDB_NOSYNC, 1);
	int rc = mdb_txn_commit(txn);
	mdb_env_set_flags(env, MDB_NOSYNC, 0);
	return rc == 0 ? 0 : SHOAL_E_STORE;
}

int node_health_offer(struct node *n, uint64_t now, const uint8_t *bytes, size_t len,
                      uint64_t received_wall_ms, const char *expect_site, size_t expect_len)
{
	struct node_health *h = &n->health;
	struct health_record *r = h->scratch;
	const uint8_t *body, *sig;
	uint32_t body_len;
	char site[HEALTH_SITE_MAX + 1];
	uint8_t pk[32];

	/* Whose record is it? Read (not yet trusted) to check it is the one
	 * the caller expects and to know the key it will be verified with. */
	int rc = health_envelope_split(bytes, len, &body, &body_len, &sig);
	if (rc == 0)
		rc = health_body_decode(body, body_len, r);
	if (rc == 0 && expect_site != NULL &&
	    (r->site.len != expect_len || memcmp(r->site.s, expect_site, expect_len) != 0))
		rc = SHOAL_E_MALFORMED;
	if (rc == 0) {
		memcpy(site, r->site.s, r->site.len);
		site[r->site.len] = '\0';
		/* A leaf keeps its own record only (docs/health.md, "Leaf mode"):
		 * its table says so (node_health_open). */
		if (!health_table_keeps(h->table, site, r->site.len))
			rc = SHOAL_E_FORBIDDEN;
		else if (key_of(h, site, r->site.len, pk) != 0)
			rc = SHOAL_E_FORBIDDEN;
	}
	if (rc == 0)
		rc = health_table_offer(h->table, now, bytes, len);
	if (rc != 0) {
		if (rc != SHOAL_E_STALE)
			h->rejected++;
		return rc;
	}
	h->accepted++;
	h->changes++;
	/* A failed write leaves the record in memory only: it is soft state,
	 * and its owner publishes it again. */
	if (h->loading_pk == NULL && persist(h, site, pk, received_wall_ms, bytes, len) != 0)
		node_log_msg(&n->log, NODE_LOG_WARN, "health_store",
		             "cannot write a health record");
	return 0;
}

void node_health_forget(struct node *n, const char *site)
{
	struct node_health *h = &n->health;
	MDB_txn *txn;
	if (h->table == NULL || health_table_remove(h->table, site, strlen(site)) != 0)
		return;
	h->changes++;
	MDB_val k = {strlen(site), (void *)site};
	if (mdb_txn_begin(n->store.env, NULL, 0, &txn) != 0)
		return;
	if (mdb_del(txn, h->db, &k, NULL) != 0)
		mdb_txn_abort(txn);
	else
		mdb_txn_commit(txn);
}

uint64_t node_health_refresh_us(const struct node *n)
{
	uint32_t sites = n->swim != NULL ? swim_live_members(n->swim) : 1;
	uint64_t us = health_refresh_interval(sites);
	if (n->cfg->profile == NODE_PROFILE_FAST)
		us /= 10;
	return us;
}

/* ---- reload ------------------------------------------------------------ */

static void load_records(struct node *n)
{
	struct node_health *h = &n->health;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t loaded = 0, bad = 0;
	uint64_t now = node_now(), wall = node_wall_ms();
	if (mdb_txn_begin(n->store.env, NULL, MDB_RDONLY, &txn) != 0)
		return;
	if (mdb_cursor_open(txn, h->db, &cur) != 0) {
		mdb_txn_abort(txn);
		return;
	}
	int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0) {
		const uint8_t *p = v.mv_data;
		uint64_t received = 0;
		if (v.mv_size <= RECORD_HEAD || p[0] != RECORD_FORMAT) {
			bad++;
		} else {
			for (int i = 0; i < 8; i++)
				received = received << 8 | p[1 + i];
			/* As old as it is: arrival placed on the monotonic clock. */
			uint64_t age_us = wall > received ? (wall - received) * 1000 : 0;
			uint64_t at = now > age_us ? now - age_us : 1;
			h->loading_pk = p + 9;
			if (node_health_offer(n, at, p + RECORD_HEAD, v.mv_size - RECORD_HEAD,
			                      received, k.mv_data, k.mv_size) == 0)
				loaded++;
			else
				bad++;
			h->loading_pk = NULL;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	node_log_event(&n->log, bad > 0 ? NODE_LOG_WARN : NODE_LOG_INFO, "health_loaded",
	               json_pack("{s:I,s:I}", "records", (json_int_t)loaded, "unreadable",
	                         (json_int_t)bad));
}

int node_health_open(struct node *n, char *err, size_t errcap)
{
	struct node_health *h = &n->health;
	h->n = n;
	h->scratch = malloc(sizeof(*h->scratch));
	int rc = h->scratch == NULL ? -ENOMEM : node_store_db(&n->store, "health", &h->db);
	if (rc == 0)
		rc = health_table_new(&h->table, node_transport_env(&n->transport), key_of, h);
	/* A leaf's table keeps its own record only, before anything is loaded. */
	if (rc == 0 && n->cfg->leaf)
		rc = health_table_keep_only(h->table, n->cfg->name, strlen(n->cfg->name));
	if (rc != 0) {
		if (err != NULL && errcap > 0)
			snprintf(err, errcap, "health store: %s", shoal_strerror(rc));
		return rc;
	}
	load_records(n);
	return 0;
}

void node_health_close(struct node *n)
{
	struct node_health *h = &n->health;
	if (h->table != NULL)
		health_table_delete(h->table);
	h->table = NULL;
	free(h->scratch);
	h->scratch = NULL;
}

/* ---- the replica app ------------------------------------------------------ */

/* "~site" -> the site name (borrowed), or NULL. */
static const char *site_of(const uint8_t *key, uint32_t len, size_t *site_len)
{
	if (len <= PREFIX_LEN || memcmp(key, prefix, PREFIX_LEN) != 0 ||
	    !health_site_name_valid((const char *)key + PREFIX_LEN, len - PREFIX_LEN))
		return NULL;
	*site_len = len - PREFIX_LEN;
	return (const char *)key + PREFIX_LEN;
}

static int app_lookup(void *ctx, const uint8_t *key, uint32_t key_len, uint64_t *version,
                      uint8_t digest[REPLICA_DIGEST_LEN])
{
	struct node_health *h = ctx;
	size_t slen;
	const char *site = site_of(key, key_len, &slen);
	/* A leaf takes no other site's record: its table says it holds a
	 * newer one than any announced, so the service never wants or pulls it. */
	if (site == NULL)
		return SHOAL_E_NOT_FOUND;
	return health_table_lookup(h->table, site, slen, version, digest);
}

static void item_of(const struct health_entry *e, uint8_t *keybuf, struct replica_item *it)
{
	size_t slen = strlen(e->site);
	memcpy(keybuf, prefix, PREFIX_LEN);
	memcpy(keybuf + PREFIX_LEN, e->site, slen);
	it->key = keybuf;
	it->key_len = (uint32_t)(PREFIX_LEN + slen);
	it->version = e->version;
	memcpy(it->digest, e->digest, REPLICA_DIGEST_LEN);
	it->size = e->len;
}

static int app_fetch(void *ctx, const uint8_t *key, uint32_t key_len, struct replica_item *it,
                     const uint8_t **body)
{
	struct node_health *h = ctx;
	struct health_entry e;
	size_t slen;
	const char *site = site_of(key, key_len, &slen);
	if (site == NULL || health_table_get(h->table, site, slen, &e) != 0)
		return SHOAL_E_NOT_FOUND;
	it->key = key;
	it->key_len = key_len;
	it->version = e.version;
	memcpy(it->digest, e.digest, REPLICA_DIGEST_LEN);
	it->size = e.len;
	*body = e.bytes;
	return 0;
}

static enum replica_verdict app_offer(void *ctx, uint64_t now, const struct replica_item *it,
                                      const uint8_t *body, const struct shoal_addr *from,
                                      const char **reason)
{
	struct node_health *h = ctx;
	size_t slen;
	(void)from;
	const char *site = site_of(it->key, it->key_len, &slen);
	if (site == NULL) {
		*reason = "bad health key";
		return REPLICA_REJECTED;
	}
	/* The body must be the record of the site its key names. */
	int rc = node_health_offer(h->n, now, body, it->size, node_wall_ms(), site, slen);
	if (rc == 0)
		return REPLICA_ACCEPTED;
	if (rc == SHOAL_E_STALE)
		return REPLICA_DUPLICATE;
	*reason = shoal_strerror(rc);
	return REPLICA_REJECTED;
}

static int app_bucket_hashes(void *ctx, uint32_t buckets, uint64_t *out)
{
	struct node_health *h = ctx;
	struct health_entry e;
	struct replica_item it;
	uint8_t key[PREFIX_LEN + HEALTH_SITE_MAX];
	uint32_t cursor = 0;
	memset(out, 0, buckets * sizeof(*out));
	while (health_table_next(h->table, &cursor, &e) == 0) {
		item_of(&e, key, &it);
		out[replica_bucket(it.key, it.key_len, buckets)] ^= replica_item_hash(&it);
	}
	return 0;
}

static int app_bucket_items(void *ctx, uint32_t buckets, uint32_t bucket, replica_item_fn fn,
                            void *cbctx)
{
	struct node_health *h = ctx;
	struct health_entry e;
	struct replica_item it;
	uint8_t key[PREFIX_LEN + HEALTH_SITE_MAX];
	uint32_t cursor = 0;
	while (health_table_next(h->table, &cursor, &e) == 0) {
		item_of(&e, key, &it);
		if (replica_bucket(it.key, it.key_len, buckets) == bucket && fn(cbctx, &it) != 0)
			break;
	}
	return 0;
}

void node_health_app(struct node *n, struct replica_app *out)
{
	*out = (struct replica_app){.ctx = &n->health,
	                            .lookup = app_lookup,
	                            .fetch = app_fetch,
	                            .offer = app_offer,
	                            .bucket_hashes = app_bucket_hashes,
	                            .bucket_items = app_bucket_items};
}
