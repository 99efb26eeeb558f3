/*
 * ctl_key.c - `shoalctl key grant|revoke`: delegate signing to an operator
 * key, or withdraw it. Both are intents (KeyGrant, KeyRevoke) signed by a
 * root key and submitted like `apply`, so they replicate like everything
 * else and every node judges trust from the same set (docs/intents.md).
 */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <sodium.h>

#include "ctl_intent.h"

static int key_run(struct ctl_opts *o, int argc, char **argv);

const struct ctl_command ctl_key_command = {
        .name = "key",
        .summary = "grant or revoke an operator key (root-signed intents)",
        .usage = "usage: shoalctl key grant --pub OPERATOR.pub --scope SELECTOR --expires "
                 "DURATION --key ROOT.key [--name NAME] [--node HOST:PORT]\n"
                 "       shoalctl key revoke --pub OPERATOR.pub --key ROOT.key [--name NAME] "
                 "[--node HOST:PORT]\n"
                 "\n"
                 "--pub is a .pub file or the key itself (base64 or hex). DURATION is like\n"
                 "90d, 12h, 30m or 1h30m, counted from now. The intent is named after the\n"
                 "key (grant-HEX / revoke-HEX) unless --name is given.\n",
        .run = key_run,
};

/* "1h30m" -> milliseconds; -1 if malformed. */
static int64_t parse_duration(const char *s)
{
	int64_t total = 0;
	if (*s == '\0')
		return -1;
	while (*s != '\0') {
		char *end;
		long long v = strtoll(s, &end, 10);
		if (end == s || v < 0 || v > 100000)
			return -1;
		int64_t unit;
		switch (*end) {
		case 's':
			unit = 1000;
			break;
		case 'm':
			unit = 60 * 1000;
			break;
		case 'h':
			unit = 3600 * 1000;
			break;
		case 'd':
			unit = 24 * 3600 * 1000LL;
			break;
		case 'w':
			unit = 7 * 24 * 3600 * 1000LL;
			break;
		default:
			return -1;
		}
		total += v * unit;
		s = end + 1;
	}
	return total;
}

static void pack_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

static int key_run(struct ctl_opts *o, int argc, char **argv)
{
	const struct ctl_command *cmd = &ctl_key_command;
	const char *pub = NULL, *scope = NULL, *expires = NULL, *key = NULL, *name = NULL;
	char err[512];
	if (ctl_take_flag(&argc, argv, "--pub", NULL, &pub) < 0 ||
	    ctl_take_flag(&argc, argv, "--scope", NULL, &scope) < 0 ||
	    ctl_take_flag(&argc, argv, "--expires", NULL, &expires) < 0 ||
	    ctl_take_flag(&argc, argv, "--key", NULL, &key) < 0 ||
	    ctl_take_flag(&argc, argv, "--name", NULL, &name) < 0)
		return ctl_usage_error(cmd, "a flag is missing its value");
	int rc = ctl_opts_parse(o, argc, argv, 1, CTL_FLAG_NODE | CTL_FLAG_OUTPUT, cmd);
	if (rc != 0)
		return rc;
	if (o->help) {
		fputs(cmd->usage, stdout);
		return CTL_EXIT_OK;
	}
	int grant = o->nargs == 1 && strcmp(o->args[0], "grant") == 0;
	int revoke = o->nargs == 1 && strcmp(o->args[0], "revoke") == 0;
	if (!grant && !revoke)
		return ctl_usage_error(cmd, "expected 'key grant' or 'key revoke'");
	if (pub == NULL || key == NULL || (grant && (scope == NULL || expires == NULL)))
		return ctl_usage_error(cmd,
		                       grant ? "grant needs --pub, --scope, --expires and --key"
		                             : "revoke needs --pub and --key");
	int64_t dur = grant ? parse_duration(expires) : 0;
	if (dur < 0)
		return ctl_usage_error(cmd, "--expires %s: expected a duration like 90d or 12h",
		                       expires);

	uint8_t opk[32], pk[32], sk[64];
	if (ctl_key_load_public(pub, opk, err, sizeof(err)) != 0)
		return ctl_usage_error(cmd, "%s", err);
	char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)], hex[65];
	sodium_bin2base64(b64, sizeof(b64), opk, 32, sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2hex(hex, sizeof(hex), opk, 32);
	char defname[64];
	snprintf(defname, sizeof(defname), "%s-%.16s", grant ? "grant" : "revoke", hex);

	struct shoal_buf spec;
	msgpack_packer pk_;
	shoal_buf_create(&spec, 4096);
	shoal_packer_init(&pk_, &spec);
	msgpack_pack_map(&pk_, grant ? 3 : 1);
	pack_str(&pk_, "pub");
	pack_str(&pk_, b64);
	if (grant) {
		struct timeval tv;
		gettimeofday(&tv, NULL);
		pack_str(&pk_, "scope");
		pack_str(&pk_, scope);
		pack_str(&pk_, "expires");
		msgpack_pack_uint64(&pk_, (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000 +
		                                  (uint64_t)dur);
	}
	if (ctl_key_load_secret(key, pk, sk, err, sizeof(err)) != 0) {
		shoal_buf_destroy(&spec);
		return ctl_fail("%s", err);
	}
	struct intent_draft d = {.kind = grant ? INTENT_KEY_GRANT : INTENT_KEY_REVOKE,
	                         .op = INTENT_PUT,
	                         .name = name != NULL ? name : defname,
	                         .target_type = INTENT_TARGET_NONE,
	                         .spec = spec.data,
	                         .spec_len = spec.len};
	memcpy(d.signer, pk, 32);
	rc = ctl_intent_submit(o, &d, sk);
	sodium_memzero(sk, sizeof(sk));
	shoal_buf_destroy(&spec);
	return rc;
}
