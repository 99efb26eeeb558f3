/*
 * ctx.c - the apply engine's public face: contexts, sets, the tick.
 *
 * A context reads its cluster config once (a bad kubeconfig fails here,
 * not on the first request), owns one HTTP client and one discovery cache,
 * and keeps its sets in a list. Each set is independent: its own pass, its
 * own backoff, its own watches, so one set's failure never delays another.
 */
#include "engine.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "manifest.h"
#include "shoal/error.h"

uint64_t k8s_now(const struct k8s_ctx *ctx)
{
	return uv_now(ctx->loop);
}

void k8s_fmt(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, cap, fmt, ap);
	va_end(ap);
}

static uint64_t next_rand(struct k8s_ctx *ctx)
{
	/* xorshift64*: plenty for jitter, and seedable so a test replays. */
	uint64_t x = ctx->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	ctx->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Exponential backoff with "equal jitter": half the delay is fixed so a
 * retry never comes at once, half is random so many sets (and many nodes)
 * failing together do not retry in step. */
uint64_t k8s_backoff_ms(struct k8s_ctx *ctx, uint32_t attempt)
{
	uint64_t d = ctx->backoff_min_ms;
	for (uint32_t i = 1; i < attempt && d < ctx->backoff_max_ms; i++)
		d *= 2;
	if (d > ctx->backoff_max_ms)
		d = ctx->backoff_max_ms;
	return d / 2 + next_rand(ctx) % (d / 2 + 1);
}

void k8s_set_label(const char *set_id, char out[static K8S_SET_LABEL_LEN + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)set_id, strlen(set_id));
	char hex[2 * sizeof(h) + 1];
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(out, K8S_SET_LABEL_LEN + 1, "shoal-%.24s", hex);
}

const char *k8s_state_name(enum k8s_state s)
{
	static const char *names[] = {"pending", "applying", "ready", "degraded", "failed"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

const char *k8s_pod_bucket_name(enum k8s_pod_bucket b)
{
	static const char *names[] = {
	        "running",    "creating",      "waiting_for_image", "config_error", "crash_loop",
	        "oom_killed", "unschedulable", "pending",           "succeeded",    "failed"};
	return (unsigned)b < sizeof(names) / sizeof(names[0]) ? names[b] : "unknown";
}

static void free_objs(struct k8s_obj *objs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_decref(objs[i].manifest);
		json_decref(objs[i].live);
		free(objs[i].ns);
	}
	free(objs);
}

void k8s_set_destroy(struct k8s_set *s)
{
	struct k8s_ctx *ctx = s->ctx;
	for (struct k8s_set **p = &ctx->sets; *p != NULL; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			break;
		}
	}
	k8s_http_cancel(s->req);
	k8s_http_cancel(s->pod_req);
	for (size_t i = 0; i < s->nkinds; i++) {
		struct k8s_kind *k = s->kinds[i];
		k8s_kind_stop(k);
		free(k->res.api_version);
		free(k->res.kind);
		free(k->res.name);
		free(k->rv);
		free(k);
	}
	free(s->kinds);
	free_objs(s->objs, s->nobjs);
	json_decref(s->ns_done);
	json_decref(s->doomed);
	json_decref(s->pod_seen);
	free(s->parent_text);
	free(s->default_ns);
	free(s->id);
	free(s);
}

static void on_tick(uv_timer_t *t)
{
	struct k8s_ctx *ctx = t->data;
	uint64_t now = k8s_now(ctx);
	k8s_version_tick(ctx, now);
	k8s_records_tick(ctx, now);
	for (struct k8s_set *s = ctx->sets, *next; s != NULL; s = next) {
		next = s->next;
		for (size_t i = 0; i < s->nkinds; i++)
			k8s_kind_tick(s->kinds[i], now);
		k8s_pods_tick(s, now);
		k8s_pass_tick(s, now);
	}
}

