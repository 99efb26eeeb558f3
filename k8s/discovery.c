/*
 * discovery.c - the (apiVersion, kind) -> resource cache.
 *
 * A flat array: a cluster serves a few hundred kinds and lookups happen
 * once per object per pass, so a scan is cheaper than keeping a hash right.
 */
#include "discovery.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "shoal/error.h"

struct k8s_discovery {
	struct k8s_resource *res;
	size_t n, cap;
};

int k8s_discovery_new(struct k8s_discovery **out)
{
	*out = calloc(1, sizeof(**out));
	return *out != NULL ? 0 : -ENOMEM;
}

static void free_res(struct k8s_resource *r)
{
	free(r->api_version);
	free(r->kind);
	free(r->name);
}

void k8s_discovery_delete(struct k8s_discovery *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++)
		free_res(&d->res[i]);
	free(d->res);
	free(d);
}

static void forget(struct k8s_discovery *d, const char *api_version)
{
	size_t w = 0;
	for (size_t i = 0; i < d->n; i++) {
		if (strcmp(d->res[i].api_version, api_version) == 0)
			free_res(&d->res[i]);
		else
			d->res[w++] = d->res[i];
	}
	d->n = w;
}

int k8s_discovery_store(struct k8s_discovery *d, const char *api_version, const char *body,
                        size_t len, char *err, size_t errcap)
{
	json_error_t jerr;
	json_t *root = json_loadb(body, len, 0, &jerr);
	json_t *list = json_object_get(root, "resources");
	if (!json_is_array(list)) {
		snprintf(err, errcap, "discovery of %s: not an APIResourceList", api_version);
		json_decref(root);
		return SHOAL_E_MALFORMED;
	}
	forget(d, api_version);
	size_t i;
	json_t *it;
	int rc = 0;
	json_array_foreach(list, i, it)
	{
		const char *name = json_string_value(json_object_get(it, "name"));
		const char *kind = json_string_value(json_object_get(it, "kind"));
		if (name == NULL || kind == NULL || strchr(name, '/') != NULL)
			continue;
		if (d->n == d->cap) {
			size_t cap = d->cap != 0 ? d->cap * 2 : 64;
			struct k8s_resource *nr = realloc(d->res, cap * sizeof(*nr));
			if (nr == NULL) {
				rc = -ENOMEM;
				break;
			}
			d->res = nr;
			d->cap = cap;
		}
		struct k8s_resource *r = &d->res[d->n];
		r->api_version = strdup(api_version);
		r->kind = strdup(kind);
		r->name = strdup(name);
		r->namespaced = json_is_true(json_object_get(it, "namespaced"));
		if (r->api_version == NULL || r->kind == NULL || r->name == NULL) {
			free_res(r);
			rc = -ENOMEM;
			break;
		}
		d->n++;
	}
	json_decref(root);
	return rc;
}

const struct k8s_resource *k8s_discovery_find(const struct k8s_discovery *d,
                                              const char *api_version, const char *kind)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->res[i].kind, kind) == 0 &&
		    strcmp(d->res[i].api_version, api_version) == 0)
			return &d->res[i];
	return NULL;
}

void k8s_gv_path(const char *api_version, char *out, size_t cap)
{
	if (strchr(api_version, '/') == NULL)
		snprintf(out, cap, "/api/%s", api_version);
	else
		snprintf(out, cap, "/apis/%s", api_version);
}

int k8s_resource_path(const struct k8s_resource *r, const char *ns, const char *name, char *out,
                      size_t cap)
{
	char gv[300];
	k8s_gv_path(r->api_version, gv, sizeof(gv));
	int n;
	if (r->namespaced && ns != NULL)
		n = snprintf(out, cap, "%s/namespaces/%s/%s%s%s", gv, ns, r->name,
		             name != NULL ? "/" : "", name != NULL ? name : "");
	else
		n = snprintf(out, cap, "%s/%s%s%s", gv, r->name, name != NULL ? "/" : "",
		             name != NULL ? name : "");
	return n >= 0 && (size_t)n < cap ? 0 : SHOAL_E_TOO_BIG;
}
