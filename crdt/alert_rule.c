/*
 * alert_rule.c - an AlertRule's spec fields beyond the expression (the
 * `for` duration, the webhook URL), reading a stored spec, and the two
 * choices every node must make alike for delivery: which live member
 * sends an episode, and the idempotency key it sends it under.
 *
 * The sender is chosen by rendezvous hashing over the members a node sees
 * alive: each member's weight for a rule is a hash of (rule, member) and
 * the heaviest sends. Nodes that see the same members choose the same
 * sender with no message exchanged; when the sender dies, membership drops
 * it and the next heaviest takes over; the two sides of a partition each
 * choose among their own members, so each connected part sends once.
 */
#include "shoal/alert.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "shoal/error.h"
#include "shoal/mp.h"

int alert_duration_parse(const char *text, size_t len, uint64_t *ms)
{
	uint64_t total = 0;
	size_t i = 0;
	*ms = 0;
	if (len == 0)
		return SHOAL_E_MALFORMED;
	while (i < len) {
		uint64_t v = 0;
		size_t digits = 0;
		while (i < len && text[i] >= '0' && text[i] <= '9') {
			v = v * 10 + (uint64_t)(text[i++] - '0');
			if (++digits > 12)
				return SHOAL_E_MALFORMED;
		}
		if (digits == 0 || i == len)
			return SHOAL_E_MALFORMED; /* a number needs its unit */
		uint64_t unit;
		if (i + 1 < len && text[i] == 'm' && text[i + 1] == 's') {
			unit = 1;
			i += 2;
		} else {
			switch (text[i++]) {
			case 's':
				unit = 1000;
				break;
			case 'm':
				unit = 60 * 1000;
				break;
			case 'h':
				unit = 3600 * 1000;
				break;
			case 'd':
				unit = 24 * 3600 * 1000;
				break;
			default:
				return SHOAL_E_MALFORMED;
			}
		}
		if (v > ALERT_FOR_MAX_MS / unit || total + v * unit > ALERT_FOR_MAX_MS)
			return SHOAL_E_MALFORMED;
		total += v * unit;
		if (total > ALERT_FOR_MAX_MS)
			return SHOAL_E_MALFORMED;
	}
	*ms = total;
	return 0;
}

bool alert_webhook_valid(const char *text, size_t len)
{
	size_t scheme;
	if (len > ALERT_WEBHOOK_MAX)
		return false;
	if (len >= 7 && memcmp(text, "http://", 7) == 0)
		scheme = 7;
	else if (len >= 8 && memcmp(text, "https://", 8) == 0)
		scheme = 8;
	else
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] <= 0x20 || (unsigned char)text[i] >= 0x7f)
			return false;
	/* A host: something before the path, and not only a port or userinfo. */
	size_t host = scheme;
	while (host < len && text[host] != '/' && text[host] != '?' && text[host] != '#')
		host++;
	return host > scheme && text[scheme] != ':' && text[scheme] != '@';
}

int alert_rule_read(const uint8_t *spec, uint32_t len, struct alert_rule *out)
{
	const uint8_t *p = spec, *end = spec + len, *k, *v;
	uint32_t n, kl, vl;
	memset(out, 0, sizeof(*out));
	out->severity = "warning";
	out->severity_len = 7;
	if (shoal_mp_read_map(&p, end, &n) != 0)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		if (shoal_mp_read_str(&p, end, &k, &kl) != 0 ||
		    shoal_mp_read_str(&p, end, &v, &vl) != 0)
			return -EINVAL;
		if (kl == 4 && memcmp(k, "expr", 4) == 0) {
			out->expr = (const char *)v;
			out->expr_len = vl;
		} else if (kl == 3 && memcmp(k, "for", 3) == 0) {
			if (alert_duration_parse((const char *)v, vl, &out->for_ms) != 0)
				return -EINVAL;
		} else if (kl == 8 && memcmp(k, "severity", 8) == 0) {
			out->severity = (const char *)v;
			out->severity_len = vl;
		} else if (kl == 7 && memcmp(k, "webhook", 7) == 0) {
			out->webhook = (const char *)v;
			out->webhook_len = vl;
		} else {
			return -EINVAL;
		}
	}
	return out->expr != NULL ? 0 : -EINVAL;
}

static uint64_t weight(const char *rule, const char *member)
{
	crypto_hash_sha256_state st;
	uint8_t h[32];
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)rule, strlen(rule) + 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)member, strlen(member));
	crypto_hash_sha256_final(&st, h);
	uint64_t w = 0;
	for (int i = 0; i < 8; i++)
		w = w << 8 | h[i];
	return w;
}

int alert_pick_sender(const char *rule, const char *const *names, size_t n)
{
	int best = -1;
	uint64_t best_w = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t w = weight(rule, names[i]);
		/* Ties (a 2^-64 event) go to the smaller name, so still agreed. */
		if (best < 0 || w > best_w || (w == best_w && strcmp(names[i], names[best]) < 0)) {
			best = (int)i;
			best_w = w;
		}
	}
	return best;
}

void alert_idempotency_key(const char *rule, uint64_t version, uint64_t start_ms, const char *state,
                           char out[33])
{
	crypto_hash_sha256_state st;
	uint8_t h[32], num[16];
	for (int i = 0; i < 8; i++) {
		num[i] = (uint8_t)(version >> (56 - 8 * i));
		num[8 + i] = (uint8_t)(start_ms >> (56 - 8 * i));
	}
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)rule, strlen(rule) + 1);
	crypto_hash_sha256_update(&st, num, sizeof(num));
	crypto_hash_sha256_update(&st, (const uint8_t *)state, strlen(state));
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(out, 33, h, 16);
}
