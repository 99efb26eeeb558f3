/*
 * sim.h - Shoal's simulator: a discrete-event engine, a virtual network and
 * a cluster harness that drive the real sans-IO SWIM core.
 *
 * Four layers, each usable on its own:
 *
 *   rng      splitmix64 seeding + xoshiro256**; one independent stream per
 *            (purpose, node) derived from the run seed, so adding a node or
 *            a network draw never shifts another node's choices.
 *   engine   a min-heap of events keyed by (deadline, sequence): equal
 *            deadlines fire in the order they were scheduled. The virtual
 *            clock is in microseconds and starts at SIM_CLOCK_START, not 0,
 *            so code that treats 0 as "unset" or "the beginning" shows up.
 *   net      nodes 0..n-1 with addresses 10.x.y.z:7946; datagrams with
 *            latency by place tier (constant, uniform, lognormal) and iid loss,
 *            partitions into groups, one-way cuts, slow receivers; reliable
 *            ordered streams that a partition, cut or crash breaks. It
 *            counts packets and bytes per node itself.
 *   cluster  N swim nodes sharing one swim_pool, each with its own env,
 *            keyring, PRNG and CSPRNG stream, deterministic site keys, an
 *            event log, crash/restart/leave, and a memoizing signature check.
 *
 * Determinism: a run is a function of its seed. Nothing here reads a clock
 * or a global PRNG; the engine keeps a running trace hash of what it fired
 * and what the network delivered, so two runs can be compared cheaply.
 *
 * Ownership: every object is created with x_new and freed with x_delete; a
 * callback never runs after its x_delete. Thread-safety: none; one
 * simulation belongs to one thread.
 */
#ifndef SHOAL_SIM_H
#define SHOAL_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shoal/env.h"
#include "shoal/seal.h"
#include "shoal/swim.h"

/* 10^12 us: about 11.6 virtual days after an imaginary boot. */
#define SIM_CLOCK_START UINT64_C(1000000000000)
#define SIM_MS(x)       ((uint64_t)(x)*UINT64_C(1000))
#define SIM_SEC(x)      ((uint64_t)(x)*UINT64_C(1000000))
#define SIM_NO_NODE     UINT32_MAX

/* ---- rng ---------------------------------------------------------------- */

/* xoshiro256** state; never all zero once seeded. */
struct sim_rng {
	uint64_t s[4]; /* generator state */
};

/* What a stream is for; combined with a node index into a stream id so each
 * purpose of each node draws from its own sequence. */
enum sim_rng_purpose {
	SIM_RNG_PRNG = 1,    /* a node's env->prng (protocol choices) */
	SIM_RNG_CRNG = 2,    /* a node's env->random_bytes (nonces) */
	SIM_RNG_NET = 3,     /* the network's latency and loss draws */
	SIM_RNG_KEY = 4,     /* site key seeds, indexed by key id */
	SIM_RNG_HARNESS = 5, /* the cluster's own choices (boot times, ...) */
};
#define SIM_RNG_STREAM(purpose, index) (((uint64_t)(purpose) << 40) ^ (uint64_t)(index))

/* Advance a splitmix64 state and return the next output. */
uint64_t sim_splitmix64(uint64_t *state);
/* Seed `r` for stream `stream` of run `seed`. */
void sim_rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream);
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double sim_rng_double(struct sim_rng *r);
/* Uniform integer in [0, n); n > 0. Unbiased (rejection). */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n);
/* Standard normal N(0, 1) (Box-Muller). */
double sim_rng_normal(struct sim_rng *r);
/* Fill buf: the simulator's deterministic stand-in for a CSPRNG. */
void sim_rng_bytes(struct sim_rng *r, uint8_t *buf, size_t len);
/* A fast non-cryptographic 64-bit hash, for trace hashes and tables. */
uint64_t sim_hash64(const void *p, size_t len, uint64_t seed);
/* Mix v into a running hash h. */
uint64_t sim_hash_mix(uint64_t h, uint64_t v);

/* The seed to use: SHOAL_SIM_SEED from the environment (decimal or 0x hex)
 * if set and valid, else `fallback`. Prints "sim seed: <n>" to stderr so
 * every run can be replayed. */
