/*
 * swim_internal.h - the inside of struct swim and of the record pool, shared
 * by the files of gossip/ that implement swim.h. Not a public contract.
 *
 * Layout in memory, per node (swim) and per process (pool):
 *
 *   pool (one per thread, shared by every swim on it)
 *     names[id]       interned site names: dense uint32 ids, refcounted
 *     recs[rid]       signed ALIVE records, immutable, refcounted, keyed
 *                     by their signature; present = already verified
 *   swim (one per node)
 *     members[id]     16 bytes per name id: record, state, incarnation, since
 *     order[]         4 bytes per member: the randomized probe order
 *     susp            one slot per *suspect* member, plus a deadline heap
 *     bcast           one item per member with news pending, plus a heap
 *                     ordered by (ours first, fewest transmits, newest)
 *
 * Everything a swim holds in the pool is held by reference count (a record
 * id, a name id) and released on every path that drops it.
 */
#ifndef SHOAL_GOSSIP_SWIM_INTERNAL_H
#define SHOAL_GOSSIP_SWIM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shoal/env.h"
#include "shoal/mp.h"
#include "shoal/seal.h"
#include "shoal/swim.h"

#include "swim_proto.h"

#define SWIM_NONE UINT32_MAX

/* ---- pool ------------------------------------------------------------ */

/* One interned name. */
struct swim_pool_name {
	uint32_t refs;               /* 0 = free slot */
	uint32_t next;               /* hash chain (id + 1) or free list (id + 1) */
	uint64_t hash;               /* crypto_shorthash(name), all-zero key */
	uint8_t len;                 /* bytes of str */
	char str[SWIM_NAME_MAX + 1]; /* NUL-terminated */
};

/* One signed ALIVE record: immutable once built, shared by every swim that
 * holds it. The signed bytes follow the struct. */
struct swim_record {
	uint64_t hash;          /* crypto_shorthash(sig), all-zero key: the pool key */
	uint64_t alive_hash;    /* push-pull digest hash of this member alive at
				 * this incarnation: computed once per record,
				 * not once per member per digest */
	uint32_t refs;          /* holders; freed at 0 */
	uint32_t next;          /* hash chain: record id + 1, 0 = end */
	uint32_t name_id;       /* interned name (one reference held) */
	uint32_t incarnation;   /* from the body */
	struct shoal_addr addr; /* from the body */
	uint16_t body_len;      /* bytes of body[] */
	uint16_t labels_off;    /* labels map inside body[] */
	uint16_t labels_len;
	uint16_t pubkey_off;                /* 32-byte key inside body[] */
	char version[SWIM_VERSION_MAX + 1]; /* NUL-terminated copy */
	uint8_t sig[SWIM_SIG_LEN];          /* signature over body[] */
	uint8_t body[];                     /* the signed bytes, as received */
};

struct swim_pool {
	struct swim_pool_name *names; /* indexed by name id */
	uint32_t names_len;           /* ids handed out so far (high-water mark) */
	uint32_t names_alloc;         /* slots allocated */
	uint32_t name_free;           /* free-list head: id + 1, 0 = empty */
	uint32_t names_live;          /* names with refs > 0 */
	uint32_t *name_heads;         /* hash buckets: id + 1, 0 = empty */
	uint32_t name_nheads;         /* power of two */

	struct swim_record **recs; /* indexed by record id; NULL = free */
	uint32_t recs_len;         /* ids handed out so far */
	uint32_t recs_alloc;
	uint32_t *rec_free; /* stack of free record ids */
	uint32_t rec_nfree;
	uint32_t rec_free_alloc;
	uint32_t recs_live;  /* records allocated */
	uint32_t *rec_heads; /* hash buckets: record id + 1 */
	uint32_t rec_nheads; /* power of two */
	size_t rec_bytes;    /* bytes of all live record allocations */
};

/* Names: intern takes a reference; find does not. */
int swim_pool_name_intern(struct swim_pool *p, const uint8_t *s, uint32_t len, uint32_t *id);
uint32_t swim_pool_name_find(const struct swim_pool *p, const uint8_t *s, uint32_t len);
void swim_pool_name_ref(struct swim_pool *p, uint32_t id);
void swim_pool_name_unref(struct swim_pool *p, uint32_t id);
static inline const struct swim_pool_name *swim_pool_name(const struct swim_pool *p, uint32_t id)
{
	return &p->names[id];
}

