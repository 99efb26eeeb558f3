/*
 * test_swim_proto.c - the SWIM wire format: every message encodes and
 * decodes back to what went in, and every field of every message is broken
 * in each way it can be (truncated, wrong type, out of range, oversized) to
 * prove the decoder refuses it.
 *
 * Messages are described field by field (struct spec) and built with
 * msgpack-c; a mutation replaces exactly one field, so each failure names
 * the field that caused it. Truncation is tested at every byte boundary of
 * every valid message: no proper prefix of a datagram may decode.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "shoal/error.h"
#include "shoal/mp.h"
#include "shoal/swim.h"

#include "../../gossip/swim_internal.h"
#include "../../gossip/swim_proto.h"

/* ---- building messages field by field --------------------------------- */

enum kind {
	K_U32,   /* seq or incarnation */
	K_NAME,  /* site name */
	K_ADDR,  /* bin(4|16) then port: two wire values */
	K_BODY,  /* signed ALIVE body */
	K_LBODY, /* signed LEAVE body */
	K_SIG,   /* 64-byte signature */
	K_OPID,  /* u64 */
	K_OP,    /* key op 1..3 */
	K_KEY,   /* 32-byte key */
};

/* How one field is written: valid, or one of its breakages. */
enum mut {
	M_OK,
	M_TYPE,   /* a value of the wrong msgpack type */
	M_RANGE,  /* right type, value out of range */
	M_RANGE2, /* a second out-of-range value */
	M_BIG,    /* oversized (names, bodies) */
	M_INNER,  /* a body whose inside is broken (see body_mut) */
	M_COUNT
};

struct spec {
	uint8_t type;
	int nfields;
	enum kind fields[5];
};

static const struct spec specs[] = {
        {SWIM_MSG_PING, 3, {K_U32, K_NAME, K_NAME}},
        {SWIM_MSG_ACK, 1, {K_U32}},
        {SWIM_MSG_NACK, 1, {K_U32}},
        {SWIM_MSG_PING_REQ, 3, {K_U32, K_NAME, K_ADDR}},
        {SWIM_MSG_ALIVE, 2, {K_BODY, K_SIG}},
        {SWIM_MSG_SUSPECT, 3, {K_NAME, K_U32, K_NAME}},
        {SWIM_MSG_DEAD, 3, {K_NAME, K_U32, K_NAME}},
        {SWIM_MSG_LEAVE, 2, {K_LBODY, K_SIG}},
        {SWIM_MSG_KEYOP, 3, {K_OPID, K_OP, K_KEY}},
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))

/* Ways to break an ALIVE body from the inside, one field at a time. */
enum body_mut {
	BM_OK,
	BM_NAME_TYPE,
	BM_NAME_BAD,
	BM_NAME_LONG,
	BM_NAME_EMPTY,
	BM_INC_TYPE,
	BM_INC_RANGE,
	BM_ADDR_TYPE,
	BM_ADDR_LEN,
	BM_PORT_TYPE,
	BM_PORT_ZERO,
	BM_PORT_BIG,
	BM_PK_TYPE,
	BM_PK_LEN,
	BM_LABELS_TYPE,
	BM_LABELS_BIG,
	BM_LABELS_KEYTYPE,
	BM_LABELS_VALTYPE,
	BM_LABELS_EMPTYKEY,
	BM_LABELS_UNSORTED,
	BM_LABELS_DUP,
	BM_LABELS_NUL,
	BM_VERSION_TYPE,
	BM_VERSION_LONG,
	BM_VERSION_CTRL,
	BM_ARITY_SHORT,
	BM_ARITY_LONG,
	BM_TRAILING,
	BM_COUNT
};

static const uint8_t PK[32] = {7, 7, 7};
static const uint8_t SIG[64] = {5, 5, 5};
static const uint8_t KEY[33] = {3, 3, 3}; /* one spare for the oversized case */

