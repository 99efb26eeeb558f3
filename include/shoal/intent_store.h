/*
 * intent_store.h - the replicated intent map: last-writer-wins per
 * (kind, name), signed tombstones, trust judged from the replicated
 * KeyGrant/KeyRevoke intents, and anti-entropy digests.
 *
 * Merge order. Two envelopes for the same (kind, name) are ordered by
 * (hlc, signer bytes, id), compared as unsigned numbers / bytes; the
 * larger wins. Every node computes the same winner from the same pair, so
 * the map converges whatever order envelopes arrive in (a state-based LWW
 * register per key; a delete is just a put of a tombstone).
 *
 * One entry point for everything that arrives - the API, a peer's push or
 * pull, a resync - intent_store_offer(), which verifies, judges, merges
 * and, through hooks->persist, makes the change durable before it touches
 * memory. A gossip service wires to it with four things: per item a key
 * (intent_store_key), a version (env.body.hlc) and a digest (env.id); the
 * item's bytes (item->bytes); offer(); and INTENT_BUCKETS bucketed
 * digests kept up to date on every change (intent_store_bucket). 4096
 * buckets keep an anti-entropy listing close to what differs even with
 * tens of thousands of intents (a missed change lists ~n/4096 neighbours).
 *
 * Stubs. A store may keep an App, EgressPolicy, Upgrade or AlertRule put
 * as a stub: its header (kind, name, op, target, version, replaces, force,
 * signer, id, envelope size and digest) without the signed body's spec and
 * strategy or the signature (hooks->keep_whole decides; a leaf site keeps
 * what does not select it so, docs/intents.md "Stubs"). A stub merges,
 * judges, selects and hashes exactly as the envelope it stands for, so
 * digests and anti-entropy buckets equal a whole store's; only its body
 * cannot be served or applied. The same envelope offered again fills the
 * stub back in (INTENT_FILLED).
 *
 * Ownership: the store copies every envelope it keeps. Item pointers stay
 * valid until the next call that changes the store (offer, gc, delete).
 * Thread-safety: one store belongs to one thread. Sans-IO: time comes in as
 * `now_ms` (wall-clock milliseconds the driver read).
 */
#ifndef SHOAL_INTENT_STORE_H
#define SHOAL_INTENT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shoal/env.h"
#include "shoal/intent.h"
#include "shoal/trust.h"

#define INTENT_FROM_MAX      64                     /* "api" or a peer's site name */
#define INTENT_BUCKETS       4096                   /* anti-entropy buckets (12 bits) */
#define INTENT_PENDING_MAX   1024                   /* envelopes waiting for a grant */
#define INTENT_PENDING_BYTES ((size_t)16 << 20)     /* ... and their bytes */
#define INTENT_KEY_MAX       (16 + INTENT_NAME_MAX) /* "KeyRevoke/" + name + NUL */

/* Where an envelope comes from decides which checks apply. */
enum intent_source {
	/* An operator at this node's API: the strict path. The HLC must lie
	 * within INTENT_SKEW_MS of now; the signer must be trusted now (no
	 * pending); `replaces` must not be older than the version held. */
	INTENT_FROM_API,
	/* A peer's gossip: the signer may be granted by an intent not yet
	 * here (pending); revocation does not refuse it, so nodes that saw
	 * the revoke early and late keep the same set (it is reported
	 * revoked instead). */
	INTENT_FROM_PEER,
	/* A full-state transfer to a node that was away beyond the horizon:
	 * like PEER but without the horizon check. */
	INTENT_FROM_RESYNC,
};

enum intent_outcome {
	INTENT_ACCEPTED = 0, /* verified, merged, persisted: the new winner */
	INTENT_DUPLICATE,    /* this exact envelope is already held */
	INTENT_PENDING,      /* valid but its signer's grant has not arrived */
	INTENT_REJECTED,     /* refused: err says why; nothing changed */
	INTENT_FILLED,       /* the body of a held stub: the item is whole again */
};

/* Effective standing of a held item, recomputed from the trust set. */
enum intent_status {
	INTENT_EFFECTIVE = 0, /* a put whose signer is trusted at its HLC */
	INTENT_DELETED,       /* a tombstone */
	INTENT_REVOKED,       /* its signer's key was revoked */
	INTENT_UNAUTHORIZED,  /* its signer's grant was withdrawn or shortened */
};

/* How a signer stands at an HLC. */
enum intent_trust {
	INTENT_TRUST_ROOT = 0, /* a root key: any target, any time */
	INTENT_TRUST_GRANTED,  /* a live grant covers the HLC; scope applies */
	INTENT_TRUST_UNKNOWN,  /* no grant at all */
	INTENT_TRUST_EXPIRED,  /* grants exist but none covers the HLC */
	INTENT_TRUST_REVOKED,  /* a live KeyRevoke names the key */
};

