/*
 * http.c - libmicrohttpd driven by libuv, routing, body capping and JSON
 * responses.
 *
 * MHD runs in "external select" mode with epoll: it keeps its own epoll set
 * and exposes one descriptor that is readable whenever any of its sockets
 * needs attention. libuv polls that descriptor; after every MHD_run the
 * timer is re-armed from MHD_get_timeout (stopped when MHD needs none), so
 * an idle server costs nothing. The server struct is freed only when both
 * libuv handles have closed.
 */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "shoal/mp.h"

#include "transport.h"

struct node_http {
	struct MHD_Daemon *daemon;            /* the HTTP engine */
	uv_poll_t poll;                       /* readiness of MHD's epoll fd */
	uv_timer_t timer;                     /* MHD's own timeouts */
	const struct node_http_route *routes; /* borrowed table */
	size_t nroutes;                       /* entries in routes */
	void *ctx;                            /* handed to handlers */
	uint16_t port;                        /* bound port */
	int open_handles;                     /* libuv handles not yet closed */
	bool stopping;                        /* node_http_stop was called */
};

/* A response the handler gives later (node_http_defer). */
struct node_http_later {
	struct node_http *h;
	struct MHD_Connection *conn;
	struct node_http_req req; /* the response being filled in */
	bool deferred;            /* the connection is suspended for it (the handler returned) */
	bool ready;               /* node_http_later_send was called */
};

/* Per-request state kept by MHD between access-handler calls. */
struct req_state {
	struct shoal_buf body; /* the body so far, capped */
	struct node_http_later later;
};

static void http_run(struct node_http *h);

static void on_timer(uv_timer_t *t)
{
	http_run(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	(void)status;
	(void)events;
	http_run(p->data);
}

static void http_run(struct node_http *h)
{
	MHD_UNSIGNED_LONG_LONG ms = 0;
	if (h->stopping)
		return;
	MHD_run(h->daemon);
	if (MHD_get_timeout(h->daemon, &ms) == MHD_YES)
		uv_timer_start(&h->timer, on_timer, (uint64_t)ms, 0);
	else
		uv_timer_stop(&h->timer);
}

static void on_handle_closed(uv_handle_t *handle)
{
	struct node_http *h = handle->data;
	if (--h->open_handles == 0)
		free(h);
}

void node_http_error(struct node_http_req *req, int status, const char *code, const char *reason)
{
	node_http_json(req, status, json_pack("{s:s,s:s}", "error", code, "reason", reason));
}

void node_http_json(struct node_http_req *req, int status, json_t *body)
{
	json_decref(req->json);
	req->json = body;
	req->status = status;
}

static bool is_loopback(const struct shoal_addr *a)
{
	static const uint8_t v6_loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	if (a->family == 4)
		return a->ip[0] == 127;
	return a->family == 6 && memcmp(a->ip, v6_loop, 16) == 0;
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct node_http_req *req,
                                     const char *allow)
{
	char *body = NULL;
	size_t len = 0;
	const char *type = "application/json";
	if (req->text != NULL) {
		body = req->text;
		len = req->text_len;
		req->text = NULL;
		if (req->content_type != NULL)
			type = req->content_type;
	} else {
		if (req->json == NULL)
			req->json = json_object();
		body = json_dumps(req->json,
		                  JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(10));
		if (body == NULL) {
			req->status = 500;
			body = strdup("{\"error\":\"internal\",\"reason\":\"out of memory\"}");
			if (body == NULL)
				return MHD_NO;
		}
		len = strlen(body);
		/* A trailing newline makes curl output readable. */
		char *nl = realloc(body, len + 2);
		if (nl != NULL) {
			body = nl;
			body[len++] = '\n';
			body[len] = '\0';
		}
	}
	struct MHD_Response *resp =
	        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control",
	                        req->cache_control != NULL ? req->cache_control : "no-store");
	/* Browsers must take every body for the type it is sent as. */
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (req->csp != NULL)
		MHD_add_response_header(resp, "Content-Security-Policy", req->csp);
	if (req->header_name != NULL)
		MHD_add_response_header(resp, req->header_name, req->header_value);
	if (allow != NULL)
		MHD_add_response_header(resp, "Allow", allow);
	enum MHD_Result r = MHD_queue_response(conn, (unsigned)req->status, resp);
	MHD_destroy_response(resp);
	return r;
}

static void req_release(struct node_http_req *req)
{
	json_decref(req->json);
	free(req->text);
	req->json = NULL;
	req->text = NULL;
}

