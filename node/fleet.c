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

/* What a walk needs beside the node: scratch space for one site's labels
 * and record, and the clock read once. */
struct walk {
	struct node *n;
	struct node_site_labels *labels;
	struct health_record *rec;
	uint64_t now, refresh;
	unsigned flags;
};

static int walk_begin(struct walk *w, struct node *n, unsigned flags)
{
	w->n = n;
	w->flags = flags;
	w->labels = malloc(sizeof(*w->labels));
	w->rec = malloc(sizeof(*w->rec));
	w->now = node_now();
	w->refresh = node_health_refresh_us(n);
	if (w->labels == NULL || w->rec == NULL) {
		free(w->labels);
		free(w->rec);
		return -ENOMEM;
	}
	return 0;
}

static void walk_end(struct walk *w)
{
	free(w->labels);
	free(w->rec);
}

/* A site membership knows (not left), with its record `e` if `has`. */
static void visit_member(struct walk *w, const struct selector *sel,
                         const struct swim_member_info *m, const struct health_entry *e, bool has,
                         fleet_site_fn fn, void *ctx)
{
	if (sel == NULL && (w->flags & FLEET_WALK_NO_RECORD)) {
		/* Nothing reads them: member labels always decode (SWIM checked
		 * them on arrival), so the walk shows the same sites without. */
		w->labels->view.items = w->labels->items;
		w->labels->view.n = 0;
	} else if (!node_site_labels_decode(m->labels, m->labels_len, w->labels) ||
	           (sel != NULL && !selector_matches(sel, &w->labels->view))) {
		return;
	}
	bool decoded = has && !(w->flags & FLEET_WALK_NO_RECORD) && decode(e, w->rec);
	struct fleet_site s = {
	        .name = m->name,
	        .member_state = swim_state_name(m->state),
	        .view = view_of(w->now, w->refresh, has ? e : NULL, m->state == SWIM_ALIVE),
	        .entry = has ? e : NULL,
	        .rec = decoded ? w->rec : NULL,
	        .labels = &w->labels->view,
	        .age_us = has && w->now > e->received ? w->now - e->received : 0};
	fn(ctx, &s);
}

/* The record of a site membership has forgotten (dead long enough to be
 * reaped): shown unreachable, with the labels its record carried. Its
 * record is decoded whatever the flags: the labels are in it. */
static void visit_gone(struct walk *w, const struct selector *sel, const struct health_entry *e,
                       fleet_site_fn fn, void *ctx)
{
	if (!decode(e, w->rec))
		return;
	record_labels(w->rec, w->labels);
	if (sel != NULL && !selector_matches(sel, &w->labels->view))
		return;
	struct fleet_site s = {.name = e->site,
	                       .member_state = "gone",
	                       .view = FLEET_UNREACHABLE,
	                       .entry = e,
	                       .rec = (w->flags & FLEET_WALK_NO_RECORD) ? NULL : w->rec,
	                       .labels = &w->labels->view,
	                       .age_us = w->now > e->received ? w->now - e->received : 0};
	fn(ctx, &s);
}

int node_fleet_walk_flags(struct node *n, const struct selector *sel, unsigned flags,
                          fleet_site_fn fn, void *ctx)
{
	struct health_table *t = n->health.table;
	struct swim_member_info m;
	struct health_entry e;
	uint32_t cursor = 0;
	struct walk w;
	if (walk_begin(&w, n, flags) != 0)
		return -ENOMEM;
	/* Sites membership knows. Counting the records they hold tells
	 * whether any record is left for the second walk. */
	uint32_t matched = 0;
	while (n->swim != NULL && swim_member_next(n->swim, &cursor, &m) == 0) {
		bool has = t != NULL && health_table_get(t, m.name, strlen(m.name), &e) == 0;
		matched += has;
		if (m.state != SWIM_LEFT)
			visit_member(&w, sel, &m, &e, has, fn, ctx);
	}
	cursor = 0;
	while (t != NULL && matched < health_table_count(t) &&
	       health_table_next(t, &cursor, &e) == 0) {
		if (n->swim == NULL || swim_member_find(n->swim, e.site, &m) != 0)
			visit_gone(&w, sel, &e, fn, ctx);
	}
	walk_end(&w);
	return 0;
}

int node_fleet_walk(struct node *n, const struct selector *sel, fleet_site_fn fn, void *ctx)
{
	return node_fleet_walk_flags(n, sel, 0, fn, ctx);
}

/* Counts the visits node_fleet_site passes on. */
struct one_visit {
	fleet_site_fn fn;
	void *ctx;
	int visited;
};

static void on_visit(void *ctx, const struct fleet_site *s)
{
	struct one_visit *v = ctx;
	v->visited = 1;
	v->fn(v->ctx, s);
}

int node_fleet_site(struct node *n, const char *name, fleet_site_fn fn, void *ctx)
{
	struct health_table *t = n->health.table;
	struct swim_member_info m;
	struct health_entry e;
	struct one_visit v = {fn, ctx, 0};
	struct walk w;
	bool has = t != NULL && health_table_get(t, name, strlen(name), &e) == 0;
	bool member = n->swim != NULL && swim_member_find(n->swim, name, &m) == 0;
	if (member ? m.state == SWIM_LEFT : !has)
		return 0; /* the walk shows neither a left member nor nothing */
	if (walk_begin(&w, n, 0) != 0)
		return -ENOMEM;
	if (member)
		visit_member(&w, NULL, &m, &e, has, on_visit, &v);
	else
		visit_gone(&w, NULL, &e, on_visit, &v);
	walk_end(&w);
	return v.visited;
}
