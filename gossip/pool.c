/*
 * pool.c - interned site names and interned signed member records.
 *
 * A mesh of N nodes holds N views of the same N records. Interning makes the
 * records themselves exist once per process, however many swims hold them:
 * shoalsim runs thousands of nodes on one pool, so its memory grows with the
 * views (a few bytes per member per node) and not with N^2 copies of
 * 250-byte records. shoald has one swim per pool and still gains the other
 * half: a record whose exact bytes are already here was verified when it
 * arrived, so every later copy of it (gossip repeats each one ~20 times,
 * push-pull sends it again) costs a hash lookup instead of an Ed25519 check.
 *
 * Names map to dense uint32 ids so that each swim can keep its member table
 * as a plain array indexed by id. Both tables are chained hash tables over
 * arrays; ids of released names and records are reused.
 *
 * Records are keyed by crypto_shorthash of their signature with a fixed key.
 * The key is public, so the hash is only a bucket index: a hit is confirmed
 * by comparing all signed bytes and the signature, and nothing that failed
 * verification ever enters the table.
 */
#include "swim_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "shoal/error.h"

/* Caps on the tables (every growable buffer has one): far above any fleet. */
#define POOL_NAMES_MAX (1u << 24)
#define POOL_RECS_MAX  (1u << 24)

static const uint8_t zero_key[crypto_shorthash_KEYBYTES];

static uint64_t short_hash(const uint8_t *p, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;
	crypto_shorthash(h, p, len, zero_key);
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | h[i]; /* little-endian, as siphash defines its output */
	return v;
}

int swim_pool_new(struct swim_pool **out)
{
	struct swim_pool *p;
	if (sodium_init() < 0)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	*out = p;
	return 0;
}

void swim_pool_delete(struct swim_pool *p)
{
	if (p == NULL)
		return;
	for (uint32_t i = 0; i < p->recs_len; i++)
		free(p->recs[i]);
	free(p->recs);
	free(p->rec_free);
	free(p->rec_heads);
	free(p->names);
	free(p->name_heads);
	free(p);
}

size_t swim_pool_bytes(const struct swim_pool *p)
{
	return sizeof(*p) + (size_t)p->names_alloc * sizeof(p->names[0]) +
	       (size_t)p->name_nheads * sizeof(uint32_t) +
	       (size_t)p->recs_alloc * sizeof(p->recs[0]) +
	       (size_t)p->rec_free_alloc * sizeof(p->rec_free[0]) +
	       (size_t)p->rec_nheads * sizeof(uint32_t) + p->rec_bytes;
}

/* Grow an array of `size`-byte elements to hold at least `need`, doubling,
 * never past `max` elements. */
static int grow(void **arr, uint32_t *alloc, uint32_t need, size_t size, uint32_t max)
{
	if (need <= *alloc)
		return 0;
	if (need > max)
		return SHOAL_E_TOO_BIG;
	uint32_t n = *alloc < 16 ? 16 : *alloc;
	while (n < need)
		n = n > max / 2 ? max : n * 2;
	void *a = realloc(*arr, (size_t)n * size);
	if (a == NULL)
		return -ENOMEM;
	memset((uint8_t *)a + (size_t)*alloc * size, 0, (size_t)(n - *alloc) * size);
	*arr = a;
	*alloc = n;
	return 0;
}

/* ---- names ----------------------------------------------------------- */

