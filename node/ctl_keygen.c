/*
 * ctl_keygen.c - `shoalctl keygen [--out NAME]`: a new operator keypair,
 * NAME.key (secret seed, mode 0600) and NAME.pub (public key). Offline.
 */
#include "ctl.h"

#include <stdio.h>

#include "ctl_intent.h"

static int keygen_run(struct ctl_opts *o, int argc, char **argv);

const struct ctl_command ctl_keygen_command = {
        .name = "keygen",
        .summary = "make an Ed25519 keypair for signing intents",
        .usage = "usage: shoalctl keygen [--out NAME]\n"
                 "\n"
                 "Writes NAME.key (the secret, mode 0600; never overwritten) and NAME.pub\n"
                 "(base64 public key, the line a --trust file or 'key grant --pub' takes).\n"
                 "NAME defaults to 'shoal'.\n",
        .run = keygen_run,
};

static int keygen_run(struct ctl_opts *o, int argc, char **argv)
{
	const char *out = "shoal";
	char err[512];
	if (ctl_take_flag(&argc, argv, "--out", NULL, &out) < 0)
		return ctl_usage_error(&ctl_keygen_command, "--out needs a NAME");
	int rc = ctl_opts_parse(o, argc, argv, 1, 0, &ctl_keygen_command);
	if (rc != 0)
		return rc;
	if (o->help) {
		fputs(ctl_keygen_command.usage, stdout);
		return CTL_EXIT_OK;
	}
	if (o->nargs > 0)
		return ctl_usage_error(&ctl_keygen_command, "keygen takes no arguments");
	if (ctl_key_generate(out, err, sizeof(err)) != 0)
		return ctl_fail("%s", err);
	printf("wrote %s.key and %s.pub\n", out, out);
	return CTL_EXIT_OK;
}
