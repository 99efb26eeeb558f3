/*
 * curl_loop.h - libcurl's multi-socket API driven by a uv_loop.
 *
 * The plumbing every asynchronous HTTP client of Shoal shares (the API
 * server client, k8s/http.c, and the alert webhooks, node/webhook.c): curl
 * says which sockets to watch (one uv_poll each) and when to wake it (one
 * uv_timer), the loop hands control back with curl_multi_socket_action, and
 * finished transfers are reported. Many transfers share the connection
 * cache of one multi handle. The caller builds each easy handle (URL,
 * headers, body, write callback) and keeps owning it; the driver only runs
 * it.
 *
 * A transfer ends in exactly one done callback, unless it was cancelled or
 * the driver deleted first: then never. The callback runs on the loop,
 * outside curl's own callbacks and never inside k8s_curl_loop_add, with the
 * handle already out of the driver: it may read CURLINFO, clean the handle
 * up, and add or cancel transfers.
 *
 * The driver keeps its own pointer in CURLOPT_PRIVATE while a handle is
 * added; callers pass theirs as the callback's arg instead.
 *
 * Thread-safety: the loop's thread.
 */
#ifndef SHOAL_K8S_CURL_LOOP_H
#define SHOAL_K8S_CURL_LOOP_H

#include <curl/curl.h>
#include <uv.h>

struct k8s_curl_loop;

/* result: curl's outcome of the transfer (CURLE_OK when an answer came). */
typedef void (*k8s_curl_loop_done_cb)(void *arg, CURL *easy, CURLcode result);

int k8s_curl_loop_new(uv_loop_t *loop, struct k8s_curl_loop **out);

/* Cancel every transfer (no callbacks; the handles stay the callers') and
 * free the driver once libuv has closed its handles. Not from inside one
 * of its callbacks. NULL is fine. */
void k8s_curl_loop_delete(struct k8s_curl_loop *cl);

/* Start running `easy`. 0, or -ENOMEM / -EIO with nothing started. Not
 * from inside one of curl's callbacks (a write callback, say). */
int k8s_curl_loop_add(struct k8s_curl_loop *cl, CURL *easy, k8s_curl_loop_done_cb cb, void *arg);

/* Stop running `easy`, without a callback; the caller may clean it up
 * right after. A handle not in the driver (never added, or its callback
 * already ran) is left alone. Not from inside one of curl's callbacks: a
 * transfer stopped from there returns 0 from its write callback and is
 * cancelled later, from the loop. */
void k8s_curl_loop_cancel(struct k8s_curl_loop *cl, CURL *easy);

#endif
