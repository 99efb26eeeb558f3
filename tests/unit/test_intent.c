/*
 * test_intent.c - the HLC, the envelope codec, the spec schemas, and the
 * small parsers the trust rules rely on (RFC 3339, public keys, the trust
 * file).
 *
 * Malformed bodies are written field by field with msgpack-c so each test
 * breaks exactly one thing and names the reason it expects.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shoal/error.h"
#include "shoal/trust.h"

#include "intent_fixture.h"

static struct shoal_env test_env; /* verify NULL: libsodium directly */

/* ---- HLC ---- */

static void test_hlc_follows_wall_and_never_goes_back(void **state)
{
	(void)state;
	struct shoal_hlc c;
	shoal_hlc_create(&c);
	uint64_t a = shoal_hlc_now(&c, 1000);
	assert_true(a == shoal_hlc_make(1000, 0));
	uint64_t b = shoal_hlc_now(&c, 1000); /* same ms: counter */
	assert_true(b == shoal_hlc_make(1000, 1));
	uint64_t d = shoal_hlc_now(&c, 900); /* wall stepped back */
	assert_true(d > b && shoal_hlc_ms(d) == 1000);
	uint64_t e = shoal_hlc_now(&c, 2000);
	assert_true(e == shoal_hlc_make(2000, 0));
}

static void test_hlc_observe_pushes_forward(void **state)
{
	(void)state;
	struct shoal_hlc c;
	shoal_hlc_create(&c);
	shoal_hlc_now(&c, 1000);
	shoal_hlc_observe(&c, shoal_hlc_make(5000, 7));
	assert_true(shoal_hlc_now(&c, 1001) == shoal_hlc_make(5000, 8));
	shoal_hlc_observe(&c, shoal_hlc_make(10, 0)); /* older: ignored */
	assert_true(shoal_hlc_now(&c, 1002) == shoal_hlc_make(5000, 9));
}

static void test_hlc_counter_overflow_carries(void **state)
{
	(void)state;
	struct shoal_hlc c;
	shoal_hlc_create(&c);
	shoal_hlc_observe(&c, shoal_hlc_make(1000, SHOAL_HLC_COUNTER_MAX));
	uint64_t v = shoal_hlc_now(&c, 1000);
	assert_true(v == shoal_hlc_make(1001, 0));
}

/* ---- codec ---- */

static void test_sign_then_open_round_trips(void **state)
{
	(void)state;
	struct fx_key k;
	struct intent_envelope e;
	struct intent_error err;
	fx_key(&k, 1);
	struct shoal_buf env = fx_app("kuard", fx_hlc(0, 3), &k, "apiVersion: v1\n");
	assert_int_equal(env.err, 0);
	assert_int_equal(intent_envelope_open(&test_env, env.data, env.len, &e, &err), 0);
	assert_int_equal(e.body.kind, INTENT_APP);
	assert_string_equal(e.body.name, "kuard");
	assert_int_equal(e.body.op, INTENT_PUT);
	assert_true(e.body.hlc == fx_hlc(0, 3));
	assert_int_equal(e.body.target_type, INTENT_TARGET_SELECTOR);
	assert_int_equal(e.body.target_len, strlen("region in (jp-north,jp-south)"));
	assert_memory_equal(e.body.signer, k.pk, 32);
	uint8_t id[32];
	crypto_hash_sha256(id, e.body_bytes, e.body_len);
	assert_memory_equal(e.id, id, 32);
	shoal_buf_destroy(&env);
}

static void test_bad_signature_refused(void **state)
{
	(void)state;
	struct fx_key k;
	struct intent_envelope e;
	struct intent_error err;
	fx_key(&k, 1);
	struct shoal_buf env = fx_app("kuard", fx_hlc(0, 0), &k, "x: y\n");
	env.data[env.len - 1] ^= 1; /* last byte of the signature */
	assert_int_equal(intent_envelope_open(&test_env, env.data, env.len, &e, &err),
	                 SHOAL_E_SIGNATURE);
	assert_int_equal(err.reason, INTENT_R_SIGNATURE);
	shoal_buf_destroy(&env);
}

/* A body packed by hand: fields given as (key, packer step) so one can be
 * left out, repeated or mistyped. */
