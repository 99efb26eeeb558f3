/*
 * watch.c - keeping a set's objects there: LIST, WATCH, re-list on 410.
 *
 * One watch per resource a set has applied, across all namespaces and
 * narrowed by the part-of label, started from the resourceVersion of the
 * pass's prune LIST. Each event updates the live copy the status is read
 * from; an event showing an object that no longer holds what the set
 * applied (someone edited or deleted it), or a labelled object the set does
 * not hold, schedules a re-apply. Drift is judged as "every field of the
 * manifest has the same value on the server": fields the server or a
 * controller adds never count, and a false alarm costs one no-op apply
 * (server-side apply writes nothing when nothing changes, so no event and
 * no loop).
 *
 * A watch that ends normally (the server's timeout) resumes from the last
 * resourceVersion; one that fails waits with backoff; a 410 Gone (the
 * version fell out of the server's history) lists again. The periodic
 * re-apply in ctx.c covers whatever a broken watch missed.
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kstatus.h"
#include "shoal/error.h"

bool k8s_json_subset(const json_t *want, const json_t *live)
{
	if (json_is_object(want)) {
		if (!json_is_object(live))
			return false;
		const char *key;
		json_t *v;
		json_object_foreach((json_t *)want, key, v)
		{
			if (!k8s_json_subset(v, json_object_get(live, key)))
				return false;
		}
		return true;
	}
	if (json_is_array(want)) {
		if (!json_is_array(live) || json_array_size(want) != json_array_size(live))
			return false;
		for (size_t i = 0; i < json_array_size(want); i++)
			if (!k8s_json_subset(json_array_get(want, i), json_array_get(live, i)))
				return false;
		return true;
	}
	if (json_is_null(want))
		return live == NULL || json_is_null(live);
	if (json_is_number(want))
		return json_is_number(live) && json_number_value(want) == json_number_value(live);
	return json_equal(want, live);
}

void k8s_kind_observe(struct k8s_kind *k, const char *type, json_t *obj)
{
	struct k8s_set *s = k->set;
	json_t *meta = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	if (name == NULL)
		return;
	int ki = -1;
	for (size_t i = 0; i < s->nkinds; i++)
		if (s->kinds[i] == k)
			ki = (int)i;
	for (size_t i = 0; i < s->nobjs; i++) {
		struct k8s_obj *o = &s->objs[i];
		if (o->kind_idx != ki || strcmp(o->name, name) != 0 ||
		    strcmp(o->ns != NULL ? o->ns : "", ns != NULL ? ns : "") != 0)
			continue;
		if (strcmp(type, "DELETED") == 0) {
			json_decref(o->live);
			o->live = NULL;
			k8s_set_schedule(s);
			return;
		}
		k8s_obj_set_live(o, obj);
		/* A workload's counts moved: its pods did something; look now. */
		if (k8s_is_workload(o->api_version, o->kind) && s->pod_at != 0) {
			s->pod_at = k8s_now(s->ctx);
			s->pods_stale = true;
		}
		/* Before the pass applied it, a difference is expected, not drift. */
		if (o->applied && o->live != NULL && !k8s_json_subset(o->manifest, o->live))
			k8s_set_schedule(s);
		return;
	}
	if (strcmp(type, "DELETED") != 0)
		k8s_set_schedule(s); /* labelled as the set's, not in it: prune */
}

static void restart_later(struct k8s_kind *k, bool failed)
{
	struct k8s_ctx *ctx = k->set->ctx;
	if (failed)
		k->failures++;
	else
		k->failures = 0;
	k->restart_at = k8s_now(ctx) + (failed ? k8s_backoff_ms(ctx, k->failures) : K8S_TICK_MS);
}

