/*
 * k8s.h - the per-site Kubernetes apply engine.
 *
 * A node owns one k8s_ctx per cluster. Its unit of work is an *apply set*:
 * an id and a list of manifests (multi-document YAML or a JSON list). The
 * context puts the set's objects on the cluster by server-side apply, labels
 * them `applyset.kubernetes.io/part-of: <hashed id>`, prunes members dropped
 * from the set, watches them and puts back drift, and keeps a status per set
 * in Shoal's state vocabulary (pending, applying, ready, degraded, failed)
 * with a reason, object counts and pod buckets.
 *
 * Everything runs on the caller's uv_loop: no call blocks on the API server
 * and no thread is started. The only process spawned is an exec credential
 * plugin named by the kubeconfig.
 *
 * A simulated backend (k8s_sim_*) offers the same three verbs behind
 * struct k8s_backend so the simulator can model sites applying sets.
 *
 * Threading: a context and everything it hands out belong to its loop's
 * thread. curl_global_init must have run before k8s_ctx_new (libcurl's rule).
 */
#ifndef SHOAL_K8S_H
#define SHOAL_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uv_loop_s;

/* The label that makes an object a member of a set (ApplySet, KEP-3659). */
#define K8S_PART_OF_LABEL "applyset.kubernetes.io/part-of"
/* Field manager for every server-side apply. */
#define K8S_FIELD_MANAGER "shoal"
/* A reason is one line for an operator; longer server messages are cut. */
#define K8S_REASON_MAX 512
/* Largest manifest text accepted for one set. */
#define K8S_MANIFESTS_MAX (8u * 1024u * 1024u)
/* Most objects in one set. */
#define K8S_SET_OBJECTS_MAX 2048u
/* A set id: printable, no spaces. */
#define K8S_SET_ID_MAX 253u

enum k8s_state {
	K8S_PENDING = 0, /* accepted, nothing sent to the cluster yet */
	K8S_APPLYING,    /* writes in flight, or workloads still rolling out */
	K8S_READY,       /* every object applied and every workload current */
	K8S_DEGRADED,    /* applied once, now unhealthy pods or an unreachable API server */
	K8S_FAILED,      /* the server rejected an object, or a workload failed */
};

/* Where a set's pods stand. A pod whose containers fit several buckets is
 * counted once, in the one that explains it best: config error, then
 * waiting for image, OOM killed, crash loop, creating. */
enum k8s_pod_bucket {
	K8S_POD_RUNNING = 0,
	K8S_POD_CREATING,      /* ContainerCreating, PodInitializing */
	K8S_POD_IMAGE,         /* ErrImagePull, ImagePullBackOff */
	K8S_POD_CONFIG_ERROR,  /* CreateContainerConfigError, InvalidImageName */
	K8S_POD_CRASH_LOOP,    /* CrashLoopBackOff */
	K8S_POD_OOM_KILLED,    /* last termination OOMKilled */
	K8S_POD_UNSCHEDULABLE, /* PodScheduled=False, reason Unschedulable */
	K8S_POD_PENDING,       /* any other Pending pod */
	K8S_POD_SUCCEEDED,     /* phase Succeeded (finished Job pods) */
	K8S_POD_FAILED,        /* phase Failed */
	K8S_POD_BUCKETS,
};

/* A snapshot of one set on this cluster, copied out by k8s_set_status. */
struct k8s_set_status {
	enum k8s_state state;
	char reason[K8S_REASON_MAX]; /* why this state; "" when ready */
	uint32_t objects;            /* objects in the set */
	uint32_t applied;         /* objects accepted this pass, or on the cluster since the last */
	uint32_t workloads;       /* Deployments, StatefulSets, DaemonSets, Jobs in the set */
	uint32_t workloads_ready; /* of which current by kstatus (a Job: complete) */
	uint32_t pods[K8S_POD_BUCKETS]; /* pods of the set's workloads, per bucket */
	uint32_t restarts;              /* container restarts of those pods (restartCount summed) */
	uint64_t passes;                /* apply passes completed since the set was (re)applied */
	uint32_t retries;               /* consecutive failed attempts (0 once a pass succeeds) */
};

/* Cluster access: at most one of kubeconfig / in_cluster_root is used. */
struct k8s_ctx_config {
	const char *kubeconfig;      /* path; NULL: $KUBECONFIG, in-cluster, ~/.kube/config */
	const char *context;         /* kubeconfig context; NULL: current-context */
	const char *in_cluster_root; /* NULL: "/" ; tests point it at a fake tree */
	uint32_t backoff_min_ms;     /* first retry delay (0: 500 ms) */
	uint32_t backoff_max_ms;     /* retry delay cap (0: 30 s) */
	uint32_t resync_ms;          /* periodic re-apply of settled sets (0: 5 min) */
	uint32_t pod_poll_ms;        /* pod bucket refresh while not ready (0: 2 s) */
	uint64_t seed;               /* jitter PRNG seed (0: from the CSPRNG) */
};

struct k8s_ctx;

/* Read the cluster config and make a context on `loop`. On error *out is
 * NULL and `err` says what is wrong with the config (path, key). */