/* Records. Get (lookup or verify-and-add) returns a new reference in *rid.
 * The body must already have passed swim_proto_decode_alive_body (a).
 * *verified is set when a signature check was needed. Errors:
 * SHOAL_E_SIGNATURE, -ENOMEM, SHOAL_E_TOO_BIG (pool full). */
int swim_pool_record_get(struct swim_pool *p, const struct shoal_env *env, const uint8_t *body,
                         uint32_t body_len, const uint8_t sig[SWIM_SIG_LEN],
                         const struct swim_alive_body *a, uint32_t *rid, bool *verified);
/* Add a record this process signed itself (no verification). */
int swim_pool_record_add_trusted(struct swim_pool *p, const uint8_t *body, uint32_t body_len,
                                 const uint8_t sig[SWIM_SIG_LEN], const struct swim_alive_body *a,
                                 uint32_t *rid);
void swim_pool_record_ref(struct swim_pool *p, uint32_t rid);
void swim_pool_record_unref(struct swim_pool *p, uint32_t rid);
static inline const struct swim_record *swim_pool_record(const struct swim_pool *p, uint32_t rid)
{
	return p->recs[rid];
}
static inline const uint8_t *swim_record_pubkey(const struct swim_record *r)
{
	return r->body + r->pubkey_off;
}

/* ---- name id map (idmap.c) ------------------------------------------- */

/* Open addressing name id -> uint32 (linear probing). */
struct swim_idmap {
	uint32_t *keys; /* name id + 1; 0 = empty */
	uint32_t *vals;
	uint32_t cap; /* power of two or 0 */
	uint32_t len;
};
/* SWIM_NONE if absent. */
uint32_t swim_idmap_get(const struct swim_idmap *m, uint32_t id);
/* Insert or replace; -ENOMEM. */
int swim_idmap_put(struct swim_idmap *m, uint32_t id, uint32_t val);
void swim_idmap_del(struct swim_idmap *m, uint32_t id);
void swim_idmap_destroy(struct swim_idmap *m);

/* ---- suspicion ------------------------------------------------------- */

/* Accusers remembered per suspect: the first plus up to k confirmations. */
#define SWIM_SUSP_ACCUSERS 8

/* Last-chance pings at expiry, one per probe timeout, when a suspicion runs
 * out with fewer than k confirmations. A member that refuted long ago is
 * then held suspect only by the rare node that missed every copy of its
 * ALIVE (an epidemic misses a given node with probability ~e^-c for c
 * copies per node, about 1e-5 at 1,000 members, so several times an hour
 * under 10 % loss); the ping carries the SUSPECT, the suspect answers with
 * its current ALIVE first in the ack. Each try fails only if the ping or
 * the ack is lost: 4 tries under 10 % loss leave 0.19^4 = 0.13 %. A member
 * that is really down costs the lone node 4 probe timeouts more; where k
 * members confirmed, the probers do not wait.
 * The same checks run at a node that only heard of the suspicion (no probe
 * of its own failed on the suspect): its timer started after the first
 * accuser's, so the first DEAD about a crash is not delayed, while a slow
 * member's refutation, still spreading, gets 4 probe timeouts more to
 * reach it. */
#define SWIM_SUSP_CHECKS 4

/* Last-chance pings at expiry for a suspect that answered us late while it
 * was suspected, however many confirmed: it is up but slow (a CPU-starved
 * process handles every packet late), so its probers all fail, k of them
 * confirm at once and the timer drops to min, which its refutation round
 * trip can exceed. The wait between these pings is the late reply's round
 * trip, so a slow member gets a ping it can answer in time; a crashed
 * member never acks late and pays nothing. */
#define SWIM_SUSP_LATE_CHECKS 2

struct swim_susp {
	uint32_t name_id;   /* the suspect (no reference: the member entry holds it) */
	uint32_t heap_pos;  /* index in the deadline heap */
	uint64_t start;     /* now when suspicion began */
	uint64_t min, max;  /* timeout bounds, us */
	uint64_t deadline;  /* when it becomes dead */
	uint32_t k;         /* confirmations that drive the timeout to min */
	uint32_t n;         /* independent confirmations after the first */
	uint32_t naccusers; /* entries used in accusers[] */
	uint32_t accusers[SWIM_SUSP_ACCUSERS]; /* name ids, each with a reference */
	bool via_probe;                        /* started by our own failed probe */
	uint8_t checks;                        /* last-chance pings sent at expiry */
	uint32_t health;   /* our awareness + 1 that min and max are scaled by */
	uint64_t late_rtt; /* slowest late ack the suspect sent us while
			    * suspected, us; 0 = none (see SWIM_SUSP_LATE_CHECKS) */
};

