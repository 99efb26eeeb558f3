/*
 * intents.c - shoald's side of the intent store: trust roots from --trust,
 * LMDB persistence, reload at start, the App manifests check, log lines,
 * and the tombstone collection timer.
 *
 * The core store calls persist before it changes memory; this file commits
 * one LMDB write transaction there, so when the store says "accepted" the
 * envelope is on disk and the API may answer 202.
 *
 * LMDB database "intents": key "Kind/name", value
 *
 *   +--------+------------------+--------+-----------+--------------------+
 *   | fmt 1  | received_ms (BE8) | flen 1 | from flen | binary envelope    |
 *   +--------+------------------+--------+-----------+--------------------+
 *
 * or, for a stub a leaf keeps (leaf_intents.c), fmt 2 and the stub record
 * (crdt/intent_stub.c) in place of the envelope.
 */
#include "node.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "shoal/error.h"
#include "shoal/mp.h"

#include "clock.h"
#include "manifests.h"

#define RECORD_FORMAT  1
#define RECORD_STUB    2
#define RECORD_HEAD    10 /* format + received_ms + from length */
#define TRUST_FILE_MAX (64 * 1024)
/* Tombstones are collected on this period; the horizon is days, so a
 * minute is plenty fine. */
#define GC_PERIOD_MS (60 * 1000)

uint64_t node_wall_ms(void)
{
	return node_clock_wall_us() / 1000;
}

void node_intents_hex(const uint8_t *bytes, size_t len, char *out)
{
	sodium_bin2hex(out, len * 2 + 1, bytes, len);
}

/* Bytes of the LMDB record persist writes for `it`. */
size_t node_intents_record_bytes(const struct intent_item *it)
{
	return RECORD_HEAD + strlen(it->from) + it->held;
}

static int persist(void *ctx, const struct intent_item *it, const struct intent_item *replaced)
{
	struct node *n = ctx;
	char key[INTENT_KEY_MAX];
	size_t flen = strlen(it->from);
	MDB_txn *txn;
	(void)replaced; /* same key: the put below overwrites it */
	n->intents_changes++;

	intent_store_key(it, key);
	MDB_val k = {strlen(key), key};
	MDB_val v = {RECORD_HEAD + flen + it->held, NULL};
	if (mdb_txn_begin(n->store.env, NULL, 0, &txn) != 0)
		return SHOAL_E_STORE;
	if (mdb_put(txn, n->intents_db, &k, &v, MDB_RESERVE) != 0) {
		mdb_txn_abort(txn);
		return SHOAL_E_STORE;
	}
	uint8_t *p = v.mv_data;
	p[0] = it->stub ? RECORD_STUB : RECORD_FORMAT;
	for (int i = 0; i < 8; i++)
		p[1 + i] = (uint8_t)(it->received_ms >> (56 - 8 * i));
	p[9] = (uint8_t)flen;
	memcpy(p + RECORD_HEAD, it->from, flen);
	memcpy(p + RECORD_HEAD + flen, it->bytes, it->held);
	return mdb_txn_commit(txn) == 0 ? 0 : SHOAL_E_STORE;
}

static int forget(void *ctx, const struct intent_item *it)
{
	struct node *n = ctx;
	char key[INTENT_KEY_MAX];
	MDB_txn *txn;
	n->intents_changes++;
	intent_store_key(it, key);
	MDB_val k = {strlen(key), key};
	if (mdb_txn_begin(n->store.env, NULL, 0, &txn) != 0)
		return SHOAL_E_STORE;
	int rc = mdb_del(txn, n->intents_db, &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return SHOAL_E_STORE;
	}
	return mdb_txn_commit(txn) == 0 ? 0 : SHOAL_E_STORE;
}

static void committed(void *ctx, const struct intent_item *it)
{
	struct node *n = ctx;
	char id[65];
	node_intents_hex(it->env.id, 32, id);
	shoal_hlc_observe(&n->hlc, it->env.body.hlc);
	node_log_event(&n->log, NODE_LOG_INFO, "intent_committed",
	               json_pack("{s:s,s:s,s:s,s:I,s:s,s:s}", "id", id, "kind",
	                         intent_kind_name(it->env.body.kind), "name", it->env.body.name,
	                         "version", (json_int_t)it->env.body.hlc, "op",
	                         it->env.body.op == INTENT_DELETE ? "delete" : "put", "from",
	                         it->from));
	node_intents_wire_committed(n, it);
	node_reconcile_kick(n);
}

/* An App's manifests must be Kubernetes objects in YAML. */
static int validate(void *ctx, const struct intent_envelope *e, struct intent_error *err)
{
	struct intent_app_spec app;
	(void)ctx;
	if (e->body.kind != INTENT_APP || e->body.op != INTENT_PUT)
		return 0;
	if (intent_app_spec_read(e->body.spec, e->body.spec_len, &app) != 0)
		return -1; /* the schema has refused it already */
	char why[160];
	if (node_manifests_check(app.manifests, app.manifests_len, why, sizeof(why)) != 0) {
		err->reason = INTENT_R_SCHEMA;
		snprintf(err->text, sizeof(err->text), "spec.manifests: %s", why);
		return -1;
	}
	return 0;
}

