/*
 * test_selector.c - label syntax, labels as member records carry them (and
 * the leaf role they may give), and Kubernetes label selectors.
 *
 * Each operator is parsed, formatted and matched against label sets where
 * it must and must not match; the Kubernetes edge cases (empty values,
 * `in ()`, duplicate keys, prefixed keys, bad characters, length limits)
 * each have a case, and every error is checked for its code, its message
 * (with position) and for leaving *out NULL.
 */
#include "shoal/selector.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shoal/error.h"
#include "shoal/labels.h"
#include "shoal/leaf.h"

static struct selector *parse(const char *text)
{
	struct selector *sel = NULL;
	char err[SELECTOR_ERR_MAX];
	int rc = selector_parse(text, strlen(text), &sel, err, sizeof(err));
	if (rc != 0)
		fail_msg("parse \"%s\": %s", text, err);
	assert_non_null(sel);
	return sel;
}

/* Parses, has the given canonical form, and the canonical form parses to
 * an equal selector with the same canonical form. */
static void canon(const char *text, const char *want)
{
	struct selector *sel = parse(text);
	assert_string_equal(selector_canonical(sel), want);
	struct selector *again = parse(selector_canonical(sel));
	assert_true(selector_equal(sel, again));
	assert_string_equal(selector_canonical(again), want);
	selector_delete(again);
	selector_delete(sel);
}

/* Fails with `code` and a message containing `msg`; *out stays NULL. */
static void parse_fail(const char *text, int code, const char *msg)
{
	struct selector *sel = (struct selector *)&sel; /* must be reset to NULL */
	char err[SELECTOR_ERR_MAX] = "";
	int rc = selector_parse(text, strlen(text), &sel, err, sizeof(err));
	if (rc != code)
		fail_msg("parse \"%s\": got %d (%s), want %d", text, rc, err, code);
	assert_null(sel);
	if (strstr(err, msg) == NULL)
		fail_msg("parse \"%s\": message \"%s\" lacks \"%s\"", text, err, msg);
}

/* labels from "k=v" strings; at most 8 */
struct lset {
	char buf[8][128];
	struct shoal_label items[8];
	struct shoal_labels view;
};

static const struct shoal_labels *mk(struct lset *s, size_t n, ...)
{
	va_list ap;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		snprintf(s->buf[i], sizeof(s->buf[i]), "%s", va_arg(ap, const char *));
		char *eq = strchr(s->buf[i], '=');
		assert_non_null(eq);
		*eq = '\0';
		s->items[i] = (struct shoal_label){s->buf[i], eq + 1};
	}
	va_end(ap);
	s->view = (struct shoal_labels){s->items, n};
	return &s->view;
}

static bool sel_match(const char *text, const struct shoal_labels *l)
{
	struct selector *sel = parse(text);
	bool m = selector_matches(sel, l);
	selector_delete(sel);
	return m;
}

/* ---- label syntax ------------------------------------------------------- */

static bool key_ok(const char *k)
{
	return shoal_label_key_valid(k, strlen(k));
}

static bool value_ok(const char *v)
{
	return shoal_label_value_valid(v, strlen(v));
}

static void test_label_keys(void **state)
{
	(void)state;
	char longest[SHOAL_LABEL_KEY_MAX + 2];

	assert_true(key_ok("a"));
	assert_true(key_ok("app.kubernetes.io/name"));
	assert_true(key_ok("Region_1.x-y"));
	assert_true(key_ok("example.com/A"));
	assert_false(key_ok(""));
	assert_false(key_ok("-a"));
	assert_false(key_ok("a-"));
	assert_false(key_ok("a b"));
	assert_false(key_ok("a@b"));
	assert_false(key_ok("/a"));            /* empty prefix */
	assert_false(key_ok("example.com/"));  /* empty name */
	assert_false(key_ok("Example.com/a")); /* prefix is lowercase DNS */
	assert_false(key_ok("ex_ample.com/a"));
	assert_false(key_ok("a..b/c"));
	assert_false(key_ok("-a.b/c"));
	assert_false(key_ok("a/b/c")); /* '/' not allowed in the name */
	assert_false(shoal_label_key_valid("a\0b", 3));

	/* name part: 63 ok, 64 not */
	memset(longest, 'n', 63);
	longest[63] = '\0';
	assert_true(key_ok(longest));
	longest[63] = 'n';
	longest[64] = '\0';
	assert_false(key_ok(longest));
	assert_string_equal(shoal_label_key_problem(longest, 64),
	                    "name part longer than 63 characters");

	/* prefix: 253 ok (dot-separated parts of <= 63), 254 not */
	size_t o = 0;
	while (o < 253) {
		size_t part = 253 - o >= 64 ? 63 : 253 - o;
		memset(longest + o, 'p', part);
		o += part;
		if (o < 253)
			longest[o++] = '.';
	}
	assert_int_equal(o, 253);
	memcpy(longest + o, "/name", 6);
	assert_true(key_ok(longest));
	assert_int_equal(strlen(longest), 253 + 5);
	memmove(longest + 1, longest, strlen(longest) + 1);
	longest[0] = 'q';
	assert_false(key_ok(longest));
	assert_string_equal(shoal_label_key_problem(longest, strlen(longest)),
	                    "prefix longer than 253 characters");
}

