/*
 * ctl.h - how shoalctl is put together: a table of commands, one file each.
 *
 * shoalctl_main.c holds only the dispatcher and a table of pointers to
 * `struct ctl_command`. Every command lives in its own ctl_<name>.c and
 * exports one such struct, so a new command (keygen, sign, apply, get,
 * status, wait) is a new file plus one line in the table; nothing else
 * changes. Commands share the option parser below, the HTTP client
 * (ctl_http.h), the API call wrapper (ctl_api.h) and the table printer
 * (ctl_table.h).
 *
 * Exit codes are a contract scripts rely on (git/kubectl style):
 *   0  success
 *   1  the operation failed: node unreachable, API error, bad answer
 *   2  the command line was wrong; nothing was sent anywhere
 *
 * Thread-safety: shoalctl is single-threaded; none of this is shared.
 */
#ifndef SHOAL_NODE_CTL_H
#define SHOAL_NODE_CTL_H

#include <stdio.h>

#ifndef SHOAL_VERSION
#define SHOAL_VERSION "0.1.0-dev"
#endif

#define CTL_EXIT_OK    0
#define CTL_EXIT_FAIL  1
#define CTL_EXIT_USAGE 2

/* The node asked when neither --node nor $SHOAL_NODE says otherwise. */
#define CTL_DEFAULT_NODE "127.0.0.1:7680"
#define CTL_DEFAULT_PORT "7680"
/* A whole request, connect included; a node that takes longer is treated as
 * unreachable rather than hanging a script. */
#define CTL_DEFAULT_TIMEOUT_MS 10000
/* HOST:PORT text, bracketed IPv6 included; longer is refused. */
#define CTL_NODE_MAX 256
/* Positional arguments one command may take. */
#define CTL_ARGS_MAX 8

enum ctl_output {
	CTL_OUT_TABLE = 0, /* aligned columns for people */
	CTL_OUT_JSON = 1,  /* the API's JSON body as received, for scripts */
	CTL_OUT_YAML = 2,  /* the same data as YAML (commands with CTL_FLAG_YAML) */
};

/* Which shared flags a command accepts; others are usage errors. */
#define CTL_FLAG_NODE   0x1u /* --node HOST:PORT, --timeout MS */
#define CTL_FLAG_OUTPUT 0x2u /* -o/--output table|json */
#define CTL_FLAG_YAML   0x4u /* -o yaml as well */

struct ctl_opts {
	char node[CTL_NODE_MAX];  /* normalised HOST:PORT of the node to ask */
	enum ctl_output output;   /* how results are printed */
	long timeout_ms;          /* whole-request timeout */
	int help;                 /* --help/-h was given */
	char *args[CTL_ARGS_MAX]; /* positional arguments, pointing into argv */
	int nargs;                /* how many of args are set */
};

struct ctl_command {
	const char *name;    /* word on the command line */
	const char *summary; /* one line for `shoalctl help` */
	const char *usage;   /* full usage text, printed by `help NAME` and on errors */
	/* Run the command. argv[0] is the command's name; `o` holds the
	 * defaults and any shared flags given before the command word.
	 * Returns one of the CTL_EXIT_* codes. */
	int (*run)(struct ctl_opts *o, int argc, char **argv);
};

/* The commands, each defined in its own file. */
extern const struct ctl_command ctl_members_command; /* ctl_members.c */
extern const struct ctl_command ctl_keyring_command; /* ctl_keyring.c */
extern const struct ctl_command ctl_keygen_command;  /* ctl_keygen.c */
extern const struct ctl_command ctl_sign_command;    /* ctl_sign.c */
extern const struct ctl_command ctl_apply_command;   /* ctl_apply.c */
extern const struct ctl_command ctl_get_command;     /* ctl_get.c */
extern const struct ctl_command ctl_delete_command;  /* ctl_delete.c */
extern const struct ctl_command ctl_key_command;     /* ctl_key.c */
extern const struct ctl_command ctl_status_command;  /* ctl_status.c */
extern const struct ctl_command ctl_top_command;     /* ctl_top.c */
extern const struct ctl_command ctl_wait_command;    /* ctl_wait.c */

/* `get sites` (ctl_get_sites.c), run by `get` with its argv and usage. */
int ctl_get_sites(struct ctl_opts *o, int argc, char **argv, const struct ctl_command *cmd);

/* Fill `o` with the defaults: node from $SHOAL_NODE or CTL_DEFAULT_NODE,
 * table output, default timeout. Returns 0, or CTL_EXIT_USAGE (after saying
 * why on stderr) if $SHOAL_NODE is not a usable address. */
int ctl_opts_init(struct ctl_opts *o);

/* Parse argv[first..argc) into `o`, accepting the shared flags in `flags`
 * (anywhere among the positional arguments; "--" ends flags). Returns 0, or
 * CTL_EXIT_USAGE after printing the reason and `cmd`'s usage to stderr.
 * args[] point into argv and live as long as it does. */
int ctl_opts_parse(struct ctl_opts *o, int argc, char **argv, int first, unsigned flags,
                   const struct ctl_command *cmd);

/* Parse leading shared flags before the command word; returns the index of
 * the first non-flag argument, or -CTL_EXIT_USAGE after printing why. */
int ctl_opts_parse_global(struct ctl_opts *o, int argc, char **argv);

/* Remove a command's own flag from argv before ctl_opts_parse sees it:
 * "--name VALUE", "--name=VALUE" or "SHORT VALUE". Returns 1 (value set,
 * argv and *argc shortened), 0 absent, -1 given without a value. */
int ctl_take_flag(int *argc, char **argv, const char *name, const char *shortname,
                  const char **value);
/* The same for a switch without a value; returns 1 if it was there. */
int ctl_take_switch(int *argc, char **argv, const char *name);

/* Normalise a node address: "host", "host:port", "[v6]:port" or
 * "http://host:port" becomes "host:port" in out (port 7680 if absent).
 * Returns 0, or -EINVAL for anything else (no other schemes, no paths). */
int ctl_node_normalize(const char *in, char *out, size_t cap);

/* Print "shoalctl: <message>" and the command's usage to stderr; returns
 * CTL_EXIT_USAGE so callers can `return ctl_usage_error(...)`. */
int ctl_usage_error(const struct ctl_command *cmd, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Print "shoalctl: <message>" to stderr; returns CTL_EXIT_FAIL. */
int ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