enum mutation {
	M_NONE,
	M_DROP_KIND,
	M_KIND_INT,
	M_UNKNOWN_KIND,
	M_BAD_NAME,
	M_SIGNER_SHORT,
	M_EXTRA_FIELD,
	M_REPEAT_FIELD,
	M_VERSION_2,
	M_OP_BAD,
	M_TARGET_BAD,
	M_SPEC_STR,
	M_HLC_ZERO,
};

static void pstr(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

static struct shoal_buf body_with(enum mutation m, const struct fx_key *k)
{
	struct shoal_buf b, spec;
	msgpack_packer pk;
	const char *kv[] = {"manifests", "a: b\n", NULL};
	fx_spec(&spec, kv);
	shoal_buf_create(&b, INTENT_BODY_MAX);
	shoal_packer_init(&pk, &b);
	int n = 11 - (m == M_DROP_KIND) + (m == M_EXTRA_FIELD) + (m == M_REPEAT_FIELD);
	msgpack_pack_map(&pk, (size_t)n);
	pstr(&pk, "v");
	msgpack_pack_uint8(&pk, m == M_VERSION_2 ? 2 : 1);
	if (m != M_DROP_KIND) {
		pstr(&pk, "kind");
		if (m == M_KIND_INT)
			msgpack_pack_int(&pk, 1);
		else
			pstr(&pk, m == M_UNKNOWN_KIND ? "Deployment" : "App");
	}
	pstr(&pk, "name");
	pstr(&pk, m == M_BAD_NAME ? "Kuard_" : "kuard");
	pstr(&pk, "op");
	pstr(&pk, m == M_OP_BAD ? "upsert" : "put");
	pstr(&pk, "target");
	msgpack_pack_map(&pk, 1);
	pstr(&pk, m == M_TARGET_BAD ? "everywhere" : "selector");
	pstr(&pk, "env=prod");
	pstr(&pk, "spec");
	if (m == M_SPEC_STR) {
		pstr(&pk, "manifests");
	} else {
		msgpack_pack_bin(&pk, spec.len);
		msgpack_pack_bin_body(&pk, spec.data, spec.len);
	}
	pstr(&pk, "spec_type");
	pstr(&pk, INTENT_SPEC_TYPE);
	pstr(&pk, "strategy");
	msgpack_pack_bin(&pk, 1);
	msgpack_pack_bin_body(&pk, "\x80", 1);
	pstr(&pk, "hlc");
	msgpack_pack_uint64(&pk, m == M_HLC_ZERO ? 0 : fx_hlc(0, 0));
	pstr(&pk, "replaces");
	msgpack_pack_uint64(&pk, 0);
	if (m == M_EXTRA_FIELD) {
		pstr(&pk, "priority");
		msgpack_pack_uint8(&pk, 1);
	}
	if (m == M_REPEAT_FIELD) {
		pstr(&pk, "replaces");
		msgpack_pack_uint64(&pk, 0);
	}
	pstr(&pk, "signer");
	msgpack_pack_bin(&pk, m == M_SIGNER_SHORT ? 31 : 32);
	msgpack_pack_bin_body(&pk, k->pk, m == M_SIGNER_SHORT ? 31 : 32);
	shoal_buf_destroy(&spec);
	return b;
}

static int open_mutated(enum mutation m, enum intent_reason *reason)
{
	struct fx_key k;
	struct shoal_buf env;
	struct intent_envelope e;
	struct intent_error err = {0};
	uint8_t sig[64];
	fx_key(&k, 1);
	struct shoal_buf body = body_with(m, &k);
	assert_int_equal(body.err, 0);
	crypto_sign_detached(sig, NULL, body.data, body.len, k.sk);
	shoal_buf_create(&env, INTENT_ENVELOPE_MAX);
	assert_int_equal(intent_envelope_pack(body.data, body.len, sig, &env), 0);
	int rc = intent_envelope_open(&test_env, env.data, env.len, &e, &err);
	*reason = err.reason;
	if (rc != 0)
		assert_true(err.text[0] != '\0');
	shoal_buf_destroy(&body);
	shoal_buf_destroy(&env);
	return rc;
}

static void test_hand_packed_body_opens(void **state)
{
	(void)state;
	enum intent_reason r;
	assert_int_equal(open_mutated(M_NONE, &r), 0);
}

static void test_each_malformed_body_field_refused(void **state)
{
	(void)state;
	static const struct {
		enum mutation m;
		enum intent_reason want;
	} cases[] = {
	        {M_DROP_KIND, INTENT_R_MALFORMED},       {M_KIND_INT, INTENT_R_MALFORMED},
	        {M_UNKNOWN_KIND, INTENT_R_UNKNOWN_KIND}, {M_BAD_NAME, INTENT_R_MALFORMED},
	        {M_SIGNER_SHORT, INTENT_R_MALFORMED},    {M_EXTRA_FIELD, INTENT_R_MALFORMED},
	        {M_REPEAT_FIELD, INTENT_R_MALFORMED},    {M_VERSION_2, INTENT_R_VERSION},
	        {M_OP_BAD, INTENT_R_MALFORMED},          {M_TARGET_BAD, INTENT_R_MALFORMED},
	        {M_SPEC_STR, INTENT_R_MALFORMED},        {M_HLC_ZERO, INTENT_R_MALFORMED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum intent_reason r = INTENT_OK;
		int rc = open_mutated(cases[i].m, &r);
		if (rc == 0 || r != cases[i].want)
			fail_msg("mutation %d: rc %d reason %s, want %s", cases[i].m, rc,
			         intent_reason_name(r), intent_reason_name(cases[i].want));
	}
}

static void test_malformed_envelopes_refused(void **state)
{
	(void)state;
	struct intent_envelope e;
	struct intent_error err;
	static const uint8_t not_array[] = {0x81, 0xa1, 'a', 0x01};
	static const uint8_t three[] = {0x93, 0xc4, 0x00, 0xc4, 0x00, 0xc4, 0x00};
	static const uint8_t short_sig[] = {0x92, 0xc4, 0x01, 0x80, 0xc4, 0x02, 0x00, 0x00};
	static const uint8_t huge_bin[] = {0x92, 0xc6, 0xff, 0xff, 0xff, 0xff};
	const struct {
		const uint8_t *b;
		size_t n;
	} cases[] = {{not_array, sizeof(not_array)},
	             {three, sizeof(three)},
	             {short_sig, sizeof(short_sig)},
	             {huge_bin, sizeof(huge_bin)},
	             {not_array, 0}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(intent_envelope_decode(cases[i].b, cases[i].n, &e, &err),
		                 SHOAL_E_MALFORMED);
		assert_int_equal(err.reason, INTENT_R_MALFORMED);
	}
	/* a good envelope with one byte more, and one byte less */
	struct fx_key k;
	fx_key(&k, 1);
	struct shoal_buf env = fx_app("kuard", fx_hlc(0, 0), &k, "a: b\n");
	assert_int_equal(intent_envelope_decode(env.data, env.len - 1, &e, &err),
	                 SHOAL_E_MALFORMED);
	uint8_t *longer = malloc(env.len + 1);
	memcpy(longer, env.data, env.len);
	longer[env.len] = 0;
	assert_int_equal(intent_envelope_decode(longer, env.len + 1, &e, &err), SHOAL_E_MALFORMED);
	free(longer);
	shoal_buf_destroy(&env);
}

static void test_spec_over_size_refused(void **state)
{
	(void)state;
	struct fx_key k;
	struct intent_envelope e;
	struct intent_error err;
	fx_key(&k, 1);
	char *big = malloc(INTENT_SPEC_MAX + 1);
	memset(big, 'x', INTENT_SPEC_MAX);
	big[INTENT_SPEC_MAX] = '\0';
	struct shoal_buf env = fx_app("big", fx_hlc(0, 0), &k, big);
	assert_int_equal(env.err, 0);
	assert_int_equal(intent_envelope_open(&test_env, env.data, env.len, &e, &err),
	                 SHOAL_E_TOO_BIG);
	assert_int_equal(err.reason, INTENT_R_TOO_BIG);
	shoal_buf_destroy(&env);
	/* just under the limit (spec map header and key included) opens */
	big[INTENT_SPEC_MAX - 32] = '\0';
	env = fx_app("big", fx_hlc(0, 0), &k, big);
	assert_int_equal(intent_envelope_open(&test_env, env.data, env.len, &e, &err), 0);
	shoal_buf_destroy(&env);
	free(big);
}

/* ---- schemas ---- */

static int spec_check(enum intent_kind kind, const char *const *kv, enum intent_reason *r)
{
	struct shoal_buf spec;
	struct intent_error err = {0};
	fx_spec(&spec, kv);
	struct intent_body b = {
	        .kind = kind, .op = INTENT_PUT, .spec = spec.data, .spec_len = (uint32_t)spec.len};
	int rc = intent_spec_validate(&b, &err);
	*r = err.reason;
	shoal_buf_destroy(&spec);
	return rc;
}

static void test_every_kind_has_a_schema(void **state)
{
	(void)state;
	enum intent_reason r;
	const char *pub = "ZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY=";
	const char *app[] = {"manifests", "a: b\n", "namespace", "web", NULL};
	const char *upg[] = {"version", "1.2.3", NULL};
	const char *vs[] = {"selector", "region=jp", "description", "Japan", NULL};
	const char *grant[] = {"pub", pub, "scope", "region=jp", "expires", "2025-02-01T00:00:00Z",
	                       NULL};
	const char *revoke[] = {"pub", pub, NULL};
	const char *alert[] = {"expr", "score < 40", "severity", "critical", NULL};
	assert_int_equal(spec_check(INTENT_APP, app, &r), 0);
	assert_int_equal(spec_check(INTENT_UPGRADE, upg, &r), 0);
	assert_int_equal(spec_check(INTENT_VIRTUAL_SITE, vs, &r), 0);
	assert_int_equal(spec_check(INTENT_KEY_GRANT, grant, &r), 0);
	assert_int_equal(spec_check(INTENT_KEY_REVOKE, revoke, &r), 0);
	assert_int_equal(spec_check(INTENT_ALERT_RULE, alert, &r), 0);
}

static void test_specs_failing_schema_refused(void **state)
{
	(void)state;
	enum intent_reason r;
	const char *no_manifests[] = {"namespace", "web", NULL};
	const char *unknown_field[] = {"manifests", "a", "replicas", "3", NULL};
	const char *bad_pub[] = {"pub", "not-a-key", NULL};
	const char *bad_expiry[] = {"pub",     "ZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY=",
	                            "scope",   "a=b",
	                            "expires", "next tuesday",
	                            NULL};
	const char *bad_severity[] = {"expr", "score < 40", "severity", "apocalyptic", NULL};
	const char *egress_str[] = {"allow", "10.0.0.0/8", NULL}; /* must be a list */
	const struct {
		enum intent_kind kind;
		const char *const *kv;
	} cases[] = {{INTENT_APP, no_manifests},        {INTENT_APP, unknown_field},
	             {INTENT_KEY_REVOKE, bad_pub},      {INTENT_KEY_GRANT, bad_expiry},
	             {INTENT_ALERT_RULE, bad_severity}, {INTENT_EGRESS_POLICY, egress_str}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = INTENT_OK;
		if (spec_check(cases[i].kind, cases[i].kv, &r) == 0 || r != INTENT_R_SCHEMA)
			fail_msg("case %zu: want a schema refusal, got %s", i,
			         intent_reason_name(r));
	}
}

static void test_grant_read(void **state)
{
	(void)state;
	struct shoal_buf spec;
	struct intent_grant g;
	const char *hex = "6666666666666666666666666666666666666666666666666666666666666666";
	const char *kv[] = {"pub", hex, "scope", "env=prod", "expires", "1970-01-02T00:00:01.5Z",
	                    NULL};
	fx_spec(&spec, kv);
	assert_int_equal(intent_grant_read(spec.data, (uint32_t)spec.len, &g), 0);
	for (int i = 0; i < 32; i++)
		assert_int_equal(g.pub[i], 0x66);
	assert_true(g.expires_ms == 86401500);
	assert_int_equal(g.scope_len, 8);
	assert_memory_equal(g.scope, "env=prod", 8);
	shoal_buf_destroy(&spec);
}

/* ---- small parsers ---- */

static void test_rfc3339(void **state)
{
	(void)state;
	uint64_t ms;
	const char *t1 = "2025-01-01T00:00:00Z";
	assert_int_equal(intent_parse_rfc3339(t1, strlen(t1), &ms), 0);
	assert_true(ms == FX_NOW_MS);
	const char *t2 = "2025-01-01T09:00:00.250+09:00";
	assert_int_equal(intent_parse_rfc3339(t2, strlen(t2), &ms), 0);
	assert_true(ms == FX_NOW_MS + 250);
	const char *t3 = "2024-02-29T12:00:00z";
	assert_int_equal(intent_parse_rfc3339(t3, strlen(t3), &ms), 0);
	const char *bad[] = {"2025-02-29T00:00:00Z",  "2025-01-01T24:00:00Z",
	                     "2025-01-01T00:00:00",   "2025-01-01",
	                     "2025-01-01T00:00:00.Z", "2025-01-01T00:00:00+0900",
	                     "1969-12-31T23:59:59Z",  "2025-13-01T00:00:00Z"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (intent_parse_rfc3339(bad[i], strlen(bad[i]), &ms) == 0)
			fail_msg("accepted %s", bad[i]);
}

static void test_pubkey_and_trust_file(void **state)
{
	(void)state;
	struct trust_roots r;
	char err[128];
	uint8_t pk[32], h1[32], h2[32];
	const char *text = "# roots\n\n"
	                   "ZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY=\n"
	                   "  7777777777777777777777777777777777777777777777777777777777777777 \r\n"
	                   "ZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY\n";
	trust_roots_create(&r);
	assert_int_equal(trust_roots_parse(&r, text, strlen(text), err, sizeof(err)), 0);
	assert_int_equal(r.n, 2); /* the third line repeats the first */
	memset(pk, 0x77, 32);
	assert_true(trust_is_root(&r, pk));
	trust_roots_hash(&r, h1);
	/* same set, other order: same hash */
	struct trust_roots r2;
	const char *swapped = "7777777777777777777777777777777777777777777777777777777777777777\n"
	                      "ZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY=\n";
	trust_roots_create(&r2);
	assert_int_equal(trust_roots_parse(&r2, swapped, strlen(swapped), err, sizeof(err)), 0);
	trust_roots_hash(&r2, h2);
	assert_memory_equal(h1, h2, 32);
	const char *bad = "ZmZm\n";
	assert_int_equal(trust_roots_parse(&r2, bad, strlen(bad), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line 1"));
}

static void test_validate_target(void **state)
{
	(void)state;
	struct intent_error err;
	const uint8_t ok[] = "region in (jp-north,jp-south)";
	const uint8_t ctl[] = "a\nb";
	assert_int_equal(intent_validate_target(INTENT_TARGET_SELECTOR, ok, sizeof(ok) - 1, &err),
	                 0);
	assert_int_not_equal(
	        intent_validate_target(INTENT_TARGET_SELECTOR, ctl, sizeof(ctl) - 1, &err), 0);
	assert_int_not_equal(intent_validate_target(INTENT_TARGET_VIRTUAL_SITE, ok, 0, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_hlc_follows_wall_and_never_goes_back),
	        cmocka_unit_test(test_hlc_observe_pushes_forward),
	        cmocka_unit_test(test_hlc_counter_overflow_carries),
	        cmocka_unit_test(test_sign_then_open_round_trips),
	        cmocka_unit_test(test_bad_signature_refused),
	        cmocka_unit_test(test_hand_packed_body_opens),
	        cmocka_unit_test(test_each_malformed_body_field_refused),
	        cmocka_unit_test(test_malformed_envelopes_refused),
	        cmocka_unit_test(test_spec_over_size_refused),
	        cmocka_unit_test(test_every_kind_has_a_schema),
	        cmocka_unit_test(test_specs_failing_schema_refused),
	        cmocka_unit_test(test_grant_read),
	        cmocka_unit_test(test_rfc3339),
	        cmocka_unit_test(test_pubkey_and_trust_file),
	        cmocka_unit_test(test_validate_target),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
