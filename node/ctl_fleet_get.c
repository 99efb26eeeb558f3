/*
 * ctl_fleet_get.c - one GET of a fleet route with a selector.
 *
 * The selector is the command line's, and the node is the one that parses
 * it (the same parser that every other route uses, so shoalctl never
 * accepts what the API would refuse). A 400 from these routes can only be
 * about that selector, so it is a usage error (exit 2), with the node's
 * reason already printed by ctl_api.
 */
#include <stdio.h>

#include "ctl.h"
#include "ctl_api.h"
#include "ctl_fleet.h"
#include "ctl_format.h"

/* A selector is at most a few KB; the API caps its own input below this. */
#define SELECTOR_ENC_MAX (3 * 4096 + 1)

int ctl_fleet_get(const struct ctl_opts *o, const char *route, const char *selector,
                  const char *extra, json_t **body, struct ctl_http_resp *raw)
{
	char enc[SELECTOR_ENC_MAX], path[SELECTOR_ENC_MAX + 128];
	if (ctl_url_encode(selector != NULL ? selector : "", enc, sizeof(enc)) != 0)
		return ctl_usage_error(NULL, "the selector is too long");
	int n = snprintf(path, sizeof(path), "%s?selector=%s%s", route, enc,
	                 extra != NULL ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(path))
		return ctl_usage_error(NULL, "the selector is too long");
	long status = 0;
	int rc = ctl_api_call_status(o, "GET", path, NULL, body, raw, &status);
	if (rc != CTL_EXIT_OK && status == 400)
		return CTL_EXIT_USAGE;
	return rc;
}