int k8s_ctx_new(uv_loop_t *loop, const struct k8s_ctx_config *cfg, struct k8s_ctx **out, char *err,
                size_t errcap)
{
	*out = NULL;
	struct k8s_ctx *ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return -ENOMEM;
	int rc = k8s_cluster_config_resolve(cfg, &ctx->cluster, err, errcap);
	if (rc != 0) {
		free(ctx);
		return rc;
	}
	if ((rc = k8s_discovery_new(&ctx->disc)) != 0 ||
	    (rc = k8s_http_new(loop, &ctx->cluster, &ctx->http)) != 0) {
		snprintf(err, errcap, "%s", shoal_strerror(rc));
		k8s_discovery_delete(ctx->disc);
		k8s_cluster_config_destroy(&ctx->cluster);
		free(ctx);
		return rc;
	}
	ctx->loop = loop;
	ctx->backoff_min_ms = cfg->backoff_min_ms != 0 ? cfg->backoff_min_ms : 500;
	ctx->backoff_max_ms = cfg->backoff_max_ms != 0 ? cfg->backoff_max_ms : 30000;
	if (ctx->backoff_max_ms < ctx->backoff_min_ms)
		ctx->backoff_max_ms = ctx->backoff_min_ms;
	ctx->resync_ms = cfg->resync_ms != 0 ? cfg->resync_ms : 300000;
	ctx->pod_poll_ms = cfg->pod_poll_ms != 0 ? cfg->pod_poll_ms : 2000;
	ctx->rng = cfg->seed != 0 ? cfg->seed : ((uint64_t)randombytes_random() << 32 | 1);
	ctx->version_at = k8s_now(ctx); /* the first tick asks */
	ctx->records_at = k8s_now(ctx);
	uv_timer_init(loop, &ctx->tick);
	ctx->tick.data = ctx;
	uv_timer_start(&ctx->tick, on_tick, K8S_TICK_MS, K8S_TICK_MS);
	*out = ctx;
	return 0;
}

static void on_tick_closed(uv_handle_t *h)
{
	free(h->data);
}

void k8s_ctx_delete(struct k8s_ctx *ctx)
{
	if (ctx == NULL)
		return;
	while (ctx->sets != NULL)
		k8s_set_destroy(ctx->sets);
	k8s_http_cancel(ctx->version_req);
	k8s_http_cancel(ctx->records_req);
	free(ctx->found);
	k8s_http_delete(ctx->http);
	k8s_discovery_delete(ctx->disc);
	k8s_cluster_config_destroy(&ctx->cluster);
	uv_timer_stop(&ctx->tick);
	uv_close((uv_handle_t *)&ctx->tick, on_tick_closed);
}

static struct k8s_set *find_set(const struct k8s_ctx *ctx, const char *id)
{
	for (struct k8s_set *s = ctx->sets; s != NULL; s = s->next)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

int k8s_check_set_id(const char *id, char *err, size_t errcap)
{
	size_t n = id != NULL ? strlen(id) : 0;
	if (n == 0 || n > K8S_SET_ID_MAX) {
		snprintf(err, errcap, "set id must be 1 to %u characters", K8S_SET_ID_MAX);
		return SHOAL_E_MALFORMED;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];
		if (c <= ' ' || c >= 0x7f) {
			snprintf(err, errcap, "set id has a space or non-printable byte at %zu", i);
			return SHOAL_E_MALFORMED;
		}
	}
	return 0;
}

static struct k8s_set *new_set(struct k8s_ctx *ctx, const char *id)
{
	struct k8s_set *s = calloc(1, sizeof(*s));
	if (s == NULL || (s->id = strdup(id)) == NULL) {
		free(s);
		return NULL;
	}
	s->ctx = ctx;
	k8s_set_label(id, s->label);
	s->next = ctx->sets;
	ctx->sets = s;
	return s;
}

/* The objects of a parsed, ordered manifest list. */
static int make_objs(json_t *list, struct k8s_obj **out)
{
	size_t n = json_array_size(list);
	struct k8s_obj *objs = calloc(n, sizeof(*objs));
	if (objs == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct k8s_obj *o = &objs[i];
		o->manifest = json_incref(json_array_get(list, i));
		o->api_version = json_string_value(json_object_get(o->manifest, "apiVersion"));
		o->kind = json_string_value(json_object_get(o->manifest, "kind"));
		o->name = json_string_value(
		        json_object_get(json_object_get(o->manifest, "metadata"), "name"));
		o->kind_idx = -1;
	}
	*out = objs;
	return 0;
}

