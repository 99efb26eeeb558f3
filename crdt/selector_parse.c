/*
 * selector_parse.c - the string form of a label selector.
 *
 * Shaped after Kubernetes's labels.Parse: a lexer turns the text into
 * identifiers and the symbols = == != ! ( ) , (plus > and <, recognised
 * only to be refused with a clear message), skipping whitespace; an
 * identifier is any run of other bytes, so the key and value rules of
 * labels.h, not the lexer, decide what characters are allowed and the
 * error says which rule was broken. `in` and `notin` are operators only
 * where an operator may stand, so they remain usable as keys and values.
 *
 * Grammar:
 *   selector    = [ requirement { "," requirement } ]
 *   requirement = "!" key | key [ ("=" | "==" | "!=") value
 *                               | ("in" | "notin") "(" value { "," value } ")" ]
 *   value       = [ identifier ]         (absent means the empty value)
 *
 * `in ()` is refused, as by Kubernetes; `in (,)` is the set {""}.
 */
#include "shoal/selector.h"

#include <errno.h>
#include <string.h>

#include "shoal/error.h"
#include "selector_internal.h"

enum tok_type {
	TOK_END,
	TOK_IDENT,
	TOK_COMMA,
	TOK_LPAREN,
	TOK_RPAREN,
	TOK_EQ,   /* = */
	TOK_EQEQ, /* == */
	TOK_NEQ,  /* != */
	TOK_BANG, /* ! */
	TOK_GT,   /* > */
	TOK_LT,   /* < */
};

struct tok {
	enum tok_type type;
	const char *p; /* where it starts in the text */
	size_t len;
};

