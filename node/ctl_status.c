/*
 * ctl_status.c - `shoalctl status [-l SELECTOR]`: the fleet at a glance.
 *
 * One screen from GET /v1/fleet: site counts by band with a proportional
 * bar, CPU, memory and disk as a ten-bucket row with p50/p90/max, the
 * worst sites, each intent's ready and replicated counts over the sites it
 * selects with whatever is wrong (failed, degraded, unreachable, stale),
 * pod states, links and the alerts firing.
 *
 * The text is ASCII and the same bytes for the same answer, so scripts and
 * tests can compare it; colour (bands, failures) is added only when stdout
 * is a terminal and NO_COLOR is not set (no-color.org). -o json prints the
 * node's answer as received.
 */
#include "ctl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_api.h"
#include "ctl_fleet.h"
#include "ctl_table.h"

static int status_run(struct ctl_opts *o, int argc, char **argv);

const struct ctl_command ctl_status_command = {
        .name = "status",
        .summary = "the fleet at a glance: bands, usage, worst sites, intents",
        .usage = "usage: shoalctl status [-l SELECTOR] [--node HOST:PORT] [-o table|json]\n"
                 "\n"
                 "The fleet (or the sites SELECTOR matches) as one node sees it: sites by\n"
                 "band (green > 75, orange 40-75, red < 40; stale, unreachable and unknown\n"
                 "sites have no band), CPU, memory and disk use over fresh sites (ten\n"
                 "buckets of 10 %: '.' none, then :-=+*#@ by share of the fullest), the\n"
                 "worst sites, every intent's READY and REPLICATED counts over the sites it\n"
                 "selects, pod states, link health and the alerts firing.\n"
                 "Colour only on a terminal and without NO_COLOR.\n",
        .run = status_run,
};

#define BAND_BAR_WIDTH 40
#define LABEL_WIDTH    9 /* the left labels ("INTENTS" and two spaces) */
#define WORST_SHOWN    5
#define LINKS_SHOWN    3
#define ALERT_SITES    8

static const char *const slot_color[CTL_SLOT_COUNT] = {"\033[32m", "\033[33m", "\033[31m",
                                                       "\033[90m", "\033[35m", "\033[37m"};
static const char slot_char[CTL_SLOT_COUNT] = {'#', '=', '!', '~', 'x', '?'};
#define COLOR_RED   "\033[31m"
#define COLOR_RESET "\033[0m"

/* Network text on the terminal goes through ctl_sanitize. */
static void put_safe(FILE *out, const char *s)
{
	char buf[512];
	ctl_sanitize(s != NULL ? s : "-", buf, sizeof(buf));
	fputs(buf, out);
}

static void label(FILE *out, const char *name)
{
	fprintf(out, "%-*s", LABEL_WIDTH, name);
}

static void print_header(const struct ctl_fleet *f, FILE *out)
{
	label(out, "FLEET");
	fprintf(out, "%lld site%s", f->total, f->total == 1 ? "" : "s");
	if (f->selector[0] != '\0') {
		fputs("   selector ", out);
		put_safe(out, f->selector);
	}
	if (f->refresh_s > 0)
		fprintf(out, "   refresh %llds", f->refresh_s);
	fputc('\n', out);
}

static void print_bands(const struct ctl_fleet *f, const struct ctl_style *st, FILE *out)
{
	size_t cells[CTL_SLOT_COUNT];
	ctl_bar_split(f->slot, CTL_SLOT_COUNT, BAND_BAR_WIDTH, cells);
	label(out, "BANDS");
	fputc('[', out);
	size_t drawn = 0;
	for (int s = 0; s < CTL_SLOT_COUNT; s++) {
		if (cells[s] == 0)
			continue;
		if (st->color)
			fputs(slot_color[s], out);
		for (size_t i = 0; i < cells[s]; i++)
			fputc(slot_char[s], out);
		if (st->color)
			fputs(COLOR_RESET, out);
		drawn += cells[s];
	}
	for (; drawn < BAND_BAR_WIDTH; drawn++)
		fputc(' ', out);
	fputs("]\n", out);
	label(out, "");
	for (int s = 0; s < CTL_SLOT_COUNT; s++) {
		if (s > 0)
			fputs("   ", out);
		bool hot = st->color && f->slot[s] > 0;
		fprintf(out, "%s%c %s %lld%s", hot ? slot_color[s] : "", slot_char[s],
		        ctl_slot_names[s], f->slot[s], hot ? COLOR_RESET : "");
	}
	fputc('\n', out);
}

