/*
 * webhook.c - libcurl multi-socket on libuv for alert webhooks
 * (webhook.h). The same pattern as k8s/http.c: curl's socket callback
 * starts and stops a uv_poll per socket, its timer callback arms one
 * uv_timer, and both hand control back with curl_multi_socket_action,
 * after which finished transfers are collected and their callbacks run
 * (outside curl's own callbacks, so they may start new requests).
 */
#include "webhook.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

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

struct poll_ctx {
	uv_poll_t poll;
	curl_socket_t fd;
	struct node_webhook *w;
	struct poll_ctx *next, *prev; /* w->polls */
	int closing;
};

struct node_webhook {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer; /* curl's timeout */
	int open_handles; /* uv handles not yet closed */
	int deleting;
	struct node_webhook_req *reqs;
	struct poll_ctx *polls;
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
		curl_multi_remove_handle(w->multi, r->easy);
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

static void check_done(struct node_webhook *w)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(w->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct node_webhook_req *r = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r == NULL)
			continue;
		CURLcode cc = msg->data.result;
		long code = 0;
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
		const char *error = cc == CURLE_OK ? NULL : curl_easy_strerror(cc);
		if (cc != CURLE_OK)
			code = 0;
		node_webhook_cb cb = r->cb;
		void *arg = r->arg;
		free_req(r);
		cb(arg, code, error);
	}
}

static void on_curl_timer(uv_timer_t *t)
{
	struct node_webhook *w = t->data;
	int running;
	curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(w);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	(void)multi;
	struct node_webhook *w = userp;
	if (timeout_ms < 0)
		uv_timer_stop(&w->timer);
	else
		uv_timer_start(&w->timer, on_curl_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct poll_ctx *pc = p->data;
	struct node_webhook *w = pc->w;
	int flags = status < 0 ? CURL_CSELECT_ERR : 0;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	int running;
	curl_multi_socket_action(w->multi, pc->fd, flags, &running);
	check_done(w);
}

static void handle_closed(struct node_webhook *w)
{
	w->open_handles--;
	if (w->deleting && w->open_handles == 0)
		free(w);
}

static void on_poll_closed(uv_handle_t *hd)
{
	struct poll_ctx *pc = hd->data;
	struct node_webhook *w = pc->w;
	if (pc->prev != NULL)
		pc->prev->next = pc->next;
	else
		w->polls = pc->next;
	if (pc->next != NULL)
		pc->next->prev = pc->prev;
	free(pc);
	handle_closed(w);
}

static void close_poll(struct poll_ctx *pc)
{
	if (pc->closing)
		return;
	pc->closing = 1;
	uv_poll_stop(&pc->poll);
	uv_close((uv_handle_t *)&pc->poll, on_poll_closed);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	(void)easy;
	struct node_webhook *w = userp;
	struct poll_ctx *pc = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (pc != NULL) {
			close_poll(pc);
			if (!w->deleting)
				curl_multi_assign(w->multi, s, NULL);
		}
		return 0;
	}
	if (pc == NULL) {
		pc = calloc(1, sizeof(*pc));
		if (pc == NULL || uv_poll_init_socket(w->loop, &pc->poll, s) != 0) {
			free(pc);
			return -1;
		}
		pc->fd = s;
		pc->w = w;
		pc->poll.data = pc;
		pc->next = w->polls;
		if (w->polls != NULL)
			w->polls->prev = pc;
		w->polls = pc;
		w->open_handles++;
		curl_multi_assign(w->multi, s, pc);
	}
	int events = 0;
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	uv_poll_start(&pc->poll, events, on_poll);
	return 0;
}

int node_webhook_new(uv_loop_t *loop, struct node_webhook **out)
{
	*out = NULL;
	struct node_webhook *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->loop = loop;
	w->multi = curl_multi_init();
	if (w->multi == NULL) {
		free(w);
		return -ENOMEM;
	}
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
	uv_timer_init(loop, &w->timer);
	w->timer.data = w;
	w->open_handles = 1;
	*out = w;
	return 0;
}

static void on_timer_closed(uv_handle_t *hd)
{
	handle_closed(hd->data);
}

void node_webhook_delete(struct node_webhook *w)
{
	if (w == NULL)
		return;
	w->deleting = 1;
	while (w->reqs != NULL)
		free_req(w->reqs);
	/* Cleanup closes curl's sockets through socket_cb (CURL_POLL_REMOVE). */
	curl_multi_cleanup(w->multi);
	for (struct poll_ctx *pc = w->polls; pc != NULL; pc = pc->next)
		close_poll(pc);
	uv_close((uv_handle_t *)&w->timer, on_timer_closed);
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
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	if (curl_multi_add_handle(w->multi, e) != CURLM_OK) {
		free_req(r);
		return -EIO;
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
