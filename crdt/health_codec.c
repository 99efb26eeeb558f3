/*
 * health_codec.c - the health record's envelope and body (include/shoal/health.h).
 *
 * The body is a positional array, not a map like an intent's: 10,000
 * records travel to every node, and key text would be a third of a typical
 * record. The format version comes first so a later format can be refused
 * cleanly. Decoding reads types and ranges with the bounded reader into the
 * struct, then runs the same rule check the encoder runs before signing
 * (syntax, repeats), so what one node signs every node can read and what
 * one node refuses no node signs. Opening verifies the signature over the
 * exact body bytes before the body is decoded past the site name.
 */
#include "shoal/health.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "shoal/error.h"
#include "shoal/labels.h"

#define BODY_FIELDS 17
#define DEPTH_MAX   8

static const char *const state_names[HEALTH_STATE_COUNT] = {
        [HEALTH_NOT_SELECTED] = "not-selected",
        [HEALTH_PENDING] = "pending",
        [HEALTH_WAITING] = "waiting",
        [HEALTH_APPLYING] = "applying",
        [HEALTH_READY] = "ready",
        [HEALTH_DEGRADED] = "degraded",
        [HEALTH_FAILED] = "failed",
        [HEALTH_UNREACHABLE] = "unreachable",
        [HEALTH_STALE] = "stale",
};

static const char *const pod_names[HEALTH_POD_COUNT] = {
        [HEALTH_POD_RUNNING] = "running",
        [HEALTH_POD_CREATING] = "creating",
        [HEALTH_POD_WAITING_IMAGE] = "waiting-image",
        [HEALTH_POD_CONFIG_ERROR] = "config-error",
        [HEALTH_POD_CRASH_LOOP] = "crash-loop",
        [HEALTH_POD_OOM_KILLED] = "oom-killed",
        [HEALTH_POD_UNSCHEDULABLE] = "unschedulable",
        [HEALTH_POD_PENDING] = "pending",
};

const char *health_state_name(enum health_state s)
{
	return (unsigned)s < HEALTH_STATE_COUNT ? state_names[s] : "unknown";
}

const char *health_pod_name(enum health_pod p)
{
	return (unsigned)p < HEALTH_POD_COUNT ? pod_names[p] : "unknown";
}

