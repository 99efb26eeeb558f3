/*
 * health.h - health records in shoald: the table of every site's record
 * (kept in LMDB and replicated), this site's own record (composed, paced,
 * signed and published), and the fleet view computed from them.
 *
 *   health_store.c   the table, its LMDB database and its replica app
 *   health_local.c   this site's record: sample, score, pace, publish
 *   fleet.c          the fleet aggregate over a selection of sites
 *   api_fleet.c      GET /v1/fleet, /v1/fleet/sites, /v1/sites/{name}
 *
 * The contract (record, score, pacing, staleness, budget) is
 * docs/health.md; the wire mapping is key "~" + site name, version = the
 * record's, digest = SHA-256 of the envelope.
 *
 * Thread-safety: the node's loop thread.
 */
#ifndef SHOAL_NODE_HEALTH_H
#define SHOAL_NODE_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include <lmdb.h>
#include <uv.h>

#include "shoal/health.h"
#include "shoal/replica.h"

#include "sample_proc.h"

#define NODE_HEALTH_KEY_PREFIX "~" /* no intent key ("Kind/name") starts with it */

struct node;

struct node_health {
	struct node *n;
	struct health_table *table;    /* every site's newest record */
	MDB_dbi db;                    /* LMDB "health": site -> received ms, pk, envelope */
	const uint8_t *loading_pk;     /* while reloading: the key stored beside the record */
	uint64_t changes;              /* bumped by every accepted record or removal */
	struct health_record *scratch; /* one decode at a time (~40 KB) */
	uint64_t refresh_us;           /* the fleet's refresh interval as last computed */
	uint64_t accepted, rejected, published; /* counters for /metrics */

	/* this site's record (health_local.c) */
	uv_timer_t timer; /* samples, and publishes when the pacer says so */
	bool timer_open;
	struct health_pacer pacer;
	struct proc_cpu cpu_prev; /* the last /proc/stat reading */
	bool cpu_ok;
	uint16_t cpu_pm, mem_pm, disk_pm; /* the last samples */
	uint64_t uptime_s;
	struct health_record *last; /* the record last published (decoded view of last_bytes) */
	uint8_t *last_bytes;        /* its envelope */
	size_t last_len;
	uint64_t started; /* node_now() when sampling began */
};

/* health_store.c. Open after the store and before SWIM (reload needs no
 * membership: each stored record carries the key it was verified with). */
int node_health_open(struct node *n, char *err, size_t errcap);
void node_health_close(struct node *n);
/* The table as a replica app, for the node's mux. */
void node_health_app(struct node *n, struct replica_app *out);
/* Offer a record from anywhere (our own included): verified, kept when
 * newer, persisted. With expect_site, a record of another site is refused
 * (SHOAL_E_MALFORMED). 0 when kept; the codes of health_table_offer. */
int node_health_offer(struct node *n, uint64_t now, const uint8_t *bytes, size_t len,
                      uint64_t received_wall_ms, const char *expect_site, size_t expect_len);
/* Forget a site membership reaped: table and LMDB. */
void node_health_forget(struct node *n, const char *site);
/* The refresh interval the fleet uses at its present size. */
uint64_t node_health_refresh_us(const struct node *n);

/* health_local.c: start sampling and publishing once SWIM and the replica
 * run; stop in teardown. */
void node_health_local_start(struct node *n);
void node_health_local_stop(struct node *n);

#endif