static void print_dist(const char *name, const struct ctl_dist *d, FILE *out)
{
	char spark[CTL_HIST_BUCKETS + 1], p50[16], p90[16], max[16];
	ctl_spark(d->hist, spark);
	ctl_fmt_pct(d->p50, p50, sizeof(p50));
	ctl_fmt_pct(d->p90, p90, sizeof(p90));
	ctl_fmt_pct(d->max, max, sizeof(max));
	label(out, name);
	fprintf(out, "0%% [%s] 100%%   p50 %s   p90 %s   max %s\n", spark, p50, p90, max);
}

/* "-" for a null or missing integer. */
static void int_cell(const json_t *obj, const char *key, char *out, size_t cap)
{
	const json_t *v = json_object_get(obj, key);
	if (json_is_integer(v))
		snprintf(out, cap, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(out, cap, "%.0f", json_real_value(v));
	else
		snprintf(out, cap, "-");
}

static int print_worst(const struct ctl_fleet *f, FILE *out)
{
	const json_t *worst = json_object_get(f->body, "worst");
	if (json_array_size(worst) == 0)
		return 0;
	static const char *const headers[8] = {"NAME",  "VIEW", "BAND", "SCORE",
	                                       "CONN.", "REL.", "SEC.", "PERF."};
	static const char *const keys[5] = {"score", "connectivity", "reliability", "security",
	                                    "performance"};
	struct ctl_table t;
	if (ctl_table_create(&t, 8, headers) != 0)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(worst) && i < WORST_SHOWN; i++) {
		const json_t *w = json_array_get(worst, i);
		char num[5][24];
		for (int k = 0; k < 5; k++)
			int_cell(w, keys[k], num[k], sizeof(num[k]));
		const char *row[8] = {json_string_value(json_object_get(w, "name")),
		                      json_string_value(json_object_get(w, "view")),
		                      json_string_value(json_object_get(w, "band")),
		                      num[0],
		                      num[1],
		                      num[2],
		                      num[3],
		                      num[4]};
		if (ctl_table_add_row(&t, row) != 0) {
			ctl_table_destroy(&t);
			return -ENOMEM;
		}
	}
	fputs("\nWORST SITES\n", out);
	ctl_table_print(&t, out);
	ctl_table_destroy(&t);
	return 0;
}

/* "failed=1,stale=2" for the states that need a look; "" when none. */
static void problems_text(const struct ctl_fleet_intent *it, char *out, size_t cap)
{
	static const enum ctl_istate bad[] = {CTL_IS_FAILED, CTL_IS_DEGRADED, CTL_IS_UNREACHABLE,
	                                      CTL_IS_STALE};
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (it->state[bad[i]] <= 0)
			continue;
		int w = snprintf(out + n, cap - n, "%s%s=%lld", n ? "," : "",
		                 ctl_istate_names[bad[i]], it->state[bad[i]]);
		if (w < 0 || (size_t)w >= cap - n)
			return;
		n += (size_t)w;
	}
}

