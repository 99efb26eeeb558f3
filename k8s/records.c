/*
 * records.c - the sets a cluster holds records of, found from the records.
 *
 * A process knows the sets it was handed. Sets an earlier process applied
 * and this one is never handed again (their owner gone while the node was
 * down, a removal cut short by a crash) still have objects on the cluster,
 * and their record (parent.c) is the one thing that leads back to them. So
 * once after start the context lists the record ConfigMaps in its
 * namespace by the ApplySet id label (which every record has carried, so
 * records written before records named their set are found too) and keeps
 * what it found for its owner (k8s_ctx_found_sets), who decides which of
 * them to remove (k8s_set_remove takes a set it does not hold).
 *
 * A ConfigMap counts as a record only when it is exactly what parent.c
 * writes: name `applyset-<label>`, id label `<label>` of the form
 * `shoal-<24 hex>`, tooling `shoal/v1`. Other tools' ApplySet parents and
 * anything else in the namespace are left out. A record's `shoal/set-id`
 * is believed only when it hashes to the record's label, so an edited
 * annotation cannot point a removal at another set.
 *
 * Until the server answers the LIST it is asked again with the context's
 * backoff; a refusal (403: no list on configmaps) is retried the same way.
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

static bool label_shape(const char *v)
{
	if (v == NULL || strlen(v) != K8S_SET_LABEL_LEN || strncmp(v, "shoal-", 6) != 0)
		return false;
	for (const char *p = v + 6; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* One listed ConfigMap as a found set; false if it is not a record. */
static bool record_of(json_t *cm, struct k8s_found_set *out)
{
	json_t *meta = json_object_get(cm, "metadata");
	json_t *ann = json_object_get(meta, "annotations");
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *label = json_string_value(
	        json_object_get(json_object_get(meta, "labels"), K8S_RECORD_ID_LABEL));
	const char *tooling = json_string_value(json_object_get(ann, K8S_RECORD_TOOLING));
	const char *id = json_string_value(json_object_get(ann, K8S_RECORD_SET_ANNOTATION));
	size_t plen = strlen(K8S_RECORD_PREFIX);
	if (name == NULL || !label_shape(label) || strncmp(name, K8S_RECORD_PREFIX, plen) != 0 ||
	    strcmp(name + plen, label) != 0 || tooling == NULL ||
	    strcmp(tooling, K8S_RECORD_TOOLING_VALUE) != 0)
		return false;
	memset(out, 0, sizeof(*out));
	memcpy(out->label, label, K8S_SET_LABEL_LEN + 1);
	char err[64], hashed[K8S_SET_LABEL_LEN + 1];
	if (id != NULL && k8s_check_set_id(id, err, sizeof(err)) == 0) {
		k8s_set_label(id, hashed);
		if (strcmp(hashed, label) == 0)
			memcpy(out->id, id, strlen(id) + 1);
	}
	return true;
}

static void retry(struct k8s_ctx *ctx)
{
	ctx->records_failures++;
	ctx->records_at = k8s_now(ctx) + k8s_backoff_ms(ctx, ctx->records_failures);
}

static void on_list(void *arg, const struct k8s_http_result *res)
{
	struct k8s_ctx *ctx = arg;
	ctx->records_req = NULL;
	json_t *list = res->status == 200 ? json_loadb(res->body, res->len, 0, NULL) : NULL;
	json_t *items = json_object_get(list, "items");
	if (!json_is_array(items)) {
		json_decref(list);
		retry(ctx);
		return;
	}
	struct k8s_found_set *found = calloc(json_array_size(items) + 1, sizeof(*found));
	if (found == NULL) {
		json_decref(list);
		retry(ctx);
		return;
	}
	size_t n = 0, i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		if (record_of(it, &found[n]))
			n++;
	}
	json_decref(list);
	free(ctx->found);
	ctx->found = found;
	ctx->nfound = n;
	ctx->records_listed = true;
}

void k8s_records_tick(struct k8s_ctx *ctx, uint64_t now)
{
	if (ctx->records_listed || ctx->records_req != NULL || ctx->records_at == 0 ||
	    now < ctx->records_at)
		return;
	char path[K8S_PATH_MAX];
	k8s_fmt(path, sizeof(path), "/api/v1/namespaces/%s/configmaps?labelSelector=%s",
	        ctx->cluster.namespace, "applyset.kubernetes.io%2Fid");
	struct k8s_http_opts o = {.method = "GET", .path = path};
	ctx->records_at = 0;
	if (k8s_http_start(ctx->http, &o, on_list, ctx, &ctx->records_req) != 0)
		retry(ctx);
}

const struct k8s_found_set *k8s_ctx_found_sets(const struct k8s_ctx *ctx, size_t *n)
{
	*n = 0;
	if (ctx == NULL || !ctx->records_listed)
		return NULL;
	*n = ctx->nfound;
	return ctx->found;
}
