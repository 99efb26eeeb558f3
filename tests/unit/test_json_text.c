/*
 * test_json_text.c - JSON text written straight into a buffer reads the
 * same as jansson's json_dumps with the API server's flags (COMPACT,
 * ENSURE_ASCII, REAL_PRECISION(10)), so GET /v1/fleet/sites gives the same
 * bytes it gave when it built jansson objects.
 *
 * Strings: escapes, every UTF-8 length, the code points at the edges
 * (U+007F, U+FFFF, U+10000, U+10FFFF), and invalid sequences (overlong,
 * surrogates, past U+10FFFF, truncated, stray continuations) refused as
 * jansson refuses them; then many pseudo-random byte strings, biased
 * towards almost-valid UTF-8, each checked against jansson. Reals: the
 * values the API shows (per mille / 10, coordinates) and the exponent
 * forms; per mille written without printf, for every 16-bit value; decimal
 * text copied in canonical form, for edge cases and many pseudo-random
 * decimals, against json_real(strtod(text)).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../node/json_text.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(10) | JSON_ENCODE_ANY)

/* The buffer as a NUL-terminated string (static storage per call site). */
static char *text_of(struct shoal_buf *b)
{
	shoal_buf_append(b, "", 1);
	assert_int_equal(b->err, 0);
	return (char *)b->data;
}

/* One string both ways: same acceptance, same bytes. */
static void same_str(const char *s, size_t len)
{
	struct shoal_buf b;
	shoal_buf_create(&b, 1 << 20);
	json_t *j = json_stringn(s, len);
	bool ok = json_text_str(&b, s, len);
	assert_int_equal(ok, j != NULL);
	assert_int_equal(json_text_utf8_valid(s, len), j != NULL);
	if (j != NULL) {
		char *want = json_dumps(j, DUMP_FLAGS);
		assert_non_null(want);
		assert_string_equal(text_of(&b), want);
		free(want);
	} else {
		assert_int_equal(b.len, 0); /* nothing written for a refused string */
	}
	json_decref(j);
	shoal_buf_destroy(&b);
}

#define SAME(lit) same_str(lit, sizeof(lit) - 1)

static void test_strings_known(void **state)
{
	(void)state;
	SAME("");
	SAME("site-00042");
	SAME("quote \" backslash \\ slash /");
	SAME("\b\f\n\r\t\x01\x1f\x7f");
	SAME("nul \0 inside");
	SAME("caf\xc3\xa9");              /* U+00E9 */
	SAME("\xe6\x9d\xb1\xe4\xba\xac"); /* two BMP ideographs */
	SAME("\xef\xbf\xbf");             /* U+FFFF */
	SAME("\xf0\x90\x80\x80");         /* U+10000: a surrogate pair */
	SAME("\xf4\x8f\xbf\xbf");         /* U+10FFFF */
	SAME("\xf0\x9f\x98\x80 emoji");   /* U+1F600 */
	SAME("\xc0\xaf");                 /* overlong '/' */
	SAME("\xe0\x80\xaf");             /* overlong, 3 bytes */
	SAME("\xed\xa0\x80");             /* U+D800, a surrogate */
	SAME("\xf4\x90\x80\x80");         /* past U+10FFFF */
	SAME("\xf8\x88\x80\x80\x80");     /* a 5-byte form */
	SAME("\xc3");                     /* truncated */
	SAME("\x80 stray continuation");
	SAME("\xe6\x9d"); /* truncated 3-byte */
	SAME("ok\xff");
}

/* xorshift64*: the same bytes on every run. */
static uint64_t next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static void test_strings_random(void **state)
{
	(void)state;
	static const uint8_t pieces[][4] = {
	        {'a'},
	        {'"'},
	        {'\\'},
	        {'\n'},
	        {0x01},
	        {0x7f},
	        {0xc3, 0xa9},
	        {0xe2, 0x82, 0xac},
	        {0xf0, 0x9f, 0x98, 0x80},
	        {0x80},
	        {0xc3},
	        {0xed, 0xa0, 0x80},
	        {0xf4, 0x90},
	        {0xff},
	        {0xe0, 0x80},
	        {0xc1, 0xbf},
	};
	static const uint8_t lens[] = {1, 1, 1, 1, 1, 1, 2, 3, 4, 1, 1, 3, 2, 1, 2, 2};
	uint64_t seed = 0x5eed5eed12345678ull;
	char s[64];
	for (int round = 0; round < 20000; round++) {
		size_t len = 0, parts = next(&seed) % 12;
		for (size_t i = 0; i < parts; i++) {
			uint64_t r = next(&seed);
			if (r % 4 == 0) {
				s[len++] = (char)(r >> 8); /* any byte */
				continue;
			}
			size_t k = (r >> 8) % (sizeof(lens) / sizeof(lens[0]));
			memcpy(s + len, pieces[k], lens[k]);
			len += lens[k];
		}
		same_str(s, len);
	}
}

