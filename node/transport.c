/*
 * transport.c - UDP, TCP conversations and the env callbacks over libuv.
 *
 * Each connection owns two libuv handles (the socket and an idle timer) and
 * is freed when both close callbacks have run; write, connect and shutdown
 * requests always complete (with UV_ECANCELED at worst) before that, so they
 * may keep a plain pointer to their connection. A connection leaves the
 * conversation list the moment it starts closing, so the core can reuse or
 * forget the id at once.
 *
 * The core is told about a conversation at most once after it is lost
 * (on_stream_error), and never after it said stream_close: `done` marks
 * both, and is set before the callback runs so a re-entrant stream_send on
 * the same id opens a fresh connection instead of touching the dying one.
 * An inbound connection that fails before delivering a single message is
 * dropped silently: the core never heard of its id.
 */
#include "transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "shoal/error.h"
#include "shoal/mp.h"

#include "clock.h"

/* One framed message on its way out. */
struct wreq {
	uv_write_t req;      /* libuv request; req.data unused */
	struct node_conn *c; /* the connection it belongs to */
	struct wreq *next;   /* queue link while waiting for connect */
	size_t len;          /* bytes in data (header + message) */
	uint8_t data[];      /* 4-byte length, then the message */
};

struct node_conn {
	struct node_conn *next;     /* list link in the transport */
	struct node_transport *t;   /* owner */
	uv_tcp_t tcp;               /* the socket */
	uv_timer_t idle;            /* fails the connection when silent */
	uv_connect_t connect_req;   /* outbound connect in progress */
	uv_shutdown_t shutdown_req; /* graceful close of our write side */
	uint64_t conv;              /* conversation id as the core knows it */
	struct shoal_addr peer;     /* remote address */
	struct shoal_buf rx;        /* bytes read, not yet a whole frame */
	struct wreq *pending;       /* frames queued before connect completes */
	struct wreq **pending_tail; /* where the next queued frame links */
	size_t queued;              /* bytes queued or in flight, for the cap */
	int open_handles;           /* handles not yet closed (frees at 0) */
	bool connected;             /* the socket is usable for writing */
	bool done;                  /* the core is finished with it or was told it failed */
	bool known;                 /* the core knows this conv (it opened it, or got a message) */
	bool shut;                  /* shutdown requested */
	bool closing;               /* uv_close called */
};

/* ---- small helpers ---------------------------------------------------------- */

int node_addr_from_sockaddr(struct shoal_addr *out, const struct sockaddr *sa)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		out->family = 4;
		out->port = ntohs(in->sin_port);
		memcpy(out->ip, &in->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		const uint8_t *ip = (const uint8_t *)&in6->sin6_addr;
		out->port = ntohs(in6->sin6_port);
		if (memcmp(ip, mapped, sizeof(mapped)) == 0) {
			out->family = 4;
			memcpy(out->ip, ip + 12, 4);
		} else {
			out->family = 6;
			memcpy(out->ip, ip, 16);
		}
		return 0;
	}
	return -EAFNOSUPPORT;
}

