/*
 * api_keyring.c - GET /v1/keyring and POST /v1/keyring/{install,use,remove}.
 *
 * The keyring is the cluster's shared secret, so these routes answer only
 * clients connected over loopback (the peer address of the TCP connection,
 * not a header anyone can set). A change goes through swim_keyring_op, which
 * applies it here and disseminates it to every member; the keyring file is
 * rewritten before the answer is sent, so 200 means it survives a restart.
 * A node started without a keyring runs unencrypted and refuses changes:
 * installing a first key on one node alone would cut it off from the rest.
 */
#include "api.h"

#include <string.h>

#include <sodium.h>

#include "shoal/error.h"

#include "node.h"

static json_t *keys_json(const struct shoal_keyring *kr)
{
	json_t *arr = json_array();
	for (uint32_t i = 0; i < kr->count && i < SHOAL_KEYRING_MAX; i++) {
		char text[45];
		shoal_key_format(kr->keys[i], text);
		json_array_append_new(arr, json_pack("{s:s,s:b}", "key", text, "primary", i == 0));
		sodium_memzero(text, sizeof(text));
	}
	return arr;
}

static bool allowed(struct node_http_req *req)
{
	if (req->peer_loopback)
		return true;
	node_http_error(req, 403, "forbidden",
	                "keyring endpoints answer only to clients on the loopback interface");
	return false;
}

void node_api_keyring_list(struct node_http_req *req)
{
	struct node *n = req->ctx;
	if (!allowed(req))
		return;
	node_http_json(
	        req, 200,
	        json_pack("{s:o,s:b}", "keys", keys_json(&n->keyring), "encrypted", n->encrypted));
}

/* The body's {"key": base64} as 32 bytes; sets a 400 on failure. */
static bool body_key(struct node_http_req *req, uint8_t key[SHOAL_KEY_LEN])
{
	json_error_t jerr;
	json_t *body = NULL;
	if (req->body_len > 0)
		body = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES,
		                  &jerr);
	if (!json_is_object(body)) {
		json_decref(body);
		node_http_error(req, 400, "bad_request",
		                "body must be a JSON object {\"key\": base64}");
		return false;
	}
	const char *text = json_string_value(json_object_get(body, "key"));
	int rc = text != NULL ? shoal_key_parse(key, text) : SHOAL_E_MALFORMED;
	json_decref(body);
	if (rc != 0) {
		node_http_error(req, 400, "bad_key", "\"key\" must be the base64 of 32 bytes");
		return false;
	}
	return true;
}

static void keyring_op(struct node_http_req *req, enum swim_key_op op, const char *name)
{
	struct node *n = req->ctx;
	uint8_t key[SHOAL_KEY_LEN];
	if (!allowed(req))
		return;
	if (!n->encrypted) {
		node_http_error(req, 409, "no_keyring",
		                "this node runs without a keyring (unencrypted); start it with "
		                "--keyring to manage keys");
		return;
	}
	if (!body_key(req, key))
		return;

	uint64_t saves = n->keyring_saves;
	uint64_t now = node_now();
	int rc = swim_keyring_op(n->swim, now, op, key);
	sodium_memzero(key, sizeof(key));
	node_driver_arm(n, now);
	if (rc == SHOAL_E_EXISTS && op == SWIM_KEY_INSTALL)
		rc = 0; /* installing a present key is a no-op, not an error */
	switch (rc) {
	case 0:
		break;
	case SHOAL_E_NOT_FOUND:
		node_http_error(req, 404, "key_not_found", "that key is not installed");
		return;
	case SHOAL_E_LAST_KEY:
		node_http_error(
		        req, 409, "primary_key",
		        "the primary key cannot be removed; make another key primary first");
		return;
	case SHOAL_E_TOO_BIG:
		node_http_error(req, 409, "keyring_full", "the keyring holds at most 8 keys");
		return;
	default:
		node_http_error(req, 500, shoal_errname(rc), shoal_strerror(rc));
		return;
	}
	/* The SWIM_EV_KEYRING handler saves; make sure it did, whatever the
	 * core chose to report for a change that altered nothing. */
	if (n->keyring_saves == saves && node_events_save_keyring(n) != 0) {
		node_http_error(req, 500, "store", "the keyring file could not be written");
		return;
	}
	if (n->keyring_save_err != 0) {
		node_http_error(req, 500, "store", "the keyring file could not be written");
		return;
	}
	node_http_json(req, 200,
	               json_pack("{s:s,s:o}", "op", name, "keys", keys_json(&n->keyring)));
}

void node_api_keyring_install(struct node_http_req *req)
{
	keyring_op(req, SWIM_KEY_INSTALL, "install");
}

void node_api_keyring_use(struct node_http_req *req)
{
	keyring_op(req, SWIM_KEY_USE, "use");
}

void node_api_keyring_remove(struct node_http_req *req)
{
	keyring_op(req, SWIM_KEY_REMOVE, "remove");
}