uint64_t sim_seed_from_env(uint64_t fallback);

/* ---- engine ------------------------------------------------------------- */

/* An event callback. `arg` and `data` are what was scheduled. It may
 * schedule further events (at or after now). */
typedef void (*sim_event_fn)(void *arg, uint64_t data);

struct sim_engine;

/* max_events caps the heap (0 = 1<<24 events, 40 bytes each); scheduling
 * past the cap fails with SHOAL_E_TOO_BIG. Errors: -ENOMEM. */
int sim_engine_new(struct sim_engine **out, uint64_t start_us, size_t max_events);
/* Frees the heap. Pending events are dropped without being called: their
 * owners free whatever their args hold (the net frees packets in flight). */
void sim_engine_delete(struct sim_engine *e);
uint64_t sim_engine_now(const struct sim_engine *e);
/* Schedule fn(arg, data) at `at`. A time in the past is moved to now (and
 * counted in sim_engine_late). Returns 0, -ENOMEM or SHOAL_E_TOO_BIG. */
int sim_engine_at(struct sim_engine *e, uint64_t at, sim_event_fn fn, void *arg, uint64_t data);
/* Fire the earliest event, advancing the clock to its deadline. Returns 0,
 * or SHOAL_E_NOT_FOUND if nothing is pending. */
int sim_engine_step(struct sim_engine *e);
/* Fire every event due at or before `until` (events scheduled meanwhile
 * included), then set the clock to `until` (if later than now). Returns
 * early, with the clock at the last event, if sim_engine_stop was called.
 * Returns the number of events fired. */
uint64_t sim_engine_run_until(struct sim_engine *e, uint64_t until);
/* Ask a running sim_engine_run_until to return after the current event. */
void sim_engine_stop(struct sim_engine *e);
/* Deadline of the earliest pending event; SHOAL_E_NOT_FOUND if none. */
int sim_engine_peek(const struct sim_engine *e, uint64_t *at);
size_t sim_engine_pending(const struct sim_engine *e);
uint64_t sim_engine_fired(const struct sim_engine *e);
uint64_t sim_engine_late(const struct sim_engine *e);
/* Bytes the engine holds (its heap array), for reports. */
size_t sim_engine_bytes(const struct sim_engine *e);
/* Running hash of every fired event's deadline plus whatever owners mixed
 * in (the net mixes each delivery, the cluster each swim event). Two runs
 * with equal traces did the same thing at the same virtual times. */
uint64_t sim_engine_trace(const struct sim_engine *e);
void sim_engine_trace_mix(struct sim_engine *e, uint64_t v);

/* ---- latency ------------------------------------------------------------ */

enum sim_latency_kind {
	SIM_LAT_CONST = 0,     /* always a_us */
	SIM_LAT_UNIFORM = 1,   /* uniform integer in [a_us, b_us] */
	SIM_LAT_LOGNORMAL = 2, /* a_us * exp(sigma * N(0,1)): median a_us,
				* mean a_us * exp(sigma^2 / 2); capped at b_us if b_us > 0 */
};

/* One-way latency model of a link. */
struct sim_latency {
	enum sim_latency_kind kind; /* distribution */
	uint64_t a_us;              /* CONST value, UNIFORM low, LOGNORMAL median */
	uint64_t b_us;              /* UNIFORM high, LOGNORMAL cap (0 = none) */
	double sigma;               /* LOGNORMAL shape */
};

/* Draw one latency in microseconds. */
uint64_t sim_latency_sample(const struct sim_latency *l, struct sim_rng *r);

/* ---- network ------------------------------------------------------------ */

#define SIM_NET_PORT 7946