struct swim_susp_table {
	struct swim_susp *slots;   /* slot storage; free slots chained by name_id */
	uint32_t alloc;            /* slots allocated */
	uint32_t used;             /* slots in use */
	uint32_t free_head;        /* slot + 1, 0 = none */
	uint32_t hwm;              /* slots ever handed out */
	uint32_t *heap;            /* slot indexes, min-heap by deadline */
	struct swim_idmap by_name; /* suspect name id -> slot: only suspects pay */
};

/* Lifeguard's timeout after n confirmations of k expected, clamped >= min. */
uint64_t swim_suspicion_timeout(uint32_t n, uint32_t k, uint64_t min, uint64_t max);
void swim_susp_create(struct swim_susp_table *t);
void swim_susp_destroy(struct swim_susp_table *t, struct swim_pool *pool);
/* Start a suspicion; takes a new reference on from_id. Returns the slot or
 * a negative code. */
int swim_susp_start(struct swim_susp_table *t, struct swim_pool *pool, uint32_t name_id,
                    uint32_t from_id, uint64_t now, uint32_t k, uint64_t min, uint64_t max,
                    bool via_probe);
/* A confirmation from from_id: true if new (deadline recomputed). */
bool swim_susp_confirm(struct swim_susp_table *t, struct swim_pool *pool, uint32_t slot,
                       uint32_t from_id);
void swim_susp_remove(struct swim_susp_table *t, struct swim_pool *pool, uint32_t slot);
/* The slot of a running suspicion of name_id, or SWIM_NONE. */
uint32_t swim_susp_find(const struct swim_susp_table *t, uint32_t name_id);
/* Our own health multiplier (awareness + 1) is `health` now: if it grew
 * since the timeouts were scaled, scale them again and move the deadline
 * later; true if it moved. */
bool swim_susp_rescale(struct swim_susp_table *t, uint32_t slot, uint32_t health);
/* The suspect acked a ping of ours late, rtt us after it was sent. */
void swim_susp_late_reply(struct swim_susp_table *t, uint32_t slot, uint64_t rtt);
/* Move a slot's deadline later (a last-chance check is under way). */
void swim_susp_defer(struct swim_susp_table *t, uint32_t slot, uint64_t deadline);
/* Earliest deadline or UINT64_MAX; the slot that holds it, or SWIM_NONE. */
uint64_t swim_susp_next_deadline(const struct swim_susp_table *t);
uint32_t swim_susp_top(const struct swim_susp_table *t);

/* ---- broadcast queue ------------------------------------------------- */

struct swim_bcast_item {
	uint64_t seq;         /* insertion order: larger = newer */
	uint32_t heap_pos;    /* index in the heap */
	uint32_t transmits;   /* times sent so far */
	uint32_t name_id;     /* subject (reference held); SWIM_NONE for KEYOP */
	uint32_t incarnation; /* SUSPECT, DEAD */
	uint32_t from_id;     /* SUSPECT, DEAD: accuser (reference held) */
	uint32_t rec;         /* ALIVE: record id (reference held) */
	uint8_t kind;         /* enum swim_msg_type; 0 = free slot */
	bool ours;            /* about this node: always sent first */
	uint16_t blob_len;    /* LEAVE, KEYOP: encoded message bytes */
	uint8_t *blob;        /* LEAVE, KEYOP: owned copy */
};

struct swim_bcast {
	struct swim_bcast_item *items; /* slots; free ones have kind 0 */
	uint32_t alloc;
	uint32_t hwm;   /* slots ever used */
	uint32_t *free; /* stack of free slot indexes */
	uint32_t nfree;
	uint32_t *heap; /* slot indexes, best first */
	uint32_t len;   /* items queued */
	uint64_t next_seq;
	struct swim_idmap by_name; /* member -> its pending item */
};

/* Queue cap: beyond it the worst-placed item is dropped. */
#define SWIM_BCAST_MAX 4096

void swim_bcast_create(struct swim_bcast *q);
void swim_bcast_destroy(struct swim_bcast *q, struct swim_pool *pool);

