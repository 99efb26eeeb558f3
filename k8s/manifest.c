/*
 * manifest.c - parsing and ordering a set's manifests.
 *
 * JSON input is recognised by its first non-blank byte and read with
 * jansson directly (exact numbers, no YAML surprises); anything else goes
 * through yamljson. The order is a stable sort on a rank (CRD 0, Namespace
 * 1, everything else 2), so within a rank the author's order holds: it is
 * the order kubectl and Helm use for the same reason.
 */
#include "manifest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"
#include "shoal/k8s.h"
#include "yamljson.h"

void k8s_api_group(const char *api_version, char *out, size_t cap)
{
	const char *slash = strchr(api_version, '/');
	if (slash == NULL)
		snprintf(out, cap, "%s", "");
	else
		snprintf(out, cap, "%.*s", (int)(slash - api_version), api_version);
}

static bool kind_is(const json_t *obj, const char *group, const char *kind)
{
	const char *api = json_string_value(json_object_get(obj, "apiVersion"));
	const char *k = json_string_value(json_object_get(obj, "kind"));
	if (api == NULL || k == NULL || strcmp(k, kind) != 0)
		return false;
	char g[256];
	k8s_api_group(api, g, sizeof(g));
	return strcmp(g, group) == 0;
}

bool k8s_is_crd(const json_t *obj)
{
	return kind_is(obj, "apiextensions.k8s.io", "CustomResourceDefinition");
}

bool k8s_is_namespace(const json_t *obj)
{
	return kind_is(obj, "", "Namespace");
}

static int rank(const json_t *obj)
{
	return k8s_is_crd(obj) ? 0 : k8s_is_namespace(obj) ? 1 : 2;
}

/* Top-level values to check: a JSON list's items, a List's items, or the
 * documents themselves. */
static int flatten(json_t *docs, json_t *out, char *err, size_t errcap)
{
	size_t i;
	json_t *d;
	json_array_foreach(docs, i, d)
	{
		const char *kind = json_string_value(json_object_get(d, "kind"));
		json_t *items = json_object_get(d, "items");
		if (kind != NULL && strlen(kind) >= 4 &&
		    strcmp(kind + strlen(kind) - 4, "List") == 0 && json_is_array(items)) {
			if (json_array_extend(out, items) != 0)
				return -ENOMEM;
		} else if (json_is_array(d)) {
			if (json_array_extend(out, d) != 0)
				return -ENOMEM;
		} else if (json_array_append(out, d) != 0) {
			return -ENOMEM;
		}
		if (json_array_size(out) > K8S_SET_OBJECTS_MAX) {
			snprintf(err, errcap, "more than %u objects in one set",
			         K8S_SET_OBJECTS_MAX);
			return SHOAL_E_TOO_BIG;
		}
	}
	return 0;
}

