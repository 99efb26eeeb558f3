/*
 * api_self.c - GET /healthz and GET /v1/self: this node as it sees itself.
 */
#include "api.h"

#include "node.h"

void node_api_healthz(struct node_http_req *req)
{
	struct node *n = req->ctx;
	node_http_json(req, 200, json_pack("{s:s,s:s}", "status", "ok", "name", n->cfg->name));
}

void node_api_self(struct node_http_req *req)
{
	struct node *n = req->ctx;
	const struct node_config *cfg = n->cfg;
	uint32_t counts[4] = {0, 0, 0, 0};
	json_t *labels = json_object();

	for (size_t i = 0; i < cfg->nlabels; i++)
		json_object_set_new(labels, cfg->labels[i].key, json_string(cfg->labels[i].value));
	swim_member_counts(n->swim, counts);
	node_http_json(
	        req, 200,
	        json_pack("{s:s,s:o,s:I,s:o,s:s,s:o,s:I,s:{s:I,s:I,s:I,s:I}}", "name", cfg->name,
	                  "address", node_api_addr(&cfg->advertise), "incarnation",
	                  (json_int_t)swim_incarnation(n->swim), "labels", labels, "version",
	                  SHOAL_VERSION, "public_key", node_api_base64(n->pk, sizeof(n->pk)),
	                  "awareness", (json_int_t)swim_awareness(n->swim), "members", "alive",
	                  (json_int_t)counts[SWIM_ALIVE], "suspect",
	                  (json_int_t)counts[SWIM_SUSPECT], "dead", (json_int_t)counts[SWIM_DEAD],
	                  "left", (json_int_t)counts[SWIM_LEFT]));
}
