/*
 * leaf.c - what leaf mode reads from member records (docs/operations.md,
 * "Leaf sites"): whether a member is a leaf (SWIM's is_quiet hook, so that
 * health announcements never go to one) and where a member's API listens
 * (a leaf asks a full node there for the fleet, api_proxy.c).
 *
 * Both read labels from signed member records with the bounded reader:
 * another site's bytes, verified but not trusted to be well formed.
 */
#include "node.h"

#include <string.h>

#include "shoal/mp.h"

/* The value of `key` in a msgpack labels map: 0, or -1 if absent or the
 * map does not decode. */
static int label_value(const uint8_t *labels, size_t len, const char *key, const uint8_t **val,
                       uint32_t *vlen)
{
	const uint8_t *pos = labels, *end = labels + len;
	uint32_t count;
	size_t klen = strlen(key);
	if (labels == NULL || len == 0 || shoal_mp_read_map(&pos, end, &count) != 0)
		return -1;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *k, *v;
		uint32_t kl, vl;
		if (shoal_mp_read_str(&pos, end, &k, &kl) != 0 ||
		    shoal_mp_read_str(&pos, end, &v, &vl) != 0)
			return -1;
		if (kl == klen && memcmp(k, key, klen) == 0) {
			*val = v;
			*vlen = vl;
			return 0;
		}
	}
	return -1;
}

bool node_labels_say_leaf(void *ctx, const uint8_t *labels, size_t len)
{
	const uint8_t *v;
	uint32_t vl;
	(void)ctx;
	return label_value(labels, len, NODE_ROLE_LABEL, &v, &vl) == 0 &&
	       vl == strlen(NODE_ROLE_LEAF) && memcmp(v, NODE_ROLE_LEAF, vl) == 0;
}

int node_member_api(const struct swim_member_info *mi, struct shoal_addr *out)
{
	const uint8_t *v;
	uint32_t vl, port = 0;
	if (label_value(mi->labels, mi->labels_len, NODE_API_PORT_LABEL, &v, &vl) != 0 || vl == 0 ||
	    vl > 5)
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
