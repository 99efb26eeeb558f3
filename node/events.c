/*
 * events.c - what shoald does with SWIM's events: log lines, and the two
 * pieces of state that must survive a restart (our incarnation and the
 * keyring).
 *
 * The callback runs inside a SWIM call, so it must not call back into
 * SWIM; it only logs and writes files/LMDB. Keys never reach the log: a
 * keyring change is identified by key_id, the first 8 hex digits of the
 * key's SHA-256, which tells keys apart without revealing them.
 */
#include "node.h"

#include <stdio.h>

#include <sodium.h>

#include "shoal/error.h"

static json_t *addr_json(const struct shoal_addr *a)
{
	char text[SHOAL_ADDR_STRLEN];
	if (a == NULL || shoal_addr_format(a, text, sizeof(text)) != 0)
		return json_null();
	return json_string(text);
}

static json_t *str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static const char *key_op_name(enum swim_key_op op)
{
	switch (op) {
	case SWIM_KEY_INSTALL:
		return "install";
	case SWIM_KEY_USE:
		return "use";
	case SWIM_KEY_REMOVE:
		return "remove";
	}
	return "unknown";
}

int node_events_save_keyring(struct node *n)
{
	int rc = shoal_keyring_save(&n->keyring, n->keyring_path);
	n->keyring_save_err = rc;
	if (rc == 0) {
		n->keyring_saves++;
	} else {
		node_log_event(&n->log, NODE_LOG_ERROR, "keyring_save_failed",
		               json_pack("{s:s,s:s}", "path", n->keyring_path, "reason",
		                         shoal_strerror(rc)));
	}
	return rc;
}

static void key_id(const uint8_t *key, char out[9])
{
	uint8_t hash[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(hash, key, SHOAL_KEY_LEN);
	sodium_bin2hex(out, 9, hash, 4);
}

static void on_keyring(struct node *n, const struct swim_event *ev)
{
	char id[9] = "";
	if (ev->key != NULL)
		key_id(ev->key, id);
	if (!n->encrypted && n->keyring.count > 0) {
		/* A node started without a keyring was handed one by a peer and
		 * now seals with it; keep the file in step so a restart does too. */
		snprintf(n->keyring_path, sizeof(n->keyring_path), "%s/keyring", n->cfg->data_dir);
		n->encrypted = true;
		node_log_event(&n->log, NODE_LOG_WARN, "keyring_adopted",
		               json_pack("{s:s}", "path", n->keyring_path));
	}
	if (n->encrypted)
		node_events_save_keyring(n);
	node_log_event(&n->log, NODE_LOG_INFO, "keyring_change",
	               json_pack("{s:s,s:s,s:I}", "op", key_op_name(ev->key_op), "key_id", id,
	                         "keys", (json_int_t)n->keyring.count));
}

static void on_incarnation(struct node *n, const struct swim_event *ev)
{
	int rc = node_store_set_incarnation(&n->store, ev->incarnation);
	if (rc != 0)
		node_log_event(&n->log, NODE_LOG_ERROR, "store_failed",
		               json_pack("{s:s,s:I}", "reason", shoal_strerror(rc), "incarnation",
		                         (json_int_t)ev->incarnation));
	else
		node_log_event(&n->log, NODE_LOG_DEBUG, "incarnation",
		               json_pack("{s:I}", "incarnation", (json_int_t)ev->incarnation));
}

void node_events_on_swim(void *ctx, const struct swim_event *ev)
{
	struct node *n = ctx;
	const char *name = ev->name != NULL ? ev->name : "";
	json_int_t inc = (json_int_t)ev->incarnation;
	const char *via = ev->via_probe ? "probe" : "gossip";

	switch (ev->type) {
	case SWIM_EV_ALIVE:
		node_log_event(&n->log, NODE_LOG_INFO, "member_alive",
		               json_pack("{s:s,s:o,s:I}", "member", name, "address",
		                         addr_json(ev->addr), "incarnation", inc));
		node_trust_on_member(n, name);
		break;
	case SWIM_EV_UPDATE:
		node_log_event(&n->log, NODE_LOG_INFO, "member_update",
		               json_pack("{s:s,s:o,s:I}", "member", name, "address",
		                         addr_json(ev->addr), "incarnation", inc));
		node_trust_on_member(n, name);
		break;
	case SWIM_EV_SUSPECT:
		node_log_event(&n->log, NODE_LOG_INFO, "member_suspect",
		               json_pack("{s:s,s:I,s:s,s:o}", "member", name, "incarnation", inc,
		                         "via", via, "from", str_or_null(ev->from)));
		break;
	case SWIM_EV_DEAD:
		node_log_event(&n->log, NODE_LOG_INFO, "member_dead",
		               json_pack("{s:s,s:I,s:s,s:o}", "member", name, "incarnation", inc,
		                         "via", via, "from", str_or_null(ev->from)));
		break;
	case SWIM_EV_LEFT:
		node_log_event(&n->log, NODE_LOG_INFO, "member_left",
		               json_pack("{s:s,s:I}", "member", name, "incarnation", inc));
		/* A site that left on purpose is no longer part of the fleet's
		 * health; one that died stays, shown unreachable. */
		node_health_forget(n, name);
		break;
	case SWIM_EV_REAPED:
		node_log_event(&n->log, NODE_LOG_INFO, "member_reaped",
		               json_pack("{s:s}", "member", name));
		break;
	case SWIM_EV_REFUTED:
		node_log_event(&n->log, NODE_LOG_INFO, "refuted",
		               json_pack("{s:I}", "incarnation", inc));
		break;
	case SWIM_EV_INCARNATION:
		on_incarnation(n, ev);
		break;
	case SWIM_EV_NAME_CONFLICT:
		node_log_event(
		        &n->log, NODE_LOG_WARN, "name_conflict",
		        json_pack("{s:s,s:o}", "member", name, "address", addr_json(ev->addr)));
		break;
	case SWIM_EV_KEYRING:
		on_keyring(n, ev);
		break;
	}
}
