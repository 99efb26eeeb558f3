/*
 * mp.h - bounded msgpack reading and capped msgpack writing.
 *
 * Reading: msgpack-c's object unpacker allocates from declared lengths before
 * it knows the bytes are there (a 5-byte `dd ff ff ff ff` asks for ~100 GB),
 * so untrusted input is decoded here instead: every reader takes
 * (pos, end), checks the type byte and the remaining length before it trusts
 * any count, never allocates, and on success advances *pos past the value.
 * On failure *pos is left unchanged and a negative code is returned
 * (SHOAL_E_TRUNCATED, SHOAL_E_TYPE, SHOAL_E_RANGE). Strings and bins are
 * returned zero-copy as pointers into the input; they live as long as it.
 *
 * Writing: msgpack-c's packer is fine for producing bytes; shoal_buf gives it
 * a growable buffer with a hard cap (curl's dynbuf): exceeding the cap sets a
 * sticky SHOAL_E_TOO_BIG error and every later write is ignored.
 *
 * Thread-safety: no shared state; a shoal_buf belongs to one thread.
 */
#ifndef SHOAL_MP_H
#define SHOAL_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

/* Array and map counts are checked against the bytes left (each element
 * needs at least one byte, a map entry two), so a count is never larger than
 * what could follow it. */
int shoal_mp_read_array(const uint8_t **pos, const uint8_t *end, uint32_t *count);
int shoal_mp_read_map(const uint8_t **pos, const uint8_t *end, uint32_t *count);
int shoal_mp_read_uint(const uint8_t **pos, const uint8_t *end, uint64_t *v);
int shoal_mp_read_int(const uint8_t **pos, const uint8_t *end, int64_t *v);
int shoal_mp_read_bool(const uint8_t **pos, const uint8_t *end, bool *v);
int shoal_mp_read_nil(const uint8_t **pos, const uint8_t *end);
/* str only / bin only / either. */
int shoal_mp_read_str(const uint8_t **pos, const uint8_t *end, const uint8_t **s, uint32_t *len);
int shoal_mp_read_bin(const uint8_t **pos, const uint8_t *end, const uint8_t **s, uint32_t *len);
int shoal_mp_read_raw(const uint8_t **pos, const uint8_t *end, const uint8_t **s, uint32_t *len);
/* A uint that must lie in [lo, hi]. */
int shoal_mp_read_uint_range(const uint8_t **pos, const uint8_t *end, uint64_t lo, uint64_t hi,
                             uint64_t *v);
/* Skip one whole value of any type; nesting deeper than max_depth is
 * SHOAL_E_RANGE (bounds recursion on hostile input). */
int shoal_mp_skip(const uint8_t **pos, const uint8_t *end, int max_depth);

/* A growable byte buffer with a cap. */
struct shoal_buf {
	uint8_t *data; /* owned; NULL until the first write */
	size_t len;    /* bytes written */
	size_t alloc;  /* bytes allocated */
	size_t cap;    /* hard limit on len */
	int err;       /* sticky: 0 or the first error */
};

/* Start empty with a cap; allocates nothing. */
void shoal_buf_create(struct shoal_buf *b, size_t cap);
/* Free the memory; the buffer may be created again. */
void shoal_buf_destroy(struct shoal_buf *b);
/* Forget the contents, keep the allocation and cap; clears err. */
void shoal_buf_reset(struct shoal_buf *b);
int shoal_buf_append(struct shoal_buf *b, const void *p, size_t n);

/* A msgpack-c packer that writes into `b` (respecting its cap). */
void shoal_packer_init(msgpack_packer *pk, struct shoal_buf *b);

#endif
