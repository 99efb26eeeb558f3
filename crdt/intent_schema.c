/*
 * intent_schema.c - each kind's spec schema, checked at ingress.
 *
 * A spec is a flat msgpack map (the YAML spec mapping minus target and
 * strategy, which the envelope carries). Schemas are tables rather than
 * code so docs/intents.md can list them one to one; unknown fields are
 * refused, because a field a node ignores today would be a field two nodes
 * disagree about once a later release gives it meaning. The same rules
 * run on every node, so the verdict is a pure function of the bytes.
 */
#include "intent_internal.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "shoal/alert.h"
#include "shoal/error.h"
#include "shoal/selector.h"

enum field_type {
	FT_STR,        /* string up to max_len, optionally one of choices */
	FT_STR_LIST,   /* array of up to 256 strings, each up to max_len */
	FT_TIME,       /* RFC 3339 string or unix milliseconds */
	FT_PUBKEY,     /* 32-byte Ed25519 key as base64 or hex */
	FT_SELECTOR,   /* a label selector (intent_validate_target) */
	FT_ALERT_EXPR, /* an AlertRule expression (shoal/alert.h) */
	FT_DURATION,   /* "5m", "1h30m" (alert_duration_parse) */
	FT_URL,        /* an http:// or https:// URL (alert_webhook_valid) */
};

#define LIST_MAX   256
#define FIELDS_MAX 4

struct field {
	const char *name;
	enum field_type type;
	int required;
	uint32_t max_len;
	const char *const *choices; /* NULL-terminated, or NULL for any */
};

struct schema {
	struct field fields[FIELDS_MAX]; /* ends at the first NULL name */
};

static const char *const egress_defaults[] = {"allow", "deny", NULL};
static const char *const severities[] = {"info", "warning", "critical", NULL};

static const struct schema schemas[INTENT_KIND_COUNT] = {
        [INTENT_APP] = {{{"manifests", FT_STR, 1, INTENT_SPEC_MAX, NULL},
                         {"namespace", FT_STR, 0, 63, NULL}}},
        [INTENT_EGRESS_POLICY] = {{{"allow", FT_STR_LIST, 1, 253, NULL},
                                   {"deny", FT_STR_LIST, 0, 253, NULL},
                                   {"default", FT_STR, 0, 8, egress_defaults}}},
        [INTENT_UPGRADE] = {{{"version", FT_STR, 1, 64, NULL}, {"image", FT_STR, 0, 512, NULL}}},
        [INTENT_VIRTUAL_SITE] = {{{"selector", FT_SELECTOR, 1, INTENT_TARGET_MAX, NULL},
                                  {"description", FT_STR, 0, 256, NULL}}},
        [INTENT_KEY_GRANT] = {{{"pub", FT_PUBKEY, 1, 128, NULL},
                               {"scope", FT_SELECTOR, 1, INTENT_TARGET_MAX, NULL},
                               {"expires", FT_TIME, 1, 64, NULL}}},
        [INTENT_KEY_REVOKE] = {{{"pub", FT_PUBKEY, 1, 128, NULL},
                                {"reason", FT_STR, 0, 256, NULL}}},
        [INTENT_ALERT_RULE] = {{{"expr", FT_ALERT_EXPR, 1, ALERT_EXPR_MAX, NULL},
                                {"for", FT_DURATION, 0, 32, NULL},
                                {"severity", FT_STR, 0, 16, severities},
                                {"webhook", FT_URL, 0, ALERT_WEBHOOK_MAX, NULL}}},
};

int intent_validate_target(enum intent_target_type type, const uint8_t *text, uint32_t len,
                           struct intent_error *err)
{
	if (type == INTENT_TARGET_VIRTUAL_SITE) {
		/* A virtual site is named like any intent (it is one). */
		if (!intent_name_valid(text, len))
			return intent_fail(err, INTENT_R_MALFORMED,
			                   "virtual site name must be 1-%d bytes of a-z, 0-9, '-' "
			                   "and '.', starting and ending alphanumeric",
			                   INTENT_NAME_MAX);
		return 0;
	}
	if (len == 0 || len > INTENT_TARGET_MAX)
		return intent_fail(err, INTENT_R_MALFORMED, "selector must be 1-%d bytes",
		                   INTENT_TARGET_MAX);
	/* Parsed in full, so no node ever stores a target that some site would
	 * fail to evaluate: every node judges the same bytes the same way. */
	struct selector *sel = NULL;
	char why[SELECTOR_ERR_MAX];
	if (selector_parse((const char *)text, len, &sel, why, sizeof(why)) != 0)
		return intent_fail(err, INTENT_R_MALFORMED, "%s", why);
	selector_delete(sel);
	return 0;
}

static int check_str(const struct field *f, const uint8_t *s, uint32_t len,
                     struct intent_error *err)
{
	if (len > f->max_len)
		return intent_fail(err, INTENT_R_SCHEMA, "spec.%s is longer than %u bytes", f->name,
		                   f->max_len);
	if (f->choices == NULL)
		return 0;
	for (const char *const *c = f->choices; *c != NULL; c++)
		if (intent_str_is(s, len, *c))
			return 0;
	return intent_fail(err, INTENT_R_SCHEMA, "spec.%s is not one of the allowed values",
	                   f->name);
}