int node_addr_to_sockaddr(const struct shoal_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == 4) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(a->port);
		memcpy(&in->sin_addr, a->ip, 4);
		return 0;
	}
	if (a->family == 6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(a->port);
		memcpy(&in6->sin6_addr, a->ip, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: fast, well distributed, and plenty for protocol choices;
 * key material comes from random_bytes, never from here. */
static uint64_t env_prng(void *ctx)
{
	struct node_transport *t = ctx;
	uint64_t *s = t->prng;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t x = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= x;
	s[3] = rotl(s[3], 45);
	return result;
}

static void env_random_bytes(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

/* ---- connections ------------------------------------------------------------ */

static struct node_conn *conn_find(struct node_transport *t, uint64_t conv)
{
	for (struct node_conn *c = t->conns; c != NULL; c = c->next)
		if (c->conv == conv)
			return c;
	return NULL;
}

static void conn_unlink(struct node_conn *c)
{
	struct node_transport *t = c->t;
	for (struct node_conn **pp = &t->conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			t->nconns--;
			return;
		}
	}
}

static void conn_free_pending(struct node_conn *c)
{
	while (c->pending != NULL) {
		struct wreq *w = c->pending;
		c->pending = w->next;
		free(w);
	}
	c->pending_tail = &c->pending;
}

static void conn_on_close(uv_handle_t *h)
{
	struct node_conn *c = h->data;
	if (--c->open_handles > 0)
		return;
	conn_free_pending(c);
	shoal_buf_destroy(&c->rx);
	free(c);
}

static void conn_close(struct node_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	c->done = true;
	conn_unlink(c);
	uv_close((uv_handle_t *)&c->tcp, conn_on_close);
	uv_close((uv_handle_t *)&c->idle, conn_on_close);
}

/* The conversation is lost: tell the core once (unless it is done with it),
 * then close. */
static void conn_fail(struct node_conn *c, uint64_t now)
{
	bool tell = !c->done && c->known;
	uint64_t conv = c->conv;
	struct node_transport *t = c->t;
	conn_close(c);
	if (tell && t->cbs.on_stream_error != NULL)
		t->cbs.on_stream_error(t->cbs.ctx, now, conv);
}

static void conn_on_idle(uv_timer_t *timer)
{
	conn_fail(timer->data, node_clock_mono_us());
}

static void conn_touch(struct node_conn *c)
{
	if (!c->closing)
		uv_timer_start(&c->idle, conn_on_idle, NODE_CONN_IDLE_MS, 0);
}

static struct node_conn *conn_new(struct node_transport *t, uint64_t conv,
                                  const struct shoal_addr *peer)
{
	struct node_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->t = t;
	c->conv = conv;
	if (peer != NULL)
		c->peer = *peer;
	c->pending_tail = &c->pending;
	shoal_buf_create(&c->rx, NODE_FRAME_MAX + 4 + NODE_DGRAM_BUF);
	if (uv_tcp_init(t->loop, &c->tcp) != 0) {
		free(c);
		return NULL;
	}
	c->tcp.data = c;
	uv_timer_init(t->loop, &c->idle); /* cannot fail on a live loop */
	c->idle.data = c;
	c->open_handles = 2;
	c->next = t->conns;
	t->conns = c;
	t->nconns++;
	conn_touch(c);
	return c;
}

static void conn_on_shutdown(uv_shutdown_t *req, int status)
{
	struct node_conn *c = req->data;
	/* On failure there is nothing left to be graceful about; on success
	 * keep reading until the peer's EOF (or the idle timer). */
	if (status < 0)
		conn_close(c);
}

static void conn_maybe_shutdown(struct node_conn *c)
{
	if (!c->done || c->shut || c->closing || !c->connected)
		return;
	c->shut = true;
	c->shutdown_req.data = c;
	if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, conn_on_shutdown) != 0)
		conn_close(c);
}

static void conn_on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct node_conn *c = w->c;
	c->queued -= w->len;
	if (status == 0) {
		c->t->tcp_traffic.packets_out++;
		c->t->tcp_traffic.bytes_out += w->len;
		conn_touch(c);
	}
	free(w);
	if (status < 0 && status != UV_ECANCELED && !c->closing)
		conn_fail(c, node_clock_mono_us());
}

static int conn_write(struct node_conn *c, struct wreq *w)
{
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
	int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, conn_on_write);
	if (rc != 0) {
		c->queued -= w->len;
		free(w);
	}
	return rc;
}

/* Deliver every whole frame in c->rx. */
static void conn_deliver(struct node_conn *c, uint64_t now)
{
	struct node_transport *t = c->t;
	size_t off = 0;
	while (!c->done && c->rx.len - off >= 4) {
		const uint8_t *p = c->rx.data + off;
		uint32_t flen =
		        (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		if (flen == 0 || flen > NODE_FRAME_MAX) {
			conn_fail(c, now); /* not a peer speaking our framing */
			return;
		}
		if (c->rx.len - off - 4 < flen)
			break;
		t->tcp_traffic.packets_in++;
		off += 4 + flen;
		c->known = true;
		if (t->cbs.on_stream != NULL)
			t->cbs.on_stream(t->cbs.ctx, now, c->conv, &c->peer, p + 4, flen);
	}
	if (c->done) {
		shoal_buf_reset(&c->rx);
		return;
	}
	if (off > 0) {
		memmove(c->rx.data, c->rx.data + off, c->rx.len - off);
		c->rx.len -= off;
	}
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct node_conn *c = h->data;
	(void)suggested;
	*buf = uv_buf_init((char *)c->t->rbuf, sizeof(c->t->rbuf));
}

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct node_conn *c = s->data;
	uint64_t now = node_clock_mono_us();
	(void)buf;
	if (nread == 0 || c->closing)
		return;
	if (nread < 0) {
		if (c->done)
			conn_close(c); /* the peer's EOF after our graceful shutdown */
		else
			conn_fail(c, now);
		return;
	}
	c->t->tcp_traffic.bytes_in += (uint64_t)nread;
	conn_touch(c);
	if (c->done)
		return; /* draining until EOF */
	if (shoal_buf_append(&c->rx, c->t->rbuf, (size_t)nread) != 0) {
		conn_fail(c, now);
		return;
	}
	conn_deliver(c, now);
}