static void test_label_values(void **state)
{
	(void)state;
	char v[70];
	assert_true(value_ok(""));
	assert_true(value_ok("eu-west_1.a"));
	assert_true(value_ok("A"));
	assert_false(value_ok("-a"));
	assert_false(value_ok("a."));
	assert_false(value_ok("a/b"));
	assert_false(value_ok("a b"));
	memset(v, 'v', 63);
	v[63] = '\0';
	assert_true(value_ok(v));
	v[63] = 'v';
	v[64] = '\0';
	assert_false(value_ok(v));
}

static void test_labels_get(void **state)
{
	(void)state;
	struct lset s;
	const struct shoal_labels *l = mk(&s, 3, "a=1", "ab=2", "a=3");
	assert_string_equal(shoal_labels_get(l, "a", 1), "1"); /* first occurrence */
	assert_string_equal(shoal_labels_get(l, "ab", 2), "2");
	assert_null(shoal_labels_get(l, "b", 1));
	assert_null(shoal_labels_get(l, "abc", 3));
}

/* ---- each operator ------------------------------------------------------ */

/* Labels as a member record carries them (a msgpack map), read with the
 * bounded reader, and the leaf test every node's SWIM applies to them
 * (shoal/leaf.h). */
static void test_labels_map_and_leaf(void **state)
{
	(void)state;
	/* {"env": "prod", "sys.shoal.io/role": "leaf"} */
	static const uint8_t leaf[] = {0x82, 0xa3, 'e', 'n', 'v', 0xa4, 'p',  'r', 'o', 'd', 0xb1,
	                               's',  'y',  's', '.', 's', 'h',  'o',  'a', 'l', '.', 'i',
	                               'o',  '/',  'r', 'o', 'l', 'e',  0xa4, 'l', 'e', 'a', 'f'};
	/* {"sys.shoal.io/role": "leafy"} */
	static const uint8_t leafy[] = {0x81, 0xb1, 's', 'y', 's', '.', 's', 'h', 'o',
	                                'a',  'l',  '.', 'i', 'o', '/', 'r', 'o', 'l',
	                                'e',  0xa5, 'l', 'e', 'a', 'f', 'y'};
	static const uint8_t empty[] = {0x80};
	const uint8_t *v;
	uint32_t vl;
	assert_int_equal(shoal_labels_map_get(leaf, sizeof(leaf), "env", &v, &vl), 0);
	assert_int_equal(vl, 4);
	assert_memory_equal(v, "prod", 4);
	assert_int_equal(shoal_labels_map_get(leaf, sizeof(leaf), "en", &v, &vl), -1);
	assert_true(shoal_labels_say_leaf(NULL, leaf, sizeof(leaf)));
	assert_false(shoal_labels_say_leaf(NULL, leafy, sizeof(leafy)));
	assert_false(shoal_labels_say_leaf(NULL, empty, sizeof(empty)));
	assert_false(shoal_labels_say_leaf(NULL, NULL, 0));
	/* Every truncation of the map says no, reading nothing past its end. */
	for (size_t n = 0; n < sizeof(leaf); n++)
		assert_false(shoal_labels_say_leaf(NULL, leaf, n));
}

