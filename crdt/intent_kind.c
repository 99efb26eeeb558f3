/*
 * intent_kind.c - names of intent kinds and refusal reasons.
 *
 * Both name sets are part of the contract (docs/intents.md, the API's
 * "error" field, metric labels), so they live in one table each here.
 */
#include "shoal/intent.h"

#include <string.h>

static const char *const kind_names[INTENT_KIND_COUNT] = {
        [INTENT_KIND_NONE] = "",
        [INTENT_APP] = "App",
        [INTENT_EGRESS_POLICY] = "EgressPolicy",
        [INTENT_UPGRADE] = "Upgrade",
        [INTENT_VIRTUAL_SITE] = "VirtualSite",
        [INTENT_KEY_GRANT] = "KeyGrant",
        [INTENT_KEY_REVOKE] = "KeyRevoke",
        [INTENT_ALERT_RULE] = "AlertRule",
};

static const char *const reason_names[INTENT_R_COUNT] = {
        [INTENT_OK] = "ok",
        [INTENT_R_MALFORMED] = "malformed",
        [INTENT_R_VERSION] = "version",
        [INTENT_R_UNKNOWN_KIND] = "unknown_kind",
        [INTENT_R_SCHEMA] = "schema",
        [INTENT_R_TOO_BIG] = "too_big",
        [INTENT_R_SIGNATURE] = "bad_signature",
        [INTENT_R_UNKNOWN_SIGNER] = "unknown_signer",
        [INTENT_R_EXPIRED] = "expired_key",
        [INTENT_R_REVOKED] = "revoked_key",
        [INTENT_R_NOT_ROOT] = "not_root",
        [INTENT_R_OUT_OF_SCOPE] = "out_of_scope",
        [INTENT_R_SKEW] = "clock_skew",
        [INTENT_R_HORIZON] = "beyond_horizon",
        [INTENT_R_STALE] = "stale",
        [INTENT_R_CONFLICT] = "conflict",
        [INTENT_R_HASH_MISMATCH] = "hash_mismatch",
        [INTENT_R_STORE] = "store",
};

const char *intent_kind_name(enum intent_kind k)
{
	return k > INTENT_KIND_NONE && k < INTENT_KIND_COUNT ? kind_names[k] : "?";
}

enum intent_kind intent_kind_parse(const char *name, size_t len)
{
	for (int k = INTENT_APP; k < INTENT_KIND_COUNT; k++)
		if (strlen(kind_names[k]) == len && memcmp(kind_names[k], name, len) == 0)
			return (enum intent_kind)k;
	return INTENT_KIND_NONE;
}

const char *intent_reason_name(enum intent_reason r)
{
	return r >= INTENT_OK && r < INTENT_R_COUNT ? reason_names[r] : "unknown";
}