/* Counted by the network per node, independently of the protocol's stats. */
struct sim_net_counters {
	uint64_t dgrams_sent;      /* datagrams handed to the net by this node */
	uint64_t dgram_bytes_sent; /* their bytes */
	uint64_t dgrams_recv;      /* datagrams delivered to this node */
	uint64_t dgram_bytes_recv; /* their bytes */
	uint64_t stream_msgs_sent; /* stream messages accepted from this node */
	uint64_t stream_bytes_sent;
	uint64_t stream_msgs_recv; /* stream messages delivered to this node */
	uint64_t stream_bytes_recv;
	uint64_t dropped_loss;    /* sent by this node, lost by iid loss */
	uint64_t dropped_blocked; /* sent by this node, lost to a partition or cut */
	uint64_t dropped_down;    /* sent by or to this node while a side was down */
	uint64_t stream_errors;   /* stream errors reported to this node */
};

struct sim_net_config {
	struct sim_latency latency; /* every link's default one-way latency */
	double loss;                /* global iid datagram loss in [0, 1] */
	uint64_t stream_fail_us;    /* a broken stream reports its error this
				     * long after the break (TCP timeout or RST) */
	uint64_t seed;              /* run seed; the net draws from its own stream */
};

/* Where the net hands packets; the cluster implements these. `conv` is the
 * receiver's id for the conversation: the opener's own id, or an inbound id
 * (SHOAL_CONV_INBOUND set) the net chose for the acceptor. */
struct sim_net_ops {
	void (*datagram)(void *ctx, uint32_t to, uint32_t from, const uint8_t *buf, size_t len);
	void (*stream)(void *ctx, uint32_t to, uint64_t conv, uint32_t from, const uint8_t *buf,
	               size_t len);
	void (*stream_error)(void *ctx, uint32_t node, uint64_t conv);
};

/* Called for every datagram (stream = false) and stream message at send
 * time, before loss or blocking is decided. Must not send. */
typedef void (*sim_net_tap_fn)(void *ctx, uint32_t from, uint32_t to, bool stream,
                               const uint8_t *buf, size_t len);

struct sim_net;

/* A net of `nodes` nodes, all up, one group, no loss beyond cfg->loss.
 * Errors: -EINVAL (nodes 0 or > 2^24, loss outside [0,1]), -ENOMEM. */
int sim_net_new(struct sim_net **out, struct sim_engine *e, uint32_t nodes,
                const struct sim_net_config *cfg, const struct sim_net_ops *ops, void *ctx);
/* Frees packets in flight and stream state; no callback runs. */
void sim_net_delete(struct sim_net *n);
uint32_t sim_net_size(const struct sim_net *n);

/* Node i is 10.(i>>16).(i>>8).(i):7946. */
void sim_net_addr(uint32_t node, struct shoal_addr *out);
/* The node behind an address; SHOAL_E_NOT_FOUND if none. */
int sim_net_node_of(const struct sim_net *n, const struct shoal_addr *a, uint32_t *node);

/* Send a datagram from `from`. Best effort; returns 0 even if it is lost,
 * -ENOMEM or SHOAL_E_TOO_BIG (engine full) if it could not be queued. */
int sim_net_send_datagram(struct sim_net *n, uint32_t from, const struct shoal_addr *to,
                          const uint8_t *buf, size_t len);
/* Send on conversation `conv` of node `from`. An id without
 * SHOAL_CONV_INBOUND that `from` has not used opens a stream to `to`; an
 * inbound id answers on the accepted stream (`to` is ignored). Messages
 * arrive in order, after the link latency, never lost; if the link is
 * partitioned, cut, or the peer down (at send or at arrival), the stream
 * breaks and each side whose core knows the conversation gets stream_error
 * after stream_fail_us. Returns 0; -EPIPE if this conversation already
 * broke or this side already closed it; -ENOTCONN for an unknown inbound
 * id; -ENOMEM. */
int sim_net_stream_send(struct sim_net *n, uint32_t from, uint64_t conv,
                        const struct shoal_addr *to, const uint8_t *buf, size_t len);
/* Node `node` is done with `conv`; later messages to it are dropped.
 * Unknown ids are ignored. */
void sim_net_stream_close(struct sim_net *n, uint32_t node, uint64_t conv);
/* Conversations still tracked (open on some side, or with messages or an
 * error in flight). */
size_t sim_net_streams(const struct sim_net *n);

/* A down node sends and receives nothing; taking it down breaks its streams
 * (peers get stream_error; the node itself gets nothing). */
