/*
 * test_mp.c - the bounded msgpack reader and the capped write buffer.
 *
 * Every reader gets, per format it accepts, a good value, a truncated header,
 * a truncated body, a hostile declared length and a wrong type, and every
 * failure is checked to leave the cursor where it was. Values written by
 * msgpack-c through shoal_buf are read back to prove the two sides agree.
 */
#include "shoal/mp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shoal/error.h"

/* A byte string literal and its length, for the reader calls below. */
#define B(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

/* Each wrapper runs one reader on (buf, n), asserts the outcome and, on
 * failure, that the cursor did not move; on success it returns how many
 * bytes the reader consumed. */
static size_t uint_ok(const uint8_t *buf, size_t n, uint64_t want)
{
	const uint8_t *p = buf;
	uint64_t v = 0;
	assert_int_equal(shoal_mp_read_uint(&p, buf + n, &v), 0);
	assert_true(v == want);
	return (size_t)(p - buf);
}

static void uint_fail(const uint8_t *buf, size_t n, int code)
{
	const uint8_t *p = buf;
	uint64_t v = 12345;
	assert_int_equal(shoal_mp_read_uint(&p, buf + n, &v), code);
	assert_ptr_equal(p, buf);
	assert_true(v == 12345);
}

static size_t int_ok(const uint8_t *buf, size_t n, int64_t want)
{
	const uint8_t *p = buf;
	int64_t v = 0;
	assert_int_equal(shoal_mp_read_int(&p, buf + n, &v), 0);
	assert_true(v == want);
	return (size_t)(p - buf);
}

static void int_fail(const uint8_t *buf, size_t n, int code)
{
	const uint8_t *p = buf;
	int64_t v = 12345;
	assert_int_equal(shoal_mp_read_int(&p, buf + n, &v), code);
	assert_ptr_equal(p, buf);
	assert_true(v == 12345);
}

enum raw_kind { STR, BIN, RAW };

static int read_rawkind(enum raw_kind k, const uint8_t **p, const uint8_t *end, const uint8_t **s,
                        uint32_t *len)
{
	switch (k) {
	case STR:
		return shoal_mp_read_str(p, end, s, len);
	case BIN:
		return shoal_mp_read_bin(p, end, s, len);
	default:
		return shoal_mp_read_raw(p, end, s, len);
	}
}

static void raw_ok(enum raw_kind k, const uint8_t *buf, size_t n, size_t hdr, uint32_t want_len)
{
	const uint8_t *p = buf, *s = NULL;
	uint32_t len = 0;
	assert_int_equal(read_rawkind(k, &p, buf + n, &s, &len), 0);
	assert_int_equal(len, want_len);
	assert_ptr_equal(s, buf + hdr);
	assert_ptr_equal(p, buf + hdr + want_len);
}

static void raw_fail(enum raw_kind k, const uint8_t *buf, size_t n, int code)
{
	const uint8_t *p = buf, *s = NULL;
	uint32_t len = 7;
	assert_int_equal(read_rawkind(k, &p, buf + n, &s, &len), code);
	assert_ptr_equal(p, buf);
	assert_null(s);
	assert_int_equal(len, 7);
}

static void array_fail(const uint8_t *buf, size_t n, int code)
{
	const uint8_t *p = buf;
	uint32_t c = 99;
	assert_int_equal(shoal_mp_read_array(&p, buf + n, &c), code);
	assert_ptr_equal(p, buf);
	assert_int_equal(c, 99);
}

static void map_fail(const uint8_t *buf, size_t n, int code)
{
	const uint8_t *p = buf;
	uint32_t c = 99;
	assert_int_equal(shoal_mp_read_map(&p, buf + n, &c), code);
	assert_ptr_equal(p, buf);
	assert_int_equal(c, 99);
}

static size_t skip_ok(const uint8_t *buf, size_t n, int depth)
{
	const uint8_t *p = buf;
	assert_int_equal(shoal_mp_skip(&p, buf + n, depth), 0);
	return (size_t)(p - buf);
}

static void skip_fail(const uint8_t *buf, size_t n, int depth, int code)
{
	const uint8_t *p = buf;
	assert_int_equal(shoal_mp_skip(&p, buf + n, depth), code);
	assert_ptr_equal(p, buf);
}

/* ---- integers ----------------------------------------------------------- */

static void test_uint_formats(void **state)
{
	(void)state;
	assert_int_equal(uint_ok(B(0x00), 0), 1);
	assert_int_equal(uint_ok(B(0x7f), 0x7f), 1);
	assert_int_equal(uint_ok(B(0xcc, 0xff), 0xff), 2);
	assert_int_equal(uint_ok(B(0xcd, 0x12, 0x34), 0x1234), 3);
	assert_int_equal(uint_ok(B(0xce, 0xde, 0xad, 0xbe, 0xef), 0xdeadbeef), 5);
	assert_int_equal(
	        uint_ok(B(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), UINT64_MAX), 9);
	/* Non-negative values in signed formats are accepted. */
	assert_int_equal(uint_ok(B(0xd0, 0x05), 5), 2);
	assert_int_equal(uint_ok(B(0xd1, 0x7f, 0xff), 0x7fff), 3);
	assert_int_equal(uint_ok(B(0xd2, 0x7f, 0xff, 0xff, 0xff), 0x7fffffff), 5);
	assert_int_equal(
	        uint_ok(B(0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), INT64_MAX), 9);
	/* Trailing bytes are not consumed. */
	assert_int_equal(uint_ok(B(0x01, 0x02), 1), 1);
}