static int print_intents(const struct ctl_fleet *f, const struct ctl_style *st, FILE *out)
{
	if (f->nintents == 0) {
		fputc('\n', out);
		label(out, "INTENTS");
		fputs("none\n", out);
		return 0;
	}
	static const char *const headers[5] = {"KIND", "NAME", "READY", "REPLICATED", "PROBLEMS"};
	struct ctl_table t;
	if (ctl_table_create(&t, 5, headers) != 0)
		return -ENOMEM;
	bool any_failed = false;
	for (size_t i = 0; i < f->nintents; i++) {
		const struct ctl_fleet_intent *it = &f->intents[i];
		char ready[48], repl[48], problems[160];
		snprintf(ready, sizeof(ready), "%lld/%lld", it->state[CTL_IS_READY], it->selected);
		snprintf(repl, sizeof(repl), "%lld/%lld", it->replicated, it->selected);
		problems_text(it, problems, sizeof(problems));
		any_failed = any_failed || it->state[CTL_IS_FAILED] > 0;
		const char *row[5] = {it->kind, it->name, ready, repl, problems};
		if (ctl_table_add_row(&t, row) != 0) {
			ctl_table_destroy(&t);
			return -ENOMEM;
		}
	}
	fputs("\nINTENTS\n", out);
	/* The table is plain text; on a terminal a failure turns the block red. */
	if (st->color && any_failed)
		fputs(COLOR_RED, out);
	ctl_table_print(&t, out);
	if (st->color && any_failed)
		fputs(COLOR_RESET, out);
	ctl_table_destroy(&t);
	return 0;
}

static void print_pods(const struct ctl_fleet *f, FILE *out)
{
	const json_t *pods = json_object_get(f->body, "pods");
	int shown = 0;
	fputc('\n', out);
	label(out, "PODS");
	for (int i = 0; i < CTL_POD_BUCKETS; i++) {
		const json_t *v = json_object_get(pods, ctl_pod_names[i]);
		long long c = json_is_integer(v) ? (long long)json_integer_value(v) : 0;
		if (c <= 0)
			continue;
		fprintf(out, "%s%s %lld", shown++ ? "   " : "", ctl_pod_names[i], c);
	}
	fputs(shown ? "\n" : "none reported\n", out);
}

