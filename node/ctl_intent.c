/*
 * ctl_intent.c - signing an intent and handing it to a node (ctl_intent.h).
 *
 * `apply` follows Kubernetes' resourceVersion: it reads the version the
 * node holds for (kind, name) and signs an envelope naming it in
 * `replaces`, so a concurrent change by someone else is a 409 rather than a
 * silent overwrite. The version itself is an HLC the node hands out, so the
 * envelope's time is within the node's skew bound by construction, and a
 * laptop with a wrong clock cannot sign intents from the future.
 */
#include "ctl_intent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ctl_api.h"
#include "ctl_http.h"

static json_t *base64_json(const uint8_t *b, size_t len)
{
	size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *text = malloc(cap);
	if (text == NULL)
		return NULL;
	sodium_bin2base64(text, cap, b, len, sodium_base64_VARIANT_ORIGINAL);
	json_t *j = json_string(text);
	free(text);
	return j;
}

json_t *ctl_intent_envelope(const struct intent_draft *d, const uint8_t sk[64])
{
	struct shoal_buf body;
	uint8_t sig[64];
	json_t *j = NULL;
	shoal_buf_create(&body, INTENT_BODY_MAX);
	if (intent_body_pack(d, &body) == 0 && body.data != NULL) {
		crypto_sign_detached(sig, NULL, body.data, body.len, sk);
		j = json_pack("{s:o*,s:o*}", "body", base64_json(body.data, body.len), "sig",
		              base64_json(sig, 64));
	}
	shoal_buf_destroy(&body);
	return j;
}

/* The version the node holds for (kind, name): 0 if none, -1 on failure. */
static int current_version(const struct ctl_opts *o, const struct intent_draft *d,
                           uint64_t *version)
{
	char path[INTENT_NAME_MAX + 64], err[512];
	struct ctl_http_resp r;
	snprintf(path, sizeof(path), "/v1/intents/%s/%s", intent_kind_name(d->kind), d->name);
	*version = 0;
	if (ctl_http_request(o->node, "GET", path, NULL, o->timeout_ms, &r, err, sizeof(err)) != 0)
		return ctl_fail("%s", err), -1;
	int rc = 0;
	if (r.status == 200) {
		json_error_t jerr;
		json_t *j = json_loadb(r.body, r.len, 0, &jerr);
		json_t *v = json_object_get(j, "version");
		if (json_is_integer(v))
			*version = (uint64_t)json_integer_value(v);
		else
			rc = -1, ctl_fail("node %s: GET %s has no version", o->node, path);
		json_decref(j);
	} else if (r.status != 404) {
		rc = -1;
		ctl_fail("node %s: GET %s: HTTP %ld", o->node, path, r.status);
	}
	ctl_http_resp_free(&r);
	return rc;
}

int ctl_intent_submit(const struct ctl_opts *o, struct intent_draft *d, const uint8_t sk[64])
{
	json_t *hlc = NULL, *answer = NULL;
	struct ctl_http_resp raw;
	uint64_t version;

	int rc = ctl_api_call(o, "GET", "/v1/hlc", NULL, &hlc, NULL);
	if (rc != CTL_EXIT_OK)
		return rc;
	json_t *h = json_object_get(hlc, "hlc");
	if (!json_is_integer(h)) {
		json_decref(hlc);
		return ctl_fail("node %s: /v1/hlc has no hlc", o->node);
	}
	d->hlc = (uint64_t)json_integer_value(h);
	json_decref(hlc);
	if (current_version(o, d, &version) != 0)
		return CTL_EXIT_FAIL;
	d->replaces = version;

	json_t *env = ctl_intent_envelope(d, sk);
	if (env == NULL)
		return ctl_fail("cannot sign: the intent is larger than %u bytes",
		                (unsigned)INTENT_BODY_MAX);
	rc = ctl_api_call(o, "POST", "/v1/intents", env, &answer, &raw);
	json_decref(env);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (o->output == CTL_OUT_JSON) {
		ctl_api_print_raw(&raw, stdout);
	} else {
		const char *id = json_string_value(json_object_get(answer, "id"));
		printf("%s/%s %s (version %lld, id %.12s)\n", intent_kind_name(d->kind), d->name,
		       d->op == INTENT_DELETE ? "deleted" : "accepted",
		       (long long)json_integer_value(json_object_get(answer, "version")),
		       id != NULL ? id : "?");
	}
	ctl_http_resp_free(&raw);
	json_decref(answer);
	return CTL_EXIT_OK;
}
