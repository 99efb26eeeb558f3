/*
 * test_ctl_fleet.c - the fleet commands' pure pieces, from fixture answers
 * (tests/fixtures/fleet/: a /v1/fleet and a /v1/fleet/sites answer as the
 * API documents them).
 *
 * `status` and `top sites` promise the same bytes for the same answer when
 * stdout is not a terminal, so their output is compared whole. The bars
 * and the wait verdicts are checked on their edge cases: a single red site
 * among many, nothing selected, a failure while waiting for ready.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../node/ctl_fleet.h"

static json_t *load(const char *name)
{
	char path[4096];
	const char *src = getenv("SHOAL_SRC");
	snprintf(path, sizeof(path), "%s/tests/fixtures/fleet/%s",
	         src != NULL && src[0] != '\0' ? src : ".", name);
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);
	if (j == NULL)
		fail_msg("%s: %s", path, jerr.text);
	return j;
}

/* Everything `fn` writes, as a string (free it). */
struct capture {
	char *text;
	size_t len;
	FILE *f;
};
static void cap_open(struct capture *c)
{
	c->text = NULL;
	c->len = 0;
	c->f = open_memstream(&c->text, &c->len);
	assert_non_null(c->f);
}
static char *cap_close(struct capture *c)
{
	fclose(c->f);
	return c->text;
}

static size_t sum(const size_t *v, size_t n)
{
	size_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s;
}

static void test_bar_split(void **state)
{
	(void)state;
	size_t out[6];
	/* Exact shares. */
	long long even[2] = {1, 1};
	ctl_bar_split(even, 2, 10, out);
	assert_int_equal(out[0], 5);
	assert_int_equal(out[1], 5);
	/* One red site among ten thousand still gets a cell; the bar stays 40. */
	long long skew[6] = {9998, 0, 1, 0, 1, 0};
	ctl_bar_split(skew, 6, 40, out);
	assert_int_equal(sum(out, 6), 40);
	assert_int_equal(out[1], 0);
	assert_int_equal(out[2], 1);
	assert_int_equal(out[4], 1);
	assert_int_equal(out[0], 38);
	/* Largest remainder: 1/3 each of 10 -> 4,3,3 (lowest index wins ties). */
	long long thirds[3] = {1, 1, 1};
	ctl_bar_split(thirds, 3, 10, out);
	assert_int_equal(out[0], 4);
	assert_int_equal(out[1], 3);
	assert_int_equal(out[2], 3);
	/* Nothing to draw. */
	long long none[3] = {0, 0, 0};
	ctl_bar_split(none, 3, 10, out);
	assert_int_equal(sum(out, 3), 0);
	/* More non-zero counts than cells: still exactly the width. */
	long long many[6] = {5, 1, 1, 1, 1, 1};
	ctl_bar_split(many, 6, 3, out);
	assert_int_equal(sum(out, 6), 3);
	/* Hostile counts: negatives are nothing, huge ones do not overflow. */
	long long odd[3] = {-5, INT64_MAX, INT64_MAX};
	ctl_bar_split(odd, 3, 11, out);
	assert_int_equal(out[0], 0);
	assert_int_equal(sum(out, 3), 11);
}

static void test_spark_and_progress(void **state)
{
	(void)state;
	char s[CTL_HIST_BUCKETS + 1];
	long long h[CTL_HIST_BUCKETS] = {0, 1, 7, 15, 0, 0, 0, 0, 0, 100};
	ctl_spark(h, s);
	/* 1/100 and 7/100 are the lowest visible level, 15/100 the second. */
	assert_string_equal(s, ".::-.....@");
	long long z[CTL_HIST_BUCKETS] = {0};
	ctl_spark(z, s);
	assert_string_equal(s, "..........");

	char bar[16];
	ctl_progress_bar(3, 5, 10, bar);
	assert_string_equal(bar, "[######....]");
	ctl_progress_bar(99, 100, 10, bar);
	assert_string_equal(bar, "[#########.]"); /* full only when done */
	ctl_progress_bar(5, 5, 10, bar);
	assert_string_equal(bar, "[##########]");
	ctl_progress_bar(0, 0, 10, bar);
	assert_string_equal(bar, "[..........]");
	ctl_progress_bar(7, 5, 4, bar);
	assert_string_equal(bar, "[####]");
}