const char *node_http_query(const struct node_http_req *req, const char *key)
{
	if (req->conn == NULL)
		return NULL;
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

/* Exact match, or for a route ending in slash-star any path under that prefix
 * with at least one more character (GET /v1/intents/App/kuard). */
static bool path_matches(const char *route, const char *url)
{
	size_t n = strlen(route);
	if (n >= 2 && route[n - 1] == '*' && route[n - 2] == '/')
		return strncmp(route, url, n - 1) == 0 && url[n - 1] != '\0';
	return strcmp(route, url) == 0;
}

/* Route and answer one complete request. */
static enum MHD_Result dispatch(struct node_http *h, struct MHD_Connection *conn, const char *url,
                                const char *method, struct req_state *st)
{
	struct node_http_req req;
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = url;
	req.body = st != NULL ? st->body.data : NULL;
	req.body_len = st != NULL ? st->body.len : 0;
	req.ctx = h->ctx;
	req.conn = conn;
	req.state = st;
	req.ctx_server = h;
	req.status = 200;
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr != NULL &&
	    node_addr_from_sockaddr(&req.peer, ci->client_addr) == 0)
		req.peer_loopback = is_loopback(&req.peer);

	const char *match_method = strcmp(method, "HEAD") == 0 ? "GET" : method;
	char allow[64] = "";
	bool path_known = false;
	const struct node_http_route *route = NULL;
	for (size_t i = 0; i < h->nroutes; i++) {
		if (!path_matches(h->routes[i].path, url))
			continue;
		path_known = true;
		size_t used = strlen(allow);
		snprintf(allow + used, sizeof(allow) - used, "%s%s", used > 0 ? ", " : "",
		         h->routes[i].method);
		if (strcmp(h->routes[i].method, match_method) == 0)
			route = &h->routes[i];
	}

	char reason[160];
	if (route != NULL) {
		route->fn(&req);
		if (req.later != NULL) {
			/* node_http_defer: the answer comes with node_http_later_send,
			 * which may already have been called from inside the handler
			 * (nothing to wait for): then it goes out now. */
			struct node_http_later *l = req.later;
			req_release(&req);
			if (l->ready) {
				enum MHD_Result r = send_response(conn, &l->req, NULL);
				req_release(&l->req);
				l->ready = false;
				return r;
			}
			l->deferred = true;
			MHD_suspend_connection(conn);
			return MHD_YES;
		}
	} else if (path_known) {
		snprintf(reason, sizeof(reason), "%s does not answer %s (allowed: %s)", url, method,
		         allow);
		node_http_error(&req, 405, "method_not_allowed", reason);
	} else {
		snprintf(reason, sizeof(reason), "no such endpoint: %.120s", url);
		node_http_error(&req, 404, "not_found", reason);
	}
	enum MHD_Result r = send_response(conn, &req, path_known && route == NULL ? allow : NULL);
	req_release(&req);
	return r;
}

/* Content-Length as a number; false if absent or not a plain decimal. */
static bool content_length(struct MHD_Connection *conn, uint64_t *out)
{
	const char *v =
	        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (v == NULL || *v == '\0')
		return false;
	uint64_t n = 0;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return false;
		if (n > UINT64_MAX / 10)
			return false;
		n = n * 10 + (uint64_t)(*v - '0');
	}
	*out = n;
	return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct node_http *h = cls;
	struct req_state *st = *con_cls;
	(void)version;

	if (st != NULL && st->later.deferred) {
		/* Resumed: the deferred answer is ready. */
		if (!st->later.ready)
			return MHD_YES;
		st->later.deferred = false;
		enum MHD_Result r = send_response(conn, &st->later.req, NULL);
		req_release(&st->later.req);
		return r;
	}

	if (st == NULL) {
		st = calloc(1, sizeof(*st));
		if (st == NULL)
			return MHD_NO;
		shoal_buf_create(&st->body, NODE_HTTP_BODY_MAX);
		*con_cls = st;
		uint64_t declared = 0;
		if (content_length(conn, &declared) && declared > NODE_HTTP_BODY_MAX) {
			/* Answer before the body is read; MHD then closes. */
			struct node_http_req req;
			memset(&req, 0, sizeof(req));
			node_http_error(&req, 413, "too_big", "request body larger than 1 MiB");
			enum MHD_Result r = send_response(conn, &req, NULL);
			req_release(&req);
			return r;
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (shoal_buf_append(&st->body, upload_data, *upload_data_size) != 0)
			return MHD_NO; /* chunked body past the cap: drop the connection */
		*upload_data_size = 0;
		return MHD_YES;
	}
	return dispatch(h, conn, url, method, st);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct req_state *st = *con_cls;
	(void)cls;
	(void)conn;
	(void)toe;
	if (st == NULL)
		return;
	shoal_buf_destroy(&st->body);
	req_release(&st->later.req);
	free(st);
	*con_cls = NULL;
}

struct node_http_later *node_http_defer(struct node_http_req *req)
{
	struct req_state *st = req->state;
	struct node_http *h = req->ctx_server;
	if (st == NULL || h == NULL)
		return NULL;
	memset(&st->later, 0, sizeof(st->later));
	st->later.h = h;
	st->later.conn = req->conn;
	st->later.req.ctx = req->ctx;
	st->later.req.status = 200;
	req->later = &st->later;
	return &st->later;
}

