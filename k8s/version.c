/*
 * version.c - the API server's version, and whether it answers at all.
 *
 * GET /version is the one request every API server answers to anyone
 * authenticated, and it is tiny. It is asked at start and every resync_ms
 * (a cluster upgraded under a running node shows its new version within one
 * resync), and at once when a watch ends without an answer or with a 5xx:
 * a set that is settled sends nothing else, so without this probe it would
 * read ready from old news while its cluster is down. While the probe gets
 * no answer it is repeated with the context's backoff, and every set that
 * was applied reads degraded (status.c); the first answer clears that.
 */
#include "engine.h"

#include <string.h>

static void on_version(void *arg, const struct k8s_http_result *res)
{
	struct k8s_ctx *ctx = arg;
	ctx->version_req = NULL;
	uint64_t now = k8s_now(ctx);
	if (res->status == 0 || res->status >= 500) {
		if (res->status == 0)
			k8s_fmt(ctx->unreachable, sizeof(ctx->unreachable), "%s",
			        res->error != NULL ? res->error : "no answer");
		else
			k8s_fmt(ctx->unreachable, sizeof(ctx->unreachable),
			        "GET /version: HTTP %ld", res->status);
		ctx->version_failures++;
		ctx->version_at = now + k8s_backoff_ms(ctx, ctx->version_failures);
		return;
	}
	/* It answered: reachable, whatever it said. */
	ctx->unreachable[0] = '\0';
	ctx->version_failures = 0;
	ctx->version_at = now + ctx->resync_ms;
	json_t *body = res->status == 200 ? json_loadb(res->body, res->len, 0, NULL) : NULL;
	const char *v = json_string_value(json_object_get(body, "gitVersion"));
	size_t len = v != NULL ? strlen(v) : 0;
	if (len > 0 && len < sizeof(ctx->server_version))
		memcpy(ctx->server_version, v, len + 1);
	json_decref(body);
}

void k8s_version_tick(struct k8s_ctx *ctx, uint64_t now)
{
	if (ctx->version_req != NULL || ctx->version_at == 0 || now < ctx->version_at)
		return;
	struct k8s_http_opts o = {.method = "GET", .path = "/version", .timeout_ms = 10000};
	ctx->version_at = 0;
	if (k8s_http_start(ctx->http, &o, on_version, ctx, &ctx->version_req) != 0) {
		ctx->version_failures++;
		ctx->version_at = now + k8s_backoff_ms(ctx, ctx->version_failures);
	}
}

void k8s_server_probe(struct k8s_ctx *ctx)
{
	/* Already asking, or already in backoff after a silent answer. */
	if (ctx->version_req != NULL || ctx->version_failures > 0)
		return;
	ctx->version_at = k8s_now(ctx);
}

const char *k8s_ctx_server_version(const struct k8s_ctx *ctx)
{
	return ctx != NULL && ctx->server_version[0] != '\0' ? ctx->server_version : NULL;
}
