/*
 * health_table.c - the newest health record of every site
 * (include/shoal/health.h, docs/health.md "Merge").
 *
 * One last-writer-wins register per site, keyed by the site's name, where
 * only the site can write: a record counts only if it verifies under the
 * key membership binds to its name, and the higher version (the owner's
 * HLC) wins. Equal versions with different bytes (an owner that lost its
 * clock and re-signed) are ordered by digest, so every node keeps the same
 * bytes and anti-entropy settles. The table keeps the envelope as
 * received (to serve it on), its digest and the few fields an overview
 * needs; readers decode the bytes again for the rest.
 *
 * Open addressing with linear probing and backward-shift deletion, keyed
 * by SipHash under a per-table random key: names come from the network.
 *
 * A leaf's table (docs/health.md, "Leaf mode") keeps one site's record
 * only, its own: shoald and the simulator both ask the table, so a leaf
 * behaves the same in both.
 */
#include "shoal/health.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "shoal/error.h"

struct slot {
	char *site; /* NUL-terminated; NULL marks an empty slot */
	uint32_t site_len;
	uint32_t hash;  /* of the site name: most probes of other sites stop here */
	uint8_t *bytes; /* the envelope as received */
	uint32_t len;
	uint64_t version;
	uint8_t digest[32]; /* SHA-256 of bytes */
	uint64_t received;  /* `now` when accepted */
	struct health_score score;
};

struct health_table {
	const struct shoal_env *env;
	health_key_fn key_fn;
	void *key_ctx;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	struct slot *slots; /* cap entries, a power of two */
	uint32_t cap;
	uint32_t count;
	struct health_record *scratch; /* one decode at a time; ~12 KB */
	char *only;                    /* a leaf's table: the one site it keeps, else NULL */
	size_t only_len;
};

int health_table_new(struct health_table **out, const struct shoal_env *env, health_key_fn key_fn,
                     void *key_ctx)
{
	struct health_table *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->env = env;
	t->key_fn = key_fn;
	t->key_ctx = key_ctx;
	t->cap = 64;
	t->slots = calloc(t->cap, sizeof(*t->slots));
	t->scratch = malloc(sizeof(*t->scratch));
	if (t->slots == NULL || t->scratch == NULL) {
		free(t->slots);
		free(t->scratch);
		free(t);
		return -ENOMEM;
	}
	env->random_bytes(env->ctx, t->hash_key, sizeof(t->hash_key));
	*out = t;
	return 0;
}

void health_table_delete(struct health_table *t)
{
	if (t == NULL)
		return;
	for (uint32_t i = 0; i < t->cap; i++) {
		free(t->slots[i].site);
		free(t->slots[i].bytes);
	}
	free(t->slots);
	free(t->scratch);
	free(t->only);
	free(t);
}

int health_table_keep_only(struct health_table *t, const char *site, size_t len)
{
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, site, len);
	copy[len] = '\0';
	free(t->only);
	t->only = copy;
	t->only_len = len;
	return 0;
}

bool health_table_keeps(const struct health_table *t, const char *site, size_t len)
{
	return t->only == NULL || (len == t->only_len && memcmp(site, t->only, len) == 0);
}

/* The key of a site this table keeps; none for another site on a leaf, so
 * its record is refused (SHOAL_E_FORBIDDEN) before any signature check. */
static int kept_key(void *ctx, const char *site, size_t len, uint8_t pk[32])
{
	const struct health_table *t = ctx;
	if (!health_table_keeps(t, site, len))
		return SHOAL_E_NOT_FOUND;
	return t->key_fn(t->key_ctx, site, len, pk);
}

static uint32_t hash_of(const struct health_table *t, const char *site, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;
	crypto_shorthash(h, (const uint8_t *)site, len, t->hash_key);
	memcpy(&v, h, sizeof(v));
	return (uint32_t)v;
}

/* The slot holding `site` (hashed to `hash`), or the empty slot where it
 * would go. */
static uint32_t probe_hashed(const struct health_table *t, const char *site, size_t len,
                             uint32_t hash)
{
	uint32_t i = hash & (t->cap - 1);
	while (t->slots[i].site != NULL &&
	       !(t->slots[i].hash == hash && t->slots[i].site_len == len &&
	         memcmp(t->slots[i].site, site, len) == 0))
		i = (i + 1) & (t->cap - 1);
	return i;
}

static uint32_t probe(const struct health_table *t, const char *site, size_t len)
{
	return probe_hashed(t, site, len, hash_of(t, site, len));
}

