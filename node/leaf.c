/*
 * leaf.c - where a member's API listens (docs/operations.md, "Leaf
 * sites"): a leaf asks a full node there for the fleet (api_proxy.c).
 * Whether a member is a leaf is shoal_labels_say_leaf (include/shoal/
 * leaf.h), shared with the simulator.
 *
 * The port is read from the member's signed record with the bounded
 * reader: another site's bytes, verified but not trusted to be well formed.
 */
#include "node.h"

#include "shoal/labels.h"

int node_member_api(const struct swim_member_info *mi, struct shoal_addr *out)
{
	const uint8_t *v;
	uint32_t vl, port = 0;
	if (shoal_labels_map_get(mi->labels, mi->labels_len, NODE_API_PORT_LABEL, &v, &vl) != 0 ||
	    vl == 0 || vl > 5)
		return -1;
	for (uint32_t i = 0; i < vl; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		port = port * 10 + (uint32_t)(v[i] - '0');
	}
	if (port == 0 || port > 65535)
		return -1;
	*out = mi->addr;
	out->port = (uint16_t)port;
	return 0;
}