struct intent_store;

struct intent_item {
	uint8_t *bytes;                 /* the binary envelope (owned); for a stub, the
	                                 * stub record (crdt/intent_stub.c) */
	size_t len;                     /* bytes of the envelope (a stub's: of the envelope
	                                 * it stands for, what a pull of it delivers) */
	size_t held;                    /* bytes in `bytes`: len when whole */
	bool stub;                      /* only the header is held: env.body_bytes, env.sig,
	                                 * spec and strategy are NULL */
	struct intent_envelope env;     /* decoded view into bytes */
	uint8_t digest[32];             /* SHA-256 of the whole envelope (a stub's: of the
	                                 * one it stands for), recorded in stubs; replication
	                                 * announces env.id, the intent id (intent_gossip.h) */
	uint16_t bucket;                /* anti-entropy bucket of the key */
	uint64_t received_ms;           /* wall ms this node committed it */
	char from[INTENT_FROM_MAX + 1]; /* "api" or the peer it came from */
};

struct intent_store_hooks {
	void *ctx;
	/* Make `item` durable (replacing `replaced`, which may be NULL)
	 * before the store changes in memory; nonzero refuses the offer with
	 * INTENT_R_STORE. NULL: nothing to persist (tests, the simulator). */
	int (*persist)(void *ctx, const struct intent_item *item,
	               const struct intent_item *replaced);
	/* Extra checks of the driver's (shoald parses App manifests as YAML,
	 * which the core does not link), run on every source after the spec
	 * schema; nonzero refuses with the reason set in err. They must be
	 * pure functions of the envelope so every node agrees. May be NULL. */
	int (*validate)(void *ctx, const struct intent_envelope *e, struct intent_error *err);
	/* Forget a collected tombstone; errors are retried at the next gc. */
	int (*forget)(void *ctx, const struct intent_item *item);
	/* Told after each commit, including pending envelopes committed
	 * later when their grant arrives, and a stub filled in. May be NULL. */
	void (*committed)(void *ctx, const struct intent_item *item);
	/* Keep this put whole? Asked of every App, EgressPolicy, Upgrade and
	 * AlertRule put about to be committed (item is not in the store yet;
	 * the store may be read, not changed); false commits a stub instead.
	 * NULL: everything stays whole. */
	bool (*keep_whole)(void *ctx, const struct intent_store *s, const struct intent_item *item);
};

struct intent_store_config {
	const struct trust_roots *roots; /* borrowed; must outlive the store */
	uint64_t horizon_ms;             /* 0: INTENT_HORIZON_MS */
	uint64_t skew_ms;                /* 0: INTENT_SKEW_MS */
	size_t pending_max;              /* 0: INTENT_PENDING_MAX */
};

/* What came in, and what decoding learned about it. */
struct intent_offer {
	const uint8_t *bytes; /* binary envelope (copied if kept) */
	size_t len;
	uint64_t now_ms; /* the driver's wall clock */
	enum intent_source source;
	const char *from;         /* "api" or a peer name; truncated to INTENT_FROM_MAX */
	const uint8_t *expect_id; /* the id it was announced under, or NULL */
	/* filled in once the envelope decodes (zero otherwise): */
	uint8_t id[32];
	uint64_t version;
	enum intent_kind kind;
	char name[INTENT_NAME_MAX + 1];
};

struct intent_store_stats {
	uint64_t accepted;                 /* offers that became the winner */
	uint64_t duplicates;               /* offers of an envelope already held */
	uint64_t pended;                   /* offers parked waiting for a grant */
	uint64_t rejected[INTENT_R_COUNT]; /* refusals, by reason */
	uint64_t pending_dropped;          /* pending envelopes evicted by the cap */
	uint64_t collected;                /* tombstones collected by gc */
	uint64_t stubbed;                  /* puts committed or cut down as stubs */
	uint64_t filled;                   /* stubs filled in with their body again */
};

/* `env` and `hooks` are copied; hooks may be NULL. */
int intent_store_new(struct intent_store **out, const struct intent_store_config *cfg,
                     const struct shoal_env *env, const struct intent_store_hooks *hooks);
void intent_store_delete(struct intent_store *s);

/* Verify, judge and merge one envelope; see enum intent_source for the
 * checks. On INTENT_REJECTED err says why and the store (items, digests,
 * pending) is exactly as before. */
enum intent_outcome intent_store_offer(struct intent_store *s, struct intent_offer *o,
                                       struct intent_error *err);

/* Put back an envelope this node committed before a restart: the
 * signature is checked again (the disk is not trusted more than a peer),
 * trust and time are not (they were judged when it was committed). No
 * persist hook is called. */