static int load_roots(struct node *n, char *err, size_t errcap)
{
	const char *path = n->cfg->trust_path;
	char why[160];
	trust_roots_create(&n->roots);
	if (path == NULL)
		return 0;
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, errcap, "trust file %s: %s", path, strerror(errno));
		return SHOAL_E_CONFIG;
	}
	char *text = malloc(TRUST_FILE_MAX + 1);
	size_t len = text != NULL ? fread(text, 1, TRUST_FILE_MAX + 1, f) : 0;
	fclose(f);
	int rc = 0;
	if (text == NULL)
		rc = -ENOMEM;
	else if (len > TRUST_FILE_MAX)
		rc = SHOAL_E_CONFIG, snprintf(err, errcap, "trust file %s: over 64 KiB", path);
	else if (trust_roots_parse(&n->roots, text, len, why, sizeof(why)) != 0)
		rc = SHOAL_E_CONFIG, snprintf(err, errcap, "trust file %s: %s", path, why);
	else if (n->roots.n == 0)
		rc = SHOAL_E_CONFIG, snprintf(err, errcap, "trust file %s: no keys", path);
	free(text);
	return rc;
}

/* Put back every envelope committed before; a record that no longer
 * verifies is logged and skipped (it stays on disk for inspection). */
static int load_records(struct node *n)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t loaded = 0, bad = 0, stubs = 0, bytes = 0;
	if (mdb_txn_begin(n->store.env, NULL, MDB_RDONLY, &txn) != 0)
		return SHOAL_E_STORE;
	if (mdb_cursor_open(txn, n->intents_db, &cur) != 0) {
		mdb_txn_abort(txn);
		return SHOAL_E_STORE;
	}
	int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0) {
		const uint8_t *p = v.mv_data;
		struct intent_error err = {0};
		char from[INTENT_FROM_MAX + 1];
		uint64_t received = 0;
		size_t flen = v.mv_size >= RECORD_HEAD ? p[9] : 0;
		if (v.mv_size < RECORD_HEAD + flen ||
		    (p[0] != RECORD_FORMAT && p[0] != RECORD_STUB) || flen > INTENT_FROM_MAX) {
			bad++;
		} else {
			const uint8_t *rec = p + RECORD_HEAD + flen;
			size_t rlen = v.mv_size - RECORD_HEAD - flen;
			for (int i = 0; i < 8; i++)
				received = received << 8 | p[1 + i];
			memcpy(from, p + RECORD_HEAD, flen);
			from[flen] = '\0';
			if ((p[0] == RECORD_STUB ? intent_store_load_stub(n->intents, rec, rlen,
			                                                  received, from, &err)
			                         : intent_store_load(n->intents, rec, rlen,
			                                             received, from, &err)) == 0) {
				loaded++;
				stubs += p[0] == RECORD_STUB;
				bytes += v.mv_size;
			} else {
				bad++;
			}
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	n->leaf_wanting = (uint32_t)stubs; /* a full node fills them (leaf_intents.c) */
	for (size_t i = 0; i < intent_store_count(n->intents); i++)
		shoal_hlc_observe(&n->hlc, intent_store_at(n->intents, i)->env.body.hlc);
	node_log_event(&n->log, bad > 0 ? NODE_LOG_WARN : NODE_LOG_INFO, "intents_loaded",
	               json_pack("{s:I,s:I,s:I,s:I}", "intents", (json_int_t)loaded, "stubs",
	                         (json_int_t)stubs, "bytes", (json_int_t)bytes, "unreadable",
	                         (json_int_t)bad));
	return 0;
}

static void on_gc(uv_timer_t *t)
{
	struct node *n = t->data;
	size_t collected = intent_store_gc(n->intents, node_wall_ms());
	node_intents_alive(n);
	node_intents_peer_source(n); /* ends a finished resync even when nothing arrives */
	if (collected > 0)
		node_log_event(&n->log, NODE_LOG_INFO, "intents_collected",
		               json_pack("{s:I}", "tombstones", (json_int_t)collected));
}

int node_intents_open(struct node *n, const struct shoal_env *env, char *err, size_t errcap)
{
	int rc = load_roots(n, err, errcap);
	if (rc != 0)
		return rc;
	shoal_hlc_create(&n->hlc);
	if ((rc = node_store_db(&n->store, "intents", &n->intents_db)) != 0) {
		snprintf(err, errcap, "cannot open the intents database");
		return rc;
	}
	struct intent_store_config cfg = {.roots = &n->roots};
	struct intent_store_hooks hooks = {.ctx = n,
	                                   .persist = persist,
	                                   .validate = validate,
	                                   .forget = forget,
	                                   .committed = committed,
	                                   .keep_whole = node_leaf_keep_whole};
	if ((rc = intent_store_new(&n->intents, &cfg, env, &hooks)) != 0) {
		snprintf(err, errcap, "cannot create the intent store");
		return rc;
	}
	node_intents_resync_begin(n);
	if ((rc = load_records(n)) != 0) {
		snprintf(err, errcap, "cannot read the intents database");
		return rc;
	}
	node_intents_resync_loaded(n);
	intent_store_gc(n->intents, node_wall_ms());
	uv_timer_init(n->loop, &n->intents_gc);
	n->intents_gc.data = n;
	n->intents_gc_open = true;
	uv_timer_start(&n->intents_gc, on_gc, GC_PERIOD_MS, GC_PERIOD_MS);
	if (n->roots.n == 0)
		node_log_msg(&n->log, NODE_LOG_WARN, "no_trust_roots",
		             "no --trust file: this node refuses every intent at its API");
	return 0;
}

void node_intents_close(struct node *n)
{
	if (n->intents != NULL)
		node_intents_alive(n);
	node_intents_resync_stop(n);
	if (n->intents_gc_open)
		uv_close((uv_handle_t *)&n->intents_gc, NULL);
	n->intents_gc_open = false;
	intent_store_delete(n->intents);
	n->intents = NULL;
}
