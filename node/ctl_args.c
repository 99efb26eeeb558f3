/*
 * ctl_args.c - shoalctl's shared flags: --node, --timeout, -o/--output, -h.
 *
 * One small parser instead of getopt_long: commands accept flags before or
 * after their positional arguments (`shoalctl members -o json` and
 * `shoalctl -o json members` both work), and a command says which flags make
 * sense for it, so `keyring generate --node x` is a usage error instead of a
 * silently ignored flag. Both `--flag value` and `--flag=value` are taken.
 */
#include "ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Longest --timeout accepted: ten minutes. */
#define TIMEOUT_MAX_MS 600000L

int ctl_usage_error(const struct ctl_command *cmd, const char *fmt, ...)
{
	va_list ap;
	fputs("shoalctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd != NULL && cmd->usage != NULL)
		fprintf(stderr, "\n%s", cmd->usage);
	else
		fputs("run 'shoalctl help' for the list of commands\n", stderr);
	return CTL_EXIT_USAGE;
}

int ctl_fail(const char *fmt, ...)
{
	va_list ap;
	fputs("shoalctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CTL_EXIT_FAIL;
}

/* A port is 1-65535 in decimal, nothing else. */
static int port_valid(const char *p, size_t len)
{
	if (len == 0 || len > 5)
		return 0;
	unsigned long v = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* Host characters: names, IPv4 and the inside of [IPv6]. Anything else (a
 * space, '/', '@', '?') would change the meaning of the URL built from it. */
static int host_char(char c, int bracketed)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	if (c == '.' || c == '-' || c == '_')
		return 1;
	return bracketed && (c == ':' || c == '%');
}

int ctl_node_normalize(const char *in, char *out, size_t cap)
{
	static const char scheme[] = "http://";
	if (in == NULL)
		return -EINVAL;
	if (strncmp(in, scheme, sizeof(scheme) - 1) == 0)
		in += sizeof(scheme) - 1;
	size_t len = strlen(in);
	if (len > 0 && in[len - 1] == '/')
		len--; /* "http://host:port/" is a common paste */
	if (len == 0 || len >= CTL_NODE_MAX)
		return -EINVAL;

	size_t host_end; /* index just past the host (and its ']') */
	if (in[0] == '[') {
		const char *close = memchr(in, ']', len);
		if (close == NULL || close == in + 1)
			return -EINVAL;
		host_end = (size_t)(close - in) + 1;
		for (size_t i = 1; i + 1 < host_end; i++)
			if (!host_char(in[i], 1))
				return -EINVAL;
	} else {
		host_end = 0;
		while (host_end < len && in[host_end] != ':') {
			if (!host_char(in[host_end], 0))
				return -EINVAL;
			host_end++;
		}
		if (host_end == 0)
			return -EINVAL;
	}

	int n;
	if (host_end == len) {
		n = snprintf(out, cap, "%.*s:%s", (int)len, in, CTL_DEFAULT_PORT);
	} else {
		if (in[host_end] != ':' || !port_valid(in + host_end + 1, len - host_end - 1))
			return -EINVAL;
		n = snprintf(out, cap, "%.*s", (int)len, in);
	}
	if (n < 0 || (size_t)n >= cap)
		return -EINVAL;
	return 0;
}

int ctl_opts_init(struct ctl_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->output = CTL_OUT_TABLE;
	o->timeout_ms = CTL_DEFAULT_TIMEOUT_MS;
	const char *env = getenv("SHOAL_NODE");
	const char *node = (env != NULL && env[0] != '\0') ? env : CTL_DEFAULT_NODE;
	if (ctl_node_normalize(node, o->node, sizeof(o->node)) != 0)
		return ctl_usage_error(NULL, "SHOAL_NODE=%s is not HOST:PORT", node);
	return 0;
}

/* If argv[*i] is flag `name` (or `name=value`), set *value to its value,
 * consuming the next argument when needed. Returns 1 matched, 0 not this
 * flag, -1 matched but the value is missing. */
static int take_value(int argc, char **argv, int *i, const char *name, const char *shortname,
                      const char **value)
{
	const char *a = argv[*i];
	size_t nlen = strlen(name);
	if (strncmp(a, name, nlen) == 0 && a[nlen] == '=') {
		*value = a + nlen + 1;
		return 1;
	}
	if (strcmp(a, name) != 0 && (shortname == NULL || strcmp(a, shortname) != 0))
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*i += 1;
	*value = argv[*i];
	return 1;
}

static int parse_timeout(const char *text, long *out)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v <= 0 || v > TIMEOUT_MAX_MS)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Try the shared flags on argv[*i]. Returns 1 consumed, 0 not a shared
 * flag, or CTL_EXIT_USAGE (negated) after printing why. */
static int shared_flag(struct ctl_opts *o, int argc, char **argv, int *i, unsigned flags,
                       const struct ctl_command *cmd)
{
	const char *v = NULL;
	const char *a = argv[*i];
	int m;

	if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
		o->help = 1;
		return 1;
	}
	if ((m = take_value(argc, argv, i, "--node", NULL, &v)) != 0) {
		if (!(flags & CTL_FLAG_NODE))
			return -ctl_usage_error(cmd, "--node means nothing to this command");
		if (m < 0)
			return -ctl_usage_error(cmd, "--node needs HOST:PORT");
		if (ctl_node_normalize(v, o->node, sizeof(o->node)) != 0)
			return -ctl_usage_error(cmd, "--node %s: expected HOST:PORT", v);
		return 1;
	}
	if ((m = take_value(argc, argv, i, "--timeout", NULL, &v)) != 0) {
		if (!(flags & CTL_FLAG_NODE))
			return -ctl_usage_error(cmd, "--timeout means nothing to this command");
		if (m < 0 || parse_timeout(v, &o->timeout_ms) != 0)
			return -ctl_usage_error(cmd, "--timeout needs milliseconds (1..%ld)",
			                        TIMEOUT_MAX_MS);
		return 1;
	}
	if ((m = take_value(argc, argv, i, "--output", "-o", &v)) != 0) {
		if (!(flags & CTL_FLAG_OUTPUT))
			return -ctl_usage_error(cmd, "-o means nothing to this command");
		const char *choices =
		        (flags & CTL_FLAG_YAML) ? "table, json or yaml" : "table or json";
		if (m < 0)
			return -ctl_usage_error(cmd, "-o needs %s", choices);
		if (strcmp(v, "table") == 0)
			o->output = CTL_OUT_TABLE;
		else if (strcmp(v, "json") == 0)
			o->output = CTL_OUT_JSON;
		else if (strcmp(v, "yaml") == 0 && (flags & CTL_FLAG_YAML))
			o->output = CTL_OUT_YAML;
		else
			return -ctl_usage_error(cmd, "-o %s: expected %s", v, choices);
		return 1;
	}
	return 0;
}

