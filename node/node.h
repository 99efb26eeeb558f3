/*
 * node.h - one running Shoal node: everything shoald holds, assembled on a
 * libuv loop.
 *
 * shoald_main.c is only argv, signals and the loop; the node itself (store,
 * keyring, sockets, SWIM, HTTP API) is built here so tests can run a whole
 * node inside their own loop. The pieces:
 *
 *   node.c     start/stop and the leave sequence
 *   driver.c   input from the transport into SWIM, the one deadline timer
 *   events.c   SWIM events -> log lines, incarnation and keyring persistence
 *   intents.c  the intent store: trust roots, LMDB persistence, reload
 *   api_*.c    HTTP handlers, metrics.c the Prometheus text
 *
 * Thread-safety: a node belongs to its loop's thread.
 */
#ifndef SHOAL_NODE_NODE_H
#define SHOAL_NODE_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "shoal/hlc.h"
#include "shoal/intent_store.h"
#include "shoal/leaf.h"
#include "shoal/seal.h"
#include "shoal/replica.h"
#include "shoal/swim.h"
#include "shoal/trust.h"

#include "alerts.h"
#include "config.h"
#include "health.h"
#include "http.h"
#include "log.h"
#include "store.h"
#include "site_states.h"
#include "sysinfo.h"
#include "transport.h"

#define SHOAL_VERSION "0.1.0"

/* System labels are discovered again this often (fast profile: /10). */
#define NODE_SYSINFO_REFRESH_MS (5 * 60 * 1000)
/* Operator and system labels together. */
#define NODE_ALL_LABELS_MAX (NODE_LABELS_MAX + 3 + NODE_SYS_LABELS_MAX) /* + trust, role, api */
/* System labels of leaf mode (docs/operations.md, "Leaf sites"): a leaf says
 * so (SHOAL_ROLE_LABEL, include/shoal/leaf.h), and every node says which
 * port its API listens on (at its gossip address), so a leaf can ask a full
 * node for the fleet. */
#define NODE_API_PORT_LABEL "sys.shoal.io/api-port"

struct node {
	uv_loop_t *loop;                 /* borrowed; runs everything below */
	const struct node_config *cfg;   /* borrowed; outlives the node */
	struct node_log log;             /* structured log on stdout */
	struct node_store store;         /* LMDB in the data dir */
	bool store_open;                 /* store needs closing */
	uint8_t pk[32];                  /* our Ed25519 public key */
	char api_port[8];                /* --api's port as text, for NODE_API_PORT_LABEL */
	struct node_proxy *proxy;        /* a leaf's fleet queries to full nodes (api_proxy.c) */
	struct shoal_keyring keyring;    /* cluster keys; empty = unencrypted */
	bool encrypted;                  /* a keyring was configured */
	char keyring_path[4096];         /* file rewritten on every change */
	uint64_t keyring_saves;          /* successful saves, for the API's check */
	int keyring_save_err;            /* result of the last save (0 = ok) */
	struct node_transport transport; /* UDP + TCP gossip sockets */
	bool transport_open;             /* transport needs closing */
	struct swim_pool *pool;          /* interned member records */
	struct swim *swim;               /* the membership state machine */
	struct replica *replica;         /* item replication; NULL until an app attaches */
	struct replica_mux *mux;         /* intents and health on the one replica (wire.c) */
	struct node_health health;       /* every site's health record, and ours (health.h) */
	uv_timer_t timer;                /* fires at swim_next_deadline */
	bool timer_open;                 /* timer needs closing */
	struct trust_roots roots;        /* --trust: keys that may sign anything */
	struct intent_store *intents;    /* the replicated intents; NULL if not open */
	MDB_dbi intents_db;              /* LMDB "intents" */
	struct shoal_hlc hlc;            /* versions this node hands to shoalctl */
	uv_timer_t intents_gc;           /* collects tombstones past the horizon */
	bool intents_gc_open;            /* intents_gc needs closing */
	uint64_t intents_bad_requests;   /* POSTs refused before the store (not JSON) */
	struct node_sysinfo sys;         /* system labels as last announced */
	uv_timer_t sys_timer;            /* rediscovers them (node_labels.c) */
	bool sys_timer_open;             /* sys_timer needs closing */
	struct node_intents_wire *wire;  /* the store on the replica; NULL if not attached */
	uint64_t intents_changes;        /* bumped by every persisted change */
	bool intents_resync;             /* taking old envelopes from peers (intents_resync.c) */
	uint32_t leaf_wanting;           /* a leaf's stubs that select it, body not here yet */
	uint32_t leaf_polls;             /* reconciler polls since the last leaf walk */
	uint64_t leaf_bodies_wanted;     /* bodies of stubs asked of the replica (leaf_intents.c) */
	uv_timer_t resync_timer;         /* checks whether the resync is done */
	bool resync_timer_open;
	char trust_label[17];                      /* first 16 hex of trust_roots_hash */
	char (*trust_reported)[SWIM_NAME_MAX + 1]; /* peers already logged as mismatched */
	size_t ntrust_reported, trust_reported_cap;
	struct node_site_states site_states; /* this site's per-intent states (site_states.h) */
	struct node_reconcile *reconcile;    /* the cluster's App intents (reconcile.c) */
	struct node_http *http;              /* the HTTP API; NULL if not started */
	struct node_alerts *alerts;          /* AlertRules judged and delivered (alerts.h) */
	uv_timer_t linger;                   /* runs out the leave before stopping */
	bool linger_open;                    /* linger needs closing */
	bool leaving;                        /* swim_leave was called */
	bool stopped;                        /* node_stop ran */
	void (*on_stopped)(struct node *n);  /* called once the node stopped (may be NULL) */
};

