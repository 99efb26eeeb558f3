/*
 * api.h - the HTTP API's handlers and the JSON helpers they share.
 *
 * docs/api.md is the contract; every handler below answers one route of it.
 * Handlers run on the loop thread with req->ctx = the struct node, so they
 * read SWIM directly; a handler that changes SWIM re-arms the driver timer.
 * JSON is snake_case, times RFC 3339 UTC with microseconds, labels an object.
 */
#ifndef SHOAL_NODE_API_H
#define SHOAL_NODE_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "shoal/env.h"
#include "shoal/labels.h"
#include "shoal/swim.h"

#include "http.h"

void node_api_healthz(struct node_http_req *req);
void node_api_self(struct node_http_req *req);
void node_api_self_intents(struct node_http_req *req);
void node_api_members(struct node_http_req *req);
void node_api_keyring_list(struct node_http_req *req);
void node_api_keyring_install(struct node_http_req *req);
void node_api_keyring_use(struct node_http_req *req);
void node_api_keyring_remove(struct node_http_req *req);
void node_api_metrics(struct node_http_req *req);
void node_api_intents_post(struct node_http_req *req);
void node_api_intents_list(struct node_http_req *req);
void node_api_intents_get(struct node_http_req *req);
void node_api_hlc(struct node_http_req *req);
void node_api_sites(struct node_http_req *req);
void node_api_virtual_site(struct node_http_req *req);
void node_api_fleet(struct node_http_req *req);
void node_api_fleet_sites(struct node_http_req *req);
void node_api_site(struct node_http_req *req);
void node_api_alerts(struct node_http_req *req);
/* On a leaf, pass the request on to a full node and return true (the
 * answer comes later); on a full node return false (api_proxy.c). */
bool node_api_proxied(struct node_http_req *req);

/* ?selector=S compiled; NULL after answering 400 bad_selector itself. */
struct selector *node_api_selector_param(struct node_http_req *req);
/* Pod counts per bucket as {"running": n, ...}. */
json_t *node_api_pods_json(const uint64_t *pods);

/* One member's labels as a view selectors can read (site_labels.c),
 * decoded from the record's msgpack with the bounded reader into a fixed
 * buffer: SWIM_LABELS_MAX bounds the record, so one NUL per string more
 * than that always fits. */
struct node_site_labels {
	struct shoal_label items[SWIM_LABELS_MAX / 2]; /* each entry takes >= 2 bytes */
	char text[2 * SWIM_LABELS_MAX];                /* the strings, NUL-terminated */
	struct shoal_labels view;                      /* items[0..n) */
};
/* false if the labels do not decode (such a site matches nothing). */
bool node_site_labels_decode(const uint8_t *mp, size_t len, struct node_site_labels *out);
/* GET /, /dashboard.js, /dashboard.css, /favicon.svg: the embedded page. */
void node_api_dashboard(struct node_http_req *req);

struct node;
struct shoal_buf;
/* metrics.c: Prometheus text helpers, shared by the families other files
 * emit (every family carries # HELP and # TYPE). */
void node_metrics_emit(struct shoal_buf *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void node_metrics_family(struct shoal_buf *b, const char *name, const char *type, const char *help);
void node_metrics_counter(struct shoal_buf *b, const char *name, const char *help, uint64_t v);
/* metrics_health.c: this site's health and the fleet's aggregates. */
void node_metrics_health(struct node *n, struct shoal_buf *b);

/* This node's annotations (operator's, then discovered) as a JSON object. */
json_t *node_api_annotations(const struct node *n);

/* "1.2.3.4:7600", or null for an unset address. */
json_t *node_api_addr(const struct shoal_addr *a);
/* Standard base64 of `len` bytes. */
json_t *node_api_base64(const uint8_t *bytes, size_t len);
/* A msgpack map {str: str} as a JSON object; {} if it does not decode. */
json_t *node_api_labels(const uint8_t *mp, size_t len);
/* RFC 3339 text of monotonic instant `mono` (now_mono/now_wall read together). */
json_t *node_api_time(uint64_t mono, uint64_t now_mono, uint64_t now_wall);

#endif
