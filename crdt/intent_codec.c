/*
 * intent_codec.c - the envelope and body codec (include/shoal/intent.h).
 *
 * Decoding order follows what is cheapest to refuse and what must be
 * trusted first: the outer [body, sig] array and its lengths, then the
 * body's fields with the bounded reader (to learn the signer), then the
 * signature over the exact body bytes, and only after that the spec's
 * schema - so a forged envelope never gets its megabyte of spec walked.
 * The body is a map rather than a positional array so that a reader of a
 * hex dump (and a future format) can tell the fields apart; the cost is a
 * few bytes of key text per intent.
 */
#include "intent_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "shoal/error.h"

static const int reason_codes[INTENT_R_COUNT] = {
        [INTENT_OK] = 0,
        [INTENT_R_MALFORMED] = SHOAL_E_MALFORMED,
        [INTENT_R_VERSION] = SHOAL_E_VERSION,
        [INTENT_R_UNKNOWN_KIND] = SHOAL_E_MALFORMED,
        [INTENT_R_SCHEMA] = SHOAL_E_MALFORMED,
        [INTENT_R_TOO_BIG] = SHOAL_E_TOO_BIG,
        [INTENT_R_SIGNATURE] = SHOAL_E_SIGNATURE,
        [INTENT_R_UNKNOWN_SIGNER] = SHOAL_E_FORBIDDEN,
        [INTENT_R_EXPIRED] = SHOAL_E_FORBIDDEN,
        [INTENT_R_REVOKED] = SHOAL_E_FORBIDDEN,
        [INTENT_R_NOT_ROOT] = SHOAL_E_FORBIDDEN,
        [INTENT_R_OUT_OF_SCOPE] = SHOAL_E_FORBIDDEN,
        [INTENT_R_SKEW] = SHOAL_E_RANGE,
        [INTENT_R_HORIZON] = SHOAL_E_STALE,
        [INTENT_R_STALE] = SHOAL_E_STALE,
        [INTENT_R_CONFLICT] = SHOAL_E_CONFLICT,
        [INTENT_R_HASH_MISMATCH] = SHOAL_E_MALFORMED,
        [INTENT_R_STORE] = SHOAL_E_STORE,
};

int intent_fail(struct intent_error *err, enum intent_reason reason, const char *fmt, ...)
{
	if (err != NULL) {
		va_list ap;
		err->reason = reason;
		va_start(ap, fmt);
		vsnprintf(err->text, sizeof(err->text), fmt, ap);
		va_end(ap);
	}
	return reason > INTENT_OK && reason < INTENT_R_COUNT ? reason_codes[reason]
	                                                     : SHOAL_E_MALFORMED;
}

/* Body fields, as bits of a "seen" mask so repeats and gaps are caught. */
enum body_field {
	F_V = 1 << 0,
	F_KIND = 1 << 1,
	F_NAME = 1 << 2,
	F_OP = 1 << 3,
	F_TARGET = 1 << 4,
	F_SPEC = 1 << 5,
	F_SPEC_TYPE = 1 << 6,
	F_STRATEGY = 1 << 7,
	F_HLC = 1 << 8,
	F_REPLACES = 1 << 9,
	F_FORCE = 1 << 10,
	F_SIGNER = 1 << 11,
	F_REQUIRED = (1 << 12) - 1 - F_FORCE,
};

static const struct {
	const char *key;
	enum body_field bit;
} body_keys[] = {
        {"v", F_V},
        {"kind", F_KIND},
        {"name", F_NAME},
        {"op", F_OP},
        {"target", F_TARGET},
        {"spec", F_SPEC},
        {"spec_type", F_SPEC_TYPE},
        {"strategy", F_STRATEGY},
        {"hlc", F_HLC},
        {"replaces", F_REPLACES},
        {"force", F_FORCE},
        {"signer", F_SIGNER},
};

int intent_name_valid(const uint8_t *s, uint32_t len)
{
	if (len == 0 || len > INTENT_NAME_MAX)
		return 0;
	for (uint32_t i = 0; i < len; i++) {
		uint8_t c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && !((c == '-' || c == '.') && i > 0 && i + 1 < len))
			return 0;
	}
	return 1;
}