static void test_figures(void **state)
{
	(void)state;
	char b[32];
	ctl_fmt_pct(23.14, b, sizeof(b));
	assert_string_equal(b, "23.1%");
	ctl_fmt_pct(NAN, b, sizeof(b));
	assert_string_equal(b, "-");
	ctl_fmt_us(310, b, sizeof(b));
	assert_string_equal(b, "310us");
	ctl_fmt_us(2100, b, sizeof(b));
	assert_string_equal(b, "2.1ms");
	ctl_fmt_us(1500000, b, sizeof(b));
	assert_string_equal(b, "1.50s");
	ctl_fmt_us(-1, b, sizeof(b));
	assert_string_equal(b, "-");
	ctl_fmt_pm(3, b, sizeof(b));
	assert_string_equal(b, "0.3%");
	ctl_fmt_pm(1000, b, sizeof(b));
	assert_string_equal(b, "100.0%");
	ctl_fmt_pm(NAN, b, sizeof(b));
	assert_string_equal(b, "-");
}

static void dur_ok(const char *text, long long want)
{
	long long ms = -1;
	assert_int_equal(ctl_duration_parse(text, &ms), 0);
	assert_true(ms == want);
}

static void test_duration(void **state)
{
	(void)state;
	dur_ok("0", 0);
	dur_ok("30s", 30000);
	dur_ok("500ms", 500);
	dur_ok("2m", 120000);
	dur_ok("1m30s", 90000);
	dur_ok("1h", 3600000);
	dur_ok("24h", 86400000);
	static const char *const bad[] = {"",    "10",  "5x",  "-1s",      "1.5s",
	                                  "s",   "1s2", "25h", "1440m1ms", "99999999999999999999s",
	                                  " 1s", "1 s"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long long ms = 7;
		assert_int_equal(ctl_duration_parse(bad[i], &ms), -EINVAL);
		assert_true(ms == 7); /* untouched */
	}
	long long ms;
	assert_int_equal(ctl_duration_parse(NULL, &ms), -EINVAL);
}

static void test_intent_ref(void **state)
{
	(void)state;
	const char *kind, *name;
	char err[256];
	assert_int_equal(ctl_intent_ref_parse("App/kuard", &kind, &name, err, sizeof(err)), 0);
	assert_string_equal(kind, "App");
	assert_string_equal(name, "kuard");
	/* Kinds as kubectl users type them. */
	assert_int_equal(
	        ctl_intent_ref_parse("egresspolicy/deny.all", &kind, &name, err, sizeof(err)), 0);
	assert_string_equal(kind, "EgressPolicy");
	assert_string_equal(name, "deny.all");
	assert_int_equal(ctl_intent_ref_parse("UPGRADE/v2", &kind, &name, err, sizeof(err)), 0);
	assert_string_equal(kind, "Upgrade");

	static const char *const bad[] = {
	        "kuard",      "/kuard",        "App/",       "App/a/b", "App/Kuard", "App/-x",
	        "Apps/kuard", "VirtualSite/x", "KeyGrant/x", "App/a_b", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(ctl_intent_ref_parse(bad[i], &kind, &name, err, sizeof(err)),
		                 -EINVAL);
		assert_true(err[0] != '\0');
	}
	assert_int_equal(ctl_intent_ref_parse("VirtualSite/x", &kind, &name, err, sizeof(err)),
	                 -EINVAL);
	assert_non_null(strstr(err, "App, EgressPolicy and Upgrade"));
	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memcpy(longname, "App/", 4);
	assert_int_equal(ctl_intent_ref_parse(longname, &kind, &name, err, sizeof(err)), -EINVAL);
}