static void test_uint_malformed(void **state)
{
	(void)state;
	/* empty input */
	{
		const uint8_t x = 0;
		const uint8_t *p = &x;
		uint64_t v;
		assert_int_equal(shoal_mp_read_uint(&p, &x, &v), SHOAL_E_TRUNCATED);
		assert_ptr_equal(p, &x);
	}
	/* truncated bodies, one per width */
	uint_fail(B(0xcc), SHOAL_E_TRUNCATED);
	uint_fail(B(0xcd, 0x01), SHOAL_E_TRUNCATED);
	uint_fail(B(0xce, 0x01, 0x02, 0x03), SHOAL_E_TRUNCATED);
	uint_fail(B(0xcf, 1, 2, 3, 4, 5, 6, 7), SHOAL_E_TRUNCATED);
	uint_fail(B(0xd0), SHOAL_E_TRUNCATED);
	uint_fail(B(0xd1, 0x01), SHOAL_E_TRUNCATED);
	uint_fail(B(0xd2, 0x01, 0x02, 0x03), SHOAL_E_TRUNCATED);
	uint_fail(B(0xd3, 1, 2, 3, 4, 5, 6, 7), SHOAL_E_TRUNCATED);
	/* negative integers: right type, wrong range */
	uint_fail(B(0xff), SHOAL_E_RANGE);
	uint_fail(B(0xe0), SHOAL_E_RANGE);
	uint_fail(B(0xd0, 0x80), SHOAL_E_RANGE);
	uint_fail(B(0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0), SHOAL_E_RANGE);
	/* wrong types */
	uint_fail(B(0xc0), SHOAL_E_TYPE);
	uint_fail(B(0xc2), SHOAL_E_TYPE);
	uint_fail(B(0xc1), SHOAL_E_TYPE);
	uint_fail(B(0xa1, 'x'), SHOAL_E_TYPE);
	uint_fail(B(0xc4, 0x00), SHOAL_E_TYPE);
	uint_fail(B(0x90), SHOAL_E_TYPE);
	uint_fail(B(0x80), SHOAL_E_TYPE);
	uint_fail(B(0xca, 0x3f, 0x80, 0, 0), SHOAL_E_TYPE);
	uint_fail(B(0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0), SHOAL_E_TYPE);
	uint_fail(B(0xd4, 0x01, 0x02), SHOAL_E_TYPE);
	uint_fail(B(0xc7, 0x00, 0x01), SHOAL_E_TYPE);
}

static void test_int_formats(void **state)
{
	(void)state;
	assert_int_equal(int_ok(B(0x00), 0), 1);
	assert_int_equal(int_ok(B(0x7f), 127), 1);
	assert_int_equal(int_ok(B(0xff), -1), 1);
	assert_int_equal(int_ok(B(0xe0), -32), 1);
	assert_int_equal(int_ok(B(0xd0, 0x80), -128), 2);
	assert_int_equal(int_ok(B(0xd0, 0x7f), 127), 2);
	assert_int_equal(int_ok(B(0xd1, 0x80, 0x00), -32768), 3);
	assert_int_equal(int_ok(B(0xd1, 0xff, 0xfe), -2), 3);
	assert_int_equal(int_ok(B(0xd2, 0x80, 0, 0, 0), INT32_MIN), 5);
	assert_int_equal(int_ok(B(0xd2, 0xff, 0xff, 0xff, 0xff), -1), 5);
	assert_int_equal(int_ok(B(0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0), INT64_MIN), 9);
	assert_int_equal(int_ok(B(0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe), -2), 9);
	assert_int_equal(int_ok(B(0xcc, 0xff), 255), 2);
	assert_int_equal(int_ok(B(0xcd, 0xff, 0xff), 65535), 3);
	assert_int_equal(int_ok(B(0xce, 0xff, 0xff, 0xff, 0xff), 4294967295), 5);
	assert_int_equal(int_ok(B(0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), INT64_MAX),
	                 9);
}

static void test_int_malformed(void **state)
{
	(void)state;
	int_fail(B(0xd0), SHOAL_E_TRUNCATED);
	int_fail(B(0xd1, 0x80), SHOAL_E_TRUNCATED);
	int_fail(B(0xd2, 0x80, 0, 0), SHOAL_E_TRUNCATED);
	int_fail(B(0xd3, 0x80, 0, 0, 0, 0, 0, 0), SHOAL_E_TRUNCATED);
	int_fail(B(0xcc), SHOAL_E_TRUNCATED);
	int_fail(B(0xcd, 0), SHOAL_E_TRUNCATED);
	int_fail(B(0xce, 0, 0, 0), SHOAL_E_TRUNCATED);
	int_fail(B(0xcf, 0, 0, 0, 0, 0, 0, 0), SHOAL_E_TRUNCATED);
	/* a uint64 above INT64_MAX does not fit */
	int_fail(B(0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0), SHOAL_E_RANGE);
	int_fail(B(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), SHOAL_E_RANGE);
	int_fail(B(0xc0), SHOAL_E_TYPE);
	int_fail(B(0xc3), SHOAL_E_TYPE);
	int_fail(B(0xa0), SHOAL_E_TYPE);
	int_fail(B(0xca, 0, 0, 0, 0), SHOAL_E_TYPE);
	int_fail(B(0xcb, 0, 0, 0, 0, 0, 0, 0, 0), SHOAL_E_TYPE);
	int_fail(B(0xd5, 0x01, 0, 0), SHOAL_E_TYPE);
	int_fail(B(0xc1), SHOAL_E_TYPE);
}

