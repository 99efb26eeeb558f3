/*
 * swim_proto.c - encoding and decoding of SWIM datagram messages and the
 * signed record bodies (the layout is drawn in swim_proto.h).
 *
 * Decoding is strict: every array has exactly its element count, every
 * integer its range, every string its alphabet, and nothing may trail a
 * message. One malformed field rejects the whole datagram (the caller drops
 * it), because a sender that gets one field wrong cannot be trusted on the
 * others. The checks run on the bounded reader from mp.h, so a hostile
 * length or count never sizes anything. The push-pull stream messages are in
 * swim_proto_pp.c.
 *
 * Labels must arrive as a canonical map (keys strictly ascending by bytes):
 * that makes duplicates impossible to express and is checked in one pass,
 * and two nodes encoding the same labels produce the same signed bytes.
 */
#include "swim_proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"

/* ---- field checks --------------------------------------------------- */

static bool is_alnum(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int swim_proto_check_name(const uint8_t *p, uint32_t len)
{
	if (len == 0 || len > SWIM_NAME_MAX || !is_alnum(p[0]))
		return SHOAL_E_RANGE;
	for (uint32_t i = 1; i < len; i++)
		if (!is_alnum(p[i]) && p[i] != '.' && p[i] != '_' && p[i] != '-')
			return SHOAL_E_RANGE;
	return 0;
}

int swim_proto_check_version(const uint8_t *p, uint32_t len)
{
	if (len > SWIM_VERSION_MAX)
		return SHOAL_E_RANGE;
	for (uint32_t i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return SHOAL_E_RANGE;
	return 0;
}

/* Byte order of two strings, shorter first on a common prefix. */
static int bytes_cmp(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen)
{
	uint32_t n = alen < blen ? alen : blen;
	int c = n > 0 ? memcmp(a, b, n) : 0;
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

int swim_proto_check_labels(const uint8_t *p, uint32_t len)
{
	const uint8_t *pos = p, *end = p + len;
	const uint8_t *prev = NULL;
	uint32_t prev_len = 0, count;
	int rc;

	if (len > SWIM_LABELS_MAX)
		return SHOAL_E_TOO_BIG;
	if ((rc = shoal_mp_read_map(&pos, end, &count)) < 0)
		return rc;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *k, *v;
		uint32_t klen, vlen;
		if ((rc = shoal_mp_read_str(&pos, end, &k, &klen)) < 0)
			return rc;
		if ((rc = shoal_mp_read_str(&pos, end, &v, &vlen)) < 0)
			return rc;
		if (klen == 0 || memchr(k, 0, klen) != NULL || memchr(v, 0, vlen) != NULL)
			return SHOAL_E_RANGE;
		if (prev != NULL && bytes_cmp(prev, prev_len, k, klen) >= 0)
			return SHOAL_E_RANGE; /* unsorted or duplicate key */
		prev = k;
		prev_len = klen;
	}
	return pos == end ? 0 : SHOAL_E_MALFORMED;
}

/* ---- decoding helpers ------------------------------------------------ */

int swim_proto_read_u32(const uint8_t **pos, const uint8_t *end, uint32_t *v)
{
	uint64_t x;
	int rc = shoal_mp_read_uint_range(pos, end, 0, UINT32_MAX, &x);
	if (rc == 0)
		*v = (uint32_t)x;
	return rc;
}

static int read_name(const uint8_t **pos, const uint8_t *end, struct swim_str *s)
{
	const uint8_t *q = *pos;
	int rc = shoal_mp_read_str(&q, end, &s->p, &s->len);
	if (rc < 0)
		return rc;
	if ((rc = swim_proto_check_name(s->p, s->len)) < 0)
		return rc;
	*pos = q;
	return 0;
}

int swim_proto_read_fixed_bin(const uint8_t **pos, const uint8_t *end, uint32_t want,
                              const uint8_t **p)
{
	const uint8_t *q = *pos;
	uint32_t len;
	int rc = shoal_mp_read_bin(&q, end, p, &len);
	if (rc < 0)
		return rc;
	if (len != want)
		return SHOAL_E_RANGE;
	*pos = q;
	return 0;
}

/* addr bin(4|16) followed by port 1..65535. */
static int read_addr(const uint8_t **pos, const uint8_t *end, struct shoal_addr *a)
{
	const uint8_t *q = *pos, *ip;
	uint32_t len;
	uint64_t port;
	int rc;

	if ((rc = shoal_mp_read_bin(&q, end, &ip, &len)) < 0)
		return rc;
	if (len != 4 && len != 16)
		return SHOAL_E_RANGE;
	if ((rc = shoal_mp_read_uint_range(&q, end, 1, 65535, &port)) < 0)
		return rc;
	memset(a, 0, sizeof(*a));
	a->family = len == 4 ? 4 : 6;
	a->port = (uint16_t)port;
	memcpy(a->ip, ip, len);
	*pos = q;
	return 0;
}

/* An array header that must announce exactly `want` elements. */
int swim_proto_read_array_n(const uint8_t **pos, const uint8_t *end, uint32_t want)
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

/* ---- bodies ---------------------------------------------------------- */

int swim_proto_decode_alive_body(const uint8_t *body, uint32_t len, struct swim_alive_body *out)
{
	const uint8_t *pos = body, *end = body + len;
	struct swim_alive_body a;
	const uint8_t *lstart;
	int rc;

	if (len > SWIM_BODY_MAX)
		return SHOAL_E_TOO_BIG;
	if ((rc = swim_proto_read_array_n(&pos, end, 7)) < 0)
		return rc;
	if ((rc = read_name(&pos, end, &a.name)) < 0)
		return rc;
	if ((rc = swim_proto_read_u32(&pos, end, &a.incarnation)) < 0)
		return rc;
	if ((rc = read_addr(&pos, end, &a.addr)) < 0)
		return rc;
	if ((rc = swim_proto_read_fixed_bin(&pos, end, SWIM_PK_LEN, &a.pubkey)) < 0)
		return rc;
	lstart = pos;
	if ((rc = shoal_mp_skip(&pos, end, 2)) < 0)
		return rc;
	a.labels = lstart;
	a.labels_len = (uint32_t)(pos - lstart);
	if ((rc = swim_proto_check_labels(a.labels, a.labels_len)) < 0)
		return rc;
	if ((rc = shoal_mp_read_str(&pos, end, &a.version.p, &a.version.len)) < 0)
		return rc;
	if ((rc = swim_proto_check_version(a.version.p, a.version.len)) < 0)
		return rc;
	if (pos != end)
		return SHOAL_E_MALFORMED;
	*out = a;
	return 0;
}

int swim_proto_decode_leave_body(const uint8_t *body, uint32_t len, struct swim_leave_body *out)
{
	const uint8_t *pos = body, *end = body + len;
	struct swim_leave_body l;
	int rc;

	if ((rc = swim_proto_read_array_n(&pos, end, 2)) < 0)
		return rc;
	if ((rc = read_name(&pos, end, &l.name)) < 0)
		return rc;
	if ((rc = swim_proto_read_u32(&pos, end, &l.incarnation)) < 0)
		return rc;
	if (pos != end)
		return SHOAL_E_MALFORMED;
	*out = l;
	return 0;
}

/* ---- datagram messages ----------------------------------------------- */

int swim_proto_datagram_begin(const uint8_t **pos, const uint8_t *end, uint32_t *count)
{
	const uint8_t *q = *pos;
	uint64_t ver;
	int rc;

	if ((rc = swim_proto_read_array_n(&q, end, 2)) < 0)
		return rc;
	if ((rc = shoal_mp_read_uint(&q, end, &ver)) < 0)
		return rc;
	if (ver != SWIM_PROTO_VERSION)
		return SHOAL_E_VERSION;
	if ((rc = shoal_mp_read_array(&q, end, count)) < 0)
		return rc;
	*pos = q;
	return 0;
}

/* Elements each message type has, type included; 0 = unknown type. */
static uint32_t msg_arity(uint64_t type)
{
	switch (type) {
	case SWIM_MSG_PING:
		return 4;
	case SWIM_MSG_ACK:
	case SWIM_MSG_NACK:
		return 2;
	case SWIM_MSG_PING_REQ:
		return 5;
	case SWIM_MSG_ALIVE:
	case SWIM_MSG_LEAVE:
		return 3;
	case SWIM_MSG_SUSPECT:
	case SWIM_MSG_DEAD:
		return 4;
	case SWIM_MSG_KEYOP:
		return 4;
	case SWIM_MSG_USER:
		return 2;
	default:
		return 0;
	}
}

static int decode_signed(const uint8_t **q, const uint8_t *end, struct swim_msg *m)
{
	int rc;
	if ((rc = shoal_mp_read_bin(q, end, &m->body, &m->body_len)) < 0)
		return rc;
	if (m->body_len > SWIM_BODY_MAX)
		return SHOAL_E_TOO_BIG;
	if ((rc = swim_proto_read_fixed_bin(q, end, SWIM_SIG_LEN, &m->sig)) < 0)
		return rc;
	if (m->type == SWIM_MSG_ALIVE)
		return swim_proto_decode_alive_body(m->body, m->body_len, &m->alive);
	struct swim_leave_body l;
	if ((rc = swim_proto_decode_leave_body(m->body, m->body_len, &l)) < 0)
		return rc;
	m->name = l.name;
	m->incarnation = l.incarnation;
	return 0;
}

int swim_proto_decode_msg(const uint8_t **pos, const uint8_t *end, struct swim_msg *m)
{
	const uint8_t *q = *pos;
	uint32_t n;
	uint64_t type, v;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = shoal_mp_read_array(&q, end, &n)) < 0)
		return rc;
	if (n == 0)
		return SHOAL_E_MALFORMED;
	if ((rc = shoal_mp_read_uint(&q, end, &type)) < 0)
		return rc;
	if (msg_arity(type) == 0)
		return SHOAL_E_MALFORMED;
	if (n != msg_arity(type))
		return SHOAL_E_MALFORMED;
	m->type = (uint8_t)type;

	switch (type) {
	case SWIM_MSG_PING:
		if ((rc = swim_proto_read_u32(&q, end, &m->seq)) < 0 ||
		    (rc = read_name(&q, end, &m->target)) < 0 ||
		    (rc = read_name(&q, end, &m->sender)) < 0)
			return rc;
		break;
	case SWIM_MSG_ACK:
	case SWIM_MSG_NACK:
		if ((rc = swim_proto_read_u32(&q, end, &m->seq)) < 0)
			return rc;
		break;
	case SWIM_MSG_PING_REQ:
		if ((rc = swim_proto_read_u32(&q, end, &m->seq)) < 0 ||
		    (rc = read_name(&q, end, &m->target)) < 0 ||
		    (rc = read_addr(&q, end, &m->addr)) < 0)
			return rc;
		break;
	case SWIM_MSG_ALIVE:
	case SWIM_MSG_LEAVE:
		if ((rc = decode_signed(&q, end, m)) < 0)
			return rc;
		break;
	case SWIM_MSG_SUSPECT:
	case SWIM_MSG_DEAD:
		if ((rc = read_name(&q, end, &m->name)) < 0 ||
		    (rc = swim_proto_read_u32(&q, end, &m->incarnation)) < 0 ||
		    (rc = read_name(&q, end, &m->from)) < 0)
			return rc;
		break;
	case SWIM_MSG_KEYOP:
		if ((rc = shoal_mp_read_uint(&q, end, &m->op_id)) < 0)
			return rc;
		if ((rc = shoal_mp_read_uint_range(&q, end, SWIM_KEY_INSTALL, SWIM_KEY_REMOVE,
		                                   &v)) < 0)
			return rc;
		m->op = (uint8_t)v;
		if ((rc = swim_proto_read_fixed_bin(&q, end, 32, &m->key)) < 0)
			return rc;
		break;
	case SWIM_MSG_USER:
		if ((rc = shoal_mp_read_bin(&q, end, &m->body, &m->body_len)) < 0)
			return rc;
		if (m->body_len == 0 || m->body_len > SWIM_USER_MSG_MAX)
			return SHOAL_E_RANGE;
		break;
	default:
		return SHOAL_E_MALFORMED;
	}
	m->raw = *pos;
	m->raw_len = (uint32_t)(q - *pos);
	*pos = q;
	return 0;
}