/* Build and start a node from `cfg`: open the store (refusing a data dir
 * of another name), load the keyring, persist incarnation+1, bind sockets,
 * create SWIM, join the seeds, start the API and log "ready". On error the
 * node is torn down (run the loop to finish closing handles) and err
 * names the problem; SHOAL_E_CONFIG and SHOAL_E_NAME_TAKEN mean the
 * configuration is wrong (shoald exits 2), anything else is the world's
 * fault (exit 1). */
int node_start(struct node *n, uv_loop_t *loop, const struct node_config *cfg, char *err,
               size_t errcap);

/* Leave gracefully: broadcast the leave, keep gossiping for
 * swim_leave_linger_us, then stop (and call on_stopped). A second call stops
 * at once. */
void node_leave(struct node *n);

/* Stop now: log "shutdown", close every handle, free SWIM; the loop then
 * runs out of handles and returns. Idempotent. */
void node_stop(struct node *n);

/* driver.c: the core's clock and the timer that keeps it running. */
uint64_t node_now(void);
/* Re-arm the deadline timer after any call into SWIM from outside it. */
void node_driver_arm(struct node *n, uint64_t now);
/* Transport callbacks that feed SWIM. */
extern const struct node_transport_cbs node_driver_cbs_template;
void node_driver_on_timer(uv_timer_t *timer);

/* node_replica.c: an application store attaches the replication service
 * to the running node (cfg NULL: defaults for the node's profile); it is
 * detached by node_stop. Attach: 0, SHOAL_E_STATE if the node is not
 * running, SHOAL_E_EXISTS if one is attached, replica_new's errors.
 * Announce: replica_announce on the attached service, then re-arm. */
int node_replica_attach(struct node *n, const struct replica_app *app,
                        const struct replica_config *cfg);
void node_replica_detach(struct node *n);
int node_replica_announce(struct node *n, const struct replica_item *it);
/* Want: replica_want on the attached service (a leaf's stub that needs its
 * body, leaf_intents.c), then re-arm. */
int node_replica_want(struct node *n, const struct replica_item *it, const struct shoal_addr *srcs,
                      uint32_t nsrc);

/* node_labels.c: the labels this site gossips, the operator's first, then
 * the trust roots' fingerprint (TRUST_LABEL_KEY) and the system labels in `sys` (out[NODE_ALL_LABELS_MAX]; pointers valid
 * while cfg and sys are unchanged). Check: 0, or SHOAL_E_CONFIG with the
 * reason in err when they exceed SWIM_LABELS_MAX encoded. Start/stop the
 * periodic rediscovery. set_k8s_version: what the k8s engine calls once
 * its cluster answers (NULL or "" clears it); a change re-announces the
 * member record; 0, SHOAL_E_STATE when not running, SHOAL_E_TOO_BIG when
 * the labels would no longer fit (the old ones are kept). */
/* leaf.c: a member's API address: the gossip address with
 * NODE_API_PORT_LABEL's port; -1 if the record carries none. Whether it is
 * a leaf: shoal_labels_say_leaf (shoal/leaf.h). */
int node_member_api(const struct swim_member_info *mi, struct shoal_addr *out);

/* api_proxy.c: a leaf's client for asking full nodes; nothing on a full
 * node. Stop before the API server: waiting requests are answered 503. */
int node_proxy_start(struct node *n);
void node_proxy_stop(struct node *n);

size_t node_labels_compose(const struct node *n, const struct node_sysinfo *sys,
                           struct shoal_label *out);