void sim_net_set_up(struct sim_net *n, uint32_t node, bool up);
bool sim_net_is_up(const struct sim_net *n, uint32_t node);

/* Global iid datagram loss. */
void sim_net_set_loss(struct sim_net *n, double p);
/* Extra iid loss on the one-way link from -> to (combined with the global
 * rate as independent losses). -EINVAL if p outside [0,1]; -ENOMEM. */
int sim_net_set_link_loss(struct sim_net *n, uint32_t from, uint32_t to, double p);
/* Latency by place. Each node has one value per tier (tier 0 innermost,
 * e.g. rack, then region, ...; all 0 at first). A packet draws its one-way
 * latency, per packet, from tier[t] for the smallest t where both ends have
 * the same value, else from `other`. ntiers 0 (the start) uses the
 * config's latency for every pair. Memory is per node, not per link, so
 * any cluster size works. -EINVAL for more than SIM_NET_TIERS_MAX tiers,
 * a missing array, or a bad node. */
#define SIM_NET_TIERS_MAX 4
int sim_net_set_tiers(struct sim_net *n, uint32_t ntiers, const struct sim_latency *tier,
                      const struct sim_latency *other);
int sim_net_set_place(struct sim_net *n, uint32_t node, uint32_t tier, uint16_t value);
/* One-way latency of from -> to, overriding the tiers (a sparse per-link
 * table: for a handful of links); NULL restores the default. */
int sim_net_set_link_latency(struct sim_net *n, uint32_t from, uint32_t to,
                             const struct sim_latency *lat);
/* Cut (or restore) the one-way link from -> to: datagrams dropped, streams
 * broken. Independent of partitions. */
int sim_net_cut(struct sim_net *n, uint32_t from, uint32_t to, bool cut);
/* Partitions: nodes in different groups cannot reach each other. All start
 * in group 0; heal puts every node back in group 0 (cuts stay). */
void sim_net_set_group(struct sim_net *n, uint32_t node, uint16_t group);
uint16_t sim_net_group(const struct sim_net *n, uint32_t node);
void sim_net_heal(struct sim_net *n);
/* Could a packet sent now from -> to arrive (ignoring iid loss)? */
bool sim_net_reachable(const struct sim_net *n, uint32_t from, uint32_t to);
/* Until virtual time `until`, every packet arriving at `node` is handled
 * extra_us late (a CPU-starved or paused receiver). extra_us 0 clears it. */
void sim_net_slow(struct sim_net *n, uint32_t node, uint64_t extra_us, uint64_t until);

const struct sim_net_counters *sim_net_counters(const struct sim_net *n, uint32_t node);
/* Sum over all nodes. */
void sim_net_totals(const struct sim_net *n, struct sim_net_counters *out);
void sim_net_set_tap(struct sim_net *n, sim_net_tap_fn fn, void *ctx);
/* Bytes of net state per node (counters, group, slow, up), for reports. */
size_t sim_net_node_bytes(void);

/* ---- memoized signature checks ---------------------------------------- */

/* A bounded cache of Ed25519 verification results keyed by BLAKE2b-128 of
 * (sig, pk, msg): thousands of simulated nodes checking the same record pay
 * for one verification. Set-associative; old entries are evicted, so memory
 * stays at `slots` * 24 bytes. */
struct sim_verify_cache;
/* slots is rounded up to a power of two, at least 64. -ENOMEM. */
int sim_verify_cache_new(struct sim_verify_cache **out, size_t slots);
void sim_verify_cache_delete(struct sim_verify_cache *vc);
/* 0 if valid, SHOAL_E_SIGNATURE if not (the env->verify contract). */
int sim_verify_cache_check(struct sim_verify_cache *vc, const uint8_t sig[64], const uint8_t *msg,
                           size_t len, const uint8_t pk[32]);
void sim_verify_cache_stats(const struct sim_verify_cache *vc, uint64_t *hits, uint64_t *misses);
size_t sim_verify_cache_bytes(const struct sim_verify_cache *vc);

/* ---- cluster ------------------------------------------------------------ */

#define SIM_NAME_BUF      (SWIM_NAME_MAX + 1)
#define SIM_LOG_ALL       UINT32_MAX
#define SIM_LOG_BIT(type) (UINT32_C(1) << (type))