int swim_proto_check_datagram(const uint8_t *buf, size_t len, uint32_t *count)
{
	const uint8_t *pos = buf, *end = buf + len;
	struct swim_msg m;
	uint32_t n;
	int rc;

	if ((rc = swim_proto_datagram_begin(&pos, end, &n)) < 0)
		return rc;
	for (uint32_t i = 0; i < n; i++)
		if ((rc = swim_proto_decode_msg(&pos, end, &m)) < 0)
			return rc;
	if (pos != end)
		return SHOAL_E_MALFORMED;
	*count = n;
	return 0;
}

/* ---- encoding -------------------------------------------------------- */

static void pack_bytes_str(msgpack_packer *pk, const void *p, uint32_t len)
{
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, p, len);
}

void swim_proto_pack_bin(msgpack_packer *pk, const void *p, uint32_t len)
{
	msgpack_pack_bin(pk, len);
	msgpack_pack_bin_body(pk, p, len);
}

static void pack_addr(msgpack_packer *pk, const struct shoal_addr *a)
{
	swim_proto_pack_bin(pk, a->ip, a->family == 6 ? 16 : 4);
	msgpack_pack_uint16(pk, a->port);
}

static int cmp_label(const void *a, const void *b)
{
	const struct shoal_label *x = *(const struct shoal_label *const *)a;
	const struct shoal_label *y = *(const struct shoal_label *const *)b;
	return strcmp(x->key, y->key); /* compares as unsigned char: byte order */
}

