/*
 * alerts.h - AlertRule intents in shoald: judged on this site, judged over
 * the fleet, shown by the API and delivered to webhooks.
 *
 * - Per-site rules ("mem > 90"): this site judges each rule whose
 *   effective target selects it against the record it is composing
 *   (health_local.c); a rule that held for its `for` is listed in the
 *   record's `alerts`, which every node then reads.
 * - Fleet-wide rules ("count(mem > 90) >= 1"): every node judges them over
 *   the fresh records of the sites the rule selects.
 * - Delivery: for each episode (a rule firing, from its start until it
 *   stops), the live member chosen by rendezvous hashing of the rule name
 *   (alert_pick_sender) POSTs "firing" and later "resolved" to the rule's
 *   webhook, retrying with backoff until a 2xx; docs/intents.md has the
 *   semantics, docs/operations.md the receiver's side.
 *
 * Thread-safety: the node's loop thread.
 */
#ifndef SHOAL_NODE_ALERTS_H
#define SHOAL_NODE_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "shoal/health.h"
#include "shoal/labels.h"
#include "shoal/mp.h"

struct node;
struct node_alerts;

/* Start after the replica (the fleet view needs it); stop in teardown. */
int node_alerts_start(struct node *n);
void node_alerts_stop(struct node *n);

/* This site's firing per-site rules, judged on `r` (its score computed)
 * with this site's labels: names into out[HEALTH_ALERTS_MAX] (pointing
 * into the rule state, valid until the next call), their count returned. */
uint32_t node_alerts_local(struct node *n, const struct health_record *r,
                           const struct shoal_labels *labels, struct health_str *out);

/* GET /v1/alerts: every rule with its state. */
json_t *node_alerts_json(struct node *n);
/* The firing fleet-wide rules, appended to /v1/fleet's "alerts". */
void node_alerts_fleet_append(struct node *n, json_t *arr);
/* Families for /metrics. */
void node_alerts_metrics(const struct node *n, struct shoal_buf *b);

#endif
