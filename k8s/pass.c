/*
 * pass.c - one apply pass of a set: resolve, apply, prune.
 *
 * A pass walks the set's objects in order (CRDs, Namespaces, the rest):
 * it resolves each kind through discovery (asking the server for the
 * group-version on a miss, which is how a just-Established CRD's kinds
 * appear), creates a missing namespace, server-side applies the object,
 * and after a CRD waits until it is Established; before the first object of
 * a resource the set's record does not name yet, it widens the record
 * (parent.c). Then it lists every resource the set has ever applied by the
 * part-of label and deletes what is no longer in the set. The same LIST
 * hands the watches their resourceVersion.
 *
 * Errors come in two kinds. A rejection (4xx other than 401/408/409/429: a
 * 422 Invalid, a 404 namespace, a 403) is the object's fault: the pass
 * carries on with the other objects, the set is failed with the server's
 * message, and pruning is skipped because an incomplete apply must not
 * delete the objects it meant to replace. Anything else (no answer, 5xx,
 * 429, a conflict) is the cluster's: the pass stops and is retried. Both
 * retry with exponential backoff and jitter; a rejection may be cured by
 * someone else (the namespace appears, a quota is raised).
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "shoal/error.h"

static void step(struct k8s_set *s);

void k8s_pass_step(struct k8s_set *s)
{
	step(s);
}

static struct k8s_ctx *ctx_of(struct k8s_set *s)
{
	return s->ctx;
}

void k8s_obj_set_live(struct k8s_obj *o, json_t *live)
{
	json_t *copy = json_deep_copy(live);
	if (copy == NULL)
		return;
	json_object_set_new(copy, "apiVersion", json_string(o->api_version));
	json_object_set_new(copy, "kind", json_string(o->kind));
	json_decref(o->live);
	o->live = copy;
}

void k8s_describe_error(const struct k8s_obj *o, const struct k8s_http_result *res, char *out,
                        size_t cap)
{
	char what[300] = "";
	if (o != NULL)
		k8s_fmt(what, sizeof(what), "%s %s%s%s: ", o->kind, o->ns != NULL ? o->ns : "",
		        o->ns != NULL ? "/" : "", o->name);
	if (res->error != NULL) {
		k8s_fmt(out, cap, "%s%s", what, res->error);
		return;
	}
	json_t *st = json_loadb(res->body, res->len, 0, NULL);
	const char *msg = json_string_value(json_object_get(st, "message"));
	if (msg != NULL)
		k8s_fmt(out, cap, "%s%s", what, msg);
	else
		k8s_fmt(out, cap, "%sHTTP %ld", what, res->status);
	json_decref(st);
}

/* A rejection the object itself earned, as opposed to a cluster trouble.
 * 401 is the client's credential (an expired token), not the object. */
bool k8s_is_rejection(long status)
{
	return status >= 400 && status < 500 && status != 401 && status != 408 && status != 409 &&
	       status != 429;
}

static void finish(struct k8s_set *s)
{
	struct k8s_ctx *ctx = ctx_of(s);
	uint64_t now = k8s_now(ctx);
	s->in_pass = false;
	s->step = STEP_IDLE;
	s->transient[0] = '\0';
	if (s->pass_failed) {
		memcpy(s->failed_reason, s->pass_reason, sizeof(s->failed_reason));
		s->retries++;
		s->run_at = now + k8s_backoff_ms(ctx, s->retries);
	} else {
		s->failed_reason[0] = '\0';
		s->retries = 0;
		s->ever_applied = true;
		s->run_at = now + ctx->resync_ms;
		if (s->removing) {
			k8s_set_destroy(s);
			return;
		}
	}
	s->passes++;
	s->pod_at = now;
	if (s->again) {
		s->again = false;
		if (!s->pass_failed)
			s->run_at = now + K8S_DEBOUNCE_MS;
	}
}

/* The cluster could not take the pass: stop and retry later. */
void k8s_pass_fail(struct k8s_set *s, const char *msg)
{
	struct k8s_ctx *ctx = ctx_of(s);
	s->in_pass = false;
	s->step = STEP_IDLE;
	s->again = false;
	k8s_fmt(s->transient, sizeof(s->transient), "%s", msg);
	s->retries++;
	s->run_at = k8s_now(ctx) + k8s_backoff_ms(ctx, s->retries);
}

