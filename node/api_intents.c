/*
 * api_intents.c - the intent routes of docs/api.md:
 *   POST /v1/intents              a signed envelope {"body","sig"} (puts and deletes)
 *   GET  /v1/intents              every held intent, with the store digest
 *   GET  /v1/intents/{kind}/{name} one intent, its spec and its envelope
 *   GET  /v1/hlc                  a fresh version for shoalctl to sign with
 *
 * On a leaf (docs/api.md, "Leaf sites") the POST is passed on to a full
 * node, and so are the GETs unless ?local=true asks for this node's own
 * store, where an intent the leaf holds as a stub says so ("stub": true)
 * and shows no spec, strategy or envelope: the leaf has dropped them.
 *
 * Everything an envelope is judged by lives in the core (the same checks a
 * peer's copy gets); this file turns JSON into the binary envelope, maps
 * refusal reasons to HTTP statuses, and logs. A refusal changes nothing:
 * the store refuses before it persists, and tests compare the digest.
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "shoal/error.h"
#include "shoal/mp.h"

#include "clock.h"
#include "node.h"

/* Depth of spec/strategy maps shown as JSON; deeper values show as null. */
#define MP_JSON_DEPTH 8

static int status_for(enum intent_reason r)
{
	switch (r) {
	case INTENT_R_SIGNATURE:
		return 401;
	case INTENT_R_UNKNOWN_SIGNER:
	case INTENT_R_EXPIRED:
	case INTENT_R_REVOKED:
	case INTENT_R_NOT_ROOT:
	case INTENT_R_OUT_OF_SCOPE:
		return 403;
	case INTENT_R_STALE:
	case INTENT_R_CONFLICT:
		return 409;
	case INTENT_R_TOO_BIG:
		return 413;
	case INTENT_R_SCHEMA:
	case INTENT_R_SKEW:
	case INTENT_R_HORIZON:
		return 422;
	case INTENT_R_STORE:
		return 500;
	default:
		return 400;
	}
}

static json_t *hex_json(const uint8_t *b, size_t len)
{
	char text[65];
	if (len > 32)
		return json_null();
	node_intents_hex(b, len, text);
	return json_string(text);
}

/* Standard base64 of any length (node_api_base64 is for keys). */
static json_t *base64_json(const uint8_t *b, size_t len)
{
	size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *text = malloc(cap);
	if (text == NULL)
		return json_null();
	sodium_bin2base64(text, cap, b, len, sodium_base64_VARIANT_ORIGINAL);
	json_t *j = json_string(text);
	free(text);
	return j != NULL ? j : json_null();
}

/* A msgpack value as JSON, read with the bounded reader. */
static json_t *mp_json(const uint8_t **p, const uint8_t *end, int depth)
{
	const uint8_t *s;
	uint32_t n;
	uint64_t u;
	int64_t i;
	bool b;
	if (shoal_mp_read_nil(p, end) == 0)
		return json_null();
	if (shoal_mp_read_bool(p, end, &b) == 0)
		return json_boolean(b);
	if (shoal_mp_read_uint(p, end, &u) == 0)
		return json_integer((json_int_t)u);
	if (shoal_mp_read_int(p, end, &i) == 0)
		return json_integer((json_int_t)i);
	if (shoal_mp_read_str(p, end, &s, &n) == 0) {
		json_t *j = json_stringn((const char *)s, n);
		return j != NULL ? j : json_null();
	}
	if (shoal_mp_read_bin(p, end, &s, &n) == 0)
		return base64_json(s, n);
	if (depth > 0 && shoal_mp_read_array(p, end, &n) == 0) {
		json_t *a = json_array();
		for (uint32_t k = 0; k < n && *p < end; k++)
			json_array_append_new(a, mp_json(p, end, depth - 1));
		return a;
	}
	if (depth > 0 && shoal_mp_read_map(p, end, &n) == 0) {
		json_t *o = json_object();
		for (uint32_t k = 0; k < n && *p < end; k++) {
			const uint8_t *key;
			uint32_t kl;
			char name[128];
			if (shoal_mp_read_str(p, end, &key, &kl) != 0 || kl >= sizeof(name)) {
				shoal_mp_skip(p, end, MP_JSON_DEPTH);
				shoal_mp_skip(p, end, MP_JSON_DEPTH);
				continue;
			}
			memcpy(name, key, kl);
			name[kl] = '\0';
			json_t *v = mp_json(p, end, depth - 1);
			if (memchr(name, '\0', kl) == NULL)
				json_object_set_new(o, name, v);
			else
				json_decref(v);
		}
		return o;
	}
	if (shoal_mp_skip(p, end, MP_JSON_DEPTH) != 0)
		*p = end; /* unreadable: show nothing more of it */
	return json_null();
}

static json_t *mp_to_json(const uint8_t *b, uint32_t len)
{
	const uint8_t *p = b;
	if (len == 0)
		return json_null();
	return mp_json(&p, b + len, MP_JSON_DEPTH);
}

