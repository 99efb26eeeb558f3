/*
 * fleet_line.c - one site's line of GET /v1/fleet/sites as JSON text
 * (fleet_line.h). The bytes are those the line built as jansson objects
 * and dumped would give; strings jansson would refuse (not UTF-8) are left
 * out the way its setters leave them out.
 */
#include "fleet_line.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_text.h"

#define GEO_LAT "geo.shoal.io/lat"
#define GEO_LON "geo.shoal.io/lon"

/* The fields in the order a line lists them. */
enum field {
	F_NAME,
	F_STATE,
	F_VIEW,
	F_BAND,
	F_LABELS,
	F_SCORE,
	F_COMPONENTS,
	F_CPU,
	F_MEM,
	F_DISK,
	F_VERSION,
	F_AGE,
	F_ANNOTATIONS,
	F_LAT,
	F_LON,
	F_INTENTS,
	F_PODS,
	F_LINKS,
	F_COUNT,
};

/* Each field's name, and its key as it is written (quoted, with the colon). */
#define FIELD(n)                                                                                   \
	{                                                                                          \
		n, "\"" n "\":", sizeof("\"" n "\":") - 1                                          \
	}
static const struct {
	const char *name;
	const char *key;
	size_t key_len;
} fields[F_COUNT] = {
        FIELD("name"),        FIELD("state"),    FIELD("view"),       FIELD("band"),
        FIELD("labels"),      FIELD("score"),    FIELD("components"), FIELD("cpu_pct"),
        FIELD("mem_pct"),     FIELD("disk_pct"), FIELD("version"),    FIELD("age_s"),
        FIELD("annotations"), FIELD("lat"),      FIELD("lon"),        FIELD("intents"),
        FIELD("pods"),        FIELD("links"),
};

_Static_assert(FLEET_LINE_ALL == (1u << F_COUNT) - 1, "FLEET_LINE_ALL covers every field");

int fleet_line_fields_parse(const char *text, uint32_t *mask, char *err, size_t errcap)
{
	uint32_t m = 1u << F_NAME;
	const char *p = text;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		int found = -1;
		for (int f = 0; f < F_COUNT && found < 0; f++)
			if (strlen(fields[f].name) == len && memcmp(fields[f].name, p, len) == 0)
				found = f;
		if (found < 0) {
			if (len == 0)
				snprintf(err, errcap, "fields: an empty field name");
			else
				snprintf(err, errcap,
				         "fields: no field %.*s (known: name, state, view, band, "
				         "labels, "
				         "score, components, cpu_pct, mem_pct, disk_pct, version, "
				         "age_s, "
				         "annotations, lat, lon, intents, pods, links)",
				         (int)(len > 64 ? 64 : len), p);
			return -EINVAL;
		}
		m |= 1u << found;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	*mask = m;
	return 0;
}

/* ,"key": -- the separator and key of a field after the first. */
static void key(struct shoal_buf *b, bool *first, const char *k)
{
	if (*first)
		JSON_TEXT_LIT(b, "\"");
	else
		JSON_TEXT_LIT(b, ",\"");
	json_text_raw(b, k);
	JSON_TEXT_LIT(b, "\":");
	*first = false;
}

/* "key":n with the separator before it, for the fixed objects. */
static void int_field(struct shoal_buf *b, const char *sep_key, size_t len, int64_t v)
{
	json_text_put(b, sep_key, len);
	json_text_int(b, v);
}
#define INT_FIELD(b, lit, v) int_field((b), (lit), sizeof(lit) - 1, (v))

/* One "key":"value" pair after a comma unless first; nothing (and false)
 * when either is not UTF-8: jansson's setters leave such a pair out. */
static bool pair(struct shoal_buf *b, bool first, const char *k, size_t kl, const char *v,
                 size_t vl)
{
	size_t mark = b->len;
	if (!first)
		JSON_TEXT_LIT(b, ",");
	if (memchr(k, '\0', kl) == NULL && json_text_str(b, k, kl)) {
		JSON_TEXT_LIT(b, ":");
		if (json_text_str(b, v, vl))
			return true;
	}
	if (b->err == 0)
		b->len = mark;
	return false;
}

/* A record's pairs (records allow no duplicate keys). */
static void pairs(struct shoal_buf *b, const struct health_label *p, uint32_t n)
{
	bool first = true;
	JSON_TEXT_LIT(b, "{");
	for (uint32_t i = 0; i < n; i++)
		if (pair(b, first, p[i].key.s, p[i].key.len,
		         p[i].value.s != NULL ? p[i].value.s : "", p[i].value.len))
			first = false;
	JSON_TEXT_LIT(b, "}");
}

/* The member record's labels (sorted, no duplicate keys). */
static void labels(struct shoal_buf *b, const struct shoal_labels *l)
{
	bool first = true;
	JSON_TEXT_LIT(b, "{");
	for (size_t i = 0; i < l->n; i++)
		if (pair(b, first, l->items[i].key, strlen(l->items[i].key), l->items[i].value,
		         strlen(l->items[i].value)))
			first = false;
	JSON_TEXT_LIT(b, "}");
}

