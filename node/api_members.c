/*
 * api_members.c - GET /v1/members: every member this node knows, in any
 * state, self included, sorted by name.
 *
 * SWIM's snapshot pointers live only until the next call into it, so each
 * member is copied into JSON as it is read; sorting happens on the JSON.
 * "since" is the monotonic instant the member entered its state, shown as
 * wall time by its distance from now.
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"

#include "clock.h"
#include "node.h"

static int by_name(const void *a, const void *b)
{
	json_t *const *x = a, *const *y = b;
	return strcmp(json_string_value(json_object_get(*x, "name")),
	              json_string_value(json_object_get(*y, "name")));
}

/* Another site's text, or null if it is not valid UTF-8. */
static json_t *text_or_null(const char *s)
{
	json_t *j = s != NULL ? json_string(s) : NULL;
	return j != NULL ? j : json_null();
}

static const char *trust_name(enum node_trust_match t)
{
	return t == NODE_TRUST_MATCH ? "match" : t == NODE_TRUST_MISMATCH ? "mismatch" : "unknown";
}

static json_t *member_json(const struct node *n, const struct swim_member_info *m,
                           uint64_t now_mono, uint64_t now_wall)
{
	return json_pack("{s:s,s:o,s:s,s:I,s:o,s:o,s:o,s:o,s:b,s:s}", "name", m->name, "address",
	                 node_api_addr(&m->addr), "state", swim_state_name(m->state), "incarnation",
	                 (json_int_t)m->incarnation, "labels",
	                 node_api_labels(m->labels, m->labels_len), "version",
	                 text_or_null(m->version), "public_key", node_api_base64(m->pubkey, 32),
	                 "since", node_api_time(m->since, now_mono, now_wall), "self", m->is_self,
	                 "trust_roots", trust_name(node_trust_of(n, m->labels, m->labels_len)));
}

void node_api_members(struct node_http_req *req)
{
	struct node *n = req->ctx;
	uint64_t now_mono = node_now(), now_wall = node_clock_wall_us();
	struct swim_member_info m;
	uint32_t cursor = 0;
	size_t count = 0, cap = 0;
	json_t **items = NULL;

	while (swim_member_next(n->swim, &cursor, &m) == 0) {
		json_t *j = member_json(n, &m, now_mono, now_wall);
		if (j == NULL)
			continue;
		/* Only our own: annotations are not gossiped (api_self.c). */
		if (m.is_self)
			json_object_set_new(j, "annotations", node_api_annotations(n));
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			json_t **grown = realloc(items, ncap * sizeof(*items));
			if (grown == NULL) {
				json_decref(j);
				break;
			}
			items = grown;
			cap = ncap;
		}
		items[count++] = j;
	}
	if (count > 0)
		qsort(items, count, sizeof(*items), by_name);
	json_t *arr = json_array();
	for (size_t i = 0; i < count; i++)
		json_array_append_new(arr, items[i]);
	free(items);
	node_http_json(req, 200, json_pack("{s:o}", "members", arr));
}
