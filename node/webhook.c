/*
 * webhook.c - alert webhook POSTs (webhook.h) on k8s/curl_loop.c, the
 * libcurl-on-libuv driver the API server client uses too. Each POST is one
 * easy handle; the driver runs its done callback outside curl's own
 * callbacks, so the caller's callback may start new requests.
 */
#include "webhook.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "../k8s/curl_loop.h"
#include "node.h"

#define CONNECT_TIMEOUT_MS 5000L

struct node_webhook_req {
	struct node_webhook *w;
	struct node_webhook_req *next, *prev; /* w->reqs */
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	node_webhook_cb cb;
	void *arg;
};

struct node_webhook {
	struct k8s_curl_loop *curl;
	struct node_webhook_req *reqs;
};

static void free_req(struct node_webhook_req *r)
{
	struct node_webhook *w = r->w;
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		w->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	if (r->easy != NULL) {
		k8s_curl_loop_cancel(w->curl, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	free(r->body);
	free(r);
}

/* The receiver's answer body is not read: only its status counts. */
static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	(void)data;
	(void)userdata;
	return size * nmemb;
}

static void on_done(void *arg, CURL *easy, CURLcode cc)
{
	struct node_webhook_req *r = arg;
	long code = 0;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	const char *error = cc == CURLE_OK ? NULL : curl_easy_strerror(cc);
	if (cc != CURLE_OK)
		code = 0;
	node_webhook_cb cb = r->cb;
	void *cb_arg = r->arg;
	free_req(r);
	cb(cb_arg, code, error);
}

int node_webhook_new(uv_loop_t *loop, struct node_webhook **out)
{
	*out = NULL;
	struct node_webhook *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	int rc = k8s_curl_loop_new(loop, &w->curl);
	if (rc != 0) {
		free(w);
		return rc;
	}
	*out = w;
	return 0;
}

void node_webhook_delete(struct node_webhook *w)
{
	if (w == NULL)
		return;
	while (w->reqs != NULL)
		free_req(w->reqs);
	k8s_curl_loop_delete(w->curl);
	free(w);
}

int node_webhook_post(struct node_webhook *w, const char *url, const char *idempotency_key,
                      const char *body, size_t len, long timeout_ms, node_webhook_cb cb, void *arg,
                      struct node_webhook_req **out)
{
	char header[96];
	struct node_webhook_req *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->w = w;
	r->cb = cb;
	r->arg = arg;
	r->body = malloc(len + 1);
	r->easy = curl_easy_init();
	snprintf(header, sizeof(header), "Idempotency-Key: %s", idempotency_key);
	struct curl_slist *h1 = curl_slist_append(NULL, "Content-Type: application/json");
	struct curl_slist *h2 = h1 != NULL ? curl_slist_append(h1, header) : NULL;
	r->headers = h2 != NULL ? h2 : h1;
	r->next = w->reqs;
	if (w->reqs != NULL)
		w->reqs->prev = r;
	w->reqs = r;
	if (r->body == NULL || r->easy == NULL || h2 == NULL) {
		free_req(r);
		return -ENOMEM;
	}
	memcpy(r->body, body, len);
	r->body[len] = '\0';
	CURL *e = r->easy;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "shoal/" SHOAL_VERSION);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	int rc = k8s_curl_loop_add(w->curl, e, on_done, r);
	if (rc != 0) {
		free_req(r);
		return rc;
	}
	if (out != NULL)
		*out = r;
	return 0;
}

void node_webhook_cancel(struct node_webhook_req *r)
{
	if (r != NULL)
		free_req(r);
}
