/*
 * swim.h - SWIM membership with the Lifeguard refinements, as a sans-IO
 * state machine.
 *
 * A `struct swim` is one site's view of the mesh. The driver feeds it time,
 * datagrams and stream messages; it answers through the env (send datagram,
 * send on a stream) and tells the driver when it next needs to run
 * (swim_next_deadline). Nothing here blocks, reads a clock or allocates from
 * a declared wire length. The same code runs in shoald (libuv) and shoalsim
 * (discrete events), so the simulator shows what the product does.
 *
 * Protocol (docs/protocol.md has the wire format and timers):
 *   - probe members in randomized round-robin order: ping, then after the
 *     probe timeout ping-req through k others; no ack by the end of the
 *     period -> suspect;
 *   - suspicion is refuted by the member's own signed alive with a higher
 *     incarnation, else it becomes dead when the suspicion timer fires;
 *   - Lifeguard: local health multiplier scales probe interval and timeout
 *     (nacks from ping-req helpers tell "my network is bad" apart from
 *     "target is dead"); suspicion timeout starts at max and shrinks toward
 *     min with independent confirmations; buddy system (a suspect is told
 *     directly in the ping). Each part can be switched off.
 *   - dissemination piggybacks updates on pings/acks and on gossip packets
 *     to a few random members, each retransmitted mult*ceil(log10(N+1))
 *     times, refutations first;
 *   - push-pull anti-entropy over a stream: bucket digests first, then only
 *     the members of the buckets that differ;
 *   - reaped members leave a tombstone (incarnation, state, address) for
 *     reconnect_timeout: an old ALIVE at or below it puts the member back
 *     as dead instead of alive, and every reconnect_interval one push-pull
 *     goes to a reaped dead member or a seed (Serf's throttle), so
 *     partitions longer than dead_keep heal.
 *
 * Identity: each site has an Ed25519 keypair. Its alive and leave messages are
 * signed by it; a name already bound to another key is refused and reported.
 *
 * Memory: members are identified by a dense name id from the pool; a node's
 * table is an array indexed by that id (16 bytes per member, 20 with the
 * probe order; 10,000 simulated nodes started converged measure 22.8 bytes
 * per member entry all told). The signed alive records
 * themselves are immutable, refcounted and interned in the pool, so the
 * simulator can share one pool across thousands of nodes and every
 * identical record is stored (and verified) once per process.
 *
 * Thread-safety: none. One swim and its pool belong to one thread.
 */
#ifndef SHOAL_SWIM_H
#define SHOAL_SWIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shoal/env.h"
#include "shoal/labels.h"
#include "shoal/seal.h"

#define SWIM_NAME_MAX    64   /* bytes; [A-Za-z0-9._-], starting alnum */
#define SWIM_LABELS_MAX  512  /* encoded labels of one member, in bytes */
#define SWIM_VERSION_MAX 32   /* node software version string */
#define SWIM_UDP_MAX     1400 /* sealed datagram, bytes */

enum swim_state {
	SWIM_ALIVE = 0,
	SWIM_SUSPECT = 1,
	SWIM_DEAD = 2,
	SWIM_LEFT = 3,
};

const char *swim_state_name(enum swim_state s); /* "alive", ... */

/* Interned signed member records, shareable between swim instances on one
 * thread (the simulator shares one across all its nodes). */
struct swim_pool;
int swim_pool_new(struct swim_pool **out);
/* All swims using the pool must be deleted first. */
void swim_pool_delete(struct swim_pool *pool);
/* Bytes held by the pool (records, names, index), for reports. */
size_t swim_pool_bytes(const struct swim_pool *pool);

