/*
 * test_ctl_format.c - shoalctl's pure pieces: node addresses, RFC 3339
 * times, ages, label lists, sanitising and the table printer.
 *
 * These are what turn a node's answer into the text an operator reads, so
 * each gets its normal case, its edge cases and the malformed inputs a
 * foreign or hostile server could send.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../node/ctl.h"
#include "../../node/ctl_format.h"
#include "../../node/ctl_table.h"

static void norm_ok(const char *in, const char *want)
{
	char out[CTL_NODE_MAX];
	assert_int_equal(ctl_node_normalize(in, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void norm_bad(const char *in)
{
	char out[CTL_NODE_MAX];
	assert_true(ctl_node_normalize(in, out, sizeof(out)) < 0);
}

static void test_node_normalize(void **state)
{
	(void)state;
	norm_ok("127.0.0.1:7680", "127.0.0.1:7680");
	norm_ok("localhost", "localhost:7680");
	norm_ok("http://10.0.0.5:9000/", "10.0.0.5:9000");
	norm_ok("[::1]:7000", "[::1]:7000");
	norm_ok("[::1]", "[::1]:7680");
	norm_ok("node-a.example_x:1", "node-a.example_x:1");
	norm_bad("");
	norm_bad(":7680");
	norm_bad("host:");
	norm_bad("host:0");
	norm_bad("host:65536");
	norm_bad("host:12a");
	norm_bad("::1:7000"); /* IPv6 must be bracketed */
	norm_bad("[::1");
	norm_bad("[]:1");
	norm_bad("https://host:1");
	norm_bad("host:1/path");
	norm_bad("user@host:1");
	norm_bad("host name:1");
	norm_bad(NULL);
	char longname[400];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	norm_bad(longname);
}

static void test_rfc3339(void **state)
{
	(void)state;
	int64_t us = -1;
	assert_int_equal(ctl_rfc3339_parse("1970-01-01T00:00:00Z", &us), 0);
	assert_true(us == 0);
	assert_int_equal(ctl_rfc3339_parse("2024-11-26T17:53:04.123456Z", &us), 0);
	assert_true(us == INT64_C(1732643584123456));
	/* Fewer and more fraction digits than microseconds. */
	assert_int_equal(ctl_rfc3339_parse("2024-11-26T17:53:04.5Z", &us), 0);
	assert_true(us == INT64_C(1732643584500000));
	assert_int_equal(ctl_rfc3339_parse("2024-11-26T17:53:04.123456789Z", &us), 0);
	assert_true(us == INT64_C(1732643584123456));
	/* An offset is the same instant written in another zone. */
	assert_int_equal(ctl_rfc3339_parse("2024-11-26T19:53:04+02:00", &us), 0);
	assert_true(us == INT64_C(1732643584000000));
	assert_int_equal(ctl_rfc3339_parse("2024-11-26T15:23:04-02:30", &us), 0);
	assert_true(us == INT64_C(1732643584000000));
	assert_int_equal(ctl_rfc3339_parse("2024-02-29T00:00:00Z", &us), 0);

	const char *bad[] = {
	        "",
	        "2024-11-26",
	        "2024-11-26T17:53:04",
	        "2024-11-26T17:53:04.Z",
	        "2024-13-01T00:00:00Z",
	        "2023-02-29T00:00:00Z",
	        "2024-11-26T24:00:00Z",
	        "2024-11-26T17:60:00Z",
	        "2024-11-26T17:53:04Zjunk",
	        "2024-11-26X17:53:04Z",
	        "2024-11-26T17:53:04+0200",
	        "+024-11-26T17:53:04Z",
	        "2024-1-26T17:53:04Z",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		us = 42;
		assert_true(ctl_rfc3339_parse(bad[i], &us) < 0);
		assert_true(us == 42);
	}
	assert_true(ctl_rfc3339_parse(NULL, &us) < 0);
}

static void test_age(void **state)
{
	(void)state;
	char out[CTL_AGE_LEN];
	ctl_format_age(-5, out); /* node clock ahead of ours */
	assert_string_equal(out, "0s");
	ctl_format_age(0, out);
	assert_string_equal(out, "0s");
	ctl_format_age(59, out);
	assert_string_equal(out, "59s");
	ctl_format_age(60, out);
	assert_string_equal(out, "1m0s");
	ctl_format_age(3599, out);
	assert_string_equal(out, "59m59s");
	ctl_format_age(3600 + 120 + 5, out);
	assert_string_equal(out, "1h2m");
	ctl_format_age(86400 * 3 + 3600 * 4 + 7, out);
	assert_string_equal(out, "3d4h");
	ctl_format_age(INT64_MAX, out); /* must not overflow the buffer */
	assert_true(strlen(out) < CTL_AGE_LEN);
}

