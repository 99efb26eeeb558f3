/*
 * test_fleet_page.c - the continue token of GET /v1/fleet/sites?limit=N
 * (node/fleet_page.c).
 *
 * A token round trips for every shape of site name; it is bound to its
 * query (another selector, band or view: -ESTALE); anything else is
 * refused as not a token (-EINVAL), never read past its bytes: empty, too
 * long, standard base64 or padding, every one-character change of a real
 * token, wrong version, a checksum-correct token around a name that is not
 * a site name, truncations, and many pseudo-random strings.
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

#include "../../node/fleet_page.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int decode(const char *token, const uint8_t hash[FLEET_PAGE_HASH_LEN], char *last)
{
	char err[256] = "";
	int rc = fleet_page_token_decode(token, hash, last, err, sizeof(err));
	if (rc != 0)
		assert_true(strlen(err) > 0); /* every refusal says why */
	return rc;
}

static void test_round_trip(void **state)
{
	(void)state;
	uint8_t h[FLEET_PAGE_HASH_LEN];
	char tok[FLEET_PAGE_TOKEN_MAX], last[HEALTH_SITE_MAX + 1];
	char longest[HEALTH_SITE_MAX + 1];
	memset(longest, 'z', HEALTH_SITE_MAX);
	longest[HEALTH_SITE_MAX] = '\0';
	const char *names[] = {"a", "site-00042", "f01", "A.b_c-9", longest};
	fleet_page_query_hash("region=jp-north", NULL, NULL, h);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(fleet_page_token_encode(h, names[i], tok), 0);
		assert_true(strlen(tok) < FLEET_PAGE_TOKEN_MAX);
		assert_true(strspn(tok, b64url) == strlen(tok)); /* safe in a URL as it is */
		assert_int_equal(decode(tok, h, last), 0);
		assert_string_equal(last, names[i]);
	}
	/* Names that are not site names make no token. */
	assert_int_equal(fleet_page_token_encode(h, "", tok), -EINVAL);
	assert_int_equal(fleet_page_token_encode(h, "-lead", tok), -EINVAL);
	assert_int_equal(fleet_page_token_encode(h, "a/b", tok), -EINVAL);
}

static void test_bound_to_query(void **state)
{
	(void)state;
	uint8_t h[6][FLEET_PAGE_HASH_LEN];
	char tok[FLEET_PAGE_TOKEN_MAX], last[HEALTH_SITE_MAX + 1];
	fleet_page_query_hash("", NULL, NULL, h[0]);
	fleet_page_query_hash("env=prod", NULL, NULL, h[1]);
	fleet_page_query_hash("", "green", NULL, h[2]);
	fleet_page_query_hash("", NULL, "fresh", h[3]);
	fleet_page_query_hash("", "green", "fresh", h[4]);
	fleet_page_query_hash("green", NULL, NULL, h[5]); /* parts do not run together */
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < 6; j++)
			if (i != j)
				assert_memory_not_equal(h[i], h[j], FLEET_PAGE_HASH_LEN);
	/* Absent and empty are the same query. */
	uint8_t e[FLEET_PAGE_HASH_LEN];
	fleet_page_query_hash("", "", "", e);
	assert_memory_equal(e, h[0], FLEET_PAGE_HASH_LEN);
	assert_int_equal(fleet_page_token_encode(h[1], "s1", tok), 0);
	for (int i = 0; i < 6; i++) {
		int rc = decode(tok, h[i], last);
		assert_int_equal(rc, i == 1 ? 0 : -ESTALE);
		if (rc != 0)
			assert_string_equal(last, "");
	}
}