/* A coordinate annotation as a number in [-lim, lim], or null. */
static void coordinate(struct shoal_buf *b, const struct health_record *r, const char *k,
                       double lim)
{
	size_t klen = strlen(k);
	for (uint32_t i = 0; i < r->n_annotations; i++) {
		const struct health_label *a = &r->annotations[i];
		if (a->key.len != klen || memcmp(a->key.s, k, klen) != 0)
			continue;
		char text[64];
		if (a->value.len == 0 || a->value.len >= sizeof(text))
			break;
		memcpy(text, a->value.s, a->value.len);
		text[a->value.len] = '\0';
		char *end;
		double v = strtod(text, &end);
		if (*end != '\0' || !(v >= -lim && v <= lim))
			break;
		json_text_decimal(b, text, a->value.len, v);
		return;
	}
	JSON_TEXT_LIT(b, "null");
}

static void intent_counts(struct shoal_buf *b, const struct fleet_site *s)
{
	uint32_t counts[HEALTH_STATE_COUNT] = {0};
	bool first = true;
	for (uint32_t i = 0; i < s->rec->n_intents; i++) {
		enum health_state st = s->rec->intents[i].state;
		if (s->view == FLEET_STALE)
			st = HEALTH_STALE;
		else if (s->view == FLEET_UNREACHABLE)
			st = HEALTH_UNREACHABLE;
		counts[st]++;
	}
	JSON_TEXT_LIT(b, "{");
	for (int st = 0; st < HEALTH_STATE_COUNT; st++) {
		if (counts[st] == 0)
			continue;
		key(b, &first, health_state_name((enum health_state)st));
		json_text_int(b, counts[st]);
	}
	JSON_TEXT_LIT(b, "}");
}

static void pods(struct shoal_buf *b, const struct health_record *r)
{
	bool first = true;
	JSON_TEXT_LIT(b, "{");
	for (int p = 0; p < HEALTH_POD_COUNT; p++) {
		key(b, &first, health_pod_name((enum health_pod)p));
		json_text_int(b, r->pods[p]);
	}
	JSON_TEXT_LIT(b, "}");
}

static void links(struct shoal_buf *b, const struct health_links *l)
{
	INT_FIELD(b, "{\"window_s\":", l->window_s);
	INT_FIELD(b, ",\"known\":", l->known);
	INT_FIELD(b, ",\"probed\":", l->probed);
	INT_FIELD(b, ",\"reached\":", l->reached);
	INT_FIELD(b, ",\"rtt_p50_us\":", l->rtt_p50_us);
	INT_FIELD(b, ",\"rtt_p99_us\":", l->rtt_p99_us);
	INT_FIELD(b, ",\"loss_pm\":", l->loss_pm);
	JSON_TEXT_LIT(b, "}");
}

static void components(struct shoal_buf *b, const struct health_score *sc)
{
	INT_FIELD(b, "{\"connectivity\":", sc->connectivity);
	INT_FIELD(b, ",\"reliability\":", sc->reliability);
	INT_FIELD(b, ",\"security\":", sc->security);
	INT_FIELD(b, ",\"performance\":", sc->performance);
	JSON_TEXT_LIT(b, "}");
}

/* One field of a site with a record. */
static void record_field(struct shoal_buf *b, const struct fleet_site *s, enum field f)
{
	const struct health_record *r = s->rec;
	switch (f) {
	case F_SCORE:
		json_text_int(b, s->entry->score.score);
		break;
	case F_COMPONENTS:
		components(b, &s->entry->score);
		break;
	case F_CPU:
		json_text_pm(b, r->cpu_pm);
		break;
	case F_MEM:
		json_text_pm(b, r->mem_pm);
		break;
	case F_DISK:
		json_text_pm(b, r->disk_pm);
		break;
	case F_VERSION:
		json_text_int(b, (int64_t)r->version);
		break;
	case F_AGE:
		json_text_int(b, (int64_t)(s->age_us / 1000000));
		break;
	case F_ANNOTATIONS:
		pairs(b, r->annotations, r->n_annotations);
		break;
	case F_LAT:
		coordinate(b, r, GEO_LAT, 90.0);
		break;
	case F_LON:
		coordinate(b, r, GEO_LON, 180.0);
		break;
	case F_INTENTS:
		intent_counts(b, s);
		break;
	case F_PODS:
		pods(b, r);
		break;
	case F_LINKS:
		links(b, &r->links);
		break;
	default:
		JSON_TEXT_LIT(b, "null");
	}
}

void fleet_line_write(struct shoal_buf *b, const struct fleet_site *s, uint32_t mask)
{
	bool first = true;
	const char *band = fleet_band_name(s);
	JSON_TEXT_LIT(b, "{");
	for (int f = 0; f < F_COUNT; f++) {
		if (!(mask & (1u << f)))
			continue;
		if (!first)
			JSON_TEXT_LIT(b, ",");
		json_text_put(b, fields[f].key, fields[f].key_len);
		first = false;
		switch (f) {
		case F_NAME:
			json_text_str(b, s->name, strlen(s->name));
			break;
		case F_STATE:
			json_text_str(b, s->member_state, strlen(s->member_state));
			break;
		case F_VIEW:
			JSON_TEXT_LIT(b, "\"");
			json_text_raw(b, fleet_view_name(s->view));
			JSON_TEXT_LIT(b, "\"");
			break;
		case F_BAND:
			if (band != NULL) {
				JSON_TEXT_LIT(b, "\"");
				json_text_raw(b, band);
				JSON_TEXT_LIT(b, "\"");
			} else {
				JSON_TEXT_LIT(b, "null");
			}
			break;
		case F_LABELS:
			labels(b, s->labels);
			break;
		default:
			/* A site without a record has null for each of these. */
			if (s->rec == NULL)
				JSON_TEXT_LIT(b, "null");
			else
				record_field(b, s, (enum field)f);
		}
	}
	JSON_TEXT_LIT(b, "}");
}