struct swim;
/* Queue news about a member, superseding what was pending about it. */
int swim_bcast_alive(struct swim *s, uint32_t name_id, uint32_t rec);
int swim_bcast_accuse(struct swim *s, uint8_t kind, uint32_t name_id, uint32_t incarnation,
                      uint32_t from_id);
/* LEAVE (name_id set) or KEYOP (name_id SWIM_NONE): an encoded message. */
int swim_bcast_blob(struct swim *s, uint8_t kind, uint32_t name_id, const uint8_t *msg, size_t len);
/* Append queued messages to s->tx while they fit in the datagram, best
 * first; returns how many were appended. */
uint32_t swim_bcast_fill(struct swim *s);
/* mult * ceil(log10(n + 1)). */
uint32_t swim_retransmit_limit(uint32_t mult, uint32_t n);

/* ---- user messages (swim_user.c) --------------------------------------- */

/* One queued user message. */
struct swim_user_item {
	uint64_t seq;       /* insertion order: larger = newer */
	uint64_t supersede; /* caller's id for "same subject"; 0 = none */
	uint64_t gen;       /* the last fill that looked at it */
	uint32_t transmits; /* times sent so far */
	uint16_t len;       /* bytes of msg */
	bool bulk;          /* never sent to a quiet member */
	uint8_t *msg;       /* owned copy of the encoded USER message */
};

struct swim_user {
	bool on;                      /* hooks installed */
	struct swim_user_hooks hooks; /* copy */
	struct swim_user_item *items; /* unordered; `len` used */
	uint32_t len, alloc;
	uint64_t next_seq;
	uint64_t fill_gen; /* fills so far */
};

void swim_user_destroy(struct swim *s);
/* Append queued user messages to s->tx after the membership news; returns
 * how many were appended. Bulk messages are left out (and their transmit
 * not counted) when the datagram goes to a quiet member. */
uint32_t swim_user_fill(struct swim *s, bool quiet_target);
void swim_user_deliver(struct swim *s, uint64_t now, const struct shoal_addr *from,
                       const struct swim_msg *m);
/* Route an opened stream message of a user type: true if it was one. */
bool swim_user_on_stream(struct swim *s, uint64_t now, uint64_t conv, const struct shoal_addr *from,
                         const uint8_t *plain, size_t len);
/* A stream error for a conversation push-pull does not own: true if
 * handed to the hooks. */
bool swim_user_on_stream_error(struct swim *s, uint64_t now, uint64_t conv);
void swim_user_tick(struct swim *s, uint64_t now);
void swim_user_joined(struct swim *s, uint64_t now, const struct shoal_addr *peer);
uint64_t swim_user_next_deadline(const struct swim *s);

/* ---- the swim -------------------------------------------------------- */

/* One member as this node sees it: 16 bytes, the N^2 term of a simulation
 * (and the largest per-member cost of a node). A suspect's suspicion slot
 * is found through the suspicion table's map, not stored here. `since` is
 * an absolute time in us: 56 bits hold 2,283 years. */
struct swim_member {
	uint32_t rec;         /* pool record id + 1 (one reference); 0 = no entry */
	uint32_t incarnation; /* incarnation of the current state */
	uint64_t since : 56;  /* now when it entered this state */
	uint64_t state : 3;   /* enum swim_state */
	uint64_t flags : 5;   /* MEMBER_* */
};
#define MEMBER_IN_ORDER 0x01 /* listed in the probe order */
/* rec == 0 and MEMBER_TOMB: a reaped member (tomb.c); incarnation and
 * state are those it was reaped in, since is when it was reaped. */
#define MEMBER_TOMB 0x02
/* The member's record says it is quiet (swim_config.is_quiet): no bulk
 * user messages to it. Set whenever its record is installed. */
#define MEMBER_QUIET 0x04

/* A reaped member's ring entry (tomb.c): 32 bytes. */
struct swim_tomb {
	uint64_t reaped_at;     /* the slot's `since` while this entry is current */
	uint32_t name_id;       /* reference held */
	struct shoal_addr addr; /* where it was last reachable */
};
/* Reaped members remembered at most; beyond, the oldest is forgotten. */
#define SWIM_TOMBS_MAX 4096

