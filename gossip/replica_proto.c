/*
 * replica_proto.c - encoding and bounded decoding of the replication
 * service's messages (drawn in replica_proto.h).
 */
#include "replica_proto.h"

#include <string.h>

#include "shoal/error.h"

/* ---- readers ----------------------------------------------------------- */

static int read_array_n(const uint8_t **pos, const uint8_t *end, uint32_t want)
{
	const uint8_t *q = *pos;
	uint32_t n;
	int rc = shoal_mp_read_array(&q, end, &n);
	if (rc < 0)
		return rc;
	if (n != want)
		return SHOAL_E_MALFORMED;
	*pos = q;
	return 0;
}

static int read_key(const uint8_t **pos, const uint8_t *end, const uint8_t **key, uint32_t *len)
{
	const uint8_t *q = *pos;
	int rc = shoal_mp_read_bin(&q, end, key, len);
	if (rc < 0)
		return rc;
	if (*len == 0 || *len > REPLICA_KEY_MAX)
		return SHOAL_E_RANGE;
	*pos = q;
	return 0;
}

static int read_digest(const uint8_t **pos, const uint8_t *end, const uint8_t **d)
{
	const uint8_t *q = *pos;
	uint32_t len;
	int rc = shoal_mp_read_bin(&q, end, d, &len);
	if (rc < 0)
		return rc;
	if (len != REPLICA_DIGEST_LEN)
		return SHOAL_E_RANGE;
	*pos = q;
	return 0;
}

static int read_u32(const uint8_t **pos, const uint8_t *end, uint32_t *v)
{
	uint64_t x;
	int rc = shoal_mp_read_uint_range(pos, end, 0, UINT32_MAX, &x);
	if (rc == 0)
		*v = (uint32_t)x;
	return rc;
}

static void pack_bin(msgpack_packer *pk, const void *p, uint32_t len)
{
	msgpack_pack_bin(pk, len);
	msgpack_pack_bin_body(pk, p, len);
}

/* ---- announcement ------------------------------------------------------- */

int replica_proto_encode_announce(struct shoal_buf *b, const struct replica_item *it)
{
	msgpack_packer pk;
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, 5);
	msgpack_pack_uint8(&pk, REPLICA_MSG_ANNOUNCE);
	pack_bin(&pk, it->key, it->key_len);
	msgpack_pack_uint64(&pk, it->version);
	pack_bin(&pk, it->digest, REPLICA_DIGEST_LEN);
	msgpack_pack_uint32(&pk, it->size);
	return b->err;
}

int replica_proto_decode_announce(const uint8_t *buf, size_t len, struct replica_wire_item *out)
{
	const uint8_t *pos = buf, *end = buf + len;
	uint64_t type;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = read_array_n(&pos, end, 5)) < 0)
		return rc;
	if ((rc = shoal_mp_read_uint(&pos, end, &type)) < 0)
		return rc;
	if (type != REPLICA_MSG_ANNOUNCE)
		return SHOAL_E_MALFORMED;
	if ((rc = read_key(&pos, end, &out->key, &out->key_len)) < 0 ||
	    (rc = shoal_mp_read_uint(&pos, end, &out->version)) < 0 ||
	    (rc = read_digest(&pos, end, &out->digest)) < 0 ||
	    (rc = read_u32(&pos, end, &out->size)) < 0)
		return rc;
	return pos == end ? 0 : SHOAL_E_MALFORMED;
}

/* ---- stream messages ---------------------------------------------------- */

int replica_proto_type(const uint8_t *buf, size_t len)
{
	const uint8_t *pos = buf, *end = buf + len;
	uint32_t n;
	uint64_t type;
	int rc;

	if ((rc = shoal_mp_read_array(&pos, end, &n)) < 0)
		return rc;
	if (n == 0)
		return SHOAL_E_MALFORMED;
	if ((rc = shoal_mp_read_uint(&pos, end, &type)) < 0)
		return rc;
	if (type < REPLICA_MSG_PULL || type > REPLICA_MSG_AE_DIFFER)
		return SHOAL_E_MALFORMED;
	return (int)type;
}

int replica_proto_encode_list_head(struct shoal_buf *b, uint8_t type, uint32_t buckets, uint32_t n)
{
	msgpack_packer pk;
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, type == REPLICA_MSG_AE_LIST ? 3 : 2);
	msgpack_pack_uint8(&pk, type);
	if (type == REPLICA_MSG_AE_LIST)
		msgpack_pack_uint16(&pk, (uint16_t)buckets);
	msgpack_pack_array(&pk, n);
	return b->err;
}

