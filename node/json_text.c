/*
 * json_text.c - JSON text written into a shoal_buf the way jansson's
 * json_dumps writes it (json_text.h).
 */
#include "json_text.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The code point of the UTF-8 sequence at s (n bytes left), its length in
 * *used; 0 for an invalid sequence. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		v = c & 0x1F;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		v = c & 0x0F;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		v = c & 0x07;
		min = 0x10000;
	} else {
		return 0; /* continuation byte, overlong lead (C0, C1) or past U+10FFFF */
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return len;
}

bool json_text_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	uint32_t cp;
	while (i < len) {
		size_t used = utf8_next(p + i, len - i, &cp);
		if (used == 0)
			return false;
		i += used;
	}
	return true;
}

void json_text_raw(struct shoal_buf *b, const char *s)
{
	json_text_put(b, s, strlen(s));
}

static void put_u_escape(struct shoal_buf *b, uint32_t unit)
{
	static const char hex[] = "0123456789ABCDEF";
	char seq[6] = {'\\',
	               'u',
	               hex[(unit >> 12) & 15],
	               hex[(unit >> 8) & 15],
	               hex[(unit >> 4) & 15],
	               hex[unit & 15]};
	json_text_put(b, seq, sizeof(seq));
}

/* One character that needs more than itself: a short escape, \uXXXX, or
 * a surrogate pair. */
static void put_escaped(struct shoal_buf *b, uint32_t cp)
{
	switch (cp) {
	case '"':
		JSON_TEXT_LIT(b, "\\\"");
		return;
	case '\\':
		JSON_TEXT_LIT(b, "\\\\");
		return;
	case '\b':
		JSON_TEXT_LIT(b, "\\b");
		return;
	case '\f':
		JSON_TEXT_LIT(b, "\\f");
		return;
	case '\n':
		JSON_TEXT_LIT(b, "\\n");
		return;
	case '\r':
		JSON_TEXT_LIT(b, "\\r");
		return;
	case '\t':
		JSON_TEXT_LIT(b, "\\t");
		return;
	}
	if (cp < 0x10000) {
		put_u_escape(b, cp);
	} else {
		cp -= 0x10000;
		put_u_escape(b, 0xD800 | ((cp >> 10) & 0x3FF));
		put_u_escape(b, 0xDC00 | (cp & 0x3FF));
	}
}

bool json_text_str(struct shoal_buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t start = b->len, i = 0;
	JSON_TEXT_LIT(b, "\"");
	/* One pass: runs of plain ASCII go in one append; anything else is
	 * decoded, and an invalid sequence takes back what was written. */
	while (i < len) {
		size_t run = i;
		while (run < len && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' &&
		       p[run] != '\\')
			run++;
		if (run > i)
			json_text_put(b, s + i, run - i);
		i = run;
		if (i >= len)
			break;
		uint32_t cp;
		size_t used = utf8_next(p + i, len - i, &cp);
		if (used == 0) {
			if (b->err == 0 && b->len >= start)
				b->len = start; /* jansson refuses the string: so do we */
			return false;
		}
		i += used;
		put_escaped(b, cp);
	}
	JSON_TEXT_LIT(b, "\"");
	return true;
}

/* Decimal digits of v, right-aligned ending at end; returns the start. */
static char *digits(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return end;
}

void json_text_int(struct shoal_buf *b, int64_t v)
{
	char text[24], *end = text + sizeof(text);
	uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	char *p = digits(end, mag);
	if (v < 0)
		*--p = '-';
	json_text_put(b, p, (size_t)(end - p));
}

void json_text_pm(struct shoal_buf *b, uint32_t pm)
{
	/* %.10g of pm / 10.0 is the integer part, '.', the tenths: at most
	 * 10 significant digits, and the nearest double to x.y prints as x.y. */
	char text[16], *end = text + sizeof(text);
	*--end = (char)('0' + pm % 10);
	*--end = '.';
	char *p = digits(end, pm / 10);
	json_text_put(b, p, (size_t)(text + sizeof(text) - p));
}

void json_text_real(struct shoal_buf *b, double v)
{
	char text[40];
	if (!isfinite(v)) {
		json_text_put(b, "null", 4);
		return;
	}
	int n = snprintf(text, sizeof(text), "%.10g", v);
	if (n < 0 || (size_t)n >= sizeof(text) - 3) {
		json_text_put(b, "null", 4);
		return;
	}
	/* The API runs in the C locale, so the decimal point is '.'. Like
	 * jansson: a real always shows it is one, and the exponent loses its
	 * '+' and leading zeros ("1e-05" is "1e-5"). */
	char *e = strchr(text, 'e');
	if (e == NULL && strchr(text, '.') == NULL) {
		memcpy(text + n, ".0", 3);
		n += 2;
	} else if (e != NULL) {
		char *start = e + 1, *end = e + 2;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, strlen(end) + 1);
			n = (int)strlen(text);
		}
	}
	json_text_put(b, text, (size_t)n);
}

void json_text_decimal(struct shoal_buf *b, const char *text, size_t len, double v)
{
	/* [-]digits[.digits]: %.10g prints it back digit for digit (a double
	 * holds 15 significant decimal digits) when it has at most 10 of them
	 * and is not so small that %g turns to an exponent (below 1e-4). */
	size_t i = 0, int_start, int_end, frac_start, frac_end;
	bool neg = false;
	if (i < len && text[i] == '-') {
		neg = true;
		i++;
	}
	int_start = i;
	while (i < len && text[i] >= '0' && text[i] <= '9')
		i++;
	int_end = i;
	frac_start = frac_end = i;
	if (i < len && text[i] == '.') {
		frac_start = ++i;
		while (i < len && text[i] >= '0' && text[i] <= '9')
			i++;
		frac_end = i;
	}
	if (i != len || (int_end == int_start && frac_end == frac_start)) {
		json_text_real(b, v);
		return;
	}
	while (int_start < int_end && text[int_start] == '0')
		int_start++; /* leading zeros */
	while (frac_end > frac_start && text[frac_end - 1] == '0')
		frac_end--; /* trailing zeros */
	size_t sig, lead = 0;
	if (int_end > int_start) {
		sig = (int_end - int_start) + (frac_end - frac_start);
	} else {
		while (frac_start + lead < frac_end && text[frac_start + lead] == '0')
			lead++;
		sig = frac_end - frac_start - lead;
		if (sig > 0 && lead >= 4) {
			json_text_real(b, v); /* below 1e-4: an exponent */
			return;
		}
	}
	if (sig > 10) {
		json_text_real(b, v);
		return;
	}
	if (neg)
		JSON_TEXT_LIT(b, "-");
	if (int_end > int_start)
		json_text_put(b, text + int_start, int_end - int_start);
	else
		JSON_TEXT_LIT(b, "0");
	JSON_TEXT_LIT(b, ".");
	if (frac_end > frac_start)
		json_text_put(b, text + frac_start, frac_end - frac_start);
	else
		JSON_TEXT_LIT(b, "0");
}
