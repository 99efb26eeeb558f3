/*
 * trust_label.c - the trust roots' fingerprint in every member record, and
 * what shoald does when a peer's differs.
 *
 * Validity of an intent is a pure function of the replicated trust set
 * *and the roots*, which are configuration: two nodes started with
 * different --trust files judge the same envelope differently and never
 * converge. Nothing in the protocol can fix that, so it is made visible:
 * each node puts the first 16 hex digits of trust_roots_hash (64 bits,
 * plenty to tell configurations apart) into its record as the system label
 * sys.shoal.io/trust, set at start; operators cannot set labels under
 * sys.shoal.io/. A peer whose value differs is logged once
 * ("trust_mismatch"), counted live in the gauge
 * shoal_trust_mismatched_members, and marked in GET /v1/members.
 */
#include "node.h"

#include <stdlib.h>
#include <string.h>

#include "shoal/mp.h"

void node_trust_label_init(struct node *n)
{
	uint8_t hash[32];
	trust_roots_hash(&n->roots, hash);
	node_intents_hex(hash, 8, n->trust_label);
}

/* The value of `key` in a msgpack label map, or NULL. */
static const uint8_t *label_value(const uint8_t *mp, size_t len, const char *key, uint32_t *vlen)
{
	const uint8_t *pos = mp, *end = mp + len;
	uint32_t count;
	size_t klen = strlen(key);
	if (mp == NULL || shoal_mp_read_map(&pos, end, &count) != 0)
		return NULL;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *k, *v;
		uint32_t kl;
		if (shoal_mp_read_str(&pos, end, &k, &kl) != 0 ||
		    shoal_mp_read_str(&pos, end, &v, vlen) != 0)
			return NULL;
		if (kl == klen && memcmp(k, key, klen) == 0)
			return v;
	}
	return NULL;
}

enum node_trust_match node_trust_of(const struct node *n, const uint8_t *labels, size_t len)
{
	uint32_t vlen;
	const uint8_t *v = label_value(labels, len, TRUST_LABEL_KEY, &vlen);
	if (v == NULL)
		return NODE_TRUST_UNKNOWN;
	return vlen == strlen(n->trust_label) && memcmp(v, n->trust_label, vlen) == 0
	               ? NODE_TRUST_MATCH
	               : NODE_TRUST_MISMATCH;
}

static bool reported(const struct node *n, const char *name)
{
	for (size_t i = 0; i < n->ntrust_reported; i++)
		if (strcmp(n->trust_reported[i], name) == 0)
			return true;
	return false;
}

void node_trust_on_member(struct node *n, const char *name)
{
	struct swim_member_info m;
	if (n->swim == NULL || swim_member_find(n->swim, name, &m) != 0 || m.is_self)
		return;
	if (node_trust_of(n, m.labels, m.labels_len) != NODE_TRUST_MISMATCH || reported(n, name))
		return;
	uint32_t vlen = 0;
	const uint8_t *v = label_value(m.labels, m.labels_len, TRUST_LABEL_KEY, &vlen);
	node_log_event(&n->log, NODE_LOG_WARN, "trust_mismatch",
	               json_pack("{s:s,s:s,s:s%}", "member", name, "ours", n->trust_label, "theirs",
	                         (const char *)v, (size_t)vlen));
	if (n->ntrust_reported == n->trust_reported_cap) {
		size_t cap = n->trust_reported_cap ? n->trust_reported_cap * 2 : 8;
		void *grown = realloc(n->trust_reported, cap * sizeof(*n->trust_reported));
		if (grown == NULL)
			return; /* logged again next time: harmless */
		n->trust_reported = grown;
		n->trust_reported_cap = cap;
	}
	memcpy(n->trust_reported[n->ntrust_reported++], name, strlen(name) + 1);
}

uint32_t node_trust_mismatches(const struct node *n)
{
	struct swim_member_info m;
	uint32_t cursor = 0, count = 0;
	while (swim_member_next(n->swim, &cursor, &m) == 0)
		if (!m.is_self && (m.state == SWIM_ALIVE || m.state == SWIM_SUSPECT) &&
		    node_trust_of(n, m.labels, m.labels_len) == NODE_TRUST_MISMATCH)
			count++;
	return count;
}

void node_trust_close(struct node *n)
{
	free(n->trust_reported);
	n->trust_reported = NULL;
	n->ntrust_reported = n->trust_reported_cap = 0;
}
