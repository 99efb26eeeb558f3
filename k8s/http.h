/*
 * http.h - an asynchronous HTTP client for one API server, on a uv_loop.
 *
 * libcurl's multi-socket API driven by libuv (curl_loop.h): curl says
 * which sockets to watch (uv_poll) and when to wake it (uv_timer), and the
 * loop calls curl_multi_socket_action. No call blocks; many requests share
 * the connection cache of one multi handle.
 *
 * Each request carries the cluster's credentials: a client certificate,
 * a static token, a token file (re-read every minute, as rotated service
 * account tokens require) or an exec plugin's token (exec_cred.c; requests
 * wait while the plugin runs, and the token is cached until it expires).
 *
 * A request ends in exactly one done callback, unless it was cancelled
 * first: then never. A streaming request (watch) also gets one callback per
 * newline-terminated line of a 200 answer. Callbacks run on the loop, never
 * inside k8s_http_start. k8s_http_cancel may be called from any callback.
 */
#ifndef SHOAL_K8S_HTTP_H
#define SHOAL_K8S_HTTP_H

#include <stddef.h>

#include <uv.h>

#include "kubeconfig.h"

/* Largest response body (or single watch line) held: a LIST of a few
 * thousand objects is tens of MB. Past it the request fails. */
#define K8S_HTTP_BODY_MAX (64u * 1024u * 1024u)

struct k8s_http;
struct k8s_http_req;

struct k8s_http_result {
	long status;      /* HTTP status; 0 when no answer came */
	const char *body; /* NUL-terminated; "" for a streamed 200; valid during the callback */
	size_t len;
	const char *error; /* transport error text, or NULL when an answer came */
};

typedef void (*k8s_http_done_cb)(void *arg, const struct k8s_http_result *res);
typedef void (*k8s_http_line_cb)(void *arg, const char *line, size_t len);

struct k8s_http_opts {
	const char *method; /* "GET", "PATCH", ... */
	const char *path;   /* "/api/v1/...?..." appended to the server URL */
	const char *body;   /* copied; NULL for none */
	size_t body_len;
	const char *content_type; /* for the body */
	k8s_http_line_cb on_line; /* streaming: called per line of a 200 answer */
	long timeout_ms;          /* whole request; 0: 30 s */
};

/* `cfg` is borrowed and must outlive the client. */
int k8s_http_new(uv_loop_t *loop, const struct k8s_cluster_config *cfg, struct k8s_http **out);

/* Cancel every request (no callbacks) and free the client once libuv has
 * closed its handles. Not from inside one of its callbacks. */
void k8s_http_delete(struct k8s_http *h);

/* Start a request. On success *out (if not NULL) identifies it until its
 * done callback returns or it is cancelled. */
int k8s_http_start(struct k8s_http *h, const struct k8s_http_opts *o, k8s_http_done_cb cb,
                   void *arg, struct k8s_http_req **out);

void k8s_http_cancel(struct k8s_http_req *r);

/* A 401 means the credential went stale: forget the cached exec token or
 * token-file contents so the next request fetches fresh ones. */
void k8s_http_invalidate_credentials(struct k8s_http *h);

/* Percent-encode `in` for a URL query value into out (cap bytes). Returns
 * the length, or -1 if it does not fit. */
int k8s_url_escape(const char *in, char *out, size_t cap);

#endif
