/*
 * selector.c - the compiled selector: building, canonical form, matching.
 *
 * A selector is one allocation: the header, the term array, the value
 * pointer array, the key and value strings, and the canonical string, in
 * that order. It is built from a sel_builder (selector_internal.h) that
 * the string parser, the structured constructor and selector_and all fill,
 * so the limits and the canonicalisation are enforced in one place.
 *
 * Equality is by canonical string. That is exact rather than semantic:
 * canonicalisation only sorts, de-duplicates and spells one-value sets as
 * `=`/`!=`, which is enough for "same text from different spellings" and
 * keeps the rule easy to state (selector.h).
 */
#include "shoal/selector.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"
#include "selector_internal.h"

struct selector {
	size_t nterms;
	struct selector_term *terms; /* nterms, canonical order */
	const char *canonical;       /* NUL-terminated */
	size_t canonical_len;
};

/* ---- error helpers ----------------------------------------------------- */

int sel_fail(char *err, size_t errcap, int code, const char *fmt, ...)
{
	if (err != NULL && errcap > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errcap, fmt, ap);
		va_end(ap);
	}
	return code;
}

const char *sel_quote(char *buf, size_t cap, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	const size_t shown = len > 40 ? 40 : len;

	if (cap == 0)
		return buf;
	/* leave room for the worst case of one more escape, "...", quote, NUL */
	for (size_t i = 0; i < shown && o + 4 + 5 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	if (shown < len && o + 4 < cap) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o < cap ? o : cap - 1] = '\0';
	return buf;
}

/* ---- builder ----------------------------------------------------------- */

void sel_builder_init(struct sel_builder *b)
{
	b->nterms = 0;
	b->nvalues = 0;
}

int sel_builder_term(struct sel_builder *b, const char *key, size_t len, enum selector_op op,
                     const char **why)
{
	const char *problem = shoal_label_key_problem(key, len);
	if (problem != NULL) {
		*why = problem;
		return SHOAL_E_MALFORMED;
	}
	if (b->nterms == SELECTOR_TERMS_MAX) {
		*why = "more than 32 requirements";
		return SHOAL_E_TOO_BIG;
	}
	b->terms[b->nterms++] =
	        (struct sel_bterm){.key = {key, len}, .op = op, .first = b->nvalues, .n = 0};
	return 0;
}

int sel_builder_value(struct sel_builder *b, const char *v, size_t len, const char **why)
{
	struct sel_bterm *t = &b->terms[b->nterms - 1];
	const char *problem = shoal_label_value_problem(v, len);
	if (problem != NULL) {
		*why = problem;
		return SHOAL_E_MALFORMED;
	}
	if (t->n == SELECTOR_VALUES_MAX) {
		*why = "more than 64 values in one set";
		return SHOAL_E_TOO_BIG;
	}
	if (b->nvalues == SELECTOR_VALUES_TOTAL_MAX) {
		*why = "more than 256 values in all";
		return SHOAL_E_TOO_BIG;
	}
	b->values[b->nvalues++] = (struct sel_span){v, len};
	t->n++;
	return 0;
}