static void test_equals(void **state)
{
	(void)state;
	struct lset s;
	canon("env=prod", "env=prod");
	canon("env==prod", "env=prod");
	canon(" env = prod ", "env=prod");
	canon("env in (prod)", "env=prod");
	assert_true(sel_match("env=prod", mk(&s, 2, "x=1", "env=prod")));
	assert_false(sel_match("env=prod", mk(&s, 1, "env=dev")));
	assert_false(sel_match("env=prod", mk(&s, 1, "other=prod")));
	assert_false(sel_match("env=prod", mk(&s, 0)));
}

static void test_not_equals(void **state)
{
	(void)state;
	struct lset s;
	canon("env!=prod", "env!=prod");
	canon("env notin (prod)", "env!=prod");
	assert_false(sel_match("env!=prod", mk(&s, 1, "env=prod")));
	assert_true(sel_match("env!=prod", mk(&s, 1, "env=dev")));
	assert_true(sel_match("env!=prod", mk(&s, 0))); /* absent key matches, as in k8s */
}

static void test_in(void **state)
{
	(void)state;
	struct lset s;
	canon("tier in (web, db ,cache)", "tier in (cache,db,web)");
	canon("tier in(b,a,b)", "tier in (a,b)");
	assert_true(sel_match("tier in (a,b)", mk(&s, 1, "tier=b")));
	assert_false(sel_match("tier in (a,b)", mk(&s, 1, "tier=c")));
	assert_false(sel_match("tier in (a,b)", mk(&s, 0)));
}

static void test_not_in(void **state)
{
	(void)state;
	struct lset s;
	canon("tier notin (b, a)", "tier notin (a,b)");
	assert_false(sel_match("tier notin (a,b)", mk(&s, 1, "tier=a")));
	assert_true(sel_match("tier notin (a,b)", mk(&s, 1, "tier=c")));
	assert_true(sel_match("tier notin (a,b)", mk(&s, 0)));
}

static void test_exists(void **state)
{
	(void)state;
	struct lset s;
	canon("gpu", "gpu");
	canon("  gpu  ", "gpu");
	assert_true(sel_match("gpu", mk(&s, 1, "gpu=")));
	assert_true(sel_match("gpu", mk(&s, 1, "gpu=a100")));
	assert_false(sel_match("gpu", mk(&s, 1, "gpux=1")));
}

static void test_does_not_exist(void **state)
{
	(void)state;
	struct lset s;
	canon("!gpu", "!gpu");
	canon("! gpu", "!gpu");
	assert_false(sel_match("!gpu", mk(&s, 1, "gpu=")));
	assert_true(sel_match("!gpu", mk(&s, 1, "cpu=x")));
}

static void test_conjunction_in_text(void **state)
{
	(void)state;
	struct lset s;
	const char *t = "region in (eu,us),env!=dev,!legacy,gpu";
	canon(t, "env!=dev,gpu,!legacy,region in (eu,us)"); /* by key */
	assert_true(sel_match(t, mk(&s, 3, "region=eu", "env=prod", "gpu=1")));
	assert_false(sel_match(t, mk(&s, 3, "region=eu", "env=dev", "gpu=1")));
	assert_false(sel_match(t, mk(&s, 4, "region=eu", "env=prod", "gpu=1", "legacy=")));
	assert_false(sel_match(t, mk(&s, 2, "region=eu", "env=prod")));
	assert_false(sel_match(t, mk(&s, 2, "region=ap", "gpu=1")));
}

static void test_empty_selector(void **state)
{
	(void)state;
	struct lset s;
	canon("", "");
	canon(" \t\r\n", "");
	assert_true(sel_match("", mk(&s, 0)));
	assert_true(sel_match("", mk(&s, 1, "a=b")));
	struct selector *sel = parse("");
	assert_int_equal(selector_nterms(sel), 0);
	selector_delete(sel);
	/* zero-length without a text pointer is the empty selector too */
	assert_int_equal(selector_parse(NULL, 0, &sel, NULL, 0), 0);
	assert_string_equal(selector_canonical(sel), "");
	selector_delete(sel);
}

/* ---- Kubernetes edge cases --------------------------------------------- */