static void on_line(void *arg, const char *line, size_t len)
{
	struct k8s_kind *k = arg;
	json_t *ev = json_loadb(line, len, 0, NULL);
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	if (type == NULL || !json_is_object(obj)) {
		json_decref(ev);
		return;
	}
	if (strcmp(type, "ERROR") == 0) {
		json_t *code = json_object_get(obj, "code");
		if (json_integer_value(code) == 410)
			k->gone = true;
		json_decref(ev);
		return;
	}
	const char *rv = json_string_value(
	        json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
	if (rv != NULL) {
		free(k->rv);
		k->rv = strdup(rv);
	}
	if (strcmp(type, "BOOKMARK") != 0)
		k8s_kind_observe(k, type, obj);
	json_decref(ev);
}

static void on_watch_done(void *arg, const struct k8s_http_result *res)
{
	struct k8s_kind *k = arg;
	k->watch = NULL;
	if (k->gone || res->status == 410) {
		k->gone = false;
		free(k->rv);
		k->rv = NULL; /* list again */
		restart_later(k, false);
		return;
	}
	bool failed = res->status != 200 || res->error != NULL;
	restart_later(k, failed);
	/* No answer, or the server failing: ask whether the API server still
	 * answers at all (version.c), so a settled set reads degraded while it
	 * does not, rather than ready from old news. */
	if (res->status == 0 || res->status >= 500)
		k8s_server_probe(k->set->ctx);
}

static void selector_query(const struct k8s_kind *k, char *out, size_t cap)
{
	k8s_fmt(out, cap, "labelSelector=applyset.kubernetes.io%%2Fpart-of%%3D%s", k->set->label);
}

void k8s_watch_start(struct k8s_kind *k)
{
	char path[K8S_PATH_MAX + 256], sel[128], rv[128];
	if (k8s_resource_path(&k->res, NULL, NULL, path, K8S_PATH_MAX) != 0 || k->rv == NULL)
		return;
	selector_query(k, sel, sizeof(sel));
	if (k8s_url_escape(k->rv, rv, sizeof(rv)) < 0)
		return;
	size_t n = strlen(path);
	k8s_fmt(path + n, sizeof(path) - n,
	        "?watch=1&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=%s&%s",
	        K8S_WATCH_TIMEOUT_S, rv, sel);
	struct k8s_http_opts o = {.method = "GET",
	                          .path = path,
	                          .on_line = on_line,
	                          .timeout_ms = (K8S_WATCH_TIMEOUT_S + 30) * 1000L};
	k->restart_at = 0;
	if (k8s_http_start(k->set->ctx->http, &o, on_watch_done, k, &k->watch) != 0)
		restart_later(k, true);
}

static void on_list(void *arg, const struct k8s_http_result *res)
{
	struct k8s_kind *k = arg;
	k->list = NULL;
	if (res->status != 200) {
		restart_later(k, true);
		if (res->status == 0 || res->status >= 500)
			k8s_server_probe(k->set->ctx);
		return;
	}
	json_t *list = json_loadb(res->body, res->len, 0, NULL);
	json_t *items = json_object_get(list, "items");
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		k8s_kind_observe(k, "MODIFIED", it);
	}
	/* A desired object missing from the list was deleted while unwatched. */
	struct k8s_set *s = k->set;
	for (size_t j = 0; j < s->nobjs; j++) {
		struct k8s_obj *o = &s->objs[j];
		if (o->kind_idx < 0 || s->kinds[o->kind_idx] != k || !o->applied)
			continue;
		bool seen = false;
		json_array_foreach(items, i, it)
		{
			json_t *meta = json_object_get(it, "metadata");
			const char *ns = json_string_value(json_object_get(meta, "namespace"));
			const char *name = json_string_value(json_object_get(meta, "name"));
			if (name != NULL && !strcmp(name, o->name) &&
			    !strcmp(ns != NULL ? ns : "", o->ns != NULL ? o->ns : ""))
				seen = true;
		}
		if (!seen)
			k8s_set_schedule(s);
	}
	const char *rv = json_string_value(
	        json_object_get(json_object_get(list, "metadata"), "resourceVersion"));
	if (rv != NULL) {
		free(k->rv);
		k->rv = strdup(rv);
		k->failures = 0;
		k8s_watch_start(k);
	} else {
		restart_later(k, true);
	}
	json_decref(list);
}

void k8s_kind_tick(struct k8s_kind *k, uint64_t now)
{
	if (k->watch != NULL || k->list != NULL || k->restart_at == 0 || now < k->restart_at)
		return;
	if (k->set->removing)
		return;
	if (k->rv != NULL) {
		k8s_watch_start(k);
		return;
	}
	char path[K8S_PATH_MAX + 128], sel[128];
	if (k8s_resource_path(&k->res, NULL, NULL, path, K8S_PATH_MAX) != 0)
		return;
	selector_query(k, sel, sizeof(sel));
	size_t n = strlen(path);
	k8s_fmt(path + n, sizeof(path) - n, "?%s", sel);
	struct k8s_http_opts o = {.method = "GET", .path = path};
	k->restart_at = 0;
	if (k8s_http_start(k->set->ctx->http, &o, on_list, k, &k->list) != 0)
		restart_later(k, true);
}

void k8s_kind_stop(struct k8s_kind *k)
{
	k8s_http_cancel(k->watch);
	k8s_http_cancel(k->list);
	k->watch = k->list = NULL;
	k->restart_at = 0;
}
