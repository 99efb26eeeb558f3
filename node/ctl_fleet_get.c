/*
 * ctl_fleet_get.c - one GET of a fleet route with a selector, and the
 * whole site list taken page by page.
 *
 * The selector is the command line's, and the node is the one that parses
 * it (the same parser that every other route uses, so shoalctl never
 * accepts what the API would refuse). A 400 from these routes can only be
 * about that selector, so it is a usage error (exit 2), with the node's
 * reason already printed by ctl_api.
 */
#include <stdio.h>
#include <string.h>

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

/* A walk of more pages than this is a node that never ends it. */
#define PAGES_MAX 100000
/* A continue token percent-encoded (tokens are ~100 URL-safe characters). */
#define TOKEN_ENC_MAX 1024

/* The page's continue token, percent-encoded into enc ("" at the end). 0,
 * or -1 for a token that cannot be one. */
static int next_token(const json_t *page, char *enc, size_t cap)
{
	const json_t *next = json_object_get(page, "continue");
	enc[0] = '\0';
	if (next == NULL || json_is_null(next))
		return 0;
	if (!json_is_string(next) || json_string_length(next) == 0)
		return -1;
	return ctl_url_encode(json_string_value(next), enc, cap) == 0 ? 0 : -1;
}

int ctl_sites_get(const struct ctl_opts *o, const char *selector, size_t chunk, json_t **body)
{
	char token[TOKEN_ENC_MAX], extra[TOKEN_ENC_MAX + 64];
	json_t *sites = json_array(), *sel = NULL;
	int rc = CTL_EXIT_OK;
	*body = NULL;
	token[0] = '\0';
	for (int pages = 0; rc == CTL_EXIT_OK; pages++) {
		json_t *page = NULL;
		if (chunk == 0)
			extra[0] = '\0'; /* everything in one answer */
		else
			snprintf(extra, sizeof(extra), "&limit=%zu%s%s", chunk,
			         token[0] != '\0' ? "&continue=" : "", token);
		rc = ctl_fleet_get(o, "/v1/fleet/sites", selector, extra, &page, NULL);
		if (rc != CTL_EXIT_OK)
			break;
		json_t *list = json_object_get(page, "sites");
		if (!json_is_array(list) || json_array_extend(sites, list) != 0) {
			rc = ctl_fail("node %s: the site list has no \"sites\"", o->node);
		} else if (next_token(page, token, sizeof(token)) != 0) {
			rc = ctl_fail("node %s: the site list has a bad continue token", o->node);
		} else if (token[0] != '\0' && (json_array_size(list) == 0 || pages >= PAGES_MAX)) {
			rc = ctl_fail("node %s: the site list does not end", o->node);
		} else if (sel == NULL) {
			sel = json_incref(json_object_get(page, "selector"));
		}
		json_decref(page);
		if (token[0] == '\0')
			break;
	}
	if (rc == CTL_EXIT_OK)
		*body = json_pack("{s:O,s:I,s:O}", "selector", sel != NULL ? sel : json_null(),
		                  "count", (json_int_t)json_array_size(sites), "sites", sites);
	if (rc == CTL_EXIT_OK && *body == NULL)
		rc = ctl_fail("out of memory");
	json_decref(sel);
	json_decref(sites);
	return rc;
}
