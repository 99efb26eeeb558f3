/*
 * health.h - per-site health records: the signed record, its codec, the
 * score, the pacing of publication, the observer's view and the table of
 * every site's record. Sans-IO; docs/health.md is the contract.
 *
 * Each site owns one record, signed by its site key (the Ed25519 key its
 * membership record carries), with a version only it increments (its HLC).
 * Every node keeps the newest record of every site in a health_table, so
 * any node can answer for the whole fleet.
 *
 * The wire form (all msgpack; the signature covers the body bytes exactly
 * as received, as for intents):
 *
 *   envelope  +-------------+-----------+-------------+
 *             | fixarray(2) | bin: body | bin(64): sig|
 *             +-------------+-----------+-------------+
 *                                 |
 *   body: array(17), positional (compact: no key text)
 *    0 v         uint   1 (the body format)
 *    1 site      str    1-64 of [A-Za-z0-9._-], alnum first (a SWIM name)
 *    2 version   uint   the owner's HLC; higher wins
 *    3 software  str    0-64 printable ASCII
 *    4 labels    map    {key str: value str}, <= 64, Kubernetes syntax
 *    5 uptime_s  uint   seconds since the host booted
 *    6 skew_ms   int    clock offset against peers, |x| < 2^31
 *    7 usage     [cpu, mem, disk]                 per mille, 0-1000
 *    8 links     [window_s, known, probed, reached, rtt_p50_us, rtt_p99_us, loss_pm]
 *    9 intents   [[kind u8, name str, version u64, state u8], ...] <= 256
 *   10 pods      [running, creating, image, config, crash, oom, unsched, pending]
 *   11 restarts  uint   container restarts seen in the window
 *   12 security  [roots bin(8), keyring bool, revoked_applied uint]
 *   13 policy    map    {rule str: hits uint}, <= 64
 *   14 alerts    [name str, ...] <= 32 (AlertRule names firing here)
 *   15 score     [score, connectivity, reliability, security, performance] 0-100
 *   16 annotations map {key str: value str}, <= 66, free UTF-8 text <= 256 bytes
 *
 * Thread-safety: the pure functions are safe anywhere; a health_table
 * belongs to one thread.
 */
#ifndef SHOAL_HEALTH_H
#define SHOAL_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shoal/env.h"
#include "shoal/intent.h"
#include "shoal/mp.h"

/* Fleet constants: they decide what a valid record is, so every node must
 * agree on them (docs/health.md). */
#define HEALTH_FORMAT               1
#define HEALTH_SITE_MAX             64  /* site name bytes, as SWIM_NAME_MAX */
#define HEALTH_SOFTWARE_MAX         64  /* software version bytes */
#define HEALTH_LABELS_MAX           64  /* labels in one record */
#define HEALTH_INTENTS_MAX          256 /* per-intent states in one record */
#define HEALTH_POLICY_MAX           64  /* policy rules with hit counters */
#define HEALTH_POLICY_ID_MAX        128 /* bytes of a rule id */
#define HEALTH_ALERTS_MAX           32  /* alerts firing */
#define HEALTH_ANNOTATIONS_MAX      66  /* the operator's 64 and two discovered */
#define HEALTH_ANNOTATION_VALUE_MAX 256 /* bytes of an annotation value */
#define HEALTH_ROOTS_LEN            8   /* prefix of the trust roots' SHA-256 */
#define HEALTH_SIG_LEN              64
#define HEALTH_ENVELOPE_MAX         (128u << 10) /* largest envelope, bytes */
#define HEALTH_TABLE_SITES_MAX      65536        /* records one table holds */

/* Per-intent state on a site: one vocabulary for the project
 * (docs/intents.md). An owner reports the first seven; observers add the
 * last two for a site they cannot vouch for, and a record carrying them is
 * malformed. */
enum health_state {
	HEALTH_NOT_SELECTED = 0, /* the intent's target does not select this site */
	HEALTH_PENDING,          /* selected, not started */
	HEALTH_WAITING,          /* held back: rollout strategy, dependency, grant */
	HEALTH_APPLYING,         /* being applied */
	HEALTH_READY,            /* applied and every workload ready */
	HEALTH_DEGRADED,         /* applied, some workload not ready */
	HEALTH_FAILED,           /* the apply was refused or failed */
	HEALTH_OWNER_STATES,     /* states a record may carry end here */
	HEALTH_UNREACHABLE = HEALTH_OWNER_STATES, /* observer: site suspect/dead */
	HEALTH_STALE,                             /* observer: no new version for 3 refreshes */
	HEALTH_STATE_COUNT,
};

