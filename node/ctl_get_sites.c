/*
 * ctl_get_sites.c - `shoalctl get sites [-l SELECTOR | --virtual-site NAME]`:
 * the sites a selector or a virtual site stands for, as one node sees the
 * mesh (every node holding the same membership answers the same).
 *
 * The table is NAME ADDRESS STATE LABELS sorted by name; -o json is the
 * node's answer verbatim (GET /v1/sites or /v1/virtual-sites/NAME).
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#include "ctl_api.h"
#include "ctl_format.h"
#include "ctl_table.h"

static int print_table(const json_t *body)
{
	static const char *const headers[4] = {"NAME", "ADDRESS", "STATE", "LABELS"};
	const json_t *list = json_object_get(body, "sites");
	struct ctl_table t;
	if (!json_is_array(list))
		return ctl_fail("the node's answer has no \"sites\" list");
	if (ctl_table_create(&t, 4, headers) != 0)
		return ctl_fail("out of memory");
	size_t i;
	const json_t *s;
	json_array_foreach(list, i, s)
	{
		char labels[1024];
		ctl_format_labels(json_object_get(s, "labels"), labels, sizeof(labels));
		const char *row[4] = {json_string_value(json_object_get(s, "name")),
		                      json_string_value(json_object_get(s, "address")),
		                      json_string_value(json_object_get(s, "state")), labels};
		if (ctl_table_add_row(&t, row) != 0) {
			ctl_table_destroy(&t);
			return ctl_fail("out of memory building the table");
		}
	}
	ctl_table_sort(&t, 0);
	ctl_table_print(&t, stdout);
	ctl_table_destroy(&t);
	return CTL_EXIT_OK;
}

int ctl_get_sites(struct ctl_opts *o, int argc, char **argv, const struct ctl_command *cmd)
{
	const char *selector = NULL, *vsite = NULL;
	if (ctl_take_flag(&argc, argv, "--selector", "-l", &selector) < 0 ||
	    ctl_take_flag(&argc, argv, "--virtual-site", NULL, &vsite) < 0)
		return ctl_usage_error(cmd, "a flag is missing its value");
	int rc = ctl_opts_parse(o, argc, argv, 1, CTL_FLAG_NODE | CTL_FLAG_OUTPUT, cmd);
	if (rc != 0)
		return rc;
	if (o->help) {
		fputs(cmd->usage, stdout);
		return CTL_EXIT_OK;
	}
	if (o->nargs != 1)
		return ctl_usage_error(cmd,
		                       "'get sites' takes no names (use -l or --virtual-site)");
	if (selector != NULL && vsite != NULL)
		return ctl_usage_error(cmd, "give -l SELECTOR or --virtual-site NAME, not both");

	char enc[3 * 4096 + 1], path[sizeof(enc) + 64];
	if (ctl_url_encode(vsite != NULL      ? vsite
	                   : selector != NULL ? selector
	                                      : "",
	                   enc, sizeof(enc)) != 0)
		return ctl_usage_error(cmd, "selector or name too long");
	if (vsite != NULL)
		snprintf(path, sizeof(path), "/v1/virtual-sites/%s", enc);
	else
		snprintf(path, sizeof(path), "/v1/sites?selector=%s", enc);

	json_t *body;
	struct ctl_http_resp raw;
	rc = ctl_api_call(o, "GET", path, NULL, &body, &raw);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (o->output == CTL_OUT_JSON)
		ctl_api_print_raw(&raw, stdout);
	else
		rc = print_table(body);
	ctl_http_resp_free(&raw);
	json_decref(body);
	return rc;
}
