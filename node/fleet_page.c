/*
 * fleet_page.c - continue tokens of the paged site list (fleet_page.h).
 */
#include "fleet_page.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#define TOKEN_VERSION 1
#define CHECK_LEN     4
#define RAW_MAX       (1 + FLEET_PAGE_HASH_LEN + HEALTH_SITE_MAX + CHECK_LEN)

void fleet_page_query_hash(const char *selector, const char *band, const char *view,
                           uint8_t out[FLEET_PAGE_HASH_LEN])
{
	/* Each part with its NUL, so ("a", "bc") and ("ab", "c") differ. */
	const char *parts[3] = {selector, band, view};
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, FLEET_PAGE_HASH_LEN);
	for (int i = 0; i < 3; i++) {
		const char *p = parts[i] != NULL ? parts[i] : "";
		crypto_generichash_update(&st, (const unsigned char *)p, strlen(p) + 1);
	}
	crypto_generichash_final(&st, out, FLEET_PAGE_HASH_LEN);
}

static void checksum(const uint8_t *raw, size_t len, uint8_t out[CHECK_LEN])
{
	crypto_generichash(out, CHECK_LEN, raw, len, NULL, 0);
}

int fleet_page_token_encode(const uint8_t hash[FLEET_PAGE_HASH_LEN], const char *last,
                            char out[FLEET_PAGE_TOKEN_MAX])
{
	uint8_t raw[RAW_MAX];
	size_t nl = strlen(last);
	out[0] = '\0';
	if (!health_site_name_valid(last, nl))
		return -EINVAL;
	raw[0] = TOKEN_VERSION;
	memcpy(raw + 1, hash, FLEET_PAGE_HASH_LEN);
	memcpy(raw + 1 + FLEET_PAGE_HASH_LEN, last, nl);
	size_t len = 1 + FLEET_PAGE_HASH_LEN + nl;
	checksum(raw, len, raw + len);
	len += CHECK_LEN;
	sodium_bin2base64(out, FLEET_PAGE_TOKEN_MAX, raw, len,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return 0;
}

int fleet_page_token_decode(const char *token, const uint8_t hash[FLEET_PAGE_HASH_LEN],
                            char last[HEALTH_SITE_MAX + 1], char *err, size_t errcap)
{
	uint8_t raw[RAW_MAX], check[CHECK_LEN];
	size_t len = 0, tl = strlen(token);
	const char *end = NULL;
	last[0] = '\0';
	if (tl == 0 || tl >= FLEET_PAGE_TOKEN_MAX) {
		snprintf(err, errcap, "not a continue token (length %zu)", tl);
		return -EINVAL;
	}
	if (sodium_base642bin(raw, sizeof(raw), token, tl, NULL, &len, &end,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != token + tl) {
		snprintf(err, errcap, "not a continue token (not base64url)");
		return -EINVAL;
	}
	if (len < 1 + FLEET_PAGE_HASH_LEN + 1 + CHECK_LEN || raw[0] != TOKEN_VERSION) {
		snprintf(err, errcap, "not a continue token (wrong size or version)");
		return -EINVAL;
	}
	size_t body = len - CHECK_LEN;
	checksum(raw, body, check);
	if (sodium_memcmp(check, raw + body, CHECK_LEN) != 0) {
		snprintf(err, errcap, "not a continue token (checksum)");
		return -EINVAL;
	}
	const char *name = (const char *)raw + 1 + FLEET_PAGE_HASH_LEN;
	size_t nl = body - 1 - FLEET_PAGE_HASH_LEN;
	if (!health_site_name_valid(name, nl)) {
		snprintf(err, errcap, "not a continue token (no site name in it)");
		return -EINVAL;
	}
	if (memcmp(raw + 1, hash, FLEET_PAGE_HASH_LEN) != 0) {
		snprintf(err, errcap,
		         "the continue token belongs to another query (selector, band or view "
		         "changed): start the walk again without it");
		return -ESTALE;
	}
	memcpy(last, name, nl);
	last[nl] = '\0';
	return 0;
}
