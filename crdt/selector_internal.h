/*
 * selector_internal.h - the builder shared by the selector's constructors.
 *
 * Both the string parser (selector_parse.c) and the structured and AND
 * constructors (selector.c) feed requirements into a fixed-size builder
 * that borrows its strings; sel_builder_finish validates the sizes,
 * canonicalises, and copies everything into one exactly-sized allocation.
 * Keeping the limits in one place is what makes them hold for every path.
 */
#ifndef SHOAL_SELECTOR_INTERNAL_H
#define SHOAL_SELECTOR_INTERNAL_H

#include <stddef.h>

#include "shoal/selector.h"

/* A borrowed byte string. */
struct sel_span {
	const char *p;
	size_t len;
};

struct sel_bterm {
	struct sel_span key;
	enum selector_op op;
	size_t first; /* index of its first value in sel_builder.values */
	size_t n;     /* values it holds */
};

/* Fixed capacity, so building never allocates until finish; about 5 KB. */
struct sel_builder {
	struct sel_bterm terms[SELECTOR_TERMS_MAX];
	size_t nterms;
	struct sel_span values[SELECTOR_VALUES_TOTAL_MAX];
	size_t nvalues;
};

void sel_builder_init(struct sel_builder *b);

/* Add a requirement on `key`. On failure returns SHOAL_E_MALFORMED (bad
 * key) or SHOAL_E_TOO_BIG and sets *why to a static phrase. */
int sel_builder_term(struct sel_builder *b, const char *key, size_t len, enum selector_op op,
                     const char **why);

/* Add a value to the last requirement added; same errors. */
int sel_builder_value(struct sel_builder *b, const char *v, size_t len, const char **why);

/* Canonicalise and allocate. SHOAL_E_MALFORMED if an In/NotIn has no
 * value, SHOAL_E_TOO_BIG if the canonical form is too long, -ENOMEM;
 * *why says which. The builder's terms are reordered. */
int sel_builder_finish(struct sel_builder *b, struct selector **out, const char **why);

/* vsnprintf into err when err is not NULL; returns code. */
int sel_fail(char *err, size_t errcap, int code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Write (s, len) into (buf, cap) quoted for an error message: at most 40
 * bytes shown, non-printable bytes as \xNN. Returns buf. */
const char *sel_quote(char *buf, size_t cap, const char *s, size_t len);

#endif