/* AlertRule fields: parsed in full here so a rule no node could evaluate
 * is refused with the parser's reason and never replicated. */
static int check_alert_field(const struct field *f, const uint8_t **p, const uint8_t *end,
                             struct intent_error *err)
{
	const uint8_t *s;
	uint32_t len;
	uint64_t ms;
	struct alert_expr e;
	char why[ALERT_ERR_MAX];
	if (shoal_mp_read_str(p, end, &s, &len) != 0)
		return intent_fail(err, INTENT_R_SCHEMA, "spec.%s must be a string", f->name);
	if (len > f->max_len)
		return intent_fail(err, INTENT_R_SCHEMA, "spec.%s is longer than %u bytes", f->name,
		                   f->max_len);
	switch (f->type) {
	case FT_ALERT_EXPR:
		if (alert_expr_parse((const char *)s, len, &e, why, sizeof(why)) != 0)
			return intent_fail(err, INTENT_R_SCHEMA, "spec.%s", why); /* "expr: ..." */
		return 0;
	case FT_DURATION:
		if (alert_duration_parse((const char *)s, len, &ms) != 0)
			return intent_fail(err, INTENT_R_SCHEMA,
			                   "spec.%s must be a duration such as 30s, 5m or 1h30m "
			                   "(units ms, s, m, h, d; at most 7d)",
			                   f->name);
		return 0;
	default:
		if (!alert_webhook_valid((const char *)s, len))
			return intent_fail(
			        err, INTENT_R_SCHEMA,
			        "spec.%s must be an http:// or https:// URL with a host, "
			        "without spaces",
			        f->name);
		return 0;
	}
}

static int check_value(const struct field *f, const uint8_t **p, const uint8_t *end,
                       struct intent_error *err)
{
	const uint8_t *s;
	uint32_t len, n;
	uint64_t ms;
	uint8_t pub[32];

	switch (f->type) {
	case FT_STR:
		if (shoal_mp_read_str(p, end, &s, &len) != 0)
			return intent_fail(err, INTENT_R_SCHEMA, "spec.%s must be a string",
			                   f->name);
		return check_str(f, s, len, err);
	case FT_STR_LIST:
		if (shoal_mp_read_array(p, end, &n) != 0 || n > LIST_MAX)
			return intent_fail(err, INTENT_R_SCHEMA,
			                   "spec.%s must be a list of at most %d strings", f->name,
			                   LIST_MAX);
		for (uint32_t i = 0; i < n; i++) {
			if (shoal_mp_read_str(p, end, &s, &len) != 0)
				return intent_fail(err, INTENT_R_SCHEMA,
				                   "spec.%s[%u] must be a string", f->name, i);
			int rc = check_str(f, s, len, err);
			if (rc != 0)
				return rc;
		}
		return 0;
	case FT_TIME:
		if (shoal_mp_read_uint(p, end, &ms) == 0)
			return 0;
		if (shoal_mp_read_str(p, end, &s, &len) != 0 ||
		    intent_parse_rfc3339((const char *)s, len, &ms) != 0)
			return intent_fail(err, INTENT_R_SCHEMA,
			                   "spec.%s must be RFC 3339 time or unix milliseconds",
			                   f->name);
		return 0;
	case FT_PUBKEY:
		if (shoal_mp_read_str(p, end, &s, &len) != 0 ||
		    intent_parse_pubkey((const char *)s, len, pub) != 0)
			return intent_fail(err, INTENT_R_SCHEMA,
			                   "spec.%s must be a 32-byte key in base64 or hex",
			                   f->name);
		return 0;
	case FT_SELECTOR:
		if (shoal_mp_read_str(p, end, &s, &len) != 0)
			return intent_fail(err, INTENT_R_SCHEMA, "spec.%s must be a string",
			                   f->name);
		if (intent_validate_target(INTENT_TARGET_SELECTOR, s, len, err) != 0)
			return intent_fail(err, INTENT_R_SCHEMA, "spec.%s: %s", f->name,
			                   "not a valid selector");
		return 0;
	case FT_ALERT_EXPR:
	case FT_DURATION:
	case FT_URL:
		return check_alert_field(f, p, end, err);
	}
	return intent_fail(err, INTENT_R_SCHEMA, "internal: unknown field type");
}