static void test_empty_values(void **state)
{
	(void)state;
	struct lset s;
	canon("a=", "a=");
	canon("a==,b", "a=,b");
	canon("a!=", "a!=");
	canon("a in (,x)", "a in (,x)");
	canon("a in (x,)", "a in (,x)");
	canon("a in (,)", "a=");
	canon("a notin ( , )", "a!=");
	assert_true(sel_match("a=", mk(&s, 1, "a=")));
	assert_false(sel_match("a=", mk(&s, 1, "a=x")));
	assert_false(sel_match("a=", mk(&s, 0)));
	assert_true(sel_match("a!=", mk(&s, 1, "a=x")));
	assert_false(sel_match("a!=", mk(&s, 1, "a=")));
}

static void test_empty_set_invalid(void **state)
{
	(void)state;
	parse_fail("a in ()", SHOAL_E_MALFORMED, "position 7: the set of values is empty");
	parse_fail("a notin ( )", SHOAL_E_MALFORMED, "position 11: the set of values is empty");
}

static void test_duplicate_keys(void **state)
{
	(void)state;
	struct lset s;
	/* both requirements apply (AND), as in Kubernetes */
	canon("a=x,a!=y", "a=x,a!=y");
	canon("a!=y,a=x", "a=x,a!=y");
	canon("a=x,a==x,a in (x)", "a=x"); /* exact duplicates collapse */
	assert_true(sel_match("a=x,a!=y", mk(&s, 1, "a=x")));
	assert_false(sel_match("a=x,a=y", mk(&s, 1, "a=x")));
	assert_false(sel_match("a,!a", mk(&s, 1, "a=x")));
	assert_false(sel_match("a,!a", mk(&s, 0)));
}

static void test_prefixed_keys(void **state)
{
	(void)state;
	struct lset s;
	canon("app.kubernetes.io/name in (web)", "app.kubernetes.io/name=web");
	canon("!shoal.io/drain", "!shoal.io/drain");
	assert_true(sel_match("shoal.io/region=eu", mk(&s, 1, "shoal.io/region=eu")));
	assert_false(sel_match("shoal.io/region=eu", mk(&s, 1, "region=eu")));
	parse_fail("Shoal.io/region=eu", SHOAL_E_MALFORMED,
	           "position 1: key \"Shoal.io/region\": prefix must be a DNS subdomain");
	parse_fail("shoal.io/=eu", SHOAL_E_MALFORMED, "name after '/' is empty");
}

static void test_keywords_as_keys_and_values(void **state)
{
	(void)state;
	struct lset s;
	canon("in=notin", "in=notin");
	canon("notin in (in,notin)", "notin in (in,notin)");
	canon("!in", "!in");
	canon("in", "in");
	assert_true(sel_match("in in (in)", mk(&s, 1, "in=in")));
}

static void test_invalid_characters(void **state)
{
	(void)state;
	parse_fail("a=b c", SHOAL_E_MALFORMED,
	           "position 5: expected ',' or end of selector, found 'c'");
	parse_fail("a$=b", SHOAL_E_MALFORMED,
	           "position 1: key \"a$\": name part may hold only [A-Za-z0-9._-]");
	parse_fail("a=b$", SHOAL_E_MALFORMED,
	           "position 3: value \"b$\": value may hold only [A-Za-z0-9._-]");
	parse_fail("a=-b", SHOAL_E_MALFORMED, "must begin and end with an alphanumeric");
	parse_fail("a in (x,-y)", SHOAL_E_MALFORMED, "position 9: value \"-y\"");
	/* a NUL byte is just an invalid character, shown escaped */
	struct selector *sel = NULL;
	char err[SELECTOR_ERR_MAX];
	assert_int_equal(selector_parse("a\0b=c", 5, &sel, err, sizeof(err)), SHOAL_E_MALFORMED);
	assert_null(sel);
	assert_non_null(strstr(err, "key \"a\\x00b\""));
}