struct node_http_req *node_http_later_req(struct node_http_later *l)
{
	return &l->req;
}

void node_http_later_send(struct node_http_later *l)
{
	if (l->ready)
		return;
	l->ready = true;
	if (!l->deferred)
		return; /* still inside the handler: dispatch sends it */
	MHD_resume_connection(l->conn);
	/* MHD sends it on its next run: make that now rather than at its next
	 * timeout. */
	if (!l->h->stopping)
		uv_timer_start(&l->h->timer, on_timer, 0, 0);
}

/* Percent-encode one query key or value into out at *used. */
static bool put_encoded(char *out, size_t cap, size_t *used, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		             (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
		if (*used + (plain ? 1 : 3) >= cap)
			return false;
		if (plain) {
			out[(*used)++] = (char)c;
		} else {
			out[(*used)++] = '%';
			out[(*used)++] = hex[c >> 4];
			out[(*used)++] = hex[c & 15];
		}
	}
	return true;
}

struct query_acc {
	char *out;
	size_t cap, used;
	bool ok;
};

static enum MHD_Result add_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
	struct query_acc *q = cls;
	(void)kind;
	if (q->used > 0) {
		if (q->used + 1 >= q->cap) {
			q->ok = false;
			return MHD_NO;
		}
		q->out[q->used++] = '&';
	}
	if (!put_encoded(q->out, q->cap, &q->used, key)) {
		q->ok = false;
		return MHD_NO;
	}
	if (value != NULL) {
		if (q->used + 1 >= q->cap) {
			q->ok = false;
			return MHD_NO;
		}
		q->out[q->used++] = '=';
		if (!put_encoded(q->out, q->cap, &q->used, value)) {
			q->ok = false;
			return MHD_NO;
		}
	}
	return MHD_YES;
}

int node_http_query_string(const struct node_http_req *req, char *out, size_t cap)
{
	struct query_acc q = {out, cap, 0, true};
	if (cap == 0)
		return -1;
	out[0] = '\0';
	if (req->conn == NULL)
		return 0;
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, add_query_arg, &q);
	if (!q.ok)
		return -1;
	out[q.used] = '\0';
	return 0;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	/* MHD reports client misbehaviour (resets, timeouts) here; those are
	 * the clients' business, not the node's log. */
	(void)cls;
	(void)fmt;
	(void)ap;
}

int node_http_start(struct node_http **out, uv_loop_t *loop, const struct shoal_addr *addr,
                    const struct node_http_route *routes, size_t nroutes, void *ctx, char *err,
                    size_t errcap)
{
	struct sockaddr_storage ss;
	char text[SHOAL_ADDR_STRLEN];
	shoal_addr_format(addr, text, sizeof(text));
	*out = NULL;
	if (node_addr_to_sockaddr(addr, &ss) != 0) {
		snprintf(err, errcap, "api address %s: unsupported family", text);
		return -EINVAL;
	}
	struct node_http *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	h->routes = routes;
	h->nroutes = nroutes;
	h->ctx = ctx;

	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	if (addr->family == 6)
		flags |= MHD_USE_IPv6;
	h->daemon = MHD_start_daemon(flags, addr->port, NULL, NULL, on_request, h,
	                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	                             MHD_OPTION_CONNECTION_LIMIT, (unsigned)NODE_HTTP_CONN_MAX,
	                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)NODE_HTTP_TIMEOUT_S,
	                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	                             MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h, MHD_OPTION_END);
	if (h->daemon == NULL) {
		snprintf(err, errcap, "api %s: cannot listen (address in use or not local?)", text);
		free(h);
		return -EADDRINUSE;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	const union MHD_DaemonInfo *pinfo =
	        MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	h->port = pinfo != NULL ? pinfo->port : addr->port;
	int rc = info != NULL ? uv_poll_init(loop, &h->poll, info->epoll_fd) : UV_EINVAL;
	if (rc != 0) {
		snprintf(err, errcap, "api %s: cannot watch the server: %s", text, uv_strerror(rc));
		MHD_stop_daemon(h->daemon);
		free(h);
		return rc;
	}
	h->poll.data = h;
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	h->open_handles = 2;
	uv_poll_start(&h->poll, UV_READABLE, on_poll);
	http_run(h);
	*out = h;
	return 0;
}

void node_http_stop(struct node_http *h)
{
	if (h == NULL || h->stopping)
		return;
	h->stopping = true;
	/* Stop watching the descriptor before MHD closes it. */
	uv_poll_stop(&h->poll);
	uv_close((uv_handle_t *)&h->poll, on_handle_closed);
	uv_close((uv_handle_t *)&h->timer, on_handle_closed);
	MHD_stop_daemon(h->daemon);
	h->daemon = NULL;
}

uint16_t node_http_port(const struct node_http *h)
{
	return h->port;
}