/* Labels a map can hold within SWIM_LABELS_MAX (each takes >= 2 bytes). */
#define LABELS_COUNT_MAX (SWIM_LABELS_MAX / 2)

int swim_proto_encode_labels(struct shoal_buf *b, const struct shoal_label *labels, size_t n)
{
	const struct shoal_label *sorted[LABELS_COUNT_MAX];
	msgpack_packer pk;
	size_t start = b->len;

	if (n > LABELS_COUNT_MAX || (n > 0 && labels == NULL))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (labels[i].key == NULL || labels[i].value == NULL || labels[i].key[0] == '\0')
			return -EINVAL;
		if (strlen(labels[i].key) > SWIM_LABELS_MAX ||
		    strlen(labels[i].value) > SWIM_LABELS_MAX)
			return -EINVAL;
		sorted[i] = &labels[i];
	}
	if (n > 1)
		qsort(sorted, n, sizeof(sorted[0]), cmp_label);
	for (size_t i = 1; i < n; i++)
		if (strcmp(sorted[i - 1]->key, sorted[i]->key) == 0)
			return -EINVAL;

	shoal_packer_init(&pk, b);
	msgpack_pack_map(&pk, n);
	for (size_t i = 0; i < n; i++) {
		pack_bytes_str(&pk, sorted[i]->key, (uint32_t)strlen(sorted[i]->key));
		pack_bytes_str(&pk, sorted[i]->value, (uint32_t)strlen(sorted[i]->value));
	}
	if (b->err != 0)
		return b->err;
	if (b->len - start > SWIM_LABELS_MAX)
		return -EINVAL;
	return 0;
}

