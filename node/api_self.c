/*
 * api_self.c - GET /healthz and GET /v1/self: this node as it sees itself.
 *
 * Annotations (the operator's and the raw DMI strings) stay on this node:
 * at up to 256 bytes a value they would not fit the 512 bytes a member
 * record gives to labels, and nobody selects by them. Other sites'
 * annotations are for the health record, which has room for them.
 */
#include "api.h"

#include "node.h"

json_t *node_api_annotations(const struct node *n)
{
	struct shoal_label sys[NODE_SYS_ANNOTATIONS_MAX];
	size_t nsys = node_sysinfo_annotations(&n->sys, sys);
	json_t *obj = json_object();
	for (size_t i = 0; i < n->cfg->nannotations; i++)
		json_object_set_new(obj, n->cfg->annotations[i].key,
		                    json_string(n->cfg->annotations[i].value));
	/* A raw DMI string that is not UTF-8 cannot be shown; it is left out. */
	for (size_t i = 0; i < nsys; i++) {
		json_t *v = json_string(sys[i].value);
		if (v != NULL)
			json_object_set_new(obj, sys[i].key, v);
	}
	return obj;
}

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
	struct shoal_label all[NODE_ALL_LABELS_MAX];
	size_t nall = node_labels_compose(n, &n->sys, all);

	for (size_t i = 0; i < nall; i++)
		json_object_set_new(labels, all[i].key, json_string(all[i].value));
	swim_member_counts(n->swim, counts);
	node_http_json(req, 200,
	               json_pack("{s:s,s:o,s:I,s:o,s:o,s:s,s:o,s:I,s:{s:I,s:I,s:I,s:I}}", "name",
	                         cfg->name, "address", node_api_addr(&cfg->advertise),
	                         "incarnation", (json_int_t)swim_incarnation(n->swim), "labels",
	                         labels, "annotations", node_api_annotations(n), "version",
	                         SHOAL_VERSION, "public_key", node_api_base64(n->pk, sizeof(n->pk)),
	                         "awareness", (json_int_t)swim_awareness(n->swim), "members",
	                         "alive", (json_int_t)counts[SWIM_ALIVE], "suspect",
	                         (json_int_t)counts[SWIM_SUSPECT], "dead",
	                         (json_int_t)counts[SWIM_DEAD], "left",
	                         (json_int_t)counts[SWIM_LEFT]));
}