int replica_proto_encode_pull_entry(struct shoal_buf *b, const uint8_t *key, uint32_t key_len,
                                    const uint8_t *digest)
{
	msgpack_packer pk;
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, 2);
	pack_bin(&pk, key, key_len);
	pack_bin(&pk, digest, REPLICA_DIGEST_LEN);
	return b->err;
}

int replica_proto_encode_items_entry(struct shoal_buf *b, const struct replica_item *it,
                                     const uint8_t *body)
{
	msgpack_packer pk;
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, 4);
	pack_bin(&pk, it->key, it->key_len);
	msgpack_pack_uint64(&pk, it->version);
	pack_bin(&pk, it->digest, REPLICA_DIGEST_LEN);
	pack_bin(&pk, body, it->size);
	return b->err;
}

int replica_proto_encode_list_entry(struct shoal_buf *b, const struct replica_item *it)
{
	msgpack_packer pk;
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, 4);
	pack_bin(&pk, it->key, it->key_len);
	msgpack_pack_uint64(&pk, it->version);
	pack_bin(&pk, it->digest, REPLICA_DIGEST_LEN);
	msgpack_pack_uint32(&pk, it->size);
	return b->err;
}

/* array(4) + key bin + u64 + digest bin: headers at their largest. */
size_t replica_proto_list_entry_max(uint32_t key_len)
{
	return 1 + (2 + key_len) + 9 + (2 + REPLICA_DIGEST_LEN) + 5;
}

size_t replica_proto_items_entry_max(uint32_t key_len, uint32_t body_len)
{
	return 1 + (2 + key_len) + 9 + (2 + REPLICA_DIGEST_LEN) + (5 + (size_t)body_len);
}

/* Read one entry of a list of `type`. */
static int read_entry(const uint8_t **pos, const uint8_t *end, uint8_t type,
                      struct replica_wire_item *out)
{
	const uint8_t *q = *pos;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = read_array_n(&q, end, type == REPLICA_MSG_PULL ? 2 : 4)) < 0)
		return rc;
	if ((rc = read_key(&q, end, &out->key, &out->key_len)) < 0)
		return rc;
	if (type != REPLICA_MSG_PULL && (rc = shoal_mp_read_uint(&q, end, &out->version)) < 0)
		return rc;
	if ((rc = read_digest(&q, end, &out->digest)) < 0)
		return rc;
	if (type == REPLICA_MSG_ITEMS) {
		if ((rc = shoal_mp_read_bin(&q, end, &out->body, &out->size)) < 0)
			return rc;
		if (out->size > REPLICA_BODY_MAX)
			return SHOAL_E_TOO_BIG;
	} else if (type == REPLICA_MSG_AE_LIST) {
		if ((rc = read_u32(&q, end, &out->size)) < 0)
			return rc;
	}
	*pos = q;
	return 0;
}

int replica_proto_decode_list(const uint8_t *buf, size_t len, uint8_t type, uint32_t max,
                              struct replica_wire_list *out)
{
	const uint8_t *pos = buf, *end = buf + len;
	struct replica_wire_item e;
	uint64_t t, v;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = read_array_n(&pos, end, type == REPLICA_MSG_AE_LIST ? 3 : 2)) < 0)
		return rc;
	if ((rc = shoal_mp_read_uint(&pos, end, &t)) < 0)
		return rc;
	if (t != type)
		return SHOAL_E_MALFORMED;
	if (type == REPLICA_MSG_AE_LIST) {
		if ((rc = shoal_mp_read_uint_range(&pos, end, 1, REPLICA_BUCKETS_MAX, &v)) < 0)
			return rc;
		if ((v & (v - 1)) != 0)
			return SHOAL_E_RANGE;
		out->buckets = (uint32_t)v;
	}
	if ((rc = shoal_mp_read_array(&pos, end, &out->n)) < 0)
		return rc;
	if (out->n > max || (type == REPLICA_MSG_PULL && out->n == 0))
		return SHOAL_E_RANGE;
	out->type = type;
	out->pos = pos;
	out->end = end;
	for (uint32_t i = 0; i < out->n; i++)
		if ((rc = read_entry(&pos, end, type, &e)) < 0)
			return rc;
	return pos == end ? 0 : SHOAL_E_MALFORMED;
}

int replica_proto_next(struct replica_wire_list *l, struct replica_wire_item *out)
{
	return read_entry(&l->pos, l->end, l->type, out);
}

/* An AE_ROOT or AE_HELLO has 3 elements, or 4 with a scope: the scope is
 * written only when it narrows, so an exchange between full nodes reads
 * exactly as before to a peer that knows no scope. */
