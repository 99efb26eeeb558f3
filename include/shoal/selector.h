/*
 * selector.h - Kubernetes label selectors, compiled, canonical and bounded.
 *
 * A selector picks sites by their labels (labels.h): intent targets,
 * operator key scopes, virtual sites and `shoalctl get sites -l` all use
 * one. It is a conjunction of requirements, each one of:
 *
 *   string form            structured form (matchExpressions)  matches when
 *   k=v  k==v  k in (v,..) {key: k, operator: In, values}      k present, value in set
 *   k!=v  k notin (v,..)   {key: k, operator: NotIn, values}   k absent, or value not in set
 *   k                      {key: k, operator: Exists}          k present
 *   !k                     {key: k, operator: DoesNotExist}    k absent
 *
 * matchLabels {k: v} is `k=v`. Requirements are joined by ',' (AND);
 * spaces, tabs, CR and LF between tokens are ignored, as by Kubernetes's
 * parser. A value may be empty (`k=`, `k in (,v)`); a set may not (`k in
 * ()` is an error). Keys and values follow the syntax in labels.h. The
 * empty selector (no requirements) matches every label set; whether an
 * absent selector means "everything" or "nothing" is for the caller.
 *
 * Departures from Kubernetes's labels.Parse: the operators `>` and `<`
 * (node-affinity only) are refused, and the words `in` and `notin` are
 * accepted as keys, so every selector built from the structured form
 * formats to a string that parses back.
 *
 * Canonical form: a compiled selector is normalised - `==` and a
 * one-value `in` become `=`, a one-value `notin` becomes `!=`, values are
 * sorted and de-duplicated, requirements are sorted (by key, then
 * operator, then values) and exact duplicates dropped. Its string form
 * (selector_canonical) parses back to the same selector, and two selectors
 * are selector_equal exactly when their canonical strings are equal. No
 * deeper simplification is attempted: `a=x,a!=y` stays two requirements.
 *
 * Limits (documented bounds; exceeding one is SHOAL_E_TOO_BIG): at most
 * SELECTOR_TERMS_MAX requirements, SELECTOR_VALUES_MAX values in one set,
 * SELECTOR_VALUES_TOTAL_MAX values in all, and SELECTOR_TEXT_MAX bytes of
 * input text and of canonical form, so SELECTOR_TEXT_MAX + 1 bytes always
 * hold selector_format's output.
 *
 * Errors: constructors return 0 or a negative code - SHOAL_E_MALFORMED
 * for bad syntax or an invalid key, value or operator, SHOAL_E_TOO_BIG for
 * a limit, -EINVAL for a NULL argument, -ENOMEM - and write a one-line
 * message into `err` (if not NULL; truncated to errcap), e.g.
 *   selector: position 8: expected ',' or ')', found end of selector    (a in (x)
 *   selector: position 1: key "Foo_": must begin and end with an ...
 *   selector: matchExpressions[1]: operator "Equals" is not one of In, ...
 * Positions are 1-based byte columns of the input text. On error *out is
 * left NULL and nothing needs freeing.
 *
 * Ownership: a selector is allocated by its constructor and freed by
 * selector_delete; it copies everything it needs, so the input text and
 * arrays may be freed as soon as the constructor returns. It is immutable
 * once built.
 *
 * Thread-safety: a built selector may be read (matched, formatted,
 * compared) from any number of threads at once; nothing here keeps global
 * state.
 */
#ifndef SHOAL_SELECTOR_H
#define SHOAL_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "shoal/labels.h"

#define SELECTOR_TERMS_MAX        32   /* requirements in one selector */
#define SELECTOR_VALUES_MAX       64   /* values in one in/notin set */
#define SELECTOR_VALUES_TOTAL_MAX 256  /* values across all requirements */
#define SELECTOR_TEXT_MAX         4096 /* input text, and canonical form, bytes */
#define SELECTOR_ERR_MAX          256  /* an err buffer this big never truncates */

enum selector_op {
	SELECTOR_IN = 0,             /* k=v, k==v, k in (...) */
	SELECTOR_NOT_IN = 1,         /* k!=v, k notin (...) */
	SELECTOR_EXISTS = 2,         /* k */
	SELECTOR_DOES_NOT_EXIST = 3, /* !k */
};

struct selector;

/* Parse the string form: `len` bytes at `text` (no NUL needed; an
 * embedded NUL is just an invalid character). */
int selector_parse(const char *text, size_t len, struct selector **out, char *err, size_t errcap);

/* One matchExpressions entry as a YAML or JSON layer reads it. `op` is the
 * Kubernetes operator name, case-sensitive: "In", "NotIn", "Exists" or
 * "DoesNotExist". In and NotIn need at least one value; Exists and
 * DoesNotExist take none. Strings are NUL-terminated. */
struct selector_expr {
	const char *key;
	const char *op;
	const char *const *values;
	size_t nvalues;
};

/* Build from the structured form: `match_labels` (may be NULL; a key may
 * appear only once, as in a map) and `nexprs` expressions at `exprs` (may
 * be NULL when nexprs is 0). Both empty gives the empty selector. */
int selector_from_structured(const struct shoal_labels *match_labels,
                             const struct selector_expr *exprs, size_t nexprs,
                             struct selector **out, char *err, size_t errcap);

/* a AND b, as a new selector (canonical, so shared requirements appear
 * once). Fails with SHOAL_E_TOO_BIG if the result exceeds a limit; a and
 * b are unchanged either way. */
int selector_and(const struct selector *a, const struct selector *b, struct selector **out,
                 char *err, size_t errcap);

/* Free a selector; NULL is fine. */
void selector_delete(struct selector *sel);

/* Does the label set satisfy every requirement? */
bool selector_matches(const struct selector *sel, const struct shoal_labels *labels);

/* The canonical string ("" for the empty selector); NUL-terminated, at
 * most SELECTOR_TEXT_MAX bytes, valid as long as `sel`. */
const char *selector_canonical(const struct selector *sel);

/* Copy the canonical string into buf (cap bytes including the NUL).
 * Returns its length, or -ENOSPC (buf then holds "" if cap > 0). */
int selector_format(const struct selector *sel, char *buf, size_t cap);

/* Same canonical form. */
bool selector_equal(const struct selector *a, const struct selector *b);

/* Whether any set of labels can match: false only when one key is required
 * both present and absent, or its In sets and NotIn sets leave no value.
 * Used to refuse a target that lies wholly outside a key's scope. */
bool selector_satisfiable(const struct selector *sel);

/* Read access to the requirements, in canonical order. The pointers in a
 * term are valid as long as `sel`. */
struct selector_term {
	const char *key; /* NUL-terminated */
	enum selector_op op;
	const char *const *values; /* sorted, distinct; NULL when nvalues is 0 */
	size_t nvalues;            /* >= 1 for IN/NOT_IN, 0 otherwise */
};
size_t selector_nterms(const struct selector *sel);
/* i < selector_nterms(sel). */
const struct selector_term *selector_term_at(const struct selector *sel, size_t i);

/* "In", "NotIn", "Exists", "DoesNotExist" (the structured form's names). */
const char *selector_op_name(enum selector_op op);

#endif