static void test_uint_range(void **state)
{
	(void)state;
	const uint8_t *p;
	uint64_t v = 0;
	const uint8_t five[] = {0x05};
	const uint8_t big[] = {0xcd, 0x01, 0x00};

	p = five;
	assert_int_equal(shoal_mp_read_uint_range(&p, five + 1, 5, 5, &v), 0);
	assert_true(v == 5 && p == five + 1);
	p = five;
	assert_int_equal(shoal_mp_read_uint_range(&p, five + 1, 6, 10, &v), SHOAL_E_RANGE);
	assert_ptr_equal(p, five);
	p = five;
	assert_int_equal(shoal_mp_read_uint_range(&p, five + 1, 0, 4, &v), SHOAL_E_RANGE);
	assert_ptr_equal(p, five);
	p = big;
	v = 0;
	assert_int_equal(shoal_mp_read_uint_range(&p, big + 3, 0, 255, &v), SHOAL_E_RANGE);
	assert_ptr_equal(p, big);
	assert_true(v == 0);
	assert_int_equal(shoal_mp_read_uint_range(&p, big + 3, 0, 256, &v), 0);
	assert_true(v == 256);
	/* underlying type and truncation errors pass through */
	p = big;
	assert_int_equal(shoal_mp_read_uint_range(&p, big + 2, 0, 1000, &v), SHOAL_E_TRUNCATED);
	assert_ptr_equal(p, big);
	const uint8_t s[] = {0xa0};
	p = s;
	assert_int_equal(shoal_mp_read_uint_range(&p, s + 1, 0, 1000, &v), SHOAL_E_TYPE);
	assert_ptr_equal(p, s);
}

/* ---- nil and bool ------------------------------------------------------- */

static void test_nil_bool(void **state)
{
	(void)state;
	const uint8_t in[] = {0xc0, 0xc2, 0xc3, 0x00};
	const uint8_t *p = in;
	bool b = true;

	assert_int_equal(shoal_mp_read_nil(&p, in + 4), 0);
	assert_int_equal(shoal_mp_read_bool(&p, in + 4, &b), 0);
	assert_false(b);
	assert_int_equal(shoal_mp_read_bool(&p, in + 4, &b), 0);
	assert_true(b);
	/* wrong types at in[3] (fixint 0) */
	assert_int_equal(shoal_mp_read_bool(&p, in + 4, &b), SHOAL_E_TYPE);
	assert_int_equal(shoal_mp_read_nil(&p, in + 4), SHOAL_E_TYPE);
	assert_ptr_equal(p, in + 3);
	/* bool is not nil and nil is not bool */
	p = in;
	assert_int_equal(shoal_mp_read_bool(&p, in + 4, &b), SHOAL_E_TYPE);
	assert_ptr_equal(p, in);
	p = in + 1;
	assert_int_equal(shoal_mp_read_nil(&p, in + 4), SHOAL_E_TYPE);
	assert_ptr_equal(p, in + 1);
	/* empty input */
	p = in + 4;
	assert_int_equal(shoal_mp_read_nil(&p, in + 4), SHOAL_E_TRUNCATED);
	assert_int_equal(shoal_mp_read_bool(&p, in + 4, &b), SHOAL_E_TRUNCATED);
	assert_ptr_equal(p, in + 4);
}

/* ---- str, bin, raw ------------------------------------------------------ */

static void test_str_formats(void **state)
{
	(void)state;
	uint8_t buf[70000];
	memset(buf, 'x', sizeof(buf));

	raw_ok(STR, B(0xa0), 1, 0);
	raw_ok(STR, B(0xa3, 'a', 'b', 'c', 0xff), 1, 3);
	buf[0] = 0xbf; /* fixstr 31 */
	raw_ok(STR, buf, 32, 1, 31);
	buf[0] = 0xd9;
	buf[1] = 200;
	raw_ok(STR, buf, 202, 2, 200);
	buf[0] = 0xda;
	buf[1] = 0x01;
	buf[2] = 0x00;
	raw_ok(STR, buf, 259, 3, 256);
	buf[0] = 0xdb;
	buf[1] = 0x00;
	buf[2] = 0x01;
	buf[3] = 0x00;
	buf[4] = 0x00;
	raw_ok(STR, buf, 5 + 65536, 5, 65536);
	/* raw accepts str too */
	raw_ok(RAW, B(0xa2, 'h', 'i'), 1, 2);
	raw_ok(RAW, B(0xd9, 0x01, 'z'), 2, 1);
}