static int span_cmp(const struct sel_span *a, const struct sel_span *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n > 0 ? memcmp(a->p, b->p, n) : 0;
	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

static int span_qcmp(const void *a, const void *b)
{
	return span_cmp(a, b);
}

/* qsort has no context argument, so term comparison reaches the values
 * through a pointer stored beside each term while sorting. */
struct sort_term {
	struct sel_bterm t;
	const struct sel_span *values;
};

static int term_qcmp(const void *pa, const void *pb)
{
	const struct sort_term *a = pa, *b = pb;
	int c = span_cmp(&a->t.key, &b->t.key);
	if (c != 0)
		return c;
	if (a->t.op != b->t.op)
		return a->t.op < b->t.op ? -1 : 1;
	for (size_t i = 0; i < a->t.n && i < b->t.n; i++) {
		c = span_cmp(&a->values[a->t.first + i], &b->values[b->t.first + i]);
		if (c != 0)
			return c;
	}
	return a->t.n < b->t.n ? -1 : a->t.n > b->t.n;
}

/* A writer that counts what it would write past cap, so one function
 * both measures and produces the canonical string. */
struct out {
	char *buf;
	size_t cap;
	size_t len;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (n > 0 && o->len + n <= o->cap)
		memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void put_canonical(struct out *o, const struct sel_builder *b, const struct sort_term *st)
{
	for (size_t i = 0; i < b->nterms; i++) {
		const struct sel_bterm *t = &st[i].t;
		const struct sel_span *v = &b->values[t->first];
		if (i > 0)
			put(o, ",", 1);
		if (t->op == SELECTOR_DOES_NOT_EXIST)
			put(o, "!", 1);
		put(o, t->key.p, t->key.len);
		if (t->op == SELECTOR_EXISTS || t->op == SELECTOR_DOES_NOT_EXIST)
			continue;
		if (t->n == 1) {
			put(o, t->op == SELECTOR_IN ? "=" : "!=", t->op == SELECTOR_IN ? 1 : 2);
			put(o, v[0].p, v[0].len);
			continue;
		}
		put(o, t->op == SELECTOR_IN ? " in (" : " notin (", t->op == SELECTOR_IN ? 5 : 8);
		for (size_t j = 0; j < t->n; j++) {
			if (j > 0)
				put(o, ",", 1);
			put(o, v[j].p, v[j].len);
		}
		put(o, ")", 1);
	}
}

int sel_builder_finish(struct sel_builder *b, struct selector **out, const char **why)
{
	struct sort_term st[SELECTOR_TERMS_MAX];
	size_t nvalues = 0, strings = 0;

	*out = NULL;
	for (size_t i = 0; i < b->nterms; i++) {
		struct sel_bterm *t = &b->terms[i];
		bool wants_values = t->op == SELECTOR_IN || t->op == SELECTOR_NOT_IN;
		if (wants_values && t->n == 0) {
			*why = "'in' and 'notin' need at least one value";
			return SHOAL_E_MALFORMED;
		}
		if (!wants_values && t->n != 0) {
			*why = "'exists' and 'does not exist' take no values";
			return SHOAL_E_MALFORMED;
		}
		/* sort and de-duplicate this term's values in place */
		struct sel_span *v = &b->values[t->first];
		qsort(v, t->n, sizeof(*v), span_qcmp);
		size_t kept = 0;
		for (size_t j = 0; j < t->n; j++)
			if (kept == 0 || span_cmp(&v[kept - 1], &v[j]) != 0)
				v[kept++] = v[j];
		t->n = kept;
	}
	for (size_t i = 0; i < b->nterms; i++)
		st[i] = (struct sort_term){b->terms[i], b->values};
	qsort(st, b->nterms, sizeof(st[0]), term_qcmp);
	size_t kept = 0;
	for (size_t i = 0; i < b->nterms; i++)
		if (kept == 0 || term_qcmp(&st[kept - 1], &st[i]) != 0)
			st[kept++] = st[i];
	b->nterms = kept;
	for (size_t i = 0; i < b->nterms; i++) {
		b->terms[i] = st[i].t;
		nvalues += st[i].t.n;
		strings += st[i].t.key.len + 1;
		for (size_t j = 0; j < st[i].t.n; j++)
			strings += b->values[st[i].t.first + j].len + 1;
	}

	struct out measure = {NULL, 0, 0};
	put_canonical(&measure, b, st);
	if (measure.len > SELECTOR_TEXT_MAX) {
		*why = "canonical form longer than 4096 bytes";
		return SHOAL_E_TOO_BIG;
	}

	size_t size = sizeof(struct selector) + b->nterms * sizeof(struct selector_term) +
	              nvalues * sizeof(const char *) + strings + measure.len + 1;
	char *mem = malloc(size);
	if (mem == NULL) {
		*why = "out of memory";
		return -ENOMEM;
	}
	struct selector *sel = (struct selector *)mem;
	struct selector_term *terms = (struct selector_term *)(sel + 1);
	const char **vptr = (const char **)(terms + b->nterms);
	char *s = (char *)(vptr + nvalues);

	sel->nterms = b->nterms;
	sel->terms = terms;
	for (size_t i = 0; i < b->nterms; i++) {
		const struct sel_bterm *t = &b->terms[i];
		terms[i].key = s;
		memcpy(s, t->key.p, t->key.len);
		s[t->key.len] = '\0';
		s += t->key.len + 1;
		terms[i].op = t->op;
		terms[i].nvalues = t->n;
		terms[i].values = t->n > 0 ? vptr : NULL;
		for (size_t j = 0; j < t->n; j++) {
			const struct sel_span *v = &b->values[t->first + j];
			*vptr++ = s;
			if (v->len > 0)
				memcpy(s, v->p, v->len);
			s[v->len] = '\0';
			s += v->len + 1;
		}
	}
	struct out write = {s, measure.len, 0};
	put_canonical(&write, b, st);
	s[measure.len] = '\0';
	sel->canonical = s;
	sel->canonical_len = measure.len;
	*out = sel;
	return 0;
}

/* ---- structured form --------------------------------------------------- */

static bool op_from_name(const char *name, enum selector_op *op)
{
	static const enum selector_op ops[] = {SELECTOR_IN, SELECTOR_NOT_IN, SELECTOR_EXISTS,
	                                       SELECTOR_DOES_NOT_EXIST};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(name, selector_op_name(ops[i])) == 0) {
			*op = ops[i];
			return true;
		}
	return false;
}

static int structured_labels(struct sel_builder *b, const struct shoal_labels *ml, char *err,
                             size_t errcap)
{
	char q[200];
	const char *why;
	int rc;

	for (size_t i = 0; i < ml->n; i++) {
		const struct shoal_label *l = &ml->items[i];
		if (l->key == NULL || l->value == NULL)
			return sel_fail(err, errcap, -EINVAL, "selector: matchLabels[%zu]: NULL %s",
			                i, l->key == NULL ? "key" : "value");
		size_t klen = strlen(l->key), vlen = strlen(l->value);
		for (size_t j = 0; j < i; j++)
			if (strcmp(ml->items[j].key, l->key) == 0)
				return sel_fail(err, errcap, SHOAL_E_MALFORMED,
				                "selector: matchLabels[%zu]: duplicate key \"%s\"",
				                i, sel_quote(q, sizeof(q), l->key, klen));
		if ((rc = sel_builder_term(b, l->key, klen, SELECTOR_IN, &why)) < 0)
			return sel_fail(err, errcap, rc,
			                "selector: matchLabels[%zu]: key \"%s\": %s", i,
			                sel_quote(q, sizeof(q), l->key, klen), why);
		if ((rc = sel_builder_value(b, l->value, vlen, &why)) < 0)
			return sel_fail(err, errcap, rc,
			                "selector: matchLabels[%zu]: value \"%s\": %s", i,
			                sel_quote(q, sizeof(q), l->value, vlen), why);
	}
	return 0;
}

static int structured_expr(struct sel_builder *b, size_t i, const struct selector_expr *e,
                           char *err, size_t errcap)
{
	char q[200];
	const char *why;
	enum selector_op op;
	int rc;

	if (e->key == NULL || e->op == NULL || (e->nvalues > 0 && e->values == NULL))
		return sel_fail(err, errcap, -EINVAL, "selector: matchExpressions[%zu]: NULL %s", i,
		                e->key == NULL  ? "key"
		                : e->op == NULL ? "operator"
		                                : "values");
	if (!op_from_name(e->op, &op))
		return sel_fail(err, errcap, SHOAL_E_MALFORMED,
		                "selector: matchExpressions[%zu]: operator \"%s\" is not one of "
		                "In, NotIn, Exists, DoesNotExist",
		                i, sel_quote(q, sizeof(q), e->op, strlen(e->op)));
	bool wants_values = op == SELECTOR_IN || op == SELECTOR_NOT_IN;
	if (wants_values && e->nvalues == 0)
		return sel_fail(err, errcap, SHOAL_E_MALFORMED,
		                "selector: matchExpressions[%zu]: %s needs at least one value", i,
		                e->op);
	if (!wants_values && e->nvalues > 0)
		return sel_fail(err, errcap, SHOAL_E_MALFORMED,
		                "selector: matchExpressions[%zu]: %s takes no values", i, e->op);
	size_t klen = strlen(e->key);
	if ((rc = sel_builder_term(b, e->key, klen, op, &why)) < 0)
		return sel_fail(err, errcap, rc, "selector: matchExpressions[%zu]: key \"%s\": %s",
		                i, sel_quote(q, sizeof(q), e->key, klen), why);
	for (size_t j = 0; j < e->nvalues; j++) {
		const char *v = e->values[j];
		if (v == NULL)
			return sel_fail(err, errcap, -EINVAL,
			                "selector: matchExpressions[%zu]: values[%zu] is NULL", i,
			                j);
		size_t vlen = strlen(v);
		if ((rc = sel_builder_value(b, v, vlen, &why)) < 0)
			return sel_fail(err, errcap, rc,
			                "selector: matchExpressions[%zu]: values[%zu] \"%s\": %s",
			                i, j, sel_quote(q, sizeof(q), v, vlen), why);
	}
	return 0;
}

int selector_from_structured(const struct shoal_labels *match_labels,
                             const struct selector_expr *exprs, size_t nexprs,
                             struct selector **out, char *err, size_t errcap)
{
	struct sel_builder b;
	const char *why;
	int rc;

	if (out == NULL || (nexprs > 0 && exprs == NULL) ||
	    (match_labels != NULL && match_labels->n > 0 && match_labels->items == NULL))
		return sel_fail(err, errcap, -EINVAL, "selector: NULL argument");
	*out = NULL;
	sel_builder_init(&b);
	if (match_labels != NULL && (rc = structured_labels(&b, match_labels, err, errcap)) < 0)
		return rc;
	for (size_t i = 0; i < nexprs; i++)
		if ((rc = structured_expr(&b, i, &exprs[i], err, errcap)) < 0)
			return rc;
	if ((rc = sel_builder_finish(&b, out, &why)) < 0)
		return sel_fail(err, errcap, rc, "selector: %s", why);
	return 0;
}

/* ---- combining --------------------------------------------------------- */

static bool term_equal(const struct selector_term *x, const struct selector_term *y)
{
	if (x->op != y->op || x->nvalues != y->nvalues || strcmp(x->key, y->key) != 0)
		return false;
	for (size_t i = 0; i < x->nvalues; i++)
		if (strcmp(x->values[i], y->values[i]) != 0)
			return false;
	return true;
}

static bool has_term(const struct selector *s, const struct selector_term *t)
{
	for (size_t i = 0; i < s->nterms; i++)
		if (term_equal(&s->terms[i], t))
			return true;
	return false;
}

/* Add the terms of `s`, leaving out those `skip` (may be NULL) already
 * holds: the builder's limits count terms before de-duplication, and a
 * target ANDed with a scope that repeats some of its requirements must
 * not be refused for a size it does not have. */
static int add_all(struct sel_builder *b, const struct selector *s, const struct selector *skip,
                   const char **why)
{
	int rc;
	for (size_t i = 0; i < s->nterms; i++) {
		const struct selector_term *t = &s->terms[i];
		if (skip != NULL && has_term(skip, t))
			continue;
		if ((rc = sel_builder_term(b, t->key, strlen(t->key), t->op, why)) < 0)
			return rc;
		for (size_t j = 0; j < t->nvalues; j++)
			if ((rc = sel_builder_value(b, t->values[j], strlen(t->values[j]), why)) <
			    0)
				return rc;
	}
	return 0;
}

int selector_and(const struct selector *a, const struct selector *b, struct selector **out,
                 char *err, size_t errcap)
{
	struct sel_builder bld;
	const char *why;
	int rc;

	if (a == NULL || b == NULL || out == NULL)
		return sel_fail(err, errcap, -EINVAL, "selector: NULL argument");
	*out = NULL;
	sel_builder_init(&bld);
	if ((rc = add_all(&bld, a, NULL, &why)) < 0 || (rc = add_all(&bld, b, a, &why)) < 0 ||
	    (rc = sel_builder_finish(&bld, out, &why)) < 0)
		return sel_fail(err, errcap, rc, "selector: conjunction: %s", why);
	return 0;
}

/* ---- reading ----------------------------------------------------------- */

void selector_delete(struct selector *sel)
{
	free(sel);
}

static bool in_values(const struct selector_term *t, const char *v)
{
	for (size_t i = 0; i < t->nvalues; i++)
		if (strcmp(t->values[i], v) == 0)
			return true;
	return false;
}

bool selector_matches(const struct selector *sel, const struct shoal_labels *labels)
{
	for (size_t i = 0; i < sel->nterms; i++) {
		const struct selector_term *t = &sel->terms[i];
		const char *v = shoal_labels_get(labels, t->key, strlen(t->key));
		bool ok;
		switch (t->op) {
		case SELECTOR_IN:
			ok = v != NULL && in_values(t, v);
			break;
		case SELECTOR_NOT_IN:
			ok = v == NULL || !in_values(t, v);
			break;
		case SELECTOR_EXISTS:
			ok = v != NULL;
			break;
		default:
			ok = v == NULL;
			break;
		}
		if (!ok)
			return false;
	}
	return true;
}

const char *selector_canonical(const struct selector *sel)
{
	return sel->canonical;
}

int selector_format(const struct selector *sel, char *buf, size_t cap)
{
	if (sel->canonical_len >= cap) {
		if (cap > 0)
			buf[0] = '\0';
		return -ENOSPC;
	}
	memcpy(buf, sel->canonical, sel->canonical_len + 1);
	return (int)sel->canonical_len;
}

bool selector_equal(const struct selector *a, const struct selector *b)
{
	return a->canonical_len == b->canonical_len &&
	       memcmp(a->canonical, b->canonical, a->canonical_len) == 0;
}

size_t selector_nterms(const struct selector *sel)
{
	return sel->nterms;
}

const struct selector_term *selector_term_at(const struct selector *sel, size_t i)
{
	return &sel->terms[i];
}

const char *selector_op_name(enum selector_op op)
{
	switch (op) {
	case SELECTOR_IN:
		return "In";
	case SELECTOR_NOT_IN:
		return "NotIn";
	case SELECTOR_EXISTS:
		return "Exists";
	case SELECTOR_DOES_NOT_EXIST:
		return "DoesNotExist";
	}
	return "?";
}