enum swim_event_type {
	SWIM_EV_ALIVE,         /* a member joined, or came back from suspect/dead */
	SWIM_EV_UPDATE,        /* an alive member's address or labels changed */
	SWIM_EV_SUSPECT,       /* a member became suspect */
	SWIM_EV_DEAD,          /* a member was declared dead */
	SWIM_EV_LEFT,          /* a member left gracefully */
	SWIM_EV_REAPED,        /* a dead/left member was forgotten */
	SWIM_EV_REFUTED,       /* we refuted a suspicion about ourselves */
	SWIM_EV_INCARNATION,   /* our own incarnation changed: persist it */
	SWIM_EV_NAME_CONFLICT, /* a record claimed a name bound to another key */
	SWIM_EV_KEYRING,       /* the keyring changed (by us or by a peer's op) */
};

enum swim_key_op {
	SWIM_KEY_INSTALL = 1,
	SWIM_KEY_USE = 2,
	SWIM_KEY_REMOVE = 3,
};

struct swim_event {
	enum swim_event_type type;
	const char *name; /* member concerned (NUL-terminated) */
	uint32_t incarnation;
	const char *from;              /* SUSPECT/DEAD: who accused, may be NULL */
	bool via_probe;                /* SUSPECT/DEAD: from our own probe, not gossip */
	const struct shoal_addr *addr; /* ALIVE/UPDATE/NAME_CONFLICT */
	enum swim_key_op key_op;       /* KEYRING */
	const uint8_t *key;            /* KEYRING: the 32-byte key concerned */
};
/* Pointers in an event are valid only during the callback. */
typedef void (*swim_event_cb)(void *ctx, const struct swim_event *ev);

struct swim_config {
	const char *name;            /* this site's name */
	struct shoal_addr advertise; /* where peers reach us */
	const struct shoal_label *labels;
	size_t nlabels;
	const char *version;  /* software version, <= SWIM_VERSION_MAX */
	uint8_t site_pk[32];  /* Ed25519 public key */
	uint8_t site_sk[64];  /* Ed25519 secret key; copied, wiped on delete */
	uint32_t incarnation; /* start at this (persisted + 1 on restart) */

	uint64_t probe_interval_us;     /* base protocol period */
	uint64_t probe_timeout_us;      /* direct ack wait before ping-req */
	uint32_t indirect_checks;       /* k members asked to ping-req */
	uint64_t gossip_interval_us;    /* piggyback-only gossip period; 0 = off */
	uint32_t gossip_nodes;          /* members per gossip round */
	uint32_t suspicion_mult;        /* min = mult*max(1,log10 N)*probe_interval */
	uint32_t suspicion_max_mult;    /* max = max_mult*min */
	uint32_t suspicion_confirm;     /* k distinct confirmations to shrink max to min */
	uint32_t retransmit_mult;       /* limit = mult*ceil(log10(N+1)) */
	uint64_t pushpull_interval_us;  /* anti-entropy; scaled up past 32 members; 0 = off */
	uint64_t dead_keep_us;          /* dead/left members kept (and gossiped) this long */
	uint64_t reconnect_interval_us; /* push-pull with a reaped dead member or a seed; 0 = off */
	uint64_t reconnect_timeout_us;  /* reaped members remembered this long (tombstones) */
	uint32_t awareness_max;         /* Lifeguard local health multiplier cap */
	bool lifeguard_lhm;             /* local health multiplier + nacks */
	bool lifeguard_suspicion;       /* dynamic suspicion timeout; off = fixed min */
	bool lifeguard_buddy;           /* tell a suspect directly in our ping */
	size_t udp_max;                 /* sealed datagram cap, <= SWIM_UDP_MAX */

	swim_event_cb on_event; /* may be NULL */
	void *event_ctx;

	/* Optional: does the member whose record carries these labels (a
	 * msgpack map) take no bulk user messages? A "quiet" member (a leaf
	 * site, docs/health.md "Leaf mode") is still probed and gossiped to,
	 * but datagrams addressed to it carry no message queued with
	 * swim_user_broadcast_bulk. Asked once per member record applied and
	 * kept as a flag of the member; NULL = nobody is quiet. */
	bool (*is_quiet)(void *ctx, const uint8_t *labels, size_t len);
	void *quiet_ctx;
};