struct lexer {
	const char *text;
	const char *pos;
	const char *end;
	struct tok cur; /* the token under consideration */
	char *err;
	size_t errcap;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_symbol(char c)
{
	return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

static void next(struct lexer *lx)
{
	while (lx->pos < lx->end && is_space(*lx->pos))
		lx->pos++;
	struct tok t = {TOK_END, lx->pos, 0};
	if (lx->pos == lx->end) {
		lx->cur = t;
		return;
	}
	char c = *lx->pos;
	bool eq_follows = lx->pos + 1 < lx->end && lx->pos[1] == '=';
	t.len = 1;
	switch (c) {
	case ',':
		t.type = TOK_COMMA;
		break;
	case '(':
		t.type = TOK_LPAREN;
		break;
	case ')':
		t.type = TOK_RPAREN;
		break;
	case '>':
		t.type = TOK_GT;
		break;
	case '<':
		t.type = TOK_LT;
		break;
	case '=':
		t.type = eq_follows ? TOK_EQEQ : TOK_EQ;
		t.len = eq_follows ? 2 : 1;
		break;
	case '!':
		t.type = eq_follows ? TOK_NEQ : TOK_BANG;
		t.len = eq_follows ? 2 : 1;
		break;
	default:
		t.type = TOK_IDENT;
		while (lx->pos + t.len < lx->end && !is_space(lx->pos[t.len]) &&
		       !is_symbol(lx->pos[t.len]))
			t.len++;
		break;
	}
	lx->pos += t.len;
	lx->cur = t;
}

static bool is_word(const struct tok *t, const char *w)
{
	size_t n = strlen(w);
	return t->type == TOK_IDENT && t->len == n && memcmp(t->p, w, n) == 0;
}

static size_t column(const struct lexer *lx, const struct tok *t)
{
	return (size_t)(t->p - lx->text) + 1;
}

/* "expected X, found Y" at the current token. */
static int expected(struct lexer *lx, const char *what)
{
	char q[200];
	const struct tok *t = &lx->cur;
	if (t->type == TOK_END)
		return sel_fail(lx->err, lx->errcap, SHOAL_E_MALFORMED,
		                "selector: position %zu: expected %s, found end of selector",
		                column(lx, t), what);
	return sel_fail(lx->err, lx->errcap, SHOAL_E_MALFORMED,
	                "selector: position %zu: expected %s, found '%s'", column(lx, t), what,
	                sel_quote(q, sizeof(q), t->p, t->len));
}

/* A builder refusal, reported at the token that caused it. */
static int refused(struct lexer *lx, const struct tok *t, int rc, const char *what, const char *why)
{
	char q[200];
	return sel_fail(lx->err, lx->errcap, rc, "selector: position %zu: %s \"%s\": %s",
	                column(lx, t), what, sel_quote(q, sizeof(q), t->p, t->len), why);
}

static int add_value(struct lexer *lx, struct sel_builder *b, const struct tok *t)
{
	const char *why;
	int rc = sel_builder_value(b, t->p, t->len, &why);
	return rc < 0 ? refused(lx, t, rc, "value", why) : 0;
}

/* After "=", "==" or "!=": one value, possibly empty. */
static int parse_single_value(struct lexer *lx, struct sel_builder *b)
{
	if (lx->cur.type == TOK_COMMA || lx->cur.type == TOK_END) {
		struct tok empty = {TOK_IDENT, lx->cur.p, 0};
		return add_value(lx, b, &empty);
	}
	if (lx->cur.type != TOK_IDENT)
		return expected(lx, "a value");
	int rc = add_value(lx, b, &lx->cur);
	if (rc == 0)
		next(lx);
	return rc;
}

/* After "in" or "notin": "(" value { "," value } ")". */
static int parse_set(struct lexer *lx, struct sel_builder *b)
{
	int rc;
	if (lx->cur.type != TOK_LPAREN)
		return expected(lx, "'('");
	next(lx);
	if (lx->cur.type == TOK_RPAREN)
		return sel_fail(lx->err, lx->errcap, SHOAL_E_MALFORMED,
		                "selector: position %zu: the set of values is empty",
		                column(lx, &lx->cur));
	for (;;) {
		if (lx->cur.type == TOK_IDENT) {
			if ((rc = add_value(lx, b, &lx->cur)) < 0)
				return rc;
			next(lx);
		} else if (lx->cur.type == TOK_COMMA || lx->cur.type == TOK_RPAREN) {
			/* nothing between separators: the empty value */
			struct tok empty = {TOK_IDENT, lx->cur.p, 0};
			if ((rc = add_value(lx, b, &empty)) < 0)
				return rc;
		} else {
			return expected(lx, "a value, ',' or ')'");
		}
		if (lx->cur.type == TOK_RPAREN)
			break;
		if (lx->cur.type != TOK_COMMA)
			return expected(lx, "',' or ')'");
		next(lx);
	}
	next(lx);
	return 0;
}

static int parse_requirement(struct lexer *lx, struct sel_builder *b)
{
	const char *why;
	bool negated = lx->cur.type == TOK_BANG;
	int rc;

	if (negated)
		next(lx);
	if (lx->cur.type != TOK_IDENT)
		return expected(lx, negated ? "a key after '!'" : "a key or '!'");
	struct tok key = lx->cur;
	next(lx);

	enum selector_op op;
	enum tok_type after = lx->cur.type;
	if (negated || after == TOK_COMMA || after == TOK_END)
		op = negated ? SELECTOR_DOES_NOT_EXIST : SELECTOR_EXISTS;
	else if (after == TOK_EQ || after == TOK_EQEQ || is_word(&lx->cur, "in"))
		op = SELECTOR_IN;
	else if (after == TOK_NEQ || is_word(&lx->cur, "notin"))
		op = SELECTOR_NOT_IN;
	else if (after == TOK_GT || after == TOK_LT)
		return sel_fail(lx->err, lx->errcap, SHOAL_E_MALFORMED,
		                "selector: position %zu: '%c' is not supported in label selectors",
		                column(lx, &lx->cur), after == TOK_GT ? '>' : '<');
	else
		return expected(lx, "'=', '==', '!=', 'in', 'notin', ',' or end of selector");

	if ((rc = sel_builder_term(b, key.p, key.len, op, &why)) < 0)
		return refused(lx, &key, rc, "key", why);
	if (op == SELECTOR_EXISTS || op == SELECTOR_DOES_NOT_EXIST)
		return 0;
	bool set = after == TOK_IDENT; /* "in" / "notin" rather than a symbol */
	next(lx);
	return set ? parse_set(lx, b) : parse_single_value(lx, b);
}

int selector_parse(const char *text, size_t len, struct selector **out, char *err, size_t errcap)
{
	struct sel_builder b;
	struct lexer lx = {text, text, text + len, {TOK_END, text, 0}, err, errcap};
	const char *why;
	int rc;

	if (out == NULL || (text == NULL && len > 0))
		return sel_fail(err, errcap, -EINVAL, "selector: NULL argument");
	*out = NULL;
	if (len > SELECTOR_TEXT_MAX)
		return sel_fail(err, errcap, SHOAL_E_TOO_BIG,
		                "selector: %zu bytes, longer than the limit of %d", len,
		                SELECTOR_TEXT_MAX);
	sel_builder_init(&b);
	next(&lx);
	if (lx.cur.type != TOK_END) {
		for (;;) {
			if ((rc = parse_requirement(&lx, &b)) < 0)
				return rc;
			if (lx.cur.type == TOK_END)
				break;
			if (lx.cur.type != TOK_COMMA)
				return expected(&lx, "',' or end of selector");
			next(&lx);
		}
	}
	if ((rc = sel_builder_finish(&b, out, &why)) < 0)
		return sel_fail(err, errcap, rc, "selector: %s", why);
	return 0;
}
