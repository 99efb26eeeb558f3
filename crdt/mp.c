/*
 * mp.c - the bounded msgpack reader and the capped write buffer behind
 * msgpack-c's packer.
 *
 * Every reader works on a private copy of the cursor and stores it back only
 * once the whole value is known to be inside [pos, end), so a failed read
 * leaves *pos where it was and the caller can try another type or give up.
 * Lengths are compared with the bytes left before any pointer arithmetic,
 * so a declared length near 2^32 can neither overflow a pointer nor size
 * anything.
 *
 * shoal_mp_skip walks nested values without recursion: hostile input
 * cannot grow the C stack, and the nesting bookkeeping lives in a small
 * fixed array. Depth requests beyond that array are clamped to it
 * (SKIP_STACK); no Shoal message nests anywhere near that deep.
 *
 * shoal_buf follows curl's dynbuf: geometric growth, never above the cap,
 * and going over the cap (or running out of memory) frees the contents and
 * sets a sticky error, so a half-written message can never be sent.
 */
#include "shoal/mp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"

/* Nesting levels shoal_mp_skip can track; larger max_depth is clamped. */
#define SKIP_STACK 64

/* First allocation of a shoal_buf: enough for most small messages. */
#define BUF_MIN_ALLOC 64

static uint64_t load_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Read an n-byte big-endian field at *p, advancing *p. */
static int take_be(const uint8_t **p, const uint8_t *end, size_t n, uint64_t *v)
{
	if ((size_t)(end - *p) < n)
		return SHOAL_E_TRUNCATED;
	*v = load_be(*p, n);
	*p += n;
	return 0;
}

/* An integer of any msgpack format: no single C type holds both uint64 and
 * negative int64 values, so the two readers range-check from this form. */
struct mp_int {
	bool negative; /* true only for a value below zero */
	uint64_t u;    /* the value if !negative */
	int64_t i;     /* the value if negative */
};

static int take_int(const uint8_t **p, const uint8_t *end, struct mp_int *out)
{
	const uint8_t *q = *p;
	uint64_t raw;
	int rc;

	if (q >= end)
		return SHOAL_E_TRUNCATED;
	uint8_t t = *q++;
	out->negative = false;
	if (t <= 0x7f) {
		out->u = t;
	} else if (t >= 0xe0) {
		out->negative = true;
		out->i = (int8_t)t;
	} else if (t >= 0xcc && t <= 0xcf) {
		/* uint 8/16/32/64: 1 << (t - 0xcc) bytes */
		if ((rc = take_be(&q, end, (size_t)1 << (t - 0xcc), &raw)) < 0)
			return rc;
		out->u = raw;
	} else if (t >= 0xd0 && t <= 0xd3) {
		size_t n = (size_t)1 << (t - 0xd0);
		if ((rc = take_be(&q, end, n, &raw)) < 0)
			return rc;
		/* sign-extend the n-byte two's complement value */
		int64_t s;
		if (n == 8) {
			memcpy(&s, &raw, sizeof(s)); /* two's complement, as on the wire */
		} else {
			/* raw < 2^32 here, so both operands fit an int64 */
			uint64_t span = UINT64_C(1) << (n * 8);
			s = raw >= span / 2 ? (int64_t)raw - (int64_t)span : (int64_t)raw;
		}
		/* Some packers write non-negative values in signed formats. */
		if (s < 0) {
			out->negative = true;
			out->i = s;
		} else {
			out->u = (uint64_t)s;
		}
	} else {
		return SHOAL_E_TYPE;
	}
	*p = q;
	return 0;
}

int shoal_mp_read_uint(const uint8_t **pos, const uint8_t *end, uint64_t *v)
{
	const uint8_t *q = *pos;
	struct mp_int x;
	int rc = take_int(&q, end, &x);
	if (rc < 0)
		return rc;
	/* A negative integer is the right type but outside a uint's range. */
	if (x.negative)
		return SHOAL_E_RANGE;
	*v = x.u;
	*pos = q;
	return 0;
}

int shoal_mp_read_int(const uint8_t **pos, const uint8_t *end, int64_t *v)
{
	const uint8_t *q = *pos;
	struct mp_int x;
	int rc = take_int(&q, end, &x);
	if (rc < 0)
		return rc;
	if (x.negative) {
		*v = x.i;
	} else {
		if (x.u > (uint64_t)INT64_MAX)
			return SHOAL_E_RANGE;
		*v = (int64_t)x.u;
	}
	*pos = q;
	return 0;
}

int shoal_mp_read_uint_range(const uint8_t **pos, const uint8_t *end, uint64_t lo, uint64_t hi,
                             uint64_t *v)
{
	const uint8_t *q = *pos;
	uint64_t x;
	int rc = shoal_mp_read_uint(&q, end, &x);
	if (rc < 0)
		return rc;
	if (x < lo || x > hi)
		return SHOAL_E_RANGE;
	*v = x;
	*pos = q;
	return 0;
}

