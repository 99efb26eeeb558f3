/*
 * replica_proto.h - the replication service's wire messages. Internal to
 * gossip/. Everything is msgpack inside the seal, like SWIM's messages.
 *
 * Announcement: the payload of a SWIM USER datagram message (swim_proto.h),
 * so it rides membership's piggyback and gossip rounds:
 *
 *   ANNOUNCE  [1, key bin(1..255), version u64, digest bin(32), size u32]
 *
 * Stream messages (types 30..33, routed by SWIM to the service):
 *
 *   PULL      [30, [[key bin, digest bin(32)], ...]]            1..64 wants
 *   ITEMS     [31, [[key bin, version u64, digest bin(32), body bin], ...]]
 *                                                                0..64 bodies
 *   AE_HELLO  [32, buckets u16 (power of two, 1..4096), hashes bin(8*buckets)]
 *               hashes: one big-endian u64 per bucket
 *               [32, buckets, hashes, scope u32]: the same, compared and
 *               listed over the items the scope keeps (REPLICA_SCOPE_*)
 *   AE_LIST   [33, buckets u16, [[key bin, version u64, digest bin(32),
 *                                 size u32], ...]]              0..65536 entries
 *
 * A pull: the client opens a stream, sends PULL, the server answers ITEMS
 * (the bodies it holds, in any order, omitting what it lacks) and closes.
 * Anti-entropy: the client sends AE_HELLO, the server answers AE_LIST with
 * its entries in the buckets whose hashes differ and closes; the client then
 * pulls what it lacks.
 *
 * Decoders check the whole message (every count against the bytes left,
 * every field range) before the caller acts on any of it, and never
 * allocate: keys, digests and bodies point into the input.
 */
#ifndef SHOAL_GOSSIP_REPLICA_PROTO_H
#define SHOAL_GOSSIP_REPLICA_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "shoal/mp.h"
#include "shoal/replica.h"

enum replica_msg_type {
	REPLICA_MSG_ANNOUNCE = 1,
	REPLICA_MSG_PULL = 30,
	REPLICA_MSG_ITEMS = 31,
	REPLICA_MSG_AE_HELLO = 32,
	REPLICA_MSG_AE_LIST = 33,
	REPLICA_MSG_AE_ROOT = 34,   /* [34, B, root(, scope)]: one hash over all B buckets */
	REPLICA_MSG_AE_DIFFER = 35, /* [35]: the roots differ; send a HELLO */
};

#define REPLICA_AE_LIST_HARD_MAX 65536

/* A decoded (key, version, digest, size/body) entry; pointers into input. */
struct replica_wire_item {
	const uint8_t *key;
	uint32_t key_len;
	uint64_t version;
	const uint8_t *digest; /* 32 bytes */
	uint32_t size;         /* ANNOUNCE, AE_LIST: declared size; ITEMS: body_len */
	const uint8_t *body;   /* ITEMS only */
};

/* A decoded list message: PULL, ITEMS or AE_LIST. Iterate with
 * replica_proto_next after a successful decode. */
struct replica_wire_list {
	uint8_t type;
	uint32_t buckets;   /* AE_LIST */
	uint32_t n;         /* entries */
	const uint8_t *pos; /* first entry */
	const uint8_t *end; /* end of message */
};

int replica_proto_encode_announce(struct shoal_buf *b, const struct replica_item *it);
int replica_proto_decode_announce(const uint8_t *buf, size_t len, struct replica_wire_item *out);

/* Type of a stream message, or a negative code. */
int replica_proto_type(const uint8_t *buf, size_t len);

/* List messages are written head first (the count leads), then entries. */
int replica_proto_encode_list_head(struct shoal_buf *b, uint8_t type, uint32_t buckets, uint32_t n);
int replica_proto_encode_pull_entry(struct shoal_buf *b, const uint8_t *key, uint32_t key_len,
                                    const uint8_t *digest);
int replica_proto_encode_items_entry(struct shoal_buf *b, const struct replica_item *it,
                                     const uint8_t *body);
int replica_proto_encode_list_entry(struct shoal_buf *b, const struct replica_item *it);
/* Bytes encode_items_entry / encode_list_entry will take, at most. */
size_t replica_proto_items_entry_max(uint32_t key_len, uint32_t body_len);
size_t replica_proto_list_entry_max(uint32_t key_len);

/* Check a PULL, ITEMS or AE_LIST message whole; `max` caps the entries. */
int replica_proto_decode_list(const uint8_t *buf, size_t len, uint8_t type, uint32_t max,
                              struct replica_wire_list *out);
/* Next entry of a checked list. */
int replica_proto_next(struct replica_wire_list *l, struct replica_wire_item *out);

/* AE_HELLO and AE_ROOT carry a scope (REPLICA_SCOPE_*) only when it is not
 * 0; a decoded message without one has scope 0 (every item). */
int replica_proto_encode_hello(struct shoal_buf *b, uint32_t buckets, const uint64_t *hashes,
                               uint32_t scope);
/* AE_ROOT: the bucket count and one 64-bit hash over all the buckets. */
int replica_proto_encode_root(struct shoal_buf *b, uint32_t buckets, uint64_t root, uint32_t scope);
int replica_proto_decode_root(const uint8_t *buf, size_t len, uint32_t *buckets, uint64_t *root,
                              uint32_t *scope);
/* AE_DIFFER: no body. */
int replica_proto_encode_differ(struct shoal_buf *b);
/* hashes: 8 * buckets bytes, big-endian. */
int replica_proto_decode_hello(const uint8_t *buf, size_t len, uint32_t *buckets,
                               const uint8_t **hashes, uint32_t *scope);

#endif