int swim_proto_encode_alive_body(struct shoal_buf *b, const struct swim_alive_body *a)
{
	msgpack_packer pk;
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, 7);
	pack_bytes_str(&pk, a->name.p, a->name.len);
	msgpack_pack_uint32(&pk, a->incarnation);
	pack_addr(&pk, &a->addr);
	swim_proto_pack_bin(&pk, a->pubkey, SWIM_PK_LEN);
	shoal_buf_append(b, a->labels, a->labels_len);
	pack_bytes_str(&pk, a->version.p, a->version.len);
	return b->err;
}

int swim_proto_encode_leave_body(struct shoal_buf *b, const uint8_t *name, uint32_t name_len,
                                 uint32_t incarnation)
{
	msgpack_packer pk;
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, 2);
	pack_bytes_str(&pk, name, name_len);
	msgpack_pack_uint32(&pk, incarnation);
	return b->err;
}

int swim_proto_encode_ping(struct shoal_buf *b, uint32_t seq, const uint8_t *target,
                           uint32_t target_len, const uint8_t *sender, uint32_t sender_len)
{
	msgpack_packer pk;
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, SWIM_MSG_PING);
	msgpack_pack_uint32(&pk, seq);
	pack_bytes_str(&pk, target, target_len);
	pack_bytes_str(&pk, sender, sender_len);
	return b->err;
}