const char *health_band_name(enum health_band b)
{
	switch (b) {
	case HEALTH_RED:
		return "red";
	case HEALTH_ORANGE:
		return "orange";
	case HEALTH_GREEN:
		return "green";
	}
	return "unknown";
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool health_site_name_valid(const char *s, size_t len)
{
	if (len == 0 || len > HEALTH_SITE_MAX || !is_alnum(s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

static bool printable(struct health_str t, uint32_t min, uint32_t max)
{
	if (t.len < min || t.len > max || (t.len > 0 && t.s == NULL))
		return false;
	for (uint32_t i = 0; i < t.len; i++)
		if (t.s[i] < 0x20 || t.s[i] > 0x7e)
			return false;
	return true;
}

/* Valid UTF-8 without control characters: annotations are free text that
 * every API shows as a JSON string. */
static bool utf8_text(struct health_str t, uint32_t max)
{
	const uint8_t *s = (const uint8_t *)t.s;
	if (t.len > max || (t.len > 0 && s == NULL))
		return false;
	for (uint32_t i = 0; i < t.len;) {
		uint8_t c = s[i];
		uint32_t more;
		uint32_t cp;
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (t.len - i <= more)
			return false;
		for (uint32_t k = 1; k <= more; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* overlong forms, surrogates and beyond U+10FFFF */
		if ((more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
			return false;
		i += more + 1;
	}
	return true;
}

static bool str_eq(struct health_str a, struct health_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, a.len) == 0);
}

/* The rules beyond types and ranges, shared by the encoder (before it
 * signs) and the decoder (after it reads). Repeats are found pairwise: the
 * lists are capped at a few hundred entries, so at worst 32k comparisons. */
static int record_check(const struct health_record *r)
{
	if (r->site.s == NULL || !health_site_name_valid(r->site.s, r->site.len))
		return SHOAL_E_MALFORMED;
	if (!printable(r->software, 0, HEALTH_SOFTWARE_MAX))
		return SHOAL_E_MALFORMED;
	if (r->n_labels > HEALTH_LABELS_MAX || r->n_annotations > HEALTH_ANNOTATIONS_MAX ||
	    r->n_intents > HEALTH_INTENTS_MAX || r->n_policy > HEALTH_POLICY_MAX ||
	    r->n_alerts > HEALTH_ALERTS_MAX)
		return SHOAL_E_RANGE;
	if (r->cpu_pm > 1000 || r->mem_pm > 1000 || r->disk_pm > 1000 || r->links.loss_pm > 1000 ||
	    r->links.reached > r->links.probed)
		return SHOAL_E_RANGE;
	const struct health_score *sc = &r->score;
	if (sc->score > 100 || sc->connectivity > 100 || sc->reliability > 100 ||
	    sc->security > 100 || sc->performance > 100)
		return SHOAL_E_RANGE;
	for (uint32_t i = 0; i < r->n_labels; i++) {
		const struct health_label *l = &r->labels[i];
		if (l->key.s == NULL || !shoal_label_key_valid(l->key.s, l->key.len) ||
		    (l->value.len > 0 && l->value.s == NULL) ||
		    !shoal_label_value_valid(l->value.s != NULL ? l->value.s : "", l->value.len))
			return SHOAL_E_MALFORMED;
		for (uint32_t j = 0; j < i; j++)
			if (str_eq(r->labels[j].key, l->key))
				return SHOAL_E_MALFORMED;
	}
	for (uint32_t i = 0; i < r->n_annotations; i++) {
		const struct health_label *a = &r->annotations[i];
		if (a->key.s == NULL || !shoal_label_key_valid(a->key.s, a->key.len) ||
		    !utf8_text(a->value, HEALTH_ANNOTATION_VALUE_MAX))
			return SHOAL_E_MALFORMED;
		for (uint32_t j = 0; j < i; j++)
			if (str_eq(r->annotations[j].key, a->key))
				return SHOAL_E_MALFORMED;
	}
	for (uint32_t i = 0; i < r->n_intents; i++) {
		const struct health_intent *it = &r->intents[i];
		if (it->kind <= INTENT_KIND_NONE || it->kind >= INTENT_KIND_COUNT ||
		    (unsigned)it->state >= HEALTH_OWNER_STATES)
			return SHOAL_E_RANGE;
		if (it->name.s == NULL ||
		    !intent_name_valid((const uint8_t *)it->name.s, it->name.len))
			return SHOAL_E_MALFORMED;
		for (uint32_t j = 0; j < i; j++)
			if (r->intents[j].kind == it->kind && str_eq(r->intents[j].name, it->name))
				return SHOAL_E_MALFORMED;
	}
	for (uint32_t i = 0; i < r->n_policy; i++) {
		if (!printable(r->policy[i].rule, 1, HEALTH_POLICY_ID_MAX))
			return SHOAL_E_MALFORMED;
		for (uint32_t j = 0; j < i; j++)
			if (str_eq(r->policy[j].rule, r->policy[i].rule))
				return SHOAL_E_MALFORMED;
	}
	for (uint32_t i = 0; i < r->n_alerts; i++) {
		if (r->alerts[i].s == NULL ||
		    !intent_name_valid((const uint8_t *)r->alerts[i].s, r->alerts[i].len))
			return SHOAL_E_MALFORMED;
		for (uint32_t j = 0; j < i; j++)
			if (str_eq(r->alerts[j], r->alerts[i]))
				return SHOAL_E_MALFORMED;
	}
	return 0;
}

/* ---- encoding ---------------------------------------------------------- */

static void pack_str(msgpack_packer *pk, struct health_str t)
{
	msgpack_pack_str(pk, t.len);
	if (t.len > 0)
		msgpack_pack_str_body(pk, t.s, t.len);
}

static void pack_bin(msgpack_packer *pk, const uint8_t *b, size_t n)
{
	msgpack_pack_bin(pk, n);
	if (n > 0)
		msgpack_pack_bin_body(pk, b, n);
}

static void pack_body(msgpack_packer *pk, const struct health_record *r)
{
	msgpack_pack_array(pk, BODY_FIELDS);
	msgpack_pack_uint64(pk, HEALTH_FORMAT);
	pack_str(pk, r->site);
	msgpack_pack_uint64(pk, r->version);
	pack_str(pk, r->software);
	msgpack_pack_map(pk, r->n_labels);
	for (uint32_t i = 0; i < r->n_labels; i++) {
		pack_str(pk, r->labels[i].key);
		pack_str(pk, r->labels[i].value);
	}
	msgpack_pack_uint64(pk, r->uptime_s);
	msgpack_pack_int64(pk, r->skew_ms);
	msgpack_pack_array(pk, 3);
	msgpack_pack_uint16(pk, r->cpu_pm);
	msgpack_pack_uint16(pk, r->mem_pm);
	msgpack_pack_uint16(pk, r->disk_pm);
	const struct health_links *l = &r->links;
	msgpack_pack_array(pk, 7);
	msgpack_pack_uint32(pk, l->window_s);
	msgpack_pack_uint32(pk, l->known);
	msgpack_pack_uint32(pk, l->probed);
	msgpack_pack_uint32(pk, l->reached);
	msgpack_pack_uint32(pk, l->rtt_p50_us);
	msgpack_pack_uint32(pk, l->rtt_p99_us);
	msgpack_pack_uint32(pk, l->loss_pm);
	msgpack_pack_array(pk, r->n_intents);
	for (uint32_t i = 0; i < r->n_intents; i++) {
		msgpack_pack_array(pk, 4);
		msgpack_pack_uint8(pk, (uint8_t)r->intents[i].kind);
		pack_str(pk, r->intents[i].name);
		msgpack_pack_uint64(pk, r->intents[i].version);
		msgpack_pack_uint8(pk, (uint8_t)r->intents[i].state);
	}
	msgpack_pack_array(pk, HEALTH_POD_COUNT);
	for (int i = 0; i < HEALTH_POD_COUNT; i++)
		msgpack_pack_uint32(pk, r->pods[i]);
	msgpack_pack_uint32(pk, r->restarts);
	msgpack_pack_array(pk, 3);
	pack_bin(pk, r->sec.roots, HEALTH_ROOTS_LEN);
	if (r->sec.keyring)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	msgpack_pack_uint32(pk, r->sec.revoked_applied);
	msgpack_pack_map(pk, r->n_policy);
	for (uint32_t i = 0; i < r->n_policy; i++) {
		pack_str(pk, r->policy[i].rule);
		msgpack_pack_uint64(pk, r->policy[i].hits);
	}
	msgpack_pack_array(pk, r->n_alerts);
	for (uint32_t i = 0; i < r->n_alerts; i++)
		pack_str(pk, r->alerts[i]);
	msgpack_pack_array(pk, 5);
	msgpack_pack_uint8(pk, r->score.score);
	msgpack_pack_uint8(pk, r->score.connectivity);
	msgpack_pack_uint8(pk, r->score.reliability);
	msgpack_pack_uint8(pk, r->score.security);
	msgpack_pack_uint8(pk, r->score.performance);
	msgpack_pack_map(pk, r->n_annotations);
	for (uint32_t i = 0; i < r->n_annotations; i++) {
		pack_str(pk, r->annotations[i].key);
		pack_str(pk, r->annotations[i].value);
	}
}

int health_seal(const struct health_record *r, const uint8_t sk[64], struct shoal_buf *out)
{
	struct shoal_buf body;
	msgpack_packer pk;
	uint8_t sig[HEALTH_SIG_LEN];
	int rc;

	shoal_buf_reset(out);
	if (record_check(r) != 0 || r->version == 0)
		return -EINVAL;
	shoal_buf_create(&body, HEALTH_ENVELOPE_MAX - 128);
	shoal_packer_init(&pk, &body);
	pack_body(&pk, r);
	rc = body.err;
	if (rc == 0) {
		crypto_sign_detached(sig, NULL, body.data, body.len, sk);
		shoal_packer_init(&pk, out);
		msgpack_pack_array(&pk, 2);
		pack_bin(&pk, body.data, body.len);
		pack_bin(&pk, sig, sizeof(sig));
		rc = out->err;
	}
	shoal_buf_destroy(&body);
	return rc;
}

/* ---- decoding ---------------------------------------------------------- */

int health_envelope_split(const uint8_t *bytes, size_t len, const uint8_t **body,
                          uint32_t *body_len, const uint8_t **sig)
{
	const uint8_t *p = bytes, *end = bytes + len;
	uint32_t n, sig_len;
	int rc;

	if (len > HEALTH_ENVELOPE_MAX)
		return SHOAL_E_TOO_BIG;
	if ((rc = shoal_mp_read_array(&p, end, &n)) != 0)
		return rc;
	if (n != 2)
		return SHOAL_E_MALFORMED;
	if ((rc = shoal_mp_read_bin(&p, end, body, body_len)) != 0 ||
	    (rc = shoal_mp_read_bin(&p, end, sig, &sig_len)) != 0)
		return rc;
	if (sig_len != HEALTH_SIG_LEN || p != end || *body_len == 0)
		return SHOAL_E_MALFORMED;
	return 0;
}

static int read_str(const uint8_t **p, const uint8_t *end, uint32_t max, struct health_str *out)
{
	const uint8_t *s;
	uint32_t len;
	int rc = shoal_mp_read_str(p, end, &s, &len);
	if (rc != 0)
		return rc;
	if (len > max)
		return SHOAL_E_RANGE;
	out->s = (const char *)s;
	out->len = len;
	return 0;
}

static int read_u32(const uint8_t **p, const uint8_t *end, uint32_t max, uint32_t *out)
{
	uint64_t v;
	int rc = shoal_mp_read_uint_range(p, end, 0, max, &v);
	if (rc == 0)
		*out = (uint32_t)v;
	return rc;
}

/* An array header that must hold exactly `want` elements. */
static int read_tuple(const uint8_t **p, const uint8_t *end, uint32_t want)
{
	uint32_t n;
	int rc = shoal_mp_read_array(p, end, &n);
	if (rc != 0)
		return rc;
	return n == want ? 0 : SHOAL_E_MALFORMED;
}

static int read_list(const uint8_t **p, const uint8_t *end, uint32_t max, uint32_t *n)
{
	int rc = shoal_mp_read_array(p, end, n);
	if (rc != 0)
		return rc;
	return *n <= max ? 0 : SHOAL_E_RANGE;
}

/* The format and the site name: all an opener needs to find the key. */
static int read_head(const uint8_t **p, const uint8_t *end, struct health_record *r)
{
	uint64_t v;
	int rc;

	if ((rc = shoal_mp_read_array(p, end, &(uint32_t){0})) != 0)
		return rc;
	if ((rc = shoal_mp_read_uint(p, end, &v)) != 0)
		return rc;
	if (v != HEALTH_FORMAT)
		return SHOAL_E_VERSION;
	if ((rc = read_str(p, end, HEALTH_SITE_MAX, &r->site)) != 0)
		return rc;
	return health_site_name_valid(r->site.s, r->site.len) ? 0 : SHOAL_E_MALFORMED;
}

/* A map of {key: value} strings into `out` (labels or annotations). */
static int read_pairs(const uint8_t **p, const uint8_t *end, uint32_t max, uint32_t value_max,
                      struct health_label *out, uint32_t *n)
{
	int rc = shoal_mp_read_map(p, end, n);
	if (rc != 0)
		return rc;
	if (*n > max)
		return SHOAL_E_RANGE;
	for (uint32_t i = 0; i < *n; i++)
		if ((rc = read_str(p, end, SHOAL_LABEL_KEY_MAX, &out[i].key)) != 0 ||
		    (rc = read_str(p, end, value_max, &out[i].value)) != 0)
			return rc;
	return 0;
}

static int read_labels(const uint8_t **p, const uint8_t *end, struct health_record *r)
{
	return read_pairs(p, end, HEALTH_LABELS_MAX, SHOAL_LABEL_VALUE_MAX, r->labels,
	                  &r->n_labels);
}

static int read_usage_links(const uint8_t **p, const uint8_t *end, struct health_record *r)
{
	uint32_t v[3];
	int rc;

	if ((rc = read_tuple(p, end, 3)) != 0)
		return rc;
	for (int i = 0; i < 3; i++)
		if ((rc = read_u32(p, end, 1000, &v[i])) != 0)
			return rc;
	r->cpu_pm = (uint16_t)v[0];
	r->mem_pm = (uint16_t)v[1];
	r->disk_pm = (uint16_t)v[2];

	struct health_links *l = &r->links;
	uint32_t *fields[] = {&l->window_s,   &l->known,      &l->probed, &l->reached,
	                      &l->rtt_p50_us, &l->rtt_p99_us, &l->loss_pm};
	if ((rc = read_tuple(p, end, 7)) != 0)
		return rc;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if ((rc = read_u32(p, end, UINT32_MAX, fields[i])) != 0)
			return rc;
	return 0;
}

static int read_intents(const uint8_t **p, const uint8_t *end, struct health_record *r)
{
	int rc = read_list(p, end, HEALTH_INTENTS_MAX, &r->n_intents);
	if (rc != 0)
		return rc;
	for (uint32_t i = 0; i < r->n_intents; i++) {
		struct health_intent *it = &r->intents[i];
		uint32_t kind, state;
		if ((rc = read_tuple(p, end, 4)) != 0 ||
		    (rc = read_u32(p, end, INTENT_KIND_COUNT - 1, &kind)) != 0 ||
		    (rc = read_str(p, end, INTENT_NAME_MAX, &it->name)) != 0 ||
		    (rc = shoal_mp_read_uint(p, end, &it->version)) != 0 ||
		    (rc = read_u32(p, end, HEALTH_OWNER_STATES - 1, &state)) != 0)
			return rc;
		it->kind = (enum intent_kind)kind;
		it->state = (enum health_state)state;
	}
	return 0;
}

static int read_pods_security(const uint8_t **p, const uint8_t *end, struct health_record *r)
{
	const uint8_t *roots;
	uint32_t roots_len;
	int rc;

	if ((rc = read_tuple(p, end, HEALTH_POD_COUNT)) != 0)
		return rc;
	for (int i = 0; i < HEALTH_POD_COUNT; i++)
		if ((rc = read_u32(p, end, UINT32_MAX, &r->pods[i])) != 0)
			return rc;
	if ((rc = read_u32(p, end, UINT32_MAX, &r->restarts)) != 0)
		return rc;
	if ((rc = read_tuple(p, end, 3)) != 0 ||
	    (rc = shoal_mp_read_bin(p, end, &roots, &roots_len)) != 0)
		return rc;
	if (roots_len != HEALTH_ROOTS_LEN)
		return SHOAL_E_MALFORMED;
	memcpy(r->sec.roots, roots, HEALTH_ROOTS_LEN);
	if ((rc = shoal_mp_read_bool(p, end, &r->sec.keyring)) != 0)
		return rc;
	return read_u32(p, end, UINT32_MAX, &r->sec.revoked_applied);
}

static int read_policy_alerts(const uint8_t **p, const uint8_t *end, struct health_record *r)
{
	int rc = shoal_mp_read_map(p, end, &r->n_policy);
	if (rc != 0)
		return rc;
	if (r->n_policy > HEALTH_POLICY_MAX)
		return SHOAL_E_RANGE;
	for (uint32_t i = 0; i < r->n_policy; i++)
		if ((rc = read_str(p, end, HEALTH_POLICY_ID_MAX, &r->policy[i].rule)) != 0 ||
		    (rc = shoal_mp_read_uint(p, end, &r->policy[i].hits)) != 0)
			return rc;
	if ((rc = read_list(p, end, HEALTH_ALERTS_MAX, &r->n_alerts)) != 0)
		return rc;
	for (uint32_t i = 0; i < r->n_alerts; i++)
		if ((rc = read_str(p, end, INTENT_NAME_MAX, &r->alerts[i])) != 0)
			return rc;
	return 0;
}

static int read_score(const uint8_t **p, const uint8_t *end, struct health_score *s)
{
	uint8_t *fields[] = {&s->score, &s->connectivity, &s->reliability, &s->security,
	                     &s->performance};
	int rc = read_tuple(p, end, 5);
	for (size_t i = 0; rc == 0 && i < sizeof(fields) / sizeof(fields[0]); i++) {
		uint32_t v;
		if ((rc = read_u32(p, end, 100, &v)) == 0)
			*fields[i] = (uint8_t)v;
	}
	return rc;
}

static void clear(struct health_record *r)
{
	r->site = r->software = (struct health_str){NULL, 0};
	r->n_labels = r->n_intents = r->n_policy = r->n_alerts = r->n_annotations = 0;
}

int health_body_decode(const uint8_t *body, size_t len, struct health_record *r)
{
	const uint8_t *p = body, *end = body + len;
	const uint8_t *q = body;
	uint32_t n;
	int64_t skew;
	int rc;

	/* Only the counts and the borrowed strings get a start value, not the
	 * whole record: every field is written below before a reader may look
	 * at it (arrays up to their counts), and zeroing 16 KB per record cost
	 * more than the decode itself where every site's record is decoded
	 * (GET /v1/fleet at 10,000 sites). */
	clear(r);
	/* The field count first: a body of another length is another format. */
	if ((rc = shoal_mp_read_array(&q, end, &n)) != 0)
		return rc;
	if (n != BODY_FIELDS) {
		/* A newer format may add fields; say "version" when it says so. */
		uint64_t fmt;
		if (n >= 1 && shoal_mp_read_uint(&q, end, &fmt) == 0 && fmt != HEALTH_FORMAT)
			return SHOAL_E_VERSION;
		return SHOAL_E_MALFORMED;
	}
	if ((rc = read_head(&p, end, r)) != 0 ||
	    (rc = shoal_mp_read_uint_range(&p, end, 1, UINT64_MAX, &r->version)) != 0 ||
	    (rc = read_str(&p, end, HEALTH_SOFTWARE_MAX, &r->software)) != 0 ||
	    (rc = read_labels(&p, end, r)) != 0 ||
	    (rc = shoal_mp_read_uint(&p, end, &r->uptime_s)) != 0 ||
	    (rc = shoal_mp_read_int(&p, end, &skew)) != 0)
		return rc;
	if (skew <= INT32_MIN || skew > INT32_MAX)
		return SHOAL_E_RANGE;
	r->skew_ms = (int32_t)skew;
	if ((rc = read_usage_links(&p, end, r)) != 0 || (rc = read_intents(&p, end, r)) != 0 ||
	    (rc = read_pods_security(&p, end, r)) != 0 ||
	    (rc = read_policy_alerts(&p, end, r)) != 0 ||
	    (rc = read_score(&p, end, &r->score)) != 0 ||
	    (rc = read_pairs(&p, end, HEALTH_ANNOTATIONS_MAX, HEALTH_ANNOTATION_VALUE_MAX,
	                     r->annotations, &r->n_annotations)) != 0)
		return rc;
	if (p != end)
		return SHOAL_E_MALFORMED;
	return record_check(r);
}

int health_open(const struct shoal_env *env, health_key_fn key_fn, void *key_ctx,
                const uint8_t *bytes, size_t len, struct health_record *out)
{
	const uint8_t *body, *sig, *p;
	uint32_t body_len;
	uint8_t pk[32];
	char site[HEALTH_SITE_MAX];
	size_t site_len;
	int rc;

	if ((rc = health_envelope_split(bytes, len, &body, &body_len, &sig)) != 0)
		return rc;
	clear(out);
	p = body;
	if ((rc = read_head(&p, body + body_len, out)) != 0)
		return rc;
	site_len = out->site.len;
	memcpy(site, out->site.s, site_len);
	if (key_fn(key_ctx, site, site_len, pk) != 0)
		return SHOAL_E_FORBIDDEN;
	if ((rc = shoal_env_verify(env, sig, body, body_len, pk)) != 0)
		return rc;
	return health_body_decode(body, body_len, out);
}