struct sim_cluster_config {
	uint32_t nodes;          /* nodes created (not yet started) */
	uint32_t capacity;       /* slots for later sim_cluster_add_node; >= nodes */
	uint64_t seed;           /* run seed */
	struct swim_config swim; /* template: timers and switches. name, advertise,
				  * keys, incarnation and on_event are set per node;
				  * labels and version are used as given */
	struct sim_net_config net;
	uint32_t log_mask;    /* SIM_LOG_BIT(type) of swim events to log per node */
	uint32_t log_cap;     /* log entries kept per node; later ones only counted */
	size_t verify_slots;  /* verify cache size; 0 = 4 * capacity, >= 4096 */
	size_t max_events;    /* engine cap; 0 = default */
	uint64_t poll_us;     /* run_until checks its predicate this often */
	uint64_t join_gap_us; /* converge: spacing between joins to the hub, so
			       * its bounded push-pull slots are not flooded */
};

/* Defaults: LAN swim timers (swim_config_defaults + swim_config_scale(1)),
 * uniform 0.5-2 ms latency, no loss, streams fail after 1 s, log everything,
 * 4096 log entries per node, predicate polled every 10 ms, joins to the hub
 * 1 ms apart. */
void sim_cluster_config_defaults(struct sim_cluster_config *cfg, uint32_t nodes, uint64_t seed);

/* One logged swim event as node `observer` saw it. */
struct sim_log_entry {
	uint64_t at;          /* virtual time */
	uint32_t member;      /* node index the event names (first node with that
			       * name), SIM_NO_NODE for a name no node has */
	uint32_t incarnation; /* from the event */
	uint8_t type;         /* enum swim_event_type */
	uint8_t via_probe;    /* SUSPECT/DEAD: from the observer's own probe */
	uint8_t pad[6];
};

enum sim_node_state {
	SIM_NODE_IDLE = 0,    /* created, never started */
	SIM_NODE_UP = 1,      /* running */
	SIM_NODE_LEAVING = 2, /* left; lingering so the leave spreads */
	SIM_NODE_DOWN = 3,    /* crashed, or stopped after leaving */
};

/* Called for every swim event of every node, after it is logged. Must not
 * call into any swim. */
typedef void (*sim_observer_fn)(void *ctx, uint32_t node, uint64_t now,
                                const struct swim_event *ev);

struct sim_cluster_stats {
	uint64_t timer_fires;     /* node timer events that were current */
	uint64_t stale_timers;    /* timer events superseded by an earlier deadline */
	uint64_t ticks;           /* swim_tick calls */
	uint64_t stuck_deadlines; /* a tick left swim_next_deadline <= now (core bug) */
	uint64_t log_overflow;    /* events not logged because a log was full */
	uint64_t verify_hits, verify_misses;
	uint64_t swim_errors; /* non-zero returns from swim calls the harness made,
			       * and timer events the engine could not queue */
};

struct sim_cluster;

/* Errors: -EINVAL (bad config), -ENOMEM, swim_pool_new's errors. */
int sim_cluster_new(struct sim_cluster **out, const struct sim_cluster_config *cfg);
void sim_cluster_delete(struct sim_cluster *c);

struct sim_engine *sim_cluster_engine(struct sim_cluster *c);
struct sim_net *sim_cluster_net(struct sim_cluster *c);
struct swim_pool *sim_cluster_pool(struct sim_cluster *c);
uint64_t sim_cluster_now(const struct sim_cluster *c);
uint64_t sim_cluster_seed(const struct sim_cluster *c);
uint32_t sim_cluster_size(const struct sim_cluster *c);
/* Nodes currently up (LEAVING counts as up). */
uint32_t sim_cluster_up_count(const struct sim_cluster *c);
/* The cluster's shared starting keyring (one random key from the seed). */
const struct shoal_keyring *sim_cluster_keyring(const struct sim_cluster *c);