/* Pod buckets, in the record's order (k8s/kstatus.c's bad buckets plus
 * running and pending; succeeded/failed pods are history, not state). */
enum health_pod {
	HEALTH_POD_RUNNING = 0,
	HEALTH_POD_CREATING,
	HEALTH_POD_WAITING_IMAGE,
	HEALTH_POD_CONFIG_ERROR,
	HEALTH_POD_CRASH_LOOP,
	HEALTH_POD_OOM_KILLED,
	HEALTH_POD_UNSCHEDULABLE,
	HEALTH_POD_PENDING,
	HEALTH_POD_COUNT,
};

enum health_band {
	HEALTH_RED = 0,    /* score < 40 */
	HEALTH_ORANGE = 1, /* 40..75 */
	HEALTH_GREEN = 2,  /* > 75 */
};

/* Text that is not NUL-terminated: borrowed bytes. */
struct health_str {
	const char *s;
	uint32_t len;
};

struct health_label {
	struct health_str key, value;
};

/* Links this site probed (SWIM's probes) over the last `window_s`. */
struct health_links {
	uint32_t window_s;   /* the window the figures cover */
	uint32_t known;      /* other members in its table, not left */
	uint32_t probed;     /* distinct peers probed in the window */
	uint32_t reached;    /* of those, peers that answered at least once */
	uint32_t rtt_p50_us; /* over every answered probe */
	uint32_t rtt_p99_us;
	uint32_t loss_pm; /* probes unanswered, per mille, 0-1000 */
};

struct health_intent {
	enum intent_kind kind;
	struct health_str name;
	uint64_t version; /* the HLC of the version held; 0 = none yet */
	enum health_state state;
};

struct health_security {
	uint8_t roots[HEALTH_ROOTS_LEN]; /* first bytes of SHA-256 of the trust roots */
	bool keyring;                    /* gossip is sealed with a cluster key */
	uint32_t revoked_applied;        /* applied intents whose signer is revoked */
};

struct health_policy_hit {
	struct health_str rule;
	uint64_t hits;
};

/* The score and its four components, 0-100 each (docs/health.md). */
struct health_score {
	uint8_t score;
	uint8_t connectivity;
	uint8_t reliability;
	uint8_t security;
	uint8_t performance;
};

/* One record. Strings borrow: from the owner's memory when encoding, from
 * the decoded bytes when decoding (valid as long as those bytes). Large
 * (about 12 KB): keep it off small stacks. */
struct health_record {
	struct health_str site;
	uint64_t version;
	struct health_str software;
	uint32_t n_labels;
	struct health_label labels[HEALTH_LABELS_MAX];
	uint64_t uptime_s;
	int32_t skew_ms;
	uint16_t cpu_pm, mem_pm, disk_pm; /* use, per mille */
	struct health_links links;
	uint32_t n_intents;
	struct health_intent intents[HEALTH_INTENTS_MAX];
	uint32_t pods[HEALTH_POD_COUNT];
	uint32_t restarts;
	struct health_security sec;
	uint32_t n_policy;
	struct health_policy_hit policy[HEALTH_POLICY_MAX];
	uint32_t n_alerts;
	struct health_str alerts[HEALTH_ALERTS_MAX];
	struct health_score score;
	uint32_t n_annotations; /* free text beside the labels (geo.shoal.io/lat, ...) */
	struct health_label annotations[HEALTH_ANNOTATIONS_MAX];
};

const char *health_state_name(enum health_state s); /* "not-selected", ... */
const char *health_pod_name(enum health_pod p);     /* "crash-loop", ... */
const char *health_band_name(enum health_band b);   /* "green", ... */

/* A SWIM site name: 1-HEALTH_SITE_MAX of [A-Za-z0-9._-], alnum first. */
bool health_site_name_valid(const char *s, size_t len);

/* ---- codec (crdt/health_codec.c) ------------------------------------- */

