/*
 * trust.c - root keys (include/shoal/trust.h) and the judgement of a signer
 * against the replicated KeyGrant/KeyRevoke intents (intent_store_judge).
 *
 * Only root-signed, live (not tombstoned) grants and revokes count. The
 * scan is linear in the number of grants and revokes only: items are kept
 * in (kind, name) order, so each kind is one run found by binary search,
 * and a fleet has operators by the dozen, not by the thousand. A revoke is retroactive (it names a key, not
 * a time): everything that key signed stops being effective. A root key
 * cannot be revoked by an intent - roots change only in configuration.
 */
#include "shoal/trust.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "shoal/hlc.h"

#include "intent_store_internal.h"

void trust_roots_create(struct trust_roots *r)
{
	memset(r, 0, sizeof(*r));
}

bool trust_is_root(const struct trust_roots *r, const uint8_t pk[32])
{
	for (size_t i = 0; r != NULL && i < r->n; i++)
		if (memcmp(r->keys[i], pk, 32) == 0)
			return true;
	return false;
}

int trust_roots_add(struct trust_roots *r, const uint8_t pk[32])
{
	if (trust_is_root(r, pk))
		return 0;
	if (r->n >= TRUST_ROOTS_MAX)
		return -ENOSPC;
	memcpy(r->keys[r->n++], pk, 32);
	return 0;
}

int trust_roots_parse(struct trust_roots *r, const char *text, size_t len, char *err, size_t errcap)
{
	size_t line = 0;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		uint8_t pk[32];
		while (j < len && text[j] != '\n')
			j++;
		line++;
		size_t a = i, b = j;
		while (a < b && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r'))
			a++;
		while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r'))
			b--;
		i = j + 1;
		if (a == b || text[a] == '#')
			continue;
		if (intent_parse_pubkey(text + a, b - a, pk) != 0) {
			if (err != NULL)
				snprintf(err, errcap,
				         "line %zu: not a 32-byte key in base64 or hex", line);
			return -EINVAL;
		}
		if (trust_roots_add(r, pk) != 0) {
			if (err != NULL)
				snprintf(err, errcap, "line %zu: more than %d root keys", line,
				         TRUST_ROOTS_MAX);
			return -ENOSPC;
		}
	}
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

void trust_roots_hash(const struct trust_roots *r, uint8_t out[32])
{
	uint8_t sorted[TRUST_ROOTS_MAX][32];
	memcpy(sorted, r->keys, r->n * 32);
	qsort(sorted, r->n, 32, cmp_key);
	crypto_hash_sha256(out, &sorted[0][0], r->n * 32);
}

/* A grant or revoke counts only if it is a live put signed by a root. */
static bool counts(const struct intent_store *s, const struct intent_item *it)
{
	return it->env.body.op == INTENT_PUT && trust_is_root(s->cfg.roots, it->env.body.signer);
}

enum intent_trust intent_store_judge(const struct intent_store *s, const uint8_t signer[32],
                                     uint64_t hlc, struct intent_grant *grant)
{
	bool saw_grant = false;
	uint64_t best_hlc = 0;
	struct intent_grant g, best = {0};

	if (trust_is_root(s->cfg.roots, signer))
		return INTENT_TRUST_ROOT;
	for (size_t i = intent_store_kind_first(s, INTENT_KEY_REVOKE);
	     i < s->count && s->items[i]->env.body.kind == INTENT_KEY_REVOKE; i++) {
		const struct intent_item *it = s->items[i];
		const struct intent_body *b = &it->env.body;
		uint8_t pub[32];
		if (counts(s, it) && intent_revoke_read(b->spec, b->spec_len, pub) == 0 &&
		    memcmp(pub, signer, 32) == 0)
			return INTENT_TRUST_REVOKED;
	}
	for (size_t i = intent_store_kind_first(s, INTENT_KEY_GRANT);
	     i < s->count && s->items[i]->env.body.kind == INTENT_KEY_GRANT; i++) {
		const struct intent_item *it = s->items[i];
		const struct intent_body *b = &it->env.body;
		if (!counts(s, it) || intent_grant_read(b->spec, b->spec_len, &g) != 0 ||
		    memcmp(g.pub, signer, 32) != 0)
			continue;
		saw_grant = true;
		/* Several grants may cover; the newest one's scope applies, the
		 * way a newer grant supersedes an older one for the operator. */
		if (shoal_hlc_ms(hlc) <= g.expires_ms && b->hlc >= best_hlc) {
			best = g;
			best_hlc = b->hlc;
		}
	}
	if (best_hlc != 0) {
		if (grant != NULL)
			*grant = best;
		return INTENT_TRUST_GRANTED;
	}
	return saw_grant ? INTENT_TRUST_EXPIRED : INTENT_TRUST_UNKNOWN;
}

enum intent_status intent_store_status(const struct intent_store *s, const struct intent_item *item)
{
	const struct intent_body *b = &item->env.body;
	if (b->op == INTENT_DELETE)
		return INTENT_DELETED;
	switch (intent_store_judge(s, b->signer, b->hlc, NULL)) {
	case INTENT_TRUST_ROOT:
	case INTENT_TRUST_GRANTED:
		return INTENT_EFFECTIVE;
	case INTENT_TRUST_REVOKED:
		return INTENT_REVOKED;
	default:
		return INTENT_UNAUTHORIZED;
	}
}

const char *intent_status_name(enum intent_status st)
{
	static const char *const names[] = {"effective", "deleted", "revoked", "unauthorized"};
	return st <= INTENT_UNAUTHORIZED ? names[st] : "unknown";
}