static json_t *target_json(const struct intent_body *b)
{
	if (b->target_type == INTENT_TARGET_NONE)
		return json_null();
	json_t *v = json_stringn((const char *)b->target, b->target_len);
	return json_pack("{s:o}",
	                 b->target_type == INTENT_TARGET_SELECTOR ? "selector" : "virtual_site",
	                 v != NULL ? v : json_null());
}

static json_t *received_at(uint64_t ms)
{
	char text[NODE_RFC3339_LEN];
	if (node_clock_rfc3339(ms * 1000, text, sizeof(text)) != 0)
		return json_null();
	return json_string(text);
}

/* On a leaf, pass the request on unless ?local=true asks for this node's
 * own store; true when passed on (answered later). */
static bool leaf_passes_on(struct node_http_req *req)
{
	const char *local = node_http_query(req, "local");
	if (local != NULL && strcmp(local, "true") == 0)
		return false;
	return node_api_proxied(req);
}

/* The fields GET /v1/intents lists for every item. */
static json_t *summary_json(const struct node *n, const struct intent_item *it)
{
	const struct intent_body *b = &it->env.body;
	json_t *j = json_pack(
	        "{s:s,s:s,s:I,s:o,s:s,s:s,s:o,s:o,s:o,s:s}", "kind", intent_kind_name(b->kind),
	        "name", b->name, "version", (json_int_t)b->hlc, "id", hex_json(it->env.id, 32),
	        "op", b->op == INTENT_DELETE ? "delete" : "put", "status",
	        intent_status_name(intent_store_status(n->intents, it)), "target", target_json(b),
	        "signer", node_api_base64(b->signer, 32), "received_at",
	        received_at(it->received_ms), "received_from", it->from);
	if (it->stub)
		json_object_set_new(j, "stub", json_true());
	return j;
}

void node_api_intents_list(struct node_http_req *req)
{
	struct node *n = req->ctx;
	uint8_t digest[32];
	if (leaf_passes_on(req))
		return;
	json_t *arr = json_array();
	for (size_t i = 0; i < intent_store_count(n->intents); i++)
		json_array_append_new(arr, summary_json(n, intent_store_at(n->intents, i)));
	intent_store_digest(n->intents, digest);
	node_http_json(req, 200,
	               json_pack("{s:o,s:I,s:I,s:o}", "intents", arr, "count",
	                         (json_int_t)intent_store_count(n->intents), "pending",
	                         (json_int_t)intent_store_pending(n->intents), "digest",
	                         hex_json(digest, 32)));
}

void node_api_intents_get(struct node_http_req *req)
{
	struct node *n = req->ctx;
	const char *rest = req->path + strlen("/v1/intents/");
	const char *slash = strchr(rest, '/');
	char reason[160];
	if (leaf_passes_on(req))
		return;
	enum intent_kind kind =
	        slash != NULL ? intent_kind_parse(rest, (size_t)(slash - rest)) : INTENT_KIND_NONE;
	if (kind == INTENT_KIND_NONE || slash[1] == '\0' || strchr(slash + 1, '/') != NULL) {
		snprintf(reason, sizeof(reason),
		         "expected /v1/intents/KIND/NAME with KIND one of App, EgressPolicy, "
		         "Upgrade, VirtualSite, KeyGrant, KeyRevoke, AlertRule");
		node_http_error(req, 404, "not_found", reason);
		return;
	}
	const struct intent_item *it = intent_store_get(n->intents, kind, slash + 1);
	if (it == NULL) {
		snprintf(reason, sizeof(reason), "no intent %s/%.100s", intent_kind_name(kind),
		         slash + 1);
		node_http_error(req, 404, "not_found", reason);
		return;
	}
	const struct intent_body *b = &it->env.body;
	json_t *j = summary_json(n, it);
	struct intent_grant g;
	enum intent_trust t = intent_store_judge(n->intents, b->signer, b->hlc, &g);
	json_t *scope = t == INTENT_TRUST_GRANTED ? json_stringn((const char *)g.scope, g.scope_len)
	                                          : json_null();
	json_object_set_new(j, "replaces", json_integer((json_int_t)b->replaces));
	json_object_set_new(j, "force", json_boolean(b->force));
	json_object_set_new(j, "signer_scope", scope != NULL ? scope : json_null());
	if (it->stub) {
		/* A leaf's stub: the body is not here (a full node has it). */
		json_object_set_new(j, "spec", json_null());
		json_object_set_new(j, "strategy", json_null());
		json_object_set_new(j, "envelope", json_null());
		node_http_json(req, 200, j);
		return;
	}
	json_object_set_new(j, "spec", mp_to_json(b->spec, b->spec_len));
	json_object_set_new(j, "strategy", mp_to_json(b->strategy, b->strategy_len));
	json_object_set_new(j, "envelope",
	                    json_pack("{s:o,s:o}", "body",
	                              base64_json(it->env.body_bytes, it->env.body_len), "sig",
	                              base64_json(it->env.sig, 64)));
	node_http_json(req, 200, j);
}