static void conn_on_connect(uv_connect_t *req, int status)
{
	struct node_conn *c = req->data;
	if (status == UV_ECANCELED || c->closing)
		return;
	if (status < 0) {
		conn_fail(c, node_clock_mono_us());
		return;
	}
	c->connected = true;
	conn_touch(c);
	if (uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_on_read) != 0) {
		conn_fail(c, node_clock_mono_us());
		return;
	}
	while (c->pending != NULL) {
		struct wreq *w = c->pending;
		c->pending = w->next;
		if (conn_write(c, w) != 0) {
			conn_free_pending(c);
			conn_fail(c, node_clock_mono_us());
			return;
		}
	}
	c->pending_tail = &c->pending;
	conn_maybe_shutdown(c);
}

/* ---- env: streams ------------------------------------------------------------ */

static int env_stream_send(void *ctx, uint64_t conv, const struct shoal_addr *to,
                           const uint8_t *buf, size_t len)
{
	struct node_transport *t = ctx;
	if (len == 0)
		return -EINVAL;
	if (len > NODE_FRAME_MAX)
		return SHOAL_E_TOO_BIG;
	struct node_conn *c = conn_find(t, conv);
	if (c != NULL && c->done)
		return -ENOTCONN;
	if (c == NULL) {
		if (conv & SHOAL_CONV_INBOUND)
			return -ENOTCONN; /* the peer's connection is gone */
		if (t->nconns >= NODE_CONN_MAX)
			return -EMFILE;
		struct sockaddr_storage ss;
		if (to == NULL || node_addr_to_sockaddr(to, &ss) != 0)
			return -EINVAL;
		c = conn_new(t, conv, to);
		if (c == NULL)
			return -ENOMEM;
		c->known = true;
		c->connect_req.data = c;
		int rc = uv_tcp_connect(&c->connect_req, &c->tcp, (struct sockaddr *)&ss,
		                        conn_on_connect);
		if (rc != 0) {
			conn_close(c);
			return rc;
		}
	}
	if (c->queued + len + 4 > NODE_CONN_QUEUE_MAX)
		return -ENOBUFS;
	struct wreq *w = malloc(sizeof(*w) + 4 + len);
	if (w == NULL)
		return -ENOMEM;
	w->c = c;
	w->next = NULL;
	w->len = 4 + len;
	w->data[0] = (uint8_t)(len >> 24);
	w->data[1] = (uint8_t)(len >> 16);
	w->data[2] = (uint8_t)(len >> 8);
	w->data[3] = (uint8_t)len;
	memcpy(w->data + 4, buf, len);
	c->queued += w->len;
	if (!c->connected) {
		*c->pending_tail = w;
		c->pending_tail = &w->next;
		return 0;
	}
	int rc = conn_write(c, w);
	if (rc != 0) {
		c->done = true; /* the core learns from our return value */
		conn_close(c);
	}
	return rc;
}

static void env_stream_close(void *ctx, uint64_t conv)
{
	struct node_transport *t = ctx;
	struct node_conn *c = conn_find(t, conv);
	if (c == NULL || c->done)
		return;
	c->done = true;         /* conn_deliver stops and drops what is buffered */
	conn_maybe_shutdown(c); /* before connect: happens once connected */
}

/* ---- listener ------------------------------------------------------------------ */

static void on_connection(uv_stream_t *server, int status)
{
	struct node_transport *t = server->data;
	if (status < 0)
		return;
	struct node_conn *c = conn_new(t, 0, NULL);
	if (c == NULL)
		return;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c);
		return;
	}
	if (t->nconns > NODE_CONN_MAX) {
		conn_close(c); /* accepted only to drain the backlog */
		return;
	}
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sslen) != 0 ||
	    node_addr_from_sockaddr(&c->peer, (struct sockaddr *)&ss) != 0) {
		conn_close(c);
		return;
	}
	c->conv = SHOAL_CONV_INBOUND | (++t->next_inbound & ~SHOAL_CONV_INBOUND);
	c->connected = true;
	if (uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_on_read) != 0)
		conn_close(c);
}

/* ---- UDP --------------------------------------------------------------------- */

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct node_transport *t = h->data;
	(void)suggested;
	*buf = uv_buf_init((char *)t->rbuf, sizeof(t->rbuf));
}

