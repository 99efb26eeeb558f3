/*
 * parent.c - a set's record on the cluster: where its members may be.
 *
 * Pruning lists each resource the set has applied by its part-of label.
 * Held only in memory, that list would be lost on a restart, and an object
 * of a kind the new content no longer has would never be found again. So,
 * as ApplySet (KEP-3659) does with its parent object, each set keeps a
 * ConfigMap `applyset-<label>` in the context's namespace, labelled
 * `applyset.kubernetes.io/id: <label>`, whose annotations name the
 * resources: `applyset.kubernetes.io/contains-group-kinds` (the KEP's
 * Kind.group list, for people and tools) and `shoal/resources` (what the
 * engine reads back: apiVersion|Kind|resource|N or C, comma-separated, so
 * a restart needs no discovery to list them), and the set itself:
 * `shoal/set-id`, since the label is a hash of the id and a process that
 * finds the record (records.c) must tell whose it is.
 *
 * The record is read once per set per process before its first pass,
 * widened before an object of a resource it does not name yet is applied
 * (a process that dies right after that apply still leaves a record of
 * where the object is), widened to every resource that may hold members
 * before pruning, and narrowed to the set's current resources after. When
 * the set is removed and its members are gone, the record is deleted.
 * kubectl does not take it for one of its own ApplySets: the id is Shoal's
 * hash, not the KEP's.
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"

#define RESOURCES_ANNOTATION   "shoal/resources"
#define GROUP_KINDS_ANNOTATION "applyset.kubernetes.io/contains-group-kinds"

static void parent_path(const struct k8s_set *s, char *out, size_t cap)
{
	k8s_fmt(out, cap, "/api/v1/namespaces/%s/configmaps/" K8S_RECORD_PREFIX "%s",
	        s->ctx->cluster.namespace, s->label);
}

/* Add the resources of a shoal/resources annotation to the set's kinds;
 * malformed entries are skipped (the record is advisory). `recorded`: the
 * record names this set, so it needs no rewrite for these kinds. */
static void load(struct k8s_set *s, const char *text, bool recorded)
{
	char *copy = strdup(text);
	if (copy == NULL)
		return;
	char *save = NULL;
	for (char *e = strtok_r(copy, ",", &save); e != NULL; e = strtok_r(NULL, ",", &save)) {
		char *f[4];
		int n = 0;
		char *save2 = NULL;
		for (char *p = strtok_r(e, "|", &save2); p != NULL && n < 4;
		     p = strtok_r(NULL, "|", &save2))
			f[n++] = p;
		if (n != 4 || (strcmp(f[3], "N") != 0 && strcmp(f[3], "C") != 0))
			continue;
		struct k8s_resource r = {.api_version = f[0],
		                         .kind = f[1],
		                         .name = f[2],
		                         .namespaced = f[3][0] == 'N'};
		int ki = k8s_set_add_kind(s, &r);
		if (ki >= 0 && recorded)
			s->kinds[ki]->recorded = true;
	}
	free(copy);
}

static void on_read(void *arg, const struct k8s_http_result *res)
{
	struct k8s_set *s = arg;
	s->req = NULL;
	if (res->status == 200) {
		json_t *cm = json_loadb(res->body, res->len, 0, NULL);
		json_t *ann = json_object_get(json_object_get(cm, "metadata"), "annotations");
		const char *text = json_string_value(json_object_get(ann, RESOURCES_ANNOTATION));
		const char *id = json_string_value(json_object_get(ann, K8S_RECORD_SET_ANNOTATION));
		/* A record written before records named their set is rewritten at
		 * the first write, so that it names it from then on. */
		bool named = id != NULL && strcmp(id, s->id) == 0;
		s->parent_exists = true;
		if (text != NULL) {
			load(s, text, named);
			free(s->parent_text);
			s->parent_text = named ? strdup(text) : NULL;
		}
		json_decref(cm);
	} else if (res->status != 404) {
		char msg[K8S_REASON_MAX];
		k8s_describe_error(NULL, res, msg, sizeof(msg));
		k8s_pass_fail(s, msg);
		return;
	}
	s->parent_read = true;
	k8s_pass_step(s);
}

bool k8s_parent_read(struct k8s_set *s)
{
	char path[K8S_PATH_MAX];
	parent_path(s, path, sizeof(path));
	return k8s_pass_request(s, "GET", path, NULL, NULL, on_read) == 0;
}

