/*
 * ctl_apply.c - `shoalctl apply -f intent.yaml --key K [--force]`: sign an
 * intent against the node's current version and HLC, and submit it.
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "ctl_intent.h"

static int apply_run(struct ctl_opts *o, int argc, char **argv);

const struct ctl_command ctl_apply_command = {
        .name = "apply",
        .summary = "sign an intent file and submit it to a node",
        .usage = "usage: shoalctl apply -f INTENT.yaml --key KEYFILE [--force] "
                 "[--node HOST:PORT] [-o table|json]\n"
                 "\n"
                 "Asks the node for the version it holds and a fresh HLC, signs an envelope\n"
                 "that replaces that version, and POSTs it. If someone changed the intent in\n"
                 "between, the node answers 409; --force replaces whatever is held.\n"
                 "The node is --node, else $SHOAL_NODE, else " CTL_DEFAULT_NODE ".\n",
        .run = apply_run,
};

static int apply_run(struct ctl_opts *o, int argc, char **argv)
{
	const struct ctl_command *cmd = &ctl_apply_command;
	const char *file = NULL, *key = NULL;
	char err[512];
	if (ctl_take_flag(&argc, argv, "--file", "-f", &file) < 0 ||
	    ctl_take_flag(&argc, argv, "--key", NULL, &key) < 0)
		return ctl_usage_error(cmd, "a flag is missing its value");
	int force = ctl_take_switch(&argc, argv, "--force");
	int rc = ctl_opts_parse(o, argc, argv, 1, CTL_FLAG_NODE | CTL_FLAG_OUTPUT, cmd);
	if (rc != 0)
		return rc;
	if (o->help) {
		fputs(cmd->usage, stdout);
		return CTL_EXIT_OK;
	}
	if (file == NULL || key == NULL || o->nargs > 0)
		return ctl_usage_error(cmd, "apply needs -f FILE and --key KEYFILE");

	uint8_t pk[32], sk[64];
	struct ctl_intent_doc doc;
	if (ctl_intent_load_signed(&doc, file, key, pk, sk, err, sizeof(err)) != 0)
		return ctl_fail("%s", err);
	struct intent_draft d = ctl_intent_doc_draft(&doc);
	d.force = force;
	memcpy(d.signer, pk, 32);
	rc = ctl_intent_submit(o, &d, sk);
	sodium_memzero(sk, sizeof(sk));
	ctl_intent_doc_destroy(&doc);
	return rc;
}
