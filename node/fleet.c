/*
 * fleet.c - walking the fleet: membership and the health table joined by
 * site name, filtered by a selector, each site given its observer's view
 * (fleet.h). Records are decoded one at a time into one scratch record.
 */
#include "fleet.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "node.h"

const char *fleet_view_name(enum fleet_view v)
{
	static const char *const names[] = {"fresh", "stale", "unreachable", "unknown"};
	return v < FLEET_VIEWS ? names[v] : "unknown";
}

const char *fleet_band_name(const struct fleet_site *s)
{
	if (s->view != FLEET_FRESH || s->entry == NULL)
		return NULL;
	return health_band_name(health_band_of(s->entry->score.score));
}

enum health_state fleet_intent_state(const struct fleet_site *s, enum intent_kind kind,
                                     const char *name, uint64_t *version)
{
	*version = 0;
	if (s->view == FLEET_UNREACHABLE)
		return HEALTH_UNREACHABLE;
	if (s->rec == NULL)
		return s->view == FLEET_STALE ? HEALTH_STALE : HEALTH_PENDING;
	size_t len = strlen(name);
	for (uint32_t i = 0; i < s->rec->n_intents; i++) {
		const struct health_intent *it = &s->rec->intents[i];
		if (it->kind == kind && it->name.len == len && memcmp(it->name.s, name, len) == 0) {
			*version = it->version;
			return s->view == FLEET_STALE ? HEALTH_STALE : it->state;
		}
	}
	return s->view == FLEET_STALE ? HEALTH_STALE : HEALTH_PENDING;
}

/* A record's labels as a selector view (strings NUL-terminated into text). */
static void record_labels(const struct health_record *r, struct node_site_labels *out)
{
	size_t used = 0;
	out->view.items = out->items;
	out->view.n = 0;
	for (uint32_t i = 0; i < r->n_labels && out->view.n < SWIM_LABELS_MAX / 2; i++) {
		const struct health_label *l = &r->labels[i];
		if (used + l->key.len + l->value.len + 2 > sizeof(out->text))
			break;
		char *key = out->text + used;
		memcpy(key, l->key.s, l->key.len);
		key[l->key.len] = '\0';
		char *value = key + l->key.len + 1;
		if (l->value.len > 0)
			memcpy(value, l->value.s, l->value.len);
		value[l->value.len] = '\0';
		used += l->key.len + l->value.len + 2;
		out->items[out->view.n++] = (struct shoal_label){key, value};
	}
}

static bool decode(const struct health_entry *e, struct health_record *r)
{
	const uint8_t *body, *sig;
	uint32_t body_len;
	return health_envelope_split(e->bytes, e->len, &body, &body_len, &sig) == 0 &&
	       health_body_decode(body, body_len, r) == 0;
}

static enum fleet_view view_of(uint64_t now, uint64_t refresh_us, const struct health_entry *e,
                               bool reachable)
{
	if (!reachable)
		return FLEET_UNREACHABLE;
	if (e == NULL)
		return FLEET_UNKNOWN;
	switch (health_view_of(now, e->received, refresh_us, reachable)) {
	case HEALTH_FRESH:
		return FLEET_FRESH;
	case HEALTH_VIEW_STALE:
		return FLEET_STALE;
	default:
		return FLEET_UNREACHABLE;
	}
}

int node_fleet_walk(struct node *n, const struct selector *sel, fleet_site_fn fn, void *ctx)
{
	struct node_site_labels *labels = malloc(sizeof(*labels));
	struct health_record *rec = malloc(sizeof(*rec));
	struct health_table *t = n->health.table;
	uint64_t now = node_now(), refresh = node_health_refresh_us(n);
	struct swim_member_info m;
	struct health_entry e;
	uint32_t cursor = 0;
	if (labels == NULL || rec == NULL) {
		free(labels);
		free(rec);
		return -ENOMEM;
	}
	/* Sites membership knows. Counting the records they hold tells
	 * whether any record is left for the second walk. */
	uint32_t matched = 0;
	while (n->swim != NULL && swim_member_next(n->swim, &cursor, &m) == 0) {
		bool has = t != NULL && health_table_get(t, m.name, strlen(m.name), &e) == 0;
		matched += has;
		if (m.state == SWIM_LEFT)
			continue;
		if (!node_site_labels_decode(m.labels, m.labels_len, labels) ||
		    (sel != NULL && !selector_matches(sel, &labels->view)))
			continue;
		bool decoded = has && decode(&e, rec);
		struct fleet_site s = {
		        .name = m.name,
		        .member_state = swim_state_name(m.state),
		        .view = view_of(now, refresh, has ? &e : NULL, m.state == SWIM_ALIVE),
		        .entry = has ? &e : NULL,
		        .rec = decoded ? rec : NULL,
		        .labels = &labels->view,
		        .age_us = has && now > e.received ? now - e.received : 0};
		fn(ctx, &s);
	}
	/* Records of sites membership has forgotten (dead long enough to be
	 * reaped): shown unreachable, with the labels their record carried. */
	cursor = 0;
	while (t != NULL && matched < health_table_count(t) &&
	       health_table_next(t, &cursor, &e) == 0) {
		if (n->swim != NULL && swim_member_find(n->swim, e.site, &m) == 0)
			continue;
		if (!decode(&e, rec))
			continue;
		record_labels(rec, labels);
		if (sel != NULL && !selector_matches(sel, &labels->view))
			continue;
		struct fleet_site s = {.name = e.site,
		                       .member_state = "gone",
		                       .view = FLEET_UNREACHABLE,
		                       .entry = &e,
		                       .rec = rec,
		                       .labels = &labels->view,
		                       .age_us = now > e.received ? now - e.received : 0};
		fn(ctx, &s);
	}
	free(labels);
	free(rec);
	return 0;
}