void k8s_pass_reject(struct k8s_set *s, const char *msg)
{
	if (!s->pass_failed)
		k8s_fmt(s->pass_reason, sizeof(s->pass_reason), "%s", msg);
	s->pass_failed = true;
}

int k8s_pass_request(struct k8s_set *s, const char *method, const char *path, const char *body,
                     const char *ctype, k8s_http_done_cb cb)
{
	struct k8s_http_opts o = {.method = method,
	                          .path = path,
	                          .body = body,
	                          .body_len = body != NULL ? strlen(body) : 0,
	                          .content_type = ctype};
	int rc = k8s_http_start(ctx_of(s)->http, &o, cb, s, &s->req);
	if (rc != 0) {
		char msg[128];
		k8s_fmt(msg, sizeof(msg), "cannot start a request: %s", shoal_strerror(rc));
		k8s_pass_fail(s, msg);
	}
	return rc;
}

int k8s_set_add_kind(struct k8s_set *s, const struct k8s_resource *r)
{
	for (size_t i = 0; i < s->nkinds; i++)
		if (strcmp(s->kinds[i]->res.api_version, r->api_version) == 0 &&
		    strcmp(s->kinds[i]->res.name, r->name) == 0)
			return (int)i;
	struct k8s_kind **nk = realloc(s->kinds, (s->nkinds + 1) * sizeof(*nk));
	if (nk == NULL)
		return -1;
	s->kinds = nk;
	struct k8s_kind *k = calloc(1, sizeof(*k));
	if (k == NULL)
		return -1;
	k->set = s;
	k->res.api_version = strdup(r->api_version);
	k->res.kind = strdup(r->kind);
	k->res.name = strdup(r->name);
	k->res.namespaced = r->namespaced;
	if (k->res.api_version == NULL || k->res.kind == NULL || k->res.name == NULL) {
		free(k->res.api_version);
		free(k->res.kind);
		free(k->res.name);
		free(k);
		return -1;
	}
	s->kinds[s->nkinds] = k;
	return (int)s->nkinds++;
}

void k8s_pass_abort(struct k8s_set *s)
{
	k8s_http_cancel(s->req);
	s->req = NULL;
	s->in_pass = false;
	s->again = false;
	s->step = STEP_IDLE;
}

void k8s_pass_start(struct k8s_set *s)
{
	s->in_pass = true;
	s->again = false;
	s->run_at = 0;
	s->idx = 0;
	s->pass_failed = false;
	s->parent_refused = false;
	s->pass_reason[0] = '\0';
	json_decref(s->ns_done);
	s->ns_done = json_object();
	json_decref(s->doomed);
	s->doomed = json_array();
	for (size_t i = 0; i < s->nobjs; i++) {
		s->objs[i].applied = false;
		s->objs[i].discovered = false;
	}
	if (s->ns_done == NULL || s->doomed == NULL) {
		k8s_pass_fail(s, "out of memory");
		return;
	}
	step(s);
}

void k8s_set_schedule(struct k8s_set *s)
{
	if (s->in_pass) {
		s->again = true;
		return;
	}
	uint64_t at = k8s_now(ctx_of(s)) + K8S_DEBOUNCE_MS;
	/* A set in backoff keeps its backoff: drift does not hurry a retry. */
	if (s->retries == 0 && (s->run_at == 0 || s->run_at > at))
		s->run_at = at;
}

/* ---- resolve ------------------------------------------------------------ */

static void on_discovery(void *arg, const struct k8s_http_result *res)
{
	struct k8s_set *s = arg;
	s->req = NULL;
	struct k8s_obj *o = &s->objs[s->idx];
	o->discovered = true;
	if (res->status == 200) {
		char err[128];
		k8s_discovery_store(ctx_of(s)->disc, o->api_version, res->body, res->len, err,
		                    sizeof(err));
	} else if (res->status != 404) {
		char msg[K8S_REASON_MAX];
		k8s_describe_error(NULL, res, msg, sizeof(msg));
		k8s_pass_fail(s, msg);
		return;
	}
	step(s);
}

/* Find objs[idx]'s resource; returns true when resolved (or rejected and
 * skipped), false when a request went out. */