int k8s_ctx_new(struct uv_loop_s *loop, const struct k8s_ctx_config *cfg, struct k8s_ctx **out,
                char *err, size_t errcap);

/* Cancel everything and free the context. Objects stay on the cluster. Run
 * the loop once more afterwards so libuv can close the handles. */
void k8s_ctx_delete(struct k8s_ctx *ctx);

/* Make `manifests` the desired content of set `set_id` (replacing what it
 * was). The text is parsed and checked now: on error nothing changes and
 * `err` names the document and field. The work itself runs on the loop. */
int k8s_set_apply(struct k8s_ctx *ctx, const char *set_id, const char *manifests, size_t len,
                  char *err, size_t errcap);
/* The same, with the namespace a namespaced object without
 * metadata.namespace goes to (NULL: the kubeconfig context's namespace, as
 * k8s_set_apply). A name that is not a DNS label is refused. */
int k8s_set_apply_in(struct k8s_ctx *ctx, const char *set_id, const char *default_ns,
                     const char *manifests, size_t len, char *err, size_t errcap);

/* Delete every object of the set from the cluster, then forget it. Until
 * the deletes are done the set reports K8S_APPLYING, reason "removing".
 * A set the context does not hold (one found by k8s_ctx_found_sets, or left
 * by an earlier process) is removed the same way, from its record on the
 * cluster; with no record there is nothing to delete and it goes at once.
 * SHOAL_E_MALFORMED for an id k8s_set_apply would refuse. */
int k8s_set_remove(struct k8s_ctx *ctx, const char *set_id);

/* Copy the set's status. SHOAL_E_NOT_FOUND once a removed set is gone. */
int k8s_set_status(const struct k8s_ctx *ctx, const char *set_id, struct k8s_set_status *out);

/* Set ids known to the context, including sets being removed; `ids` points
 * into the context and is valid until the next k8s_set_* call. */
size_t k8s_set_list(const struct k8s_ctx *ctx, const char **ids, size_t cap);

/* The label value for a set id: "shoal-" and 24 hex digits of its SHA-256,
 * a valid label value for any id. `out` holds K8S_SET_LABEL_LEN + 1. */
#define K8S_SET_LABEL_LEN 30
void k8s_set_label(const char *set_id, char out[static K8S_SET_LABEL_LEN + 1]);

/* A set this cluster holds the record of (k8s/parent.c): objects it put on
 * the cluster may still be there, whether or not this process knows it. */
struct k8s_found_set {
	char label[K8S_SET_LABEL_LEN + 1]; /* K8S_PART_OF_LABEL's value on its members */
	char id[K8S_SET_ID_MAX + 1];       /* the set id; "" if the record does not name it
	                                      (written before records did): match the label */
};

/* The sets whose records the context found on the cluster: the record
 * ConfigMaps in its namespace, listed once after the context starts and
 * again with backoff until the server answers. NULL until then; after, the
 * array (count in *n, possibly 0) stays as listed, valid until
 * k8s_ctx_delete. Sets applied or removed since are not reflected. */
const struct k8s_found_set *k8s_ctx_found_sets(const struct k8s_ctx *ctx, size_t *n);

/* The API server's version (GET /version, gitVersion: "v1.29.3"), or NULL
 * until it has answered. Asked at start, again after a failure (with
 * backoff) and every resync_ms, so an upgraded cluster is noticed. */
const char *k8s_ctx_server_version(const struct k8s_ctx *ctx);

const char *k8s_state_name(enum k8s_state s);
const char *k8s_pod_bucket_name(enum k8s_pod_bucket b);

/* ---- one interface, two backends ---------------------------------------- */

struct k8s_backend_ops {
	int (*apply)(void *impl, const char *set_id, const char *manifests, size_t len, char *err,
	             size_t errcap);
	int (*remove)(void *impl, const char *set_id);
	int (*status)(const void *impl, const char *set_id, struct k8s_set_status *out);
};

struct k8s_backend {
	const struct k8s_backend_ops *ops;
	void *impl;
};

/* The real cluster behind a context. */
struct k8s_backend k8s_ctx_backend(struct k8s_ctx *ctx);

/* ---- simulated backend -------------------------------------------------- */

/* A site that applies sets without a cluster: each apply takes a latency
 * drawn from [latency_min_ms, latency_max_ms] and then fails with
 * probability failure_rate (as a 422 would), else is ready. Time comes from
 * `now_ms` (the simulator's virtual clock); draws from a PRNG seeded by
 * `seed`, so a run replays. */
struct k8s_sim_config {
	uint64_t seed;
	uint32_t latency_min_ms;
	uint32_t latency_max_ms;
	double failure_rate; /* 0..1 */
	uint64_t (*now_ms)(void *clock_arg);
	void *clock_arg;
};

struct k8s_sim;

int k8s_sim_new(const struct k8s_sim_config *cfg, struct k8s_sim **out);
void k8s_sim_delete(struct k8s_sim *sim);
struct k8s_backend k8s_sim_backend(struct k8s_sim *sim);

#endif
