/*
 * reconcile.c - each site converges its own Kubernetes cluster toward the
 * App intents that select it.
 *
 * The node owns one apply engine context (k8s/, include/shoal/k8s.h) when a
 * cluster is configured: --kubeconfig, else $KUBECONFIG, else the service
 * account when shoald runs in a pod (KUBERNETES_SERVICE_HOST). A node with
 * none of these has no engine, and App intents that select it are reported
 * pending with RECONCILE_NO_CLUSTER: ~/.kube/config is deliberately not
 * picked up on its own, so a node started on a workstation does not deploy
 * to whatever cluster kubectl points at. A kubeconfig that does not load is
 * a configuration error at start (shoald exits 2).
 *
 * What is applied is judged again (reconcile_judge.c) whenever the intent
 * store commits (the store's committed hook kicks a zero-delay timer: the
 * hook runs inside the store, which must not be re-entered) and whenever
 * this site's labels change; a poll timer also notices any change it
 * missed (tombstones collected, a label announced elsewhere) by comparing
 * n->intents_changes and a hash of the labels, and copies every entry's
 * engine status into n->site_states (reconcile_status.c).
 *
 * Once the cluster has answered after start, the engine's listing of the
 * sets whose records it holds is taken (reconcile_orphans.c) and judged
 * with the rest, so that a set this process was never handed is removed
 * when its intent does not select the site.
 *
 * The engine learns the server's version (GET /version); the poll puts it
 * in this site's sys.shoal.io/k8s-version label, cut at "+" (build
 * metadata: "v1.29.3+k3s1" is v1.29.3).
 */
#include "node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "shoal/error.h"

#include "reconcile.h"

/* Whether the environment names a cluster on its own (see the top). */
static bool cluster_configured(const struct node_config *cfg)
{
	const char *env = getenv("KUBECONFIG");
	return cfg->kubeconfig != NULL || cfg->kube_context != NULL ||
	       (env != NULL && env[0] != '\0') || getenv("KUBERNETES_SERVICE_HOST") != NULL;
}

static void labels_hash(const struct node *n, uint8_t out[32])
{
	struct shoal_label labels[NODE_ALL_LABELS_MAX];
	size_t count = node_labels_compose(n, &n->sys, labels);
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	for (size_t i = 0; i < count; i++) {
		/* NUL after each key and value: no two label sets hash alike. */
		crypto_generichash_update(&st, (const unsigned char *)labels[i].key,
		                          strlen(labels[i].key) + 1);
		crypto_generichash_update(&st, (const unsigned char *)labels[i].value,
		                          strlen(labels[i].value) + 1);
	}
	crypto_generichash_final(&st, out, 32);
}

/* The server version as a label: cut at '+' (sysinfo normalises the rest). */
static void version_label(struct node_reconcile *r)
{
	const char *v = k8s_ctx_server_version(r->k8s);
	char cut[sizeof(r->version_seen)];
	if (v == NULL)
		return;
	snprintf(cut, sizeof(cut), "%.*s", (int)strcspn(v, "+"), v);
	if (strcmp(cut, r->version_seen) == 0)
		return;
	if (node_labels_set_k8s_version(r->n, cut) == 0) {
		memcpy(r->version_seen, cut, sizeof(cut));
		node_log_event(&r->n->log, NODE_LOG_INFO, "k8s_version",
		               json_pack("{s:s}", "version", v));
	}
}

/* Judge if the store or the labels moved since the last judge. */
static void judge_if_changed(struct node_reconcile *r)
{
	uint8_t h[32];
	labels_hash(r->n, h);
	if (r->judged && r->changes_seen == r->n->intents_changes &&
	    r->resync_seen == r->n->intents_resync && memcmp(h, r->labels_seen, sizeof(h)) == 0)
		return;
	r->judged = true;
	r->changes_seen = r->n->intents_changes;
	r->resync_seen = r->n->intents_resync;
	memcpy(r->labels_seen, h, sizeof(h));
	rec_judge(r);
	/* After the judge, which has pruned what stopped selecting the site:
	 * a leaf cuts those to stubs and wants what now selects it. */
	node_leaf_intents_judge(r->n);
}

static void on_poll(uv_timer_t *t)
{
	struct node_reconcile *r = t->data;
	if (r->n->leaving)
		return;
	if (r->k8s != NULL)
		version_label(r);
	if (rec_orphans_take(r))
		r->judged = false; /* judge the sets found with the rest */
	judge_if_changed(r);
	node_leaf_intents_poll(r->n);
	for (size_t i = 0; i < r->count;)
		if (rec_status_update(r, &r->items[i]))
			i++; /* else the entry was dropped and the next moved into i */
}

static void on_kick(uv_timer_t *t)
{
	struct node_reconcile *r = t->data;
	if (!r->n->leaving)
		judge_if_changed(r);
}

void node_reconcile_kick(struct node *n)
{
	struct node_reconcile *r = n->reconcile;
	if (r != NULL && r->open_handles == 2)
		uv_timer_start(&r->kick, on_kick, 0, 0);
}

bool node_reconcile_has_cluster(const struct node *n)
{
	return n->reconcile != NULL && n->reconcile->k8s != NULL;
}

int node_reconcile_start(struct node *n, char *err, size_t errcap)
{
	const struct node_config *cfg = n->cfg;
	struct node_reconcile *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->n = n;
	if (cluster_configured(cfg)) {
		uint32_t scale = cfg->profile == NODE_PROFILE_FAST ? 10 : 1;
		struct k8s_ctx_config kc = {
		        .kubeconfig = cfg->kubeconfig,
		        .context = cfg->kube_context,
		        .backoff_min_ms = 500 / scale,
		        .backoff_max_ms = 30000 / scale,
		        .resync_ms = 300000 / scale,
		        .pod_poll_ms = 2000 / scale,
		};
		char why[512];
		int rc = k8s_ctx_new(n->loop, &kc, &r->k8s, why, sizeof(why));
		if (rc != 0) {
			snprintf(err, errcap, "Kubernetes cluster: %s", why);
			free(r);
			return rc == -ENOMEM ? rc : SHOAL_E_CONFIG;
		}
	}
	uint64_t every =
	        cfg->profile == NODE_PROFILE_FAST ? RECONCILE_POLL_MS / 10 : RECONCILE_POLL_MS;
	uv_timer_init(n->loop, &r->poll);
	uv_timer_init(n->loop, &r->kick);
	r->poll.data = r->kick.data = r;
	r->open_handles = 2;
	uv_timer_start(&r->poll, on_poll, every, every);
	uv_timer_start(&r->kick, on_kick, 0, 0); /* the first judge, at once */
	n->reconcile = r;
	node_log_event(
	        &n->log, NODE_LOG_INFO, "reconcile",
	        json_pack("{s:b,s:s?}", "cluster", r->k8s != NULL, "kubeconfig", cfg->kubeconfig));
	return 0;
}

static void on_closed(uv_handle_t *h)
{
	struct node_reconcile *r = h->data;
	if (--r->open_handles == 0) {
		free(r->items);
		free(r->orphans);
		free(r);
	}
}

void node_reconcile_stop(struct node *n)
{
	struct node_reconcile *r = n->reconcile;
	if (r == NULL)
		return;
	n->reconcile = NULL;
	/* Objects stay on the cluster: a node that stops is not an intent
	 * that stopped selecting it. */
	k8s_ctx_delete(r->k8s);
	r->k8s = NULL;
	uv_close((uv_handle_t *)&r->poll, on_closed);
	uv_close((uv_handle_t *)&r->kick, on_closed);
}
