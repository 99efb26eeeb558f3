/*
 * fuzz_selector.c - libFuzzer target for the label selector parser.
 *
 * Parses arbitrary bytes as a selector and checks the contract, not just
 * "no crash": a failure leaves *out NULL and an error message; a success
 * has a canonical form within SELECTOR_TEXT_MAX that parses back to an
 * equal selector with the same canonical form (stable after one round),
 * the same terms rebuilt through the structured constructor give the same
 * selector, AND with itself changes nothing, and the original and the
 * re-parsed selector agree on label sets built from the selector's own
 * keys and values.
 */
#include "shoal/selector.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* The same terms through selector_from_structured. */
static void check_structured(const struct selector *sel)
{
	static const char *names[] = {"In", "NotIn", "Exists", "DoesNotExist"};
	struct selector_expr exprs[SELECTOR_TERMS_MAX];
	size_t n = selector_nterms(sel);
	for (size_t i = 0; i < n; i++) {
		const struct selector_term *t = selector_term_at(sel, i);
		exprs[i] = (struct selector_expr){t->key, names[t->op], t->values, t->nvalues};
	}
	struct selector *back = NULL;
	CHECK(selector_from_structured(NULL, exprs, n, &back, NULL, 0) == 0);
	CHECK(selector_equal(sel, back));
	selector_delete(back);
}

/* Label sets from the selector's own keys: each key absent, or set to
 * one of its values, or to a value no term names. Both selectors must
 * agree on every set, and the verdict must follow the term semantics. */
static void check_matches(const struct selector *a, const struct selector *b)
{
	struct shoal_label items[SELECTOR_TERMS_MAX];
	size_t n = selector_nterms(a);
	for (unsigned variant = 0; variant < 3; variant++) {
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			const struct selector_term *t = selector_term_at(a, i);
			if (variant == 0)
				continue; /* all absent */
			const char *v =
			        variant == 1 && t->nvalues > 0 ? t->values[0] : "zz-unnamed";
			items[k++] = (struct shoal_label){t->key, v};
		}
		struct shoal_labels l = {items, k};
		bool m = selector_matches(a, &l);
		CHECK(m == selector_matches(b, &l));
		if (variant == 0) {
			/* nothing present: only IN and EXISTS can fail */
			bool want = true;
			for (size_t i = 0; i < n; i++) {
				enum selector_op op = selector_term_at(a, i)->op;
				if (op == SELECTOR_IN || op == SELECTOR_EXISTS)
					want = false;
			}
			CHECK(m == want);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct selector *sel = (struct selector *)&sel;
	char err[SELECTOR_ERR_MAX];
	err[0] = '\0';

	int rc = selector_parse((const char *)data, size, &sel, err, sizeof(err));
	if (rc != 0) {
		CHECK(sel == NULL);
		CHECK(rc == SHOAL_E_MALFORMED || rc == SHOAL_E_TOO_BIG);
		CHECK(strncmp(err, "selector: ", 10) == 0);
		return 0;
	}
	const char *c1 = selector_canonical(sel);
	size_t len = strlen(c1);
	CHECK(len <= SELECTOR_TEXT_MAX);
	CHECK(selector_nterms(sel) <= SELECTOR_TERMS_MAX);

	char buf[SELECTOR_TEXT_MAX + 1];
	CHECK(selector_format(sel, buf, sizeof(buf)) == (int)len);
	CHECK(strcmp(buf, c1) == 0);

	struct selector *again = NULL;
	CHECK(selector_parse(buf, len, &again, err, sizeof(err)) == 0);
	CHECK(strcmp(selector_canonical(again), c1) == 0);
	CHECK(selector_equal(sel, again));
	CHECK(selector_nterms(again) == selector_nterms(sel));

	struct selector *twice = NULL;
	CHECK(selector_and(sel, again, &twice, NULL, 0) == 0);
	CHECK(selector_equal(twice, sel));
	selector_delete(twice);

	check_structured(sel);
	check_matches(sel, again);
	selector_delete(again);
	selector_delete(sel);
	return 0;
}
