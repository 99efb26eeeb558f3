/*
 * api_dashboard.c - GET / and the dashboard's script, style sheet and icon:
 * the fleet page every node serves (node/dashboard/, embedded at build time).
 *
 * The page is static; everything it shows it fetches from this node's own
 * JSON API (/v1/fleet, /v1/fleet/sites). Script and style are separate
 * files rather than inline so the Content-Security-Policy can allow 'self'
 * and nothing else: no inline code, no other origin, no framing. The page
 * is "no-cache" (revalidate, so a new shoald's page is picked up at once)
 * where the API is "no-store".
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "dashboard_assets.h"

/* Everything the page loads comes from this node; fetches go to its API. */
#define DASHBOARD_CSP                                                                              \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "                \
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

struct dashboard_asset {
	const char *path;          /* route */
	const char *type;          /* Content-Type */
	const unsigned char *data; /* embedded bytes */
	const size_t *len;         /* their length (a variable of the generated file) */
};

static const struct dashboard_asset assets[] = {
        {"/", "text/html; charset=utf-8", node_dashboard_index_html,
         &node_dashboard_index_html_len},
        {"/dashboard.js", "text/javascript; charset=utf-8", node_dashboard_dashboard_js,
         &node_dashboard_dashboard_js_len},
        {"/dashboard.css", "text/css; charset=utf-8", node_dashboard_dashboard_css,
         &node_dashboard_dashboard_css_len},
        {"/favicon.svg", "image/svg+xml", node_dashboard_favicon_svg,
         &node_dashboard_favicon_svg_len},
};

void node_api_dashboard(struct node_http_req *req)
{
	for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++) {
		const struct dashboard_asset *a = &assets[i];
		if (strcmp(req->path, a->path) != 0)
			continue;
		/* The server frees the body it sends; the page is tens of KiB and
		 * loaded once per browser tab, so a copy costs nothing worth saving. */
		char *copy = malloc(*a->len > 0 ? *a->len : 1);
		if (copy == NULL) {
			node_http_error(req, 500, "internal", "out of memory");
			return;
		}
		memcpy(copy, a->data, *a->len);
		req->text = copy;
		req->text_len = *a->len;
		req->content_type = a->type;
		req->cache_control = "no-cache";
		req->csp = DASHBOARD_CSP;
		req->status = 200;
		return;
	}
	node_http_error(req, 404, "not_found", "no such dashboard file");
}
