/*
 * engine.h - the apply engine's insides, shared by ctx.c (lifecycle and
 * scheduling), pass.c (apply and prune), watch.c (keeping objects there)
 * and status.c (readiness, pod buckets, the snapshot).
 *
 * Scheduling is one 100 ms tick per context that looks at deadlines held in
 * each set (loop milliseconds, 0 = nothing scheduled). A tick is coarser
 * than a timer per deadline, but it gives one handle to close instead of
 * dozens, and a tenth of a second is nothing next to an API server's own
 * latency. Every request's callback first clears the pointer that held it:
 * the client frees a request when its callback returns.
 */
#ifndef SHOAL_K8S_ENGINE_H
#define SHOAL_K8S_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "discovery.h"
#include "http.h"
#include "kubeconfig.h"
#include "shoal/k8s.h"

#define K8S_TICK_MS         100u
#define K8S_DEBOUNCE_MS     200u /* drift seen -> re-apply after this */
#define K8S_CRD_POLL_MS     250u
#define K8S_CRD_WAIT_MS     60000u /* a CRD not Established by then is an error */
#define K8S_WATCH_TIMEOUT_S 300    /* asked of the server; it ends the watch */
#define K8S_PATH_MAX        1024
#define K8S_POD_SETTLED_MS  30000u /* pod listing interval of a ready set */

struct k8s_set;

/* A resource the set has applied objects of: listed for pruning and watched. */
struct k8s_kind {
	struct k8s_set *set;
	struct k8s_resource res;    /* own copies of the strings */
	char *rv;                   /* resourceVersion to watch from; NULL: list first */
	struct k8s_http_req *watch; /* open watch */
	struct k8s_http_req *list;  /* re-list in flight */
	uint64_t restart_at;        /* re-list / re-watch due (0: none) */
	uint32_t failures;          /* consecutive watch failures */
	bool gone;                  /* the watch said 410: list again */
	bool recorded;              /* the set's record on the cluster names it (parent.c) */
};

struct k8s_obj {
	json_t *manifest;        /* labelled; namespace filled in once resolved */
	const char *api_version; /* these three point into manifest */
	const char *kind;
	const char *name;
	char *ns;        /* namespace, NULL if cluster-scoped or unresolved */
	int kind_idx;    /* into set->kinds; -1 until discovery resolved it */
	bool discovered; /* discovery was refreshed for it this pass */
	json_t *live;    /* the object as last seen on the server, or NULL */
	bool applied;    /* accepted by the server in the current pass */
};

enum k8s_step {
	STEP_IDLE = 0,
	STEP_RESOLVE,      /* discovery request for objs[idx] */
	STEP_NAMESPACE,    /* creating objs[idx]'s namespace */
	STEP_APPLY,        /* server-side apply of objs[idx] */
	STEP_WAIT_CRD,     /* objs[idx] is a CRD not yet Established */
	STEP_PARENT_WRITE, /* recording every resource that may hold members */
	STEP_PRUNE_LIST,   /* listing kinds[idx] by the part-of label */
	STEP_PRUNE_DELETE, /* deleting doomed[idx] */
	STEP_PARENT_FINAL, /* recording what the set now holds (or deleting the record) */
};

struct k8s_set {
	struct k8s_ctx *ctx;
	struct k8s_set *next;
	char *id;
	char label[K8S_SET_LABEL_LEN + 1];
	char *default_ns; /* for namespaced objects that name none; NULL: the context's */
	struct k8s_obj *objs;
	size_t nobjs;
	struct k8s_kind **kinds; /* every resource ever applied by this set */
	size_t nkinds;
	bool removing;      /* deleting everything, then freed */
	bool parent_read;   /* the ApplySet record was read (parent.c) */
	bool parent_exists; /* the record is on the cluster (as far as this process knows) */
	char *parent_text;  /* the resources the record holds now, if it names this set */

	/* the pass in progress */
	bool in_pass;
	bool again; /* drift seen during the pass: run another */
	enum k8s_step step;
	size_t idx;
	struct k8s_http_req *req;         /* the step's request */
	json_t *ns_done;                  /* namespaces ensured this pass (object used as a set) */
	json_t *doomed;                   /* paths to delete */
	bool pass_failed;                 /* an object was rejected this pass */
	bool parent_refused;              /* the record write was rejected this pass */
	char pass_reason[K8S_REASON_MAX]; /* the first rejection of this pass */
	uint64_t wait_at;                 /* WAIT_CRD: next poll */
	uint64_t crd_deadline;

	/* outcome */
	char failed_reason[K8S_REASON_MAX]; /* last pass's rejection, "" if none */
	char transient[K8S_REASON_MAX];     /* last transport/server error, "" if none */
	bool ever_applied;                  /* a pass completed for the current content */
	uint64_t passes;
	uint32_t retries;
	uint64_t run_at; /* next pass due (0: none) */

