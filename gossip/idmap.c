/*
 * idmap.c - name id -> uint32 map, open addressing with linear probing and
 * backward-shift deletion (no tombstones). Used where only a few of the
 * members have an entry: pending broadcasts, running suspicions.
 */
#include "swim_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint32_t map_slot(const struct swim_idmap *m, uint32_t key)
{
	return (uint32_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (m->cap - 1);
}

uint32_t swim_idmap_get(const struct swim_idmap *m, uint32_t id)
{
	if (m->cap == 0)
		return SWIM_NONE;
	for (uint32_t i = map_slot(m, id + 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == 0)
			return SWIM_NONE;
		if (m->keys[i] == id + 1)
			return m->vals[i];
	}
}

int swim_idmap_put(struct swim_idmap *m, uint32_t id, uint32_t val);

static int map_grow(struct swim_idmap *m)
{
	struct swim_idmap n = {0};
	n.cap = m->cap == 0 ? 16 : m->cap * 2;
	n.keys = calloc(n.cap, sizeof(*n.keys));
	n.vals = calloc(n.cap, sizeof(*n.vals));
	if (n.keys == NULL || n.vals == NULL) {
		free(n.keys);
		free(n.vals);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < m->cap; i++)
		if (m->keys[i] != 0)
			swim_idmap_put(&n, m->keys[i] - 1, m->vals[i]);
	free(m->keys);
	free(m->vals);
	*m = n;
	return 0;
}

int swim_idmap_put(struct swim_idmap *m, uint32_t id, uint32_t val)
{
	int rc;
	if ((m->len + 1) * 2 > m->cap && (rc = map_grow(m)) < 0)
		return rc;
	uint32_t i = map_slot(m, id + 1);
	while (m->keys[i] != 0 && m->keys[i] != id + 1)
		i = (i + 1) & (m->cap - 1);
	if (m->keys[i] == 0)
		m->len++;
	m->keys[i] = id + 1;
	m->vals[i] = val;
	return 0;
}

/* Linear-probing delete by backward shift: no tombstones to pile up. */
void swim_idmap_del(struct swim_idmap *m, uint32_t id)
{
	if (m->cap == 0)
		return;
	uint32_t i = map_slot(m, id + 1);
	while (m->keys[i] != id + 1) {
		if (m->keys[i] == 0)
			return;
		i = (i + 1) & (m->cap - 1);
	}
	m->len--;
	for (;;) {
		uint32_t j = i;
		m->keys[i] = 0;
		for (;;) {
			j = (j + 1) & (m->cap - 1);
			if (m->keys[j] == 0)
				return;
			uint32_t home = map_slot(m, m->keys[j]);
			/* Move j back to i unless its home lies cyclically in (i, j]. */
			bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
			if (!stays)
				break;
		}
		m->keys[i] = m->keys[j];
		m->vals[i] = m->vals[j];
		i = j;
	}
}

void swim_idmap_destroy(struct swim_idmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
