/*
 * swim_proto_pp.c - encoding and decoding of the push-pull stream messages,
 * PP_HELLO and PP_STATES (layout in swim_proto.h).
 *
 * Same discipline as the datagram decoders: exact arity, every value range
 * checked, nothing trailing. A PP_STATES is checked whole (every index,
 * every entry and the record inside it) before the caller merges any of
 * it, so a malformed entry late in a 10,000-member message cannot leave a
 * half-applied merge behind.
 */
#include "swim_proto.h"

#include <string.h>

#include "shoal/error.h"

int swim_proto_stream_type(const uint8_t *buf, size_t len)
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
	if (type != SWIM_PP_HELLO && type != SWIM_PP_STATES)
		return SHOAL_E_MALFORMED;
	return (int)type;
}

static int read_buckets(const uint8_t **pos, const uint8_t *end, uint32_t *b)
{
	const uint8_t *q = *pos;
	uint64_t v;
	int rc = shoal_mp_read_uint_range(&q, end, 1, SWIM_PP_BUCKETS_MAX, &v);
	if (rc < 0)
		return rc;
	if ((v & (v - 1)) != 0)
		return SHOAL_E_RANGE; /* not a power of two */
	*b = (uint32_t)v;
	*pos = q;
	return 0;
}

int swim_proto_decode_hello(const uint8_t *buf, size_t len, struct swim_pp_hello *out)
{
	const uint8_t *pos = buf, *end = buf + len;
	struct swim_pp_hello h;
	uint64_t type;
	int rc;

	if ((rc = swim_proto_read_array_n(&pos, end, 4)) < 0)
		return rc;
	if ((rc = shoal_mp_read_uint(&pos, end, &type)) < 0)
		return rc;
	if (type != SWIM_PP_HELLO)
		return SHOAL_E_MALFORMED;
	if ((rc = shoal_mp_read_bool(&pos, end, &h.join)) < 0)
		return rc;
	if ((rc = read_buckets(&pos, end, &h.buckets)) < 0)
		return rc;
	if ((rc = swim_proto_read_fixed_bin(&pos, end, 8 * h.buckets, &h.hashes)) < 0)
		return rc;
	if (pos != end)
		return SHOAL_E_MALFORMED;
	*out = h;
	return 0;
}

int swim_proto_pp_next_index(const uint8_t **pos, const uint8_t *end, uint32_t *idx)
{
	uint64_t v;
	int rc = shoal_mp_read_uint_range(pos, end, 0, SWIM_PP_BUCKETS_MAX - 1, &v);
	if (rc == 0)
		*idx = (uint32_t)v;
	return rc;
}

int swim_proto_pp_next_entry(const uint8_t **pos, const uint8_t *end, struct swim_pp_entry *e)
{
	const uint8_t *q = *pos;
	uint64_t state;
	int rc;

	if ((rc = swim_proto_read_array_n(&q, end, 4)) < 0)
		return rc;
	if ((rc = shoal_mp_read_uint_range(&q, end, SWIM_ALIVE, SWIM_LEFT, &state)) < 0)
		return rc;
	e->state = (uint8_t)state;
	if ((rc = swim_proto_read_u32(&q, end, &e->incarnation)) < 0)
		return rc;
	if ((rc = shoal_mp_read_bin(&q, end, &e->body, &e->body_len)) < 0)
		return rc;
	if ((rc = swim_proto_read_fixed_bin(&q, end, SWIM_SIG_LEN, &e->sig)) < 0)
		return rc;
	if ((rc = swim_proto_decode_alive_body(e->body, e->body_len, &e->alive)) < 0)
		return rc;
	/* An alive state is exactly its record; any other state is at least
	 * as new as the record it carries. */
	if (e->state == SWIM_ALIVE ? e->incarnation != e->alive.incarnation
	                           : e->incarnation < e->alive.incarnation)
		return SHOAL_E_RANGE;
	*pos = q;
	return 0;
}