int swim_proto_encode_ack(struct shoal_buf *b, uint8_t type, uint32_t seq)
{
	msgpack_packer pk;
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint8(&pk, type);
	msgpack_pack_uint32(&pk, seq);
	return b->err;
}

int swim_proto_encode_ping_req(struct shoal_buf *b, uint32_t seq, const uint8_t *target,
                               uint32_t target_len, const struct shoal_addr *addr)
{
	msgpack_packer pk;
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, 5);
	msgpack_pack_uint8(&pk, SWIM_MSG_PING_REQ);
	msgpack_pack_uint32(&pk, seq);
	pack_bytes_str(&pk, target, target_len);
	pack_addr(&pk, addr);
	return b->err;
}

int swim_proto_encode_signed(struct shoal_buf *b, uint8_t type, const uint8_t *body,
                             uint32_t body_len, const uint8_t sig[SWIM_SIG_LEN])
{
	msgpack_packer pk;
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint8(&pk, type);
	swim_proto_pack_bin(&pk, body, body_len);
	swim_proto_pack_bin(&pk, sig, SWIM_SIG_LEN);
	return b->err;
}

int swim_proto_encode_accuse(struct shoal_buf *b, uint8_t type, const uint8_t *name,
                             uint32_t name_len, uint32_t incarnation, const uint8_t *from,
                             uint32_t from_len)
{
	msgpack_packer pk;
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, type);
	pack_bytes_str(&pk, name, name_len);
	msgpack_pack_uint32(&pk, incarnation);
	pack_bytes_str(&pk, from, from_len);
	return b->err;
}

int swim_proto_encode_keyop(struct shoal_buf *b, uint64_t op_id, uint8_t op, const uint8_t key[32])
{
	msgpack_packer pk;
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, SWIM_MSG_KEYOP);
	msgpack_pack_uint64(&pk, op_id);
	msgpack_pack_uint8(&pk, op);
	swim_proto_pack_bin(&pk, key, 32);
	return b->err;
}

size_t swim_proto_datagram_header(uint8_t *out, uint32_t count)
{
	out[0] = 0x92; /* fixarray of 2 */
	out[1] = SWIM_PROTO_VERSION;
	if (count <= 15) {
		out[2] = (uint8_t)(0x90 | count);
		return 3;
	}
	/* A datagram never holds more than 65535 messages (it is < 64 KiB). */
	out[2] = 0xdc;
	out[3] = (uint8_t)(count >> 8);
	out[4] = (uint8_t)count;
	return 5;
}