static int read_ae_array(const uint8_t **pos, const uint8_t *end, uint32_t *n)
{
	const uint8_t *q = *pos;
	int rc = shoal_mp_read_array(&q, end, n);
	if (rc < 0)
		return rc;
	if (*n != 3 && *n != 4)
		return SHOAL_E_MALFORMED;
	*pos = q;
	return 0;
}

static int read_scope(const uint8_t **pos, const uint8_t *end, uint32_t n, uint32_t *scope)
{
	uint64_t v = 0;
	int rc = n == 4 ? shoal_mp_read_uint_range(pos, end, 0, UINT32_MAX, &v) : 0;
	if (rc < 0)
		return rc;
	*scope = (uint32_t)v;
	return 0;
}

int replica_proto_encode_hello(struct shoal_buf *b, uint32_t buckets, const uint64_t *hashes,
                               uint32_t scope)
{
	msgpack_packer pk;
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, scope != 0 ? 4 : 3);
	msgpack_pack_uint8(&pk, REPLICA_MSG_AE_HELLO);
	msgpack_pack_uint16(&pk, (uint16_t)buckets);
	msgpack_pack_bin(&pk, 8 * buckets);
	for (uint32_t i = 0; i < buckets; i++) {
		uint8_t be[8];
		for (int j = 0; j < 8; j++)
			be[j] = (uint8_t)(hashes[i] >> (56 - 8 * j));
		msgpack_pack_bin_body(&pk, be, 8);
	}
	if (scope != 0)
		msgpack_pack_uint32(&pk, scope);
	return b->err;
}

int replica_proto_decode_hello(const uint8_t *buf, size_t len, uint32_t *buckets,
                               const uint8_t **hashes, uint32_t *scope)
{
	const uint8_t *pos = buf, *end = buf + len;
	uint64_t t, v;
	uint32_t hl, n;
	int rc;

	if ((rc = read_ae_array(&pos, end, &n)) < 0)
		return rc;
	if ((rc = shoal_mp_read_uint(&pos, end, &t)) < 0)
		return rc;
	if (t != REPLICA_MSG_AE_HELLO)
		return SHOAL_E_MALFORMED;
	if ((rc = shoal_mp_read_uint_range(&pos, end, 1, REPLICA_BUCKETS_MAX, &v)) < 0)
		return rc;
	if ((v & (v - 1)) != 0)
		return SHOAL_E_RANGE;
	if ((rc = shoal_mp_read_bin(&pos, end, hashes, &hl)) < 0)
		return rc;
	if (hl != 8 * v)
		return SHOAL_E_RANGE;
	if ((rc = read_scope(&pos, end, n, scope)) < 0)
		return rc;
	*buckets = (uint32_t)v;
	return pos == end ? 0 : SHOAL_E_MALFORMED;
}

int replica_proto_encode_root(struct shoal_buf *b, uint32_t buckets, uint64_t root, uint32_t scope)
{
	msgpack_packer pk;
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, scope != 0 ? 4 : 3);
	msgpack_pack_uint8(&pk, REPLICA_MSG_AE_ROOT);
	msgpack_pack_uint16(&pk, (uint16_t)buckets);
	msgpack_pack_uint64(&pk, root);
	if (scope != 0)
		msgpack_pack_uint32(&pk, scope);
	return b->err;
}

int replica_proto_decode_root(const uint8_t *buf, size_t len, uint32_t *buckets, uint64_t *root,
                              uint32_t *scope)
{
	const uint8_t *pos = buf, *end = buf + len;
	uint64_t t, v;
	uint32_t n;
	int rc;

	if ((rc = read_ae_array(&pos, end, &n)) < 0)
		return rc;
	if ((rc = shoal_mp_read_uint(&pos, end, &t)) < 0)
		return rc;
	if (t != REPLICA_MSG_AE_ROOT)
		return SHOAL_E_MALFORMED;
	if ((rc = shoal_mp_read_uint_range(&pos, end, 1, REPLICA_BUCKETS_MAX, &v)) < 0)
		return rc;
	if ((v & (v - 1)) != 0)
		return SHOAL_E_RANGE;
	if ((rc = shoal_mp_read_uint(&pos, end, root)) < 0)
		return rc;
	if ((rc = read_scope(&pos, end, n, scope)) < 0)
		return rc;
	*buckets = (uint32_t)v;
	return pos == end ? 0 : SHOAL_E_MALFORMED;
}

int replica_proto_encode_differ(struct shoal_buf *b)
{
	msgpack_packer pk;
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_uint8(&pk, REPLICA_MSG_AE_DIFFER);
	return b->err;
}
