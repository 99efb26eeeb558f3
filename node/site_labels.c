/*
 * site_labels.c - a member record's labels, decoded for selectors: the
 * sites API, the fleet view and the reconciler all match selectors against
 * the labels in a member's signed record, so every node that holds the same
 * records gets the same answer.
 */
#include "api.h"

#include <string.h>

#include "shoal/mp.h"

bool node_site_labels_decode(const uint8_t *mp, size_t len, struct node_site_labels *out)
{
	const uint8_t *pos = mp, *end = mp + len;
	uint32_t count;
	size_t used = 0;
	out->view.items = out->items;
	out->view.n = 0;
	if (mp == NULL || len == 0)
		return true;
	if (shoal_mp_read_map(&pos, end, &count) != 0 ||
	    count > sizeof(out->items) / sizeof(out->items[0]))
		return false;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *k, *v;
		uint32_t kl, vl;
		if (shoal_mp_read_str(&pos, end, &k, &kl) != 0 ||
		    shoal_mp_read_str(&pos, end, &v, &vl) != 0 ||
		    used + kl + vl + 2 > sizeof(out->text))
			return false;
		char *key = out->text + used;
		memcpy(key, k, kl);
		key[kl] = '\0';
		char *value = key + kl + 1;
		memcpy(value, v, vl);
		value[vl] = '\0';
		used += kl + vl + 2;
		out->items[out->view.n++] = (struct shoal_label){key, value};
	}
	return true;
}
