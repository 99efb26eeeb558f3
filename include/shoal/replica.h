/*
 * replica.h - replication of application items over the mesh, sans-IO:
 * each node receives each item's body about once.
 *
 * Piggybacked gossip delivers every message to every node lambda*log N
 * times; fine for a 100-byte membership record, ruinous for a 20 KB signed
 * intent or for 10k health records. Here only a short announcement
 * (key, version, digest, size) rides SWIM's gossip (as a user message); a
 * node that lacks the item pulls the body once over a stream from the node
 * it heard the announcement from, then announces it in turn. Periodic
 * anti-entropy compares bucketed digests with one random member and pulls
 * only what differs, so a node that was away catches up in proportion to
 * what it missed; a node that (re)joins runs its first exchange with the
 * seed it joined through as soon as the join completes.
 * docs/protocol.md draws the messages.
 *
 * The service knows nothing of what an item means. The application (the
 * intent store, the health table) implements struct replica_app: it answers
 * lookups, serves bodies, judges offered bodies (verifies and commits, or
 * rejects) and summarises its items into bucket hashes. The service checks
 * only that a pulled body matches the digest it was announced with (the
 * SHA-256 of the body, or the app's own digest of it).
 *
 * A replica attaches to one swim (swim_set_user) and runs inside its calls:
 * its timers are folded into swim_tick / swim_next_deadline, its datagrams
 * and streams arrive through swim_on_datagram / swim_on_stream. The driver
 * needs no other change than creating it.
 *
 * Thread-safety: none; a replica belongs to its swim's thread. The app's
 * callbacks run inside swim and replica calls and must not call back into
 * the replica or the swim, except replica_announce from nowhere but the
 * driver.
 */
#ifndef SHOAL_REPLICA_H
#define SHOAL_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shoal/env.h"
#include "shoal/swim.h"

#define REPLICA_KEY_MAX     255        /* item key, bytes (1..255) */
#define REPLICA_DIGEST_LEN  32         /* SHA-256 of the body */
#define REPLICA_BODY_MAX    (4u << 20) /* hard cap on one body, bytes */
#define REPLICA_BUCKETS_MAX 4096       /* anti-entropy buckets */
#define REPLICA_BATCH_MAX   64         /* items asked for in one pull */
#define REPLICA_SOURCES_MAX 4          /* announcers remembered per wanted item */

/* One item's identity as announced and listed. */
struct replica_item {
	const uint8_t *key;                 /* key_len bytes; borrowed */
	uint32_t key_len;                   /* 1..REPLICA_KEY_MAX */
	uint64_t version;                   /* higher is newer, as far as announcements go */
	uint8_t digest[REPLICA_DIGEST_LEN]; /* SHA-256 of the body (or app.digest) */
	uint32_t size;                      /* body bytes */
};

enum replica_verdict {
	REPLICA_ACCEPTED = 0,  /* verified and committed: new to this node */
	REPLICA_DUPLICATE = 1, /* already held (or superseded): nothing changed */
	REPLICA_REJECTED = 2,  /* refused; nothing changed */
	/* Committed, but this node will not serve the body (a leaf keeps only
	 * the header of an intent that does not select it), or everyone that
	 * could want it has it already (a body a node asked for again): the
	 * service does not announce it in turn. */
	REPLICA_ACCEPTED_QUIET = 3,
};

/* Called once per item by bucket_items; non-zero stops the walk. */
typedef int (*replica_item_fn)(void *cbctx, const struct replica_item *it);

