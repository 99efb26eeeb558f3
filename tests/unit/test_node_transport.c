/*
 * test_node_transport.c - shoald's UDP and framed-TCP transport on loopback.
 *
 * Two transports run on one libuv loop, each with recording callbacks in
 * place of SWIM; the test drives the loop until what it waits for arrives
 * (or a deadline passes). What matters to the core is checked: datagrams
 * and their sender, conversation ids (the core's own out, SHOAL_CONV_INBOUND
 * on the other side), message boundaries across TCP reads, a large message
 * arriving whole, the error callback once per lost conversation and never
 * after stream_close, and hostile framing (zero and oversized lengths)
 * closing the connection without reaching the core.
 */
#include "../../node/transport.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "free_port.h"
#include "shoal/error.h"

#define MAX_EVENTS 64

/* What a transport's callbacks saw. */
struct event {
	char kind;              /* 'd' datagram, 's' stream message, 'e' stream error */
	uint64_t conv;          /* stream events: conversation id */
	struct shoal_addr from; /* datagram/stream: sender */
	uint8_t *data;          /* copy of the bytes (malloc'd) */
	size_t len;             /* bytes in data */
};

struct side {
	struct node_transport t;         /* the transport under test */
	struct shoal_addr addr;          /* where it listens */
	struct event events[MAX_EVENTS]; /* what arrived, in order */
	int nevents;                     /* entries in events */
	bool close_on_message;           /* stream_close each inbound conv after a message */
	bool reply;                      /* echo each stream message back on its conv */
};

static struct side *side_of(void *ctx)
{
	return ctx;
}

static void record(struct side *s, char kind, uint64_t conv, const struct shoal_addr *from,
                   const uint8_t *buf, size_t len)
{
	assert_true(s->nevents < MAX_EVENTS);
	struct event *e = &s->events[s->nevents++];
	e->kind = kind;
	e->conv = conv;
	if (from != NULL)
		e->from = *from;
	e->data = NULL;
	e->len = len;
	if (len > 0) {
		e->data = malloc(len);
		assert_non_null(e->data);
		memcpy(e->data, buf, len);
	}
}

static void on_datagram(void *ctx, uint64_t now, const struct shoal_addr *from, const uint8_t *buf,
                        size_t len)
{
	(void)now;
	record(side_of(ctx), 'd', 0, from, buf, len);
}

static void on_stream(void *ctx, uint64_t now, uint64_t conv, const struct shoal_addr *from,
                      const uint8_t *buf, size_t len)
{
	struct side *s = side_of(ctx);
	(void)now;
	record(s, 's', conv, from, buf, len);
	const struct shoal_env *env = node_transport_env(&s->t);
	if (s->reply)
		assert_int_equal(env->stream_send(env->ctx, conv, from, buf, len), 0);
	if (s->close_on_message)
		env->stream_close(env->ctx, conv);
}

static void on_stream_error(void *ctx, uint64_t now, uint64_t conv)
{
	(void)now;
	record(side_of(ctx), 'e', conv, NULL, NULL, 0);
}

static uv_loop_t loop;
static struct side a, b;

static uint16_t free_port(void)
{
	uint16_t p = test_free_port();
	if (p == 0)
		fail_msg("no free port in 15000-19999");
	return p;
}

static void side_start(struct side *s)
{
	char err[256];
	struct node_transport_cbs cbs = {s, on_datagram, on_stream, on_stream_error};
	for (int i = 0; i < MAX_EVENTS; i++)
		s->events[i].data = NULL;
	s->nevents = 0;
	shoal_addr_parse(&s->addr, "127.0.0.1:1");
	s->addr.port = free_port();
	int rc = node_transport_start(&s->t, &loop, &s->addr, &cbs, err, sizeof(err));
	if (rc != 0)
		fail_msg("transport start: %s", err);
}

static void side_reset(struct side *s)
{
	for (int i = 0; i < s->nevents; i++)
		free(s->events[i].data);
	s->nevents = 0;
}

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0 || uv_loop_init(&loop) != 0)
		return -1;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	side_start(&a);
	side_start(&b);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	side_reset(&a);
	side_reset(&b);
	node_transport_close(&a.t);
	node_transport_close(&b.t);
	uv_run(&loop, UV_RUN_DEFAULT);
	return uv_loop_close(&loop) == 0 ? 0 : -1;
}

static void on_wake(uv_timer_t *t)
{
	*(bool *)t->data = true;
}

/* Let the loop run for `ms` (for "nothing more arrives" checks). */
static void run_for(unsigned ms)
{
	bool woke = false;
	uv_timer_t t;
	uv_timer_init(&loop, &t);
	t.data = &woke;
	uv_timer_start(&t, on_wake, ms, 0);
	while (!woke)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
}

/* Run the loop until `s` has n events, failing after 5 s. */
static void wait_events(struct side *s, int n)
{
	bool expired = false;
	uv_timer_t t;
	uv_timer_init(&loop, &t);
	t.data = &expired;
	uv_timer_start(&t, on_wake, 5000, 0);
	while (s->nevents < n && !expired)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	if (s->nevents < n)
		fail_msg("timed out with %d of %d events", s->nevents, n);
}