/* The probe in flight. */
struct swim_probe {
	bool active;             /* a probe of `target` is running */
	bool acked;              /* an ack (direct or relayed) came back */
	bool indirect;           /* ping-reqs were sent */
	uint32_t target;         /* name id */
	uint32_t incarnation;    /* the target's incarnation when the probe began */
	uint32_t seq;            /* the ping's sequence number */
	uint64_t start;          /* ping sent */
	uint64_t ping_req_at;    /* ping-req if no ack by then */
	uint64_t end;            /* evaluate the probe then */
	uint32_t nacks_expected; /* helpers asked */
	uint32_t nacks;          /* nacks received */
	uint32_t rtt;            /* us from the ping to the first ack, once acked */
};

/* The outcome of one finished probe, kept in a ring for the link summary
 * (swim_links.c) a site reports in its health record. */
struct swim_probe_outcome {
	uint64_t at;     /* the probe began; 0 = free slot */
	uint32_t target; /* name id (only compared, never dereferenced) */
	uint32_t rtt;    /* us to the first ack; SWIM_RTT_LOST if none came */
};
#define SWIM_PROBE_OUTCOMES 256 /* about two minutes of probes at the LAN rate */
#define SWIM_RTT_LOST       UINT32_MAX

/* Remember a finished probe's outcome (swim_links.c). */
void swim_links_record(struct swim *s, const struct swim_probe *p);

/* A ping-req we are serving for another member. */
struct swim_helper {
	bool used;
	bool nacked;
	uint32_t our_seq;         /* seq of our ping to the target */
	uint32_t origin_seq;      /* seq the origin is waiting for */
	struct shoal_addr origin; /* who asked */
	uint64_t nack_at;         /* nack then if nothing came back */
	uint64_t expire_at;       /* forget it then */
};
#define SWIM_HELPERS_MAX 32

/* A ping of ours to a member, remembered after its probe is over so that an
 * ack arriving late still tells us the member is up, and how slow. */
struct swim_ping_sent {
	uint32_t seq;    /* 0 = free */
	uint32_t target; /* name id (no reference: only looked up) */
	uint64_t at;     /* first sent */
};
#define SWIM_PINGS_RECENT 16

/* A push-pull conversation. */
enum swim_conv_role {
	CONV_FREE = 0,
	CONV_CLIENT = 1, /* we sent PP_HELLO, awaiting PP_STATES */
	CONV_SERVER = 2, /* we answered PP_STATES, awaiting the client's */
};
struct swim_conv {
	uint64_t conv;     /* stream id */
	uint64_t deadline; /* give up then */
	struct shoal_addr peer;
	uint8_t role; /* enum swim_conv_role */
	bool join;    /* a join exchange */
	int16_t seed; /* seed index for a join, or -1 */
};
/* Catch-up push-pulls after a join (catchup.c). */
struct swim_catchup {
	bool active;    /* more catch-up exchanges are due */
	uint16_t done;  /* exchanges started since the join */
	uint16_t quiet; /* consecutive intervals that brought no new member */
	uint64_t seen;  /* s->members_added when the last interval began */
	uint64_t next;  /* the next exchange (absolute us), while active */
};

#define SWIM_CONVS_MAX   16
#define SWIM_SEEDS_MAX   16
#define SWIM_KEYOPS_SEEN 64

struct swim {
	struct swim_config cfg;             /* copy; name/labels/version/site_sk not kept there */
	const struct shoal_env *env;        /* borrowed */
	struct shoal_keyring *kr;           /* borrowed */
	struct swim_pool *pool;             /* borrowed */
	uint8_t sk[64];                     /* site secret key; wiped on delete */
	char version[SWIM_VERSION_MAX + 1]; /* our software version */

	uint32_t self_id;     /* our name id (reference held) */
	uint32_t self_rec;    /* our current record id (+ the member's ref) */
	uint32_t incarnation; /* ours */
	bool left;            /* swim_leave was called */
	uint32_t awareness;   /* Lifeguard local health, 0..awareness_max-1 */

	struct swim_member *members; /* indexed by name id */
	uint32_t members_alloc;
	uint32_t counts[4];     /* members by state, self included */
	uint64_t members_added; /* members ever added to the table (never decreases) */

	uint32_t *order; /* probe order (name ids) */
	uint32_t order_len, order_alloc, order_pos;

	struct swim_probe probe;
	struct swim_helper helpers[SWIM_HELPERS_MAX];
	uint64_t helpers_next; /* earliest helper deadline */
	uint32_t seq;          /* last sequence number used */
	/* Our recent pings, a ring, so that a late ack is recognised. */
	struct swim_ping_sent pings[SWIM_PINGS_RECENT];
	uint32_t pings_pos;
	/* Finished probes, a ring (swim_links.c). */
	struct swim_probe_outcome outcomes[SWIM_PROBE_OUTCOMES];
	uint32_t outcomes_pos;