static bool resolve(struct k8s_set *s, struct k8s_obj *o)
{
	const struct k8s_resource *r = k8s_discovery_find(ctx_of(s)->disc, o->api_version, o->kind);
	if (r == NULL && !o->discovered) {
		char path[K8S_PATH_MAX];
		k8s_gv_path(o->api_version, path, sizeof(path));
		s->step = STEP_RESOLVE;
		k8s_pass_request(s, "GET", path, NULL, NULL, on_discovery);
		return false;
	}
	if (r == NULL) {
		char msg[K8S_REASON_MAX];
		k8s_fmt(msg, sizeof(msg), "%s %s: the cluster serves no kind %s in %s", o->kind,
		        o->name, o->kind, o->api_version);
		k8s_pass_reject(s, msg);
		return true;
	}
	int ki = k8s_set_add_kind(s, r);
	if (ki < 0) {
		k8s_pass_fail(s, "out of memory");
		return false;
	}
	json_t *meta = json_object_get(o->manifest, "metadata");
	if (r->namespaced) {
		const char *ns = json_string_value(json_object_get(meta, "namespace"));
		if (ns == NULL) {
			ns = s->default_ns != NULL ? s->default_ns : ctx_of(s)->cluster.namespace;
			json_object_set_new(meta, "namespace", json_string(ns));
		}
		free(o->ns);
		o->ns = strdup(ns);
	} else {
		/* A namespace on a cluster-scoped object is ignored by kubectl;
		 * the API server would answer 400 for it. */
		json_object_del(meta, "namespace");
	}
	o->kind_idx = ki;
	return true;
}

/* ---- namespace ---------------------------------------------------------- */

static bool declared_namespace(const struct k8s_set *s, const char *ns)
{
	for (size_t i = 0; i < s->nobjs; i++)
		if (k8s_is_namespace(s->objs[i].manifest) && strcmp(s->objs[i].name, ns) == 0)
			return true;
	return false;
}

static void on_namespace(void *arg, const struct k8s_http_result *res)
{
	struct k8s_set *s = arg;
	s->req = NULL;
	struct k8s_obj *o = &s->objs[s->idx];
	if (res->status == 201 || res->status == 409) { /* made, or already there */
		json_object_set_new(s->ns_done, o->ns, json_true());
	} else {
		char msg[K8S_REASON_MAX];
		k8s_describe_error(NULL, res, msg, sizeof(msg));
		if (!k8s_is_rejection(res->status)) {
			k8s_pass_fail(s, msg);
			return;
		}
		k8s_pass_reject(s, msg);
		s->idx++;
	}
	step(s);
}

static bool ensure_namespace(struct k8s_set *s, struct k8s_obj *o)
{
	if (o->ns == NULL || json_object_get(s->ns_done, o->ns) != NULL ||
	    declared_namespace(s, o->ns))
		return true;
	char body[512];
	k8s_fmt(body, sizeof(body),
	        "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}",
	        o->ns);
	s->step = STEP_NAMESPACE;
	k8s_pass_request(s, "POST", "/api/v1/namespaces?fieldManager=" K8S_FIELD_MANAGER, body,
	                 "application/json", on_namespace);
	return false;
}

/* ---- apply -------------------------------------------------------------- */

static bool crd_established(const json_t *crd)
{
	json_t *conds = json_object_get(json_object_get(crd, "status"), "conditions");
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *st = json_string_value(json_object_get(c, "status"));
		if (t != NULL && st != NULL && !strcmp(t, "Established") && !strcmp(st, "True"))
			return true;
	}
	return false;
}

static void on_apply(void *arg, const struct k8s_http_result *res)
{
	struct k8s_set *s = arg;
	s->req = NULL;
	struct k8s_obj *o = &s->objs[s->idx];
	if (res->status == 200 || res->status == 201) {
		json_t *live = json_loadb(res->body, res->len, 0, NULL);
		if (live != NULL)
			k8s_obj_set_live(o, live);
		json_decref(live);
		o->applied = true;
		if (k8s_is_crd(o->manifest) && !crd_established(o->live)) {
			s->step = STEP_WAIT_CRD;
			s->wait_at = k8s_now(ctx_of(s)) + K8S_CRD_POLL_MS;
			s->crd_deadline = k8s_now(ctx_of(s)) + K8S_CRD_WAIT_MS;
			return;
		}
		s->idx++;
		step(s);
		return;
	}
	char msg[K8S_REASON_MAX];
	k8s_describe_error(o, res, msg, sizeof(msg));
	if (!k8s_is_rejection(res->status)) {
		k8s_pass_fail(s, msg);
		return;
	}
	if (res->status == 404) /* the kind may have gone (CRD deleted): look again next time */
		o->kind_idx = -1;
	k8s_pass_reject(s, msg);
	s->idx++;
	step(s);
}