/* memberlist's LAN profile with failure detection tuned for loss: probe
 * every 500 ms, 250 ms ack timeout, 5 helpers; suspicion 2 / 10 / k=3;
 * gossip 200 ms x3; retransmit 4; push-pull 30 s; dead kept 60 s;
 * Lifeguard on; Serf's reconnect: every 30 s, reaped members remembered
 * 24 h (docs/protocol.md, "Timers and defaults"). */
void swim_config_defaults(struct swim_config *cfg);
/* The LAN profile with every timer divided by `divisor` (tests use 10). */
void swim_config_scale(struct swim_config *cfg, uint32_t divisor);

struct swim;

/* Create a swim. `env`, `kr` and `pool` are borrowed and must outlive it;
 * the keyring may be changed by swim_keyring_op and by peers' key ops.
 * Errors: -EINVAL for a bad config (bad name, labels too big), -ENOMEM. */
int swim_new(struct swim **out, const struct swim_config *cfg, const struct shoal_env *env,
             struct shoal_keyring *kr, struct swim_pool *pool, uint64_t now);
void swim_delete(struct swim *s);

/* Start push-pull with each seed address (over streams). While no other live
 * member is known, the seeds are tried again every 5 probe intervals; after
 * that they stay reconnect candidates. */
int swim_join(struct swim *s, uint64_t now, const struct shoal_addr *seeds, size_t n);

/* Adopt the live membership of `peer`, another swim on the same pool:
 * every member it holds alive (itself included) becomes alive here at the
 * peer's incarnation, as a settled join would leave it - no exchange, no
 * suspicion, nothing queued for gossip (the mesh already knows), each new
 * member at a random place in our probe order (our own PRNG), and our
 * periodic push-pull re-phased over the interval for the new size. The
 * records are shared, already verified, from the pool; events (ALIVE, or
 * NAME_CONFLICT) are emitted as for gossiped news. For processes that host
 * many swims on one pool, e.g. the simulator's converged start: adopting
 * every node into one hub, then the hub into every node, builds a mesh of
 * N in O(N^2) member inserts. -EINVAL if peer is s or on another pool,
 * SHOAL_E_STATE after swim_leave, -ENOMEM (members adopted so far stay). */
int swim_adopt(struct swim *s, uint64_t now, const struct swim *peer);

/* Broadcast a signed leave; the driver should keep running it for about
 * swim_leave_linger_us() before exiting so the leave spreads. */
int swim_leave(struct swim *s, uint64_t now);
uint64_t swim_leave_linger_us(const struct swim *s);

/* Change our labels; bumps our incarnation and gossips the new record. */
int swim_set_labels(struct swim *s, uint64_t now, const struct shoal_label *labels, size_t n);

/* Input. Bad input is dropped and counted in stats, never fatal. */
void swim_on_datagram(struct swim *s, uint64_t now, const struct shoal_addr *from,
                      const uint8_t *buf, size_t len);
void swim_on_stream(struct swim *s, uint64_t now, uint64_t conv, const struct shoal_addr *from,
                    const uint8_t *buf, size_t len);
/* The driver lost or could not open `conv`. */
void swim_on_stream_error(struct swim *s, uint64_t now, uint64_t conv);

/* Run every timer due at `now`. */
void swim_tick(struct swim *s, uint64_t now);
/* The earliest time swim_tick has work to do. */
uint64_t swim_next_deadline(const struct swim *s);

/* Fleet-wide keyring change: apply locally, then disseminate to every member
 * (sealed under the current keys). Peers apply it and persist through their
 * SWIM_EV_KEYRING event. */
int swim_keyring_op(struct swim *s, uint64_t now, enum swim_key_op op, const uint8_t key[32]);