static void test_fleet_parse(void **state)
{
	(void)state;
	json_t *body = load("fleet.json");
	struct ctl_fleet f;
	char err[128];
	assert_int_equal(ctl_fleet_parse(body, &f, err, sizeof(err)), 0);
	assert_string_equal(f.selector, "env=prod");
	assert_true(f.refresh_s == 60);
	assert_true(f.total == 30);
	long long slots[CTL_SLOT_COUNT] = {25, 2, 1, 1, 1, 0};
	for (int s = 0; s < CTL_SLOT_COUNT; s++)
		assert_true(f.slot[s] == slots[s]);
	assert_true(f.cpu.hist[1] == 10);
	assert_true(fabs(f.cpu.p90 - 80.0) < 1e-9);
	assert_true(fabs(f.memory.max - 100.0) < 1e-9); /* an integer where a float is usual */
	assert_true(isnan(f.disk.p50));
	assert_int_equal(f.nintents, 3);

	const struct ctl_fleet_intent *web = ctl_fleet_find(&f, "app", "web");
	assert_non_null(web);
	assert_true(web->version == 117964803276013569LL);
	assert_true(web->selected == 5 && web->replicated == 4);
	assert_true(web->state[CTL_IS_FAILED] == 1 && web->state[CTL_IS_STALE] == 1);
	assert_null(ctl_fleet_find(&f, "App", "WEB")); /* names are exact */
	assert_null(ctl_fleet_find(&f, "Upgrade", "web"));
	ctl_fleet_free(&f);
	json_decref(body);

	/* What the commands cannot work without. */
	static const char *const bad[] = {
	        "{}",
	        "[]",
	        "{\"sites\":{\"total\":\"3\"},\"intents\":[]}",
	        "{\"sites\":{\"total\":3}}",
	        "{\"sites\":{\"total\":3},\"intents\":{}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_loads(bad[i], 0, NULL);
		assert_non_null(j);
		err[0] = '\0';
		assert_int_equal(ctl_fleet_parse(j, &f, err, sizeof(err)), -EINVAL);
		assert_true(err[0] != '\0');
		ctl_fleet_free(&f);
		json_decref(j);
	}
	/* Odd parts read as nothing: an intent without a name is skipped,
	 * mistyped counts are zero, a short histogram is padded. */
	json_t *j = json_loads("{\"sites\":{\"total\":2,\"green\":\"x\"},"
	                       "\"cpu\":{\"histogram\":[1,-4]},"
	                       "\"intents\":[{\"kind\":\"App\"},{\"kind\":\"App\",\"name\":\"a\","
	                       "\"selected\":2.5,\"states\":[]}, 7]}",
	                       0, NULL);
	assert_int_equal(ctl_fleet_parse(j, &f, err, sizeof(err)), 0);
	assert_true(f.slot[CTL_SLOT_GREEN] == 0);
	assert_true(f.cpu.hist[0] == 1 && f.cpu.hist[1] == 0 && f.cpu.hist[9] == 0);
	assert_string_equal(f.selector, "");
	assert_int_equal(f.nintents, 1);
	assert_true(f.intents[0].selected == 0);
	ctl_fleet_free(&f);
	json_decref(j);
}

static const char status_want[] =
        "FLEET    30 sites   selector env=prod   refresh 60s\n"
        "BANDS    [#################################===!!~x]\n"
        "         # green 25   = orange 2   ! red 1   ~ stale 1   x unreachable 1   ? unknown 0\n"
        "CPU      0% [=@*-:..-=:] 100%   p50 23.1%   p90 80.0%   max 97.5%\n"
        "MEMORY   0% [..:=@*-..:] 100%   p50 47.0%   p90 61.2%   max 100.0%\n"
        "DISK     0% [..........] 100%   p50 -   p90 -   max -\n"
        "\n"
        "WORST SITES\n"
        "NAME   VIEW          BAND     SCORE   CONN.   REL.   SEC.   PERF.\n"
        "s7     unreachable   -        81      100     90     100    60\n"
        "s12    stale         -        70      80      70     100    40\n"
        "s3     fresh         red      35      20      40     100    30\n"
        "s9     fresh         orange   61      90      50     100    45\n"
        "\n"
        "INTENTS\n"
        "KIND           NAME       READY   REPLICATED   PROBLEMS\n"
        "App            kuard      3/3     3/3          -\n"
        "App            web        1/5     4/5          failed=1,stale=1\n"
        "EgressPolicy   deny-all   0/0     0/0          -\n"
        "\n"
        "PODS     running 40   waiting-image 1   crash-loop 2\n"
        "LINKS    29 reporting   rtt p50 310us   rtt p99 2.1ms   loss 0.3%\n"
        "         worst s3: loss 4.0%   rtt p99 9.0ms   reached 11/12\n"
        "ALERTS   mem-high (2 sites): s1, s4\n"
        "POLICY   deny-egress 1234\n";

