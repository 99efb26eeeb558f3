/*
 * swim_proto.h - SWIM wire messages: encoding with msgpack-c into capped
 * buffers, decoding with the bounded reader. Internal to gossip/.
 *
 * Everything on the wire is msgpack. A datagram and a stream message are each
 * sealed whole (seal.h); what is drawn here is the plaintext inside the seal.
 *
 * Datagram (<= udp_max bytes after sealing, so the plaintext is at most
 * udp_max - SHOAL_SEAL_OVERHEAD):
 *
 *   +--------+-------------+-----------------------------------------+
 *   | 0x92   | proto = 1   | array(n) of messages                    |
 *   | arr(2) | positive int| [msg 1] [msg 2] ... [msg n]             |
 *   +--------+-------------+-----------------------------------------+
 *
 * Messages, each a msgpack array whose first element is its type:
 *
 *   PING      [1, seq u32, target_name str, sender_name str]
 *   ACK       [2, seq u32]
 *   NACK      [3, seq u32]
 *   PING_REQ  [4, seq u32, target_name str, target_addr bin(4|16), port u16]
 *   ALIVE     [5, body bin, sig bin(64)]
 *               body = [name str, incarnation u32, addr bin(4|16), port u16,
 *                       pubkey bin(32), labels map{str: str}, version str]
 *               sig  = Ed25519(body bytes) by `pubkey`
 *   SUSPECT   [6, name str, incarnation u32, from_name str]
 *   DEAD      [7, name str, incarnation u32, from_name str]
 *   LEAVE     [8, body bin, sig bin(64)]
 *               body = [name str, incarnation u32]
 *               sig  = Ed25519(body bytes) by the member's key
 *   KEYOP     [9, op_id u64, op u8 (1 install, 2 use, 3 remove), key bin(32)]
 *   USER      [10, payload bin (1..512)]   opaque to SWIM: a layered service's
 *               message (replica.h announcements), always placed after the
 *               membership messages of a datagram
 *
 * Stream messages (push-pull anti-entropy, one sealed message each):
 *
 *   PP_HELLO  [20, join bool, buckets u16 (power of two, 1..1024),
 *              hashes bin(8 * buckets)]       client -> server
 *               hashes: one big-endian u64 per bucket
 *   PP_STATES [21, buckets u16, [bucket index u16, ...], [entry, ...]]
 *               entry = [state u8 (0..3), incarnation u32, body bin, sig bin(64)]
 *               (body/sig: the member's last signed ALIVE record)
 *
 * Stream types 30..39 belong to the service layered on SWIM (replica_proto.h).
 *
 * Field rules, all checked on decode:
 *   name     1..64 bytes of [A-Za-z0-9._-], first byte alphanumeric
 *   labels   a map of str -> str, keys non-empty, keys in strictly
 *            ascending byte order (so unique and canonical), no NUL byte in
 *            keys or values, whole map <= 512 bytes encoded
 *   version  0..32 printable ASCII bytes
 *   port     1..65535; addr exactly 4 or 16 bytes
 *   every array has exactly the element count shown; a signed body has no
 *   bytes after its array; a datagram has no bytes after its message list.
 *
 * Decoders never allocate: names, bodies and labels are returned as pointers
 * into the input buffer and live as long as it does.
 */
#ifndef SHOAL_GOSSIP_SWIM_PROTO_H
#define SHOAL_GOSSIP_SWIM_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shoal/env.h"
#include "shoal/mp.h"
#include "shoal/swim.h"

#define SWIM_PROTO_VERSION 1
#define SWIM_SIG_LEN       64
#define SWIM_PK_LEN        32
/* Largest encoded ALIVE body: name, incarnation, addr, port, pubkey,
 * labels and version at their caps plus msgpack headers. */
#define SWIM_BODY_MAX 700
/* Largest stream message plaintext (16 MiB). */
#define SWIM_STREAM_MAX     (16u << 20)
#define SWIM_PP_BUCKETS_MAX 1024
/* Bytes a datagram header may take: fixarray(2), proto, array16 header. */
#define SWIM_DGRAM_HDR_MAX 5

