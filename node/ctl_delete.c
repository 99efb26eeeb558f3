/*
 * ctl_delete.c - `shoalctl delete KIND NAME --key K`: submit a signed
 * tombstone for (KIND, NAME). It replaces the version the node holds, like
 * apply, and wins over it by the merge order; it is collected after the
 * fleet's horizon (docs/intents.md).
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "ctl_intent.h"

static int delete_run(struct ctl_opts *o, int argc, char **argv);

const struct ctl_command ctl_delete_command = {
        .name = "delete",
        .summary = "delete an intent (a signed tombstone)",
        .usage = "usage: shoalctl delete KIND NAME --key KEYFILE [--force] "
                 "[--node HOST:PORT] [-o table|json]\n"
                 "\n"
                 "KIND is App, EgressPolicy, Upgrade, VirtualSite, KeyGrant, KeyRevoke or\n"
                 "AlertRule.\n",
        .run = delete_run,
};

static int delete_run(struct ctl_opts *o, int argc, char **argv)
{
	const struct ctl_command *cmd = &ctl_delete_command;
	const char *key = NULL;
	char err[512];
	if (ctl_take_flag(&argc, argv, "--key", NULL, &key) < 0)
		return ctl_usage_error(cmd, "--key needs a KEYFILE");
	int force = ctl_take_switch(&argc, argv, "--force");
	int rc = ctl_opts_parse(o, argc, argv, 1, CTL_FLAG_NODE | CTL_FLAG_OUTPUT, cmd);
	if (rc != 0)
		return rc;
	if (o->help) {
		fputs(cmd->usage, stdout);
		return CTL_EXIT_OK;
	}
	if (key == NULL || o->nargs != 2)
		return ctl_usage_error(cmd, "delete needs KIND NAME and --key KEYFILE");
	enum intent_kind kind = intent_kind_parse(o->args[0], strlen(o->args[0]));
	if (kind == INTENT_KIND_NONE)
		return ctl_usage_error(cmd, "no kind '%s'", o->args[0]);
	if (strlen(o->args[1]) > INTENT_NAME_MAX)
		return ctl_usage_error(cmd, "name too long");

	uint8_t pk[32], sk[64];
	if (ctl_key_load_secret(key, pk, sk, err, sizeof(err)) != 0)
		return ctl_fail("%s", err);
	struct intent_draft d = {.kind = kind,
	                         .op = INTENT_DELETE,
	                         .name = o->args[1],
	                         .target_type = INTENT_TARGET_NONE,
	                         .force = force};
	memcpy(d.signer, pk, 32);
	rc = ctl_intent_submit(o, &d, sk);
	sodium_memzero(sk, sizeof(sk));
	return rc;
}
