/*
 * status.c - a set's state, reason, counts and pod buckets.
 *
 * The state follows from what the engine knows, in this order: a set being
 * removed is applying; an object the server rejected makes it failed (with
 * the server's message); a cluster that did not answer this set's pass
 * makes it degraded if the set had been applied, applying if not, and so
 * does the context's probe after a watch fell silent (version.c); then the
 * workloads decide by kstatus: one failed -> failed, one still rolling out
 * -> degraded when some of its pods are in a bad bucket (an image that will
 * not pull does not fix itself), else applying; all current -> ready.
 *
 * Pods are found by each workload's own selector in its namespace (the
 * part-of label is on the workload, not on the pods its controller makes),
 * listed one workload at a time, counting each pod once: every pod_poll_ms
 * while the set is not ready, every K8S_POD_SETTLED_MS once it is, and at
 * once when a watch event shows a workload's counts moving.
 */
#include "engine.h"

#include <stdio.h>
#include <string.h>

#include "kstatus.h"
#include "shoal/error.h"

static void pods_next(struct k8s_set *s);

static void on_pods(void *arg, const struct k8s_http_result *res)
{
	struct k8s_set *s = arg;
	s->pod_req = NULL;
	if (res->status != 200) { /* keep the last counts; try again later */
		s->pod_at = k8s_now(s->ctx) + s->ctx->pod_poll_ms;
		return;
	}
	json_t *list = json_loadb(res->body, res->len, 0, NULL);
	size_t i;
	json_t *pod;
	json_array_foreach(json_object_get(list, "items"), i, pod)
	{
		const char *uid =
		        json_string_value(json_object_get(json_object_get(pod, "metadata"), "uid"));
		if (uid == NULL || json_object_get(s->pod_seen, uid) != NULL)
			continue;
		json_object_set_new(s->pod_seen, uid, json_true());
		s->pod_tmp[k8s_pod_bucket_of(pod)]++;
		s->restarts_tmp += k8s_pod_restarts(pod);
	}
	json_decref(list);
	s->pod_idx++;
	pods_next(s);
}

static void pods_next(struct k8s_set *s)
{
	for (; s->pod_idx < s->nobjs; s->pod_idx++) {
		struct k8s_obj *o = &s->objs[s->pod_idx];
		if (o->live == NULL || o->ns == NULL || !k8s_is_workload(o->api_version, o->kind))
			continue;
		char sel[1024], esc[3072], path[K8S_PATH_MAX + 3200];
		json_t *selector = json_object_get(json_object_get(o->live, "spec"), "selector");
		if (k8s_selector_string(selector, sel, sizeof(sel)) != 0 ||
		    k8s_url_escape(sel, esc, sizeof(esc)) < 0)
			continue;
		k8s_fmt(path, sizeof(path), "/api/v1/namespaces/%s/pods?labelSelector=%s", o->ns,
		        esc);
		struct k8s_http_opts opts = {.method = "GET", .path = path};
		if (k8s_http_start(s->ctx->http, &opts, on_pods, s, &s->pod_req) != 0)
			break;
		return;
	}
	if (s->pod_idx >= s->nobjs) {
		memcpy(s->pods, s->pod_tmp, sizeof(s->pods));
		s->restarts = s->restarts_tmp;
	}
	/* A settled set's pods are looked at rarely: a change that matters
	 * moves its workload's counts, and that watch event asks for a look. */
	struct k8s_set_status st;
	k8s_status_compute(s, &st);
	uint64_t every = s->ctx->pod_poll_ms;
	if (st.state == K8S_READY && every < K8S_POD_SETTLED_MS)
		every = K8S_POD_SETTLED_MS;
	/* A workload moved while this poll ran: its counts may be old already. */
	s->pod_at = k8s_now(s->ctx) + (s->pods_stale ? 0 : every);
}

void k8s_pods_tick(struct k8s_set *s, uint64_t now)
{
	if (s->pod_req != NULL || s->pod_at == 0 || now < s->pod_at || s->removing)
		return;
	json_decref(s->pod_seen);
	s->pod_seen = json_object();
	if (s->pod_seen == NULL)
		return;
	memset(s->pod_tmp, 0, sizeof(s->pod_tmp));
	s->restarts_tmp = 0;
	s->pod_idx = 0;
	s->pods_stale = false;
	pods_next(s);
}