int node_labels_check(const struct node *n, char *err, size_t errcap);
void node_labels_start(struct node *n);
void node_labels_stop(struct node *n);
int node_labels_set_k8s_version(struct node *n, const char *version);

/* reconcile.c: converge this site's Kubernetes cluster toward the App
 * intents that select it, writing site_states. Start: 0, or SHOAL_E_CONFIG
 * with err when the configured kubeconfig does not load (no cluster
 * configured is not an error). Kick: the store or the labels changed,
 * judge again from the loop. has_cluster: an engine is running. */
int node_reconcile_start(struct node *n, char *err, size_t errcap);
void node_reconcile_stop(struct node *n);
void node_reconcile_kick(struct node *n);
bool node_reconcile_has_cluster(const struct node *n);

/* events.c: SWIM's event callback (event_ctx = the node). */
void node_events_on_swim(void *ctx, const struct swim_event *ev);
/* Rewrite the keyring file from n->keyring; 0 or a negative code. */
int node_events_save_keyring(struct node *n);

/* intents.c: open the store (roots, LMDB, reload) after the store and
 * before the API; close it in teardown. */
int node_intents_open(struct node *n, const struct shoal_env *env, char *err, size_t errcap);
void node_intents_close(struct node *n);
/* intents_resync.c: a new node, or one away longer than the horizon
 * (its intents dropped at start), takes old envelopes from peers until
 * its first anti-entropy exchange is done (INTENT_FROM_RESYNC). begin:
 * before loading; loaded: after; alive: record the wall time this node
 * ran (every minute and at close); peer_source: the source to offer
 * pulled envelopes as. */
void node_intents_resync_begin(struct node *n);
void node_intents_resync_loaded(struct node *n);
void node_intents_alive(struct node *n);
enum intent_source node_intents_peer_source(struct node *n);
void node_intents_resync_stop(struct node *n);
/* Wall-clock milliseconds, the time intents are judged by. */
uint64_t node_wall_ms(void);
/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void node_intents_hex(const uint8_t *bytes, size_t len, char *out);
/* Bytes of the LMDB record that holds `it` (whole or stub). */
size_t node_intents_record_bytes(const struct intent_item *it);

/* leaf_intents.c: a leaf keeps whole only the intents that select it.
 * keep_whole is the store's hook (true on a full node); judge cuts what no
 * longer selects the leaf to stubs and wants the bodies of stubs that now
 * do (after each reconciler judge); poll repeats the walk every
 * LEAF_REWANT_POLLS reconciler polls while a body is still wanted. */
#define LEAF_REWANT_POLLS 10
bool node_leaf_keep_whole(void *ctx, const struct intent_store *s, const struct intent_item *it);
void node_leaf_intents_judge(struct node *n);
void node_leaf_intents_poll(struct node *n);

/* intents_replica.c: the intent store as an application of the replica
 * (a struct replica_app, filled into *app): open after SWIM exists, close
 * once the replica is detached. Every commit is announced, from the API
 * or a peer. */
int node_intents_wire_open(struct node *n, struct replica_app *app);
void node_intents_wire_close(struct node *n);

/* wire.c: the intents and the health table on one replica (a mux), and
 * this site's health publishing; attach after SWIM exists, detach before
 * it goes. */
int node_wire_attach(struct node *n);
void node_wire_detach(struct node *n);
/* The store's committed hook: queue the item's announcement. */
void node_intents_wire_committed(struct node *n, const struct intent_item *it);
/* Gossip-arrived envelopes refused, by reason (for /metrics). */
uint64_t node_intents_gossip_rejected(const struct node *n, enum intent_reason r);

/* trust_label.c: every member record carries TRUST_LABEL_KEY = the first 16
 * hex digits of its trust_roots_hash; a peer whose value differs from ours
 * is reported once in the log, counted in /metrics and shown in
 * /v1/members. */
#define TRUST_LABEL_KEY "sys.shoal.io/trust"
enum node_trust_match {
	NODE_TRUST_MATCH = 0, /* same roots */
	NODE_TRUST_MISMATCH,  /* different roots: intents will not agree */
	NODE_TRUST_UNKNOWN,   /* the member carries no trust label */
};
void node_trust_label_init(struct node *n);
enum node_trust_match node_trust_of(const struct node *n, const uint8_t *labels, size_t len);
/* Called on a member's ALIVE/UPDATE event: logs a mismatch once per peer. */
void node_trust_on_member(struct node *n, const char *name);
/* Live members (self excluded) whose roots differ from ours. */
uint32_t node_trust_mismatches(const struct node *n);
void node_trust_close(struct node *n);

/* api.c: the route table served on --api. */
extern const struct node_http_route node_api_routes[];
extern const size_t node_api_nroutes;

#endif