/* Add an idle node slot; SHOAL_E_TOO_BIG past capacity. */
int sim_cluster_add_node(struct sim_cluster *c, uint32_t *index);
/* Before a node's first start: a custom name (default "n%04u" of index+1),
 * key id (default index: same id, same keypair), or keyring (default the
 * cluster's). SHOAL_E_STATE once started; -EINVAL for a bad name. */
int sim_cluster_set_name(struct sim_cluster *c, uint32_t i, const char *name);
int sim_cluster_set_key_id(struct sim_cluster *c, uint32_t i, uint64_t key_id);
int sim_cluster_set_keyring(struct sim_cluster *c, uint32_t i, const struct shoal_keyring *kr);
/* Before a node's first start: the labels its member record carries in
 * every life, instead of the template's (a leaf's role, shoal/leaf.h).
 * Borrowed: `labels` must outlive the cluster. SHOAL_E_STATE once started;
 * -EINVAL for a bad node; -ENOMEM. */
int sim_cluster_set_start_labels(struct sim_cluster *c, uint32_t i,
                                 const struct shoal_label *labels, size_t n);
/* The node's name; valid until sim_cluster_delete. */
const char *sim_cluster_name(const struct sim_cluster *c, uint32_t i);
/* Its site public key (from its key id). */
void sim_cluster_pubkey(const struct sim_cluster *c, uint32_t i, uint8_t pk[32]);
/* Its whole site key pair: the secret half signs what the site itself
 * signs beside its member record (its health record). Wipe sk after use. */
void sim_cluster_keypair(const struct sim_cluster *c, uint32_t i, uint8_t pk[32], uint8_t sk[64]);
/* The node with this name (first match); SIM_NO_NODE if none. */
uint32_t sim_cluster_find(const struct sim_cluster *c, const char *name);

/* Start an idle or down node now: a new swim (incarnation: persisted + 1
 * after a crash or leave, else the template's), then join `seeds`. */
int sim_cluster_start(struct sim_cluster *c, uint32_t i, const uint32_t *seeds, size_t nseeds);
/* Cold start: node 0 now with no seed; every other idle node at a random
 * time in [now, now + spread_us) joining node 0. */
int sim_cluster_boot(struct sim_cluster *c, uint64_t spread_us);
/* Converged start through real joins (what `start: cold` measures, but
 * paced): start every idle node, one per join_gap_us, each
 * joining the hub (the first up node, else node 0); run until the hub knows
 * every up node; have each node that does not yet know everyone push-pull
 * with the hub again (same spacing); run until converged. `took` gets the
 * virtual time spent. -ETIMEDOUT after timeout_us. */
int sim_cluster_converge(struct sim_cluster *c, uint64_t timeout_us, uint64_t *took);
/* Pre-converged start without a join: start every idle node (no seeds),
 * then install the full membership in each through swim_adopt (the hub
 * adopts every node, every node adopts the hub), all at the current virtual
 * time. Each node ends as a settled join leaves it: everyone alive at
 * their incarnation, no suspicion, empty broadcast queue, probe order
 * shuffled by its own PRNG, push-pull phase spread over the interval. */
int sim_cluster_preconverge(struct sim_cluster *c);

/* Crash: the node stops processing and sending at once; its swim is freed;
 * its incarnation, key, keyring and name survive ("disk"). */
int sim_cluster_kill(struct sim_cluster *c, uint32_t i);
/* Crash then start again joining `seeds` (NULL: the first other up node). */
int sim_cluster_restart(struct sim_cluster *c, uint32_t i, const uint32_t *seeds, size_t nseeds);
/* Graceful leave: swim_leave now, keep running for swim_leave_linger_us,
 * then stop (state DOWN). */
int sim_cluster_leave(struct sim_cluster *c, uint32_t i);
enum sim_node_state sim_cluster_state(const struct sim_cluster *c, uint32_t i);
/* The node's swim, NULL unless up. Any call a test makes into it directly
 * must be followed by sim_cluster_rearm. */
struct swim *sim_cluster_swim(struct sim_cluster *c, uint32_t i);
void sim_cluster_rearm(struct sim_cluster *c, uint32_t i);
/* swim_join / swim_set_labels / swim_keyring_op on node i at now, then rearm. */
int sim_cluster_join(struct sim_cluster *c, uint32_t i, const uint32_t *seeds, size_t nseeds);
int sim_cluster_set_labels(struct sim_cluster *c, uint32_t i, const struct shoal_label *labels,
                           size_t n);