int ctl_opts_parse_global(struct ctl_opts *o, int argc, char **argv)
{
	int i = 1;
	while (i < argc && argv[i][0] == '-') {
		int r = shared_flag(o, argc, argv, &i,
		                    CTL_FLAG_NODE | CTL_FLAG_OUTPUT | CTL_FLAG_YAML, NULL);
		if (r < 0)
			return r;
		if (r == 0) {
			ctl_usage_error(NULL, "unknown flag %s", argv[i]);
			return -CTL_EXIT_USAGE;
		}
		i++;
	}
	return i;
}

int ctl_opts_parse(struct ctl_opts *o, int argc, char **argv, int first, unsigned flags,
                   const struct ctl_command *cmd)
{
	int only_args = 0;
	for (int i = first; i < argc; i++) {
		const char *a = argv[i];
		if (!only_args && strcmp(a, "--") == 0) {
			only_args = 1;
			continue;
		}
		/* "-" alone is an argument (by convention stdin), not a flag. */
		if (!only_args && a[0] == '-' && a[1] != '\0') {
			int r = shared_flag(o, argc, argv, &i, flags, cmd);
			if (r < 0)
				return -r;
			if (r == 0)
				return ctl_usage_error(cmd, "unknown flag %s", a);
			continue;
		}
		if (o->nargs >= CTL_ARGS_MAX)
			return ctl_usage_error(cmd, "too many arguments");
		o->args[o->nargs++] = argv[i];
	}
	return 0;
}

int ctl_take_flag(int *argc, char **argv, const char *name, const char *shortname,
                  const char **value)
{
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		int j = i;
		int m = take_value(*argc, argv, &j, name, shortname, value);
		if (m == 0)
			continue;
		if (m < 0)
			return -1;
		int used = j - i + 1;
		memmove(&argv[i], &argv[i + used], (size_t)(*argc - i - used) * sizeof(*argv));
		*argc -= used;
		return 1;
	}
	return 0;
}

int ctl_take_switch(int *argc, char **argv, const char *name)
{
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], name) != 0)
			continue;
		memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i - 1) * sizeof(*argv));
		*argc -= 1;
		return 1;
	}
	return 0;
}