static void udp_on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *addr, unsigned flags)
{
	struct node_transport *t = h->data;
	struct shoal_addr from;
	if (nread <= 0 || addr == NULL)
		return;
	t->udp_traffic.packets_in++;
	t->udp_traffic.bytes_in += (uint64_t)nread;
	if (flags & UV_UDP_PARTIAL)
		return; /* truncated: no valid packet is this big */
	if (node_addr_from_sockaddr(&from, addr) != 0)
		return;
	if (t->cbs.on_datagram != NULL)
		t->cbs.on_datagram(t->cbs.ctx, node_clock_mono_us(), &from,
		                   (const uint8_t *)buf->base, (size_t)nread);
}

static void env_send_datagram(void *ctx, const struct shoal_addr *to, const uint8_t *buf,
                              size_t len)
{
	struct node_transport *t = ctx;
	struct sockaddr_storage ss;
	if (!t->udp_open || node_addr_to_sockaddr(to, &ss) != 0)
		return;
	uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
	int n = uv_udp_try_send(&t->udp, &b, 1, (const struct sockaddr *)&ss);
	if (n > 0) {
		t->udp_traffic.packets_out++;
		t->udp_traffic.bytes_out += (uint64_t)n;
	}
}

/* ---- lifecycle ------------------------------------------------------------------ */

static void set_err(char *err, size_t errcap, const char *what, const struct shoal_addr *a, int rc)
{
	char text[SHOAL_ADDR_STRLEN];
	if (err == NULL || errcap == 0)
		return;
	shoal_addr_format(a, text, sizeof(text));
	snprintf(err, errcap, "%s %s: %s", what, text, uv_strerror(rc));
}

int node_transport_start(struct node_transport *t, uv_loop_t *loop, const struct shoal_addr *bind,
                         const struct node_transport_cbs *cbs, char *err, size_t errcap)
{
	struct sockaddr_storage ss;
	int rc;

	memset(t, 0, sizeof(*t));
	if (err != NULL && errcap > 0)
		err[0] = '\0';
	t->loop = loop;
	t->cbs = *cbs;
	randombytes_buf(t->prng, sizeof(t->prng));
	t->env = (struct shoal_env){
	        .ctx = t,
	        .send_datagram = env_send_datagram,
	        .stream_send = env_stream_send,
	        .stream_close = env_stream_close,
	        .prng = env_prng,
	        .random_bytes = env_random_bytes,
	        .verify = NULL,
	};
	if ((rc = node_addr_to_sockaddr(bind, &ss)) != 0) {
		set_err(err, errcap, "bind", bind, UV_EAFNOSUPPORT);
		return rc;
	}

	if ((rc = uv_udp_init(loop, &t->udp)) != 0)
		goto fail;
	t->udp.data = t;
	t->udp_open = true;
	if ((rc = uv_udp_bind(&t->udp, (struct sockaddr *)&ss, 0)) != 0) {
		set_err(err, errcap, "udp bind", bind, rc);
		goto fail;
	}
	if ((rc = uv_udp_recv_start(&t->udp, udp_alloc, udp_on_recv)) != 0) {
		set_err(err, errcap, "udp receive on", bind, rc);
		goto fail;
	}

	if ((rc = uv_tcp_init(loop, &t->listener)) != 0)
		goto fail;
	t->listener.data = t;
	t->listener_open = true;
	if ((rc = uv_tcp_bind(&t->listener, (struct sockaddr *)&ss, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&t->listener, 128, on_connection)) != 0) {
		set_err(err, errcap, "tcp listen on", bind, rc);
		goto fail;
	}
	return 0;
fail:
	if (err != NULL && errcap > 0 && err[0] == '\0')
		set_err(err, errcap, "transport on", bind, rc);
	node_transport_close(t);
	return rc;
}

void node_transport_close(struct node_transport *t)
{
	while (t->conns != NULL)
		conn_close(t->conns); /* unlinks itself */
	if (t->udp_open) {
		uv_udp_recv_stop(&t->udp);
		uv_close((uv_handle_t *)&t->udp, NULL);
		t->udp_open = false;
	}
	if (t->listener_open) {
		uv_close((uv_handle_t *)&t->listener, NULL);
		t->listener_open = false;
	}
	memset(&t->cbs, 0, sizeof(t->cbs));
}

const struct shoal_env *node_transport_env(struct node_transport *t)
{
	return &t->env;
}

size_t node_transport_conns(const struct node_transport *t)
{
	return t->nconns;
}
