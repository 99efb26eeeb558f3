/*
 * ctl_top.c - `shoalctl top sites`: every site's figures in one table,
 * sorted by what the operator is hunting for.
 *
 *   NAME STATE VIEW BAND SCORE CPU% MEM% DISK% LOSS RTT99 INTENTS AGE
 *
 * from GET /v1/fleet/sites, taken in pages of --chunk-size sites, 1,000 by
 * default (a node answers each quickly, where one answer of a large fleet
 * holds it for longer; kubectl's --chunk-size does the same). The
 * default order is the fleet's "worst" order
 * (sites the node cannot vouch for first, then by ascending score); usage
 * and loss sort highest first. Ties go by name, so the same answer always
 * prints the same table. -o json is the node's answer with its "sites" in
 * the chosen order and cut to --limit.
 */
#include "ctl.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_api.h"
#include "ctl_fleet.h"
#include "ctl_format.h"
#include "ctl_table.h"

static int top_run(struct ctl_opts *o, int argc, char **argv);

const struct ctl_command ctl_top_command = {
        .name = "top",
        .summary = "sites sorted by score, usage or loss",
        .usage = "usage: shoalctl top sites [-l SELECTOR] [--sort score|cpu|mem|disk|loss|name]\n"
                 "                          [--limit N] [--chunk-size N] [--node HOST:PORT]\n"
                 "                          [-o table|json]\n"
                 "\n"
                 "One row per site: NAME STATE VIEW BAND SCORE CPU% MEM% DISK% LOSS RTT99\n"
                 "INTENTS AGE. STATE is membership's, VIEW the node's view of the site's\n"
                 "health record (fresh, stale, unreachable, unknown), LOSS and RTT99 the\n"
                 "site's probes of its peers, INTENTS its intents by state, AGE the time\n"
                 "since its record arrived. --sort score (the default) lists the sites the\n"
                 "node cannot vouch for first, then the lowest scores; cpu, mem, disk and\n"
                 "loss list the highest first; name is alphabetical. The list is taken\n"
                 "in pages of --chunk-size sites (default 1000, at most 5000; 0: in one\n"
                 "request).\n",
        .run = top_run,
};

/* --limit beyond this is surely a typo; the table cap is far above. */
#define LIMIT_MAX 1000000L

static const char *const sort_names[] = {
        [CTL_SORT_SCORE] = "score", [CTL_SORT_CPU] = "cpu",   [CTL_SORT_MEM] = "mem",
        [CTL_SORT_DISK] = "disk",   [CTL_SORT_LOSS] = "loss", [CTL_SORT_NAME] = "name",
};

