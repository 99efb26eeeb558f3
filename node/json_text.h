/*
 * json_text.h - JSON written straight into a byte buffer, for answers too
 * large to build as jansson objects first (GET /v1/fleet/sites lists every
 * site: at 10,000 sites, building and dumping the objects cost ten times
 * what writing the text does).
 *
 * The bytes are those json_dumps gives with the flags the API server uses
 * (JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(10)), so an
 * answer reads the same whichever way it was made: strings escaped the
 * same way (non-ASCII as \uXXXX, surrogate pairs beyond the BMP), reals
 * with 10 significant digits and always a '.' or an exponent.
 * tests/unit/test_json_text.c holds the two side by side.
 *
 * Errors are the buffer's (struct shoal_buf: sticky, checked once at the
 * end). Thread-safety: none needed; a buffer belongs to one thread.
 */
#ifndef SHOAL_NODE_JSON_TEXT_H
#define SHOAL_NODE_JSON_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "shoal/mp.h"

/* Whether `len` bytes are UTF-8 as jansson accepts it (no overlong forms,
 * no surrogates, nothing past U+10FFFF). */
bool json_text_utf8_valid(const char *s, size_t len);

/* n bytes as they are. Inline: a list of 10,000 sites is some 700,000
 * small appends, and the room is nearly always there already. */
static inline void json_text_put(struct shoal_buf *b, const void *p, size_t n)
{
	if (b->err == 0 && n > 0 && b->len <= b->alloc && n <= b->alloc - b->len) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
	} else {
		shoal_buf_append(b, p, n);
	}
}
/* Bytes as they are (punctuation, keys known to need no escaping). */
void json_text_raw(struct shoal_buf *b, const char *s);
/* The same for a string literal, its length known at compile time. */
#define JSON_TEXT_LIT(b, lit) json_text_put((b), (lit), sizeof(lit) - 1)
/* A quoted string; false (and nothing written) if it is not valid UTF-8:
 * jansson refuses such a string, and the caller decides what stands in. */
bool json_text_str(struct shoal_buf *b, const char *s, size_t len);
void json_text_int(struct shoal_buf *b, int64_t v);
/* pm / 10.0 as json_text_real writes it ("12.3", "40.0"), without
 * printf: the API shows every use figure this way. */
void json_text_pm(struct shoal_buf *b, uint32_t pm);
/* A real as json_dumps writes it; null for NaN or an infinity (jansson
 * has no such reals). */
void json_text_real(struct shoal_buf *b, double v);
/* The real that decimal text denotes (strtod of it, the caller has checked
 * it is one), written as json_text_real would write it; a plain decimal of
 * at most 10 significant digits, the common case (a coordinate), is copied
 * in canonical form rather than printed from the double. */
void json_text_decimal(struct shoal_buf *b, const char *text, size_t len, double v);

#endif
