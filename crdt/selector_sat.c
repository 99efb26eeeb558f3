/*
 * selector_sat.c - can any set of labels match this selector?
 *
 * Used where a key's scope meets an intent's target: the effective target is
 * (target AND scope), judged per site when applying, but a conjunction that
 * no site could ever match is an operator's mistake worth refusing at the
 * API ("target outside the key's scope"). Label values range over an
 * unbounded set of strings, so only three things make a selector
 * unsatisfiable, all about one key: required both present and absent; two
 * In sets with no value in common; or every value an In set allows excluded
 * by a NotIn.
 */
#include "selector_internal.h"

#include <stdbool.h>
#include <string.h>

#include "shoal/selector.h"

static bool in_values(const struct selector_term *t, const char *v)
{
	for (size_t i = 0; i < t->nvalues; i++)
		if (strcmp(t->values[i], v) == 0)
			return true;
	return false;
}

/* Terms [from, to) all name one key. Is some value (or absence) allowed? */
static bool key_satisfiable(const struct selector *sel, size_t from, size_t to)
{
	bool present = false, absent = false;
	const struct selector_term *first_in = NULL;
	for (size_t i = from; i < to; i++) {
		const struct selector_term *t = selector_term_at(sel, i);
		if (t->op == SELECTOR_IN || t->op == SELECTOR_EXISTS)
			present = true;
		if (t->op == SELECTOR_DOES_NOT_EXIST)
			absent = true;
		if (t->op == SELECTOR_IN && first_in == NULL)
			first_in = t;
	}
	if (present && absent)
		return false;
	if (first_in == NULL)
		return true; /* Exists with NotIns: some other value will do */
	/* A candidate must be in every In set and in no NotIn set. */
	for (size_t v = 0; v < first_in->nvalues; v++) {
		const char *cand = first_in->values[v];
		bool ok = true;
		for (size_t i = from; i < to && ok; i++) {
			const struct selector_term *t = selector_term_at(sel, i);
			if (t->op == SELECTOR_IN)
				ok = in_values(t, cand);
			else if (t->op == SELECTOR_NOT_IN)
				ok = !in_values(t, cand);
		}
		if (ok)
			return true;
	}
	return false;
}

bool selector_satisfiable(const struct selector *sel)
{
	size_t n = selector_nterms(sel);
	size_t from = 0;
	/* Terms are sorted by key (the canonical order), so each key's
	 * requirements sit together. */
	while (from < n) {
		const char *key = selector_term_at(sel, from)->key;
		size_t to = from + 1;
		while (to < n && strcmp(selector_term_at(sel, to)->key, key) == 0)
			to++;
		if (!key_satisfiable(sel, from, to))
			return false;
		from = to;
	}
	return true;
}