/* Encode `r` as a body and sign it with the site's secret key: the
 * envelope lands in `out` (reset first). -EINVAL if `r` breaks a rule the
 * decoder checks (so nothing unreadable is ever signed), SHOAL_E_TOO_BIG
 * past HEALTH_ENVELOPE_MAX or out's cap. */
int health_seal(const struct health_record *r, const uint8_t sk[64], struct shoal_buf *out);

/* The body and signature of an envelope, pointing into `bytes`: the outer
 * array, a body bin and a 64-byte sig bin, nothing after. */
int health_envelope_split(const uint8_t *bytes, size_t len, const uint8_t **body,
                          uint32_t *body_len, const uint8_t **sig);

/* Decode a body (no signature check): structure, types, ranges, syntax,
 * no repeats. 0, or SHOAL_E_MALFORMED / _TRUNCATED / _TYPE / _RANGE /
 * _VERSION; `out` is unusable on error. Array entries past their counts
 * are left as they were (the record is not zeroed first). Used by the
 * fuzz target and on bytes verified before. */
int health_body_decode(const uint8_t *body, size_t len, struct health_record *out);

/* The public key bound to `site` in membership: 0, or SHOAL_E_NOT_FOUND. */
typedef int (*health_key_fn)(void *ctx, const char *site, size_t len, uint8_t pk[32]);

/* Open an envelope from anyone: split it, read the site name, ask key_fn
 * for the site's key, verify the signature over the exact body bytes
 * through shoal_env_verify, and only then decode the body. Errors as
 * above plus SHOAL_E_FORBIDDEN (no key for the site) and
 * SHOAL_E_SIGNATURE. */
int health_open(const struct shoal_env *env, health_key_fn key_fn, void *key_ctx,
                const uint8_t *bytes, size_t len, struct health_record *out);

/* ---- score (crdt/health_score.c) ------------------------------------- */

/* What the scorer knows about the fleet beyond the record. */
struct health_fleet {
	bool roots_known;                /* false: the roots check is skipped */
	uint8_t roots[HEALTH_ROOTS_LEN]; /* the fleet's trust roots prefix */
};

/* The four components and the score of `r` (its own `score` is ignored).
 * Pure integer arithmetic, so every node computes the same numbers. */
void health_score_compute(const struct health_record *r, const struct health_fleet *fleet,
                          struct health_score *out);
enum health_band health_band_of(uint8_t score);

/* ---- meaningful change and pacing (crdt/health_pace.c) ---------------- */

enum health_change {
	HEALTH_CH_INTENT = 1 << 0, /* an intent's state or held version, or the set */
	HEALTH_CH_BAND = 1 << 1,   /* the score crossed a band */
	HEALTH_CH_SCORE = 1 << 2,  /* the score moved by >= 5 */
	HEALTH_CH_PODS = 1 << 3,   /* any pod count */
	HEALTH_CH_CPU = 1 << 4,    /* CPU moved by >= 10 points (100 per mille) */
	HEALTH_CH_MEM = 1 << 5,    /* memory moved by >= 10 points */
	HEALTH_CH_ALERTS = 1 << 6, /* the alerts firing */
	HEALTH_CH_LABELS = 1 << 7, /* labels or software version */
};

/* Which meaningful changes lead from `prev` (the last record published)
 * to `next` (a new sample): a mask of enum health_change, 0 for none. */
unsigned health_changes(const struct health_record *prev, const struct health_record *next);

/* The slow refresh, from the fleet size: one refresh per second across the
 * fleet, never more often than every 60 s per site (docs/health.md, the
 * budget). Microseconds. */
uint64_t health_refresh_interval(uint32_t sites);

#define HEALTH_HOLD_US (30 * UINT64_C(1000000)) /* least gap between two changes */

/* When to publish: right away on a meaningful change (after a hold-down
 * since the last publish, so a flapping site costs at most one record per
 * HEALTH_HOLD_US), else at the jittered refresh. Times in the driver's
 * monotonic microseconds. */
struct health_pacer {
	uint64_t refresh_us; /* base refresh interval */
	uint64_t published;  /* `now` of the last publish; 0 = never */
	uint64_t refresh_at; /* next refresh, jittered */
	uint64_t hold_us;    /* least gap between two changes: HEALTH_HOLD_US (tests scale it) */
};

