/*
 * leaf_intents.c - a leaf site keeps whole only the intents that select it
 * (docs/intents.md "Stubs", docs/health.md "Leaf mode").
 *
 * VirtualSite, KeyGrant and KeyRevoke - what selection and trust are
 * judged by - and every tombstone stay whole. An App, EgressPolicy, Upgrade
 * or AlertRule put stays whole when intent_store_selects() says it selects
 * this site's own labels (target AND signer scope, a virtual site resolved
 * through the store); otherwise the leaf keeps its stub, in memory and in
 * LMDB. The store asks node_leaf_keep_whole() at every commit, so a body
 * that does not select the leaf is never written whole.
 *
 * What selects changes with the leaf's labels and with the fleet-wide
 * kinds. After every reconciler judge (which runs at every commit and
 * every label change, and has by then pruned from the cluster what no
 * longer selects the site) node_leaf_intents_judge() walks the store:
 *
 *   - a whole put that no longer selects the leaf is cut to its stub;
 *   - a stub that now selects it is wanted from the replication service
 *     (replica_want), from up to REPLICA_SOURCES_MAX random live full
 *     members, then random members; the body comes back through the usual
 *     offer, fills the stub in (INTENT_FILLED), is committed and kicks the
 *     reconciler, which applies it. Until then the reconciler leaves it.
 *
 * A want given up by the service is asked again: while any stub waits for
 * its body the walk is repeated every LEAF_REWANT_POLLS reconciler polls.
 *
 * A full node holds stubs only when it starts on a data dir a leaf left:
 * everything is whole there, so the same walk wants each stub's body until
 * none is left, and stops.
 *
 * An envelope committed at this node's own API is never cut: a leaf passes
 * every POST /v1/intents on to a full node (api_intents.c), so only one
 * accepted before the node became a leaf can be here, and it may be the
 * only copy.
 */
#include "node.h"

#include <string.h>

#include <sodium.h>

#include "shoal/error.h"
#include "shoal/labels.h"

/* Whole on a leaf: see the top. */
static bool whole_here(const struct intent_store *s, const struct intent_item *it,
                       const struct shoal_labels *labels)
{
	const struct intent_body *b = &it->env.body;
	if (!intent_kind_stubbable(b->kind) || b->op != INTENT_PUT)
		return true;
	if (strcmp(it->from, "api") == 0)
		return true;
	return intent_store_selects(s, it, labels) == 1;
}

bool node_leaf_keep_whole(void *ctx, const struct intent_store *s, const struct intent_item *it)
{
	struct node *n = ctx;
	struct shoal_label own[NODE_ALL_LABELS_MAX];
	if (!n->cfg->leaf)
		return true;
	struct shoal_labels labels = {own, node_labels_compose(n, &n->sys, own)};
	return whole_here(s, it, &labels);
}

/* Up to `cap` random live full members (not leaves, not this node). */
static uint32_t full_members(struct node *n, struct shoal_addr *out, uint32_t cap)
{
	struct swim_member_info mi;
	uint32_t cursor = 0, seen = 0, count = 0;
	while (swim_member_next(n->swim, &cursor, &mi) == 0) {
		if (mi.is_self || mi.state != SWIM_ALIVE ||
		    shoal_labels_say_leaf(NULL, mi.labels, mi.labels_len))
			continue;
		/* Reservoir sampling: a uniform pick of `cap` among all. */
		uint32_t slot = seen < cap ? seen : randombytes_uniform(seen + 1);
		seen++;
		if (slot < cap) {
			out[slot] = mi.addr;
			if (count < cap)
				count++;
		}
	}
	return count;
}

static void want_body(struct node *n, const struct intent_item *it)
{
	char key[INTENT_KEY_MAX];
	struct shoal_addr srcs[REPLICA_SOURCES_MAX];
	struct replica_item ri = {.version = it->env.body.hlc, .size = (uint32_t)it->len};
	intent_store_key(it, key);
	ri.key = (const uint8_t *)key;
	ri.key_len = (uint32_t)strlen(key);
	memcpy(ri.digest, it->env.id, REPLICA_DIGEST_LEN);
	uint32_t k = n->swim != NULL ? full_members(n, srcs, REPLICA_SOURCES_MAX) : 0;
	if (node_replica_want(n, &ri, srcs, k) == 0)
		n->leaf_bodies_wanted++;
}

static void cut(struct node *n, const struct intent_item *it)
{
	char name[INTENT_NAME_MAX + 1];
	enum intent_kind kind = it->env.body.kind;
	uint64_t version = it->env.body.hlc;
	size_t before = node_intents_record_bytes(it);
	memcpy(name, it->env.body.name, sizeof(name));
	int rc = intent_store_cut(n->intents, kind, name);
	const struct intent_item *now = intent_store_get(n->intents, kind, name);
	node_log_event(&n->log, rc == 0 ? NODE_LOG_INFO : NODE_LOG_WARN, "intent_stubbed",
	               json_pack("{s:s,s:s,s:I,s:I,s:I,s:s?}", "kind", intent_kind_name(kind),
	                         "name", name, "version", (json_int_t)version, "bytes_before",
	                         (json_int_t)before, "bytes_after",
	                         (json_int_t)(now != NULL ? node_intents_record_bytes(now) : 0),
	                         "error", rc == 0 ? NULL : "cannot persist the stub"));
}

void node_leaf_intents_judge(struct node *n)
{
	struct shoal_label own[NODE_ALL_LABELS_MAX];
	uint32_t wanting = 0;
	/* A full node walks only while it has stubs to fill: a data dir that
	 * was a leaf's (node_intents_open counts the stubs it loads). */
	if (n->intents == NULL || (!n->cfg->leaf && n->leaf_wanting == 0))
		return;
	struct shoal_labels labels = {own, node_labels_compose(n, &n->sys, own)};
	/* A cut replaces the item in place: indexes stay valid. */
	for (size_t i = 0; i < intent_store_count(n->intents); i++) {
		const struct intent_item *it = intent_store_at(n->intents, i);
		const struct intent_body *b = &it->env.body;
		if (!intent_kind_stubbable(b->kind) || b->op != INTENT_PUT)
			continue;
		bool whole = !n->cfg->leaf || whole_here(n->intents, it, &labels);
		if (it->stub && whole) {
			wanting++;
			want_body(n, it);
		} else if (!it->stub && !whole) {
			cut(n, it);
		}
	}
	n->leaf_wanting = wanting;
	n->leaf_polls = 0;
}

void node_leaf_intents_poll(struct node *n)
{
	if (n->leaf_wanting > 0 && ++n->leaf_polls >= LEAF_REWANT_POLLS)
		node_leaf_intents_judge(n);
}
