/*
 * intent_store.c - the LWW map of intents (include/shoal/intent_store.h).
 *
 * Items live in one array sorted by (kind, name): lookups are a binary
 * search, iteration is in the order the API lists them, and the trust kinds
 * sit next to each other. Insertion moves pointers (8 bytes per item), which
 * at the tens of thousands of intents a fleet holds costs microseconds.
 *
 * An offer is all-or-nothing: every check runs before the persist hook, the
 * hook runs before memory changes, and a hook failure leaves the store as
 * it was, so "rejected" always means "nothing changed" - for the API's
 * answer and for the digest a peer compares.
 *
 * A stub (intent_stub.c) is an item whose bytes are its stub record; the
 * map treats it like any item - the merge, the buckets and the trust rules
 * read only the header it keeps.
 */
#include "intent_store_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "shoal/error.h"
#include "shoal/hlc.h"
#include "shoal/selector.h"

#include "intent_internal.h"

int intent_store_new(struct intent_store **out, const struct intent_store_config *cfg,
                     const struct shoal_env *env, const struct intent_store_hooks *hooks)
{
	struct intent_store *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->cfg = *cfg;
	if (s->cfg.horizon_ms == 0)
		s->cfg.horizon_ms = INTENT_HORIZON_MS;
	if (s->cfg.skew_ms == 0)
		s->cfg.skew_ms = INTENT_SKEW_MS;
	if (s->cfg.pending_max == 0)
		s->cfg.pending_max = INTENT_PENDING_MAX;
	s->env = *env;
	if (hooks != NULL)
		s->hooks = *hooks;
	*out = s;
	return 0;
}

static void item_free(struct intent_item *it)
{
	if (it != NULL)
		free(it->bytes);
	free(it);
}

void intent_store_delete(struct intent_store *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->count; i++)
		item_free(s->items[i]);
	free(s->items);
	intent_pending_clear(s);
	free(s);
}

/* ---- the sorted array ---- */

static int cmp_key(enum intent_kind ka, const char *na, enum intent_kind kb, const char *nb)
{
	if (ka != kb)
		return ka < kb ? -1 : 1;
	return strcmp(na, nb);
}

/* Index of (kind, name), or where it would go; *found says which. */
static size_t search(const struct intent_store *s, enum intent_kind kind, const char *name,
                     bool *found)
{
	size_t lo = 0, hi = s->count;
	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct intent_body *b = &s->items[mid]->env.body;
		int c = cmp_key(b->kind, b->name, kind, name);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t intent_store_kind_first(const struct intent_store *s, enum intent_kind kind)
{
	bool found;
	return search(s, kind, "", &found); /* "" sorts before every name */
}

const struct intent_item *intent_store_get(const struct intent_store *s, enum intent_kind kind,
                                           const char *name)
{
	bool found;
	size_t i = search(s, kind, name, &found);
	return found ? s->items[i] : NULL;
}

const struct intent_item *intent_store_get_id(const struct intent_store *s, const uint8_t id[32])
{
	/* Linear: the API asks by id rarely; gossip asks by key. */
	for (size_t i = 0; i < s->count; i++)
		if (memcmp(s->items[i]->env.id, id, 32) == 0)
			return s->items[i];
	return NULL;
}

size_t intent_store_count(const struct intent_store *s)
{
	return s->count;
}

const struct intent_item *intent_store_at(const struct intent_store *s, size_t i)
{
	return i < s->count ? s->items[i] : NULL;
}

void intent_store_key(const struct intent_item *item, char out[INTENT_KEY_MAX])
{
	snprintf(out, INTENT_KEY_MAX, "%s/%s", intent_kind_name(item->env.body.kind),
	         item->env.body.name);
}

uint16_t intent_store_key_bucket(enum intent_kind kind, const char *name)
{
	char key[INTENT_KEY_MAX];
	uint8_t h[32];
	int n = snprintf(key, sizeof(key), "%s/%s", intent_kind_name(kind), name);
	crypto_hash_sha256(h, (const uint8_t *)key, n > 0 ? (size_t)n : 0);
	return (uint16_t)(h[0] << 4 | h[1] >> 4);
}

const uint8_t *intent_store_bucket(const struct intent_store *s, uint16_t b)
{
	return s->buckets[b % INTENT_BUCKETS];
}

void intent_store_digest(const struct intent_store *s, uint8_t out[32])
{
	crypto_hash_sha256_state st;
	uint8_t count[8];
	for (int i = 0; i < 8; i++)
		count[i] = (uint8_t)((uint64_t)s->count >> (56 - 8 * i));
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, count, sizeof(count));
	crypto_hash_sha256_update(&st, &s->buckets[0][0], sizeof(s->buckets));
	crypto_hash_sha256_final(&st, out);
}