	uint64_t next_probe; /* timers (absolute us) */
	uint64_t next_gossip;
	uint64_t next_pushpull;
	uint64_t next_reap;
	uint64_t next_join;          /* 0 = no join retry pending */
	uint64_t next_reconnect;     /* next reconnect attempt (tomb.c) */
	struct swim_catchup catchup; /* push-pulls soon after a join */

	struct shoal_addr seeds[SWIM_SEEDS_MAX];
	uint32_t nseeds;
	struct swim_conv convs[SWIM_CONVS_MAX];
	uint32_t nconvs;    /* conversations in use */
	uint64_t next_conv; /* next stream id we open */

	struct swim_susp_table susp;
	struct swim_bcast bcast;
	struct swim_user user; /* user messages and the service's hooks */

	struct swim_tomb *tombs; /* ring of reaped members, oldest first */
	uint32_t tombs_alloc;    /* power of two or 0 */
	uint32_t tombs_head;     /* index of the oldest */
	uint32_t tombs_len;      /* entries, current or superseded */
	uint32_t tombs_dead;     /* current tombs of dead (not left) members */

	uint64_t keyops_seen[SWIM_KEYOPS_SEEN]; /* recent KEYOP ids (ring) */
	uint32_t keyops_pos;

	struct shoal_buf tx;   /* datagram being assembled */
	struct shoal_buf item; /* one message being encoded */

	struct swim_stats stats;
};

static inline struct swim_member *swim_member_at(const struct swim *s, uint32_t id)
{
	return id < s->members_alloc && s->members[id].rec != 0 ? &s->members[id] : NULL;
}
static inline const struct swim_record *swim_member_record(const struct swim *s,
                                                           const struct swim_member *m)
{
	return swim_pool_record(s->pool, m->rec - 1);
}
/* Members not dead or left, self included: Lifeguard's and the queue's n. */
static inline uint32_t swim_live_count(const struct swim *s)
{
	return s->counts[SWIM_ALIVE] + s->counts[SWIM_SUSPECT];
}
/* Every known member, any state, self included. */
static inline uint32_t swim_known_count(const struct swim *s)
{
	return s->counts[0] + s->counts[1] + s->counts[2] + s->counts[3];
}
/* A time scaled by the local health multiplier. */
uint64_t swim_scaled(const struct swim *s, uint64_t t);

/* swim_state.c: the SWIM rules. `rebroadcast` = queue the news for others. */
void swim_apply_alive(struct swim *s, uint64_t now, uint32_t rid, bool rebroadcast);
void swim_apply_suspect(struct swim *s, uint64_t now, uint32_t name_id, uint32_t incarnation,
                        uint32_t from_id, bool via_probe);
void swim_apply_dead(struct swim *s, uint64_t now, uint32_t name_id, uint32_t incarnation,
                     uint32_t from_id, bool via_probe);
/* A verified leave; msg is the encoded LEAVE to pass on (may be NULL). */
void swim_apply_left(struct swim *s, uint64_t now, uint32_t name_id, uint32_t incarnation,
                     const uint8_t *msg, size_t len);
/* Bump our incarnation above `at_least`, re-sign and broadcast. */
int swim_refute(struct swim *s, uint64_t now, uint32_t at_least);
/* Sign and install a new self record at s->incarnation with these labels. */
int swim_self_record(struct swim *s, const uint8_t *labels, uint32_t labels_len);
void swim_emit(struct swim *s, enum swim_event_type type, uint32_t name_id, uint32_t inc,
               uint32_t from_id, bool via_probe, const struct shoal_addr *addr);
/* Make members[id] addressable. */
int swim_members_reserve(struct swim *s, uint32_t id);
/* Drop a member entry (reaping); emits nothing. */
void swim_member_drop(struct swim *s, uint32_t id);
void swim_handle_keyop(struct swim *s, uint64_t now, const struct swim_msg *m);

/* Set or clear MEMBER_QUIET from the record m now holds. */
void swim_member_note_quiet(struct swim *s, struct swim_member *m);
/* Is the member `id` (SWIM_NONE: not known) quiet? */
bool swim_id_quiet(const struct swim *s, uint32_t id);

