/*
 * k8s_driver.c - the apply engine behind a line protocol on stdin.
 *
 *   k8s-driver [--kubeconfig PATH] [--context NAME] [--in-cluster-root DIR]
 *              [--backoff-min MS] [--backoff-max MS] [--resync MS]
 *              [--pod-poll MS] [--seed N]
 *
 * Commands, one per line; each gets one JSON line on stdout:
 *   apply SET FILE   make FILE's manifests the content of SET
 *   remove SET       delete SET's objects and forget it (a set this process
 *                    never applied: from its record on the cluster)
 *   status SET       the set's snapshot
 *   list             the set ids
 *   found            the sets whose records the cluster holds, as listed at
 *                    start ("listed": false until the server answered)
 *   quit             exit (objects stay on the cluster)
 *
 * It exists for the integration suite and for trying the engine against a
 * real cluster by hand; shoald will call the same API from node/.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "../../k8s/kubeconfig.h"
#include "shoal/error.h"
#include "shoal/k8s.h"

struct driver {
	uv_loop_t *loop;
	struct k8s_ctx *ctx;
	uv_pipe_t in;
	char line[8192];
	size_t len;
	int quit;
};

static void reply(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	printf("%s\n", s != NULL ? s : "{}");
	fflush(stdout);
	free(s);
	json_decref(j);
}

static void reply_error(const char *msg)
{
	reply(json_pack("{s:b,s:s}", "ok", 0, "error", msg));
}

static json_t *status_json(const struct k8s_set_status *st)
{
	json_t *pods = json_object();
	for (int b = 0; b < K8S_POD_BUCKETS; b++)
		json_object_set_new(pods, k8s_pod_bucket_name(b), json_integer(st->pods[b]));
	return json_pack("{s:b,s:s,s:s,s:i,s:i,s:i,s:i,s:o,s:I,s:i}", "ok", 1, "state",
	                 k8s_state_name(st->state), "reason", st->reason, "objects", st->objects,
	                 "applied", st->applied, "workloads", st->workloads, "workloads_ready",
	                 st->workloads_ready, "pods", pods, "passes", (json_int_t)st->passes,
	                 "retries", st->retries);
}

static void command(struct driver *d, char *line)
{
	char *words[3] = {NULL, NULL, NULL};
	int n = 0;
	for (char *p = line; *p != '\0' && n < 3;) {
		while (*p == ' ')
			*p++ = '\0';
		if (*p == '\0')
			break;
		words[n++] = p;
		while (*p != '\0' && *p != ' ')
			p++;
	}
	if (n == 0)
		return;
	char err[K8S_REASON_MAX];
	if (!strcmp(words[0], "quit")) {
		d->quit = 1;
		uv_read_stop((uv_stream_t *)&d->in);
		reply(json_pack("{s:b}", "ok", 1));
	} else if (!strcmp(words[0], "apply") && n == 3) {
		char *text;
		size_t len;
		int rc = k8s_read_file(words[2], &text, &len);
		if (rc != 0) {
			reply_error(shoal_strerror(rc));
			return;
		}
		rc = k8s_set_apply(d->ctx, words[1], text, len, err, sizeof(err));
		free(text);
		if (rc != 0)
			reply_error(err);
		else
			reply(json_pack("{s:b}", "ok", 1));
	} else if (!strcmp(words[0], "remove") && n == 2) {
		int rc = k8s_set_remove(d->ctx, words[1]);
		if (rc != 0)
			reply_error(shoal_errname(rc));
		else
			reply(json_pack("{s:b}", "ok", 1));
	} else if (!strcmp(words[0], "status") && n == 2) {
		struct k8s_set_status st;
		int rc = k8s_set_status(d->ctx, words[1], &st);
		if (rc != 0)
			reply_error(shoal_errname(rc));
		else
			reply(status_json(&st));
	} else if (!strcmp(words[0], "list")) {
		const char *ids[256];
		size_t k = k8s_set_list(d->ctx, ids, 256);
		json_t *arr = json_array();
		for (size_t i = 0; i < k && i < 256; i++)
			json_array_append_new(arr, json_string(ids[i]));
		reply(json_pack("{s:b,s:o}", "ok", 1, "sets", arr));
	} else if (!strcmp(words[0], "found")) {
		size_t k = 0;
		const struct k8s_found_set *f = k8s_ctx_found_sets(d->ctx, &k);
		json_t *arr = json_array();
		for (size_t i = 0; i < k; i++)
			json_array_append_new(
			        arr, json_pack("{s:s,s:s}", "id", f[i].id, "label", f[i].label));
		reply(json_pack("{s:b,s:b,s:o}", "ok", 1, "listed", f != NULL, "sets", arr));
	} else {
		reply_error("unknown command");
	}
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)h;
	buf->base = malloc(hint);
	buf->len = buf->base != NULL ? hint : 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct driver *d = s->data;
	for (ssize_t i = 0; i < n && !d->quit; i++) {
		char c = buf->base[i];
		if (c == '\n') {
			d->line[d->len] = '\0';
			command(d, d->line);
			d->len = 0;
		} else if (d->len + 1 < sizeof(d->line)) {
			d->line[d->len++] = c;
		}
	}
	free(buf->base);
	if (n < 0 || d->quit) {
		uv_read_stop(s);
		d->quit = 1;
		uv_close((uv_handle_t *)&d->in, NULL);
		k8s_ctx_delete(d->ctx);
		d->ctx = NULL;
	}
}

static int number(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	struct k8s_ctx_config cfg = {0};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t num = 0;
		if (v == NULL) {
			fprintf(stderr, "k8s-driver: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--kubeconfig"))
			cfg.kubeconfig = v;
		else if (!strcmp(a, "--context"))
			cfg.context = v;
		else if (!strcmp(a, "--in-cluster-root"))
			cfg.in_cluster_root = v;
		else if (number(v, &num) != 0 || num > UINT32_MAX) {
			fprintf(stderr, "k8s-driver: %s wants a number\n", a);
			return 2;
		} else if (!strcmp(a, "--backoff-min"))
			cfg.backoff_min_ms = (uint32_t)num;
		else if (!strcmp(a, "--backoff-max"))
			cfg.backoff_max_ms = (uint32_t)num;
		else if (!strcmp(a, "--resync"))
			cfg.resync_ms = (uint32_t)num;
		else if (!strcmp(a, "--pod-poll"))
			cfg.pod_poll_ms = (uint32_t)num;
		else if (!strcmp(a, "--seed"))
			cfg.seed = num;
		else {
			fprintf(stderr, "k8s-driver: unknown option %s\n", a);
			return 2;
		}
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	struct driver d = {.loop = uv_default_loop()};
	char err[K8S_REASON_MAX];
	int rc = k8s_ctx_new(d.loop, &cfg, &d.ctx, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "k8s-driver: %s\n", err);
		printf("{\"ok\":false,\"error\":\"config\"}\n");
		curl_global_cleanup();
		return 1;
	}
	printf("{\"ok\":true,\"ready\":true}\n");
	fflush(stdout);
	uv_pipe_init(d.loop, &d.in, 0);
	d.in.data = &d;
	uv_pipe_open(&d.in, 0);
	uv_read_start((uv_stream_t *)&d.in, on_alloc, on_read);
	uv_run(d.loop, UV_RUN_DEFAULT);
	uv_loop_close(d.loop);
	curl_global_cleanup();
	return 0;
}