int swim_proto_decode_states(const uint8_t *buf, size_t len, struct swim_pp_states *out)
{
	const uint8_t *pos = buf, *end = buf + len;
	struct swim_pp_states st;
	struct swim_pp_entry e;
	uint64_t type;
	int rc;

	if ((rc = swim_proto_read_array_n(&pos, end, 4)) < 0)
		return rc;
	if ((rc = shoal_mp_read_uint(&pos, end, &type)) < 0)
		return rc;
	if (type != SWIM_PP_STATES)
		return SHOAL_E_MALFORMED;
	if ((rc = read_buckets(&pos, end, &st.buckets)) < 0)
		return rc;
	if ((rc = shoal_mp_read_array(&pos, end, &st.nidx)) < 0)
		return rc;
	if (st.nidx > st.buckets)
		return SHOAL_E_RANGE;
	st.idx_pos = pos;
	for (uint32_t i = 0; i < st.nidx; i++) {
		uint32_t idx = 0; /* set by next_index on success; 0 quiets -O2 */
		if ((rc = swim_proto_pp_next_index(&pos, end, &idx)) < 0)
			return rc;
		if (idx >= st.buckets)
			return SHOAL_E_RANGE;
	}
	if ((rc = shoal_mp_read_array(&pos, end, &st.nentries)) < 0)
		return rc;
	st.ent_pos = pos;
	for (uint32_t i = 0; i < st.nentries; i++)
		if ((rc = swim_proto_pp_next_entry(&pos, end, &e)) < 0)
			return rc;
	if (pos != end)
		return SHOAL_E_MALFORMED;
	st.end = end;
	*out = st;
	return 0;
}

int swim_proto_encode_hello(struct shoal_buf *b, bool join, uint32_t buckets,
                            const uint64_t *hashes)
{
	msgpack_packer pk;
	uint8_t be[8];

	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, SWIM_PP_HELLO);
	if (join)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	msgpack_pack_uint32(&pk, buckets);
	msgpack_pack_bin(&pk, 8 * buckets);
	for (uint32_t i = 0; i < buckets; i++) {
		for (int j = 0; j < 8; j++)
			be[j] = (uint8_t)(hashes[i] >> (56 - 8 * j));
		shoal_buf_append(b, be, 8);
	}
	return b->err;
}

int swim_proto_encode_states_head(struct shoal_buf *b, uint32_t buckets, const uint32_t *idx,
                                  uint32_t nidx, uint32_t nentries)
{
	msgpack_packer pk;
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, SWIM_PP_STATES);
	msgpack_pack_uint32(&pk, buckets);
	msgpack_pack_array(&pk, nidx);
	for (uint32_t i = 0; i < nidx; i++)
		msgpack_pack_uint32(&pk, idx[i]);
	msgpack_pack_array(&pk, nentries);
	return b->err;
}

int swim_proto_encode_entry(struct shoal_buf *b, uint8_t state, uint32_t incarnation,
                            const uint8_t *body, uint32_t body_len, const uint8_t sig[SWIM_SIG_LEN])
{
	msgpack_packer pk;
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, state);
	msgpack_pack_uint32(&pk, incarnation);
	swim_proto_pack_bin(&pk, body, body_len);
	swim_proto_pack_bin(&pk, sig, SWIM_SIG_LEN);
	return b->err;
}

static size_t uint_size(uint64_t v)
{
	return v < 128 ? 1 : v <= 0xff ? 2 : v <= 0xffff ? 3 : v <= 0xffffffffu ? 5 : 9;
}

static size_t bin_size(uint32_t len)
{
	return (len <= 0xff ? 2 : len <= 0xffff ? 3 : 5) + len;
}

size_t swim_proto_entry_size(uint32_t incarnation, uint32_t body_len)
{
	return 1 + 1 + uint_size(incarnation) + bin_size(body_len) + bin_size(SWIM_SIG_LEN);
}