void node_api_hlc(struct node_http_req *req)
{
	struct node *n = req->ctx;
	uint64_t wall = node_wall_ms();
	uint64_t hlc = shoal_hlc_now(&n->hlc, wall);
	node_http_json(req, 200,
	               json_pack("{s:I,s:I,s:I,s:I}", "hlc", (json_int_t)hlc, "wall_ms",
	                         (json_int_t)wall, "skew_ms", (json_int_t)INTENT_SKEW_MS,
	                         "horizon_ms", (json_int_t)INTENT_HORIZON_MS));
}

/* Decode a base64 JSON string into a malloc'd buffer no larger than cap:
 * 0, -1 if absent or not base64, -2 if it would decode to more than cap
 * (judged from the text's length, before anything is allocated). */
static int base64_field(const json_t *obj, const char *key, size_t cap, uint8_t **out, size_t *len)
{
	const char *text = json_string_value(json_object_get(obj, key));
	*out = NULL;
	if (text == NULL)
		return -1;
	size_t tl = strlen(text);
	if (tl / 4 * 3 > cap + 2)
		return -2;
	size_t max = tl / 4 * 3 + 3;
	if (max > cap + 3)
		max = cap + 3;
	*out = malloc(max > 0 ? max : 1);
	if (*out == NULL)
		return -1;
	const char *last;
	if (sodium_base642bin(*out, max, text, tl, NULL, len, &last,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    last != text + tl || *len > cap) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static void refuse(struct node *n, struct node_http_req *req, const struct intent_offer *o,
                   const struct intent_error *err)
{
	char id[65] = "";
	if (o != NULL && o->version != 0)
		node_intents_hex(o->id, 32, id);
	node_log_event(&n->log, NODE_LOG_WARN, "intent_rejected",
	               json_pack("{s:s,s:s,s:s,s:s,s:s}", "reason", intent_reason_name(err->reason),
	                         "detail", err->text, "id", id, "name", o != NULL ? o->name : "",
	                         "from", "api"));
	node_http_error(req, status_for(err->reason), intent_reason_name(err->reason), err->text);
}

void node_api_intents_post(struct node_http_req *req)
{
	struct node *n = req->ctx;
	struct intent_error err = {.reason = INTENT_R_MALFORMED};
	uint8_t *body = NULL, *sig = NULL;
	size_t body_len = 0, sig_len = 0;
	json_error_t jerr;

	/* A leaf commits nothing at its API: a full node does, and serves it
	 * (a leaf may keep only a stub of it, which it cannot serve). */
	if (node_api_proxied(req))
		return;

	json_t *j = json_loadb((const char *)req->body, req->body_len, 0, &jerr);
	int body_rc =
	        json_is_object(j) ? base64_field(j, "body", INTENT_BODY_MAX, &body, &body_len) : -1;
	if (body_rc != 0 || base64_field(j, "sig", 64, &sig, &sig_len) != 0 || sig_len != 64) {
		n->intents_bad_requests++;
		snprintf(err.text, sizeof(err.text),
		         "expected JSON {\"body\": base64, \"sig\": base64 of 64 bytes}");
		if (body_rc == -2) {
			err.reason = INTENT_R_TOO_BIG;
			snprintf(err.text, sizeof(err.text), "body over %u bytes",
			         (unsigned)INTENT_BODY_MAX);
		}
		json_decref(j);
		free(body);
		free(sig);
		refuse(n, req, NULL, &err);
		return;
	}
	json_decref(j);

	struct shoal_buf env;
	shoal_buf_create(&env, INTENT_ENVELOPE_MAX + 64);
	intent_envelope_pack(body, body_len, sig, &env);
	free(body);
	free(sig);

	/* "announced": the first time this node hears of an envelope */
	struct intent_envelope peek;
	if (env.err == 0 && intent_envelope_decode(env.data, env.len, &peek, NULL) == 0 &&
	    intent_store_get_id(n->intents, peek.id) == NULL) {
		char id[65];
		node_intents_hex(peek.id, 32, id);
		node_log_event(&n->log, NODE_LOG_INFO, "intent_announced",
		               json_pack("{s:s,s:s,s:s,s:I,s:s}", "id", id, "kind",
		                         intent_kind_name(peek.body.kind), "name", peek.body.name,
		                         "version", (json_int_t)peek.body.hlc, "from", "api"));
	}

	struct intent_offer o = {.bytes = env.data,
	                         .len = env.len,
	                         .now_ms = node_wall_ms(),
	                         .source = INTENT_FROM_API,
	                         .from = "api"};
	enum intent_outcome out =
	        env.err == 0 ? intent_store_offer(n->intents, &o, &err) : INTENT_REJECTED;
	if (env.err != 0) {
		err.reason = INTENT_R_TOO_BIG;
		snprintf(err.text, sizeof(err.text), "envelope over its size limit");
	}
	shoal_buf_destroy(&env);
	if (out == INTENT_REJECTED || out == INTENT_PENDING) {
		refuse(n, req, &o, &err);
		return;
	}
	node_http_json(req, 202,
	               json_pack("{s:o,s:I,s:s,s:s,s:b}", "id", hex_json(o.id, 32), "version",
	                         (json_int_t)o.version, "kind", intent_kind_name(o.kind), "name",
	                         o.name, "duplicate", out == INTENT_DUPLICATE));
}