static int grow(struct health_table *t)
{
	uint32_t old_cap = t->cap;
	struct slot *old = t->slots;
	struct slot *fresh = calloc((size_t)old_cap * 2, sizeof(*fresh));
	if (fresh == NULL)
		return -ENOMEM;
	t->slots = fresh;
	t->cap = old_cap * 2;
	for (uint32_t i = 0; i < old_cap; i++)
		if (old[i].site != NULL)
			t->slots[probe_hashed(t, old[i].site, old[i].site_len, old[i].hash)] =
			        old[i];
	free(old);
	return 0;
}

static void fill(const struct slot *s, struct health_entry *out)
{
	out->site = s->site;
	out->version = s->version;
	memcpy(out->digest, s->digest, sizeof(out->digest));
	out->received = s->received;
	out->score = s->score;
	out->bytes = s->bytes;
	out->len = s->len;
}

int health_table_offer(struct health_table *t, uint64_t now, const uint8_t *bytes, size_t len)
{
	struct health_record *r = t->scratch;
	uint8_t digest[32];
	int rc = health_open(t->env, kept_key, t, bytes, len, r);
	if (rc != 0)
		return rc;
	crypto_hash_sha256(digest, bytes, len);

	uint32_t i = probe(t, r->site.s, r->site.len);
	struct slot *s = &t->slots[i];
	if (s->site != NULL) {
		if (r->version < s->version ||
		    (r->version == s->version && memcmp(digest, s->digest, 32) <= 0))
			return SHOAL_E_STALE;
	} else if (t->count >= HEALTH_TABLE_SITES_MAX) {
		return SHOAL_E_TOO_BIG;
	}

	/* Allocate everything before touching the table: a refused offer
	 * changes nothing. */
	uint8_t *copy = malloc(len);
	char *name = s->site == NULL ? malloc(r->site.len + 1) : NULL;
	if (copy == NULL || (s->site == NULL && name == NULL)) {
		free(copy);
		free(name);
		return -ENOMEM;
	}
	memcpy(copy, bytes, len);
	if (name != NULL) {
		memcpy(name, r->site.s, r->site.len);
		name[r->site.len] = '\0';
		/* Keep the load under a half so probes stay short. */
		if ((t->count + 1) * 2 > t->cap) {
			if (grow(t) != 0) {
				free(copy);
				free(name);
				return -ENOMEM;
			}
			i = probe(t, name, r->site.len);
			s = &t->slots[i];
		}
		s->site = name;
		s->site_len = r->site.len;
		s->hash = hash_of(t, name, r->site.len);
		t->count++;
	}
	free(s->bytes);
	s->bytes = copy;
	s->len = (uint32_t)len;
	s->version = r->version;
	memcpy(s->digest, digest, sizeof(digest));
	s->received = now;
	s->score = r->score;
	return 0;
}

int health_table_get(const struct health_table *t, const char *site, size_t len,
                     struct health_entry *out)
{
	const struct slot *s = &t->slots[probe(t, site, len)];
	if (s->site == NULL)
		return SHOAL_E_NOT_FOUND;
	fill(s, out);
	return 0;
}

int health_table_lookup(const struct health_table *t, const char *site, size_t len,
                        uint64_t *version, uint8_t digest[32])
{
	struct health_entry e;
	if (!health_table_keeps(t, site, len)) {
		*version = UINT64_MAX;
		memset(digest, 0, 32);
		return 0;
	}
	if (health_table_get(t, site, len, &e) != 0)
		return SHOAL_E_NOT_FOUND;
	*version = e.version;
	memcpy(digest, e.digest, 32);
	return 0;
}

int health_table_next(const struct health_table *t, uint32_t *cursor, struct health_entry *out)
{
	for (; *cursor < t->cap; (*cursor)++) {
		if (t->slots[*cursor].site != NULL) {
			fill(&t->slots[(*cursor)++], out);
			return 0;
		}
	}
	return SHOAL_E_NOT_FOUND;
}

int health_table_remove(struct health_table *t, const char *site, size_t len)
{
	uint32_t i = probe(t, site, len);
	if (t->slots[i].site == NULL)
		return SHOAL_E_NOT_FOUND;
	free(t->slots[i].site);
	free(t->slots[i].bytes);
	memset(&t->slots[i], 0, sizeof(t->slots[i]));
	t->count--;
	/* Backward shift: move up any later entry of the run whose home is
	 * not between the hole and itself, so lookups never stop early. */
	uint32_t hole = i, j = i;
	for (;;) {
		j = (j + 1) & (t->cap - 1);
		if (t->slots[j].site == NULL)
			break;
		uint32_t h = t->slots[j].hash & (t->cap - 1);
		bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
		if (stays)
			continue;
		t->slots[hole] = t->slots[j];
		memset(&t->slots[j], 0, sizeof(t->slots[j]));
		hole = j;
	}
	return 0;
}

uint32_t health_table_count(const struct health_table *t)
{
	return t->count;
}