static void pstr(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

static void pbin(msgpack_packer *pk, const void *p, size_t n)
{
	msgpack_pack_bin(pk, n);
	msgpack_pack_bin_body(pk, p, n);
}

static void pbin_zero(msgpack_packer *pk, size_t n)
{
	uint8_t z[1024] = {0};
	assert_true(n <= sizeof(z));
	pbin(pk, z, n);
}

static void plabels(msgpack_packer *pk, enum body_mut bm)
{
	char big[600];
	switch (bm) {
	case BM_LABELS_TYPE:
		msgpack_pack_array(pk, 0);
		return;
	case BM_LABELS_BIG:
		memset(big, 'v', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		msgpack_pack_map(pk, 1);
		pstr(pk, "k");
		pstr(pk, big);
		return;
	case BM_LABELS_KEYTYPE:
		msgpack_pack_map(pk, 1);
		msgpack_pack_uint8(pk, 1);
		pstr(pk, "v");
		return;
	case BM_LABELS_VALTYPE:
		msgpack_pack_map(pk, 1);
		pstr(pk, "k");
		msgpack_pack_uint8(pk, 1);
		return;
	case BM_LABELS_EMPTYKEY:
		msgpack_pack_map(pk, 1);
		pstr(pk, "");
		pstr(pk, "v");
		return;
	case BM_LABELS_UNSORTED:
		msgpack_pack_map(pk, 2);
		pstr(pk, "zone");
		pstr(pk, "a");
		pstr(pk, "env");
		pstr(pk, "b");
		return;
	case BM_LABELS_DUP:
		msgpack_pack_map(pk, 2);
		pstr(pk, "env");
		pstr(pk, "a");
		pstr(pk, "env");
		pstr(pk, "b");
		return;
	case BM_LABELS_NUL:
		msgpack_pack_map(pk, 1);
		pstr(pk, "k");
		msgpack_pack_str(pk, 3);
		msgpack_pack_str_body(pk, "a\0b", 3);
		return;
	default:
		msgpack_pack_map(pk, 2);
		pstr(pk, "env");
		pstr(pk, "prod");
		pstr(pk, "zone");
		pstr(pk, "eu-1");
	}
}

static void build_body(struct shoal_buf *b, enum body_mut bm)
{
	msgpack_packer pk;
	char longname[70];
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, bm == BM_ARITY_SHORT ? 6 : bm == BM_ARITY_LONG ? 8 : 7);
	switch (bm) {
	case BM_NAME_TYPE:
		pbin(&pk, "alpha", 5);
		break;
	case BM_NAME_BAD:
		pstr(&pk, "al pha");
		break;
	case BM_NAME_LONG:
		memset(longname, 'a', 65);
		longname[65] = '\0';
		pstr(&pk, longname);
		break;
	case BM_NAME_EMPTY:
		pstr(&pk, "");
		break;
	default:
		pstr(&pk, "alpha");
	}
	if (bm == BM_INC_TYPE)
		pstr(&pk, "1");
	else if (bm == BM_INC_RANGE)
		msgpack_pack_uint64(&pk, UINT64_C(1) << 32);
	else
		msgpack_pack_uint32(&pk, 7);
	if (bm == BM_ADDR_TYPE)
		pstr(&pk, "abcd");
	else
		pbin_zero(&pk, bm == BM_ADDR_LEN ? 5 : 4);
	if (bm == BM_PORT_TYPE)
		pstr(&pk, "80");
	else
		msgpack_pack_uint32(&pk, bm == BM_PORT_ZERO ? 0 : bm == BM_PORT_BIG ? 65536 : 7946);
	if (bm == BM_PK_TYPE)
		pstr(&pk, "k");
	else
		pbin(&pk, PK, bm == BM_PK_LEN ? 31 : 32);
	plabels(&pk, bm);
	if (bm == BM_VERSION_TYPE)
		msgpack_pack_uint8(&pk, 1);
	else if (bm == BM_VERSION_LONG)
		pstr(&pk, "123456789012345678901234567890123");
	else if (bm == BM_VERSION_CTRL)
		pstr(&pk, "1.0\n");
	else
		pstr(&pk, "1.0.0");
	if (bm == BM_ARITY_LONG)
		msgpack_pack_nil(&pk);
	if (bm == BM_TRAILING)
		msgpack_pack_nil(&pk);
	assert_int_equal(b->err, 0);
}

static void build_field(msgpack_packer *pk, enum kind k, enum mut m, int inner)
{
	char longname[70];
	struct shoal_buf body;

	switch (k) {
	case K_U32:
		if (m == M_TYPE)
			pstr(pk, "1");
		else if (m == M_RANGE)
			msgpack_pack_uint64(pk, UINT64_C(1) << 32);
		else if (m == M_RANGE2)
			msgpack_pack_int8(pk, -1);
		else
			msgpack_pack_uint32(pk, 4000000000u);
		return;
	case K_NAME:
		if (m == M_TYPE) {
			pbin(pk, "alpha", 5);
		} else if (m == M_RANGE) {
			pstr(pk, "-alpha"); /* must start alphanumeric */
		} else if (m == M_RANGE2) {
			pstr(pk, "al/pha");
		} else if (m == M_BIG) {
			memset(longname, 'a', 65);
			longname[65] = '\0';
			pstr(pk, longname);
		} else {
			pstr(pk, "alpha-1.b_2");
		}
		return;
	case K_ADDR:
		if (m == M_TYPE)
			pstr(pk, "1234");
		else
			pbin_zero(pk, m == M_RANGE ? 5 : 16);
		if (m == M_RANGE2)
			msgpack_pack_uint32(pk, 0);
		else if (m == M_BIG)
			msgpack_pack_uint32(pk, 70000);
		else
			msgpack_pack_uint32(pk, 7946);
		return;
	case K_BODY:
		shoal_buf_create(&body, 4096);
		build_body(&body, m == M_INNER ? (enum body_mut)inner : BM_OK);
		if (m == M_TYPE) {
			msgpack_pack_str(pk, body.len);
			msgpack_pack_str_body(pk, body.data, body.len);
		} else if (m == M_RANGE) {
			pbin(pk, "", 0); /* an empty body */
		} else if (m == M_BIG) {
			pbin_zero(pk, SWIM_BODY_MAX + 1);
		} else {
			pbin(pk, body.data, body.len);
		}
		shoal_buf_destroy(&body);
		return;
	case K_LBODY:
		shoal_buf_create(&body, 4096);
		{
			msgpack_packer bp;
			shoal_packer_init(&bp, &body);
			msgpack_pack_array(&bp, m == M_RANGE2 ? 3 : 2);
			if (m == M_RANGE)
				pstr(&bp, "bad name");
			else
				pstr(&bp, "alpha");
			if (m == M_BIG)
				msgpack_pack_uint64(&bp, UINT64_C(1) << 40);
			else
				msgpack_pack_uint32(&bp, 3);
			if (m == M_RANGE2)
				msgpack_pack_nil(&bp);
		}
		if (m == M_TYPE) {
			msgpack_pack_str(pk, body.len);
			msgpack_pack_str_body(pk, body.data, body.len);
		} else {
			pbin(pk, body.data, body.len);
		}
		shoal_buf_destroy(&body);
		return;
	case K_SIG:
		if (m == M_TYPE)
			pstr(pk, "sig");
		else
			pbin(pk, SIG, m == M_RANGE ? 63 : m == M_BIG ? 0 : 64);
		return;
	case K_OPID:
		if (m == M_TYPE)
			pstr(pk, "1");
		else if (m == M_RANGE)
			msgpack_pack_int8(pk, -5);
		else
			msgpack_pack_uint64(pk, UINT64_C(0xfedcba9876543210));
		return;
	case K_OP:
		if (m == M_TYPE)
			pstr(pk, "install");
		else
			msgpack_pack_uint8(pk, m == M_RANGE ? 0 : m == M_RANGE2 ? 4 : 2);
		return;
	case K_KEY:
		if (m == M_TYPE)
			pstr(pk, "key");
		else
			pbin(pk, KEY, m == M_RANGE ? 31 : m == M_BIG ? 33 : 32);
		return;
	}
}

/* Whether a kind has a distinct breakage for a mutation. */
static bool applies(enum kind k, enum mut m)
{
	switch (m) {
	case M_OK:
	case M_TYPE:
	case M_RANGE:
		return true;
	case M_RANGE2:
		return k == K_U32 || k == K_NAME || k == K_ADDR || k == K_LBODY || k == K_OP;
	case M_BIG:
		return k == K_NAME || k == K_ADDR || k == K_BODY || k == K_LBODY || k == K_SIG ||
		       k == K_KEY;
	case M_INNER:
		return k == K_BODY;
	default:
		return false;
	}
}

/* A datagram [1, [msg]] with field `fi` of spec `sp` mutated by m. */
static void build_dgram(struct shoal_buf *b, const struct spec *sp, int fi, enum mut m, int inner)
{
	msgpack_packer pk;
	shoal_buf_reset(b);
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint8(&pk, SWIM_PROTO_VERSION);
	msgpack_pack_array(&pk, 1);
	size_t arity = 1;
	for (int i = 0; i < sp->nfields; i++)
		arity += sp->fields[i] == K_ADDR ? 2 : 1;
	msgpack_pack_array(&pk, arity);
	msgpack_pack_uint8(&pk, sp->type);
	for (int i = 0; i < sp->nfields; i++)
		build_field(&pk, sp->fields[i], i == fi ? m : M_OK, inner);
	assert_int_equal(b->err, 0);
}

static int check(const struct shoal_buf *b)
{
	uint32_t count;
	return swim_proto_check_datagram(b->data, b->len, &count);
}

/* ---- malformed input, field by field ---------------------------------- */

static void test_valid_messages_decode(void **state)
{
	struct shoal_buf b;
	(void)state;
	shoal_buf_create(&b, 8192);
	for (size_t s = 0; s < NSPECS; s++) {
		build_dgram(&b, &specs[s], -1, M_OK, 0);
		if (check(&b) != 0)
			fail_msg("valid message type %u refused", specs[s].type);
	}
	shoal_buf_destroy(&b);
}

static void test_every_field_broken(void **state)
{
	struct shoal_buf b;
	int broken = 0;
	(void)state;
	shoal_buf_create(&b, 8192);
	for (size_t s = 0; s < NSPECS; s++) {
		for (int f = 0; f < specs[s].nfields; f++) {
			for (int m = M_TYPE; m < M_COUNT; m++) {
				if (!applies(specs[s].fields[f], (enum mut)m))
					continue;
				int ninner = m == M_INNER ? BM_COUNT : 1;
				for (int in = m == M_INNER ? 1 : 0; in < ninner; in++) {
					build_dgram(&b, &specs[s], f, (enum mut)m, in);
					int rc = check(&b);
					if (rc >= 0)
						fail_msg("type %u field %d mutation %d/%d accepted",
						         specs[s].type, f, m, in);
					broken++;
				}
			}
		}
	}
	/* Every spec field has at least the type and range breakages. */
	print_message("%d broken variants refused\n", broken);
	assert_true(broken >= 90);
	shoal_buf_destroy(&b);
}

static void test_specific_codes(void **state)
{
	struct shoal_buf b;
	(void)state;
	shoal_buf_create(&b, 8192);
	/* ping seq of the wrong type */
	build_dgram(&b, &specs[0], 0, M_TYPE, 0);
	assert_int_equal(check(&b), SHOAL_E_TYPE);
	/* ping seq above u32 */
	build_dgram(&b, &specs[0], 0, M_RANGE, 0);
	assert_int_equal(check(&b), SHOAL_E_RANGE);
	/* oversized name */
	build_dgram(&b, &specs[0], 1, M_BIG, 0);
	assert_int_equal(check(&b), SHOAL_E_RANGE);
	/* labels over 512 bytes */
	build_dgram(&b, &specs[4], 0, M_INNER, BM_LABELS_BIG);
	assert_int_equal(check(&b), SHOAL_E_TOO_BIG);
	/* body over its cap */
	build_dgram(&b, &specs[4], 0, M_BIG, 0);
	assert_int_equal(check(&b), SHOAL_E_TOO_BIG);
	/* signature of 63 bytes */
	build_dgram(&b, &specs[4], 1, M_RANGE, 0);
	assert_int_equal(check(&b), SHOAL_E_RANGE);
	/* key op 4 */
	build_dgram(&b, &specs[8], 1, M_RANGE2, 0);
	assert_int_equal(check(&b), SHOAL_E_RANGE);
	shoal_buf_destroy(&b);
}

static void test_every_truncation(void **state)
{
	struct shoal_buf b;
	uint32_t count;
	(void)state;
	shoal_buf_create(&b, 8192);
	for (size_t s = 0; s < NSPECS; s++) {
		build_dgram(&b, &specs[s], -1, M_OK, 0);
		for (size_t cut = 0; cut < b.len; cut++) {
			/* A copy of exactly `cut` bytes, so ASan sees any over-read. */
			uint8_t *p = malloc(cut + 1);
			memcpy(p, b.data, cut);
			int rc = swim_proto_check_datagram(p, cut, &count);
			free(p);
			if (rc >= 0)
				fail_msg("type %u cut at %zu of %zu accepted", specs[s].type, cut,
				         b.len);
		}
	}
	shoal_buf_destroy(&b);
}

static void dgram_raw(struct shoal_buf *b, uint64_t version, int type, int arity_delta)
{
	msgpack_packer pk;
	shoal_buf_reset(b);
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint64(&pk, version);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_array(&pk, (size_t)(2 + arity_delta));
	msgpack_pack_int32(&pk, type);
	msgpack_pack_uint32(&pk, 1);
	for (int i = 0; i < arity_delta; i++)
		msgpack_pack_uint32(&pk, 1);
}

static void test_datagram_envelope(void **state)
{
	struct shoal_buf b;
	(void)state;
	shoal_buf_create(&b, 8192);
	dgram_raw(&b, 1, SWIM_MSG_ACK, 0);
	assert_int_equal(check(&b), 0);
	/* wrong protocol version */
	dgram_raw(&b, 2, SWIM_MSG_ACK, 0);
	assert_int_equal(check(&b), SHOAL_E_VERSION);
	/* unknown message types */
	static const int unknown[] = {0, 10, 19, 20, 21, 255, -1};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		dgram_raw(&b, 1, unknown[i], 0);
		assert_true(check(&b) < 0);
	}
	/* an ACK with an extra element */
	dgram_raw(&b, 1, SWIM_MSG_ACK, 1);
	assert_int_equal(check(&b), SHOAL_E_MALFORMED);
	/* trailing byte after the message list */
	dgram_raw(&b, 1, SWIM_MSG_ACK, 0);
	shoal_buf_append(&b, "\xc0", 1);
	assert_int_equal(check(&b), SHOAL_E_MALFORMED);
	/* envelope not an array, or of the wrong arity */
	assert_true(swim_proto_check_datagram((const uint8_t *)"\x01", 1, &(uint32_t){0}) < 0);
	assert_true(swim_proto_check_datagram((const uint8_t *)"\x93\x01\x90\xc0", 4,
	                                      &(uint32_t){0}) < 0);
	/* an empty message list is well formed */
	assert_int_equal(
	        swim_proto_check_datagram((const uint8_t *)"\x92\x01\x90", 3, &(uint32_t){0}), 0);
	/* a hostile count is refused before anything is walked */
	assert_int_equal(swim_proto_check_datagram((const uint8_t *)"\x92\x01\xdd\xff\xff\xff\xff",
	                                           7, &(uint32_t){0}),
	                 SHOAL_E_TRUNCATED);
	shoal_buf_destroy(&b);
}

