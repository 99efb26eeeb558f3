/*
 * webhook.h - POSTs to alert webhooks without blocking the node's loop.
 *
 * libcurl's multi-socket API driven by libuv (k8s/curl_loop.h, which
 * k8s/http.c runs on too) without the API server client's credentials: a
 * webhook is any http:// or https:// URL, answered with a status the
 * caller judges.
 *
 * A request ends in exactly one done callback (run on the loop, never
 * inside node_webhook_post), unless cancelled first or the client is
 * deleted: then never. Cancel and delete are not for use inside a done
 * callback of the same request.
 *
 * Thread-safety: the loop's thread.
 */
#ifndef SHOAL_NODE_WEBHOOK_H
#define SHOAL_NODE_WEBHOOK_H

#include <stddef.h>

#include <uv.h>

struct node_webhook;
struct node_webhook_req;

/* status: the HTTP status, 0 when no answer came (error says why). */
typedef void (*node_webhook_cb)(void *arg, long status, const char *error);

int node_webhook_new(uv_loop_t *loop, struct node_webhook **out);
/* Cancel every request (no callbacks) and free the client once libuv has
 * closed its handles. NULL is fine. */
void node_webhook_delete(struct node_webhook *w);

/* POST `body` (JSON, copied) to `url` with an Idempotency-Key header.
 * 0 with *out (if not NULL) naming the request until its callback, or
 * -ENOMEM / -EIO. */
int node_webhook_post(struct node_webhook *w, const char *url, const char *idempotency_key,
                      const char *body, size_t len, long timeout_ms, node_webhook_cb cb, void *arg,
                      struct node_webhook_req **out);
void node_webhook_cancel(struct node_webhook_req *r);

#endif