static int name_rehash(struct swim_pool *p, uint32_t nheads)
{
	uint32_t *h = calloc(nheads, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	for (uint32_t id = 0; id < p->names_len; id++) {
		struct swim_pool_name *n = &p->names[id];
		if (n->refs == 0)
			continue;
		uint32_t b = (uint32_t)n->hash & (nheads - 1);
		n->next = h[b];
		h[b] = id + 1;
	}
	free(p->name_heads);
	p->name_heads = h;
	p->name_nheads = nheads;
	return 0;
}

static uint32_t name_lookup(const struct swim_pool *p, const uint8_t *s, uint32_t len,
                            uint64_t hash)
{
	if (p->name_nheads == 0)
		return SWIM_NONE;
	for (uint32_t i = p->name_heads[hash & (p->name_nheads - 1)]; i != 0;) {
		const struct swim_pool_name *n = &p->names[i - 1];
		if (n->hash == hash && n->len == len && memcmp(n->str, s, len) == 0)
			return i - 1;
		i = n->next;
	}
	return SWIM_NONE;
}

uint32_t swim_pool_name_find(const struct swim_pool *p, const uint8_t *s, uint32_t len)
{
	if (len == 0 || len > SWIM_NAME_MAX)
		return SWIM_NONE;
	return name_lookup(p, s, len, short_hash(s, len));
}

int swim_pool_name_intern(struct swim_pool *p, const uint8_t *s, uint32_t len, uint32_t *id)
{
	uint64_t hash;
	uint32_t i;
	int rc;

	if (len == 0 || len > SWIM_NAME_MAX)
		return -EINVAL;
	hash = short_hash(s, len);
	i = name_lookup(p, s, len, hash);
	if (i != SWIM_NONE) {
		p->names[i].refs++;
		*id = i;
		return 0;
	}
	if (p->names_live + 1 > p->name_nheads) {
		uint32_t nh = p->name_nheads == 0 ? 64 : p->name_nheads * 2;
		if ((rc = name_rehash(p, nh)) < 0)
			return rc;
	}
	if (p->name_free != 0) {
		i = p->name_free - 1;
		p->name_free = p->names[i].next;
	} else {
		rc = grow((void **)&p->names, &p->names_alloc, p->names_len + 1,
		          sizeof(p->names[0]), POOL_NAMES_MAX);
		if (rc < 0)
			return rc;
		i = p->names_len++;
	}
	struct swim_pool_name *n = &p->names[i];
	n->refs = 1;
	n->hash = hash;
	n->len = (uint8_t)len;
	memcpy(n->str, s, len);
	n->str[len] = '\0';
	uint32_t b = (uint32_t)hash & (p->name_nheads - 1);
	n->next = p->name_heads[b];
	p->name_heads[b] = i + 1;
	p->names_live++;
	*id = i;
	return 0;
}

void swim_pool_name_ref(struct swim_pool *p, uint32_t id)
{
	p->names[id].refs++;
}

void swim_pool_name_unref(struct swim_pool *p, uint32_t id)
{
	struct swim_pool_name *n = &p->names[id];
	if (--n->refs > 0)
		return;
	/* Unlink from its chain, then park the slot on the free list. */
	uint32_t *link = &p->name_heads[n->hash & (p->name_nheads - 1)];
	while (*link != id + 1)
		link = &p->names[*link - 1].next;
	*link = n->next;
	n->next = p->name_free;
	p->name_free = id + 1;
	p->names_live--;
}

/* ---- records --------------------------------------------------------- */

static int rec_rehash(struct swim_pool *p, uint32_t nheads)
{
	uint32_t *h = calloc(nheads, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	for (uint32_t id = 0; id < p->recs_len; id++) {
		struct swim_record *r = p->recs[id];
		if (r == NULL)
			continue;
		uint32_t b = (uint32_t)r->hash & (nheads - 1);
		r->next = h[b];
		h[b] = id + 1;
	}
	free(p->rec_heads);
	p->rec_heads = h;
	p->rec_nheads = nheads;
	return 0;
}

static uint32_t rec_lookup(const struct swim_pool *p, const uint8_t *body, uint32_t body_len,
                           const uint8_t *sig, uint64_t hash)
{
	if (p->rec_nheads == 0)
		return SWIM_NONE;
	for (uint32_t i = p->rec_heads[hash & (p->rec_nheads - 1)]; i != 0;) {
		const struct swim_record *r = p->recs[i - 1];
		if (r->hash == hash && r->body_len == body_len &&
		    memcmp(r->sig, sig, SWIM_SIG_LEN) == 0 && memcmp(r->body, body, body_len) == 0)
			return i - 1;
		i = r->next;
	}
	return SWIM_NONE;
}

static int rec_insert(struct swim_pool *p, const uint8_t *body, uint32_t body_len,
                      const uint8_t *sig, const struct swim_alive_body *a, uint64_t hash,
                      uint32_t *rid)
{
	struct swim_record *r;
	uint32_t id, name_id;
	int rc;

	if (body_len > UINT16_MAX)
		return SHOAL_E_TOO_BIG;
	if (p->recs_live + 1 > p->rec_nheads) {
		uint32_t nh = p->rec_nheads == 0 ? 64 : p->rec_nheads * 2;
		if ((rc = rec_rehash(p, nh)) < 0)
			return rc;
	}
	if (p->rec_nfree == 0) {
		/* The free stack can hold every id ever handed out. */
		rc = grow((void **)&p->rec_free, &p->rec_free_alloc, p->recs_len + 1,
		          sizeof(p->rec_free[0]), POOL_RECS_MAX);
		if (rc < 0)
			return rc;
		rc = grow((void **)&p->recs, &p->recs_alloc, p->recs_len + 1, sizeof(p->recs[0]),
		          POOL_RECS_MAX);
		if (rc < 0)
			return rc;
	}
	r = malloc(sizeof(*r) + body_len);
	if (r == NULL)
		return -ENOMEM;
	if ((rc = swim_pool_name_intern(p, a->name.p, a->name.len, &name_id)) < 0) {
		free(r);
		return rc;
	}
	id = p->rec_nfree > 0 ? p->rec_free[--p->rec_nfree] : p->recs_len++;

	memset(r, 0, sizeof(*r));
	r->hash = hash;
	r->refs = 1;
	r->name_id = name_id;
	r->incarnation = a->incarnation;
	r->addr = a->addr;
	r->body_len = (uint16_t)body_len;
	r->labels_off = (uint16_t)(a->labels - body);
	r->labels_len = (uint16_t)a->labels_len;
	r->pubkey_off = (uint16_t)(a->pubkey - body);
	memcpy(r->version, a->version.p, a->version.len);
	r->version[a->version.len] = '\0';
	memcpy(r->sig, sig, SWIM_SIG_LEN);
	memcpy(r->body, body, body_len);
	r->alive_hash = swim_pp_member_hash(&p->names[name_id], r->incarnation, SWIM_ALIVE);

	uint32_t b = (uint32_t)hash & (p->rec_nheads - 1);
	r->next = p->rec_heads[b];
	p->rec_heads[b] = id + 1;
	p->recs[id] = r;
	p->recs_live++;
	p->rec_bytes += sizeof(*r) + body_len;
	*rid = id;
	return 0;
}

int swim_pool_record_get(struct swim_pool *p, const struct shoal_env *env, const uint8_t *body,
                         uint32_t body_len, const uint8_t sig[SWIM_SIG_LEN],
                         const struct swim_alive_body *a, uint32_t *rid, bool *verified)
{
	uint64_t hash = short_hash(sig, SWIM_SIG_LEN);
	uint32_t id = rec_lookup(p, body, body_len, sig, hash);

	*verified = false;
	if (id != SWIM_NONE) {
		p->recs[id]->refs++;
		*rid = id;
		return 0;
	}
	*verified = true;
	if (shoal_env_verify(env, sig, body, body_len, a->pubkey) != 0)
		return SHOAL_E_SIGNATURE;
	return rec_insert(p, body, body_len, sig, a, hash, rid);
}

int swim_pool_record_add_trusted(struct swim_pool *p, const uint8_t *body, uint32_t body_len,
                                 const uint8_t sig[SWIM_SIG_LEN], const struct swim_alive_body *a,
                                 uint32_t *rid)
{
	uint64_t hash = short_hash(sig, SWIM_SIG_LEN);
	uint32_t id = rec_lookup(p, body, body_len, sig, hash);
	if (id != SWIM_NONE) {
		p->recs[id]->refs++;
		*rid = id;
		return 0;
	}
	return rec_insert(p, body, body_len, sig, a, hash, rid);
}

void swim_pool_record_ref(struct swim_pool *p, uint32_t rid)
{
	p->recs[rid]->refs++;
}

void swim_pool_record_unref(struct swim_pool *p, uint32_t rid)
{
	struct swim_record *r = p->recs[rid];
	if (--r->refs > 0)
		return;
	uint32_t *link = &p->rec_heads[r->hash & (p->rec_nheads - 1)];
	while (*link != rid + 1)
		link = &p->recs[*link - 1]->next;
	*link = r->next;
	swim_pool_name_unref(p, r->name_id);
	p->rec_bytes -= sizeof(*r) + r->body_len;
	p->recs_live--;
	free(r);
	p->recs[rid] = NULL;
	p->rec_free[p->rec_nfree++] = rid;
}