int shoal_mp_read_bool(const uint8_t **pos, const uint8_t *end, bool *v)
{
	if (*pos >= end)
		return SHOAL_E_TRUNCATED;
	if (**pos != 0xc2 && **pos != 0xc3)
		return SHOAL_E_TYPE;
	*v = **pos == 0xc3;
	(*pos)++;
	return 0;
}

int shoal_mp_read_nil(const uint8_t **pos, const uint8_t *end)
{
	if (*pos >= end)
		return SHOAL_E_TRUNCATED;
	if (**pos != 0xc0)
		return SHOAL_E_TYPE;
	(*pos)++;
	return 0;
}

/* Which raw families a read accepts. */
enum { RAW_STR = 1, RAW_BIN = 2 };

static int take_raw(const uint8_t **pos, const uint8_t *end, int families, const uint8_t **s,
                    uint32_t *len)
{
	const uint8_t *q = *pos;
	uint64_t n;
	int rc;

	if (q >= end)
		return SHOAL_E_TRUNCATED;
	uint8_t t = *q++;
	if ((families & RAW_STR) && t >= 0xa0 && t <= 0xbf) {
		n = t & 0x1f;
	} else if ((families & RAW_STR) && t >= 0xd9 && t <= 0xdb) {
		/* str 8/16/32: 1, 2, 4 length bytes */
		if ((rc = take_be(&q, end, (size_t)1 << (t - 0xd9), &n)) < 0)
			return rc;
	} else if ((families & RAW_BIN) && t >= 0xc4 && t <= 0xc6) {
		if ((rc = take_be(&q, end, (size_t)1 << (t - 0xc4), &n)) < 0)
			return rc;
	} else {
		return SHOAL_E_TYPE;
	}
	if (n > (uint64_t)(end - q))
		return SHOAL_E_TRUNCATED;
	*s = q;
	*len = (uint32_t)n;
	*pos = q + n;
	return 0;
}

int shoal_mp_read_str(const uint8_t **pos, const uint8_t *end, const uint8_t **s, uint32_t *len)
{
	return take_raw(pos, end, RAW_STR, s, len);
}

int shoal_mp_read_bin(const uint8_t **pos, const uint8_t *end, const uint8_t **s, uint32_t *len)
{
	return take_raw(pos, end, RAW_BIN, s, len);
}

int shoal_mp_read_raw(const uint8_t **pos, const uint8_t *end, const uint8_t **s, uint32_t *len)
{
	return take_raw(pos, end, RAW_STR | RAW_BIN, s, len);
}

/* Container header: fix family in [fix_lo, fix_lo + 15], 16- and 32-bit
 * counts at t16 and t16 + 1. `per` is the fewest bytes one counted item
 * can take (1 per array element, 2 per map entry). */
static int take_container(const uint8_t **pos, const uint8_t *end, uint8_t fix_lo, uint8_t t16,
                          uint64_t per, uint32_t *count)
{
	const uint8_t *q = *pos;
	uint64_t n;
	int rc;

	if (q >= end)
		return SHOAL_E_TRUNCATED;
	uint8_t t = *q++;
	if (t >= fix_lo && t <= fix_lo + 15) {
		n = t & 0x0f;
	} else if (t == t16 || t == t16 + 1) {
		if ((rc = take_be(&q, end, t == t16 ? 2 : 4, &n)) < 0)
			return rc;
	} else {
		return SHOAL_E_TYPE;
	}
	/* n < 2^32 and per <= 2, so the product cannot overflow. */
	if (n * per > (uint64_t)(end - q))
		return SHOAL_E_TRUNCATED;
	*count = (uint32_t)n;
	*pos = q;
	return 0;
}

int shoal_mp_read_array(const uint8_t **pos, const uint8_t *end, uint32_t *count)
{
	return take_container(pos, end, 0x90, 0xdc, 1, count);
}

int shoal_mp_read_map(const uint8_t **pos, const uint8_t *end, uint32_t *count)
{
	return take_container(pos, end, 0x80, 0xde, 2, count);
}

/* Step over one value's header and, for scalars, its body. For a container
 * *container is set and *children receives how many values follow inside it
 * (2 per map entry). */