enum swim_msg_type {
	SWIM_MSG_PING = 1,
	SWIM_MSG_ACK = 2,
	SWIM_MSG_NACK = 3,
	SWIM_MSG_PING_REQ = 4,
	SWIM_MSG_ALIVE = 5,
	SWIM_MSG_SUSPECT = 6,
	SWIM_MSG_DEAD = 7,
	SWIM_MSG_LEAVE = 8,
	SWIM_MSG_KEYOP = 9,
	SWIM_MSG_USER = 10,
	SWIM_PP_HELLO = 20,
	SWIM_PP_STATES = 21,
};

/* A byte string inside a decoded buffer (not NUL-terminated). */
struct swim_str {
	const uint8_t *p; /* first byte, inside the input */
	uint32_t len;     /* bytes */
};

/* A decoded ALIVE body. */
struct swim_alive_body {
	struct swim_str name;    /* validated site name */
	uint32_t incarnation;    /* the member's incarnation */
	struct shoal_addr addr;  /* where it is reached */
	const uint8_t *pubkey;   /* 32 bytes */
	const uint8_t *labels;   /* encoded labels map */
	uint32_t labels_len;     /* bytes of labels */
	struct swim_str version; /* software version */
};

/* A decoded LEAVE body. */
struct swim_leave_body {
	struct swim_str name;
	uint32_t incarnation;
};

/* One decoded datagram message; which fields are set depends on type. */
struct swim_msg {
	uint8_t type;                 /* enum swim_msg_type */
	uint32_t seq;                 /* PING, ACK, NACK, PING_REQ */
	struct swim_str target;       /* PING, PING_REQ: the member to probe */
	struct swim_str sender;       /* PING: who sent it */
	struct shoal_addr addr;       /* PING_REQ: the target's address */
	struct swim_str name;         /* SUSPECT, DEAD, LEAVE: member concerned */
	uint32_t incarnation;         /* SUSPECT, DEAD, LEAVE */
	struct swim_str from;         /* SUSPECT, DEAD: accuser */
	const uint8_t *body;          /* ALIVE, LEAVE: signed body bytes; USER: payload */
	uint32_t body_len;            /* bytes of body */
	const uint8_t *sig;           /* ALIVE, LEAVE: 64-byte signature */
	struct swim_alive_body alive; /* ALIVE: decoded body */
	uint64_t op_id;               /* KEYOP: dedup id */
	uint8_t op;                   /* KEYOP: enum swim_key_op */
	const uint8_t *key;           /* KEYOP: 32 bytes */
	const uint8_t *raw;           /* the whole encoded message */
	uint32_t raw_len;             /* bytes of raw */
};

/* One decoded push-pull entry. */
struct swim_pp_entry {
	uint8_t state;        /* enum swim_state */
	uint32_t incarnation; /* incarnation of that state */
	const uint8_t *body;  /* the member's signed ALIVE body */
	uint32_t body_len;
	const uint8_t *sig;           /* 64 bytes */
	struct swim_alive_body alive; /* decoded body */
};

/* A decoded PP_HELLO. */
struct swim_pp_hello {
	bool join;             /* "send me everything" */
	uint32_t buckets;      /* power of two in [1, 1024] */
	const uint8_t *hashes; /* 8 * buckets bytes, big-endian u64 each */
};

/* A decoded PP_STATES; iterate its lists with swim_proto_pp_next_*. */
struct swim_pp_states {
	uint32_t buckets;       /* bucket count the indexes refer to */
	uint32_t nidx;          /* bucket indexes listed */
	const uint8_t *idx_pos; /* first index */
	uint32_t nentries;      /* entries listed */
	const uint8_t *ent_pos; /* first entry */
	const uint8_t *end;     /* end of the message */
};

/* ---- readers shared by the decoders --------------------------------- */

int swim_proto_read_u32(const uint8_t **pos, const uint8_t *end, uint32_t *v);
/* A bin of exactly `want` bytes. */
int swim_proto_read_fixed_bin(const uint8_t **pos, const uint8_t *end, uint32_t want,
                              const uint8_t **p);
/* An array header announcing exactly `want` elements. */
int swim_proto_read_array_n(const uint8_t **pos, const uint8_t *end, uint32_t want);
void swim_proto_pack_bin(msgpack_packer *pk, const void *p, uint32_t len);

/* ---- field checks --------------------------------------------------- */

/* 0 or SHOAL_E_RANGE. */
int swim_proto_check_name(const uint8_t *p, uint32_t len);
/* Walk an encoded labels map: 0 or a negative code. */
int swim_proto_check_labels(const uint8_t *p, uint32_t len);
/* 0 or SHOAL_E_RANGE. */
int swim_proto_check_version(const uint8_t *p, uint32_t len);