static void test_labels(void **state)
{
	(void)state;
	char out[64];
	json_t *l = json_pack("{s:s,s:s,s:i,s:s}", "zone", "b", "region", "eu", "n", 3,
	                      "sys.shoal.io/arch", "amd64");
	assert_non_null(l);
	assert_int_equal(ctl_format_labels(l, out, sizeof(out)), 0);
	assert_string_equal(out, "n=3,region=eu,zone=b"); /* sorted, JSON, no system labels */

	char small[10];
	assert_int_equal(ctl_format_labels(l, small, sizeof(small)), -ENOSPC);
	assert_string_equal(small, "n=3,regio");
	json_decref(l);

	json_t *empty = json_object();
	assert_int_equal(ctl_format_labels(empty, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	json_decref(empty);
	assert_int_equal(ctl_format_labels(NULL, out, sizeof(out)), 0);

	json_t *arr = json_array();
	assert_int_equal(ctl_format_labels(arr, out, sizeof(out)), -EINVAL);
	json_decref(arr);
}

static void test_sanitize(void **state)
{
	(void)state;
	char out[32];
	ctl_sanitize("eu\x1b[31mred\x7f\n", out, sizeof(out));
	assert_string_equal(out, "eu?[31mred??");
	ctl_sanitize("z\xc3\xbcrich", out, sizeof(out)); /* UTF-8 passes through */
	assert_string_equal(out, "z\xc3\xbcrich");
	char tiny[3];
	ctl_sanitize("z\xc3\xbcrich", tiny, sizeof(tiny)); /* no half a character */
	assert_string_equal(tiny, "z");
	ctl_sanitize(NULL, out, sizeof(out));
	assert_string_equal(out, "");
}

/* Print a table into a memory buffer and compare the text. */
static void test_table(void **state)
{
	(void)state;
	static const char *const headers[3] = {"NAME", "STATE", "LABELS"};
	struct ctl_table t;
	assert_int_equal(ctl_table_create(&t, 3, headers), 0);
	const char *r1[3] = {"n2", "suspect", "z\xc3\xbc=1"};
	const char *r2[3] = {"n10", "alive", NULL};
	const char *r3[3] = {"n1", "alive\x1b", ""};
	assert_int_equal(ctl_table_add_row(&t, r1), 0);
	assert_int_equal(ctl_table_add_row(&t, r2), 0);
	assert_int_equal(ctl_table_add_row(&t, r3), 0);
	ctl_table_sort(&t, 0);

	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	ctl_table_print(&t, f);
	fclose(f);
	assert_string_equal(text, "NAME   STATE     LABELS\n"
	                          "n1     alive?    -\n"
	                          "n10    alive     -\n"
	                          "n2     suspect   z\xc3\xbc=1\n");
	free(text);
	ctl_table_destroy(&t);

	assert_true(ctl_table_create(&t, 0, headers) < 0);
	assert_true(ctl_table_create(&t, CTL_TABLE_COLS_MAX + 1, headers) < 0);
}

/* Many rows: growth works and every row is printed once. */
static void test_table_growth(void **state)
{
	(void)state;
	static const char *const headers[1] = {"N"};
	struct ctl_table t;
	assert_int_equal(ctl_table_create(&t, 1, headers), 0);
	char cell[16];
	for (int i = 0; i < 1000; i++) {
		snprintf(cell, sizeof(cell), "%04d", 999 - i);
		const char *row[1] = {cell};
		assert_int_equal(ctl_table_add_row(&t, row), 0);
	}
	ctl_table_sort(&t, 0);
	assert_int_equal(t.nrows, 1000);
	assert_string_equal(t.cells[0], "0000");
	assert_string_equal(t.cells[999], "0999");
	ctl_table_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_node_normalize),
	        cmocka_unit_test(test_rfc3339),
	        cmocka_unit_test(test_age),
	        cmocka_unit_test(test_labels),
	        cmocka_unit_test(test_sanitize),
	        cmocka_unit_test(test_table),
	        cmocka_unit_test(test_table_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