static bool kind_in_use(const struct k8s_set *s, size_t ki)
{
	for (size_t i = 0; i < s->nobjs; i++)
		if (s->objs[i].kind_idx == (int)ki)
			return true;
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The two annotation values for the chosen kinds, sorted so that the same
 * kinds always give the same text. NULL on no memory. */
static char *annotations(const struct k8s_set *s, bool all_kinds, char **group_kinds)
{
	size_t n = 0;
	char **res = calloc(s->nkinds + 1, sizeof(char *));
	char **gks = calloc(s->nkinds + 1, sizeof(char *));
	size_t total = 1, gtotal = 1;
	for (size_t i = 0; res != NULL && gks != NULL && i < s->nkinds; i++) {
		if (!all_kinds && !kind_in_use(s, i))
			continue;
		const struct k8s_resource *r = &s->kinds[i]->res;
		char buf[512], gbuf[300];
		k8s_fmt(buf, sizeof(buf), "%s|%s|%s|%s", r->api_version, r->kind, r->name,
		        r->namespaced ? "N" : "C");
		const char *slash = strchr(r->api_version, '/');
		if (slash != NULL)
			k8s_fmt(gbuf, sizeof(gbuf), "%s.%.*s", r->kind,
			        (int)(slash - r->api_version), r->api_version);
		else
			k8s_fmt(gbuf, sizeof(gbuf), "%s", r->kind);
		res[n] = strdup(buf);
		gks[n] = strdup(gbuf);
		if (res[n] == NULL || gks[n] == NULL) {
			free(res[n]);
			free(gks[n]);
			break;
		}
		total += strlen(buf) + 1;
		gtotal += strlen(gbuf) + 1;
		n++;
	}
	char *out = NULL, *gout = NULL;
	if (res != NULL && gks != NULL) {
		qsort(res, n, sizeof(char *), cmp_str);
		qsort(gks, n, sizeof(char *), cmp_str);
		out = calloc(1, total);
		gout = calloc(1, gtotal);
	}
	for (size_t i = 0; out != NULL && gout != NULL && i < n; i++) {
		if (i > 0) {
			strncat(out, ",", total - strlen(out) - 1);
			/* Kind.group repeats across versions: list each once. */
			if (strcmp(gks[i], gks[i - 1]) != 0)
				strncat(gout, ",", gtotal - strlen(gout) - 1);
		}
		strncat(out, res[i], total - strlen(out) - 1);
		if (i == 0 || strcmp(gks[i], gks[i - 1]) != 0)
			strncat(gout, gks[i], gtotal - strlen(gout) - 1);
	}
	for (size_t i = 0; i < n; i++) {
		free(res != NULL ? res[i] : NULL);
		free(gks != NULL ? gks[i] : NULL);
	}
	free(res);
	free(gks);
	if (out == NULL || gout == NULL) {
		free(out);
		free(gout);
		return NULL;
	}
	*group_kinds = gout;
	return out;
}

/* The record now names exactly these kinds: all of them, or (the final
 * narrowing) those of the current objects. */
static void mark_recorded(struct k8s_set *s, bool all_kinds)
{
	for (size_t i = 0; i < s->nkinds; i++)
		s->kinds[i]->recorded = all_kinds || kind_in_use(s, i);
}

static void on_write(void *arg, const struct k8s_http_result *res)
{
	struct k8s_set *s = arg;
	s->req = NULL;
	bool deleting = s->step == STEP_PARENT_FINAL && s->removing;
	bool ok = (res->status >= 200 && res->status < 300) || (deleting && res->status == 404);
	if (ok && deleting) {
		s->parent_exists = false;
	} else if (ok) {
		s->parent_exists = true;
		mark_recorded(s, s->step != STEP_PARENT_FINAL);
	} else {
		char msg[K8S_REASON_MAX], full[K8S_REASON_MAX];
		k8s_describe_error(NULL, res, msg, sizeof(msg));
		k8s_fmt(full, sizeof(full), "ApplySet record: %s", msg);
		if (!k8s_is_rejection(res->status)) {
			k8s_pass_fail(s, full);
			return;
		}
		s->parent_refused = true; /* not asked again before every object */
		k8s_pass_reject(s, full);
	}
	k8s_pass_step(s);
}

bool k8s_parent_write(struct k8s_set *s, bool all_kinds)
{
	char path[K8S_PATH_MAX + 64];
	parent_path(s, path, K8S_PATH_MAX);
	if (s->removing && !all_kinds) {
		/* Every member is gone: the record goes too. */
		if (!s->parent_exists)
			return false;
		free(s->parent_text);
		s->parent_text = NULL;
		return k8s_pass_request(s, "DELETE", path, NULL, NULL, on_write) == 0;
	}
	char *gks = NULL;
	char *text = annotations(s, all_kinds, &gks);
	if (text == NULL) {
		k8s_pass_fail(s, "out of memory");
		return true; /* the pass stopped */
	}
	if (text[0] == '\0' || (s->parent_text != NULL && strcmp(text, s->parent_text) == 0)) {
		if (text[0] != '\0')
			mark_recorded(s, all_kinds);
		free(text);
		free(gks);
		return false;
	}
	char name[64];
	k8s_fmt(name, sizeof(name), K8S_RECORD_PREFIX "%s", s->label);
	json_t *cm = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s},s:{s:s,s:s,s:s,s:s}}}", "apiVersion",
	                       "v1", "kind", "ConfigMap", "metadata", "name", name, "namespace",
	                       s->ctx->cluster.namespace, "labels", K8S_RECORD_ID_LABEL, s->label,
	                       "annotations", RESOURCES_ANNOTATION, text, GROUP_KINDS_ANNOTATION,
	                       gks, K8S_RECORD_TOOLING, K8S_RECORD_TOOLING_VALUE,
	                       K8S_RECORD_SET_ANNOTATION, s->id);
	char *body = cm != NULL ? json_dumps(cm, JSON_COMPACT) : NULL;
	json_decref(cm);
	free(gks);
	if (body == NULL) {
		free(text);
		k8s_pass_fail(s, "out of memory");
		return true;
	}
	free(s->parent_text);
	s->parent_text = text;
	strncat(path, "?fieldManager=" K8S_FIELD_MANAGER "&force=true",
	        sizeof(path) - strlen(path) - 1);
	int rc = k8s_pass_request(s, "PATCH", path, body, "application/apply-patch+yaml", on_write);
	free(body);
	return rc == 0 || !s->in_pass;
}