/* A snapshot of one member; pointers stay valid until the next call into s. */
struct swim_member_info {
	const char *name;
	struct shoal_addr addr;
	enum swim_state state;
	uint32_t incarnation;
	uint64_t since;        /* `now` when it entered this state */
	const uint8_t *labels; /* msgpack map {str: str}, labels_len bytes */
	size_t labels_len;
	const char *version;
	const uint8_t *pubkey; /* 32 bytes */
	bool is_self;
	uint32_t confirmations;    /* SUSPECT: independent confirmations */
	uint64_t suspect_deadline; /* SUSPECT: when it becomes dead */
};

/* Members this node knows (any state), self included. Iterate with an opaque
 * cursor: start at 0, stop when it returns SHOAL_E_NOT_FOUND. */
int swim_member_next(const struct swim *s, uint32_t *cursor, struct swim_member_info *out);
int swim_member_find(const struct swim *s, const char *name, struct swim_member_info *out);
/* Counts by state (self counted as alive). */
void swim_member_counts(const struct swim *s, uint32_t counts[4]);

uint32_t swim_incarnation(const struct swim *s);
/* Lifeguard local health multiplier: 0 = healthy ... awareness_max-1. */
uint32_t swim_awareness(const struct swim *s);

/* Links as this member's own probes saw them over the last `window_us`
 * (at most the probes it remembers, about two minutes' worth at the LAN
 * rate: window_s says what was covered). A site's health record carries
 * it (docs/health.md, "links"). */
struct swim_links {
	uint32_t window_s;   /* seconds the figures cover */
	uint32_t known;      /* other members known, not left */
	uint32_t probed;     /* distinct members probed */
	uint32_t reached;    /* of those, members that answered at least once */
	uint32_t rtt_p50_us; /* over every answered probe; 0 with none */
	uint32_t rtt_p99_us;
	uint32_t loss_pm; /* probes unanswered, per mille */
};
void swim_links(const struct swim *s, uint64_t now, uint64_t window_us, struct swim_links *out);

struct swim_stats {
	uint64_t probes;            /* direct pings sent by our prober */
	uint64_t acks;              /* acks received for our probes */
	uint64_t nacks;             /* nacks received */
	uint64_t indirect_probes;   /* ping-req rounds started */
	uint64_t suspicions;        /* members we marked suspect */
	uint64_t refutations;       /* suspicions about us we refuted */
	uint64_t deaths;            /* members we marked dead */
	uint64_t leaves;            /* members we marked left */
	uint64_t msgs_in, msgs_out; /* protocol messages (compound counted each) */
	uint64_t datagrams_in, datagrams_out;
	uint64_t dgram_bytes_in, dgram_bytes_out; /* sealed bytes */
	uint64_t stream_msgs_in, stream_msgs_out;
	uint64_t stream_bytes_in, stream_bytes_out;
	uint64_t pushpulls;          /* completed push-pull exchanges we started */
	uint64_t decode_failures;    /* malformed after opening */
	uint64_t auth_failures;      /* no key opened it / bad version */
	uint64_t signature_failures; /* alive/leave with a bad signature */
	uint64_t name_conflicts;
	uint64_t stale;             /* well-formed but older than what we hold */
	uint64_t pushpull_failures; /* exchanges we started that failed or stalled */
	uint64_t keyops_ignored;    /* peer key ops we could not apply (unknown key, primary) */
	uint64_t reconnects;        /* push-pulls started with a reaped member or a seed */
	uint64_t reinstated;        /* old records of reaped members put back as dead/left */
};
const struct swim_stats *swim_stats(const struct swim *s);

/* ---- user messages and streams ----------------------------------------
 *
 * A service layered on SWIM (replica.h) rides its dissemination: short
 * user messages are piggybacked on the same datagrams as membership news,
 * always after it, with their own transmit limit; and stream messages whose
 * type lies in [SWIM_USER_STREAM_MIN, SWIM_USER_STREAM_MAX] are sealed,
 * opened and routed to the service instead of push-pull. One service per
 * swim. The hooks run inside swim calls: they may queue user messages and
 * send on streams, but must not delete the swim.
 */