static void test_datagrams(void **state)
{
	(void)state;
	const struct shoal_env *env = node_transport_env(&a.t);
	env->send_datagram(env->ctx, &b.addr, (const uint8_t *)"ping", 4);
	env->send_datagram(env->ctx, &b.addr, (const uint8_t *)"second", 6);
	wait_events(&b, 2);
	assert_int_equal(b.events[0].kind, 'd');
	assert_int_equal(b.events[0].len, 4);
	assert_memory_equal(b.events[0].data, "ping", 4);
	assert_true(shoal_addr_equal(&b.events[0].from, &a.addr)); /* sender = A's socket */
	assert_memory_equal(b.events[1].data, "second", 6);
	assert_int_equal(a.t.udp_traffic.packets_out, 2);
	assert_int_equal(a.t.udp_traffic.bytes_out, 10);
	assert_int_equal(b.t.udp_traffic.packets_in, 2);
	assert_int_equal(b.t.udp_traffic.bytes_in, 10);

	/* The env's generators work and differ call to call. */
	uint64_t x = env->prng(env->ctx), y = env->prng(env->ctx);
	assert_true(x != y);
	uint8_t r1[16] = {0}, r2[16] = {0};
	env->random_bytes(env->ctx, r1, sizeof(r1));
	env->random_bytes(env->ctx, r2, sizeof(r2));
	assert_true(memcmp(r1, r2, 16) != 0);
	side_reset(&b);
}

static void test_conversation(void **state)
{
	(void)state;
	const struct shoal_env *env = node_transport_env(&a.t);
	b.reply = true;
	/* Several messages queued before the connection is up keep order and
	 * boundaries. */
	assert_int_equal(env->stream_send(env->ctx, 7, &b.addr, (const uint8_t *)"one", 3), 0);
	assert_int_equal(env->stream_send(env->ctx, 7, &b.addr, (const uint8_t *)"two!", 4), 0);
	wait_events(&b, 2);
	assert_int_equal(b.events[0].kind, 's');
	uint64_t inbound = b.events[0].conv;
	assert_true(inbound & SHOAL_CONV_INBOUND);
	assert_int_equal(b.events[1].conv, inbound);
	assert_memory_equal(b.events[0].data, "one", 3);
	assert_int_equal(b.events[1].len, 4);
	assert_memory_equal(b.events[1].data, "two!", 4);
	/* The replies come back on A's own id. */
	wait_events(&a, 2);
	assert_int_equal(a.events[0].kind, 's');
	assert_int_equal(a.events[0].conv, 7);
	assert_true(shoal_addr_equal(&a.events[0].from, &b.addr));
	assert_memory_equal(a.events[1].data, "two!", 4);
	assert_int_equal(node_transport_conns(&a.t), 1);
	assert_int_equal(node_transport_conns(&b.t), 1);
	assert_int_equal(a.t.tcp_traffic.packets_out, 2);
	assert_int_equal(a.t.tcp_traffic.bytes_out, 4 + 3 + 4 + 4);

	/* A closes: B learns its inbound conv is gone, A hears nothing more. */
	env->stream_close(env->ctx, 7);
	wait_events(&b, 3);
	assert_int_equal(b.events[2].kind, 'e');
	assert_int_equal(b.events[2].conv, inbound);
	run_for(50);
	assert_int_equal(a.nevents, 2);
	assert_int_equal(node_transport_conns(&a.t), 0);
	assert_int_equal(node_transport_conns(&b.t), 0);
	/* Sending on a closed or unknown inbound conv fails at once. */
	const struct shoal_env *benv = node_transport_env(&b.t);
	assert_int_equal(benv->stream_send(benv->ctx, inbound, &a.addr, (const uint8_t *)"x", 1),
	                 -ENOTCONN);
	assert_int_equal(env->stream_send(env->ctx, 8, &b.addr, (const uint8_t *)"", 0), -EINVAL);
	b.reply = false;
	side_reset(&a);
	side_reset(&b);
}

static void test_large_message_and_peer_close(void **state)
{
	(void)state;
	const struct shoal_env *env = node_transport_env(&a.t);
	size_t big = 3u * 1024 * 1024 + 17; /* many TCP reads */
	uint8_t *msg = malloc(big);
	assert_non_null(msg);
	for (size_t i = 0; i < big; i++)
		msg[i] = (uint8_t)(i * 31 + 7);
	b.close_on_message = true; /* B answers nothing and closes */
	assert_int_equal(env->stream_send(env->ctx, 9, &b.addr, msg, big), 0);
	wait_events(&b, 1);
	assert_int_equal(b.events[0].len, big);
	assert_memory_equal(b.events[0].data, msg, big);
	/* B's graceful close reaches A as the loss of conv 9, exactly once. */
	wait_events(&a, 1);
	assert_int_equal(a.events[0].kind, 'e');
	assert_int_equal(a.events[0].conv, 9);
	run_for(50);
	assert_int_equal(a.nevents, 1);
	assert_int_equal(b.nevents, 1);
	assert_int_equal(env->stream_send(env->ctx, 10, &b.addr, msg, NODE_FRAME_MAX + 1),
	                 SHOAL_E_TOO_BIG);
	free(msg);
	b.close_on_message = false;
	side_reset(&a);
	side_reset(&b);
}

