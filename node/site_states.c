/*
 * site_states.c - this site's per-intent states (site_states.h): a small
 * sorted array, because a site holds at most a few hundred and every
 * reader walks all of them.
 */
#include "site_states.h"

#include <errno.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "shoal/error.h"

void node_site_states_init(struct node_site_states *t)
{
	memset(t, 0, sizeof(*t));
}

void node_site_states_free(struct node_site_states *t)
{
	free(t->items);
	memset(t, 0, sizeof(*t));
}

static int compare(enum intent_kind ka, const char *na, enum intent_kind kb, const char *nb)
{
	if (ka != kb)
		return ka < kb ? -1 : 1;
	return strcmp(na, nb);
}

/* Index of the entry, or of where it would go (found says which). */
static size_t find(const struct node_site_states *t, enum intent_kind kind, const char *name,
                   bool *found)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = compare(t->items[mid].kind, t->items[mid].name, kind, name);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

int node_site_state_set(struct node_site_states *t, const struct node_site_state *st)
{
	size_t nlen = strnlen(st->name, sizeof(st->name));
	if (st->kind <= INTENT_KIND_NONE || st->kind >= INTENT_KIND_COUNT || nlen == 0 ||
	    nlen > INTENT_NAME_MAX ||
	    !intent_name_valid((const uint8_t *)st->name, (uint32_t)nlen) ||
	    st->state >= HEALTH_OWNER_STATES)
		return -EINVAL;
	bool found;
	size_t i = find(t, st->kind, st->name, &found);
	if (found) {
		struct node_site_state *old = &t->items[i];
		uint64_t since = old->since_ms;
		bool moved = old->state != st->state || old->version != st->version;
		if (!moved && memcmp(old, st, offsetof(struct node_site_state, since_ms)) == 0)
			return 0; /* nothing new */
		*old = *st;
		old->reason[NODE_SITE_REASON_MAX - 1] = '\0';
		if (!moved)
			old->since_ms = since;
		t->generation++;
		return 0;
	}
	if (t->n >= NODE_SITE_STATES_MAX)
		return SHOAL_E_TOO_BIG;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct node_site_state *items = realloc(t->items, cap * sizeof(*items));
		if (items == NULL)
			return -ENOMEM;
		t->items = items;
		t->cap = cap;
	}
	memmove(&t->items[i + 1], &t->items[i], (t->n - i) * sizeof(*t->items));
	t->items[i] = *st;
	t->items[i].reason[NODE_SITE_REASON_MAX - 1] = '\0';
	t->n++;
	t->generation++;
	return 0;
}

int node_site_state_remove(struct node_site_states *t, enum intent_kind kind, const char *name)
{
	bool found;
	size_t i = find(t, kind, name, &found);
	if (!found)
		return SHOAL_E_NOT_FOUND;
	memmove(&t->items[i], &t->items[i + 1], (t->n - i - 1) * sizeof(*t->items));
	t->n--;
	t->generation++;
	return 0;
}

const struct node_site_state *node_site_state_get(const struct node_site_states *t,
                                                  enum intent_kind kind, const char *name)
{
	bool found;
	size_t i = find(t, kind, name, &found);
	return found ? &t->items[i] : NULL;
}