static void same_real(double v)
{
	struct shoal_buf b;
	shoal_buf_create(&b, 256);
	json_t *j = json_real(v);
	json_text_real(&b, v);
	char *want = json_dumps(j, DUMP_FLAGS);
	assert_non_null(want);
	assert_string_equal(text_of(&b), want);
	free(want);
	json_decref(j);
	shoal_buf_destroy(&b);
}

static void test_reals(void **state)
{
	(void)state;
	for (int pm = 0; pm <= 1000; pm++)
		same_real(pm / 10.0);
	const double more[] = {-90.0,     90.0,    35.6812, 139.7671,        -0.5,
	                       1e-5,      1.5e-7,  1e21,    1.25e22,         12345678901.0,
	                       0.1 + 0.2, -1e-300, 1e300,   123456.789012345};
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
		same_real(more[i]);
	struct shoal_buf b;
	shoal_buf_create(&b, 256);
	json_text_real(&b, NAN);
	assert_string_equal(text_of(&b), "null");
	shoal_buf_destroy(&b);
}

static void test_pm(void **state)
{
	(void)state;
	for (uint32_t pm = 0; pm <= 65535; pm++) {
		struct shoal_buf b;
		shoal_buf_create(&b, 64);
		json_text_pm(&b, pm);
		json_t *j = json_real(pm / 10.0);
		char *want = json_dumps(j, DUMP_FLAGS);
		assert_string_equal(text_of(&b), want);
		free(want);
		json_decref(j);
		shoal_buf_destroy(&b);
	}
}

static void same_decimal(const char *text)
{
	struct shoal_buf b;
	char *end;
	double v = strtod(text, &end);
	assert_true(*end == '\0');
	shoal_buf_create(&b, 256);
	json_text_decimal(&b, text, strlen(text), v);
	json_t *j = json_real(v);
	char *want = json_dumps(j, DUMP_FLAGS);
	if (strcmp(text_of(&b), want) != 0)
		fail_msg("%s: wrote %s, jansson %s", text, (char *)b.data, want);
	free(want);
	json_decref(j);
	shoal_buf_destroy(&b);
}

static void test_decimal(void **state)
{
	(void)state;
	const char *edge[] = {"0",
	                      "-0",
	                      "0.0",
	                      "00",
	                      "5.",
	                      ".5",
	                      "-.5",
	                      "35.6812",
	                      "139.7671",
	                      "-90",
	                      "180.000000",
	                      "010.50",
	                      "0.0001",
	                      "0.00001",
	                      "0.00012345",
	                      "-0.000099",
	                      "1234567890",
	                      "12345678901",
	                      "1.234567890",
	                      "1.2345678901",
	                      "0.1234567891",
	                      "99.99999999999",
	                      "1e2",
	                      "+5",
	                      "0x10",
	                      " 5",
	                      "1e-7"};
	for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++)
		same_decimal(edge[i]);
	uint64_t seed = 0xdec1a1dec1a1ull;
	char text[40];
	for (int round = 0; round < 20000; round++) {
		size_t n = 0, ni = next(&seed) % 5, nf = next(&seed) % 12;
		if (next(&seed) % 2)
			text[n++] = '-';
		for (size_t i = 0; i < ni; i++)
			text[n++] = (char)('0' + next(&seed) % (i == 0 && round % 3 ? 3 : 10));
		if (nf > 0 || ni == 0) {
			text[n++] = '.';
			for (size_t i = 0; i < nf; i++)
				text[n++] = (char)('0' + next(&seed) % (round % 5 ? 10 : 2));
		}
		if (ni == 0 && nf == 0)
			text[n++] = '7';
		text[n] = '\0';
		same_decimal(text);
	}
}

static void test_ints(void **state)
{
	(void)state;
	const int64_t v[] = {0, 1, -1, 100, 1179000000000000000ll, INT64_MAX, INT64_MIN};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct shoal_buf b;
		shoal_buf_create(&b, 64);
		json_t *j = json_integer(v[i]);
		json_text_int(&b, v[i]);
		char *want = json_dumps(j, DUMP_FLAGS);
		assert_string_equal(text_of(&b), want);
		free(want);
		json_decref(j);
		shoal_buf_destroy(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_strings_known), cmocka_unit_test(test_strings_random),
	        cmocka_unit_test(test_reals),         cmocka_unit_test(test_pm),
	        cmocka_unit_test(test_decimal),       cmocka_unit_test(test_ints),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