static void test_str_malformed(void **state)
{
	(void)state;
	/* truncated headers */
	raw_fail(STR, B(0xd9), SHOAL_E_TRUNCATED);
	raw_fail(STR, B(0xda, 0x00), SHOAL_E_TRUNCATED);
	raw_fail(STR, B(0xdb, 0x00, 0x00, 0x00), SHOAL_E_TRUNCATED);
	/* truncated bodies */
	raw_fail(STR, B(0xa3, 'a', 'b'), SHOAL_E_TRUNCATED);
	raw_fail(STR, B(0xbf, 'a'), SHOAL_E_TRUNCATED);
	raw_fail(STR, B(0xd9, 0x05, 'a', 'b', 'c'), SHOAL_E_TRUNCATED);
	raw_fail(STR, B(0xda, 0x00, 0x04, 'a', 'b', 'c'), SHOAL_E_TRUNCATED);
	raw_fail(STR, B(0xdb, 0x00, 0x00, 0x00, 0x02, 'a'), SHOAL_E_TRUNCATED);
	/* hostile declared lengths with a few bytes behind */
	raw_fail(STR, B(0xdb, 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c', 'd'), SHOAL_E_TRUNCATED);
	raw_fail(STR, B(0xda, 0xff, 0xff, 'a'), SHOAL_E_TRUNCATED);
	raw_fail(RAW, B(0xdb, 0xff, 0xff, 0xff, 0xff, 0), SHOAL_E_TRUNCATED);
	/* wrong types: bin is not str */
	raw_fail(STR, B(0xc4, 0x00), SHOAL_E_TYPE);
	raw_fail(STR, B(0xc5, 0x00, 0x00), SHOAL_E_TYPE);
	raw_fail(STR, B(0xc6, 0x00, 0x00, 0x00, 0x00), SHOAL_E_TYPE);
	raw_fail(STR, B(0x01), SHOAL_E_TYPE);
	raw_fail(STR, B(0xc0), SHOAL_E_TYPE);
	raw_fail(STR, B(0x91, 0xa0), SHOAL_E_TYPE);
	raw_fail(STR, B(0xc7, 0x01, 0x01, 'a'), SHOAL_E_TYPE);
	raw_fail(RAW, B(0x92, 0xa0, 0xa0), SHOAL_E_TYPE);
	raw_fail(RAW, B(0xca, 0, 0, 0, 0), SHOAL_E_TYPE);
	{
		const uint8_t x = 0xa0;
		raw_fail(STR, &x, 0, SHOAL_E_TRUNCATED);
	}
}

static void test_bin_formats(void **state)
{
	(void)state;
	uint8_t buf[70000];
	memset(buf, 0xee, sizeof(buf));

	raw_ok(BIN, B(0xc4, 0x00), 2, 0);
	raw_ok(BIN, B(0xc4, 0x02, 0xc1, 0xc1), 2, 2);
	buf[0] = 0xc5;
	buf[1] = 0x01;
	buf[2] = 0x00;
	raw_ok(BIN, buf, 3 + 256, 3, 256);
	buf[0] = 0xc6;
	buf[1] = 0x00;
	buf[2] = 0x01;
	buf[3] = 0x00;
	buf[4] = 0x01;
	raw_ok(BIN, buf, 5 + 65537, 5, 65537);
	raw_ok(RAW, B(0xc4, 0x01, 0x00), 2, 1);
}

static void test_bin_malformed(void **state)
{
	(void)state;
	raw_fail(BIN, B(0xc4), SHOAL_E_TRUNCATED);
	raw_fail(BIN, B(0xc5, 0x00), SHOAL_E_TRUNCATED);
	raw_fail(BIN, B(0xc6, 0x00, 0x00, 0x00), SHOAL_E_TRUNCATED);
	raw_fail(BIN, B(0xc4, 0x03, 1, 2), SHOAL_E_TRUNCATED);
	raw_fail(BIN, B(0xc5, 0x00, 0x03, 1, 2), SHOAL_E_TRUNCATED);
	raw_fail(BIN, B(0xc6, 0x00, 0x00, 0x00, 0x03, 1, 2), SHOAL_E_TRUNCATED);
	raw_fail(BIN, B(0xc6, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5), SHOAL_E_TRUNCATED);
	raw_fail(RAW, B(0xc6, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5), SHOAL_E_TRUNCATED);
	raw_fail(BIN, B(0xc5, 0xff, 0xff, 1), SHOAL_E_TRUNCATED);
	/* str is not bin */
	raw_fail(BIN, B(0xa1, 'a'), SHOAL_E_TYPE);
	raw_fail(BIN, B(0xd9, 0x01, 'a'), SHOAL_E_TYPE);
	raw_fail(BIN, B(0xda, 0x00, 0x01, 'a'), SHOAL_E_TYPE);
	raw_fail(BIN, B(0xdb, 0x00, 0x00, 0x00, 0x01, 'a'), SHOAL_E_TYPE);
	raw_fail(BIN, B(0x00), SHOAL_E_TYPE);
	raw_fail(BIN, B(0xd8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), SHOAL_E_TYPE);
}

/* ---- arrays and maps ---------------------------------------------------- */

static void test_array(void **state)
{
	(void)state;
	const uint8_t *p;
	uint32_t c = 0;
	const uint8_t fix[] = {0x93, 1, 2, 3};
	const uint8_t a16[] = {0xdc, 0x00, 0x02, 0xc0, 0xc0};
	const uint8_t a32[] = {0xdd, 0x00, 0x00, 0x00, 0x01, 0x07};
	const uint8_t empty[] = {0x90};

	p = fix;
	assert_int_equal(shoal_mp_read_array(&p, fix + sizeof(fix), &c), 0);
	assert_int_equal(c, 3);
	assert_ptr_equal(p, fix + 1);
	p = a16;
	assert_int_equal(shoal_mp_read_array(&p, a16 + sizeof(a16), &c), 0);
	assert_int_equal(c, 2);
	assert_ptr_equal(p, a16 + 3);
	p = a32;
	assert_int_equal(shoal_mp_read_array(&p, a32 + sizeof(a32), &c), 0);
	assert_int_equal(c, 1);
	assert_ptr_equal(p, a32 + 5);
	p = empty;
	assert_int_equal(shoal_mp_read_array(&p, empty + 1, &c), 0);
	assert_int_equal(c, 0);
	assert_ptr_equal(p, empty + 1);

	/* truncated headers */
	array_fail(B(0xdc), SHOAL_E_TRUNCATED);
	array_fail(B(0xdc, 0x00), SHOAL_E_TRUNCATED);
	array_fail(B(0xdd, 0x00, 0x00, 0x00), SHOAL_E_TRUNCATED);
	/* counts larger than the bytes left */
	array_fail(B(0x91), SHOAL_E_TRUNCATED);
	array_fail(B(0x9f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14), SHOAL_E_TRUNCATED);
	array_fail(B(0xdc, 0x00, 0x03, 1, 2), SHOAL_E_TRUNCATED);
	array_fail(B(0xdd, 0xff, 0xff, 0xff, 0xff), SHOAL_E_TRUNCATED);
	array_fail(B(0xdd, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8), SHOAL_E_TRUNCATED);
	/* wrong types */
	array_fail(B(0x80), SHOAL_E_TYPE);
	array_fail(B(0xde, 0x00, 0x00), SHOAL_E_TYPE);
	array_fail(B(0xa0), SHOAL_E_TYPE);
	array_fail(B(0xc0), SHOAL_E_TYPE);
	array_fail(B(0x00), SHOAL_E_TYPE);
	{
		const uint8_t x = 0x90;
		array_fail(&x, 0, SHOAL_E_TRUNCATED);
	}
}

static void test_map(void **state)
{
	(void)state;
	const uint8_t *p;
	uint32_t c = 0;
	const uint8_t fix[] = {0x81, 0xa1, 'k', 0x01};
	const uint8_t m16[] = {0xde, 0x00, 0x01, 0x00, 0x00};
	const uint8_t m32[] = {0xdf, 0x00, 0x00, 0x00, 0x02, 1, 2, 3, 4};

	p = fix;
	assert_int_equal(shoal_mp_read_map(&p, fix + sizeof(fix), &c), 0);
	assert_int_equal(c, 1);
	assert_ptr_equal(p, fix + 1);
	p = m16;
	assert_int_equal(shoal_mp_read_map(&p, m16 + sizeof(m16), &c), 0);
	assert_int_equal(c, 1);
	assert_ptr_equal(p, m16 + 3);
	p = m32;
	assert_int_equal(shoal_mp_read_map(&p, m32 + sizeof(m32), &c), 0);
	assert_int_equal(c, 2);
	assert_ptr_equal(p, m32 + 5);

	map_fail(B(0xde), SHOAL_E_TRUNCATED);
	map_fail(B(0xde, 0x00), SHOAL_E_TRUNCATED);
	map_fail(B(0xdf, 0x00, 0x00, 0x00), SHOAL_E_TRUNCATED);
	/* an entry needs two bytes: one byte behind a 1-entry map is too few */
	map_fail(B(0x81, 0x01), SHOAL_E_TRUNCATED);
	map_fail(B(0x82, 1, 2, 3), SHOAL_E_TRUNCATED);
	map_fail(B(0xde, 0x00, 0x02, 1, 2, 3), SHOAL_E_TRUNCATED);
	map_fail(B(0xdf, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4), SHOAL_E_TRUNCATED);
	/* 0x80000000 entries would need 2^32 bytes: the doubling must not wrap */
	map_fail(B(0xdf, 0x80, 0x00, 0x00, 0x00, 1, 2), SHOAL_E_TRUNCATED);
	map_fail(B(0x90), SHOAL_E_TYPE);
	map_fail(B(0xdc, 0x00, 0x00), SHOAL_E_TYPE);
	map_fail(B(0xc0), SHOAL_E_TYPE);
	map_fail(B(0xa0), SHOAL_E_TYPE);
}

/* ---- skip --------------------------------------------------------------- */

static void test_skip_every_format(void **state)
{
	(void)state;
	/* each line: one whole value, followed by a 0x00 that must remain */
	assert_int_equal(skip_ok(B(0x05, 0), 0), 1);
	assert_int_equal(skip_ok(B(0xe5, 0), 0), 1);
	assert_int_equal(skip_ok(B(0xc0, 0), 0), 1);
	assert_int_equal(skip_ok(B(0xc2, 0), 0), 1);
	assert_int_equal(skip_ok(B(0xc3, 0), 0), 1);
	assert_int_equal(skip_ok(B(0xcc, 1, 0), 0), 2);
	assert_int_equal(skip_ok(B(0xcd, 1, 2, 0), 0), 3);
	assert_int_equal(skip_ok(B(0xce, 1, 2, 3, 4, 0), 0), 5);
	assert_int_equal(skip_ok(B(0xcf, 1, 2, 3, 4, 5, 6, 7, 8, 0), 0), 9);
	assert_int_equal(skip_ok(B(0xd0, 1, 0), 0), 2);
	assert_int_equal(skip_ok(B(0xd1, 1, 2, 0), 0), 3);
	assert_int_equal(skip_ok(B(0xd2, 1, 2, 3, 4, 0), 0), 5);
	assert_int_equal(skip_ok(B(0xd3, 1, 2, 3, 4, 5, 6, 7, 8, 0), 0), 9);
	assert_int_equal(skip_ok(B(0xca, 1, 2, 3, 4, 0), 0), 5);
	assert_int_equal(skip_ok(B(0xcb, 1, 2, 3, 4, 5, 6, 7, 8, 0), 0), 9);
	assert_int_equal(skip_ok(B(0xa2, 'a', 'b', 0), 0), 3);
	assert_int_equal(skip_ok(B(0xd9, 1, 'a', 0), 0), 3);
	assert_int_equal(skip_ok(B(0xda, 0, 1, 'a', 0), 0), 4);
	assert_int_equal(skip_ok(B(0xdb, 0, 0, 0, 1, 'a', 0), 0), 6);
	assert_int_equal(skip_ok(B(0xc4, 1, 'a', 0), 0), 3);
	assert_int_equal(skip_ok(B(0xc5, 0, 1, 'a', 0), 0), 4);
	assert_int_equal(skip_ok(B(0xc6, 0, 0, 0, 1, 'a', 0), 0), 6);
	/* fixext 1/2/4/8/16: type byte plus data */
	assert_int_equal(skip_ok(B(0xd4, 7, 1, 0), 0), 3);
	assert_int_equal(skip_ok(B(0xd5, 7, 1, 2, 0), 0), 4);
	assert_int_equal(skip_ok(B(0xd6, 7, 1, 2, 3, 4, 0), 0), 6);
	assert_int_equal(skip_ok(B(0xd7, 7, 1, 2, 3, 4, 5, 6, 7, 8, 0), 0), 10);
	assert_int_equal(
	        skip_ok(B(0xd8, 7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0), 0),
	        18);
	/* ext 8/16/32: length, type byte, data */
	assert_int_equal(skip_ok(B(0xc7, 2, 7, 1, 2, 0), 0), 5);
	assert_int_equal(skip_ok(B(0xc8, 0, 2, 7, 1, 2, 0), 0), 6);
	assert_int_equal(skip_ok(B(0xc9, 0, 0, 0, 2, 7, 1, 2, 0), 0), 8);
	assert_int_equal(skip_ok(B(0xc7, 0, 7, 0), 0), 3);
	/* containers, flat and nested */
	assert_int_equal(skip_ok(B(0x90, 0), 1), 1);
	assert_int_equal(skip_ok(B(0x80, 0), 1), 1);
	assert_int_equal(skip_ok(B(0x92, 0x01, 0xa1, 'x', 0), 1), 4);
	assert_int_equal(skip_ok(B(0x81, 0xa1, 'k', 0xcc, 9, 0), 1), 5);
	assert_int_equal(skip_ok(B(0xdc, 0, 2, 0xc0, 0xc0, 0), 1), 5);
	assert_int_equal(skip_ok(B(0xdd, 0, 0, 0, 1, 0xc0, 0), 1), 6);
	assert_int_equal(skip_ok(B(0xde, 0, 1, 1, 2, 0), 1), 5);
	assert_int_equal(skip_ok(B(0xdf, 0, 0, 0, 1, 1, 2, 0), 1), 7);
	assert_int_equal(skip_ok(B(0x82, 0x01, 0x91, 0x90, 0x02, 0x81, 0xc0, 0xd4, 1, 1, 0), 3),
	                 10);
}

static void test_skip_malformed(void **state)
{
	(void)state;
	{
		const uint8_t x = 0;
		skip_fail(&x, 0, 4, SHOAL_E_TRUNCATED);
	}
	skip_fail(B(0xc1), 4, SHOAL_E_TYPE);
	skip_fail(B(0x91, 0xc1), 4, SHOAL_E_TYPE);
	/* truncated scalars */
	skip_fail(B(0xcc), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0xcf, 1, 2, 3, 4, 5, 6, 7), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0xd3, 1), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0xca, 1, 2, 3), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0xcb, 1, 2, 3, 4, 5, 6, 7), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0xa5, 'a'), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0xd9), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0xd9, 3, 'a'), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0xdb, 0xff, 0xff, 0xff, 0xff, 'a', 'b'), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0xc6, 0xff, 0xff, 0xff, 0xff, 'a', 'b'), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0xc5, 0x00), 4, SHOAL_E_TRUNCATED);
	/* ext: header, type byte and data all counted */
	skip_fail(B(0xd4, 7), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0xd8, 7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 4,
	          SHOAL_E_TRUNCATED);
	skip_fail(B(0xc7), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0xc7, 2, 7, 1), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0xc7, 0), 4, SHOAL_E_TRUNCATED); /* missing the type byte */
	skip_fail(B(0xc8, 0), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0xc9, 0xff, 0xff, 0xff, 0xff, 7, 1, 2), 4, SHOAL_E_TRUNCATED);
	/* containers: impossible counts, and missing children */
	skip_fail(B(0xdd, 0xff, 0xff, 0xff, 0xff), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0xdd, 0xff, 0xff, 0xff, 0xff, 1, 2, 3), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0xdf, 0xff, 0xff, 0xff, 0xff, 1, 2, 3), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0xdc, 0x00), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0xde, 0x00), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0x93, 1, 2), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0x81, 1), 4, SHOAL_E_TRUNCATED);
	/* a child that is itself truncated, deep inside */
	skip_fail(B(0x92, 0x01, 0x91, 0xa3, 'a'), 4, SHOAL_E_TRUNCATED);
	skip_fail(B(0x82, 0x01, 0x02, 0x03, 0xcd, 0x00), 4, SHOAL_E_TRUNCATED);
}

