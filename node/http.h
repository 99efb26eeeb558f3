/*
 * http.h - a small JSON HTTP server on the node's libuv loop.
 *
 * libmicrohttpd parses HTTP; it runs without a thread of its own
 * (MHD_USE_EPOLL): libuv watches MHD's epoll descriptor and a timer set from
 * MHD_get_timeout, and calls MHD_run when either fires. Handlers therefore
 * run on the loop thread and may touch the node's state directly.
 *
 * Requests are matched against a route table by exact path (or a prefix
 * route ending in a slash and a star, for paths that carry names); a known path
 * with another method is 405 (with Allow), an unknown path 404. Request
 * bodies are capped at NODE_HTTP_BODY_MAX: a larger Content-Length is
 * answered 413 before the body is read; a chunked body that grows past the
 * cap gets its connection closed. Every error is JSON:
 *   {"error": "not_found", "reason": "no such endpoint: /v2"}
 *
 * Responses are JSON unless a handler hands over text with its own type
 * (/metrics, the dashboard's files). Every response says nosniff and, unless
 * the handler sets its own, Cache-Control: no-store; a handler may add a
 * Content-Security-Policy (the dashboard does).
 *
 * Thread-safety: everything runs on the loop thread.
 */
#ifndef SHOAL_NODE_HTTP_H
#define SHOAL_NODE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "shoal/env.h"

/* Request body cap: a signed intent of the largest spec (1 MiB) in base64
 * JSON is about 1.4 MiB. */
#define NODE_HTTP_BODY_MAX  (2 * 1024 * 1024)
#define NODE_HTTP_CONN_MAX  64 /* concurrent API connections */
#define NODE_HTTP_TIMEOUT_S 30 /* idle API connection timeout */

/* One request as a handler sees it, and the response it fills in. */
struct node_http_req {
	const char *method;     /* "GET", "POST", ... */
	const char *path;       /* URL path without the query */
	const uint8_t *body;    /* request body (not NUL-terminated); may be NULL */
	size_t body_len;        /* bytes in body */
	struct shoal_addr peer; /* client address of the connection */
	bool peer_loopback;     /* peer is 127.0.0.0/8 or ::1 */
	void *ctx;              /* the ctx given to node_http_start */
	void *conn;             /* the server's connection, for node_http_query */

	int status;                    /* response status; 200 unless set */
	json_t *json;                  /* response body as JSON (owned; freed by the server) */
	char *text;                    /* or a text body (malloc'd; freed by the server) */
	size_t text_len;               /* bytes in text */
	const char *content_type;      /* for text; static string */
	const char *cache_control;     /* static string; NULL = "no-store" */
	const char *csp;               /* Content-Security-Policy, static; NULL = none */
	const char *header_name;       /* one more response header, static; NULL = none */
	char header_value[128];        /* its value */
	struct node_http_later *later; /* set by node_http_defer */
	void *state;                   /* the server's, for node_http_defer */
	struct node_http *ctx_server;  /* the server answering it */
};

typedef void (*node_http_handler)(struct node_http_req *req);

struct node_http_route {
	const char *method;   /* exact method; GET routes also answer HEAD */
	const char *path;     /* exact path, or a prefix ending in slash-star */
	node_http_handler fn; /* fills in the response */
};

struct node_http;

/* Listen on `addr` (port 0 picks a free port: see node_http_port). The
 * route table is borrowed and must outlive the server. */
int node_http_start(struct node_http **out, uv_loop_t *loop, const struct shoal_addr *addr,
                    const struct node_http_route *routes, size_t nroutes, void *ctx, char *err,
                    size_t errcap);
/* Stop listening, drop connections; memory is freed once the loop has run
 * the close callbacks. NULL is ignored. */
void node_http_stop(struct node_http *h);
/* The port actually bound. */
uint16_t node_http_port(const struct node_http *h);

/* The percent-decoded value of query parameter `key`, or NULL if it is
 * absent (or given without "="). Valid until the handler returns. */
const char *node_http_query(const struct node_http_req *req, const char *key);

/* Set a JSON error response {"error": code, "reason": reason}. */
void node_http_error(struct node_http_req *req, int status, const char *code, const char *reason);
/* Set a JSON response (reference stolen). */
void node_http_json(struct node_http_req *req, int status, json_t *body);

/* Answer later (a handler that must wait for the network, e.g. a leaf
 * asking a full node, api_proxy.c): the handler returns without a response
 * and the connection is suspended until node_http_later_send. The response
 * is filled in the request node_http_later_req gives (the same fields a
 * handler sets; method, path, body and conn are no longer valid there).
 * Every deferred request must be sent before node_http_stop. */
struct node_http_later;
struct node_http_later *node_http_defer(struct node_http_req *req);
struct node_http_req *node_http_later_req(struct node_http_later *l);
void node_http_later_send(struct node_http_later *l);
/* The request's query parameters, percent-encoded again ("a=b&c=d", "" if
 * none), to pass a request on. -1 if it does not fit `cap`. */
int node_http_query_string(const struct node_http_req *req, char *out, size_t cap);

#endif