/* A namespace name: an RFC 1123 label, as the API server requires. */
static bool ns_valid(const char *ns)
{
	size_t n = strlen(ns);
	if (n == 0 || n > 63 || ns[0] == '-' || ns[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((ns[i] >= 'a' && ns[i] <= 'z') || (ns[i] >= '0' && ns[i] <= '9') ||
		      ns[i] == '-'))
			return false;
	return true;
}

int k8s_set_apply(struct k8s_ctx *ctx, const char *set_id, const char *manifests, size_t len,
                  char *err, size_t errcap)
{
	return k8s_set_apply_in(ctx, set_id, NULL, manifests, len, err, errcap);
}

int k8s_set_apply_in(struct k8s_ctx *ctx, const char *set_id, const char *default_ns,
                     const char *manifests, size_t len, char *err, size_t errcap)
{
	int rc = k8s_check_set_id(set_id, err, errcap);
	if (rc != 0)
		return rc;
	if (default_ns != NULL && !ns_valid(default_ns)) {
		snprintf(err, errcap,
		         "namespace \"%.63s\" is not a namespace name (1-63 of [a-z0-9-], "
		         "alphanumeric at both ends)",
		         default_ns);
		return SHOAL_E_MALFORMED;
	}
	char *ns_copy = NULL;
	if (default_ns != NULL && (ns_copy = strdup(default_ns)) == NULL)
		return -ENOMEM;
	char label[K8S_SET_LABEL_LEN + 1];
	k8s_set_label(set_id, label);
	json_t *list;
	if ((rc = k8s_manifests_parse(manifests, len, label, &list, err, errcap)) != 0) {
		free(ns_copy);
		return rc;
	}
	struct k8s_obj *objs;
	rc = make_objs(list, &objs);
	size_t n = json_array_size(list);
	json_decref(list);
	if (rc != 0) {
		free(ns_copy);
		return rc;
	}
	struct k8s_set *s = find_set(ctx, set_id);
	if (s == NULL && (s = new_set(ctx, set_id)) == NULL) {
		free_objs(objs, n);
		free(ns_copy);
		return -ENOMEM;
	}
	k8s_pass_abort(s);
	free_objs(s->objs, s->nobjs);
	s->objs = objs;
	s->nobjs = n;
	free(s->default_ns);
	s->default_ns = ns_copy;
	s->removing = false;
	s->failed_reason[0] = s->transient[0] = '\0';
	s->ever_applied = false;
	s->passes = 0;
	s->retries = 0;
	s->run_at = k8s_now(ctx);
	s->pod_at = 0;
	memset(s->pods, 0, sizeof(s->pods));
	s->restarts = 0;
	return 0;
}

int k8s_set_remove(struct k8s_ctx *ctx, const char *set_id)
{
	char err[64];
	if (k8s_check_set_id(set_id, err, sizeof(err)) != 0)
		return SHOAL_E_MALFORMED;
	struct k8s_set *s = find_set(ctx, set_id);
	/* Unknown here: its record on the cluster (read by the pass) says
	 * where its members may be. */
	if (s == NULL && (s = new_set(ctx, set_id)) == NULL)
		return -ENOMEM;
	k8s_pass_abort(s);
	free_objs(s->objs, s->nobjs);
	s->objs = NULL;
	s->nobjs = 0;
	s->removing = true;
	s->failed_reason[0] = s->transient[0] = '\0';
	s->retries = 0;
	s->run_at = k8s_now(ctx);
	k8s_http_cancel(s->pod_req);
	s->pod_req = NULL;
	s->pod_at = 0;
	memset(s->pods, 0, sizeof(s->pods));
	s->restarts = 0;
	return 0;
}

int k8s_set_status(const struct k8s_ctx *ctx, const char *set_id, struct k8s_set_status *out)
{
	const struct k8s_set *s = find_set(ctx, set_id);
	if (s == NULL)
		return SHOAL_E_NOT_FOUND;
	k8s_status_compute(s, out);
	return 0;
}

size_t k8s_set_list(const struct k8s_ctx *ctx, const char **ids, size_t cap)
{
	size_t n = 0;
	for (const struct k8s_set *s = ctx->sets; s != NULL; s = s->next, n++)
		if (n < cap)
			ids[n] = s->id;
	return n;
}

static int be_apply(void *impl, const char *id, const char *m, size_t len, char *err, size_t errcap)
{
	return k8s_set_apply(impl, id, m, len, err, errcap);
}

static int be_remove(void *impl, const char *id)
{
	return k8s_set_remove(impl, id);
}

static int be_status(const void *impl, const char *id, struct k8s_set_status *out)
{
	return k8s_set_status(impl, id, out);
}

static const struct k8s_backend_ops ctx_ops = {be_apply, be_remove, be_status};

struct k8s_backend k8s_ctx_backend(struct k8s_ctx *ctx)
{
	return (struct k8s_backend){&ctx_ops, ctx};
}
