/*
 * ctl_get.c - `shoalctl get intents [KIND/NAME] [-o table|json|yaml]`.
 *
 * The table is for people (KIND NAME VERSION STATUS TARGET FROM AGE); json
 * is the node's answer verbatim; yaml is the same data as YAML, written
 * with JSON's quoting for scalars (valid YAML, and never ambiguous).
 */
#include "ctl.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "ctl_api.h"
#include "ctl_format.h"
#include "ctl_table.h"

static int get_run(struct ctl_opts *o, int argc, char **argv);

const struct ctl_command ctl_get_command = {
        .name = "get",
        .summary = "list intents or sites",
        .usage = "usage: shoalctl get intents [KIND/NAME] [--node HOST:PORT] "
                 "[-o table|json|yaml]\n"
                 "       shoalctl get sites [-l SELECTOR | --virtual-site NAME] "
                 "[--node HOST:PORT] [-o table|json]\n"
                 "\n"
                 "get sites lists the live sites (alive or suspect members) whose labels\n"
                 "match the selector (all of them without one), or the sites a VirtualSite\n"
                 "intent's selector matches: NAME ADDRESS STATE LABELS.\n"
                 "\n"
                 "Lists the intents the node holds: KIND NAME VERSION STATUS TARGET FROM AGE.\n"
                 "STATUS is effective, deleted, revoked or unauthorized. With KIND/NAME,\n"
                 "shows that intent with its spec (table output is YAML then).\n",
        .run = get_run,
};

static void yaml_indent(int n)
{
	for (int i = 0; i < n; i++)
		fputs("  ", stdout);
}

static void yaml_scalar(const json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY);
	fputs(s != NULL ? s : "null", stdout);
	free(s);
}

static void yaml_value(const json_t *v, int depth);

static void yaml_object(const json_t *obj, int depth)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v)
	{
		yaml_indent(depth);
		json_t *key = json_string(k);
		yaml_scalar(key);
		json_decref(key);
		fputc(':', stdout);
		if ((json_is_object(v) && json_object_size(v) > 0) ||
		    (json_is_array(v) && json_array_size(v) > 0)) {
			fputc('\n', stdout);
			yaml_value(v, depth + 1);
		} else {
			fputc(' ', stdout);
			if (json_is_object(v))
				fputs("{}", stdout);
			else if (json_is_array(v))
				fputs("[]", stdout);
			else
				yaml_scalar(v);
			fputc('\n', stdout);
		}
	}
}

static void yaml_value(const json_t *v, int depth)
{
	if (json_is_object(v)) {
		yaml_object(v, depth);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			yaml_indent(depth);
			fputs("-", stdout);
			if (json_is_object(e) && json_object_size(e) > 0) {
				fputc('\n', stdout);
				yaml_object(e, depth + 1);
			} else {
				fputc(' ', stdout);
				yaml_scalar(e);
				fputc('\n', stdout);
			}
		}
	} else {
		yaml_indent(depth);
		yaml_scalar(v);
		fputc('\n', stdout);
	}
}

static void target_text(const json_t *t, char *out, size_t cap)
{
	const char *v;
	if ((v = json_string_value(json_object_get(t, "selector"))) != NULL)
		snprintf(out, cap, "selector:%s", v);
	else if ((v = json_string_value(json_object_get(t, "virtual_site"))) != NULL)
		snprintf(out, cap, "site:%s", v);
	else
		snprintf(out, cap, "-");
}

static int print_table(const json_t *body)
{
	static const char *const headers[7] = {"KIND",   "NAME", "VERSION", "STATUS",
	                                       "TARGET", "FROM", "AGE"};
	const json_t *items = json_object_get(body, "intents");
	struct ctl_table t;
	struct timeval tv;
	if (!json_is_array(items))
		return ctl_fail("the node's answer has no \"intents\" list");
	if (ctl_table_create(&t, 7, headers) != 0)
		return ctl_fail("out of memory");
	gettimeofday(&tv, NULL);
	size_t i;
	const json_t *it;
	json_array_foreach(items, i, it)
	{
		char version[24], target[256], age[CTL_AGE_LEN] = "-";
		int64_t at;
		snprintf(version, sizeof(version), "%lld",
		         (long long)json_integer_value(json_object_get(it, "version")));
		target_text(json_object_get(it, "target"), target, sizeof(target));
		const char *ra = json_string_value(json_object_get(it, "received_at"));
		if (ra != NULL && ctl_rfc3339_parse(ra, &at) == 0)
			ctl_format_age(tv.tv_sec - at / 1000000, age);
		const char *row[7] = {json_string_value(json_object_get(it, "kind")),
		                      json_string_value(json_object_get(it, "name")),
		                      version,
		                      json_string_value(json_object_get(it, "status")),
		                      target,
		                      json_string_value(json_object_get(it, "received_from")),
		                      age};
		if (ctl_table_add_row(&t, row) != 0) {
			ctl_table_destroy(&t);
			return ctl_fail("out of memory building the table");
		}
	}
	ctl_table_print(&t, stdout);
	ctl_table_destroy(&t);
	return CTL_EXIT_OK;
}

static int get_run(struct ctl_opts *o, int argc, char **argv)
{
	const struct ctl_command *cmd = &ctl_get_command;
	/* The first word that is neither a flag nor a flag's value says what
	 * to get. */
	static const char *const with_value[] = {
	        "--node", "--timeout", "-o", "--output", "-l", "--selector", "--virtual-site"};
	for (int i = 1; i < argc; i++) {
		bool takes = false;
		for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
			takes = takes || strcmp(argv[i], with_value[k]) == 0;
		if (takes) {
			i++;
			continue;
		}
		if (argv[i][0] == '-')
			continue;
		if (strcmp(argv[i], "sites") == 0)
			return ctl_get_sites(o, argc, argv, cmd);
		break;
	}
	int rc = ctl_opts_parse(o, argc, argv, 1, CTL_FLAG_NODE | CTL_FLAG_OUTPUT | CTL_FLAG_YAML,
	                        cmd);
	if (rc != 0)
		return rc;
	if (o->help) {
		fputs(cmd->usage, stdout);
		return CTL_EXIT_OK;
	}
	if (o->nargs < 1 || o->nargs > 2 || strcmp(o->args[0], "intents") != 0)
		return ctl_usage_error(cmd, "expected 'get intents [KIND/NAME]' or 'get sites'");
	char path[512];
	if (o->nargs == 2) {
		if (strchr(o->args[1], '/') == NULL || strlen(o->args[1]) > 300)
			return ctl_usage_error(cmd, "expected KIND/NAME, got '%s'", o->args[1]);
		snprintf(path, sizeof(path), "/v1/intents/%s", o->args[1]);
	} else {
		snprintf(path, sizeof(path), "/v1/intents");
	}
	json_t *body;
	struct ctl_http_resp raw;
	rc = ctl_api_call(o, "GET", path, NULL, &body, &raw);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (o->output == CTL_OUT_JSON)
		ctl_api_print_raw(&raw, stdout);
	else if (o->output == CTL_OUT_YAML || o->nargs == 2)
		yaml_value(o->nargs == 2 ? body : json_object_get(body, "intents"), 0);
	else
		rc = print_table(body);
	ctl_http_resp_free(&raw);
	json_decref(body);
	return rc;
}