#define SWIM_USER_MSG_MAX    512  /* one user message payload, bytes */
#define SWIM_USER_QUEUE_MAX  1024 /* queued user messages; the worst placed go first */
#define SWIM_USER_STREAM_MIN 30   /* stream message types routed to the hooks */
#define SWIM_USER_STREAM_MAX 39

struct swim_user_hooks {
	void *ctx; /* handed back to every hook */
	/* A user message arrived in a datagram from `from` (its sender's
	 * address). The payload is valid only during the call. */
	void (*on_message)(void *ctx, uint64_t now, const struct shoal_addr *from,
	                   const uint8_t *msg, size_t len);
	/* A stream message of a user type, already opened. */
	void (*on_stream)(void *ctx, uint64_t now, uint64_t conv, const struct shoal_addr *from,
	                  const uint8_t *plain, size_t len);
	/* The driver lost a conversation push-pull does not own. */
	void (*on_stream_error)(void *ctx, uint64_t now, uint64_t conv);
	/* Run from swim_tick; its deadline is folded into swim_next_deadline. */
	void (*tick)(void *ctx, uint64_t now);
	/* A join exchange with `peer` (a seed) completed: this node now holds
	 * the peer's member table, and the peer has just answered it. Called
	 * once per seed that answers. May be NULL. */
	void (*on_joined)(void *ctx, uint64_t now, const struct shoal_addr *peer);
	uint64_t (*next_deadline)(void *ctx);
	/* Each user message is sent mult * ceil(log10(N + 1)) times; 0 means
	 * the membership retransmit_mult. */
	uint32_t retransmit_mult;
	/* The same for bulk messages; 0 means retransmit_mult's. */
	uint32_t bulk_retransmit_mult;
};

/* Install (hooks != NULL, copied) or remove (NULL) the service. Removing
 * drops the queued user messages. SHOAL_E_STATE if one is installed. */
int swim_set_user(struct swim *s, const struct swim_user_hooks *hooks);
/* Queue a user message for dissemination. A queued message with the same
 * nonzero `supersede` id is replaced (newer news about the same thing).
 * SHOAL_E_TOO_BIG over SWIM_USER_MSG_MAX; SHOAL_E_STATE without hooks. */
int swim_user_broadcast(struct swim *s, uint64_t supersede, const uint8_t *msg, size_t len);
/* The same for a bulk message: never put in a datagram addressed to a quiet
 * member (swim_config.is_quiet); such a datagram does not count as one of
 * its transmits. */
int swim_user_broadcast_bulk(struct swim *s, uint64_t supersede, const uint8_t *msg, size_t len);
/* User messages queued. */
uint32_t swim_user_queued(const struct swim *s);
/* A fresh conversation id for a stream the service opens. */
uint64_t swim_stream_open(struct swim *s);
/* Seal and send one stream message (plaintext up to 16 MiB); 0 or a
 * negative code (the conversation should then be considered failed). */
int swim_stream_send(struct swim *s, uint64_t conv, const struct shoal_addr *to,
                     const uint8_t *plain, size_t len);
void swim_stream_close(struct swim *s, uint64_t conv);
/* The address of a random alive member other than ourselves and `avoid`
 * (may be NULL); SHOAL_E_NOT_FOUND if there is none. */
int swim_random_member(struct swim *s, const struct shoal_addr *avoid, struct shoal_addr *out);
/* The same, also saying whether that member is quiet (swim_config.is_quiet). */
int swim_random_member_q(struct swim *s, const struct shoal_addr *avoid, struct shoal_addr *out,
                         bool *quiet);
/* Is the member of this name known and quiet? */
bool swim_member_quiet(const struct swim *s, const char *name);
/* Members alive or suspect, self included. */
uint32_t swim_live_members(const struct swim *s);

#endif