static int read_target(const uint8_t **pos, const uint8_t *end, struct intent_body *b,
                       struct intent_error *err)
{
	uint32_t n;
	const uint8_t *k;
	uint32_t kl;
	if (shoal_mp_read_nil(pos, end) == 0) {
		b->target_type = INTENT_TARGET_NONE;
		return 0;
	}
	if (shoal_mp_read_map(pos, end, &n) != 0 || n != 1)
		return intent_fail(err, INTENT_R_MALFORMED,
		                   "target must be {virtual_site: NAME} or {selector: TEXT}");
	if (shoal_mp_read_str(pos, end, &k, &kl) != 0)
		return intent_fail(err, INTENT_R_MALFORMED, "target key must be a string");
	if (intent_str_is(k, kl, "virtual_site"))
		b->target_type = INTENT_TARGET_VIRTUAL_SITE;
	else if (intent_str_is(k, kl, "selector"))
		b->target_type = INTENT_TARGET_SELECTOR;
	else
		return intent_fail(err, INTENT_R_MALFORMED,
		                   "target must be {virtual_site: NAME} or {selector: TEXT}");
	if (shoal_mp_read_str(pos, end, &b->target, &b->target_len) != 0)
		return intent_fail(err, INTENT_R_MALFORMED, "target value must be a string");
	return intent_validate_target(b->target_type, b->target, b->target_len, err);
}

static int read_field(const uint8_t **pos, const uint8_t *end, enum body_field f,
                      struct intent_body *b, struct intent_error *err)
{
	const uint8_t *s;
	uint32_t len;
	uint64_t v;

	switch (f) {
	case F_V:
		if (shoal_mp_read_uint(pos, end, &v) != 0)
			return intent_fail(err, INTENT_R_MALFORMED,
			                   "v must be an unsigned integer");
		if (v != INTENT_FORMAT)
			return intent_fail(err, INTENT_R_VERSION, "body format %llu is not %d",
			                   (unsigned long long)v, INTENT_FORMAT);
		return 0;
	case F_KIND:
		if (shoal_mp_read_str(pos, end, &s, &len) != 0)
			return intent_fail(err, INTENT_R_MALFORMED, "kind must be a string");
		b->kind = intent_kind_parse((const char *)s, len);
		if (b->kind == INTENT_KIND_NONE)
			return intent_fail(err, INTENT_R_UNKNOWN_KIND, "unknown kind \"%.*s\"",
			                   (int)(len > 64 ? 64 : len), (const char *)s);
		return 0;
	case F_NAME:
		if (shoal_mp_read_str(pos, end, &s, &len) != 0 || !intent_name_valid(s, len))
			return intent_fail(err, INTENT_R_MALFORMED,
			                   "name must be 1-%d characters of a-z, 0-9, '-' and '.', "
			                   "starting and ending alphanumeric",
			                   INTENT_NAME_MAX);
		memcpy(b->name, s, len);
		b->name[len] = '\0';
		return 0;
	case F_OP:
		if (shoal_mp_read_str(pos, end, &s, &len) != 0)
			return intent_fail(err, INTENT_R_MALFORMED, "op must be a string");
		if (intent_str_is(s, len, "put"))
			b->op = INTENT_PUT;
		else if (intent_str_is(s, len, "delete"))
			b->op = INTENT_DELETE;
		else
			return intent_fail(err, INTENT_R_MALFORMED, "op must be put or delete");
		return 0;
	case F_TARGET:
		return read_target(pos, end, b, err);
	case F_SPEC:
		if (shoal_mp_read_bin(pos, end, &b->spec, &b->spec_len) != 0)
			return intent_fail(err, INTENT_R_MALFORMED, "spec must be bin");
		if (b->spec_len > INTENT_SPEC_MAX)
			return intent_fail(err, INTENT_R_TOO_BIG, "spec is %u bytes, limit %u",
			                   b->spec_len, INTENT_SPEC_MAX);
		return 0;
	case F_SPEC_TYPE:
		if (shoal_mp_read_str(pos, end, &s, &len) != 0 ||
		    !intent_str_is(s, len, INTENT_SPEC_TYPE))
			return intent_fail(err, INTENT_R_MALFORMED, "spec_type must be %s",
			                   INTENT_SPEC_TYPE);
		return 0;
	case F_STRATEGY:
		if (shoal_mp_read_bin(pos, end, &b->strategy, &b->strategy_len) != 0)
			return intent_fail(err, INTENT_R_MALFORMED, "strategy must be bin");
		if (b->strategy_len > INTENT_STRATEGY_MAX)
			return intent_fail(err, INTENT_R_TOO_BIG, "strategy is %u bytes, limit %u",
			                   b->strategy_len, INTENT_STRATEGY_MAX);
		return 0;
	case F_HLC:
		if (shoal_mp_read_uint(pos, end, &b->hlc) != 0 || b->hlc == 0)
			return intent_fail(err, INTENT_R_MALFORMED,
			                   "hlc must be a positive integer");
		return 0;
	case F_REPLACES:
		if (shoal_mp_read_uint(pos, end, &b->replaces) != 0)
			return intent_fail(err, INTENT_R_MALFORMED, "replaces must be an integer");
		return 0;
	case F_FORCE:
		if (shoal_mp_read_bool(pos, end, &b->force) != 0)
			return intent_fail(err, INTENT_R_MALFORMED, "force must be a boolean");
		return 0;
	case F_SIGNER:
		if (shoal_mp_read_bin(pos, end, &s, &len) != 0 || len != 32)
			return intent_fail(err, INTENT_R_MALFORMED,
			                   "signer must be 32 bytes of bin");
		memcpy(b->signer, s, 32);
		return 0;
	default:
		return intent_fail(err, INTENT_R_MALFORMED, "internal: unknown field");
	}
}