static double num(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static void print_links(const struct ctl_fleet *f, FILE *out)
{
	const json_t *links = json_object_get(f->body, "links");
	char p50[24], p99[24], loss[24];
	ctl_fmt_us(num(links, "rtt_p50_us"), p50, sizeof(p50));
	ctl_fmt_us(num(links, "rtt_p99_us"), p99, sizeof(p99));
	ctl_fmt_pm(num(links, "loss_pm"), loss, sizeof(loss));
	const json_t *rep = json_object_get(links, "reporting");
	label(out, "LINKS");
	fprintf(out, "%lld reporting   rtt p50 %s   rtt p99 %s   loss %s\n",
	        json_is_integer(rep) ? (long long)json_integer_value(rep) : 0LL, p50, p99, loss);
	const json_t *worst = json_object_get(links, "worst");
	for (size_t i = 0; i < json_array_size(worst) && i < LINKS_SHOWN; i++) {
		const json_t *w = json_array_get(worst, i);
		ctl_fmt_us(num(w, "rtt_p99_us"), p99, sizeof(p99));
		ctl_fmt_pm(num(w, "loss_pm"), loss, sizeof(loss));
		label(out, "");
		fputs(i == 0 ? "worst " : "      ", out);
		put_safe(out, json_string_value(json_object_get(w, "name")));
		fprintf(out, ": loss %s   rtt p99 %s   reached %.0f/%.0f\n", loss, p99,
		        num(w, "reached"), num(w, "probed"));
	}
}

static void print_alerts(const struct ctl_fleet *f, const struct ctl_style *st, FILE *out)
{
	const json_t *alerts = json_object_get(f->body, "alerts");
	label(out, "ALERTS");
	if (json_array_size(alerts) == 0) {
		fputs("none firing\n", out);
		return;
	}
	for (size_t i = 0; i < json_array_size(alerts); i++) {
		const json_t *a = json_array_get(alerts, i);
		const json_t *sites = json_object_get(a, "sites");
		size_t n = json_array_size(sites);
		if (i > 0)
			label(out, "");
		if (st->color)
			fputs(COLOR_RED, out);
		put_safe(out, json_string_value(json_object_get(a, "name")));
		if (st->color)
			fputs(COLOR_RESET, out);
		fprintf(out, " (%zu site%s):", n, n == 1 ? "" : "s");
		for (size_t k = 0; k < n && k < ALERT_SITES; k++) {
			fputs(k ? ", " : " ", out);
			put_safe(out, json_string_value(json_array_get(sites, k)));
		}
		if (n > ALERT_SITES)
			fprintf(out, ", and %zu more", n - ALERT_SITES);
		fputc('\n', out);
	}
}

static void print_policy(const struct ctl_fleet *f, FILE *out)
{
	const json_t *policy = json_object_get(f->body, "policy");
	if (!json_is_object(policy) || json_object_size(policy) == 0)
		return;
	label(out, "POLICY");
	const char *k;
	const json_t *v;
	int i = 0;
	json_object_foreach((json_t *)policy, k, v)
	{
		fputs(i++ ? "   " : "", out);
		put_safe(out, k);
		fprintf(out, " %lld", json_is_integer(v) ? (long long)json_integer_value(v) : 0LL);
	}
	fputc('\n', out);
}

int ctl_status_print(const struct ctl_fleet *f, const struct ctl_style *st, FILE *out)
{
	print_header(f, out);
	if (f->total == 0) {
		fputs("no site matches\n", out);
		return 0;
	}
	print_bands(f, st, out);
	print_dist("CPU", &f->cpu, out);
	print_dist("MEMORY", &f->memory, out);
	print_dist("DISK", &f->disk, out);
	if (print_worst(f, out) != 0 || print_intents(f, st, out) != 0)
		return -ENOMEM;
	print_pods(f, out);
	print_links(f, out);
	print_alerts(f, st, out);
	print_policy(f, out);
	return 0;
}

static bool want_color(void)
{
	const char *no = getenv("NO_COLOR");
	const char *term = getenv("TERM");
	if (no != NULL && no[0] != '\0')
		return false;
	if (term != NULL && strcmp(term, "dumb") == 0)
		return false;
	return isatty(STDOUT_FILENO) == 1;
}

static int status_run(struct ctl_opts *o, int argc, char **argv)
{
	const struct ctl_command *cmd = &ctl_status_command;
	const char *selector = NULL;
	if (ctl_take_flag(&argc, argv, "--selector", "-l", &selector) < 0)
		return ctl_usage_error(cmd, "-l needs a SELECTOR");
	int rc = ctl_opts_parse(o, argc, argv, 1, CTL_FLAG_NODE | CTL_FLAG_OUTPUT, cmd);
	if (rc != 0)
		return rc;
	if (o->help) {
		fputs(cmd->usage, stdout);
		return CTL_EXIT_OK;
	}
	if (o->nargs != 0)
		return ctl_usage_error(cmd, "status takes no arguments (use -l SELECTOR)");

	json_t *body;
	struct ctl_http_resp raw;
	char extra[32];
	snprintf(extra, sizeof(extra), "&worst=%d", WORST_SHOWN);
	rc = ctl_fleet_get(o, "/v1/fleet", selector, extra, &body, &raw);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (o->output == CTL_OUT_JSON) {
		ctl_api_print_raw(&raw, stdout);
	} else {
		struct ctl_fleet f;
		char err[128];
		struct ctl_style st = {.color = want_color()};
		if (ctl_fleet_parse(body, &f, err, sizeof(err)) != 0)
			rc = ctl_fail("node %s: %s", o->node, err);
		else if (ctl_status_print(&f, &st, stdout) != 0)
			rc = ctl_fail("out of memory");
		ctl_fleet_free(&f);
	}
	ctl_http_resp_free(&raw);
	json_decref(body);
	return rc;
}
