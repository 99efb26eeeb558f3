/*
 * replica_internal.h - the inside of struct replica, shared by replica.c
 * (lifecycle, announcements, routing), replica_pull.c (wants, pulls,
 * serving) and replica_ae.c (anti-entropy). Not a public contract.
 *
 * Memory per node: the want table grows on demand up to wants_max entries
 * of ~400 bytes (a settled node holds none), pulls_max pull conversations
 * of ~300 bytes (2.4 KB by default), one anti-entropy conversation.
 */
#ifndef SHOAL_GOSSIP_REPLICA_INTERNAL_H
#define SHOAL_GOSSIP_REPLICA_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "shoal/mp.h"
#include "shoal/replica.h"

#include "replica_proto.h"
#include "swim_proto.h" /* SWIM_STREAM_MAX */

#define REPLICA_PULLS_MAX 64
/* Largest message the service writes: under SWIM's stream cap with room for
 * the seal and the driver's frame (node/transport.h NODE_FRAME_MAX). */
#define REPLICA_MSG_MAX (SWIM_STREAM_MAX - 4096)
/* An anti-entropy answer that asks for more than this many items pulls them
 * quietly (without re-announcing): a bulk catch-up is news to nobody else. */
#define REPLICA_AE_REGOSSIP_MAX 32

enum replica_want_state {
	WANT_FREE = 0,
	WANT_QUEUED = 1,   /* waiting for a pull slot or its not_before */
	WANT_INFLIGHT = 2, /* asked for in pulls[pull] */
};

/* One item this node lacks and is fetching. */
struct replica_want {
	uint8_t state;       /* enum replica_want_state */
	uint8_t key_len;     /* bytes of key */
	uint8_t nsrc;        /* announcers in src[] */
	uint8_t cur;         /* src[] index to try next; >= nsrc: a random member */
	bool quiet;          /* from a bulk anti-entropy answer: do not re-announce */
	bool ae_only;        /* listed by anti-entropy, no announcement heard (yet) */
	uint16_t tries;      /* pulls attempted */
	uint32_t size;       /* announced body bytes */
	uint32_t pull;       /* WANT_INFLIGHT: index in pulls[] */
	uint64_t version;    /* announced version */
	uint64_t not_before; /* WANT_QUEUED: earliest next attempt */
	uint8_t digest[REPLICA_DIGEST_LEN];         /* announced digest: the dedup key */
	uint8_t key[REPLICA_KEY_MAX];               /* the item's key */
	struct shoal_addr src[REPLICA_SOURCES_MAX]; /* nodes that announced or listed it */
	struct shoal_addr at;                       /* WANT_INFLIGHT: the node asked */
};

/* One pull conversation we opened. */
struct replica_pull {
	bool used;
	uint64_t conv;                    /* stream id */
	uint64_t deadline;                /* fail over then */
	struct shoal_addr peer;           /* the node asked */
	uint32_t n;                       /* wants asked for */
	uint32_t want[REPLICA_BATCH_MAX]; /* their indexes in wants[] */
};

/* How many times (ae_first each) the first scheduled exchange waits for the
 * join's exchange and its pulls (replica_ae_tick). */
#define REPLICA_FIRST_WAITS 10

/* The anti-entropy exchange we started (at most one at a time). */
struct replica_ae {
	bool active;
	bool root;      /* the request in flight is an AE_ROOT */
	uint32_t scope; /* REPLICA_SCOPE_* of this exchange */
	uint64_t conv;
	uint64_t deadline;
	struct shoal_addr peer;
};

struct replica {
	struct replica_config cfg;
	struct swim *s;              /* borrowed */
	const struct shoal_env *env; /* borrowed */
	struct replica_app app;      /* copy */

	struct replica_want *wants; /* slots; state WANT_FREE when unused */
	uint32_t wants_alloc;       /* slots allocated (<= cfg.wants_max) */
	uint32_t nwants;            /* slots in use */

	struct replica_pull *pulls; /* cfg.pulls_max slots */
	uint32_t npulls;

	struct replica_ae ae;
	uint64_t next_ae;     /* next periodic exchange; UINT64_MAX when off */
	bool first_due;       /* next_ae is still the first one, ae_first after start */
	uint32_t first_waits; /* times it waited for an earlier exchange's pulls */
	uint64_t sched_at;    /* run the pull scheduler then; UINT64_MAX = nothing due */

	struct shoal_buf buf; /* one outgoing message being encoded */
	struct replica_stats st;
};

/* replica.c */
/* Queue an announcement of an item this node holds. */
int replica_announce_item(struct replica *r, const struct replica_item *it);

/* replica_pull.c */
struct replica_want *replica_want_find(struct replica *r, const uint8_t *digest);
/* Want an item from `src` (NULL: none known yet); `listed`: src listed it
 * in an anti-entropy answer rather than announcing it. Merges with a want of
 * the same digest. 0, or SHOAL_E_TOO_BIG with the table full. */
int replica_want_add(struct replica *r, uint64_t now, const struct replica_wire_item *it,
                     const struct shoal_addr *src, bool quiet, bool listed);
/* Does this node lack `it` (absent, older, or same version other digest)? */
bool replica_lacks(struct replica *r, const struct replica_wire_item *it);
/* Start pulls for the wants that are due. */
void replica_schedule(struct replica *r, uint64_t now);
struct replica_pull *replica_pull_of_conv(struct replica *r, uint64_t conv);
/* The whole pull failed: each of its wants moves to its next source. */
void replica_pull_fail(struct replica *r, uint64_t now, struct replica_pull *p, bool close);
/* The answer to pull p: judge each body, offer it, end the pull. */
void replica_on_items(struct replica *r, uint64_t now, struct replica_pull *p, const uint8_t *plain,
                      size_t len);
/* Answer a peer's PULL on its inbound conversation and close it. */
void replica_serve_pull(struct replica *r, uint64_t conv, const struct shoal_addr *from,
                        const uint8_t *plain, size_t len);

/* replica_ae.c */
void replica_ae_tick(struct replica *r, uint64_t now);
/* A join through `peer` completed: exchange with it now (replica_ae.c). */
void replica_ae_on_joined(struct replica *r, uint64_t now, const struct shoal_addr *peer);
uint64_t replica_ae_deadline(const struct replica *r);
void replica_ae_serve(struct replica *r, uint64_t conv, const struct shoal_addr *from,
                      const uint8_t *plain, size_t len);
void replica_ae_on_list(struct replica *r, uint64_t now, const uint8_t *plain, size_t len);
void replica_ae_serve_root(struct replica *r, uint64_t conv, const struct shoal_addr *from,
                           const uint8_t *plain, size_t len);
void replica_ae_on_differ(struct replica *r, uint64_t now);
/* End our exchange; close the stream if asked. */
void replica_ae_end(struct replica *r, bool close);

#endif
