/*
 * intent_gossip.c - the intent store's half of the replication mapping
 * (include/shoal/intent_gossip.h): keys, digests, folded bucket hashes and
 * the checks on a pulled envelope, one copy for shoald and shoalsim.
 */
#include "shoal/intent_gossip.h"

#include <stdio.h>
#include <string.h>

#include "shoal/error.h"

int intent_gossip_key_parse(const uint8_t *key, size_t len, enum intent_kind *kind,
                            char name[INTENT_NAME_MAX + 1])
{
	const uint8_t *slash = key != NULL ? memchr(key, '/', len) : NULL;
	if (slash == NULL)
		return -1;
	size_t klen = (size_t)(slash - key), nlen = len - klen - 1;
	if (nlen == 0 || nlen > INTENT_NAME_MAX || memchr(slash + 1, '\0', nlen) != NULL)
		return -1;
	if ((*kind = intent_kind_parse((const char *)key, klen)) == INTENT_KIND_NONE)
		return -1;
	memcpy(name, slash + 1, nlen);
	name[nlen] = '\0';
	return 0;
}

int intent_gossip_envelope_id(const uint8_t *bytes, size_t len, uint8_t id[32])
{
	struct intent_envelope e;
	if (intent_envelope_decode(bytes, len, &e, NULL) != 0)
		return -1;
	memcpy(id, e.id, 32);
	return 0;
}

int intent_gossip_held(const struct intent_store *s, enum intent_kind kind, const char *name,
                       uint64_t *version, uint8_t id[32])
{
	const struct intent_item *it = intent_store_get(s, kind, name);
	uint64_t parked;
	uint8_t parked_id[32];
	if (intent_store_pending_find(s, kind, name, &parked, parked_id) &&
	    (it == NULL || parked > it->env.body.hlc)) {
		*version = parked;
		memcpy(id, parked_id, 32);
		return 0;
	}
	if (it == NULL)
		return SHOAL_E_NOT_FOUND;
	*version = it->env.body.hlc;
	memcpy(id, it->env.id, 32);
	return 0;
}

int intent_gossip_fold_shift(uint32_t buckets, uint32_t *shift)
{
	uint32_t bits = 0;
	if (buckets == 0 || (buckets & (buckets - 1)) != 0 || buckets > INTENT_BUCKETS)
		return SHOAL_E_RANGE;
	while ((1u << bits) < buckets)
		bits++;
	*shift = 12 - bits; /* INTENT_BUCKETS is 2^12 */
	return 0;
}

int intent_gossip_bucket_hashes(const struct intent_store *s, uint32_t buckets, uint64_t *out)
{
	uint32_t shift;
	if (intent_gossip_fold_shift(buckets, &shift) != 0)
		return SHOAL_E_RANGE;
	memset(out, 0, buckets * sizeof(*out));
	for (uint32_t b = 0; b < INTENT_BUCKETS; b++) {
		const uint8_t *x = intent_store_bucket(s, (uint16_t)b);
		uint64_t h = 0;
		for (int i = 0; i < 8; i++)
			h = h << 8 | x[i];
		out[b >> shift] ^= h;
	}
	return 0;
}

enum intent_outcome intent_gossip_offer(struct intent_store *s, struct intent_offer *o,
                                        const uint8_t *key, size_t key_len, const uint8_t id[32],
                                        struct intent_error *err, bool *other_key)
{
	struct intent_envelope e;
	char mine[INTENT_KEY_MAX];
	if (other_key != NULL)
		*other_key = false;
	if (intent_envelope_decode(o->bytes, o->len, &e, err) != 0)
		return INTENT_REJECTED;
	/* The envelope must be the item it was announced as: a body of
	 * another (kind, name) is refused like any malformed one, so it is
	 * neither committed nor re-announced under the wrong key. */
	int n = snprintf(mine, sizeof(mine), "%s/%s", intent_kind_name(e.body.kind), e.body.name);
	if (n < 0 || (size_t)n != key_len || memcmp(mine, key, key_len) != 0) {
		err->reason = INTENT_R_MALFORMED;
		snprintf(err->text, sizeof(err->text),
		         "envelope is %.150s, announced as another key", mine);
		if (other_key != NULL)
			*other_key = true;
		return INTENT_REJECTED;
	}
	o->expect_id = id;
	return intent_store_offer(s, o, err);
}
