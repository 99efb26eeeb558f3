/*
 * intent_internal.h - helpers shared by the intent files of crdt/.
 */
#ifndef SHOAL_CRDT_INTENT_INTERNAL_H
#define SHOAL_CRDT_INTENT_INTERNAL_H

#include "shoal/intent.h"

/* Fill `err` (may be NULL) with `reason` and a formatted line; returns the
 * negative code that goes with the reason. */
int intent_fail(struct intent_error *err, enum intent_reason reason, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Compare a msgpack string view with a C string. */
static inline int intent_str_is(const uint8_t *s, uint32_t len, const char *want)
{
	size_t n = 0;
	while (want[n] != '\0')
		n++;
	if (n != len)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] != (uint8_t)want[i])
			return 0;
	return 1;
}

#endif