/* swim_io.c: datagrams. */
/* Send the messages already in s->tx (count of them) plus piggybacked
 * broadcasts when `piggyback`, sealed, to `to`, the member `to_id`
 * (SWIM_NONE when the sender of what we answer is not known by name: its
 * datagram may then carry bulk messages). */
void swim_send_tx(struct swim *s, const struct shoal_addr *to, uint32_t to_id, uint32_t count,
                  bool piggyback);
/* Start a datagram in s->tx; then swim_tx_add_item after encoding each
 * message into s->item. Returns false if it did not fit. */
void swim_tx_begin(struct swim *s);
bool swim_tx_add_item(struct swim *s);
size_t swim_tx_budget(const struct swim *s);
void swim_handle_datagram(struct swim *s, uint64_t now, const struct shoal_addr *from,
                          const uint8_t *plain, size_t len);

/* swim_probe.c: the failure detector. */
void swim_probe_tick(struct swim *s, uint64_t now);
void swim_probe_on_ack(struct swim *s, uint64_t now, uint32_t seq);
void swim_probe_on_nack(struct swim *s, uint32_t seq);
/* Ping a suspect directly, telling it first that it is suspected. */
void swim_probe_check_suspect(struct swim *s, uint64_t now, uint32_t id);
void swim_probe_on_ping_req(struct swim *s, uint64_t now, const struct shoal_addr *from,
                            const struct swim_msg *m);
void swim_helpers_tick(struct swim *s, uint64_t now);
void swim_order_add(struct swim *s, uint32_t id);
/* Up to k distinct random members passing `want` (a mask of 1 << state),
 * never self or `exclude`. */
uint32_t swim_sample(struct swim *s, uint32_t k, uint32_t want, uint32_t exclude, uint32_t *out);
void swim_gossip_tick(struct swim *s, uint64_t now);

/* pushpull.c */
void swim_pp_tick(struct swim *s, uint64_t now);
/* Why an exchange is started; sets the digest it opens with. */
enum swim_pp_kind {
	SWIM_PP_PERIODIC = 0, /* anti-entropy: B for our size */
	SWIM_PP_JOIN = 1,     /* join: ask for everything */
	SWIM_PP_CATCHUP = 2,  /* after a join: a finer digest (catchup.c) */
};
/* Open an exchange with peer; `seed` is the seed index of a join, else -1. */
int swim_pp_start(struct swim *s, uint64_t now, const struct shoal_addr *peer,
                  enum swim_pp_kind kind, int seed);
void swim_pp_on_stream(struct swim *s, uint64_t now, uint64_t conv, const struct shoal_addr *from,
                       const uint8_t *plain, size_t len);
void swim_pp_on_error(struct swim *s, uint64_t now, uint64_t conv, bool close);
uint64_t swim_pp_next_deadline(const struct swim *s);
uint64_t swim_pp_interval(const struct swim *s);
/* Uniform in [interval/2, 3*interval/2). */
uint64_t swim_pp_jittered(struct swim *s, uint64_t interval);
/* Uniform in [0, interval): a first phase for nodes that start together. */
uint64_t swim_pp_phase(struct swim *s, uint64_t interval);
/* Hash of one member for the digest: shorthash(name || be32 inc || state). */
uint64_t swim_pp_member_hash(const struct swim_pool_name *n, uint32_t inc, uint8_t state);
uint32_t swim_pp_bucket_count(uint32_t n);

/* catchup.c: after a join exchange succeeds, start the catch-up series;
 * tick runs the exchange due; deadline is UINT64_MAX when none is. */
void swim_catchup_start(struct swim *s, uint64_t now);
void swim_catchup_tick(struct swim *s, uint64_t now);
uint64_t swim_catchup_deadline(const struct swim *s);

/* tomb.c: reaped members and reconnect. reap drops the member and keeps
 * its tomb; tomb_at returns the slot of a reaped member or NULL; forget
 * clears it (the member is back); expire drops tombs past
 * reconnect_timeout; reconnect_tick runs the attempt due. */
void swim_tomb_reap(struct swim *s, uint64_t now, uint32_t id);
const struct swim_member *swim_tomb_at(const struct swim *s, uint32_t id);
void swim_tomb_forget(struct swim *s, uint32_t id);
void swim_tomb_expire(struct swim *s, uint64_t now);
void swim_tomb_destroy(struct swim *s);
void swim_reconnect_tick(struct swim *s, uint64_t now);
uint64_t swim_reconnect_deadline(const struct swim *s);

#endif
