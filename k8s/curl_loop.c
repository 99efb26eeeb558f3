/*
 * curl_loop.c - libcurl multi-socket driven by libuv (curl_loop.h).
 *
 * The shape is curl's multi-uv example: curl's socket callback starts and
 * stops a uv_poll per socket, its timer callback arms one uv_timer, and both
 * uv callbacks hand control back with curl_multi_socket_action, after which
 * finished transfers are collected.
 *
 * libcurl forbids removing a handle from the multi handle inside one of its
 * own callbacks, so done callbacks run only after curl_multi_socket_action
 * has returned, each with its handle already removed: the callback may then
 * free it or start another transfer. On delete, curl_multi_cleanup closes
 * curl's sockets through the socket callback; the driver is freed when the
 * last uv handle has closed, since libuv still holds them until then.
 */
#include "curl_loop.h"

#include <errno.h>
#include <stdlib.h>

/* One added easy handle: what to call when it finishes. */
struct xfer {
	struct k8s_curl_loop *cl;
	struct xfer *next, *prev; /* cl->xfers */
	CURL *easy;
	k8s_curl_loop_done_cb cb;
	void *arg;
};

struct poll_ctx {
	uv_poll_t poll;
	curl_socket_t fd;
	struct k8s_curl_loop *cl;
	struct poll_ctx *next, *prev; /* cl->polls */
	int closing;
};

struct k8s_curl_loop {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer; /* curl's timeout */
	int open_handles; /* uv handles not yet closed */
	int deleting;
	struct xfer *xfers;     /* every added transfer */
	struct poll_ctx *polls; /* one per socket curl asked us to watch */
};

/* Take a transfer out of the multi handle and forget it. */
static void drop_xfer(struct xfer *x)
{
	struct k8s_curl_loop *cl = x->cl;
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		cl->xfers = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	curl_multi_remove_handle(cl->multi, x->easy);
	/* A later cancel of this handle then finds nothing to do. */
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, NULL);
	free(x);
}

static void check_done(struct k8s_curl_loop *cl)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(cl->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct xfer *x = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x == NULL)
			continue;
		CURLcode result = msg->data.result;
		CURL *easy = x->easy;
		k8s_curl_loop_done_cb cb = x->cb;
		void *arg = x->arg;
		/* Removed before the callback so it can free the handle and start
		 * new transfers freely. */
		drop_xfer(x);
		cb(arg, easy, result);
	}
}

static void on_curl_timer(uv_timer_t *t)
{
	struct k8s_curl_loop *cl = t->data;
	int running;
	curl_multi_socket_action(cl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(cl);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	(void)multi;
	struct k8s_curl_loop *cl = userp;
	if (timeout_ms < 0)
		uv_timer_stop(&cl->timer);
	else
		uv_timer_start(&cl->timer, on_curl_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct poll_ctx *pc = p->data;
	struct k8s_curl_loop *cl = pc->cl;
	int flags = status < 0 ? CURL_CSELECT_ERR : 0;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	int running;
	curl_multi_socket_action(cl->multi, pc->fd, flags, &running);
	check_done(cl);
}

static void handle_closed(struct k8s_curl_loop *cl)
{
	cl->open_handles--;
	if (cl->deleting && cl->open_handles == 0)
		free(cl);
}

static void on_poll_closed(uv_handle_t *hd)
{
	struct poll_ctx *pc = hd->data;
	struct k8s_curl_loop *cl = pc->cl;
	if (pc->prev != NULL)
		pc->prev->next = pc->next;
	else
		cl->polls = pc->next;
	if (pc->next != NULL)
		pc->next->prev = pc->prev;
	free(pc);
	handle_closed(cl);
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
	struct k8s_curl_loop *cl = userp;
	struct poll_ctx *pc = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (pc != NULL) {
			close_poll(pc);
			if (!cl->deleting)
				curl_multi_assign(cl->multi, s, NULL);
		}
		return 0;
	}
	if (pc == NULL) {
		pc = calloc(1, sizeof(*pc));
		if (pc == NULL || uv_poll_init_socket(cl->loop, &pc->poll, s) != 0) {
			free(pc);
			return -1;
		}
		pc->fd = s;
		pc->cl = cl;
		pc->poll.data = pc;
		pc->next = cl->polls;
		if (cl->polls != NULL)
			cl->polls->prev = pc;
		cl->polls = pc;
		cl->open_handles++;
		curl_multi_assign(cl->multi, s, pc);
	}
	int events = 0;
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	uv_poll_start(&pc->poll, events, on_poll);
	return 0;
}

int k8s_curl_loop_new(uv_loop_t *loop, struct k8s_curl_loop **out)
{
	*out = NULL;
	struct k8s_curl_loop *cl = calloc(1, sizeof(*cl));
	if (cl == NULL)
		return -ENOMEM;
	cl->loop = loop;
	cl->multi = curl_multi_init();
	if (cl->multi == NULL) {
		free(cl);
		return -ENOMEM;
	}
	curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl);
	curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl);
	uv_timer_init(loop, &cl->timer);
	cl->timer.data = cl;
	cl->open_handles = 1;
	*out = cl;
	return 0;
}

static void on_timer_closed(uv_handle_t *hd)
{
	handle_closed(hd->data);
}

void k8s_curl_loop_delete(struct k8s_curl_loop *cl)
{
	if (cl == NULL)
		return;
	cl->deleting = 1;
	while (cl->xfers != NULL)
		drop_xfer(cl->xfers);
	/* Cleanup closes curl's sockets through socket_cb (CURL_POLL_REMOVE). */
	curl_multi_cleanup(cl->multi);
	for (struct poll_ctx *pc = cl->polls; pc != NULL; pc = pc->next)
		close_poll(pc);
	uv_close((uv_handle_t *)&cl->timer, on_timer_closed);
}

int k8s_curl_loop_add(struct k8s_curl_loop *cl, CURL *easy, k8s_curl_loop_done_cb cb, void *arg)
{
	struct xfer *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return -ENOMEM;
	x->cl = cl;
	x->easy = easy;
	x->cb = cb;
	x->arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
	if (curl_multi_add_handle(cl->multi, easy) != CURLM_OK) {
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		free(x);
		return -EIO;
	}
	x->next = cl->xfers;
	if (cl->xfers != NULL)
		cl->xfers->prev = x;
	cl->xfers = x;
	return 0;
}

void k8s_curl_loop_cancel(struct k8s_curl_loop *cl, CURL *easy)
{
	struct xfer *x = NULL;
	if (easy == NULL)
		return;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
	if (x != NULL && x->cl == cl)
		drop_xfer(x);
}