int intent_store_load(struct intent_store *s, const uint8_t *bytes, size_t len,
                      uint64_t received_ms, const char *from, struct intent_error *err);

/* Put back a stub record (item->bytes of a stub) committed before a
 * restart. Nothing can be verified (the signed body is gone); the record
 * is read with the bounded reader and refused (INTENT_R_MALFORMED) when it
 * does not decode. */
int intent_store_load_stub(struct intent_store *s, const uint8_t *record, size_t len,
                           uint64_t received_ms, const char *from, struct intent_error *err);

/* Whether puts of `kind` may be held as stubs: App, EgressPolicy, Upgrade,
 * AlertRule. VirtualSite, KeyGrant and KeyRevoke (what selection and trust
 * are judged by) and every tombstone are always whole. */
bool intent_kind_stubbable(enum intent_kind kind);

/* Drop the body of a held whole put, keeping its stub (persisted through
 * hooks->persist first). 0; SHOAL_E_NOT_FOUND; SHOAL_E_STATE when it is
 * already a stub, a tombstone or of a kind that is never a stub;
 * SHOAL_E_STORE when persisting failed (nothing changed). Not a commit:
 * the replicated state (ids, digests) is unchanged, no hook but persist
 * runs. */
int intent_store_cut(struct intent_store *s, enum intent_kind kind, const char *name);

/* Lookups; NULL if absent. */
const struct intent_item *intent_store_get(const struct intent_store *s, enum intent_kind kind,
                                           const char *name);
const struct intent_item *intent_store_get_id(const struct intent_store *s, const uint8_t id[32]);
/* Items in (kind, name) order: i in [0, count). */
size_t intent_store_count(const struct intent_store *s);
const struct intent_item *intent_store_at(const struct intent_store *s, size_t i);

/* "Kind/name", the item's key for gossip. */
void intent_store_key(const struct intent_item *item, char out[INTENT_KEY_MAX]);
/* Bucket of a key: the first 12 bits of SHA-256("Kind/name"), big-endian
 * (so the first k bits of it are a bucket among 2^k). */
uint16_t intent_store_key_bucket(enum intent_kind kind, const char *name);
/* XOR of the ids of the items in bucket b (< INTENT_BUCKETS), kept up to
 * date incrementally. */
const uint8_t *intent_store_bucket(const struct intent_store *s, uint16_t b);
/* SHA-256 over the count and all INTENT_BUCKETS buckets: equal digests mean equal
 * sets of envelopes (up to SHA-256). Pending envelopes are not included. */
void intent_store_digest(const struct intent_store *s, uint8_t out[32]);

/* How `signer` stands at `hlc`; with GRANTED and grant non-NULL, the
 * covering grant (scope points into the store; valid until it changes). */
enum intent_trust intent_store_judge(const struct intent_store *s, const uint8_t signer[32],
                                     uint64_t hlc, struct intent_grant *grant);
enum intent_status intent_store_status(const struct intent_store *s,
                                       const struct intent_item *item);
const char *intent_status_name(enum intent_status st);

struct selector;
struct shoal_labels;
/* crdt/intent_target.c. The sites a held put applies to: its target (a
 * VirtualSite resolved through this store; nil = every site) AND, for a
 * granted signer, the newest covering grant's scope. 0 with *out set (the
 * caller selector_deletes it); SHOAL_E_STATE when the item is not
 * effective (deleted, signer revoked or not trusted at its HLC);
 * SHOAL_E_NOT_FOUND when it targets a virtual site this store does not
 * hold (it selects nothing here, yet); err says which. */
int intent_store_effective_target(const struct intent_store *s, const struct intent_item *item,
                                  struct selector **out, char *err, size_t errcap);
/* Whether the item applies to a site with these labels: 1 or 0, or the
 * negative codes of intent_store_effective_target (which select nothing). */
int intent_store_selects(const struct intent_store *s, const struct intent_item *item,
                         const struct shoal_labels *labels);

/* Collect tombstones older than now - horizon and pending envelopes that
 * aged past it. Returns how many tombstones went. */
size_t intent_store_gc(struct intent_store *s, uint64_t now_ms);

size_t intent_store_pending(const struct intent_store *s);
/* The newest parked envelope for (kind, name): its HLC and id; false if
 * none is parked. A gossip service reports it as held so that it is not
 * fetched again while it waits (and fetched again once evicted). */
bool intent_store_pending_find(const struct intent_store *s, enum intent_kind kind,
                               const char *name, uint64_t *hlc, uint8_t id[32]);
const struct intent_store_stats *intent_store_stats(const struct intent_store *s);

#endif