/* ---- round trips -------------------------------------------------------- */

static void one_msg(struct shoal_buf *item, struct swim_msg *m)
{
	static uint8_t buf[4096];
	size_t h = swim_proto_datagram_header(buf, 1);
	memcpy(buf + h, item->data, item->len);
	const uint8_t *pos = buf, *end = buf + h + item->len;
	uint32_t count;
	assert_int_equal(swim_proto_check_datagram(buf, h + item->len, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(swim_proto_datagram_begin(&pos, end, &count), 0);
	assert_int_equal(swim_proto_decode_msg(&pos, end, m), 0);
	assert_ptr_equal(pos, end);
	assert_int_equal(m->raw_len, item->len);
}

static bool str_is(const struct swim_str *s, const char *want)
{
	return s->len == strlen(want) && memcmp(s->p, want, s->len) == 0;
}

static void test_round_trips(void **state)
{
	struct shoal_buf it, body;
	struct swim_msg m;
	struct shoal_addr a6 = {.family = 6, .port = 65535, .ip = {0xfe, 0x80, 1}};
	(void)state;
	shoal_buf_create(&it, 4096);
	shoal_buf_create(&body, 4096);

	assert_int_equal(swim_proto_encode_ping(&it, 0xffffffffu, (const uint8_t *)"t", 1,
	                                        (const uint8_t *)"s.x-1", 5),
	                 0);
	one_msg(&it, &m);
	assert_int_equal(m.type, SWIM_MSG_PING);
	assert_true(m.seq == 0xffffffffu);
	assert_true(str_is(&m.target, "t") && str_is(&m.sender, "s.x-1"));

	shoal_buf_reset(&it);
	swim_proto_encode_ack(&it, SWIM_MSG_NACK, 9);
	one_msg(&it, &m);
	assert_int_equal(m.type, SWIM_MSG_NACK);
	assert_int_equal(m.seq, 9);

	shoal_buf_reset(&it);
	swim_proto_encode_ping_req(&it, 3, (const uint8_t *)"tgt", 3, &a6);
	one_msg(&it, &m);
	assert_int_equal(m.type, SWIM_MSG_PING_REQ);
	assert_true(shoal_addr_equal(&m.addr, &a6));

	shoal_buf_reset(&it);
	swim_proto_encode_accuse(&it, SWIM_MSG_DEAD, (const uint8_t *)"n1", 2, 77,
	                         (const uint8_t *)"n2", 2);
	one_msg(&it, &m);
	assert_int_equal(m.type, SWIM_MSG_DEAD);
	assert_int_equal(m.incarnation, 77);
	assert_true(str_is(&m.name, "n1") && str_is(&m.from, "n2"));

	shoal_buf_reset(&it);
	swim_proto_encode_keyop(&it, UINT64_MAX, SWIM_KEY_REMOVE, KEY);
	one_msg(&it, &m);
	assert_true(m.op_id == UINT64_MAX);
	assert_int_equal(m.op, SWIM_KEY_REMOVE);
	assert_memory_equal(m.key, KEY, 32);

	/* ALIVE with labels encoded canonically from an unsorted list */
	struct shoal_label l[] = {{"zone", "eu-1"}, {"env", "prod"}};
	assert_int_equal(swim_proto_encode_labels(&body, l, 2), 0);
	size_t lablen = body.len;
	uint8_t labels[600];
	memcpy(labels, body.data, lablen);
	struct swim_alive_body ab = {
	        .name = {(const uint8_t *)"alpha", 5},
	        .incarnation = 12,
	        .addr = a6,
	        .pubkey = PK,
	        .labels = labels,
	        .labels_len = (uint32_t)lablen,
	        .version = {(const uint8_t *)"2.1", 3},
	};
	shoal_buf_reset(&body);
	assert_int_equal(swim_proto_encode_alive_body(&body, &ab), 0);
	shoal_buf_reset(&it);
	swim_proto_encode_signed(&it, SWIM_MSG_ALIVE, body.data, (uint32_t)body.len, SIG);
	one_msg(&it, &m);
	assert_int_equal(m.type, SWIM_MSG_ALIVE);
	assert_true(str_is(&m.alive.name, "alpha"));
	assert_int_equal(m.alive.incarnation, 12);
	assert_true(shoal_addr_equal(&m.alive.addr, &a6));
	assert_memory_equal(m.alive.pubkey, PK, 32);
	assert_int_equal(m.alive.labels_len, lablen);
	assert_memory_equal(m.alive.labels, labels, lablen);
	assert_true(str_is(&m.alive.version, "2.1"));
	assert_memory_equal(m.sig, SIG, 64);

	shoal_buf_reset(&body);
	swim_proto_encode_leave_body(&body, (const uint8_t *)"alpha", 5, 4);
	shoal_buf_reset(&it);
	swim_proto_encode_signed(&it, SWIM_MSG_LEAVE, body.data, (uint32_t)body.len, SIG);
	one_msg(&it, &m);
	assert_int_equal(m.type, SWIM_MSG_LEAVE);
	assert_true(str_is(&m.name, "alpha"));
	assert_int_equal(m.incarnation, 4);

	shoal_buf_destroy(&it);
	shoal_buf_destroy(&body);
}

static void test_labels_encoding(void **state)
{
	struct shoal_buf b;
	char big[600];
	(void)state;
	shoal_buf_create(&b, 4096);
	struct shoal_label empty_key[] = {{"", "v"}};
	assert_int_equal(swim_proto_encode_labels(&b, empty_key, 1), -EINVAL);
	shoal_buf_reset(&b);
	struct shoal_label dup[] = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
	assert_int_equal(swim_proto_encode_labels(&b, dup, 3), -EINVAL);
	shoal_buf_reset(&b);
	memset(big, 'x', 500);
	big[500] = '\0';
	struct shoal_label over[] = {{"a", big}, {"b", "0123456789"}};
	assert_int_equal(swim_proto_encode_labels(&b, over, 2), -EINVAL);
	shoal_buf_reset(&b);
	assert_int_equal(swim_proto_encode_labels(&b, NULL, 0), 0);
	assert_int_equal(b.len, 1);
	assert_int_equal(swim_proto_check_labels(b.data, (uint32_t)b.len), 0);
	shoal_buf_destroy(&b);
}

/* ---- bad signature ------------------------------------------------------ */

static void test_bad_signature_refused_by_pool(void **state)
{
	struct swim_pool *pool;
	struct shoal_buf body;
	struct swim_alive_body ab, dec;
	struct shoal_env env = {0};
	uint8_t pk[32], sk[64], sig[64];
	uint32_t rid;
	bool verified;
	(void)state;

	crypto_sign_keypair(pk, sk);
	assert_int_equal(swim_pool_new(&pool), 0);
	shoal_buf_create(&body, 1024);
	memset(&ab, 0, sizeof(ab));
	ab.name.p = (const uint8_t *)"alpha";
	ab.name.len = 5;
	ab.addr.family = 4;
	ab.addr.port = 1;
	ab.pubkey = pk;
	ab.labels = (const uint8_t *)"\x80";
	ab.labels_len = 1;
	assert_int_equal(swim_proto_encode_alive_body(&body, &ab), 0);
	assert_int_equal(swim_proto_decode_alive_body(body.data, (uint32_t)body.len, &dec), 0);
	crypto_sign_detached(sig, NULL, body.data, body.len, sk);
	sig[10] ^= 1;
	assert_int_equal(swim_pool_record_get(pool, &env, body.data, (uint32_t)body.len, sig, &dec,
	                                      &rid, &verified),
	                 SHOAL_E_SIGNATURE);
	assert_true(verified);
	/* A refused record never enters the pool. */
	assert_int_equal(pool->recs_live, 0);
	sig[10] ^= 1;
	assert_int_equal(swim_pool_record_get(pool, &env, body.data, (uint32_t)body.len, sig, &dec,
	                                      &rid, &verified),
	                 0);
	assert_true(verified);
	swim_pool_record_unref(pool, rid);
	shoal_buf_destroy(&body);
	swim_pool_delete(pool);
}

/* ---- stream messages ---------------------------------------------------- */

static void test_hello(void **state)
{
	struct shoal_buf b;
	struct swim_pp_hello h;
	uint64_t hashes[4] = {1, UINT64_MAX, 0x0102030405060708u, 0};
	(void)state;
	shoal_buf_create(&b, 65536);
	assert_int_equal(swim_proto_encode_hello(&b, true, 4, hashes), 0);
	assert_int_equal(swim_proto_stream_type(b.data, b.len), SWIM_PP_HELLO);
	assert_int_equal(swim_proto_decode_hello(b.data, b.len, &h), 0);
	assert_true(h.join);
	assert_int_equal(h.buckets, 4);
	assert_int_equal(h.hashes[16], 1);
	assert_int_equal(h.hashes[23], 8);
	for (size_t cut = 0; cut < b.len; cut++)
		assert_true(swim_proto_decode_hello(b.data, cut, &h) < 0);

	/* bucket counts: not a power of two, zero, above 1024 */
	static const uint32_t bad[] = {3, 0, 2048};
	for (size_t i = 0; i < 3; i++) {
		msgpack_packer pk;
		shoal_buf_reset(&b);
		shoal_packer_init(&pk, &b);
		msgpack_pack_array(&pk, 4);
		msgpack_pack_uint8(&pk, SWIM_PP_HELLO);
		msgpack_pack_false(&pk);
		msgpack_pack_uint32(&pk, bad[i]);
		pbin_zero(&pk, 8 * (bad[i] > 100 ? 100 : bad[i]));
		assert_int_equal(swim_proto_decode_hello(b.data, b.len, &h), SHOAL_E_RANGE);
	}
	/* hashes shorter than the bucket count says; join not a bool */
	msgpack_packer pk;
	shoal_buf_reset(&b);
	shoal_packer_init(&pk, &b);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, SWIM_PP_HELLO);
	msgpack_pack_false(&pk);
	msgpack_pack_uint32(&pk, 2);
	pbin_zero(&pk, 8);
	assert_int_equal(swim_proto_decode_hello(b.data, b.len, &h), SHOAL_E_RANGE);
	shoal_buf_reset(&b);
	shoal_packer_init(&pk, &b);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, SWIM_PP_HELLO);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_uint32(&pk, 1);
	pbin_zero(&pk, 8);
	assert_int_equal(swim_proto_decode_hello(b.data, b.len, &h), SHOAL_E_TYPE);
	shoal_buf_destroy(&b);
}

