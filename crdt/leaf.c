/*
 * leaf.c - is a member a leaf site? Its record's role label says
 * (include/shoal/leaf.h).
 */
#include "shoal/leaf.h"

#include <string.h>

#include "shoal/labels.h"

bool shoal_labels_say_leaf(void *ctx, const uint8_t *labels, size_t len)
{
	const uint8_t *v;
	uint32_t vl;
	(void)ctx;
	return shoal_labels_map_get(labels, len, SHOAL_ROLE_LABEL, &v, &vl) == 0 &&
	       vl == strlen(SHOAL_ROLE_LEAF) && memcmp(v, SHOAL_ROLE_LEAF, vl) == 0;
}