static void test_connect_failure(void **state)
{
	(void)state;
	const struct shoal_env *env = node_transport_env(&a.t);
	struct shoal_addr nobody;
	shoal_addr_parse(&nobody, "127.0.0.1:1");
	nobody.port = free_port(); /* nothing listens there */
	assert_int_equal(env->stream_send(env->ctx, 11, &nobody, (const uint8_t *)"hi", 2), 0);
	wait_events(&a, 1);
	assert_int_equal(a.events[0].kind, 'e');
	assert_int_equal(a.events[0].conv, 11);
	run_for(20);
	assert_int_equal(a.nevents, 1);
	assert_int_equal(node_transport_conns(&a.t), 0);
	side_reset(&a);
}

/* A raw client writing `bytes` to B; returns when B has closed on it. */
struct raw {
	uv_tcp_t tcp;         /* the client socket */
	uv_connect_t conn;    /* connect request */
	uv_write_t wr;        /* the one write */
	const uint8_t *bytes; /* what to send */
	size_t len;           /* how many */
	bool eof;             /* B closed the connection */
	bool closed;          /* handle closed */
};

static void raw_alloc(uv_handle_t *h, size_t sz, uv_buf_t *buf)
{
	static char tmp[4096];
	(void)h;
	(void)sz;
	*buf = uv_buf_init(tmp, sizeof(tmp));
}

static void raw_closed(uv_handle_t *h)
{
	((struct raw *)h->data)->closed = true;
}

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct raw *r = s->data;
	(void)buf;
	if (n < 0) {
		r->eof = true;
		uv_close((uv_handle_t *)&r->tcp, raw_closed);
	}
}

static void raw_written(uv_write_t *w, int status)
{
	(void)w;
	(void)status;
}

static void raw_connected(uv_connect_t *c, int status)
{
	struct raw *r = c->data;
	assert_int_equal(status, 0);
	uv_buf_t out = uv_buf_init((char *)r->bytes, (unsigned)r->len);
	uv_write(&r->wr, (uv_stream_t *)&r->tcp, &out, 1, raw_written);
	uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read);
}

static void raw_send(const uint8_t *bytes, size_t len)
{
	struct raw r;
	struct sockaddr_storage ss;
	memset(&r, 0, sizeof(r));
	r.bytes = bytes;
	r.len = len;
	node_addr_to_sockaddr(&b.addr, &ss);
	uv_tcp_init(&loop, &r.tcp);
	r.tcp.data = &r;
	r.conn.data = &r;
	uv_tcp_connect(&r.conn, &r.tcp, (struct sockaddr *)&ss, raw_connected);
	/* B's idle timer (10 s) would end a hang; bad framing must close
	 * long before. */
	uint64_t start = uv_hrtime();
	while (!r.closed)
		uv_run(&loop, UV_RUN_ONCE);
	if (uv_hrtime() - start > 5000000000ull)
		fail_msg("B took over 5 s to close a connection with bad framing");
}

static void test_hostile_framing(void **state)
{
	(void)state;
	/* A zero length, and a length past 16 MiB: closed, nothing delivered,
	 * no error for a conversation the core never heard of. */
	static const uint8_t zero[] = {0, 0, 0, 0, 'x'};
	static const uint8_t huge[] = {0x01, 0x00, 0x00, 0x01, 'x'};
	raw_send(zero, sizeof(zero));
	raw_send(huge, sizeof(huge));
	/* A good frame followed by a bad one: the good one arrives, then the
	 * connection is lost and, since the core knows the conv, reported. */
	static const uint8_t mixed[] = {0, 0, 0, 2, 'o', 'k', 0xff, 0xff, 0xff, 0xff};
	raw_send(mixed, sizeof(mixed));
	run_for(20);
	assert_int_equal(b.nevents, 2);
	assert_int_equal(b.events[0].kind, 's');
	assert_int_equal(b.events[0].len, 2);
	assert_int_equal(b.events[1].kind, 'e');
	assert_int_equal(b.events[1].conv, b.events[0].conv);
	assert_int_equal(node_transport_conns(&b.t), 0);
	side_reset(&b);
}

static void test_bind_conflict(void **state)
{
	struct node_transport t;
	struct node_transport_cbs cbs = {NULL, NULL, NULL, NULL};
	char err[256] = "";
	(void)state;
	int rc = node_transport_start(&t, &loop, &a.addr, &cbs, err, sizeof(err));
	assert_int_equal(rc, UV_EADDRINUSE);
	assert_non_null(strstr(err, "address already in use"));
	uv_run(&loop, UV_RUN_NOWAIT); /* finish closing its handles */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_datagrams),
	        cmocka_unit_test(test_conversation),
	        cmocka_unit_test(test_large_message_and_peer_close),
	        cmocka_unit_test(test_connect_failure),
	        cmocka_unit_test(test_hostile_framing),
	        cmocka_unit_test(test_bind_conflict),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