static void test_status_text(void **state)
{
	(void)state;
	json_t *body = load("fleet.json");
	struct ctl_fleet f;
	char err[128];
	assert_int_equal(ctl_fleet_parse(body, &f, err, sizeof(err)), 0);

	struct capture c;
	struct ctl_style plain = {.color = false};
	cap_open(&c);
	assert_int_equal(ctl_status_print(&f, &plain, c.f), 0);
	char *text = cap_close(&c);
	assert_string_equal(text, status_want);
	free(text);

	/* Colour adds escapes around the same characters, nothing else. */
	struct ctl_style color = {.color = true};
	cap_open(&c);
	assert_int_equal(ctl_status_print(&f, &color, c.f), 0);
	text = cap_close(&c);
	assert_non_null(strstr(text, "\033[31m!!\033[0m"));
	char *w = text;
	for (char *r = text; *r != '\0'; r++) {
		if (*r == '\033') {
			while (*r != 'm')
				r++;
			continue;
		}
		*w++ = *r;
	}
	*w = '\0';
	assert_string_equal(text, status_want);
	free(text);
	ctl_fleet_free(&f);
	json_decref(body);

	/* An empty selection says so instead of drawing empty bars. */
	json_t *j = json_loads("{\"selector\":\"env=none\",\"refresh_s\":60,"
	                       "\"sites\":{\"total\":0},\"intents\":[]}",
	                       0, NULL);
	assert_int_equal(ctl_fleet_parse(j, &f, err, sizeof(err)), 0);
	cap_open(&c);
	assert_int_equal(ctl_status_print(&f, &plain, c.f), 0);
	text = cap_close(&c);
	assert_string_equal(text, "FLEET    0 sites   selector env=none   refresh 60s\n"
	                          "no site matches\n");
	free(text);
	ctl_fleet_free(&f);
	json_decref(j);

	/* Hostile text from the node never reaches the terminal raw. */
	j = json_loads("{\"sites\":{\"total\":1,\"green\":1},\"intents\":[],"
	               "\"alerts\":[{\"name\":\"x\\u001b[2Jy\",\"sites\":[\"a\\nb\"]}]}",
	               0, NULL);
	assert_int_equal(ctl_fleet_parse(j, &f, err, sizeof(err)), 0);
	cap_open(&c);
	assert_int_equal(ctl_status_print(&f, &plain, c.f), 0);
	text = cap_close(&c);
	assert_null(strchr(text, '\033'));
	assert_non_null(strstr(text, "ALERTS   x?[2Jy (1 site): a?b\n"));
	assert_non_null(strstr(text, "INTENTS  none\n"));
	assert_non_null(strstr(text, "PODS     none reported\n"));
	free(text);
	ctl_fleet_free(&f);
	json_decref(j);
}

static char *sites_text(struct ctl_site_row *rows, size_t n, enum ctl_sort_key key, size_t limit)
{
	struct capture c;
	ctl_sites_sort(rows, n, key);
	cap_open(&c);
	assert_int_equal(ctl_sites_print(rows, n, limit, c.f), 0);
	return cap_close(&c);
}

/* The NAME column of a printed table, joined by spaces. */
static void names_of(const char *table, char *out, size_t cap)
{
	size_t n = 0;
	const char *line = strchr(table, '\n');
	out[0] = '\0';
	while (line != NULL && line[1] != '\0') {
		line++;
		size_t w = strcspn(line, " ");
		if (n + w + 2 > cap)
			break;
		if (n > 0)
			out[n++] = ' ';
		memcpy(out + n, line, w);
		n += w;
		out[n] = '\0';
		line = strchr(line, '\n');
	}
}

static void test_top_sites(void **state)
{
	(void)state;
	json_t *body = load("fleet_sites.json");
	struct ctl_site_row *rows;
	size_t n;
	char err[128], names[256];
	assert_int_equal(ctl_sites_parse(body, &rows, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 5);

	char *text = sites_text(rows, n, CTL_SORT_SCORE, 0);
	assert_string_equal(
	        text,
	        "NAME   STATE     VIEW          BAND     SCORE   CPU%   MEM%   DISK%   LOSS    "
	        "RTT99    INTENTS              AGE\n"
	        "s3     suspect   unreachable   -        88      5.0    20.0   10.0    0.0%    "
	        "400us    unreachable=3        1h6m\n"
	        "s4     alive     unknown       -        -       -      -      -       -       "
	        "-        -                    -\n"
	        "s5     alive     fresh         red      30      99.9   95.0   50.0    25.0%   "
	        "1.50s    degraded=1           3s\n"
	        "s2     alive     fresh         orange   55      88.0   71.5   91.2    4.5%    "
	        "25.0ms   ready=1,failed=1     1m15s\n"
	        "s1     alive     fresh         green    92      12.5   40.1   22.0    0.0%    "
	        "900us    applying=1,ready=2   12s\n");
	free(text);

	static const struct {
		enum ctl_sort_key key;
		size_t limit;
		const char *names;
	} orders[] = {
	        {CTL_SORT_CPU, 0, "s5 s2 s1 s3 s4"},  {CTL_SORT_MEM, 0, "s5 s2 s1 s3 s4"},
	        {CTL_SORT_DISK, 0, "s2 s5 s1 s3 s4"}, {CTL_SORT_LOSS, 0, "s5 s2 s1 s3 s4"},
	        {CTL_SORT_NAME, 0, "s1 s2 s3 s4 s5"}, {CTL_SORT_SCORE, 2, "s3 s4"},
	        {CTL_SORT_CPU, 9, "s5 s2 s1 s3 s4"},
	};
	for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
		text = sites_text(rows, n, orders[i].key, orders[i].limit);
		names_of(text, names, sizeof(names));
		assert_string_equal(names, orders[i].names);
		free(text);
	}
	free(rows);
	json_decref(body);

	enum ctl_sort_key key;
	assert_int_equal(ctl_sort_key_parse("loss", &key), 0);
	assert_int_equal(key, CTL_SORT_LOSS);
	assert_int_equal(ctl_sort_key_parse("Score", &key), -EINVAL);
	assert_int_equal(ctl_sort_key_parse("", &key), -EINVAL);

	json_t *j = json_loads("{\"count\":0}", 0, NULL);
	err[0] = '\0';
	assert_int_equal(ctl_sites_parse(j, &rows, &n, err, sizeof(err)), -EINVAL);
	assert_true(err[0] != '\0');
	json_decref(j);
	/* A nameless row is dropped, an empty list is an empty table. */
	j = json_loads("{\"sites\":[{\"state\":\"alive\"},{\"name\":\"z\"}]}", 0, NULL);
	assert_int_equal(ctl_sites_parse(j, &rows, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].name, "z");
	free(rows);
	json_decref(j);
}