/* A token around any raw bytes, with a correct checksum. */
static void forge(const uint8_t *raw, size_t len, char *out)
{
	uint8_t buf[128];
	memcpy(buf, raw, len);
	crypto_generichash(buf + len, 4, buf, len, NULL, 0);
	sodium_bin2base64(out, FLEET_PAGE_TOKEN_MAX + 64, buf, len + 4,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void test_not_tokens(void **state)
{
	(void)state;
	uint8_t h[FLEET_PAGE_HASH_LEN];
	char tok[FLEET_PAGE_TOKEN_MAX], last[HEALTH_SITE_MAX + 1], bad[FLEET_PAGE_TOKEN_MAX + 64];
	fleet_page_query_hash("", NULL, NULL, h);
	assert_int_equal(fleet_page_token_encode(h, "site-00042", tok), 0);
	const char *junk[] = {"",
	                      "x",
	                      "====",
	                      "abc=",
	                      "site-00042",
	                      "a+b/c",
	                      "%41%42",
	                      "eyJydiI6MTIzfQ", /* a foreign system's token */
	                      "AAAAAAAAAAAAAAAAAAAAAAAA"};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		assert_int_equal(decode(junk[i], h, last), -EINVAL);
	/* Standard base64 and padding are not the token's alphabet. */
	snprintf(bad, sizeof(bad), "%s=", tok);
	assert_int_equal(decode(bad, h, last), -EINVAL);
	/* Too long to be one. */
	memset(bad, 'A', FLEET_PAGE_TOKEN_MAX);
	bad[FLEET_PAGE_TOKEN_MAX] = '\0';
	assert_int_equal(decode(bad, h, last), -EINVAL);
	/* Every single-character change and every truncation. */
	size_t tl = strlen(tok);
	for (size_t i = 0; i < tl; i++) {
		for (const char *c = b64url; *c != '\0'; c++) {
			if (*c == tok[i])
				continue;
			memcpy(bad, tok, tl + 1);
			bad[i] = *c;
			assert_int_equal(decode(bad, h, last), -EINVAL);
		}
		memcpy(bad, tok, i);
		bad[i] = '\0';
		assert_int_equal(decode(bad, h, last), -EINVAL);
	}
	/* Checksum right, the rest wrong: another version, no name, a name
	 * that is not a site name. */
	uint8_t raw[1 + FLEET_PAGE_HASH_LEN + 80];
	raw[0] = 2;
	memcpy(raw + 1, h, FLEET_PAGE_HASH_LEN);
	memcpy(raw + 1 + FLEET_PAGE_HASH_LEN, "s1", 2);
	forge(raw, 1 + FLEET_PAGE_HASH_LEN + 2, bad);
	assert_int_equal(decode(bad, h, last), -EINVAL);
	raw[0] = 1;
	forge(raw, 1 + FLEET_PAGE_HASH_LEN + 2, bad);
	assert_int_equal(decode(bad, h, last), 0); /* the forge is right */
	assert_string_equal(last, "s1");
	forge(raw, 1 + FLEET_PAGE_HASH_LEN, bad);
	assert_int_equal(decode(bad, h, last), -EINVAL);
	const char *names[] = {"-s", "a b", "a\0b", "\xc3\xa9"};
	const size_t lens[] = {2, 3, 3, 2};
	for (size_t i = 0; i < 4; i++) {
		memcpy(raw + 1 + FLEET_PAGE_HASH_LEN, names[i], lens[i]);
		forge(raw, 1 + FLEET_PAGE_HASH_LEN + lens[i], bad);
		assert_int_equal(decode(bad, h, last), -EINVAL);
	}
	memset(raw + 1 + FLEET_PAGE_HASH_LEN, 'a', HEALTH_SITE_MAX + 1); /* a name too long */
	forge(raw, 1 + FLEET_PAGE_HASH_LEN + HEALTH_SITE_MAX + 1, bad);
	assert_int_equal(decode(bad, h, last), -EINVAL);
}

/* xorshift64*: the same strings on every run. */
static uint64_t next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static void test_random_strings(void **state)
{
	(void)state;
	uint8_t h[FLEET_PAGE_HASH_LEN];
	char s[FLEET_PAGE_TOKEN_MAX + 8], last[HEALTH_SITE_MAX + 1];
	uint64_t seed = 0x70c3e11f00d5eedull;
	fleet_page_query_hash("", NULL, NULL, h);
	for (int round = 0; round < 50000; round++) {
		size_t len = 1 + next(&seed) % (FLEET_PAGE_TOKEN_MAX + 4);
		for (size_t i = 0; i < len; i++) {
			uint64_t r = next(&seed);
			/* Mostly the token alphabet, so many reach the checksum. */
			s[i] = r % 8 != 0 ? b64url[(r >> 8) % 64] : (char)(1 + (r >> 8) % 255);
		}
		s[len] = '\0';
		assert_int_equal(decode(s, h, last), -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_round_trip),
	        cmocka_unit_test(test_bound_to_query),
	        cmocka_unit_test(test_not_tokens),
	        cmocka_unit_test(test_random_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