int ctl_sort_key_parse(const char *text, enum ctl_sort_key *key)
{
	for (size_t i = 0; i < sizeof(sort_names) / sizeof(sort_names[0]); i++) {
		if (strcmp(text, sort_names[i]) == 0) {
			*key = (enum ctl_sort_key)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* The worst order of /v1/fleet: unreachable, stale, unknown, then fresh. */
static int view_rank(const char *view)
{
	static const char *const order[] = {"unreachable", "stale", "unknown", "fresh"};
	for (int i = 0; i < 4; i++)
		if (view != NULL && strcmp(view, order[i]) == 0)
			return i;
	return 4;
}

/* Highest first, no figure last. */
static int cmp_desc(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) - isnan(b);
	return a > b ? -1 : a < b;
}

static int by_name(const struct ctl_site_row *a, const struct ctl_site_row *b)
{
	return strcmp(a->name, b->name);
}

static int cmp_score(const void *pa, const void *pb)
{
	const struct ctl_site_row *a = pa, *b = pb;
	int c = view_rank(a->view) - view_rank(b->view);
	if (c == 0)
		c = -cmp_desc(a->score, b->score); /* lowest first, no score before any */
	return c != 0 ? c : by_name(a, b);
}

#define DESC_CMP(fn, field)                                                                        \
	static int fn(const void *pa, const void *pb)                                              \
	{                                                                                          \
		const struct ctl_site_row *a = pa, *b = pb;                                        \
		int c = cmp_desc(a->field, b->field);                                              \
		return c != 0 ? c : by_name(a, b);                                                 \
	}
DESC_CMP(cmp_cpu, cpu)
DESC_CMP(cmp_mem, mem)
DESC_CMP(cmp_disk, disk)
DESC_CMP(cmp_loss, loss_pm)

static int cmp_name(const void *pa, const void *pb)
{
	return by_name(pa, pb);
}

void ctl_sites_sort(struct ctl_site_row *rows, size_t n, enum ctl_sort_key key)
{
	int (*cmp)(const void *, const void *) = cmp_score;
	switch (key) {
	case CTL_SORT_SCORE:
		break;
	case CTL_SORT_CPU:
		cmp = cmp_cpu;
		break;
	case CTL_SORT_MEM:
		cmp = cmp_mem;
		break;
	case CTL_SORT_DISK:
		cmp = cmp_disk;
		break;
	case CTL_SORT_LOSS:
		cmp = cmp_loss;
		break;
	case CTL_SORT_NAME:
		cmp = cmp_name;
		break;
	}
	if (n > 1)
		qsort(rows, n, sizeof(*rows), cmp);
}

/* The site's intents by state, "ready=2,applying=1", in the vocabulary's
 * order; "" for none. */
static void intents_text(const json_t *counts, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (int s = 0; s < CTL_IS_COUNT; s++) {
		const json_t *v = json_object_get(counts, ctl_istate_names[s]);
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			continue;
		int w = snprintf(out + n, cap - n, "%s%s=%lld", n ? "," : "", ctl_istate_names[s],
		                 (long long)json_integer_value(v));
		if (w < 0 || (size_t)w >= cap - n)
			return;
		n += (size_t)w;
	}
}

static void fixed1(double v, char *out, size_t cap)
{
	if (isnan(v))
		snprintf(out, cap, "-");
	else
		snprintf(out, cap, "%.1f", v);
}

int ctl_sites_print(const struct ctl_site_row *rows, size_t n, size_t limit, FILE *out)
{
	static const char *const headers[12] = {"NAME", "STATE", "VIEW", "BAND",  "SCORE",   "CPU%",
	                                        "MEM%", "DISK%", "LOSS", "RTT99", "INTENTS", "AGE"};
	struct ctl_table t;
	if (ctl_table_create(&t, 12, headers) != 0)
		return -ENOMEM;
	if (limit == 0 || limit > n)
		limit = n;
	for (size_t i = 0; i < limit; i++) {
		const struct ctl_site_row *r = &rows[i];
		char score[24], cpu[24], mem[24], disk[24], loss[24], rtt[24], intents[256];
		char age[CTL_AGE_LEN] = "-";
		if (isnan(r->score))
			snprintf(score, sizeof(score), "-");
		else
			snprintf(score, sizeof(score), "%.0f", r->score);
		fixed1(r->cpu, cpu, sizeof(cpu));
		fixed1(r->mem, mem, sizeof(mem));
		fixed1(r->disk, disk, sizeof(disk));
		ctl_fmt_pm(r->loss_pm, loss, sizeof(loss));
		ctl_fmt_us(r->rtt_p99_us, rtt, sizeof(rtt));
		intents_text(json_object_get(r->site, "intents"), intents, sizeof(intents));
		if (!isnan(r->age_s) && r->age_s < 1e12)
			ctl_format_age((int64_t)r->age_s, age);
		const char *row[12] = {r->name, r->state, r->view, r->band, score,   cpu,
		                       mem,     disk,     loss,    rtt,     intents, age};
		if (ctl_table_add_row(&t, row) != 0) {
			ctl_table_destroy(&t);
			return -ENOMEM;
		}
	}
	ctl_table_print(&t, out);
	ctl_table_destroy(&t);
	return 0;
}

/* -o json: the answer with "sites" replaced by the sorted, limited list. */
static int print_json(json_t *body, const struct ctl_site_row *rows, size_t n, size_t limit)
{
	json_t *copy = json_copy(body); /* shallow: the site objects are shared */
	json_t *list = json_array();
	if (copy == NULL || list == NULL) {
		json_decref(copy);
		json_decref(list);
		return ctl_fail("out of memory");
	}
	if (limit == 0 || limit > n)
		limit = n;
	for (size_t i = 0; i < limit; i++)
		json_array_append(list, (json_t *)rows[i].site);
	json_object_set_new(copy, "sites", list);
	int rc = json_dumpf(copy, stdout, JSON_COMPACT | JSON_REAL_PRECISION(15)) == 0
	                 ? CTL_EXIT_OK
	                 : ctl_fail("cannot write output");
	fputc('\n', stdout);
	json_decref(copy);
	return rc;
}

static int top_run(struct ctl_opts *o, int argc, char **argv)
{
	const struct ctl_command *cmd = &ctl_top_command;
	const char *selector = NULL, *sort = NULL, *limit_text = NULL, *chunk_text = NULL;
	if (ctl_take_flag(&argc, argv, "--selector", "-l", &selector) < 0 ||
	    ctl_take_flag(&argc, argv, "--sort", NULL, &sort) < 0 ||
	    ctl_take_flag(&argc, argv, "--limit", NULL, &limit_text) < 0 ||
	    ctl_take_flag(&argc, argv, "--chunk-size", NULL, &chunk_text) < 0)
		return ctl_usage_error(cmd, "a flag is missing its value");
	int rc = ctl_opts_parse(o, argc, argv, 1, CTL_FLAG_NODE | CTL_FLAG_OUTPUT, cmd);
	if (rc != 0)
		return rc;
	if (o->help) {
		fputs(cmd->usage, stdout);
		return CTL_EXIT_OK;
	}
	if (o->nargs != 1 || strcmp(o->args[0], "sites") != 0)
		return ctl_usage_error(cmd, "expected 'top sites'");
	enum ctl_sort_key key = CTL_SORT_SCORE;
	if (sort != NULL && ctl_sort_key_parse(sort, &key) != 0)
		return ctl_usage_error(
		        cmd, "--sort %s: expected score, cpu, mem, disk, loss or name", sort);
	size_t limit = 0;
	if (limit_text != NULL) {
		char *end = NULL;
		errno = 0;
		long v = strtol(limit_text, &end, 10);
		if (errno != 0 || end == limit_text || *end != '\0' || v < 1 || v > LIMIT_MAX)
			return ctl_usage_error(cmd, "--limit %s: expected a count of 1 or more",
			                       limit_text);
		limit = (size_t)v;
	}
	size_t chunk = CTL_CHUNK_DEFAULT;
	if (chunk_text != NULL) {
		char *end = NULL;
		errno = 0;
		long v = strtol(chunk_text, &end, 10);
		if (errno != 0 || end == chunk_text || *end != '\0' || v < 0 || v > CTL_CHUNK_MAX)
			return ctl_usage_error(cmd, "--chunk-size %s: expected 0 to %d", chunk_text,
			                       CTL_CHUNK_MAX);
		chunk = (size_t)v;
	}

	json_t *body;
	rc = ctl_sites_get(o, selector, chunk, &body);
	if (rc != CTL_EXIT_OK)
		return rc;
	struct ctl_site_row *rows = NULL;
	size_t n = 0;
	char err[128];
	if (ctl_sites_parse(body, &rows, &n, err, sizeof(err)) != 0) {
		rc = ctl_fail("node %s: %s", o->node, err);
	} else {
		ctl_sites_sort(rows, n, key);
		if (o->output == CTL_OUT_JSON)
			rc = print_json(body, rows, n, limit);
		else if (ctl_sites_print(rows, n, limit, stdout) != 0)
			rc = ctl_fail("out of memory building the table");
	}
	free(rows);
	json_decref(body);
	return rc;
}