static void test_syntax_errors(void **state)
{
	(void)state;
	parse_fail(",a", SHOAL_E_MALFORMED, "position 1: expected a key or '!', found ','");
	parse_fail("a,", SHOAL_E_MALFORMED,
	           "position 3: expected a key or '!', found end of selector");
	parse_fail("a,,b", SHOAL_E_MALFORMED, "position 3: expected a key or '!', found ','");
	parse_fail("!", SHOAL_E_MALFORMED, "expected a key after '!', found end of selector");
	parse_fail("!a=b", SHOAL_E_MALFORMED,
	           "position 3: expected ',' or end of selector, found '='");
	parse_fail("a in (x", SHOAL_E_MALFORMED,
	           "position 8: expected ',' or ')', found end of selector");
	parse_fail("a in (x y)", SHOAL_E_MALFORMED, "position 9: expected ',' or ')', found 'y'");
	parse_fail("a in x", SHOAL_E_MALFORMED, "position 6: expected '(', found 'x'");
	parse_fail("a in (x))", SHOAL_E_MALFORMED, "position 9: expected ',' or end of selector");
	parse_fail("a in ((x)", SHOAL_E_MALFORMED, "expected a value, ',' or ')', found '('");
	parse_fail("a b", SHOAL_E_MALFORMED, "position 3: expected '=', '==', '!=', 'in', 'notin'");
	parse_fail("a===b", SHOAL_E_MALFORMED, "position 4: expected a value, found '='");
	parse_fail("a=(b)", SHOAL_E_MALFORMED, "position 3: expected a value, found '('");
	parse_fail("a ! = b", SHOAL_E_MALFORMED, "position 3: expected '='");
	parse_fail("a>1", SHOAL_E_MALFORMED, "position 2: '>' is not supported in label selectors");
	parse_fail("a < 1", SHOAL_E_MALFORMED, "position 3: '<' is not supported");
	parse_fail("=b", SHOAL_E_MALFORMED, "position 1: expected a key or '!', found '='");
}