static void states_with(struct shoal_buf *b, uint32_t buckets, uint32_t idx, uint8_t state,
                        uint32_t inc, enum body_mut bm, size_t siglen)
{
	struct shoal_buf body;
	shoal_buf_create(&body, 4096);
	build_body(&body, bm);
	shoal_buf_reset(b);
	assert_int_equal(swim_proto_encode_states_head(b, buckets, &idx, 1, 1), 0);
	msgpack_packer pk;
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, state);
	msgpack_pack_uint32(&pk, inc);
	pbin(&pk, body.data, body.len);
	pbin(&pk, SIG, siglen);
	shoal_buf_destroy(&body);
}

static void test_states(void **state)
{
	struct shoal_buf b;
	struct swim_pp_states st;
	struct swim_pp_entry e;
	uint32_t idx;
	(void)state;
	shoal_buf_create(&b, 65536);

	/* body incarnation is 7 */
	states_with(&b, 8, 5, SWIM_SUSPECT, 9, BM_OK, 64);
	assert_int_equal(swim_proto_stream_type(b.data, b.len), SWIM_PP_STATES);
	assert_int_equal(swim_proto_decode_states(b.data, b.len, &st), 0);
	assert_int_equal(st.buckets, 8);
	assert_int_equal(st.nidx, 1);
	assert_int_equal(st.nentries, 1);
	const uint8_t *pos = st.idx_pos;
	assert_int_equal(swim_proto_pp_next_index(&pos, st.end, &idx), 0);
	assert_int_equal(idx, 5);
	pos = st.ent_pos;
	assert_int_equal(swim_proto_pp_next_entry(&pos, st.end, &e), 0);
	assert_int_equal(e.state, SWIM_SUSPECT);
	assert_int_equal(e.incarnation, 9);
	assert_true(str_is(&e.alive.name, "alpha"));
	for (size_t cut = 0; cut < b.len; cut++)
		assert_true(swim_proto_decode_states(b.data, cut, &st) < 0);

	/* index outside the bucket count */
	states_with(&b, 8, 8, SWIM_ALIVE, 7, BM_OK, 64);
	assert_int_equal(swim_proto_decode_states(b.data, b.len, &st), SHOAL_E_RANGE);
	/* state outside 0..3 */
	states_with(&b, 8, 0, 4, 7, BM_OK, 64);
	assert_int_equal(swim_proto_decode_states(b.data, b.len, &st), SHOAL_E_RANGE);
	/* alive whose state incarnation is not its record's */
	states_with(&b, 8, 0, SWIM_ALIVE, 8, BM_OK, 64);
	assert_int_equal(swim_proto_decode_states(b.data, b.len, &st), SHOAL_E_RANGE);
	/* dead older than the record it carries */
	states_with(&b, 8, 0, SWIM_DEAD, 6, BM_OK, 64);
	assert_int_equal(swim_proto_decode_states(b.data, b.len, &st), SHOAL_E_RANGE);
	/* broken record inside an entry */
	states_with(&b, 8, 0, SWIM_ALIVE, 7, BM_LABELS_UNSORTED, 64);
	assert_int_equal(swim_proto_decode_states(b.data, b.len, &st), SHOAL_E_RANGE);
	/* short signature */
	states_with(&b, 8, 0, SWIM_ALIVE, 7, BM_OK, 10);
	assert_int_equal(swim_proto_decode_states(b.data, b.len, &st), SHOAL_E_RANGE);
	/* bucket count not a power of two */
	states_with(&b, 6, 0, SWIM_ALIVE, 7, BM_OK, 64);
	assert_int_equal(swim_proto_decode_states(b.data, b.len, &st), SHOAL_E_RANGE);
	/* a HELLO is not a STATES */
	uint64_t h = 0;
	shoal_buf_reset(&b);
	swim_proto_encode_hello(&b, false, 1, &h);
	assert_int_equal(swim_proto_decode_states(b.data, b.len, &st), SHOAL_E_MALFORMED);
	/* unknown stream message type */
	assert_true(swim_proto_stream_type((const uint8_t *)"\x92\x05\x01", 3) < 0);
	shoal_buf_destroy(&b);
}