struct replica_app {
	void *ctx; /* handed back to every callback */
	/* The version and digest held under `key`: 0, or SHOAL_E_NOT_FOUND. */
	int (*lookup)(void *ctx, const uint8_t *key, uint32_t key_len, uint64_t *version,
	              uint8_t digest[REPLICA_DIGEST_LEN]);
	/* The item held under `key` and its body, to serve a pull: 0 or
	 * SHOAL_E_NOT_FOUND. `it->key` may point at the caller's key. The body
	 * stays valid until the next call into the app. */
	int (*fetch)(void *ctx, const uint8_t *key, uint32_t key_len, struct replica_item *it,
	             const uint8_t **body);
	/* A pulled body whose SHA-256 matches it->digest: verify and commit.
	 * On REPLICA_REJECTED set *reason to a static string. */
	enum replica_verdict (*offer)(void *ctx, uint64_t now, const struct replica_item *it,
	                              const uint8_t *body, const struct shoal_addr *from,
	                              const char **reason);
	/* Anti-entropy: for each of `buckets` buckets (a power of two), a hash
	 * summarising the items in that bucket. The service only compares them,
	 * so the app chooses how to bucket and hash as long as every node does
	 * it alike: replica_bucket and the XOR of replica_item_hash are the
	 * default; the intent store keeps its own (XOR of intent ids by a hash
	 * of the key). 0 or a negative code. */
	int (*bucket_hashes)(void *ctx, uint32_t buckets, uint64_t *out);
	/* Call fn for every item in one bucket. 0 or a negative code. */
	int (*bucket_items)(void *ctx, uint32_t buckets, uint32_t bucket, replica_item_fn fn,
	                    void *cbctx);
	/* Optional. The digest of a served body, when it is not the SHA-256 of
	 * all its bytes: the intent id covers the signed body inside the
	 * envelope, not the signature around it. 0, or nonzero if the bytes
	 * cannot be digested (counted as a bad body, not offered). NULL:
	 * replica_digest. */
	int (*digest)(void *ctx, const uint8_t *key, uint32_t key_len, const uint8_t *body,
	              uint32_t len, uint8_t out[REPLICA_DIGEST_LEN]);
	/* Optional. An item this node lacks was first heard of, from `from`
	 * (an announcement's sender, or the member that listed it in an
	 * anti-entropy answer); it is now wanted. For logs; may be NULL. */
	void (*heard)(void *ctx, const struct replica_item *it, const struct shoal_addr *from);
	/* Optional. Is the item under `key` bulk: announced with
	 * swim_user_broadcast_bulk (never to a quiet member) and left out of
	 * an anti-entropy exchange scoped REPLICA_SCOPE_NO_BULK? NULL: none. */
	bool (*bulk)(void *ctx, const uint8_t *key, uint32_t key_len);
	/* Optional. bucket_hashes and bucket_items over the items a scope
	 * (REPLICA_SCOPE_*) keeps. NULL: the scope is ignored (all items). */
	int (*scoped_hashes)(void *ctx, uint32_t scope, uint32_t buckets, uint64_t *out);
	int (*scoped_items)(void *ctx, uint32_t scope, uint32_t buckets, uint32_t bucket,
	                    replica_item_fn fn, void *cbctx);
};

/* Anti-entropy scopes, flags on the wire (docs/protocol.md, "Item
 * replication"): an exchange with a quiet member, or started by one,
 * compares and lists no bulk item, so a leaf site never downloads the
 * fleet's health lists. */
#define REPLICA_SCOPE_NO_BULK 0x01u

/* Several applications on one service (one swim carries one service):
 * each claims the keys that begin with its prefix, the first match wins,
 * and an empty prefix, last, takes every other key. The keys on the wire
 * are the apps' own, prefix included, so an app chooses a prefix no other
 * app's key can start with (the health table's "~" against "Kind/name").
 * Anti-entropy compares the XOR of the apps' bucket hashes and lists every
 * app's items in a differing bucket. replica_mux_app gives the combined
 * app to pass to replica_new; the mux must outlive the replica. */
#define REPLICA_MUX_APPS 4
struct replica_mux_route {
	const char *prefix; /* NUL-terminated; "" = every key no earlier route claims */
	const struct replica_app *app;
	bool bulk; /* the app's items are bulk (replica_app.bulk) */
};
struct replica_mux;
/* -EINVAL for no routes, too many, a NULL app; -ENOMEM. Routes are copied
 * (the apps they point at must outlive the mux). */
int replica_mux_new(struct replica_mux **out, const struct replica_mux_route *routes, size_t n);
void replica_mux_delete(struct replica_mux *m);
const struct replica_app *replica_mux_app(const struct replica_mux *m);

/* Helpers the app uses so that every node buckets and hashes alike. */
uint32_t replica_bucket(const uint8_t *key, uint32_t key_len, uint32_t buckets);
uint64_t replica_item_hash(const struct replica_item *it);
void replica_digest(const uint8_t *body, size_t len, uint8_t out[REPLICA_DIGEST_LEN]);

struct replica_config {
	uint32_t retransmit_mult; /* announcement sends: mult*ceil(log10(N+1)); 0 = swim's */
	/* The same for bulk items (replica_app.bulk); 0 = retransmit_mult's. */
	uint32_t bulk_retransmit_mult;
	uint64_t pull_timeout_us; /* a pull not answered by then fails over */
	uint64_t retry_us;        /* wait before retrying once every announcer failed */
	uint32_t pulls_max;       /* pull conversations in flight, 1..64 */
	uint32_t batch_max;       /* items per pull, 1..REPLICA_BATCH_MAX */
	uint32_t wants_max;       /* items wanted (queued or in flight) at once */
	uint32_t tries_max;       /* sources tried per item before giving it up to anti-entropy */
	uint32_t body_max;        /* bodies larger than this are not pulled or served */
	uint64_t ae_interval_us;  /* anti-entropy, jittered +-50%; 0 = off */
	uint64_t ae_first_us;     /* the first scheduled exchange after start; a
	                           * completed join also starts one at once, with
	                           * the seed that answered it */
	uint32_t ae_buckets;      /* power of two, 1..REPLICA_BUCKETS_MAX */
	uint32_t ae_list_max;     /* entries in one anti-entropy answer */
	bool quiet;               /* this node is quiet (a leaf): every anti-entropy
	                           * exchange it starts is scoped REPLICA_SCOPE_NO_BULK */
};

