/*
 * ctl_sign.c - `shoalctl sign -f intent.yaml --key K`: print the signed
 * JSON envelope without sending it (for review, or to submit elsewhere).
 *
 * Offline, so the version is this machine's clock (an HLC with counter 0)
 * and `replaces` is 0 unless --replaces says otherwise; a node refuses it
 * if the clock is off by more than the fleet's skew bound.
 */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <sodium.h>

#include "shoal/hlc.h"

#include "ctl_intent.h"

static int sign_run(struct ctl_opts *o, int argc, char **argv);

const struct ctl_command ctl_sign_command = {
        .name = "sign",
        .summary = "sign an intent file and print the envelope (sends nothing)",
        .usage = "usage: shoalctl sign -f INTENT.yaml --key KEYFILE [--replaces VERSION] "
                 "[--force]\n"
                 "\n"
                 "Prints {\"body\": base64, \"sig\": base64}, the form POST /v1/intents takes.\n"
                 "The version is this machine's clock; 'shoalctl apply' asks the node instead.\n",
        .run = sign_run,
};

static int sign_run(struct ctl_opts *o, int argc, char **argv)
{
	const struct ctl_command *cmd = &ctl_sign_command;
	const char *file = NULL, *key = NULL, *replaces = NULL;
	char err[512];
	if (ctl_take_flag(&argc, argv, "--file", "-f", &file) < 0 ||
	    ctl_take_flag(&argc, argv, "--key", NULL, &key) < 0 ||
	    ctl_take_flag(&argc, argv, "--replaces", NULL, &replaces) < 0)
		return ctl_usage_error(cmd, "a flag is missing its value");
	int force = ctl_take_switch(&argc, argv, "--force");
	int rc = ctl_opts_parse(o, argc, argv, 1, 0, cmd);
	if (rc != 0)
		return rc;
	if (o->help) {
		fputs(cmd->usage, stdout);
		return CTL_EXIT_OK;
	}
	if (file == NULL || key == NULL || o->nargs > 0)
		return ctl_usage_error(cmd, "sign needs -f FILE and --key KEYFILE");

	uint8_t pk[32], sk[64];
	struct ctl_intent_doc doc;
	if (ctl_intent_load_signed(&doc, file, key, pk, sk, err, sizeof(err)) != 0)
		return ctl_fail("%s", err);
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct intent_draft d = ctl_intent_doc_draft(&doc);
	d.hlc = shoal_hlc_make((uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000, 0);
	d.replaces = replaces != NULL ? strtoull(replaces, NULL, 10) : 0;
	d.force = force;
	memcpy(d.signer, pk, 32);
	json_t *env = ctl_intent_envelope(&d, sk);
	sodium_memzero(sk, sizeof(sk));
	ctl_intent_doc_destroy(&doc);
	if (env == NULL)
		return ctl_fail("cannot sign: the intent is too large");
	json_dumpf(env, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	json_decref(env);
	return CTL_EXIT_OK;
}
