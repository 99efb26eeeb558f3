/*
 * ctl_members.c - `shoalctl members`: the mesh as one node sees it.
 *
 * -o json prints GET /v1/members exactly as the node sent it, so scripts get
 * the API contract (docs/api.md) and nothing shoalctl invented. The table is
 * for people: NAME ADDRESS STATE INC LABELS AGE, sorted by name, AGE being
 * the time since the member entered its current state (the API's "since").
 * Cells never contain spaces (empty ones print "-"), so `awk '$3 == "alive"'`
 * works on the table; the asked node is therefore not marked in it (-o json
 * has "self").
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "ctl_api.h"
#include "ctl_format.h"
#include "ctl_table.h"

static int members_run(struct ctl_opts *o, int argc, char **argv);

const struct ctl_command ctl_members_command = {
        .name = "members",
        .summary = "list the members of the mesh as a node sees them",
        .usage = "usage: shoalctl members [--node HOST:PORT] [-o table|json]\n"
                 "\n"
                 "Lists every member the node knows: NAME ADDRESS STATE INC LABELS AGE.\n"
                 "STATE is alive, suspect, dead or left; INC the member's incarnation;\n"
                 "AGE the time since it entered that state.\n"
                 "-o json prints the node's GET /v1/members answer verbatim.\n"
                 "The node is --node, else $SHOAL_NODE, else " CTL_DEFAULT_NODE ".\n",
        .run = members_run,
};

static int64_t wall_now_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* One member object as a table row. Missing fields print as "-": an older or
 * newer node may not send everything, and a partial table beats none. */
static int add_member_row(struct ctl_table *t, const json_t *m, int64_t now_us)
{
	char inc[24], labels[1024], age[CTL_AGE_LEN];

	json_t *ji = json_object_get(m, "incarnation");
	if (json_is_integer(ji))
		snprintf(inc, sizeof(inc), "%lld", (long long)json_integer_value(ji));
	else
		snprintf(inc, sizeof(inc), "-");

	/* A label list that does not fit keeps its prefix; -o json has it all. */
	ctl_format_labels(json_object_get(m, "labels"), labels, sizeof(labels));

	int64_t since_us;
	const char *since = json_string_value(json_object_get(m, "since"));
	if (since != NULL && ctl_rfc3339_parse(since, &since_us) == 0)
		ctl_format_age((now_us - since_us) / 1000000, age);
	else
		snprintf(age, sizeof(age), "-");

	const char *row[6] = {
	        json_string_value(json_object_get(m, "name")),
	        json_string_value(json_object_get(m, "address")),
	        json_string_value(json_object_get(m, "state")),
	        inc,
	        labels,
	        age,
	};
	return ctl_table_add_row(t, row);
}

static int print_table(const json_t *body)
{
	static const char *const headers[6] = {"NAME", "ADDRESS", "STATE", "INC", "LABELS", "AGE"};
	const json_t *list = json_object_get(body, "members");
	if (!json_is_array(list))
		return ctl_fail("the node's answer has no \"members\" list");

	struct ctl_table t;
	if (ctl_table_create(&t, 6, headers) != 0)
		return ctl_fail("out of memory");
	int64_t now_us = wall_now_us();
	size_t i;
	const json_t *m;
	json_array_foreach(list, i, m)
	{
		if (!json_is_object(m))
			continue;
		if (add_member_row(&t, m, now_us) != 0) {
			ctl_table_destroy(&t);
			return ctl_fail("out of memory building the table");
		}
	}
	ctl_table_sort(&t, 0);
	ctl_table_print(&t, stdout);
	ctl_table_destroy(&t);
	return CTL_EXIT_OK;
}

static int members_run(struct ctl_opts *o, int argc, char **argv)
{
	const struct ctl_command *cmd = &ctl_members_command;
	int rc = ctl_opts_parse(o, argc, argv, 1, CTL_FLAG_NODE | CTL_FLAG_OUTPUT, cmd);
	if (rc != 0)
		return rc;
	if (o->help) {
		fputs(cmd->usage, stdout);
		return CTL_EXIT_OK;
	}
	if (o->nargs > 0)
		return ctl_usage_error(cmd, "members takes no arguments (got '%s')", o->args[0]);

	json_t *body;
	struct ctl_http_resp raw;
	rc = ctl_api_call(o, "GET", "/v1/members", NULL, &body, &raw);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (o->output == CTL_OUT_JSON)
		ctl_api_print_raw(&raw, stdout);
	else
		rc = print_table(body);
	json_decref(body);
	ctl_http_resp_free(&raw);
	return rc;
}