static void test_skip_depth(void **state)
{
	(void)state;
	/* [[[]]] nests three deep */
	assert_int_equal(skip_ok(B(0x91, 0x91, 0x90), 3), 3);
	assert_int_equal(skip_ok(B(0x91, 0x91, 0x90), 4), 3);
	skip_fail(B(0x91, 0x91, 0x90), 2, SHOAL_E_RANGE);
	/* {k: {k: 1}} nests two deep */
	assert_int_equal(skip_ok(B(0x81, 0x00, 0x81, 0x00, 0x01), 2), 5);
	skip_fail(B(0x81, 0x00, 0x81, 0x00, 0x01), 1, SHOAL_E_RANGE);
	/* an empty container is still a level; a scalar is none */
	skip_fail(B(0x90), 0, SHOAL_E_RANGE);
	skip_fail(B(0x80), 0, SHOAL_E_RANGE);
	assert_int_equal(skip_ok(B(0x2a), 0), 1);
	skip_fail(B(0x2a), -1, SHOAL_E_RANGE);
	/* siblings do not add depth */
	assert_int_equal(skip_ok(B(0x93, 0x91, 0x00, 0x91, 0x00, 0x91, 0x00), 2), 7);

	/* A thousand nested arrays: refused at any depth limit, without
	 * recursion; with the limit at 1000 the internal bound applies. */
	uint8_t deep[1001];
	memset(deep, 0x91, 1000);
	deep[1000] = 0x00;
	skip_fail(deep, sizeof(deep), 10, SHOAL_E_RANGE);
	skip_fail(deep, sizeof(deep), 1000, SHOAL_E_RANGE);
	skip_fail(deep, sizeof(deep), 1 << 30, SHOAL_E_RANGE);
	/* 64 levels is within the internal bound */
	assert_int_equal(skip_ok(deep + 1000 - 64, 65, 64), 65);
	skip_fail(deep + 1000 - 64, 65, 63, SHOAL_E_RANGE);
	/* many siblings at one level cost no depth */
	uint8_t wide[3 + 5000];
	wide[0] = 0xdc;
	wide[1] = 5000 >> 8;
	wide[2] = 5000 & 0xff;
	memset(wide + 3, 0xc0, 5000);
	assert_int_equal(skip_ok(wide, sizeof(wide), 1), sizeof(wide));
	skip_fail(wide, sizeof(wide) - 1, 1, SHOAL_E_TRUNCATED);
}