int sim_cluster_keyring_op(struct sim_cluster *c, uint32_t i, enum swim_key_op op,
                           const uint8_t key[32]);
/* The incarnation the node last persisted (SWIM_EV_INCARNATION). */
uint32_t sim_cluster_persisted_incarnation(const struct sim_cluster *c, uint32_t i);

/* Run the simulation for `us` virtual microseconds. */
void sim_cluster_run_for(struct sim_cluster *c, uint64_t us);
typedef bool (*sim_pred_fn)(struct sim_cluster *c, void *ctx);
/* Run until pred holds (checked now, then every poll_us) or timeout_us
 * passes. 0 with *took = virtual time until it held, else -ETIMEDOUT (and
 * *took = timeout_us). took may be NULL. */
int sim_cluster_run_until(struct sim_cluster *c, sim_pred_fn pred, void *ctx, uint64_t timeout_us,
                          uint64_t *took);

/* Every up node knows exactly the up nodes, all alive. O(up nodes). */
bool sim_cluster_converged(const struct sim_cluster *c);
/* Node `observer`'s view of `member` (by name); SHOAL_E_NOT_FOUND if it has
 * no record, SHOAL_E_STATE if the observer is not up. */
int sim_cluster_view(const struct sim_cluster *c, uint32_t observer, uint32_t member,
                     struct swim_member_info *out);
/* Every up node other than `member` holds `member` in `state`. */
bool sim_cluster_all_see(const struct sim_cluster *c, uint32_t member, enum swim_state state);

/* Node i's event log (oldest first); valid until the next event. */
const struct sim_log_entry *sim_cluster_log(const struct sim_cluster *c, uint32_t i, size_t *n);
/* Earliest logged event of `type` about `member` at `observer` at or after
 * `since`; SHOAL_E_NOT_FOUND if none. */
int sim_cluster_first_event(const struct sim_cluster *c, uint32_t observer, uint32_t member,
                            enum swim_event_type type, uint64_t since, uint64_t *at);
/* Logged events of `type` about `member` (SIM_NO_NODE: any) over all nodes. */
uint64_t sim_cluster_count_events(const struct sim_cluster *c, enum swim_event_type type,
                                  uint32_t member);
void sim_cluster_set_observer(struct sim_cluster *c, sim_observer_fn fn, void *ctx);

/* Called with up = true right after node `node`'s swim is created (before it
 * joins), and with up = false right before it is deleted (crash, stop after
 * a leave, cluster delete): where a test attaches a service layered on the
 * swim (replica.h) and detaches it. `env` is the node's, valid while the
 * node is up. Must not start or stop nodes. */
typedef void (*sim_lifecycle_fn)(void *ctx, uint32_t node, uint64_t now, struct swim *s,
                                 const struct shoal_env *env, bool up);
void sim_cluster_set_lifecycle(struct sim_cluster *c, sim_lifecycle_fn fn, void *ctx);

void sim_cluster_stats(const struct sim_cluster *c, struct sim_cluster_stats *out);
/* The engine's trace hash (see sim_engine_trace). */
uint64_t sim_cluster_trace(const struct sim_cluster *c);
/* Harness bytes per node slot (node record, env, rngs, keyring, net state;
 * not the log, which grows with events), for reports. */
size_t sim_cluster_node_bytes(void);
/* Bytes the harness holds now: node slots, logs, verify cache, engine heap. */
size_t sim_cluster_bytes(const struct sim_cluster *c);

/* ---- reports ------------------------------------------------------------ */

/* Bytes currently allocated on the heap (ASan's allocator when built with
 * it, else glibc's mallinfo2), for attributing memory to a phase. */
size_t sim_heap_bytes(void);
/* Peak resident set size in bytes (VmHWM of /proc/self/status), 0 if unknown. */
size_t sim_peak_rss(void);
/* Wall-clock seconds from a monotonic clock, for real-time factors. */
double sim_wall_seconds(void);

#endif