static void apply(struct k8s_set *s, struct k8s_obj *o)
{
	const struct k8s_resource *r = &s->kinds[o->kind_idx]->res;
	char path[K8S_PATH_MAX];
	if (k8s_resource_path(r, o->ns, o->name, path, sizeof(path) - 64) != 0) {
		k8s_pass_reject(s, "object path too long");
		s->idx++;
		step(s);
		return;
	}
	strncat(path, "?fieldManager=" K8S_FIELD_MANAGER "&force=true",
	        sizeof(path) - strlen(path) - 1);
	/* JSON is YAML, so the apply-patch+yaml content type takes it as is. */
	char *body = json_dumps(o->manifest, JSON_COMPACT);
	if (body == NULL) {
		k8s_pass_fail(s, "out of memory");
		return;
	}
	s->step = STEP_APPLY;
	k8s_pass_request(s, "PATCH", path, body, "application/apply-patch+yaml", on_apply);
	free(body);
}

static void on_crd_poll(void *arg, const struct k8s_http_result *res)
{
	struct k8s_set *s = arg;
	s->req = NULL;
	struct k8s_obj *o = &s->objs[s->idx];
	if (res->status == 200) {
		json_t *live = json_loadb(res->body, res->len, 0, NULL);
		if (live != NULL)
			k8s_obj_set_live(o, live);
		json_decref(live);
		if (crd_established(o->live)) {
			s->idx++;
			step(s);
			return;
		}
	}
	uint64_t now = k8s_now(ctx_of(s));
	if (now >= s->crd_deadline) {
		char msg[K8S_REASON_MAX];
		k8s_fmt(msg, sizeof(msg),
		        "CustomResourceDefinition %s is not Established after %u s", o->name,
		        K8S_CRD_WAIT_MS / 1000);
		k8s_pass_fail(s, msg);
		return;
	}
	s->wait_at = now + K8S_CRD_POLL_MS;
}

/* ---- prune -------------------------------------------------------------- */

static bool desired(const struct k8s_set *s, size_t ki, const char *ns, const char *name)
{
	for (size_t i = 0; i < s->nobjs; i++) {
		const struct k8s_obj *o = &s->objs[i];
		if (o->kind_idx == (int)ki && strcmp(o->name, name) == 0 &&
		    strcmp(o->ns != NULL ? o->ns : "", ns != NULL ? ns : "") == 0)
			return true;
	}
	return false;
}

static void on_prune_list(void *arg, const struct k8s_http_result *res)
{
	struct k8s_set *s = arg;
	s->req = NULL;
	struct k8s_kind *k = s->kinds[s->idx];
	if (res->status != 200) {
		char msg[K8S_REASON_MAX];
		k8s_describe_error(NULL, res, msg, sizeof(msg));
		if (res->status == 404) { /* the resource is gone (its CRD deleted) */
			s->idx++;
			step(s);
			return;
		}
		k8s_pass_fail(s, msg);
		return;
	}
	json_t *list = json_loadb(res->body, res->len, 0, NULL);
	json_t *items = json_object_get(list, "items");
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		json_t *meta = json_object_get(it, "metadata");
		const char *ns = json_string_value(json_object_get(meta, "namespace"));
		const char *name = json_string_value(json_object_get(meta, "name"));
		if (name == NULL)
			continue;
		if (!desired(s, s->idx, ns, name)) {
			char path[K8S_PATH_MAX];
			if (k8s_resource_path(&k->res, ns, name, path, sizeof(path)) == 0)
				json_array_append_new(s->doomed, json_string(path));
		} else {
			k8s_kind_observe(k, "MODIFIED", it);
		}
	}
	const char *rv = json_string_value(
	        json_object_get(json_object_get(list, "metadata"), "resourceVersion"));
	if (rv != NULL && k->watch == NULL && k->list == NULL && !s->removing) {
		free(k->rv);
		k->rv = strdup(rv);
		k8s_watch_start(k);
	}
	json_decref(list);
	s->idx++;
	step(s);
}