static int skip_head(const uint8_t **p, const uint8_t *end, bool *container, uint64_t *children)
{
	const uint8_t *q = *p;
	uint64_t n = 0;
	int rc = 0;

	*container = false;
	*children = 0;
	if (q >= end)
		return SHOAL_E_TRUNCATED;
	uint8_t t = *q++;
	if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
		/* fixint, nil, bool: the type byte is the whole value */
	} else if (t <= 0x8f) {
		*container = true;
		*children = (uint64_t)(t & 0x0f) * 2;
	} else if (t <= 0x9f) {
		*container = true;
		*children = t & 0x0f;
	} else if (t <= 0xbf) {
		n = t & 0x1f;
	} else {
		switch (t) {
		case 0xc4: /* bin 8/16/32 */
		case 0xc5:
		case 0xc6:
			rc = take_be(&q, end, (size_t)1 << (t - 0xc4), &n);
			break;
		case 0xd9: /* str 8/16/32 */
		case 0xda:
		case 0xdb:
			rc = take_be(&q, end, (size_t)1 << (t - 0xd9), &n);
			break;
		case 0xc7: /* ext 8/16/32: length, then a type byte, then data */
		case 0xc8:
		case 0xc9:
			rc = take_be(&q, end, (size_t)1 << (t - 0xc7), &n);
			n += 1;
			break;
		case 0xca: /* float 32/64 */
			n = 4;
			break;
		case 0xcb:
			n = 8;
			break;
		case 0xcc: /* uint 8..64 */
		case 0xcd:
		case 0xce:
		case 0xcf:
			n = (uint64_t)1 << (t - 0xcc);
			break;
		case 0xd0: /* int 8..64 */
		case 0xd1:
		case 0xd2:
		case 0xd3:
			n = (uint64_t)1 << (t - 0xd0);
			break;
		case 0xd4: /* fixext 1..16: a type byte then 2^k data bytes */
		case 0xd5:
		case 0xd6:
		case 0xd7:
		case 0xd8:
			n = ((uint64_t)1 << (t - 0xd4)) + 1;
			break;
		case 0xdc: /* array 16/32 */
		case 0xdd:
			*container = true;
			rc = take_be(&q, end, t == 0xdc ? 2 : 4, children);
			break;
		case 0xde: /* map 16/32 */
		case 0xdf:
			*container = true;
			rc = take_be(&q, end, t == 0xde ? 2 : 4, children);
			*children *= 2;
			break;
		default: /* 0xc1 is never used */
			return SHOAL_E_TYPE;
		}
		if (rc < 0)
			return rc;
	}
	/* n is the scalar body; a container has none, but each child needs at
	 * least one byte, so an impossible count is refused here instead of
	 * being walked toward. */
	if (n > (uint64_t)(end - q) || *children > (uint64_t)(end - q))
		return SHOAL_E_TRUNCATED;
	*p = q + n;
	return 0;
}

int shoal_mp_skip(const uint8_t **pos, const uint8_t *end, int max_depth)
{
	/* left[d]: values still to skip at nesting depth d; depth 0 holds the
	 * one top-level value, depth d > 0 the inside of the d-th open
	 * container. */
	uint64_t left[SKIP_STACK + 1];
	const uint8_t *q = *pos;
	int depth = 0;
	int rc;

	if (max_depth < 0)
		return SHOAL_E_RANGE;
	if (max_depth > SKIP_STACK)
		max_depth = SKIP_STACK;
	left[0] = 1;
	for (;;) {
		while (depth > 0 && left[depth] == 0)
			depth--;
		if (left[depth] == 0)
			break;
		bool container;
		uint64_t children;
		if ((rc = skip_head(&q, end, &container, &children)) < 0)
			return rc;
		left[depth]--;
		if (!container)
			continue;
		/* Even an empty container counts as a level of nesting. */
		if (depth + 1 > max_depth)
			return SHOAL_E_RANGE;
		if (children > 0)
			left[++depth] = children;
	}
	*pos = q;
	return 0;
}

void shoal_buf_create(struct shoal_buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
	b->err = 0;
}

void shoal_buf_destroy(struct shoal_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->err = 0;
}

void shoal_buf_reset(struct shoal_buf *b)
{
	b->len = 0;
	b->err = 0;
}

/* Drop the contents and remember why: the buffer is unusable until reset. */
static int buf_fail(struct shoal_buf *b, int err)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->err = err;
	return err;
}

int shoal_buf_append(struct shoal_buf *b, const void *p, size_t n)
{
	if (b->err != 0)
		return b->err;
	if (n == 0)
		return 0;
	if (b->len > b->cap || n > b->cap - b->len)
		return buf_fail(b, SHOAL_E_TOO_BIG);
	size_t need = b->len + n;
	if (need > b->alloc) {
		size_t a = b->alloc < BUF_MIN_ALLOC ? BUF_MIN_ALLOC : b->alloc;
		while (a < need && a <= SIZE_MAX / 2)
			a *= 2;
		if (a < need || a > b->cap)
			a = b->cap; /* need <= cap was checked above */
		uint8_t *d = realloc(b->data, a);
		if (d == NULL)
			return buf_fail(b, -ENOMEM);
		b->data = d;
		b->alloc = a;
	}
	memcpy(b->data + b->len, p, n);
	b->len = need;
	return 0;
}

/* msgpack-c 4.0's msgpack_packer_write: 0 on success, anything else is
 * passed back to the pack_* caller. */
static int buf_write(void *data, const char *buf, size_t len)
{
	return shoal_buf_append(data, buf, len);
}

void shoal_packer_init(msgpack_packer *pk, struct shoal_buf *b)
{
	msgpack_packer_init(pk, b, buf_write);
}