/* LAN profile: bulk announcements sent 3 x ceil(log10(N + 1)) times (15 at
 * 10,000 nodes; others swim's 4 x, 20), 2 s pull timeout, 1 s retry, 8
 * pulls of up to 32 items, 4096 wants, 6 tries, 1 MiB + 64 KiB bodies,
 * anti-entropy every 30 s (first 1 s after start) over 256 buckets, answers
 * of up to 4096 entries. */
void replica_config_defaults(struct replica_config *cfg);
/* Every timer divided by `divisor` (tests use 10, like swim_config_scale). */
void replica_config_scale(struct replica_config *cfg, uint32_t divisor);

struct replica_stats {
	uint64_t announces_in;    /* well-formed announcements heard */
	uint64_t announces_out;   /* announcements queued (ours and re-announced) */
	uint64_t pulls;           /* pull conversations opened */
	uint64_t pull_failures;   /* pulls that broke, timed out or came back malformed */
	uint64_t items_in;        /* bodies received in pull answers */
	uint64_t body_bytes_in;   /* their bytes */
	uint64_t accepted;        /* offers the app accepted */
	uint64_t accepted_quiet;  /* ... of which not to be announced (REPLICA_ACCEPTED_QUIET) */
	uint64_t duplicates;      /* offers the app already had */
	uint64_t rejected;        /* offers the app refused */
	uint64_t bad_bodies;      /* truncated or digest-mismatched bodies (not offered) */
	uint64_t not_held;        /* items a source did not have */
	uint64_t abandoned;       /* wants given up after tries_max (left to anti-entropy) */
	uint64_t wants_dropped;   /* announcements ignored with the want table full */
	uint64_t served_items;    /* bodies we served */
	uint64_t served_bytes;    /* their bytes */
	uint64_t ae_rounds;       /* anti-entropy exchanges we completed */
	uint64_t ae_entries_in;   /* entries listed to us */
	uint64_t ae_served;       /* anti-entropy exchanges we answered */
	uint64_t ae_root_differ;  /* roots differed: the full bucket list followed */
	uint64_t ae_roots_served; /* root probes we answered (ae_served: full lists) */
	uint64_t ae_only;         /* accepted, listed by anti-entropy before any
	                           * announcement of it arrived: what gossip missed */
	uint64_t malformed;       /* bad announcements or stream messages */
};

struct replica;

/* Create a replica on `s` and install its hooks there. `env`, `s` and the
 * app must outlive it. Errors: -EINVAL for a bad config, -ENOMEM,
 * SHOAL_E_STATE if `s` already has a service. */
int replica_new(struct replica **out, const struct replica_config *cfg, struct swim *s,
                const struct shoal_env *env, const struct replica_app *app, uint64_t now);
/* Remove the hooks, close its streams and free it. Delete it before its swim. */
void replica_delete(struct replica *r);

/* Announce an item this node now holds (a local put, committed). The
 * driver must then re-read swim_next_deadline. -EINVAL for a bad key. */
int replica_announce(struct replica *r, uint64_t now, const struct replica_item *it);
/* Start an anti-entropy exchange with a random member now (e.g. after a
 * join or a heal). SHOAL_E_NOT_FOUND if no member is known. */
int replica_sync(struct replica *r, uint64_t now);

/* Want an item no announcement is pending for (an app that held only an
 * item's header needs its body again): it is pulled like an announced one,
 * from `srcs` (n of them, up to REPLICA_SOURCES_MAX kept; may be NULL/0)
 * in order, then from random members, and offered to the app as usual. A
 * want of the same digest already queued only gains the sources. The
 * driver must then re-read swim_next_deadline. 0; -EINVAL for a bad key;
 * SHOAL_E_TOO_BIG when the body is over body_max or the want table is full. */
int replica_want(struct replica *r, uint64_t now, const struct replica_item *it,
                 const struct shoal_addr *srcs, uint32_t n);

/* Items wanted (queued or being pulled). */
uint32_t replica_pending(const struct replica *r);
const struct replica_stats *replica_stats(const struct replica *r);

#endif