	/* pods of the set's workloads */
	struct k8s_http_req *pod_req;
	size_t pod_idx;   /* workload being listed */
	json_t *pod_seen; /* uids counted in this poll */
	uint32_t pod_tmp[K8S_POD_BUCKETS];
	uint32_t pods[K8S_POD_BUCKETS];
	uint32_t restarts_tmp, restarts; /* restartCount summed over those pods */
	uint64_t pod_at;
	bool pods_stale; /* a workload moved since the poll in flight began */
};

struct k8s_ctx {
	uv_loop_t *loop;
	struct k8s_cluster_config cluster;
	struct k8s_http *http;
	struct k8s_discovery *disc;
	struct k8s_set *sets;
	uv_timer_t tick;
	uint64_t rng; /* xorshift64* state for jitter */
	uint32_t backoff_min_ms, backoff_max_ms, resync_ms, pod_poll_ms;

	/* the server's version, and whether it answers (version.c) */
	struct k8s_http_req *version_req;
	uint64_t version_at; /* next GET /version due (0: none) */
	uint32_t version_failures;
	char server_version[64];              /* gitVersion, "" until known */
	char unreachable[K8S_REASON_MAX / 2]; /* why the last probe got no answer; "" if it did */

	/* the sets whose records are on the cluster, listed once (records.c) */
	struct k8s_http_req *records_req;
	uint64_t records_at; /* next LIST due (0: none) */
	uint32_t records_failures;
	bool records_listed;
	struct k8s_found_set *found;
	size_t nfound;
};

/* ctx.c */
/* snprintf for reasons, where cutting a long server message is intended. */
void k8s_fmt(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
uint64_t k8s_now(const struct k8s_ctx *ctx);
uint64_t k8s_backoff_ms(struct k8s_ctx *ctx, uint32_t attempt);
void k8s_set_destroy(struct k8s_set *s);
/* A set id k8s_set_apply takes: 1..K8S_SET_ID_MAX printable bytes, no space. */
int k8s_check_set_id(const char *id, char *err, size_t errcap);

/* pass.c */
void k8s_pass_step(struct k8s_set *s);
void k8s_pass_fail(struct k8s_set *s, const char *msg);
void k8s_pass_reject(struct k8s_set *s, const char *msg);
int k8s_pass_request(struct k8s_set *s, const char *method, const char *path, const char *body,
                     const char *ctype, k8s_http_done_cb cb);
bool k8s_is_rejection(long status);
void k8s_pass_start(struct k8s_set *s);
void k8s_pass_abort(struct k8s_set *s);
void k8s_pass_tick(struct k8s_set *s, uint64_t now);
/* Something changed on the cluster: re-apply soon (or after this pass). */
void k8s_set_schedule(struct k8s_set *s);
int k8s_set_add_kind(struct k8s_set *s, const struct k8s_resource *r);
/* "Kind ns/name: message" from an error answer. */
void k8s_describe_error(const struct k8s_obj *o, const struct k8s_http_result *res, char *out,
                        size_t cap);
/* Store a live object, giving it the manifest's apiVersion and kind (LIST
 * items come without them). Takes a reference. */
void k8s_obj_set_live(struct k8s_obj *o, json_t *live);

/* parent.c: the set's record on the cluster of the resources it may have
 * members in, so pruning after a restart still finds them. Each returns
 * true when it started a request (whose callback resumes the pass). */
bool k8s_parent_read(struct k8s_set *s);
bool k8s_parent_write(struct k8s_set *s, bool all_kinds);
/* The record's name, "applyset-<label>"; its label and annotations. */
#define K8S_RECORD_PREFIX         "applyset-"
#define K8S_RECORD_ID_LABEL       "applyset.kubernetes.io/id"
#define K8S_RECORD_TOOLING        "applyset.kubernetes.io/tooling"
#define K8S_RECORD_TOOLING_VALUE  "shoal/v1"
#define K8S_RECORD_SET_ANNOTATION "shoal/set-id"

/* records.c: list the records in the context's namespace until it answers. */
void k8s_records_tick(struct k8s_ctx *ctx, uint64_t now);

/* watch.c */
void k8s_watch_start(struct k8s_kind *k);
void k8s_kind_tick(struct k8s_kind *k, uint64_t now);
void k8s_kind_stop(struct k8s_kind *k);
/* Does `live` hold every field of `want` with the same value? */
bool k8s_json_subset(const json_t *want, const json_t *live);
/* Handle one listed or watched object of kind k (ADDED/MODIFIED/DELETED). */
void k8s_kind_observe(struct k8s_kind *k, const char *type, json_t *obj);

/* version.c: GET /version at start, every resync_ms, and (probe) at once
 * when a watch finds the server silent; with backoff while it stays so. */
void k8s_version_tick(struct k8s_ctx *ctx, uint64_t now);
void k8s_server_probe(struct k8s_ctx *ctx);

/* status.c */
void k8s_pods_tick(struct k8s_set *s, uint64_t now);
void k8s_status_compute(const struct k8s_set *s, struct k8s_set_status *out);

#endif