static void test_limits(void **state)
{
	(void)state;
	char buf[SELECTOR_TEXT_MAX + 64];
	size_t o = 0;

	/* SELECTOR_TERMS_MAX distinct requirements parse; one more does not */
	for (int i = 0; i < SELECTOR_TERMS_MAX; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%sk%d", i ? "," : "", i);
	struct selector *sel = parse(buf);
	assert_int_equal(selector_nterms(sel), SELECTOR_TERMS_MAX);
	selector_delete(sel);
	snprintf(buf + o, sizeof(buf) - o, ",extra");
	parse_fail(buf, SHOAL_E_TOO_BIG, "more than 32 requirements");

	/* SELECTOR_VALUES_MAX values in a set; one more does not */
	o = (size_t)snprintf(buf, sizeof(buf), "k in (");
	for (int i = 0; i < SELECTOR_VALUES_MAX; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%sv%d", i ? "," : "", i);
	snprintf(buf + o, sizeof(buf) - o, ")");
	sel = parse(buf);
	assert_int_equal(selector_term_at(sel, 0)->nvalues, SELECTOR_VALUES_MAX);
	selector_delete(sel);
	snprintf(buf + o, sizeof(buf) - o, ",w)");
	parse_fail(buf, SHOAL_E_TOO_BIG, "more than 64 values in one set");

	/* total values: 5 sets of 60 */
	o = 0;
	for (int t = 0; t < 5; t++) {
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%sk%d in (", t ? "," : "", t);
		for (int i = 0; i < 60; i++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%d", i ? "," : "", i);
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, ")");
	}
	parse_fail(buf, SHOAL_E_TOO_BIG, "more than 256 values in all");

	/* text longer than SELECTOR_TEXT_MAX, even if only spaces */
	memset(buf, ' ', SELECTOR_TEXT_MAX + 1);
	buf[SELECTOR_TEXT_MAX + 1] = '\0';
	parse_fail(buf, SHOAL_E_TOO_BIG, "4097 bytes, longer than the limit of 4096");
	buf[SELECTOR_TEXT_MAX] = '\0';
	canon(buf, "");

	/* canonical form over the limit although the input is not: `in(` gains
	 * a space. 63-char values, 64 per set; keys of 60 chars. */
	o = 0;
	for (int t = 0; t < 2 && o < sizeof(buf); t++) {
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%060d in(", t ? "," : "", t);
		for (int i = 0; i < 30; i++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%063d", i ? "," : "", i);
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, ")");
	}
	assert_true(o <= SELECTOR_TEXT_MAX);
	sel = parse(buf);
	assert_int_equal(strlen(selector_canonical(sel)), o + 2);
	selector_delete(sel);

	/* too long key and value */
	memset(buf, 'k', 64);
	buf[64] = '\0';
	parse_fail(buf, SHOAL_E_MALFORMED, "name part longer than 63 characters");
	memcpy(buf, "k=", 2);
	memset(buf + 2, 'v', 64);
	buf[66] = '\0';
	parse_fail(buf, SHOAL_E_MALFORMED, "position 3: value \"vvvv");
}

static void test_canonical_over_limit(void **state)
{
	(void)state;
	/* 32 requirements "kNN in(v,v,v,v)" of 127 bytes each: 4095 bytes of
	 * input, within the limit; the canonical form spells each "in (",
	 * one byte more, so it would be 4127 bytes and is refused. */
	char buf[SELECTOR_TEXT_MAX + 1];
	size_t o = 0;
	for (int t = 0; t < SELECTOR_TERMS_MAX; t++) {
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%sk%02d in(", t ? "," : "", t);
		for (int i = 0; i < 4; i++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%029d", i ? "," : "", i);
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, ")");
	}
	assert_int_equal(o, 4095);
	parse_fail(buf, SHOAL_E_TOO_BIG, "selector: canonical form longer than 4096 bytes");

	/* one requirement fewer fits: 31 * 128 = 3968 bytes formatted */
	buf[31 * 127 + 30] = '\0';
	struct selector *sel = parse(buf);
	assert_int_equal(strlen(selector_canonical(sel)), 31 * 127 + 30 + 31);
	selector_delete(sel);
}

/* ---- format, equality, structured form, AND ----------------------------- */

static void test_format(void **state)
{
	(void)state;
	struct selector *sel = parse("b in (y,x), a");
	char buf[64];
	assert_int_equal(selector_format(sel, buf, sizeof(buf)), (int)strlen("a,b in (x,y)"));
	assert_string_equal(buf, "a,b in (x,y)");
	assert_int_equal(selector_format(sel, buf, 12), -ENOSPC); /* needs 13 with NUL */
	assert_string_equal(buf, "");
	assert_int_equal(selector_format(sel, buf, 13), 12);
	selector_delete(sel);
}

static void test_equal(void **state)
{
	(void)state;
	struct selector *a = parse("x in (2,1),y,!z");
	struct selector *b = parse("!z , y , x in (1, 2, 1)");
	struct selector *c = parse("x in (1,2),y");
	assert_true(selector_equal(a, b));
	assert_false(selector_equal(a, c));
	selector_delete(a);
	selector_delete(b);
	selector_delete(c);
}

static void test_terms_view(void **state)
{
	(void)state;
	struct selector *sel = parse("b notin (y,x),a=1,!c");
	assert_int_equal(selector_nterms(sel), 3);
	const struct selector_term *t = selector_term_at(sel, 0);
	assert_string_equal(t->key, "a");
	assert_int_equal(t->op, SELECTOR_IN);
	assert_int_equal(t->nvalues, 1);
	assert_string_equal(t->values[0], "1");
	t = selector_term_at(sel, 2);
	assert_string_equal(t->key, "c");
	assert_int_equal(t->op, SELECTOR_DOES_NOT_EXIST);
	assert_int_equal(t->nvalues, 0);
	assert_null(t->values);
	t = selector_term_at(sel, 1);
	assert_string_equal(t->key, "b");
	assert_int_equal(t->op, SELECTOR_NOT_IN);
	assert_int_equal(t->nvalues, 2);
	assert_string_equal(t->values[0], "x");
	assert_string_equal(t->values[1], "y");
	assert_string_equal(selector_op_name(t->op), "NotIn");
	selector_delete(sel);
}

static void test_structured(void **state)
{
	(void)state;
	struct lset s;
	const struct shoal_label ml[] = {{"region", "eu"}, {"shoal.io/tier", "edge"}};
	const struct shoal_labels match_labels = {ml, 2};
	const char *const envs[] = {"prod", "staging"};
	const char *const bad[] = {"legacy"};
	const struct selector_expr exprs[] = {
	        {"env", "In", envs, 2},
	        {"kind", "NotIn", bad, 1},
	        {"gpu", "Exists", NULL, 0},
	        {"drain", "DoesNotExist", NULL, 0},
	};
	struct selector *sel = NULL;
	char err[SELECTOR_ERR_MAX];

	assert_int_equal(selector_from_structured(&match_labels, exprs, 4, &sel, err, sizeof(err)),
	                 0);
	assert_string_equal(selector_canonical(sel),
	                    "!drain,env in (prod,staging),gpu,kind!=legacy,region=eu,"
	                    "shoal.io/tier=edge");
	struct selector *text = parse("region=eu,shoal.io/tier==edge,env in (staging,prod),"
	                              "kind notin (legacy),gpu,!drain");
	assert_true(selector_equal(sel, text));
	assert_true(selector_matches(
	        sel, mk(&s, 4, "region=eu", "shoal.io/tier=edge", "env=prod", "gpu=")));
	assert_false(selector_matches(
	        sel, mk(&s, 5, "region=eu", "shoal.io/tier=edge", "env=prod", "gpu=", "drain=1")));
	selector_delete(text);
	selector_delete(sel);

	/* nothing at all: the empty selector */
	assert_int_equal(selector_from_structured(NULL, NULL, 0, &sel, err, sizeof(err)), 0);
	assert_string_equal(selector_canonical(sel), "");
	selector_delete(sel);
}

static void structured_fail(const struct shoal_labels *ml, const struct selector_expr *e, size_t n,
                            int code, const char *msg)
{
	struct selector *sel = (struct selector *)&sel;
	char err[SELECTOR_ERR_MAX] = "";
	int rc = selector_from_structured(ml, e, n, &sel, err, sizeof(err));
	if (rc != code)
		fail_msg("got %d (%s), want %d", rc, err, code);
	assert_null(sel);
	if (strstr(err, msg) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err, msg);
}

static void test_structured_errors(void **state)
{
	(void)state;
	const char *const one[] = {"a"};
	const char *const badv[] = {"ok", "b@d"};
	const struct shoal_label dup[] = {{"a", "1"}, {"b", "2"}, {"a", "1"}};
	const struct shoal_labels dups = {dup, 3};
	const struct shoal_label badk[] = {{"a b", "1"}};
	const struct shoal_labels badks = {badk, 1};

	structured_fail(&dups, NULL, 0, SHOAL_E_MALFORMED, "matchLabels[2]: duplicate key \"a\"");
	structured_fail(&badks, NULL, 0, SHOAL_E_MALFORMED, "matchLabels[0]: key \"a b\"");
	structured_fail(NULL, (const struct selector_expr[]){{"k", "Equals", one, 1}}, 1,
	                SHOAL_E_MALFORMED,
	                "matchExpressions[0]: operator \"Equals\" is not one of In, NotIn");
	structured_fail(NULL, (const struct selector_expr[]){{"k", "in", one, 1}}, 1,
	                SHOAL_E_MALFORMED, "operator \"in\""); /* case-sensitive */
	structured_fail(NULL, (const struct selector_expr[]){{"k", "In", NULL, 0}}, 1,
	                SHOAL_E_MALFORMED, "matchExpressions[0]: In needs at least one value");
	structured_fail(
	        NULL,
	        (const struct selector_expr[]){{"j", "Exists", NULL, 0}, {"k", "Exists", one, 1}},
	        2, SHOAL_E_MALFORMED, "matchExpressions[1]: Exists takes no values");
	structured_fail(NULL, (const struct selector_expr[]){{"k", "NotIn", badv, 2}}, 1,
	                SHOAL_E_MALFORMED, "matchExpressions[0]: values[1] \"b@d\"");
	structured_fail(NULL, (const struct selector_expr[]){{NULL, "In", one, 1}}, 1, -EINVAL,
	                "NULL key");
}

static void test_and(void **state)
{
	(void)state;
	struct lset s;
	struct selector *target = parse("region=eu,env in (prod,staging)");
	struct selector *scope = parse("region=eu,!restricted");
	struct selector *both = NULL;
	char err[SELECTOR_ERR_MAX];

	assert_int_equal(selector_and(target, scope, &both, err, sizeof(err)), 0);
	assert_string_equal(selector_canonical(both),
	                    "env in (prod,staging),region=eu,!restricted");
	assert_true(selector_matches(both, mk(&s, 2, "region=eu", "env=prod")));
	assert_false(selector_matches(both, mk(&s, 3, "region=eu", "env=prod", "restricted=")));
	assert_false(selector_matches(both, mk(&s, 1, "region=eu")));
	selector_delete(both);

	/* AND with the empty selector is the other selector */
	struct selector *all = parse("");
	assert_int_equal(selector_and(all, target, &both, err, sizeof(err)), 0);
	assert_true(selector_equal(both, target));
	selector_delete(both);
	selector_delete(all);

	/* requirements both sides share count once against the limits: a
	 * full selector ANDed with itself is itself */
	char full[512];
	size_t fo = 0;
	for (int i = 0; i < SELECTOR_TERMS_MAX; i++)
		fo += (size_t)snprintf(full + fo, sizeof(full) - fo, "%sk%d", i ? "," : "", i);
	struct selector *f = parse(full);
	assert_int_equal(selector_and(f, f, &both, err, sizeof(err)), 0);
	assert_true(selector_equal(both, f));
	selector_delete(both);
	selector_delete(f);

	/* over the limit: a and b unchanged, nothing built */
	char buf[512];
	size_t o = 0;
	for (int i = 0; i < 20; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%sa%d", i ? "," : "", i);
	struct selector *a = parse(buf);
	o = 0;
	for (int i = 0; i < 20; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%sb%d", i ? "," : "", i);
	struct selector *b = parse(buf);
	both = (struct selector *)&both;
	assert_int_equal(selector_and(a, b, &both, err, sizeof(err)), SHOAL_E_TOO_BIG);
	assert_null(both);
	assert_non_null(strstr(err, "selector: conjunction: more than 32 requirements"));
	assert_int_equal(selector_nterms(a), 20);
	selector_delete(a);
	selector_delete(b);
	selector_delete(scope);
	selector_delete(target);
}

static void test_err_truncation(void **state)
{
	(void)state;
	struct selector *sel = NULL;
	char err[8];
	assert_int_equal(selector_parse("a in ()", 7, &sel, err, sizeof(err)), SHOAL_E_MALFORMED);
	assert_string_equal(err, "selecto");
	assert_int_equal(selector_parse("a in ()", 7, &sel, NULL, 0), SHOAL_E_MALFORMED);
	assert_int_equal(selector_parse("a", 1, NULL, err, sizeof(err)), -EINVAL);
}

/* Satisfiable unless one key is required present and absent, or its In
 * and NotIn sets leave no value. */
static void test_satisfiable(void **state)
{
	(void)state;
	const char *yes[] = {"",        "a=b",     "a in (x,y),a notin (x)",
	                     "a,a!=x",  "a!=x,!a", "a in (x,y),a in (y,z)",
	                     "a=x,b=y", "!a,b"};
	const char *no[] = {"a,!a",
	                    "a=x,!a",
	                    "a=x,a=y",
	                    "a in (x,y),a notin (x,y)",
	                    "a in (x),a in (y)",
	                    "a=x,a!=x",
	                    "b=1,a in (x,y),a in (z)"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		struct selector *sel = parse(yes[i]);
		if (!selector_satisfiable(sel))
			fail_msg("\"%s\" should be satisfiable", yes[i]);
		selector_delete(sel);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		struct selector *sel = parse(no[i]);
		if (selector_satisfiable(sel))
			fail_msg("\"%s\" should be unsatisfiable", no[i]);
		selector_delete(sel);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_label_keys),
	        cmocka_unit_test(test_label_values),
	        cmocka_unit_test(test_labels_get),
	        cmocka_unit_test(test_labels_map_and_leaf),
	        cmocka_unit_test(test_equals),
	        cmocka_unit_test(test_not_equals),
	        cmocka_unit_test(test_in),
	        cmocka_unit_test(test_not_in),
	        cmocka_unit_test(test_exists),
	        cmocka_unit_test(test_does_not_exist),
	        cmocka_unit_test(test_conjunction_in_text),
	        cmocka_unit_test(test_empty_selector),
	        cmocka_unit_test(test_empty_values),
	        cmocka_unit_test(test_empty_set_invalid),
	        cmocka_unit_test(test_duplicate_keys),
	        cmocka_unit_test(test_prefixed_keys),
	        cmocka_unit_test(test_keywords_as_keys_and_values),
	        cmocka_unit_test(test_invalid_characters),
	        cmocka_unit_test(test_syntax_errors),
	        cmocka_unit_test(test_limits),
	        cmocka_unit_test(test_canonical_over_limit),
	        cmocka_unit_test(test_format),
	        cmocka_unit_test(test_equal),
	        cmocka_unit_test(test_terms_view),
	        cmocka_unit_test(test_structured),
	        cmocka_unit_test(test_structured_errors),
	        cmocka_unit_test(test_and),
	        cmocka_unit_test(test_err_truncation),
	        cmocka_unit_test(test_satisfiable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
