/*
 * shoalctl_main.c - the operator's CLI: dispatch to one command per file.
 *
 *   shoalctl [--node HOST:PORT] [-o table|json] COMMAND [ARGS...]
 *
 * This file only finds the command and runs it; each command is a
 * `struct ctl_command` in its own ctl_<name>.c (see ctl.h). `help` and
 * `version` live here because they are about shoalctl itself.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_http.h"

static int help_run(struct ctl_opts *o, int argc, char **argv);
static int version_run(struct ctl_opts *o, int argc, char **argv);

static const struct ctl_command help_command = {
        .name = "help",
        .summary = "show the commands, or one command's usage",
        .usage = "usage: shoalctl help [COMMAND]\n",
        .run = help_run,
};

static const struct ctl_command version_command = {
        .name = "version",
        .summary = "print shoalctl's version",
        .usage = "usage: shoalctl version\n",
        .run = version_run,
};

/* Every command, in the order `help` lists them. A new command is a new
 * ctl_<name>.c exporting its struct, declared in ctl.h, and one line here. */
static const struct ctl_command *const commands[] = {
        &ctl_status_command, &ctl_top_command,   &ctl_wait_command,    &ctl_members_command,
        &ctl_get_command,    &ctl_apply_command, &ctl_delete_command,  &ctl_sign_command,
        &ctl_keygen_command, &ctl_key_command,   &ctl_keyring_command, &version_command,
        &help_command,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct ctl_command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static void print_overview(FILE *out)
{
	fputs("usage: shoalctl [--node HOST:PORT] [-o table|json] COMMAND [ARGS...]\n"
	      "\n"
	      "Talks to one shoald's HTTP API; any node answers for the whole mesh.\n"
	      "\n"
	      "commands:\n",
	      out);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fputs("\n"
	      "flags:\n"
	      "  --node HOST:PORT   node to ask (default $SHOAL_NODE, else " CTL_DEFAULT_NODE ")\n"
	      "  --timeout MS       give up on the node after MS milliseconds (default 10000)\n"
	      "  -o table|json      output format where a command prints data\n"
	      "\n"
	      "exit status: 0 ok, 1 the operation failed, 2 bad command line\n"
	      "'shoalctl help COMMAND' shows one command's usage.\n",
	      out);
}

static int help_run(struct ctl_opts *o, int argc, char **argv)
{
	int rc = ctl_opts_parse(o, argc, argv, 1, 0, &help_command);
	if (rc != 0)
		return rc;
	if (o->nargs == 0) {
		print_overview(stdout);
		return CTL_EXIT_OK;
	}
	const struct ctl_command *c = find_command(o->args[0]);
	if (c == NULL || o->nargs > 1)
		return ctl_usage_error(NULL, "no command '%s'", o->args[0]);
	fputs(c->usage, stdout);
	return CTL_EXIT_OK;
}

static int version_run(struct ctl_opts *o, int argc, char **argv)
{
	int rc = ctl_opts_parse(o, argc, argv, 1, 0, &version_command);
	if (rc != 0)
		return rc;
	if (o->help) {
		fputs(version_command.usage, stdout);
		return CTL_EXIT_OK;
	}
	if (o->nargs > 0)
		return ctl_usage_error(&version_command, "version takes no arguments");
	printf("shoalctl %s\n", SHOAL_VERSION);
	return CTL_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct ctl_opts o;
	int rc = ctl_opts_init(&o);
	if (rc != 0)
		return rc;
	int first = ctl_opts_parse_global(&o, argc, argv);
	if (first < 0)
		return -first;
	if (first >= argc) {
		if (o.help) {
			print_overview(stdout);
			return CTL_EXIT_OK;
		}
		print_overview(stderr);
		return CTL_EXIT_USAGE;
	}
	const struct ctl_command *cmd = find_command(argv[first]);
	if (cmd == NULL)
		return ctl_usage_error(NULL, "unknown command '%s'", argv[first]);
	if (ctl_http_global_init() != 0)
		return ctl_fail("cannot initialise libcurl");
	rc = cmd->run(&o, argc - first, argv + first);
	ctl_http_global_cleanup();
	if (fflush(stdout) != 0 && rc == CTL_EXIT_OK)
		rc = ctl_fail("cannot write output");
	return rc;
}