static int decode_body(const uint8_t *p, const uint8_t *end, struct intent_body *b,
                       struct intent_error *err)
{
	uint32_t n, seen = 0;
	memset(b, 0, sizeof(*b));
	if (shoal_mp_read_map(&p, end, &n) != 0)
		return intent_fail(err, INTENT_R_MALFORMED, "body is not a msgpack map");
	if (n > sizeof(body_keys) / sizeof(body_keys[0]))
		return intent_fail(err, INTENT_R_MALFORMED, "body has %u fields", n);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *k;
		uint32_t kl;
		enum body_field f = 0;
		if (shoal_mp_read_str(&p, end, &k, &kl) != 0)
			return intent_fail(err, INTENT_R_MALFORMED, "body key is not a string");
		for (size_t j = 0; j < sizeof(body_keys) / sizeof(body_keys[0]); j++)
			if (intent_str_is(k, kl, body_keys[j].key))
				f = body_keys[j].bit;
		if (f == 0)
			return intent_fail(err, INTENT_R_MALFORMED, "unknown body field \"%.*s\"",
			                   (int)(kl > 32 ? 32 : kl), (const char *)k);
		if (seen & f)
			return intent_fail(err, INTENT_R_MALFORMED, "repeated body field \"%.*s\"",
			                   (int)kl, (const char *)k);
		seen |= f;
		int rc = read_field(&p, end, f, b, err);
		if (rc != 0)
			return rc;
	}
	if ((seen & F_REQUIRED) != F_REQUIRED)
		return intent_fail(err, INTENT_R_MALFORMED, "body misses required fields");
	if (p != end)
		return intent_fail(err, INTENT_R_MALFORMED, "trailing bytes after the body");
	if (b->op == INTENT_DELETE && b->spec_len != 0)
		return intent_fail(err, INTENT_R_MALFORMED, "a delete carries an empty spec");
	if (b->op == INTENT_PUT && b->target_type == INTENT_TARGET_NONE &&
	    (b->kind == INTENT_APP || b->kind == INTENT_EGRESS_POLICY ||
	     b->kind == INTENT_UPGRADE || b->kind == INTENT_ALERT_RULE))
		return intent_fail(err, INTENT_R_MALFORMED, "%s needs a target",
		                   intent_kind_name(b->kind));
	return 0;
}

int intent_envelope_decode(const uint8_t *bytes, size_t len, struct intent_envelope *out,
                           struct intent_error *err)
{
	const uint8_t *p = bytes, *end = bytes + len, *sig;
	uint32_t n, sig_len;

	memset(out, 0, sizeof(*out));
	if (len > INTENT_ENVELOPE_MAX)
		return intent_fail(err, INTENT_R_TOO_BIG, "envelope is %zu bytes, limit %u", len,
		                   (unsigned)INTENT_ENVELOPE_MAX);
	if (shoal_mp_read_array(&p, end, &n) != 0 || n != 2)
		return intent_fail(err, INTENT_R_MALFORMED, "envelope is not [body, sig]");
	if (shoal_mp_read_bin(&p, end, &out->body_bytes, &out->body_len) != 0)
		return intent_fail(err, INTENT_R_MALFORMED, "envelope body is not bin");
	if (shoal_mp_read_bin(&p, end, &sig, &sig_len) != 0 || sig_len != 64)
		return intent_fail(err, INTENT_R_MALFORMED, "signature is not 64 bytes of bin");
	if (p != end)
		return intent_fail(err, INTENT_R_MALFORMED, "trailing bytes after the envelope");
	out->sig = sig;
	crypto_hash_sha256(out->id, out->body_bytes, out->body_len);
	return decode_body(out->body_bytes, out->body_bytes + out->body_len, &out->body, err);
}