/* ---- decoding ------------------------------------------------------- */

int swim_proto_decode_alive_body(const uint8_t *body, uint32_t len, struct swim_alive_body *out);
int swim_proto_decode_leave_body(const uint8_t *body, uint32_t len, struct swim_leave_body *out);

/* Read the datagram header [1, [ and return the message count. A wrong
 * protocol number is SHOAL_E_VERSION. */
int swim_proto_datagram_begin(const uint8_t **pos, const uint8_t *end, uint32_t *count);
/* Decode one message and advance past it. Unknown type: SHOAL_E_MALFORMED. */
int swim_proto_decode_msg(const uint8_t **pos, const uint8_t *end, struct swim_msg *m);
/* Decode a whole datagram plaintext without acting on it: 0 if every message
 * is well formed and nothing trails, else the first error. */
int swim_proto_check_datagram(const uint8_t *buf, size_t len, uint32_t *count);

/* Type of a stream message (its first array element), or a negative code. */
int swim_proto_stream_type(const uint8_t *buf, size_t len);
int swim_proto_decode_hello(const uint8_t *buf, size_t len, struct swim_pp_hello *out);
/* Checks every index (< buckets) and every entry, then fills out. */
int swim_proto_decode_states(const uint8_t *buf, size_t len, struct swim_pp_states *out);
/* Iterators over a checked PP_STATES: each returns 0 and advances *pos. */
int swim_proto_pp_next_index(const uint8_t **pos, const uint8_t *end, uint32_t *idx);
int swim_proto_pp_next_entry(const uint8_t **pos, const uint8_t *end, struct swim_pp_entry *e);

/* ---- encoding (into a capped shoal_buf; errors are the buf's sticky err) */

/* Labels as a canonical map: sorted by key, checked, <= SWIM_LABELS_MAX.
 * -EINVAL for an empty or duplicate key, a NUL byte, or too many bytes. */
int swim_proto_encode_labels(struct shoal_buf *b, const struct shoal_label *labels, size_t n);
int swim_proto_encode_alive_body(struct shoal_buf *b, const struct swim_alive_body *a);
int swim_proto_encode_leave_body(struct shoal_buf *b, const uint8_t *name, uint32_t name_len,
                                 uint32_t incarnation);

int swim_proto_encode_ping(struct shoal_buf *b, uint32_t seq, const uint8_t *target,
                           uint32_t target_len, const uint8_t *sender, uint32_t sender_len);
/* ACK or NACK. */
int swim_proto_encode_ack(struct shoal_buf *b, uint8_t type, uint32_t seq);
int swim_proto_encode_ping_req(struct shoal_buf *b, uint32_t seq, const uint8_t *target,
                               uint32_t target_len, const struct shoal_addr *addr);
/* ALIVE or LEAVE: [type, body, sig]. */
int swim_proto_encode_signed(struct shoal_buf *b, uint8_t type, const uint8_t *body,
                             uint32_t body_len, const uint8_t sig[SWIM_SIG_LEN]);
/* SUSPECT or DEAD. */
int swim_proto_encode_accuse(struct shoal_buf *b, uint8_t type, const uint8_t *name,
                             uint32_t name_len, uint32_t incarnation, const uint8_t *from,
                             uint32_t from_len);
int swim_proto_encode_keyop(struct shoal_buf *b, uint64_t op_id, uint8_t op, const uint8_t key[32]);

/* Write the datagram header for `count` messages into out (room for
 * SWIM_DGRAM_HDR_MAX bytes); returns its length. */
size_t swim_proto_datagram_header(uint8_t *out, uint32_t count);

int swim_proto_encode_hello(struct shoal_buf *b, bool join, uint32_t buckets,
                            const uint64_t *hashes);
/* PP_STATES is written in two steps because the entry count leads. */
int swim_proto_encode_states_head(struct shoal_buf *b, uint32_t buckets, const uint32_t *idx,
                                  uint32_t nidx, uint32_t nentries);
int swim_proto_encode_entry(struct shoal_buf *b, uint8_t state, uint32_t incarnation,
                            const uint8_t *body, uint32_t body_len,
                            const uint8_t sig[SWIM_SIG_LEN]);
/* Exact encoded size of one entry. */
size_t swim_proto_entry_size(uint32_t incarnation, uint32_t body_len);

#endif
