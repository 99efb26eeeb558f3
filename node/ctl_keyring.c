/*
 * ctl_keyring.c - `shoalctl keyring`: list, install, use, remove, generate.
 *
 * The mesh rotates keys the way Serf does, in three fleet-wide steps asked of
 * any one node (it gossips the change to every member):
 *     shoalctl keyring install NEW   every node accepts NEW
 *     shoalctl keyring use NEW       every node seals with NEW
 *     shoalctl keyring remove OLD    every node forgets OLD
 * A node that was down during the rotation still holds only OLD and cannot
 * get back in; docs/operations.md gives the procedure (put NEW in its keyring
 * file, or `keyring install NEW` on its own loopback API).
 *
 * Keys given on the command line are checked here before anything is sent,
 * so a typo is a usage error (exit 2) and never reaches the fleet. The node
 * accepts keyring calls only from loopback; shoalctl does not try to work
 * around that.
 *
 * `generate` is offline: 32 bytes from libsodium's CSPRNG, printed as base64
 * (the keyring file's line format), the binary copy wiped afterwards.
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "ctl_api.h"
#include "ctl_table.h"
#include "shoal/seal.h"

static int keyring_run(struct ctl_opts *o, int argc, char **argv);

const struct ctl_command ctl_keyring_command = {
        .name = "keyring",
        .summary = "list, install, use, remove or generate cluster keys",
        .usage = "usage: shoalctl keyring list [--node HOST:PORT] [-o table|json]\n"
                 "       shoalctl keyring install KEY [--node HOST:PORT] [-o table|json]\n"
                 "       shoalctl keyring use KEY [--node HOST:PORT] [-o table|json]\n"
                 "       shoalctl keyring remove KEY [--node HOST:PORT] [-o table|json]\n"
                 "       shoalctl keyring generate\n"
                 "\n"
                 "KEY is a base64 32-byte key as printed by 'keyring generate'.\n"
                 "install, use and remove are fleet-wide: the node gossips them to every\n"
                 "member. Rotation: install NEW, use NEW, remove OLD. The node accepts\n"
                 "keyring calls only from loopback, so run these on a node's own host.\n"
                 "The node is --node, else $SHOAL_NODE, else " CTL_DEFAULT_NODE ".\n",
        .run = keyring_run,
};

/* The key list of a keyring answer as a table: KEY PRIMARY. */
static int print_keys(const json_t *body)
{
	static const char *const headers[2] = {"KEY", "PRIMARY"};
	const json_t *keys = json_object_get(body, "keys");
	if (!json_is_array(keys))
		return ctl_fail("the node's answer has no \"keys\" list");
	struct ctl_table t;
	if (ctl_table_create(&t, 2, headers) != 0)
		return ctl_fail("out of memory");
	size_t i;
	const json_t *k;
	json_array_foreach(keys, i, k)
	{
		const char *row[2] = {
		        json_string_value(json_object_get(k, "key")),
		        json_is_true(json_object_get(k, "primary")) ? "yes" : "no",
		};
		if (ctl_table_add_row(&t, row) != 0) {
			ctl_table_destroy(&t);
			return ctl_fail("out of memory building the table");
		}
	}
	ctl_table_print(&t, stdout);
	ctl_table_destroy(&t);
	return CTL_EXIT_OK;
}

static int keyring_generate(void)
{
	uint8_t key[SHOAL_KEY_LEN];
	char text[45];
	if (sodium_init() < 0)
		return ctl_fail("libsodium failed to initialise; no key generated");
	randombytes_buf(key, sizeof(key));
	shoal_key_format(key, text);
	sodium_memzero(key, sizeof(key));
	puts(text);
	sodium_memzero(text, sizeof(text));
	return fflush(stdout) == 0 ? CTL_EXIT_OK : ctl_fail("cannot write the key");
}

/* What each verb does on the wire, and what to say when it worked. */
struct keyring_verb {
	const char *name; /* command-line word and URL tail */
	const char *done; /* past tense for the confirmation line */
};

static const struct keyring_verb verbs[] = {
        {"install", "installed"},
        {"use", "now sealing with"},
        {"remove", "removed"},
};

static int keyring_change(const struct ctl_opts *o, const struct keyring_verb *v,
                          const char *keytext)
{
	const struct ctl_command *cmd = &ctl_keyring_command;
	uint8_t key[SHOAL_KEY_LEN];
	if (shoal_key_parse(key, keytext) != 0)
		return ctl_usage_error(cmd,
		                       "'%s' is not a key: expected base64 of 32 bytes "
		                       "(44 characters, see 'shoalctl keyring generate')",
		                       keytext);
	char norm[45];
	shoal_key_format(key, norm); /* send the canonical text, whitespace trimmed */
	sodium_memzero(key, sizeof(key));

	char path[64];
	snprintf(path, sizeof(path), "/v1/keyring/%s", v->name);
	json_t *req = json_pack("{s:s}", "key", norm);
	if (req == NULL)
		return ctl_fail("out of memory");
	json_t *body;
	struct ctl_http_resp raw;
	int rc = ctl_api_call(o, "POST", path, req, &body, &raw);
	json_decref(req);
	if (rc != CTL_EXIT_OK) {
		sodium_memzero(norm, sizeof(norm));
		return rc;
	}
	if (o->output == CTL_OUT_JSON) {
		ctl_api_print_raw(&raw, stdout);
	} else {
		printf("%s %s (spreading to every member)\n\n", v->done, norm);
		rc = print_keys(body);
	}
	sodium_memzero(norm, sizeof(norm));
	json_decref(body);
	ctl_http_resp_free(&raw);
	return rc;
}

static int keyring_run(struct ctl_opts *o, int argc, char **argv)
{
	const struct ctl_command *cmd = &ctl_keyring_command;
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		if (argc < 2)
			return ctl_usage_error(cmd, "keyring needs a subcommand");
		fputs(cmd->usage, stdout);
		return CTL_EXIT_OK;
	}
	const char *sub = argv[1];

	if (strcmp(sub, "generate") == 0) {
		int rc = ctl_opts_parse(o, argc, argv, 2, 0, cmd);
		if (rc != 0)
			return rc;
		if (o->help) {
			fputs(cmd->usage, stdout);
			return CTL_EXIT_OK;
		}
		if (o->nargs > 0)
			return ctl_usage_error(cmd, "keyring generate takes no arguments");
		return keyring_generate();
	}

	int rc = ctl_opts_parse(o, argc, argv, 2, CTL_FLAG_NODE | CTL_FLAG_OUTPUT, cmd);
	if (rc != 0)
		return rc;
	if (o->help) {
		fputs(cmd->usage, stdout);
		return CTL_EXIT_OK;
	}

	if (strcmp(sub, "list") == 0) {
		if (o->nargs > 0)
			return ctl_usage_error(cmd, "keyring list takes no arguments");
		json_t *body;
		struct ctl_http_resp raw;
		rc = ctl_api_call(o, "GET", "/v1/keyring", NULL, &body, &raw);
		if (rc != CTL_EXIT_OK)
			return rc;
		if (o->output == CTL_OUT_JSON)
			ctl_api_print_raw(&raw, stdout);
		else
			rc = print_keys(body);
		json_decref(body);
		ctl_http_resp_free(&raw);
		return rc;
	}

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(sub, verbs[i].name) != 0)
			continue;
		if (o->nargs != 1)
			return ctl_usage_error(cmd, "keyring %s needs exactly one KEY", sub);
		return keyring_change(o, &verbs[i], o->args[0]);
	}
	return ctl_usage_error(cmd, "unknown keyring subcommand '%s'", sub);
}