/* ---- msgpack-c packer through shoal_buf, read back ---------------------- */

static void test_roundtrip(void **state)
{
	(void)state;
	struct shoal_buf b;
	msgpack_packer pk;
	static uint8_t blob[70000];
	char longstr[300];
	static const uint64_t uvals[] = {0,          1,           0x7f,           0x80,
	                                 0xff,       0x100,       0xffff,         0x10000,
	                                 0xffffffff, 0x100000000, UINT64_MAX - 1, UINT64_MAX};
	static const int64_t ivals[] = {
	        0,         -1,        -32,    -33,       -128,
	        -129,      -32768,    -32769, INT32_MIN, (int64_t)INT32_MIN - 1,
	        INT64_MIN, INT64_MAX, 127,    128,       65536};

	memset(blob, 0x5a, sizeof(blob));
	memset(longstr, 'q', sizeof(longstr));
	shoal_buf_create(&b, 1 << 20);
	shoal_packer_init(&pk, &b);

	assert_int_equal(msgpack_pack_map(&pk, 6), 0);
	msgpack_pack_str(&pk, 1);
	msgpack_pack_str_body(&pk, "u", 1);
	msgpack_pack_array(&pk, sizeof(uvals) / sizeof(uvals[0]));
	for (size_t i = 0; i < sizeof(uvals) / sizeof(uvals[0]); i++)
		msgpack_pack_uint64(&pk, uvals[i]);
	msgpack_pack_str(&pk, 1);
	msgpack_pack_str_body(&pk, "i", 1);
	msgpack_pack_array(&pk, sizeof(ivals) / sizeof(ivals[0]));
	for (size_t i = 0; i < sizeof(ivals) / sizeof(ivals[0]); i++)
		msgpack_pack_int64(&pk, ivals[i]);
	msgpack_pack_str(&pk, 3);
	msgpack_pack_str_body(&pk, "str", 3);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_str(&pk, 0);
	msgpack_pack_str_body(&pk, "", 0);
	msgpack_pack_str(&pk, 40);
	msgpack_pack_str_body(&pk, longstr, 40);
	msgpack_pack_str(&pk, sizeof(longstr));
	msgpack_pack_str_body(&pk, longstr, sizeof(longstr));
	msgpack_pack_str(&pk, 3);
	msgpack_pack_str_body(&pk, "bin", 3);
	msgpack_pack_bin(&pk, sizeof(blob));
	msgpack_pack_bin_body(&pk, blob, sizeof(blob));
	msgpack_pack_str(&pk, 5);
	msgpack_pack_str_body(&pk, "flags", 5);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_true(&pk);
	msgpack_pack_false(&pk);
	msgpack_pack_nil(&pk);
	msgpack_pack_str(&pk, 1);
	msgpack_pack_str_body(&pk, "f", 1);
	msgpack_pack_double(&pk, 1.5);
	assert_int_equal(b.err, 0);
	assert_true(b.len <= b.alloc && b.alloc <= b.cap);

	const uint8_t *p = b.data, *end = b.data + b.len, *s;
	uint32_t n, len;
	uint64_t u;
	int64_t iv;
	bool flag;

	/* the whole thing skips as one value */
	assert_int_equal(shoal_mp_skip(&p, end, 2), 0);
	assert_ptr_equal(p, end);

	p = b.data;
	assert_int_equal(shoal_mp_read_map(&p, end, &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(shoal_mp_read_str(&p, end, &s, &len), 0);
	assert_memory_equal(s, "u", 1);
	assert_int_equal(shoal_mp_read_array(&p, end, &n), 0);
	assert_int_equal(n, sizeof(uvals) / sizeof(uvals[0]));
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(shoal_mp_read_uint(&p, end, &u), 0);
		assert_true(u == uvals[i]);
	}
	assert_int_equal(shoal_mp_read_str(&p, end, &s, &len), 0);
	assert_int_equal(shoal_mp_read_array(&p, end, &n), 0);
	assert_int_equal(n, sizeof(ivals) / sizeof(ivals[0]));
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(shoal_mp_read_int(&p, end, &iv), 0);
		assert_true(iv == ivals[i]);
	}
	assert_int_equal(shoal_mp_read_str(&p, end, &s, &len), 0);
	assert_int_equal(shoal_mp_read_array(&p, end, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(shoal_mp_read_str(&p, end, &s, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(shoal_mp_read_str(&p, end, &s, &len), 0);
	assert_int_equal(len, 40);
	assert_memory_equal(s, longstr, 40);
	assert_int_equal(shoal_mp_read_raw(&p, end, &s, &len), 0);
	assert_int_equal(len, sizeof(longstr));
	assert_memory_equal(s, longstr, sizeof(longstr));
	assert_int_equal(shoal_mp_read_str(&p, end, &s, &len), 0);
	assert_memory_equal(s, "bin", 3);
	assert_int_equal(shoal_mp_read_str(&p, end, &s, &len), SHOAL_E_TYPE);
	assert_int_equal(shoal_mp_read_bin(&p, end, &s, &len), 0);
	assert_int_equal(len, sizeof(blob));
	assert_memory_equal(s, blob, sizeof(blob));
	assert_int_equal(shoal_mp_read_str(&p, end, &s, &len), 0);
	assert_int_equal(shoal_mp_read_array(&p, end, &n), 0);
	assert_int_equal(shoal_mp_read_bool(&p, end, &flag), 0);
	assert_true(flag);
	assert_int_equal(shoal_mp_read_bool(&p, end, &flag), 0);
	assert_false(flag);
	assert_int_equal(shoal_mp_read_nil(&p, end), 0);
	assert_int_equal(shoal_mp_read_str(&p, end, &s, &len), 0);
	/* floats are type errors for the typed readers; skip steps over them */
	assert_int_equal(shoal_mp_read_int(&p, end, &iv), SHOAL_E_TYPE);
	assert_int_equal(shoal_mp_read_uint(&p, end, &u), SHOAL_E_TYPE);
	assert_int_equal(shoal_mp_skip(&p, end, 0), 0);
	assert_ptr_equal(p, end);

	shoal_buf_destroy(&b);
	assert_null(b.data);
}

/* ---- shoal_buf ---------------------------------------------------------- */

static void test_buf_growth_and_cap(void **state)
{
	(void)state;
	struct shoal_buf b;
	uint8_t chunk[100];
	memset(chunk, 0xab, sizeof(chunk));

	shoal_buf_create(&b, 1000);
	assert_null(b.data);
	assert_int_equal(b.alloc, 0);
	assert_int_equal(shoal_buf_append(&b, NULL, 0), 0); /* nothing to do */
	assert_null(b.data);

	size_t last_alloc = 0;
	for (int i = 0; i < 10; i++) {
		assert_int_equal(shoal_buf_append(&b, chunk, sizeof(chunk)), 0);
		assert_true(b.alloc >= b.len && b.alloc <= b.cap);
		/* geometric: a step either doubles or stops at the cap */
		if (b.alloc != last_alloc && last_alloc != 0)
			assert_true(b.alloc == 2 * last_alloc || b.alloc == b.cap);
		last_alloc = b.alloc;
	}
	assert_int_equal(b.len, 1000);
	assert_int_equal(b.alloc, 1000);
	/* full to the byte; one more byte is too big */
	assert_int_equal(shoal_buf_append(&b, chunk, 1), SHOAL_E_TOO_BIG);
	assert_int_equal(b.err, SHOAL_E_TOO_BIG);
	assert_null(b.data); /* contents dropped, nothing half-written to send */
	assert_int_equal(b.len, 0);
	/* sticky: even a write that would fit is ignored */
	assert_int_equal(shoal_buf_append(&b, chunk, 1), SHOAL_E_TOO_BIG);
	assert_int_equal(b.len, 0);
	/* reset clears the error and the buffer is usable again */
	shoal_buf_reset(&b);
	assert_int_equal(b.err, 0);
	assert_int_equal(shoal_buf_append(&b, "xy", 2), 0);
	assert_int_equal(b.len, 2);
	assert_memory_equal(b.data, "xy", 2);
	/* reset keeps the allocation */
	uint8_t *keep = b.data;
	shoal_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.data, keep);
	shoal_buf_destroy(&b);

	/* a single oversize write fails at once */
	shoal_buf_create(&b, 10);
	assert_int_equal(shoal_buf_append(&b, chunk, 11), SHOAL_E_TOO_BIG);
	assert_int_equal(b.err, SHOAL_E_TOO_BIG);
	shoal_buf_destroy(&b);
	/* a small cap is never exceeded by the first allocation */
	shoal_buf_create(&b, 10);
	assert_int_equal(shoal_buf_append(&b, chunk, 3), 0);
	assert_true(b.alloc <= 10);
	shoal_buf_destroy(&b);
	/* cap 0 refuses everything but empty writes */
	shoal_buf_create(&b, 0);
	assert_int_equal(shoal_buf_append(&b, NULL, 0), 0);
	assert_int_equal(shoal_buf_append(&b, chunk, 1), SHOAL_E_TOO_BIG);
	shoal_buf_destroy(&b);
}

static void test_packer_cap_sticky(void **state)
{
	(void)state;
	struct shoal_buf b;
	msgpack_packer pk;
	char text[64];
	memset(text, 't', sizeof(text));

	shoal_buf_create(&b, 50);
	shoal_packer_init(&pk, &b);
	assert_int_equal(msgpack_pack_array(&pk, 2), 0);
	assert_int_equal(msgpack_pack_str(&pk, sizeof(text)), 0);
	/* 1 + 2 + 64 bytes > 50: the body write fails */
	assert_int_not_equal(msgpack_pack_str_body(&pk, text, sizeof(text)), 0);
	assert_int_equal(b.err, SHOAL_E_TOO_BIG);
	/* later small writes are ignored and still report the error */
	assert_int_not_equal(msgpack_pack_uint8(&pk, 1), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.err, SHOAL_E_TOO_BIG);
	shoal_buf_reset(&b);
	assert_int_equal(msgpack_pack_uint8(&pk, 1), 0);
	assert_int_equal(b.len, 1);
	shoal_buf_destroy(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_uint_formats),
	        cmocka_unit_test(test_uint_malformed),
	        cmocka_unit_test(test_int_formats),
	        cmocka_unit_test(test_int_malformed),
	        cmocka_unit_test(test_uint_range),
	        cmocka_unit_test(test_nil_bool),
	        cmocka_unit_test(test_str_formats),
	        cmocka_unit_test(test_str_malformed),
	        cmocka_unit_test(test_bin_formats),
	        cmocka_unit_test(test_bin_malformed),
	        cmocka_unit_test(test_array),
	        cmocka_unit_test(test_map),
	        cmocka_unit_test(test_skip_every_format),
	        cmocka_unit_test(test_skip_malformed),
	        cmocka_unit_test(test_skip_depth),
	        cmocka_unit_test(test_roundtrip),
	        cmocka_unit_test(test_buf_growth_and_cap),
	        cmocka_unit_test(test_packer_cap_sticky),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