static int check_one(json_t *obj, size_t index, const char *label, char *err, size_t errcap)
{
	if (!json_is_object(obj)) {
		snprintf(err, errcap, "document %zu: not an object", index + 1);
		return SHOAL_E_MALFORMED;
	}
	const char *api = json_string_value(json_object_get(obj, "apiVersion"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	json_t *meta = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	if (api == NULL || api[0] == '\0') {
		snprintf(err, errcap, "document %zu: apiVersion is missing", index + 1);
		return SHOAL_E_MALFORMED;
	}
	if (kind == NULL || kind[0] == '\0') {
		snprintf(err, errcap, "document %zu: kind is missing", index + 1);
		return SHOAL_E_MALFORMED;
	}
	if (!json_is_object(meta)) {
		snprintf(err, errcap, "document %zu (%s): metadata is missing", index + 1, kind);
		return SHOAL_E_MALFORMED;
	}
	if (name == NULL || name[0] == '\0') {
		snprintf(err, errcap, "document %zu (%s): metadata.name is missing%s", index + 1,
		         kind,
		         json_object_get(meta, "generateName") != NULL
		                 ? " (generateName cannot be applied idempotently)"
		                 : "");
		return SHOAL_E_MALFORMED;
	}
	json_t *ns = json_object_get(meta, "namespace");
	if (ns != NULL && (!json_is_string(ns) || json_string_length(ns) == 0)) {
		snprintf(err, errcap, "document %zu (%s %s): metadata.namespace must be a name",
		         index + 1, kind, name);
		return SHOAL_E_MALFORMED;
	}
	json_t *labels = json_object_get(meta, "labels");
	if (labels == NULL || json_is_null(labels)) {
		labels = json_object();
		if (labels == NULL || json_object_set_new(meta, "labels", labels) != 0)
			return -ENOMEM;
	} else if (!json_is_object(labels)) {
		snprintf(err, errcap, "document %zu (%s %s): metadata.labels must be a mapping",
		         index + 1, kind, name);
		return SHOAL_E_MALFORMED;
	}
	if (json_object_set_new(labels, K8S_PART_OF_LABEL, json_string(label)) != 0)
		return -ENOMEM;
	return 0;
}

/* Same group, kind, namespace and name: one object given twice. */
static bool same_object(const json_t *a, const json_t *b)
{
	char ga[256], gb[256];
	k8s_api_group(json_string_value(json_object_get(a, "apiVersion")), ga, sizeof(ga));
	k8s_api_group(json_string_value(json_object_get(b, "apiVersion")), gb, sizeof(gb));
	json_t *ma = json_object_get(a, "metadata"), *mb = json_object_get(b, "metadata");
	const char *na = json_string_value(json_object_get(ma, "namespace"));
	const char *nb = json_string_value(json_object_get(mb, "namespace"));
	return strcmp(ga, gb) == 0 &&
	       strcmp(json_string_value(json_object_get(a, "kind")),
	              json_string_value(json_object_get(b, "kind"))) == 0 &&
	       strcmp(json_string_value(json_object_get(ma, "name")),
	              json_string_value(json_object_get(mb, "name"))) == 0 &&
	       strcmp(na != NULL ? na : "", nb != NULL ? nb : "") == 0;
}

int k8s_manifests_parse(const char *text, size_t len, const char *set_label, json_t **objs,
                        char *err, size_t errcap)
{
	*objs = NULL;
	if (len > K8S_MANIFESTS_MAX) {
		snprintf(err, errcap, "manifests are larger than %u bytes", K8S_MANIFESTS_MAX);
		return SHOAL_E_TOO_BIG;
	}
	size_t i = 0;
	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
		i++;
	json_t *docs = NULL;
	int rc;
	if (i < len && (text[i] == '[' || text[i] == '{')) {
		json_error_t jerr;
		json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
		if (v == NULL) {
			snprintf(err, errcap, "JSON line %d: %s", jerr.line, jerr.text);
			return SHOAL_E_MALFORMED;
		}
		docs = json_array();
		if (docs == NULL || json_array_append_new(docs, v) != 0) {
			json_decref(docs);
			return -ENOMEM;
		}
	} else if ((rc = yamljson_parse(text, len, &docs, err, errcap)) != 0) {
		return rc;
	}
	json_t *out = json_array();
	rc = out == NULL ? -ENOMEM : flatten(docs, out, err, errcap);
	json_decref(docs);
	if (rc == 0 && json_array_size(out) == 0) {
		snprintf(err, errcap, "no objects in the manifests");
		rc = SHOAL_E_MALFORMED;
	}
	size_t n = json_array_size(out);
	for (i = 0; rc == 0 && i < n; i++)
		rc = check_one(json_array_get(out, i), i, set_label, err, errcap);
	for (i = 0; rc == 0 && i < n; i++) {
		for (size_t j = i + 1; rc == 0 && j < n; j++) {
			if (same_object(json_array_get(out, i), json_array_get(out, j))) {
				json_t *o = json_array_get(out, j);
				snprintf(err, errcap,
				         "document %zu (%s %s): the same object is given twice",
				         j + 1, json_string_value(json_object_get(o, "kind")),
				         json_string_value(json_object_get(
				                 json_object_get(o, "metadata"), "name")));
				rc = SHOAL_E_MALFORMED;
			}
		}
	}
	if (rc != 0) {
		json_decref(out);
		return rc;
	}
	/* Stable order by rank: three sweeps keep the author's order within each. */
	json_t *sorted = json_array();
	for (int r = 0; sorted != NULL && r < 3; r++)
		for (i = 0; i < n; i++)
			if (rank(json_array_get(out, i)) == r &&
			    json_array_append(sorted, json_array_get(out, i)) != 0)
				rc = -ENOMEM;
	json_decref(out);
	if (sorted == NULL || rc != 0) {
		json_decref(sorted);
		return -ENOMEM;
	}
	*objs = sorted;
	return 0;
}