int intent_spec_validate(const struct intent_body *b, struct intent_error *err)
{
	const uint8_t *p = b->spec, *end = b->spec + b->spec_len;
	uint32_t n, seen = 0;

	if (b->kind <= INTENT_KIND_NONE || b->kind >= INTENT_KIND_COUNT)
		return intent_fail(err, INTENT_R_UNKNOWN_KIND, "unknown kind");
	if (b->op == INTENT_DELETE)
		return 0; /* a tombstone has no spec to judge */
	const struct schema *sc = &schemas[b->kind];
	if (shoal_mp_read_map(&p, end, &n) != 0)
		return intent_fail(err, INTENT_R_SCHEMA, "%s spec must be a map",
		                   intent_kind_name(b->kind));
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *k;
		uint32_t kl;
		int which = -1;
		if (shoal_mp_read_str(&p, end, &k, &kl) != 0)
			return intent_fail(err, INTENT_R_SCHEMA, "spec keys must be strings");
		for (int j = 0; j < FIELDS_MAX && sc->fields[j].name != NULL; j++)
			if (intent_str_is(k, kl, sc->fields[j].name))
				which = j;
		if (which < 0)
			return intent_fail(err, INTENT_R_SCHEMA, "%s spec has no field \"%.*s\"",
			                   intent_kind_name(b->kind), (int)(kl > 32 ? 32 : kl),
			                   (const char *)k);
		if (seen & (1u << which))
			return intent_fail(err, INTENT_R_SCHEMA, "spec.%s appears twice",
			                   sc->fields[which].name);
		seen |= 1u << which;
		int rc = check_value(&sc->fields[which], &p, end, err);
		if (rc != 0)
			return rc;
	}
	if (p != end)
		return intent_fail(err, INTENT_R_SCHEMA, "trailing bytes after the spec");
	for (int j = 0; j < FIELDS_MAX && sc->fields[j].name != NULL; j++) {
		if (sc->fields[j].required && !(seen & (1u << j)))
			return intent_fail(err, INTENT_R_SCHEMA, "%s spec needs \"%s\"",
			                   intent_kind_name(b->kind), sc->fields[j].name);
	}
	return 0;
}

/* Find `key` in a flat spec map and leave *p at its value. */
static int find_key(const uint8_t *spec, uint32_t len, const char *key, const uint8_t **p)
{
	const uint8_t *end = spec + len;
	uint32_t n;
	*p = spec;
	if (shoal_mp_read_map(p, end, &n) != 0)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *k;
		uint32_t kl;
		if (shoal_mp_read_str(p, end, &k, &kl) != 0)
			return -EINVAL;
		if (intent_str_is(k, kl, key))
			return 0;
		if (shoal_mp_skip(p, end, 8) != 0)
			return -EINVAL;
	}
	return -ENOENT;
}

int intent_grant_read(const uint8_t *spec, uint32_t len, struct intent_grant *out)
{
	const uint8_t *p, *end = spec + len, *s;
	uint32_t sl;
	struct intent_body b = {.kind = INTENT_KEY_GRANT, .spec = spec, .spec_len = len};

	memset(out, 0, sizeof(*out));
	if (intent_spec_validate(&b, NULL) != 0)
		return -EINVAL;
	if (find_key(spec, len, "pub", &p) != 0 || shoal_mp_read_str(&p, end, &s, &sl) != 0 ||
	    intent_parse_pubkey((const char *)s, sl, out->pub) != 0)
		return -EINVAL;
	if (find_key(spec, len, "scope", &p) != 0 ||
	    shoal_mp_read_str(&p, end, &out->scope, &out->scope_len) != 0)
		return -EINVAL;
	if (find_key(spec, len, "expires", &p) != 0)
		return -EINVAL;
	if (shoal_mp_read_uint(&p, end, &out->expires_ms) == 0)
		return 0;
	if (shoal_mp_read_str(&p, end, &s, &sl) != 0 ||
	    intent_parse_rfc3339((const char *)s, sl, &out->expires_ms) != 0)
		return -EINVAL;
	return 0;
}

int intent_virtual_site_read(const uint8_t *spec, uint32_t len, const uint8_t **selector,
                             uint32_t *selector_len)
{
	const uint8_t *p, *end = spec + len;
	struct intent_body b = {.kind = INTENT_VIRTUAL_SITE, .spec = spec, .spec_len = len};
	if (intent_spec_validate(&b, NULL) != 0)
		return -EINVAL;
	if (find_key(spec, len, "selector", &p) != 0 ||
	    shoal_mp_read_str(&p, end, selector, selector_len) != 0)
		return -EINVAL;
	return 0;
}

int intent_revoke_read(const uint8_t *spec, uint32_t len, uint8_t pub[32])
{
	const uint8_t *p, *end = spec + len, *s;
	uint32_t sl;
	struct intent_body b = {.kind = INTENT_KEY_REVOKE, .spec = spec, .spec_len = len};
	if (intent_spec_validate(&b, NULL) != 0)
		return -EINVAL;
	if (find_key(spec, len, "pub", &p) != 0 || shoal_mp_read_str(&p, end, &s, &sl) != 0 ||
	    intent_parse_pubkey((const char *)s, sl, pub) != 0)
		return -EINVAL;
	return 0;
}

int intent_parse_pubkey(const char *text, size_t len, uint8_t pub[32])
{
	char buf[130];
	size_t bin_len = 0;
	const char *last;
	static const int variants[] = {
	        sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
	        sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING};

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (len == 64 && sodium_hex2bin(pub, 32, buf, len, NULL, &bin_len, &last) == 0 &&
	    bin_len == 32 && last == buf + len)
		return 0;
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
		if (sodium_base642bin(pub, 32, buf, len, NULL, &bin_len, &last, variants[i]) == 0 &&
		    bin_len == 32 && last == buf + len)
			return 0;
	return -EINVAL;
}
