/*
 * test_health_codec.c - the health record's envelope, body and table.
 *
 * The body is packed here independently of crdt/health_codec.c, field by
 * field as docs/health.md draws it, so the tests pin the format rather
 * than echo the encoder. Each field gets its malformed values (wrong type,
 * out of range, bad syntax, repeats) and each must be refused with its
 * code; every prefix of a good envelope must be refused too. The table
 * tests talk in fleet terms: a site's newer record replaces the older,
 * a record signed by another key changes nothing, equal versions converge
 * whatever the arrival order.
 */
#include "shoal/health.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shoal/error.h"
#include "health_fixture.h"

/* ---- a hand packer for bodies --------------------------------------- */

static void p_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

static void p_uints(msgpack_packer *pk, const uint64_t *v, size_t n)
{
	msgpack_pack_array(pk, n);
	for (size_t i = 0; i < n; i++)
		msgpack_pack_uint64(pk, v[i]);
}

/* Writes one field's value; `field` says which. */
typedef void (*field_fn)(msgpack_packer *pk);

/* The typical record's field `i`, as docs/health.md lays it out. */
static void good_field(msgpack_packer *pk, int i)
{
	static const uint8_t roots[HEALTH_ROOTS_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
	switch (i) {
	case 0:
		msgpack_pack_uint64(pk, 1);
		break;
	case 1:
		p_str(pk, "jp-robot-0042");
		break;
	case 2:
		msgpack_pack_uint64(pk, HX_VERSION);
		break;
	case 3:
		p_str(pk, "shoal 0.4.0");
		break;
	case 4:
		msgpack_pack_map(pk, 2);
		p_str(pk, "region");
		p_str(pk, "jp-north");
		p_str(pk, "env");
		p_str(pk, "");
		break;
	case 5:
		msgpack_pack_uint64(pk, 86400);
		break;
	case 6:
		msgpack_pack_int64(pk, -12);
		break;
	case 7:
		p_uints(pk, (const uint64_t[]){230, 510, 420}, 3);
		break;
	case 8:
		p_uints(pk, (const uint64_t[]){60, 99, 60, 59, 12000, 45000, 17}, 7);
		break;
	case 9:
		msgpack_pack_array(pk, 1);
		msgpack_pack_array(pk, 4);
		msgpack_pack_uint8(pk, INTENT_APP);
		p_str(pk, "shop");
		msgpack_pack_uint64(pk, HX_VERSION - 5);
		msgpack_pack_uint8(pk, HEALTH_DEGRADED);
		break;
	case 10:
		p_uints(pk, (const uint64_t[]){14, 1, 0, 0, 2, 0, 0, 3}, 8);
		break;
	case 11:
		msgpack_pack_uint64(pk, 4);
		break;
	case 12:
		msgpack_pack_array(pk, 3);
		msgpack_pack_bin(pk, sizeof(roots));
		msgpack_pack_bin_body(pk, roots, sizeof(roots));
		msgpack_pack_true(pk);
		msgpack_pack_uint64(pk, 0);
		break;
	case 13:
		msgpack_pack_map(pk, 1);
		p_str(pk, "egress/default-deny#3");
		msgpack_pack_uint64(pk, 12);
		break;
	case 14:
		msgpack_pack_array(pk, 1);
		p_str(pk, "memory-high");
		break;
	case 15:
		p_uints(pk, (const uint64_t[]){61, 90, 70, 100, 100}, 5);
		break;
	case 16:
		msgpack_pack_map(pk, 2);
		p_str(pk, "geo.shoal.io/lat");
		p_str(pk, "35.6762");
		p_str(pk, "note");
		p_str(pk, "Tōkyō line 3, bay 7");
		break;
	}
}

/* The body with field `bad_at` written by `bad` (bad_at -1: none). */
static void pack_body(struct shoal_buf *b, int bad_at, field_fn bad)
{
	msgpack_packer pk;
	shoal_buf_create(b, 1 << 20);
	shoal_packer_init(&pk, b);
	msgpack_pack_array(&pk, 17);
	for (int i = 0; i < 17; i++) {
		if (i == bad_at)
			bad(&pk);
		else
			good_field(&pk, i);
	}
}

static int decode_with(int bad_at, field_fn bad)
{
	struct shoal_buf b;
	static struct health_record r;
	pack_body(&b, bad_at, bad);
	int rc = health_body_decode(b.data, b.len, &r);
	shoal_buf_destroy(&b);
	return rc;
}

static void test_hand_packed_body_decodes(void **state)
{
	(void)state;
	struct shoal_buf b;
	static struct health_record r;
	pack_body(&b, -1, NULL);
	assert_int_equal(health_body_decode(b.data, b.len, &r), 0);
	assert_int_equal(r.site.len, 13);
	assert_memory_equal(r.site.s, "jp-robot-0042", 13);
	assert_true(r.version == HX_VERSION);
	assert_int_equal(r.n_labels, 2);
	assert_int_equal(r.labels[1].value.len, 0);
	assert_int_equal(r.uptime_s, 86400);
	assert_int_equal(r.skew_ms, -12);
	assert_int_equal(r.mem_pm, 510);
	assert_int_equal(r.links.known, 99);
	assert_int_equal(r.links.reached, 59);
	assert_int_equal(r.links.loss_pm, 17);
	assert_int_equal(r.n_intents, 1);
	assert_int_equal(r.intents[0].kind, INTENT_APP);
	assert_int_equal(r.intents[0].state, HEALTH_DEGRADED);
	assert_int_equal(r.pods[HEALTH_POD_CRASH_LOOP], 2);
	assert_int_equal(r.pods[HEALTH_POD_PENDING], 3);
	assert_int_equal(r.restarts, 4);
	assert_int_equal(r.sec.roots[7], 8);
	assert_true(r.sec.keyring);
	assert_int_equal(r.n_policy, 1);
	assert_int_equal(r.policy[0].hits, 12);
	assert_int_equal(r.n_alerts, 1);
	assert_int_equal(r.score.score, 61);
	assert_int_equal(r.score.reliability, 70);
	assert_int_equal(r.n_annotations, 2);
	assert_memory_equal(r.annotations[1].value.s, "Tōkyō", 7);
	shoal_buf_destroy(&b);
}

/* ---- one malformed value per field ------------------------------------ */

#define BAD(name, body)                                                                            \
	static void name(msgpack_packer *pk)                                                       \
	{                                                                                          \
		body;                                                                              \
	}

BAD(v2, msgpack_pack_uint64(pk, 2))
BAD(v_str, p_str(pk, "1"))
BAD(site_empty, p_str(pk, ""))
BAD(site_dash, p_str(pk, "-robot"))
BAD(site_space, p_str(pk, "jp robot"))
BAD(site_long, p_str(pk, "a1234567890123456789012345678901234567890123456789012345678901234"))
BAD(site_int, msgpack_pack_uint64(pk, 7))
BAD(version_zero, msgpack_pack_uint64(pk, 0))
BAD(version_neg, msgpack_pack_int64(pk, -1))
BAD(software_ctrl, p_str(pk, "shoal\n0.4"))
BAD(software_long, p_str(pk, "s1234567890123456789012345678901234567890123456789012345678901234"))
BAD(labels_array, msgpack_pack_array(pk, 0))
BAD(labels_bad_key, {
	msgpack_pack_map(pk, 1);
	p_str(pk, "Bad Key");
	p_str(pk, "x");
})
BAD(labels_bad_value, {
	msgpack_pack_map(pk, 1);
	p_str(pk, "region");
	p_str(pk, "jp north");
})
BAD(labels_repeat, {
	msgpack_pack_map(pk, 2);
	p_str(pk, "region");
	p_str(pk, "a");
	p_str(pk, "region");
	p_str(pk, "b");
})
BAD(labels_too_many, {
	msgpack_pack_map(pk, HEALTH_LABELS_MAX + 1);
	for (int i = 0; i <= HEALTH_LABELS_MAX; i++) {
		char k[24];
		snprintf(k, sizeof(k), "k%d", i);
		p_str(pk, k);
		p_str(pk, "v");
	}
})
BAD(uptime_neg, msgpack_pack_int64(pk, -1))
BAD(skew_wide, msgpack_pack_int64(pk, INT64_C(1) << 31))
BAD(skew_str, p_str(pk, "0"))
BAD(usage_over, p_uints(pk, (const uint64_t[]){1001, 0, 0}, 3))
BAD(usage_short, p_uints(pk, (const uint64_t[]){1, 2}, 2))
BAD(links_short, p_uints(pk, (const uint64_t[]){60, 9, 9, 9, 1, 1}, 6))
BAD(links_reached_over, p_uints(pk, (const uint64_t[]){60, 9, 5, 6, 1, 1, 0}, 7))
BAD(links_loss_over, p_uints(pk, (const uint64_t[]){60, 9, 9, 9, 1, 1, 1001}, 7))
BAD(links_wide, p_uints(pk, (const uint64_t[]){UINT64_C(1) << 32, 9, 9, 9, 1, 1, 0}, 7))

static void intent_entry(msgpack_packer *pk, unsigned kind, const char *name, unsigned state)
{
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint64(pk, kind);
	p_str(pk, name);
	msgpack_pack_uint64(pk, 9);
	msgpack_pack_uint64(pk, state);
}

BAD(intent_kind_none, {
	msgpack_pack_array(pk, 1);
	intent_entry(pk, INTENT_KIND_NONE, "shop", HEALTH_READY);
})
BAD(intent_kind_over, {
	msgpack_pack_array(pk, 1);
	intent_entry(pk, INTENT_KIND_COUNT, "shop", HEALTH_READY);
})
BAD(intent_state_observer, {
	msgpack_pack_array(pk, 1);
	intent_entry(pk, INTENT_APP, "shop", HEALTH_UNREACHABLE);
})
BAD(intent_name_bad, {
	msgpack_pack_array(pk, 1);
	intent_entry(pk, INTENT_APP, "Shop", HEALTH_READY);
})
BAD(intent_repeat, {
	msgpack_pack_array(pk, 2);
	intent_entry(pk, INTENT_APP, "shop", HEALTH_READY);
	intent_entry(pk, INTENT_APP, "shop", HEALTH_FAILED);
})
BAD(intent_triple, {
	msgpack_pack_array(pk, 1);
	msgpack_pack_array(pk, 3);
	msgpack_pack_uint64(pk, INTENT_APP);
	p_str(pk, "shop");
	msgpack_pack_uint64(pk, 9);
})
BAD(intents_too_many, {
	msgpack_pack_array(pk, HEALTH_INTENTS_MAX + 1);
	for (int i = 0; i <= HEALTH_INTENTS_MAX; i++) {
		char n[24];
		snprintf(n, sizeof(n), "app-%d", i);
		intent_entry(pk, INTENT_APP, n, HEALTH_READY);
	}
})
BAD(pods_short, p_uints(pk, (const uint64_t[]){1, 2, 3, 4, 5, 6, 7}, 7))
BAD(restarts_str, p_str(pk, "4"))
BAD(security_roots_short, {
	msgpack_pack_array(pk, 3);
	msgpack_pack_bin(pk, 7);
	msgpack_pack_bin_body(pk, "1234567", 7);
	msgpack_pack_true(pk);
	msgpack_pack_uint64(pk, 0);
})
BAD(security_keyring_int, {
	msgpack_pack_array(pk, 3);
	msgpack_pack_bin(pk, 8);
	msgpack_pack_bin_body(pk, "12345678", 8);
	msgpack_pack_uint64(pk, 1);
	msgpack_pack_uint64(pk, 0);
})
BAD(policy_repeat, {
	msgpack_pack_map(pk, 2);
	p_str(pk, "r1");
	msgpack_pack_uint64(pk, 1);
	p_str(pk, "r1");
	msgpack_pack_uint64(pk, 2);
})
BAD(policy_empty_id, {
	msgpack_pack_map(pk, 1);
	p_str(pk, "");
	msgpack_pack_uint64(pk, 1);
})
BAD(alerts_bad_name, {
	msgpack_pack_array(pk, 1);
	p_str(pk, "memory high");
})
BAD(alerts_repeat, {
	msgpack_pack_array(pk, 2);
	p_str(pk, "memory-high");
	p_str(pk, "memory-high");
})
BAD(alerts_too_many, {
	msgpack_pack_array(pk, HEALTH_ALERTS_MAX + 1);
	for (int i = 0; i <= HEALTH_ALERTS_MAX; i++) {
		char n[24];
		snprintf(n, sizeof(n), "alert-%d", i);
		p_str(pk, n);
	}
})
BAD(score_over, p_uints(pk, (const uint64_t[]){101, 90, 70, 100, 100}, 5))
BAD(score_short, p_uints(pk, (const uint64_t[]){61, 90, 70, 100}, 4))
BAD(annotations_bad_key, {
	msgpack_pack_map(pk, 1);
	p_str(pk, "geo lat");
	p_str(pk, "1");
})
BAD(annotations_control, {
	msgpack_pack_map(pk, 1);
	p_str(pk, "note");
	p_str(pk, "line\x01");
})
BAD(annotations_bad_utf8, {
	msgpack_pack_map(pk, 1);
	p_str(pk, "note");
	p_str(pk, "\xc3\x28");
})
BAD(annotations_overlong_utf8, {
	msgpack_pack_map(pk, 1);
	p_str(pk, "note");
	p_str(pk, "\xc0\xaf");
})
BAD(annotations_repeat, {
	msgpack_pack_map(pk, 2);
	p_str(pk, "note");
	p_str(pk, "a");
	p_str(pk, "note");
	p_str(pk, "b");
})
BAD(annotations_long, {
	char v[HEALTH_ANNOTATION_VALUE_MAX + 2];
	memset(v, 'x', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	msgpack_pack_map(pk, 1);
	p_str(pk, "note");
	p_str(pk, v);
})

static void test_each_field_refuses_its_bad_values(void **state)
{
	(void)state;
	static const struct {
		int field;
		field_fn bad;
		int rc;
	} cases[] = {
	        {0, v2, SHOAL_E_VERSION},
	        {0, v_str, SHOAL_E_TYPE},
	        {1, site_empty, SHOAL_E_MALFORMED},
	        {1, site_dash, SHOAL_E_MALFORMED},
	        {1, site_space, SHOAL_E_MALFORMED},
	        {1, site_long, SHOAL_E_RANGE},
	        {1, site_int, SHOAL_E_TYPE},
	        {2, version_zero, SHOAL_E_RANGE},
	        {2, version_neg, SHOAL_E_RANGE},
	        {3, software_ctrl, SHOAL_E_MALFORMED},
	        {3, software_long, SHOAL_E_RANGE},
	        {4, labels_array, SHOAL_E_TYPE},
	        {4, labels_bad_key, SHOAL_E_MALFORMED},
	        {4, labels_bad_value, SHOAL_E_MALFORMED},
	        {4, labels_repeat, SHOAL_E_MALFORMED},
	        {4, labels_too_many, SHOAL_E_RANGE},
	        {5, uptime_neg, SHOAL_E_RANGE},
	        {6, skew_wide, SHOAL_E_RANGE},
	        {6, skew_str, SHOAL_E_TYPE},
	        {7, usage_over, SHOAL_E_RANGE},
	        {7, usage_short, SHOAL_E_MALFORMED},
	        {8, links_short, SHOAL_E_MALFORMED},
	        {8, links_reached_over, SHOAL_E_RANGE},
	        {8, links_loss_over, SHOAL_E_RANGE},
	        {8, links_wide, SHOAL_E_RANGE},
	        {9, intent_kind_none, SHOAL_E_RANGE},
	        {9, intent_kind_over, SHOAL_E_RANGE},
	        {9, intent_state_observer, SHOAL_E_RANGE},
	        {9, intent_name_bad, SHOAL_E_MALFORMED},
	        {9, intent_repeat, SHOAL_E_MALFORMED},
	        {9, intent_triple, SHOAL_E_MALFORMED},
	        {9, intents_too_many, SHOAL_E_RANGE},
	        {10, pods_short, SHOAL_E_MALFORMED},
	        {11, restarts_str, SHOAL_E_TYPE},
	        {12, security_roots_short, SHOAL_E_MALFORMED},
	        {12, security_keyring_int, SHOAL_E_TYPE},
	        {13, policy_repeat, SHOAL_E_MALFORMED},
	        {13, policy_empty_id, SHOAL_E_MALFORMED},
	        {14, alerts_bad_name, SHOAL_E_MALFORMED},
	        {14, alerts_repeat, SHOAL_E_MALFORMED},
	        {14, alerts_too_many, SHOAL_E_RANGE},
	        {15, score_over, SHOAL_E_RANGE},
	        {15, score_short, SHOAL_E_MALFORMED},
	        {16, annotations_bad_key, SHOAL_E_MALFORMED},
	        {16, annotations_control, SHOAL_E_MALFORMED},
	        {16, annotations_bad_utf8, SHOAL_E_MALFORMED},
	        {16, annotations_overlong_utf8, SHOAL_E_MALFORMED},
	        {16, annotations_repeat, SHOAL_E_MALFORMED},
	        {16, annotations_long, SHOAL_E_RANGE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = decode_with(cases[i].field, cases[i].bad);
		if (rc != cases[i].rc)
			fail_msg("case %zu (field %d): got %s, want %s", i, cases[i].field,
			         shoal_errname(rc), shoal_errname(cases[i].rc));
	}
}

static void test_body_shape_refused(void **state)
{
	(void)state;
	struct shoal_buf b;
	msgpack_packer pk;
	static struct health_record r;

	/* Eighteen fields of format 1: malformed; of format 2: a version. */
	for (uint64_t fmt = 1; fmt <= 2; fmt++) {
		shoal_buf_create(&b, 1 << 16);
		shoal_packer_init(&pk, &b);
		msgpack_pack_array(&pk, 18);
		msgpack_pack_uint64(&pk, fmt);
		for (int i = 1; i < 17; i++)
			good_field(&pk, i);
		msgpack_pack_nil(&pk);
		assert_int_equal(health_body_decode(b.data, b.len, &r),
		                 fmt == 1 ? SHOAL_E_MALFORMED : SHOAL_E_VERSION);
		shoal_buf_destroy(&b);
	}
	/* Bytes after the body. */
	pack_body(&b, -1, NULL);
	shoal_buf_append(&b, "\xc0", 1);
	assert_int_equal(health_body_decode(b.data, b.len, &r), SHOAL_E_MALFORMED);
	/* Every prefix of a good body is refused. */
	for (size_t n = 0; n + 1 < b.len; n++)
		assert_true(health_body_decode(b.data, n, &r) < 0);
	shoal_buf_destroy(&b);
}

/* ---- seal and open --------------------------------------------------- */

struct keys {
	struct hx_key site;  /* jp-robot-0042's key */
	struct hx_key other; /* another site's */
	bool unknown;        /* answer "no such site" */
};

static int key_lookup(void *ctx, const char *site, size_t len, uint8_t pk[32])
{
	struct keys *k = ctx;
	if (k->unknown)
		return SHOAL_E_NOT_FOUND;
	if (len > 6 && memcmp(site, "other-", 6) == 0)
		memcpy(pk, k->other.pk, 32);
	else
		memcpy(pk, k->site.pk, 32);
	return 0;
}

static void test_seal_open_roundtrip_and_size(void **state)
{
	(void)state;
	static struct health_record r, back;
	struct hx_env e;
	struct keys k = {0};
	struct shoal_buf out;

	hx_env_create(&e);
	hx_key(&k.site, 1);
	hx_key(&k.other, 2);
	hx_typical(&r);
	r.n_policy = 1;
	r.policy[0] = (struct health_policy_hit){HX_STR("egress/default-deny#3"), 77};
	r.n_alerts = 1;
	r.alerts[0] = HX_STR("memory-high");
	shoal_buf_create(&out, HEALTH_ENVELOPE_MAX);
	assert_int_equal(health_seal(&r, k.site.sk, &out), 0);
	assert_int_equal(health_open(&e.env, key_lookup, &k, out.data, out.len, &back), 0);
	assert_memory_equal(back.site.s, "jp-robot-0042", 13);
	assert_true(back.version == r.version);
	assert_int_equal(back.n_labels, 4);
	assert_memory_equal(back.labels[2].key.s, "sys.shoal.io/arch", 17);
	assert_int_equal(back.n_intents, 3);
	assert_int_equal(back.intents[2].kind, INTENT_EGRESS_POLICY);
	assert_true(back.intents[1].version == r.intents[1].version);
	assert_int_equal(back.policy[0].hits, 77);
	assert_memory_equal(back.alerts[0].s, "memory-high", 11);
	assert_memory_equal(&back.links, &r.links, sizeof(r.links));
	assert_memory_equal(back.pods, r.pods, sizeof(r.pods));
	assert_memory_equal(&back.score, &r.score, sizeof(r.score));

	/* docs/health.md quotes the typical record's size: keep it true. */
	hx_typical(&r);
	assert_int_equal(health_seal(&r, k.site.sk, &out), 0);
	print_message("typical health envelope: %zu bytes\n", out.len);
	assert_int_equal(out.len, 371);
	shoal_buf_destroy(&out);
}

static void test_seal_refuses_what_no_one_could_read(void **state)
{
	(void)state;
	static struct health_record r;
	struct hx_key k;
	struct shoal_buf out;

	hx_key(&k, 1);
	shoal_buf_create(&out, HEALTH_ENVELOPE_MAX);
	hx_typical(&r);
	r.version = 0;
	assert_int_equal(health_seal(&r, k.sk, &out), -EINVAL);
	hx_typical(&r);
	r.labels[1].key = HX_STR("Bad Key");
	assert_int_equal(health_seal(&r, k.sk, &out), -EINVAL);
	hx_typical(&r);
	r.intents[0].state = HEALTH_STALE;
	assert_int_equal(health_seal(&r, k.sk, &out), -EINVAL);
	hx_typical(&r);
	r.links.reached = r.links.probed + 1;
	assert_int_equal(health_seal(&r, k.sk, &out), -EINVAL);
	hx_typical(&r);
	r.annotations[0].value = HX_STR("35.6\n");
	assert_int_equal(health_seal(&r, k.sk, &out), -EINVAL);
	assert_int_equal(out.len, 0);
	shoal_buf_destroy(&out);
}

static void test_open_checks_key_and_signature(void **state)
{
	(void)state;
	static struct health_record r, back;
	struct hx_env e;
	struct keys k = {0};
	struct shoal_buf out;

	hx_env_create(&e);
	hx_key(&k.site, 1);
	hx_key(&k.other, 2);
	hx_typical(&r);
	shoal_buf_create(&out, HEALTH_ENVELOPE_MAX);

	/* Signed by another site's key: the name's key does not verify it. */
	assert_int_equal(health_seal(&r, k.other.sk, &out), 0);
	assert_int_equal(health_open(&e.env, key_lookup, &k, out.data, out.len, &back),
	                 SHOAL_E_SIGNATURE);
	/* A site membership does not know. */
	assert_int_equal(health_seal(&r, k.site.sk, &out), 0);
	k.unknown = true;
	assert_int_equal(health_open(&e.env, key_lookup, &k, out.data, out.len, &back),
	                 SHOAL_E_FORBIDDEN);
	k.unknown = false;
	/* One flipped bit anywhere in body or signature. */
	for (size_t i = 3; i < out.len; i += 7) {
		out.data[i] ^= 0x01;
		assert_true(health_open(&e.env, key_lookup, &k, out.data, out.len, &back) < 0);
		out.data[i] ^= 0x01;
	}
	assert_int_equal(health_open(&e.env, key_lookup, &k, out.data, out.len, &back), 0);
	/* Every prefix. */
	for (size_t n = 0; n < out.len; n++)
		assert_true(health_open(&e.env, key_lookup, &k, out.data, n, &back) < 0);
	shoal_buf_destroy(&out);
}

static void test_envelope_shape_refused(void **state)
{
	(void)state;
	const uint8_t *body, *sig;
	uint32_t body_len;
	uint8_t sig64[64] = {0}, big[HEALTH_ENVELOPE_MAX + 1] = {0};
	struct shoal_buf b;
	msgpack_packer pk;

	shoal_buf_create(&b, 1 << 20);
	shoal_packer_init(&pk, &b);
	/* Three elements. */
	msgpack_pack_array(&pk, 3);
	msgpack_pack_bin(&pk, 1);
	msgpack_pack_bin_body(&pk, "x", 1);
	msgpack_pack_bin(&pk, 64);
	msgpack_pack_bin_body(&pk, sig64, 64);
	msgpack_pack_nil(&pk);
	assert_int_equal(health_envelope_split(b.data, b.len, &body, &body_len, &sig),
	                 SHOAL_E_MALFORMED);
	/* A 63-byte signature. */
	shoal_buf_reset(&b);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_bin(&pk, 1);
	msgpack_pack_bin_body(&pk, "x", 1);
	msgpack_pack_bin(&pk, 63);
	msgpack_pack_bin_body(&pk, sig64, 63);
	assert_int_equal(health_envelope_split(b.data, b.len, &body, &body_len, &sig),
	                 SHOAL_E_MALFORMED);
	/* A body as str, not bin. */
	shoal_buf_reset(&b);
	msgpack_pack_array(&pk, 2);
	p_str(&pk, "x");
	msgpack_pack_bin(&pk, 64);
	msgpack_pack_bin_body(&pk, sig64, 64);
	assert_int_equal(health_envelope_split(b.data, b.len, &body, &body_len, &sig),
	                 SHOAL_E_TYPE);
	/* Trailing bytes. */
	shoal_buf_reset(&b);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_bin(&pk, 1);
	msgpack_pack_bin_body(&pk, "x", 1);
	msgpack_pack_bin(&pk, 64);
	msgpack_pack_bin_body(&pk, sig64, 64);
	assert_int_equal(health_envelope_split(b.data, b.len, &body, &body_len, &sig), 0);
	msgpack_pack_nil(&pk);
	assert_int_equal(health_envelope_split(b.data, b.len, &body, &body_len, &sig),
	                 SHOAL_E_MALFORMED);
	/* Over the cap, whatever it holds. */
	assert_int_equal(health_envelope_split(big, sizeof(big), &body, &body_len, &sig),
	                 SHOAL_E_TOO_BIG);
	shoal_buf_destroy(&b);
}

/* ---- the table ---------------------------------------------------------- */

static void seal_site(struct shoal_buf *out, const char *site, uint64_t version,
                      const struct hx_key *key, uint16_t cpu)
{
	static struct health_record r;
	hx_typical(&r);
	r.site = (struct health_str){site, (uint32_t)strlen(site)};
	r.version = version;
	r.cpu_pm = cpu;
	assert_int_equal(health_seal(&r, key->sk, out), 0);
}

static void test_table_newer_wins_and_refusals_change_nothing(void **state)
{
	(void)state;
	struct hx_env e;
	struct keys k = {0};
	struct health_table *t;
	struct health_entry got;
	struct shoal_buf v1, v2, forged;

	hx_env_create(&e);
	hx_key(&k.site, 1);
	hx_key(&k.other, 2);
	shoal_buf_create(&v1, HEALTH_ENVELOPE_MAX);
	shoal_buf_create(&v2, HEALTH_ENVELOPE_MAX);
	shoal_buf_create(&forged, HEALTH_ENVELOPE_MAX);
	seal_site(&v1, "jp-robot-0042", HX_VERSION, &k.site, 100);
	seal_site(&v2, "jp-robot-0042", HX_VERSION + 1, &k.site, 900);
	seal_site(&forged, "jp-robot-0042", HX_VERSION + 5, &k.other, 999);
	assert_int_equal(health_table_new(&t, &e.env, key_lookup, &k), 0);

	assert_int_equal(health_table_get(t, "jp-robot-0042", 13, &got), SHOAL_E_NOT_FOUND);
	assert_int_equal(health_table_offer(t, 1000, v1.data, v1.len), 0);
	assert_int_equal(health_table_offer(t, 1001, v1.data, v1.len), SHOAL_E_STALE);
	assert_int_equal(health_table_offer(t, 2000, v2.data, v2.len), 0);
	assert_int_equal(health_table_offer(t, 3000, v1.data, v1.len), SHOAL_E_STALE);
	/* A newer version signed by another key is refused outright. */
	assert_int_equal(health_table_offer(t, 4000, forged.data, forged.len), SHOAL_E_SIGNATURE);
	assert_int_equal(health_table_get(t, "jp-robot-0042", 13, &got), 0);
	assert_true(got.version == HX_VERSION + 1);
	assert_int_equal(got.received, 2000);
	assert_int_equal(got.len, v2.len);
	assert_memory_equal(got.bytes, v2.data, v2.len);
	assert_string_equal(got.site, "jp-robot-0042");
	assert_int_equal(health_table_count(t), 1);
	/* Unknown site: refused. */
	k.unknown = true;
	assert_int_equal(health_table_offer(t, 5000, v2.data, v2.len), SHOAL_E_FORBIDDEN);
	health_table_delete(t);
	shoal_buf_destroy(&v1);
	shoal_buf_destroy(&v2);
	shoal_buf_destroy(&forged);
}

static void test_table_equal_versions_converge(void **state)
{
	(void)state;
	struct hx_env e;
	struct keys k = {0};
	struct health_table *a, *b;
	struct health_entry ga, gb;
	struct shoal_buf x, y;

	hx_env_create(&e);
	hx_key(&k.site, 1);
	shoal_buf_create(&x, HEALTH_ENVELOPE_MAX);
	shoal_buf_create(&y, HEALTH_ENVELOPE_MAX);
	/* Same version, different contents: an owner that re-signed. */
	seal_site(&x, "jp-robot-0042", HX_VERSION, &k.site, 100);
	seal_site(&y, "jp-robot-0042", HX_VERSION, &k.site, 200);
	assert_int_equal(health_table_new(&a, &e.env, key_lookup, &k), 0);
	assert_int_equal(health_table_new(&b, &e.env, key_lookup, &k), 0);
	int ax = health_table_offer(a, 1, x.data, x.len);
	int ay = health_table_offer(a, 2, y.data, y.len);
	int by = health_table_offer(b, 1, y.data, y.len);
	int bx = health_table_offer(b, 2, x.data, x.len);
	assert_int_equal(ax, 0);
	assert_int_equal(by, 0);
	/* Exactly one of the second offers replaced the first. */
	assert_true((ay == 0) != (bx == 0));
	assert_int_equal(health_table_get(a, "jp-robot-0042", 13, &ga), 0);
	assert_int_equal(health_table_get(b, "jp-robot-0042", 13, &gb), 0);
	assert_memory_equal(ga.digest, gb.digest, 32);
	health_table_delete(a);
	health_table_delete(b);
	shoal_buf_destroy(&x);
	shoal_buf_destroy(&y);
}

static void test_table_many_sites_walk_and_remove(void **state)
{
	(void)state;
	enum { N = 600 };
	struct hx_env e;
	struct keys k = {0};
	struct health_table *t;
	struct health_entry got;
	struct shoal_buf env;
	char name[32];
	static bool seen[N];

	hx_env_create(&e);
	hx_key(&k.site, 1);
	shoal_buf_create(&env, HEALTH_ENVELOPE_MAX);
	assert_int_equal(health_table_new(&t, &e.env, key_lookup, &k), 0);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "site-%04d", i);
		seal_site(&env, name, HX_VERSION + (uint64_t)i, &k.site, 0);
		assert_int_equal(health_table_offer(t, (uint64_t)i, env.data, env.len), 0);
	}
	assert_int_equal(health_table_count(t), N);
	/* Remove every third site; the rest must all still be found. */
	for (int i = 0; i < N; i += 3) {
		snprintf(name, sizeof(name), "site-%04d", i);
		assert_int_equal(health_table_remove(t, name, strlen(name)), 0);
		assert_int_equal(health_table_remove(t, name, strlen(name)), SHOAL_E_NOT_FOUND);
	}
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "site-%04d", i);
		int rc = health_table_get(t, name, strlen(name), &got);
		if (i % 3 == 0) {
			assert_int_equal(rc, SHOAL_E_NOT_FOUND);
		} else {
			assert_int_equal(rc, 0);
			assert_true(got.version == HX_VERSION + (uint64_t)i);
		}
	}
	uint32_t cursor = 0, walked = 0;
	while (health_table_next(t, &cursor, &got) == 0) {
		int i = (int)strtol(got.site + 5, NULL, 10);
		assert_false(seen[i]);
		seen[i] = true;
		walked++;
	}
	assert_int_equal(walked, N - (N + 2) / 3);
	assert_int_equal(health_table_count(t), walked);
	health_table_delete(t);
	shoal_buf_destroy(&env);
}

