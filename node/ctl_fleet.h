/*
 * ctl_fleet.h - the fleet commands' shared pieces: `status`, `top sites` and
 * `wait` read GET /v1/fleet and /v1/fleet/sites (docs/api.md, "Fleet").
 *
 * Everything here but ctl_fleet_get is pure (no I/O but the FILE * it is
 * given, no clock):
 * the answers are parsed into small structs, and the text an operator reads
 * is made from them, so tests/unit/test_ctl_fleet.c checks the output of
 * fixture answers byte for byte.
 *
 * Ownership: parsed structs borrow strings from the json_t they were read
 * from (keep it alive while using them); ctl_fleet_free releases the
 * arrays parsing allocated.
 */
#ifndef SHOAL_NODE_CTL_FLEET_H
#define SHOAL_NODE_CTL_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "ctl.h"
#include "ctl_http.h"

/* GET route?selector=S<extra> (extra: "" or "&worst=5") from the node.
 * Returns CTL_EXIT_OK with *body (json_decref it) and *raw (free it), or
 * CTL_EXIT_USAGE when the node refused the selector (HTTP 400), or
 * CTL_EXIT_FAIL; either after one line on stderr (ctl_fleet_get.c). */
int ctl_fleet_get(const struct ctl_opts *o, const char *route, const char *selector,
                  const char *extra, json_t **body, struct ctl_http_resp *raw);

/* GET /v1/fleet/sites?selector=S page by page (limit=chunk, following each
 * page's continue token; chunk 0: one request): the whole list as one
 * answer {"selector", "count", "sites"}, as the node gives it unpaged. A
 * node that does not page answers everything at once, which ends the walk
 * as well. Returns like ctl_fleet_get (*body: json_decref it). */
#define CTL_CHUNK_DEFAULT 1000
#define CTL_CHUNK_MAX     5000 /* the API's largest page */
int ctl_sites_get(const struct ctl_opts *o, const char *selector, size_t chunk, json_t **body);

/* Buckets of a usage histogram: [0,10) ... [90,100] percent. */
#define CTL_HIST_BUCKETS 10

/* Where a counted site stands, in the order /v1/fleet's "sites" lists them. */
enum ctl_site_slot {
	CTL_SLOT_GREEN,
	CTL_SLOT_ORANGE,
	CTL_SLOT_RED,
	CTL_SLOT_STALE,
	CTL_SLOT_UNREACHABLE,
	CTL_SLOT_UNKNOWN,
	CTL_SLOT_COUNT,
};
extern const char *const ctl_slot_names[CTL_SLOT_COUNT];

/* An intent's state on a site as the fleet reports it (docs/health.md,
 * "State vocabulary", without not-selected: those sites are not counted). */
enum ctl_istate {
	CTL_IS_PENDING,
	CTL_IS_WAITING,
	CTL_IS_APPLYING,
	CTL_IS_READY,
	CTL_IS_DEGRADED,
	CTL_IS_FAILED,
	CTL_IS_UNREACHABLE,
	CTL_IS_STALE,
	CTL_IS_COUNT,
};
extern const char *const ctl_istate_names[CTL_IS_COUNT];

/* Pod buckets of the fleet and of a site, in the record's order. */
#define CTL_POD_BUCKETS 8
extern const char *const ctl_pod_names[CTL_POD_BUCKETS];

/* One usage distribution ("cpu", "memory", "disk") over fresh sites. */
struct ctl_dist {
	long long hist[CTL_HIST_BUCKETS];
	double p50, p90, max, mean; /* NAN when the node sent null (no fresh site) */
};

/* One entry of "intents". */
struct ctl_fleet_intent {
	const char *kind, *name;       /* borrowed */
	long long version;             /* the newest version held (an HLC) */
	long long selected;            /* counted sites its effective target selects */
	long long replicated;          /* of those, sites holding >= version */
	long long state[CTL_IS_COUNT]; /* of those, by state */
};

/* GET /v1/fleet, parsed. */
struct ctl_fleet {
	json_t *body;         /* the answer (borrowed), for the parts read in place */
	const char *selector; /* canonical, "" for every site */
	long long refresh_s;
	long long total;
	long long slot[CTL_SLOT_COUNT];
	struct ctl_dist cpu, memory, disk;
	struct ctl_fleet_intent *intents; /* allocated */
	size_t nintents;
};

/* Parse a /v1/fleet answer. Returns 0, or -EINVAL with a sentence in err
 * when the answer lacks what the commands need (sites counts, intents), or
 * -ENOMEM. Missing optional parts (distributions, pods, links) read as
 * zero. */
int ctl_fleet_parse(json_t *body, struct ctl_fleet *f, char *err, size_t errcap);
void ctl_fleet_free(struct ctl_fleet *f);

/* The intent of kind `kind` (ASCII case ignored) and name `name`, or NULL. */
const struct ctl_fleet_intent *ctl_fleet_find(const struct ctl_fleet *f, const char *kind,
                                              const char *name);