void health_pacer_create(struct health_pacer *p, uint64_t refresh_us);
/* The time at or after which to publish, given the pending changes mask. */
uint64_t health_pacer_due(const struct health_pacer *p, unsigned changes);
/* A record went out at `now`: schedule the next refresh at now + refresh
 * scaled by a uniform factor in [0.9, 1.1) drawn from env->prng. */
void health_pacer_published(struct health_pacer *p, const struct shoal_env *env, uint64_t now);

/* ---- the observer's view (crdt/health_view.c) ------------------------- */

enum health_view {
	HEALTH_FRESH = 0,
	HEALTH_VIEW_STALE,       /* no new version within 3 refresh intervals */
	HEALTH_VIEW_UNREACHABLE, /* membership holds the site suspect or dead */
};

/* How an observer must show a site: `received` is its `now` when the held
 * version arrived, `refresh_us` the interval the fleet uses, `reachable`
 * whether membership holds the site alive. Unreachable outranks stale. */
enum health_view health_view_of(uint64_t now, uint64_t received, uint64_t refresh_us,
                                bool reachable);
/* The state to show for an intent: the record's own when fresh, else
 * HEALTH_STALE or HEALTH_UNREACHABLE, so a site that cannot be vouched for
 * is never shown ready and never failed. */
enum health_state health_view_state(enum health_view v, enum health_state held);
/* The band to show, or -1 when the view is not fresh (neither healthy nor
 * failed: shown as stale or unreachable). */
int health_view_band(enum health_view v, uint8_t score);

/* ---- the table (crdt/health_table.c) ---------------------------------- */

struct health_table;

/* What the table keeps of each record beside its bytes. */
struct health_entry {
	const char *site; /* NUL-terminated, owned by the table */
	uint64_t version;
	uint8_t digest[32];        /* SHA-256 of the whole envelope */
	uint64_t received;         /* `now` when this version was accepted */
	struct health_score score; /* as the record states it */
	const uint8_t *bytes;      /* the envelope as received */
	uint32_t len;
};

/* `env`, and key_fn's ctx, must outlive the table. -ENOMEM. */
int health_table_new(struct health_table **out, const struct shoal_env *env, health_key_fn key_fn,
                     void *key_ctx);
void health_table_delete(struct health_table *t);

/* Offer an envelope: opened (health_open), then kept if its version is
 * higher than the one held for the site (equal versions: the larger
 * digest, so every node keeps the same one). 0 when kept; SHOAL_E_STALE
 * when not newer (nothing changed); SHOAL_E_TOO_BIG with the table full;
 * the errors of health_open. A refused offer changes nothing. */
int health_table_offer(struct health_table *t, uint64_t now, const uint8_t *bytes, size_t len);

/* The entry for a site: 0 or SHOAL_E_NOT_FOUND. Pointers stay valid until
 * the next offer or remove. */
int health_table_get(const struct health_table *t, const char *site, size_t len,
                     struct health_entry *out);
/* A leaf's table (docs/health.md, "Leaf mode"): from now on it keeps the
 * record of `site` only (its own) and refuses any other site's with
 * SHOAL_E_FORBIDDEN before checking a signature. Call before the first
 * offer. 0 or -ENOMEM. */
int health_table_keep_only(struct health_table *t, const char *site, size_t len);
/* Does the table keep `site`'s record (always, unless keep_only said
 * otherwise)? */
bool health_table_keeps(const struct health_table *t, const char *site, size_t len);
/* The table as the replication service looks an item up (a replica app's
 * lookup): the version and digest held for `site`, 0 or SHOAL_E_NOT_FOUND.
 * A site the table does not keep answers version UINT64_MAX (zero
 * digest): newer than any announcement, so the service never wants or
 * pulls it. */
int health_table_lookup(const struct health_table *t, const char *site, size_t len,
                        uint64_t *version, uint8_t digest[32]);
/* Walk: start *cursor at 0; SHOAL_E_NOT_FOUND at the end. Any order. */
int health_table_next(const struct health_table *t, uint32_t *cursor, struct health_entry *out);
/* Forget a site (reaped from membership): 0 or SHOAL_E_NOT_FOUND. */
int health_table_remove(struct health_table *t, const char *site, size_t len);
uint32_t health_table_count(const struct health_table *t);

#endif