/* A leaf's table (docs/health.md, "Leaf mode") keeps its own record only:
 * another site's is refused however valid, and the replication service is
 * told a newer one than any announced is held, so it never pulls one. */
static void test_table_keep_only(void **state)
{
	(void)state;
	struct hx_env e;
	struct keys k = {0};
	struct health_table *t;
	struct health_entry got;
	struct shoal_buf own, other;
	uint64_t version;
	uint8_t digest[32];
	static const uint8_t zero[32];

	hx_env_create(&e);
	hx_key(&k.site, 1);
	hx_key(&k.other, 2);
	shoal_buf_create(&own, HEALTH_ENVELOPE_MAX);
	shoal_buf_create(&other, HEALTH_ENVELOPE_MAX);
	seal_site(&own, "jp-robot-0042", HX_VERSION, &k.site, 100);
	seal_site(&other, "other-7", HX_VERSION, &k.other, 100);
	assert_int_equal(health_table_new(&t, &e.env, key_lookup, &k), 0);
	assert_true(health_table_keeps(t, "other-7", 7)); /* a full table keeps all */
	assert_int_equal(health_table_keep_only(t, "jp-robot-0042", 13), 0);
	assert_true(health_table_keeps(t, "jp-robot-0042", 13));
	assert_false(health_table_keeps(t, "other-7", 7));
	assert_false(health_table_keeps(t, "jp-robot-004", 12));

	/* Before its own record: not found; another site: "newer than any". */
	assert_int_equal(health_table_lookup(t, "jp-robot-0042", 13, &version, digest),
	                 SHOAL_E_NOT_FOUND);
	assert_int_equal(health_table_lookup(t, "other-7", 7, &version, digest), 0);
	assert_true(version == UINT64_MAX);
	assert_memory_equal(digest, zero, 32);

	assert_int_equal(health_table_offer(t, 1, other.data, other.len), SHOAL_E_FORBIDDEN);
	assert_int_equal(health_table_count(t), 0);
	assert_int_equal(health_table_offer(t, 2, own.data, own.len), 0);
	assert_int_equal(health_table_count(t), 1);
	assert_int_equal(health_table_lookup(t, "jp-robot-0042", 13, &version, digest), 0);
	assert_int_equal(health_table_get(t, "jp-robot-0042", 13, &got), 0);
	assert_true(version == HX_VERSION);
	assert_memory_equal(digest, got.digest, 32);
	assert_int_equal(health_table_get(t, "other-7", 7, &got), SHOAL_E_NOT_FOUND);
	health_table_delete(t);
	shoal_buf_destroy(&own);
	shoal_buf_destroy(&other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_hand_packed_body_decodes),
	        cmocka_unit_test(test_each_field_refuses_its_bad_values),
	        cmocka_unit_test(test_body_shape_refused),
	        cmocka_unit_test(test_seal_open_roundtrip_and_size),
	        cmocka_unit_test(test_seal_refuses_what_no_one_could_read),
	        cmocka_unit_test(test_open_checks_key_and_signature),
	        cmocka_unit_test(test_envelope_shape_refused),
	        cmocka_unit_test(test_table_newer_wins_and_refusals_change_nothing),
	        cmocka_unit_test(test_table_equal_versions_converge),
	        cmocka_unit_test(test_table_many_sites_walk_and_remove),
	        cmocka_unit_test(test_table_keep_only),
	};
	return cmocka_run_group_tests_name("health_codec", tests, NULL, NULL);
}