static const enum k8s_pod_bucket bad_buckets[] = {
        K8S_POD_CONFIG_ERROR, K8S_POD_IMAGE,         K8S_POD_CRASH_LOOP,
        K8S_POD_OOM_KILLED,   K8S_POD_UNSCHEDULABLE, K8S_POD_FAILED,
};

static const char *bucket_words(enum k8s_pod_bucket b)
{
	switch (b) {
	case K8S_POD_CONFIG_ERROR:
		return "with a config error";
	case K8S_POD_IMAGE:
		return "waiting for image";
	case K8S_POD_CRASH_LOOP:
		return "in crash loop";
	case K8S_POD_OOM_KILLED:
		return "OOM killed";
	case K8S_POD_UNSCHEDULABLE:
		return "unschedulable";
	default:
		return "failed";
	}
}

void k8s_status_compute(const struct k8s_set *s, struct k8s_set_status *out)
{
	memset(out, 0, sizeof(*out));
	out->objects = (uint32_t)s->nobjs;
	out->passes = s->passes;
	out->retries = s->retries;
	memcpy(out->pods, s->pods, sizeof(out->pods));
	out->restarts = s->restarts;
	char first_wait[K8S_REASON_MAX] = "", first_fail[K8S_REASON_MAX] = "";
	for (size_t i = 0; i < s->nobjs; i++) {
		const struct k8s_obj *o = &s->objs[i];
		if (o->applied || (s->ever_applied && o->live != NULL))
			out->applied++;
		if (!k8s_is_workload(o->api_version, o->kind))
			continue;
		out->workloads++;
		char why[K8S_REASON_MAX / 2];
		enum k8s_kstatus ks = K8S_KS_IN_PROGRESS;
		if (o->live != NULL)
			ks = k8s_kstatus_of(o->live, why, sizeof(why));
		else
			k8s_fmt(why, sizeof(why), "not on the cluster yet");
		if (ks == K8S_KS_CURRENT)
			out->workloads_ready++;
		else if (ks == K8S_KS_FAILED && first_fail[0] == '\0')
			k8s_fmt(first_fail, sizeof(first_fail), "%s %s: %s", o->kind, o->name, why);
		else if (ks == K8S_KS_IN_PROGRESS && first_wait[0] == '\0')
			k8s_fmt(first_wait, sizeof(first_wait), "%s %s: %s", o->kind, o->name, why);
	}
	if (s->removing) {
		out->state = K8S_APPLYING;
		k8s_fmt(out->reason, sizeof(out->reason), "removing%s%s",
		        s->transient[0] != '\0' ? ": " : "", s->transient);
		return;
	}
	if (s->failed_reason[0] != '\0') {
		out->state = K8S_FAILED;
		memcpy(out->reason, s->failed_reason, sizeof(out->reason));
		return;
	}
	if (s->transient[0] != '\0') {
		out->state = s->ever_applied ? K8S_DEGRADED : K8S_APPLYING;
		k8s_fmt(out->reason, sizeof(out->reason), "retrying (attempt %u): %s", s->retries,
		        s->transient);
		return;
	}
	if (s->ever_applied && s->ctx->unreachable[0] != '\0') {
		out->state = K8S_DEGRADED;
		k8s_fmt(out->reason, sizeof(out->reason), "API server not answering, retrying: %s",
		        s->ctx->unreachable);
		return;
	}
	if (!s->ever_applied) {
		out->state = s->in_pass ? K8S_APPLYING : K8S_PENDING;
		k8s_fmt(out->reason, sizeof(out->reason), "%s",
		        s->in_pass ? "applying objects" : "waiting to apply");
		return;
	}
	if (first_fail[0] != '\0') {
		out->state = K8S_FAILED;
		memcpy(out->reason, first_fail, sizeof(out->reason));
		return;
	}
	if (first_wait[0] != '\0') {
		out->state = K8S_APPLYING;
		memcpy(out->reason, first_wait, sizeof(out->reason));
		for (size_t i = 0; i < sizeof(bad_buckets) / sizeof(bad_buckets[0]); i++) {
			uint32_t n = s->pods[bad_buckets[i]];
			if (n == 0)
				continue;
			out->state = K8S_DEGRADED;
			k8s_fmt(out->reason, sizeof(out->reason), "%u pod%s %s; %s", n,
			        n == 1 ? "" : "s", bucket_words(bad_buckets[i]), first_wait);
			break;
		}
		return;
	}
	out->state = K8S_READY;
}