/* One row of GET /v1/fleet/sites, for `top sites`. Numbers are NAN (or -1
 * for integers) when the node sent null: a site with no record yet. */
struct ctl_site_row {
	const json_t *site; /* the site's object (borrowed) */
	const char *name, *state, *view, *band;
	double score, cpu, mem, disk;
	double loss_pm, rtt_p99_us, age_s;
};

/* Parse the "sites" list; *rows is allocated (free it). Returns 0, -EINVAL
 * with a sentence in err, or -ENOMEM. */
int ctl_sites_parse(const json_t *body, struct ctl_site_row **rows, size_t *n, char *err,
                    size_t errcap);

/* The sort keys of `top sites`. */
enum ctl_sort_key {
	CTL_SORT_SCORE, /* worst first: unreachable, stale, unknown, then fresh by score */
	CTL_SORT_CPU,   /* highest first, sites without figures last */
	CTL_SORT_MEM,
	CTL_SORT_DISK,
	CTL_SORT_LOSS,
	CTL_SORT_NAME, /* ascending */
};
/* Returns 0 and sets *key, or -EINVAL for a name not in the list. */
int ctl_sort_key_parse(const char *text, enum ctl_sort_key *key);
/* Sort rows by key, ties by name: the same input always gives the same order. */
void ctl_sites_sort(struct ctl_site_row *rows, size_t n, enum ctl_sort_key key);
/* Print NAME STATE VIEW BAND SCORE CPU% MEM% DISK% LOSS RTT99 INTENTS AGE for
 * the first `limit` rows (all with 0). Returns 0 or -ENOMEM. */
int ctl_sites_print(const struct ctl_site_row *rows, size_t n, size_t limit, FILE *out);

/* How `status` prints: colour only when asked (a TTY without NO_COLOR). */
struct ctl_style {
	bool color;
};
/* The fleet at a glance. Returns 0 or -ENOMEM. */
int ctl_status_print(const struct ctl_fleet *f, const struct ctl_style *st, FILE *out);

/* ---- bars and figures (ctl_bar.c) ---- */

/* Split `width` characters among counts[0..n) in proportion, every non-zero
 * count getting at least one (a single red site among thousands must show)
 * when width allows. Sum of out == width when any count is non-zero, else 0. */
void ctl_bar_split(const long long *counts, size_t n, size_t width, size_t *out);
/* A histogram as CTL_HIST_BUCKETS characters plus NUL: '.' for an empty
 * bucket, then ":-=+*#@" by share of the fullest bucket (any site shows). */
void ctl_spark(const long long hist[CTL_HIST_BUCKETS], char out[CTL_HIST_BUCKETS + 1]);
/* "[#####.....]" with `width` cells inside; full only when done >= total > 0.
 * out needs width + 3 bytes. */
void ctl_progress_bar(long long done, long long total, size_t width, char *out);
/* A percentage with one decimal ("23.1%"), "-" for NAN. */
void ctl_fmt_pct(double v, char *out, size_t cap);
/* Microseconds for people: "310us", "2.1ms", "1.50s"; "-" for a negative. */
void ctl_fmt_us(double us, char *out, size_t cap);
/* Per mille as a percentage: 3 -> "0.3%"; "-" for a negative. */
void ctl_fmt_pm(double pm, char *out, size_t cap);

/* ---- wait (ctl_wait.c) ---- */

enum ctl_wait_for {
	CTL_WAIT_REPLICATED, /* every selected site holds the version */
	CTL_WAIT_READY,      /* every selected site reports it ready */
};
enum ctl_wait_verdict {
	CTL_WAIT_MORE,   /* not there yet */
	CTL_WAIT_DONE,   /* selected > 0 and all of them there */
	CTL_WAIT_FAILED, /* --for ready and a site failed: waiting cannot help */
};
/* What one poll says. `it` NULL: the node does not hold the intent. */
enum ctl_wait_verdict ctl_wait_judge(const struct ctl_fleet_intent *it, enum ctl_wait_for w);
/* "3/5 sites ready (1 applying, 1 pending)": progress and the states not
 * there yet, for the progress line and the timeout message. */
void ctl_wait_describe(const struct ctl_fleet_intent *it, enum ctl_wait_for w, char *out,
                       size_t cap);
/* Durations as kubectl takes them: "30s", "2m", "1m30s", "500ms", "1h", or
 * "0" (look once). Returns 0 and *ms, or -EINVAL (no unit, junk, > 24h). */
int ctl_duration_parse(const char *text, long long *ms);
/* Split "Kind/name" (kind case-insensitive, one of the kinds sites apply:
 * App, EgressPolicy, Upgrade) into the canonical kind name and the name.
 * Returns 0, or -EINVAL with the reason in err. */
int ctl_intent_ref_parse(const char *text, const char **kind, const char **name, char *err,
                         size_t errcap);

#endif