static void test_wait_verdicts(void **state)
{
	(void)state;
	char d[256];
	struct ctl_fleet_intent it = {.kind = "App", .name = "web", .selected = 5, .replicated = 3};
	it.state[CTL_IS_READY] = 2;
	it.state[CTL_IS_APPLYING] = 2;
	it.state[CTL_IS_PENDING] = 1;
	assert_int_equal(ctl_wait_judge(&it, CTL_WAIT_REPLICATED), CTL_WAIT_MORE);
	assert_int_equal(ctl_wait_judge(&it, CTL_WAIT_READY), CTL_WAIT_MORE);
	ctl_wait_describe(&it, CTL_WAIT_READY, d, sizeof(d));
	assert_string_equal(d, "2/5 sites ready (1 pending, 2 applying)");
	ctl_wait_describe(&it, CTL_WAIT_REPLICATED, d, sizeof(d));
	assert_string_equal(d, "3/5 sites replicated (1 pending, 2 applying)");

	it.replicated = 5;
	assert_int_equal(ctl_wait_judge(&it, CTL_WAIT_REPLICATED), CTL_WAIT_DONE);
	assert_int_equal(ctl_wait_judge(&it, CTL_WAIT_READY), CTL_WAIT_MORE);

	/* A failure ends a wait for ready at once, not a wait for replicated. */
	it.state[CTL_IS_PENDING] = 0;
	it.state[CTL_IS_FAILED] = 1;
	assert_int_equal(ctl_wait_judge(&it, CTL_WAIT_READY), CTL_WAIT_FAILED);
	assert_int_equal(ctl_wait_judge(&it, CTL_WAIT_REPLICATED), CTL_WAIT_DONE);

	it.state[CTL_IS_FAILED] = 0;
	it.state[CTL_IS_APPLYING] = 0;
	it.state[CTL_IS_READY] = 5;
	assert_int_equal(ctl_wait_judge(&it, CTL_WAIT_READY), CTL_WAIT_DONE);
	ctl_wait_describe(&it, CTL_WAIT_READY, d, sizeof(d));
	assert_string_equal(d, "5/5 sites ready");

	/* Nothing selected is never done; an intent not held is waited for. */
	struct ctl_fleet_intent none = {.kind = "App", .name = "x"};
	assert_int_equal(ctl_wait_judge(&none, CTL_WAIT_REPLICATED), CTL_WAIT_MORE);
	ctl_wait_describe(&none, CTL_WAIT_REPLICATED, d, sizeof(d));
	assert_string_equal(d, "selects no site (yet)");
	assert_int_equal(ctl_wait_judge(NULL, CTL_WAIT_READY), CTL_WAIT_MORE);
	ctl_wait_describe(NULL, CTL_WAIT_READY, d, sizeof(d));
	assert_string_equal(d, "not held by this node (yet)");

	/* A short buffer truncates, never overflows. */
	char small[8];
	ctl_wait_describe(&it, CTL_WAIT_READY, small, sizeof(small));
	assert_true(strlen(small) < sizeof(small));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_bar_split),     cmocka_unit_test(test_spark_and_progress),
	        cmocka_unit_test(test_figures),       cmocka_unit_test(test_duration),
	        cmocka_unit_test(test_intent_ref),    cmocka_unit_test(test_fleet_parse),
	        cmocka_unit_test(test_status_text),   cmocka_unit_test(test_top_sites),
	        cmocka_unit_test(test_wait_verdicts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