static void bucket_xor(struct intent_store *s, const struct intent_item *it)
{
	for (int i = 0; i < 32; i++)
		s->buckets[it->bucket][i] ^= it->env.id[i];
}

size_t intent_store_pending(const struct intent_store *s)
{
	return s->npending;
}

const struct intent_store_stats *intent_store_stats(const struct intent_store *s)
{
	return &s->stats;
}

/* ---- merge ---- */

/* The total order every node computes: (hlc, signer, id). */
static int envelope_cmp(const struct intent_envelope *a, const struct intent_envelope *b)
{
	if (a->body.hlc != b->body.hlc)
		return a->body.hlc < b->body.hlc ? -1 : 1;
	int c = memcmp(a->body.signer, b->body.signer, 32);
	if (c != 0)
		return c < 0 ? -1 : 1;
	c = memcmp(a->id, b->id, 32);
	return c < 0 ? -1 : c > 0;
}

/* Copy the envelope into a new item whose view points into the copy. */
static struct intent_item *item_make(const uint8_t *bytes, size_t len, uint64_t received_ms,
                                     const char *from)
{
	struct intent_item *it = calloc(1, sizeof(*it));
	if (it == NULL || (it->bytes = malloc(len)) == NULL) {
		free(it);
		return NULL;
	}
	memcpy(it->bytes, bytes, len);
	it->len = len;
	it->held = len;
	if (intent_envelope_decode(it->bytes, len, &it->env, NULL) != 0) {
		item_free(it);
		return NULL;
	}
	crypto_hash_sha256(it->digest, it->bytes, len);
	it->bucket = intent_store_key_bucket(it->env.body.kind, it->env.body.name);
	it->received_ms = received_ms;
	snprintf(it->from, sizeof(it->from), "%s", from != NULL ? from : "");
	return it;
}

/* A stub item standing for `whole` (which is left as it is). */
static struct intent_item *stub_make(const struct intent_item *whole)
{
	struct shoal_buf rec;
	size_t size;
	uint8_t digest[32];
	struct intent_item *it = calloc(1, sizeof(*it));
	shoal_buf_create(&rec, INTENT_KEY_MAX + INTENT_TARGET_MAX + 256);
	if (it == NULL || intent_stub_pack(&whole->env, whole->len, whole->digest, &rec) != 0 ||
	    intent_stub_decode(rec.data, rec.len, &it->env, &size, digest, NULL) != 0) {
		shoal_buf_destroy(&rec);
		free(it);
		return NULL;
	}
	it->bytes = rec.data; /* the buffer's memory is the item's now */
	it->held = rec.len;
	it->len = whole->len;
	it->stub = true;
	memcpy(it->digest, whole->digest, 32);
	it->bucket = whole->bucket;
	it->received_ms = whole->received_ms;
	memcpy(it->from, whole->from, sizeof(it->from));
	return it;
}

/* Whether the hook wants this new put kept as a stub. */
static bool stub_wanted(const struct intent_store *s, const struct intent_item *it)
{
	return s->hooks.keep_whole != NULL && it->env.body.op == INTENT_PUT &&
	       intent_kind_stubbable(it->env.body.kind) &&
	       !s->hooks.keep_whole(s->hooks.ctx, s, it);
}