static void test_entry_size_exact(void **state)
{
	struct shoal_buf b;
	static uint8_t body[300];
	(void)state;
	shoal_buf_create(&b, 4096);
	static const uint32_t incs[] = {0, 127, 128, 255, 256, 65535, 65536, UINT32_MAX};
	static const uint32_t lens[] = {10, 255, 256, 300};
	for (size_t i = 0; i < 8; i++) {
		for (size_t j = 0; j < 4; j++) {
			shoal_buf_reset(&b);
			swim_proto_encode_entry(&b, SWIM_DEAD, incs[i], body, lens[j], SIG);
			assert_int_equal(b.len, swim_proto_entry_size(incs[i], lens[j]));
		}
	}
	shoal_buf_destroy(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_valid_messages_decode),
	        cmocka_unit_test(test_every_field_broken),
	        cmocka_unit_test(test_specific_codes),
	        cmocka_unit_test(test_every_truncation),
	        cmocka_unit_test(test_datagram_envelope),
	        cmocka_unit_test(test_round_trips),
	        cmocka_unit_test(test_labels_encoding),
	        cmocka_unit_test(test_bad_signature_refused_by_pool),
	        cmocka_unit_test(test_hello),
	        cmocka_unit_test(test_states),
	        cmocka_unit_test(test_entry_size_exact),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
