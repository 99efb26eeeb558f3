/*
 * api_alerts.c - GET /v1/alerts: every AlertRule in effect on this node,
 * with its state as this node judges it (alerts.c): firing or not, since
 * when, the sites listing it (per-site rules) or matching it (fleet-wide
 * rules), and which live member delivers it to its webhook.
 */
#include "api.h"

#include "node.h"

void node_api_alerts(struct node_http_req *req)
{
	struct node *n = req->ctx;
	if (node_api_proxied(req))
		return; /* a leaf judges no fleet: a full node answers */
	json_t *body = node_alerts_json(n);
	if (body == NULL) {
		node_http_error(req, 503, "unavailable", "out of memory");
		return;
	}
	node_http_json(req, 200, body);
}