static void on_delete(void *arg, const struct k8s_http_result *res)
{
	struct k8s_set *s = arg;
	s->req = NULL;
	if (res->status != 200 && res->status != 202 && res->status != 404) {
		char msg[K8S_REASON_MAX], what[K8S_PATH_MAX + 16];
		k8s_describe_error(NULL, res, msg, sizeof(msg));
		k8s_fmt(what, sizeof(what),
		        "delete %s: ", json_string_value(json_array_get(s->doomed, s->idx)));
		char full[K8S_REASON_MAX];
		k8s_fmt(full, sizeof(full), "%s%s", what, msg);
		if (!k8s_is_rejection(res->status)) {
			k8s_pass_fail(s, full);
			return;
		}
		k8s_pass_reject(s, full);
	}
	s->idx++;
	step(s);
}

/* ---- the walk ----------------------------------------------------------- */

static void step(struct k8s_set *s)
{
	char path[K8S_PATH_MAX + 128];
	while (s->in_pass) {
		if (!s->parent_read) {
			k8s_parent_read(s);
			return;
		}
		if (s->step <= STEP_WAIT_CRD && s->idx < s->nobjs) {
			struct k8s_obj *o = &s->objs[s->idx];
			if (o->kind_idx < 0 && !resolve(s, o))
				return;
			if (o->kind_idx < 0) { /* rejected by resolve */
				s->idx++;
				continue;
			}
			if (!ensure_namespace(s, o))
				return;
			/* The record first names where the object goes, so that no
			 * restart can leave an object nothing leads back to. */
			if (!s->kinds[o->kind_idx]->recorded && !s->parent_refused &&
			    k8s_parent_write(s, true))
				return;
			apply(s, o);
			return;
		}
		if (s->step <= STEP_WAIT_CRD) {
			if (s->pass_failed && !s->removing) { /* no pruning after a rejection */
				finish(s);
				return;
			}
			s->step = STEP_PARENT_WRITE;
		}
		if (s->step == STEP_PARENT_WRITE) {
			/* Record every resource that may hold members before pruning,
			 * so a restart in the middle still knows where to look. */
			s->step = STEP_PRUNE_LIST;
			s->idx = 0;
			if (k8s_parent_write(s, true))
				return;
		}
		if (s->step == STEP_PRUNE_LIST && s->idx < s->nkinds) {
			struct k8s_kind *k = s->kinds[s->idx];
			char sel[128];
			k8s_fmt(sel, sizeof(sel), "%s%%3D%s", "applyset.kubernetes.io%2Fpart-of",
			        s->label);
			k8s_resource_path(&k->res, NULL, NULL, path, K8S_PATH_MAX);
			size_t n = strlen(path);
			k8s_fmt(path + n, sizeof(path) - n, "?labelSelector=%s", sel);
			k8s_pass_request(s, "GET", path, NULL, NULL, on_prune_list);
			return;
		}
		if (s->step == STEP_PRUNE_LIST) {
			s->step = STEP_PRUNE_DELETE;
			s->idx = 0;
		}
		if (s->step == STEP_PRUNE_DELETE && s->idx < json_array_size(s->doomed)) {
			k8s_fmt(path, sizeof(path), "%s?propagationPolicy=Background",
			        json_string_value(json_array_get(s->doomed, s->idx)));
			k8s_pass_request(s, "DELETE", path, NULL, NULL, on_delete);
			return;
		}
		if (s->step == STEP_PRUNE_DELETE) {
			/* Pruned: the record narrows to what the set now holds. */
			s->step = STEP_PARENT_FINAL;
			if (k8s_parent_write(s, false))
				return;
		}
		finish(s);
		return;
	}
}

void k8s_pass_tick(struct k8s_set *s, uint64_t now)
{
	if (!s->in_pass) {
		if (s->run_at != 0 && now >= s->run_at)
			k8s_pass_start(s);
		return;
	}
	if (s->step == STEP_WAIT_CRD && s->req == NULL && now >= s->wait_at) {
		struct k8s_obj *o = &s->objs[s->idx];
		char path[K8S_PATH_MAX];
		if (k8s_resource_path(&s->kinds[o->kind_idx]->res, NULL, o->name, path,
		                      sizeof(path)) == 0)
			k8s_pass_request(s, "GET", path, NULL, NULL, on_crd_poll);
	}
}
