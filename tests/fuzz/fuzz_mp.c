/*
 * fuzz_mp.c - libFuzzer target for the bounded msgpack reader.
 *
 * Walks arbitrary bytes value by value with shoal_mp_skip, and at every
 * value (descending into containers) also tries each typed reader, checking the contract rather than
 * just "no crash": a success stays inside the input and moves forward, a
 * failure leaves the cursor where it was, counts never exceed what could
 * follow, and a scalar read ends exactly where skip ends. Integers read are
 * packed again through shoal_buf and must read back equal.
 */
#include "shoal/mp.h"

#include <stdlib.h>

#include "shoal/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* Skip depth used by the walk; deeper input must fail with RANGE. */
#define FUZZ_DEPTH 8

static void check_moved(const uint8_t *start, const uint8_t *p, const uint8_t *end, int rc)
{
	if (rc == 0)
		CHECK(p > start && p <= end);
	else
		CHECK(p == start &&
		      (rc == SHOAL_E_TRUNCATED || rc == SHOAL_E_TYPE || rc == SHOAL_E_RANGE));
}

static void repack_uint(uint64_t v)
{
	struct shoal_buf b;
	msgpack_packer pk;
	uint64_t back = 0;

	shoal_buf_create(&b, 9);
	shoal_packer_init(&pk, &b);
	CHECK(msgpack_pack_uint64(&pk, v) == 0);
	const uint8_t *p = b.data;
	CHECK(shoal_mp_read_uint(&p, b.data + b.len, &back) == 0);
	CHECK(back == v && p == b.data + b.len);
	shoal_buf_destroy(&b);
}

static void repack_int(int64_t v)
{
	struct shoal_buf b;
	msgpack_packer pk;
	int64_t back = 0;

	/* one byte short of the largest encoding: the cap path gets exercised */
	shoal_buf_create(&b, v < -2147483648LL ? 8 : 9);
	shoal_packer_init(&pk, &b);
	int rc = msgpack_pack_int64(&pk, v);
	if (b.err != 0) {
		CHECK(rc != 0 && b.err == SHOAL_E_TOO_BIG && b.len == 0);
	} else {
		const uint8_t *p = b.data;
		CHECK(shoal_mp_read_int(&p, b.data + b.len, &back) == 0);
		CHECK(back == v && p == b.data + b.len);
	}
	shoal_buf_destroy(&b);
}

/* Try every typed reader at `at`; none may disturb the others' view. */
static void probe(const uint8_t *at, const uint8_t *end)
{
	const uint8_t *p, *s;
	uint64_t u;
	int64_t i;
	uint32_t n, len;
	bool b;
	int rc;

	/* where a plain skip of this value ends, if it ends at all */
	const uint8_t *skip_end = at;
	int skip_rc = shoal_mp_skip(&skip_end, end, FUZZ_DEPTH);
	check_moved(at, skip_end, end, skip_rc);

	p = at;
	rc = shoal_mp_read_uint(&p, end, &u);
	check_moved(at, p, end, rc);
	if (rc == 0) {
		CHECK(skip_rc == 0 && p == skip_end);
		repack_uint(u);
		const uint8_t *q = at;
		uint64_t w;
		int rr = shoal_mp_read_uint_range(&q, end, u, u, &w);
		CHECK(rr == 0 && w == u && q == p);
		if (u > 0) {
			q = at;
			CHECK(shoal_mp_read_uint_range(&q, end, 0, u - 1, &w) == SHOAL_E_RANGE);
			CHECK(q == at);
		}
	}
	p = at;
	rc = shoal_mp_read_int(&p, end, &i);
	check_moved(at, p, end, rc);
	if (rc == 0) {
		CHECK(skip_rc == 0 && p == skip_end);
		repack_int(i);
	}
	p = at;
	rc = shoal_mp_read_bool(&p, end, &b);
	check_moved(at, p, end, rc);
	if (rc == 0)
		CHECK(p == skip_end);
	p = at;
	rc = shoal_mp_read_nil(&p, end);
	check_moved(at, p, end, rc);
	if (rc == 0)
		CHECK(p == skip_end);

	int rs = 0, rb = 0;
	p = at;
	rc = rs = shoal_mp_read_str(&p, end, &s, &len);
	check_moved(at, p, end, rc);
	if (rc == 0)
		CHECK(s > at && s + len == p && p == skip_end);
	p = at;
	rc = rb = shoal_mp_read_bin(&p, end, &s, &len);
	check_moved(at, p, end, rc);
	if (rc == 0)
		CHECK(s > at && s + len == p && p == skip_end);
	p = at;
	rc = shoal_mp_read_raw(&p, end, &s, &len);
	check_moved(at, p, end, rc);
	CHECK((rc == 0) == (rs == 0 || rb == 0));

	p = at;
	rc = shoal_mp_read_array(&p, end, &n);
	check_moved(at, p, end, rc);
	if (rc == 0)
		CHECK((uint64_t)n <= (uint64_t)(end - p));
	p = at;
	rc = shoal_mp_read_map(&p, end, &n);
	check_moved(at, p, end, rc);
	if (rc == 0)
		CHECK(2 * (uint64_t)n <= (uint64_t)(end - p));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *end = data + size;

	/* Descend through the input: probe each value, step into containers
	 * so their elements get probed too, step over scalars, and on garbage
	 * move one byte on. Probing every offset would cost O(size^2). */
	for (const uint8_t *at = data; at < end;) {
		const uint8_t *next = at;
		uint32_t n;
		probe(at, end);
		if (shoal_mp_read_array(&next, end, &n) == 0 ||
		    shoal_mp_read_map(&next, end, &n) == 0)
			at = next;
		else if (shoal_mp_skip(&next, end, 0) == 0)
			at = next;
		else
			at++;
	}

	/* the whole input as a sequence of values */
	const uint8_t *p = data;
	while (p < end) {
		const uint8_t *before = p;
		int rc = shoal_mp_skip(&p, end, FUZZ_DEPTH);
		check_moved(before, p, end, rc);
		if (rc != 0)
			break;
		/* a value that skips at some depth skips at any larger one */
		const uint8_t *q = before;
		CHECK(shoal_mp_skip(&q, end, FUZZ_DEPTH + 8) == 0 && q == p);
	}
	return 0;
}