static int grow(struct intent_store *s)
{
	if (s->count < s->cap)
		return 0;
	size_t ncap = s->cap ? s->cap * 2 : 64;
	struct intent_item **n = realloc(s->items, ncap * sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	s->items = n;
	s->cap = ncap;
	return 0;
}

/* Put `it` at index i (replacing the item there if `replace`). */
static void install(struct intent_store *s, struct intent_item *it, size_t i, bool replace)
{
	if (replace) {
		bucket_xor(s, s->items[i]);
		item_free(s->items[i]);
	} else {
		memmove(&s->items[i + 1], &s->items[i], (s->count - i) * sizeof(*s->items));
		s->count++;
	}
	s->items[i] = it;
	bucket_xor(s, it);
}

static enum intent_outcome reject(struct intent_store *s, const struct intent_error *err)
{
	s->stats.rejected[err->reason]++;
	return INTENT_REJECTED;
}

/* Time rules: the horizon for everything but a resync, the skew bound at
 * the API. */
static int check_time(const struct intent_store *s, const struct intent_offer *o,
                      const struct intent_body *b, struct intent_error *err)
{
	uint64_t ms = shoal_hlc_ms(b->hlc);
	if (o->source != INTENT_FROM_RESYNC && ms + s->cfg.horizon_ms < o->now_ms)
		return intent_fail(err, INTENT_R_HORIZON,
		                   "version is %llu ms old, beyond the %llu ms horizon",
		                   (unsigned long long)(o->now_ms - ms),
		                   (unsigned long long)s->cfg.horizon_ms);
	if (o->source == INTENT_FROM_API &&
	    (ms > o->now_ms + s->cfg.skew_ms || ms + s->cfg.skew_ms < o->now_ms))
		return intent_fail(err, INTENT_R_SKEW,
		                   "version time is %s this node's clock by more than %llu ms",
		                   ms > o->now_ms ? "ahead of" : "behind",
		                   (unsigned long long)s->cfg.skew_ms);
	return 0;
}

/* The selector text an intent targets: its own, or its virtual site's when
 * this node holds that VirtualSite. Returns 0 when it cannot be known here. */
static int target_selector(const struct intent_store *s, const struct intent_body *b,
                           const uint8_t **text, uint32_t *len)
{
	if (b->target_type == INTENT_TARGET_SELECTOR) {
		*text = b->target;
		*len = b->target_len;
		return 1;
	}
	char name[INTENT_NAME_MAX + 1];
	if (b->target_type != INTENT_TARGET_VIRTUAL_SITE || b->target_len > INTENT_NAME_MAX)
		return 0;
	memcpy(name, b->target, b->target_len);
	name[b->target_len] = '\0';
	const struct intent_item *vs = intent_store_get(s, INTENT_VIRTUAL_SITE, name);
	if (vs == NULL || vs->env.body.op != INTENT_PUT)
		return 0;
	return intent_virtual_site_read(vs->env.body.spec, vs->env.body.spec_len, text, len) == 0;
}

/* At the API, a granted key's target must leave some site inside its scope.
 * Replicas never judge this: the effective target (target AND scope) is
 * evaluated per site when applying, and a VirtualSite edited later cannot
 * widen it. */
static int check_scope(const struct intent_store *s, const struct intent_body *b,
                       const struct intent_grant *grant, struct intent_error *err)
{
	const uint8_t *text;
	uint32_t len;
	struct selector *target = NULL, *scope = NULL, *both = NULL;
	char why[SELECTOR_ERR_MAX];
	int rc = 0;
	if (!target_selector(s, b, &text, &len))
		return 0;
	if (selector_parse((const char *)text, len, &target, why, sizeof(why)) != 0 ||
	    selector_parse((const char *)grant->scope, grant->scope_len, &scope, why,
	                   sizeof(why)) != 0 ||
	    selector_and(target, scope, &both, why, sizeof(why)) != 0)
		rc = intent_fail(err, INTENT_R_OUT_OF_SCOPE, "target and key scope: %s", why);
	else if (!selector_satisfiable(both))
		rc = intent_fail(err, INTENT_R_OUT_OF_SCOPE,
		                 "target lies outside the signer's scope (%.*s)",
		                 (int)grant->scope_len, (const char *)grant->scope);
	selector_delete(both);
	selector_delete(scope);
	selector_delete(target);
	return rc;
}

/* Trust rules. Returns 0 to go on, 1 to park the envelope, or an error. */
static int check_trust(const struct intent_store *s, const struct intent_offer *o,
                       const struct intent_body *b, struct intent_error *err)
{
	if (b->kind == INTENT_KEY_GRANT || b->kind == INTENT_KEY_REVOKE) {
		if (!trust_is_root(s->cfg.roots, b->signer))
			return intent_fail(err, INTENT_R_NOT_ROOT,
			                   "%s must be signed by a root key",
			                   intent_kind_name(b->kind));
		return 0;
	}
	struct intent_grant grant;
	switch (intent_store_judge(s, b->signer, b->hlc, &grant)) {
	case INTENT_TRUST_ROOT:
		return 0;
	case INTENT_TRUST_GRANTED:
		if (o->source == INTENT_FROM_API && b->op == INTENT_PUT)
			return check_scope(s, b, &grant, err);
		return 0;
	case INTENT_TRUST_REVOKED:
		if (o->source != INTENT_FROM_API)
			return 0; /* kept, reported revoked: see intent_source */
		return intent_fail(err, INTENT_R_REVOKED, "the signer's key was revoked");
	case INTENT_TRUST_EXPIRED:
		if (o->source != INTENT_FROM_API)
			return 1; /* a longer grant may still be on its way */
		return intent_fail(err, INTENT_R_EXPIRED,
		                   "no grant of the signer's key covers the version's time");
	default:
		if (o->source != INTENT_FROM_API)
			return 1;
		return intent_fail(err, INTENT_R_UNKNOWN_SIGNER,
		                   "the signer is neither a root nor granted");
	}
}

/* The envelope a held stub stands for came back: make the item whole again
 * (unless the hook still wants a stub: then it is a duplicate). The
 * envelope's signature was verified by the caller; its time and trust were
 * judged when the stub was committed. */
static enum intent_outcome fill(struct intent_store *s, const struct intent_offer *o, size_t at,
                                struct intent_error *err)
{
	const struct intent_item *held = s->items[at];
	struct intent_item *it = item_make(o->bytes, o->len, held->received_ms, held->from);
	if (it == NULL) {
		intent_fail(err, INTENT_R_STORE, "out of memory");
		return reject(s, err);
	}
	if (stub_wanted(s, it)) {
		item_free(it);
		s->stats.duplicates++;
		return INTENT_DUPLICATE;
	}
	if (s->hooks.persist != NULL && s->hooks.persist(s->hooks.ctx, it, held) != 0) {
		item_free(it);
		intent_fail(err, INTENT_R_STORE, "could not persist the intent");
		return reject(s, err);
	}
	install(s, it, at, true);
	s->stats.filled++;
	if (s->hooks.committed != NULL)
		s->hooks.committed(s->hooks.ctx, it);
	return INTENT_FILLED;
}

enum intent_outcome intent_store_offer(struct intent_store *s, struct intent_offer *o,
                                       struct intent_error *err)
{
	struct intent_error local;
	struct intent_envelope e;
	int rc;

	if (err == NULL)
		err = &local;
	err->reason = INTENT_OK;
	err->text[0] = '\0';
	if (intent_envelope_decode(o->bytes, o->len, &e, err) != 0)
		return reject(s, err);
	memcpy(o->id, e.id, 32);
	o->version = e.body.hlc;
	o->kind = e.body.kind;
	memcpy(o->name, e.body.name, sizeof(o->name));
	if (o->expect_id != NULL && memcmp(o->expect_id, e.id, 32) != 0) {
		intent_fail(err, INTENT_R_HASH_MISMATCH, "body hash differs from the announced id");
		return reject(s, err);
	}
	if (shoal_env_verify(&s->env, e.sig, e.body_bytes, e.body_len, e.body.signer) != 0) {
		intent_fail(err, INTENT_R_SIGNATURE,
		            "signature does not verify against the body's signer");
		return reject(s, err);
	}
	if (intent_spec_validate(&e.body, err) != 0)
		return reject(s, err);
	if (s->hooks.validate != NULL && s->hooks.validate(s->hooks.ctx, &e, err) != 0) {
		if (err->reason == INTENT_OK)
			intent_fail(err, INTENT_R_SCHEMA, "refused by the node's checks");
		return reject(s, err);
	}
	bool found;
	size_t at = search(s, e.body.kind, e.body.name, &found);
	const struct intent_item *held = found ? s->items[at] : NULL;
	if (held != NULL && held->stub && memcmp(held->env.id, e.id, 32) == 0)
		return fill(s, o, at, err); /* judged when the stub was committed */
	if (check_time(s, o, &e.body, err) != 0)
		return reject(s, err);
	if (held != NULL && memcmp(held->env.id, e.id, 32) == 0) {
		s->stats.duplicates++;
		return INTENT_DUPLICATE;
	}
	if ((rc = check_trust(s, o, &e.body, err)) < 0)
		return reject(s, err);
	if (rc == 1) {
		intent_pending_add(s, o, &e);
		return INTENT_PENDING;
	}
	if (held != NULL && envelope_cmp(&e, &held->env) < 0) {
		intent_fail(err, INTENT_R_STALE, "version %llu loses to the held version %llu",
		            (unsigned long long)e.body.hlc, (unsigned long long)held->env.body.hlc);
		return reject(s, err);
	}
	if (held != NULL && o->source == INTENT_FROM_API && !e.body.force &&
	    held->env.body.hlc > e.body.replaces) {
		intent_fail(err, INTENT_R_CONFLICT,
		            "replaces version %llu but %llu is held (re-read it, or force)",
		            (unsigned long long)e.body.replaces,
		            (unsigned long long)held->env.body.hlc);
		return reject(s, err);
	}

	struct intent_item *it = item_make(o->bytes, o->len, o->now_ms, o->from);
	bool stub = it != NULL && stub_wanted(s, it);
	if (stub) {
		struct intent_item *st = stub_make(it);
		item_free(it);
		it = st;
	}
	if (it == NULL || grow(s) != 0) {
		item_free(it);
		intent_fail(err, INTENT_R_STORE, "out of memory");
		return reject(s, err);
	}
	if (s->hooks.persist != NULL && s->hooks.persist(s->hooks.ctx, it, held) != 0) {
		item_free(it);
		intent_fail(err, INTENT_R_STORE, "could not persist the intent");
		return reject(s, err);
	}
	install(s, it, at, found);
	s->stats.accepted++;
	s->stats.stubbed += stub;
	if (s->hooks.committed != NULL)
		s->hooks.committed(s->hooks.ctx, it);
	if (e.body.kind == INTENT_KEY_GRANT && s->npending > 0)
		intent_pending_retry(s, o->now_ms);
	return INTENT_ACCEPTED;
}

int intent_store_load(struct intent_store *s, const uint8_t *bytes, size_t len,
                      uint64_t received_ms, const char *from, struct intent_error *err)
{
	struct intent_envelope e;
	bool found;
	int rc = intent_envelope_open(&s->env, bytes, len, &e, err);
	if (rc != 0)
		return rc;
	size_t at = search(s, e.body.kind, e.body.name, &found);
	if (found && envelope_cmp(&e, &s->items[at]->env) <= 0)
		return 0; /* a winner is already loaded */
	struct intent_item *it = item_make(bytes, len, received_ms, from);
	if (it == NULL || grow(s) != 0) {
		item_free(it);
		return -ENOMEM;
	}
	install(s, it, at, found);
	return 0;
}

int intent_store_load_stub(struct intent_store *s, const uint8_t *record, size_t len,
                           uint64_t received_ms, const char *from, struct intent_error *err)
{
	struct intent_item *it = calloc(1, sizeof(*it));
	bool found;
	int rc;
	if (it == NULL || (it->bytes = malloc(len > 0 ? len : 1)) == NULL) {
		free(it);
		return -ENOMEM;
	}
	memcpy(it->bytes, record, len);
	it->held = len;
	it->stub = true;
	if ((rc = intent_stub_decode(it->bytes, len, &it->env, &it->len, it->digest, err)) != 0 ||
	    !intent_kind_stubbable(it->env.body.kind) || it->env.body.op != INTENT_PUT) {
		item_free(it);
		return rc != 0 ? rc
		               : intent_fail(err, INTENT_R_MALFORMED, "no stub of this kind or op");
	}
	it->bucket = intent_store_key_bucket(it->env.body.kind, it->env.body.name);
	it->received_ms = received_ms;
	snprintf(it->from, sizeof(it->from), "%s", from != NULL ? from : "");
	size_t at = search(s, it->env.body.kind, it->env.body.name, &found);
	if (found && envelope_cmp(&it->env, &s->items[at]->env) <= 0) {
		item_free(it);
		return 0; /* a winner is already loaded */
	}
	if (grow(s) != 0) {
		item_free(it);
		return -ENOMEM;
	}
	install(s, it, at, found);
	return 0;
}

int intent_store_cut(struct intent_store *s, enum intent_kind kind, const char *name)
{
	bool found;
	size_t at = search(s, kind, name, &found);
	if (!found)
		return SHOAL_E_NOT_FOUND;
	const struct intent_item *held = s->items[at];
	if (held->stub || held->env.body.op != INTENT_PUT || !intent_kind_stubbable(kind))
		return SHOAL_E_STATE;
	struct intent_item *it = stub_make(held);
	if (it == NULL)
		return -ENOMEM;
	if (s->hooks.persist != NULL && s->hooks.persist(s->hooks.ctx, it, held) != 0) {
		item_free(it);
		return SHOAL_E_STORE;
	}
	install(s, it, at, true);
	s->stats.stubbed++;
	return 0;
}

size_t intent_store_gc(struct intent_store *s, uint64_t now_ms)
{
	size_t kept = 0, collected = 0;
	uint64_t before = now_ms > s->cfg.horizon_ms ? now_ms - s->cfg.horizon_ms : 0;
	for (size_t i = 0; i < s->count; i++) {
		struct intent_item *it = s->items[i];
		bool old =
		        it->env.body.op == INTENT_DELETE && shoal_hlc_ms(it->env.body.hlc) < before;
		if (old && (s->hooks.forget == NULL || s->hooks.forget(s->hooks.ctx, it) == 0)) {
			bucket_xor(s, it);
			item_free(it);
			collected++;
			continue;
		}
		s->items[kept++] = it;
	}
	s->count = kept;
	s->stats.collected += collected;
	intent_pending_expire(s, before);
	return collected;
}
