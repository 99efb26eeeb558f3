/*
 * intent_target.c - which sites a held intent applies to: its effective
 * target, the intent's own target AND its signer's scope.
 *
 * The reconciler asks it of its own labels (does this intent select me?),
 * and the fleet view asks it of every site's labels (which sites should
 * report this intent?). Both must get the same answer from the same
 * replicated set, so it is computed from the store alone: the target
 * selector (a VirtualSite resolved through the store), the newest live
 * grant's scope for a non-root signer, and nothing else.
 */
#include <stdio.h>
#include <string.h>

#include "shoal/error.h"
#include "shoal/intent_store.h"
#include "shoal/selector.h"

static int fail(char *err, size_t errcap, int rc, const char *what, const char *why)
{
	if (err != NULL && errcap > 0)
		snprintf(err, errcap, "%s%s", what, why);
	return rc;
}

/* The target's selector text; SHOAL_E_NOT_FOUND for a virtual site this
 * store does not hold (or holds deleted). A nil target is the empty
 * selector: every site. */
static int target_text(const struct intent_store *s, const struct intent_body *b,
                       const uint8_t **text, uint32_t *len, char *err, size_t errcap)
{
	static const uint8_t empty[1] = {0};
	char name[INTENT_NAME_MAX + 1];
	switch (b->target_type) {
	case INTENT_TARGET_NONE:
		*text = empty;
		*len = 0;
		return 0;
	case INTENT_TARGET_SELECTOR:
		*text = b->target;
		*len = b->target_len;
		return 0;
	case INTENT_TARGET_VIRTUAL_SITE:
		break;
	default:
		return fail(err, errcap, SHOAL_E_MALFORMED, "unknown target type", "");
	}
	if (b->target_len == 0 || b->target_len > INTENT_NAME_MAX)
		return fail(err, errcap, SHOAL_E_MALFORMED, "bad virtual site name", "");
	memcpy(name, b->target, b->target_len);
	name[b->target_len] = '\0';
	const struct intent_item *vs = intent_store_get(s, INTENT_VIRTUAL_SITE, name);
	if (vs == NULL || vs->env.body.op != INTENT_PUT ||
	    intent_store_status(s, vs) != INTENT_EFFECTIVE)
		return fail(err, errcap, SHOAL_E_NOT_FOUND, "virtual site not held here: ", name);
	if (intent_virtual_site_read(vs->env.body.spec, vs->env.body.spec_len, text, len) != 0)
		return fail(err, errcap, SHOAL_E_MALFORMED, "unreadable virtual site ", name);
	return 0;
}

int intent_store_effective_target(const struct intent_store *s, const struct intent_item *item,
                                  struct selector **out, char *err, size_t errcap)
{
	const struct intent_body *b = &item->env.body;
	struct selector *target = NULL, *scope = NULL;
	struct intent_grant grant;
	char why[SELECTOR_ERR_MAX];
	const uint8_t *text;
	uint32_t len;
	int rc;

	*out = NULL;
	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (b->op != INTENT_PUT)
		return fail(err, errcap, SHOAL_E_STATE, "deleted", "");
	enum intent_trust trust = intent_store_judge(s, b->signer, b->hlc, &grant);
	if (trust != INTENT_TRUST_ROOT && trust != INTENT_TRUST_GRANTED)
		return fail(err, errcap, SHOAL_E_STATE,
		            trust == INTENT_TRUST_REVOKED ? "signer revoked" : "signer not trusted",
		            "");
	if ((rc = target_text(s, b, &text, &len, err, errcap)) != 0)
		return rc;
	if ((rc = selector_parse((const char *)text, len, &target, why, sizeof(why))) != 0)
		return fail(err, errcap, rc, "target: ", why);
	if (trust == INTENT_TRUST_ROOT) {
		*out = target;
		return 0;
	}
	if ((rc = selector_parse((const char *)grant.scope, grant.scope_len, &scope, why,
	                         sizeof(why))) != 0 ||
	    (rc = selector_and(target, scope, out, why, sizeof(why))) != 0) {
		selector_delete(target);
		selector_delete(scope);
		*out = NULL;
		return fail(err, errcap, rc, "target and scope: ", why);
	}
	selector_delete(target);
	selector_delete(scope);
	return 0;
}

int intent_store_selects(const struct intent_store *s, const struct intent_item *item,
                         const struct shoal_labels *labels)
{
	struct selector *sel;
	int rc = intent_store_effective_target(s, item, &sel, NULL, 0);
	if (rc != 0)
		return rc;
	bool match = selector_matches(sel, labels);
	selector_delete(sel);
	return match ? 1 : 0;
}