int intent_envelope_open(const struct shoal_env *env, const uint8_t *bytes, size_t len,
                         struct intent_envelope *out, struct intent_error *err)
{
	int rc = intent_envelope_decode(bytes, len, out, err);
	if (rc != 0)
		return rc;
	if (shoal_env_verify(env, out->sig, out->body_bytes, out->body_len, out->body.signer) != 0)
		return intent_fail(err, INTENT_R_SIGNATURE,
		                   "signature does not verify against the body's signer");
	return intent_spec_validate(&out->body, err);
}

/* ---- packing ---- */

static void pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static void pack_bin(msgpack_packer *pk, const uint8_t *b, size_t n)
{
	msgpack_pack_bin(pk, n);
	if (n > 0)
		msgpack_pack_bin_body(pk, b, n);
}

int intent_body_pack(const struct intent_draft *d, struct shoal_buf *out)
{
	msgpack_packer pk;
	static const uint8_t empty_map = 0x80;

	if (d->kind <= INTENT_KIND_NONE || d->kind >= INTENT_KIND_COUNT || d->name == NULL ||
	    (d->target_type != INTENT_TARGET_NONE && d->target == NULL))
		return -EINVAL;
	shoal_packer_init(&pk, out);
	msgpack_pack_map(&pk, d->force ? 12 : 11);
	pack_str(&pk, "v");
	msgpack_pack_uint32(&pk, INTENT_FORMAT);
	pack_str(&pk, "kind");
	pack_str(&pk, intent_kind_name(d->kind));
	pack_str(&pk, "name");
	pack_str(&pk, d->name);
	pack_str(&pk, "op");
	pack_str(&pk, d->op == INTENT_DELETE ? "delete" : "put");
	pack_str(&pk, "target");
	if (d->target_type == INTENT_TARGET_NONE) {
		msgpack_pack_nil(&pk);
	} else {
		msgpack_pack_map(&pk, 1);
		pack_str(&pk,
		         d->target_type == INTENT_TARGET_SELECTOR ? "selector" : "virtual_site");
		pack_str(&pk, d->target);
	}
	pack_str(&pk, "spec");
	pack_bin(&pk, d->spec, d->spec != NULL ? d->spec_len : 0);
	pack_str(&pk, "spec_type");
	pack_str(&pk, INTENT_SPEC_TYPE);
	pack_str(&pk, "strategy");
	if (d->strategy != NULL)
		pack_bin(&pk, d->strategy, d->strategy_len);
	else
		pack_bin(&pk, &empty_map, 1);
	pack_str(&pk, "hlc");
	msgpack_pack_uint64(&pk, d->hlc);
	pack_str(&pk, "replaces");
	msgpack_pack_uint64(&pk, d->replaces);
	if (d->force) {
		pack_str(&pk, "force");
		msgpack_pack_true(&pk);
	}
	pack_str(&pk, "signer");
	pack_bin(&pk, d->signer, 32);
	return out->err;
}

int intent_envelope_pack(const uint8_t *body, size_t body_len, const uint8_t sig[64],
                         struct shoal_buf *out)
{
	msgpack_packer pk;
	shoal_packer_init(&pk, out);
	msgpack_pack_array(&pk, 2);
	pack_bin(&pk, body, body_len);
	pack_bin(&pk, sig, 64);
	return out->err;
}

int intent_sign(const struct intent_draft *d, const uint8_t sk[64], struct shoal_buf *out)
{
	struct shoal_buf body;
	uint8_t sig[64];
	int rc;

	shoal_buf_create(&body, INTENT_BODY_MAX);
	rc = intent_body_pack(d, &body);
	if (rc == 0 && body.data == NULL)
		rc = -EINVAL;
	if (rc == 0) {
		crypto_sign_detached(sig, NULL, body.data, body.len, sk);
		rc = intent_envelope_pack(body.data, body.len, sig, out);
	}
	shoal_buf_destroy(&body);
	return rc;
}
