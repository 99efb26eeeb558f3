/*
 * test_curl_loop.c - k8s/curl_loop.c, the libcurl-on-libuv driver under the
 * API server client and the alert webhooks, over real sockets on one loop.
 *
 * The node's own HTTP server (node/http.c) answers on the same loop; a
 * listening socket that nobody accepts from stands for a server that never
 * answers. The tests pin down the driver's contract: one done callback per
 * transfer, never inside k8s_curl_loop_add, with the handle already out of the
 * driver; none after a cancel or a delete; every uv handle closed (and the
 * driver freed, which ASan checks) once the loop has run.
 */
#include "../../k8s/curl_loop.h"
#include "../../node/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "free_port.h"

/* ---- the servers ---------------------------------------------------------- */

static void h_hello(struct node_http_req *req)
{
	node_http_json(req, 200, json_pack("{s:s}", "hello", "world"));
}

static void h_teapot(struct node_http_req *req)
{
	node_http_error(req, 418, "teapot", "short and stout");
}

static const struct node_http_route routes[] = {
        {"GET", "/hello", h_hello},
        {"GET", "/teapot", h_teapot},
};

struct fixture {
	uv_loop_t loop;
	struct node_http *http; /* answers */
	uint16_t port;
	int silent_fd; /* listens, never accepts: the kernel completes the
	                * handshake, and the request waits for an answer */
	uint16_t silent_port;
	struct k8s_curl_loop *cl;
};

static void fixture_start(struct fixture *f)
{
	struct shoal_addr addr;
	char err[256];
	memset(f, 0, sizeof(*f));
	assert_int_equal(uv_loop_init(&f->loop), 0);
	shoal_addr_parse(&addr, "127.0.0.1:1");
	addr.port = 0;
	assert_int_equal(node_http_start(&f->http, &f->loop, &addr, routes,
	                                 sizeof(routes) / sizeof(routes[0]), NULL, err,
	                                 sizeof(err)),
	                 0);
	f->port = node_http_port(f->http);

	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t salen = sizeof(sa);
	f->silent_fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(f->silent_fd >= 0);
	assert_int_equal(bind(f->silent_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->silent_fd, 8), 0);
	assert_int_equal(getsockname(f->silent_fd, (struct sockaddr *)&sa, &salen), 0);
	f->silent_port = ntohs(sa.sin_port);

	assert_int_equal(k8s_curl_loop_new(&f->loop, &f->cl), 0);
}

/* Delete the driver (if the test has not) and stop the servers; every handle
 * must then close. */
static void fixture_end(struct fixture *f)
{
	k8s_curl_loop_delete(f->cl);
	node_http_stop(f->http);
	close(f->silent_fd);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* ---- running the loop ----------------------------------------------------- */

struct waiter {
	uv_timer_t timer;
	const int *count;
	int want;
	uint64_t deadline;
};

static void on_wait_tick(uv_timer_t *t)
{
	struct waiter *w = t->data;
	if (*w->count >= w->want || uv_now(t->loop) >= w->deadline)
		uv_stop(t->loop);
}

/* Run the loop until *count reaches want, or ms have passed. */
static void run_until(struct fixture *f, const int *count, int want, uint64_t ms)
{
	struct waiter w = {.count = count, .want = want, .deadline = uv_now(&f->loop) + ms};
	uv_timer_init(&f->loop, &w.timer);
	w.timer.data = &w;
	uv_timer_start(&w.timer, on_wait_tick, 5, 5);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&w.timer, NULL);
	uv_run(&f->loop, UV_RUN_NOWAIT); /* the close completes while w is alive */
}

static void run_for(struct fixture *f, uint64_t ms)
{
	static const int never = 0;
	run_until(f, &never, 1, ms);
}

/* ---- one transfer --------------------------------------------------------- */

struct xfer {
	struct fixture *f;
	CURL *easy;
	int calls;       /* done callbacks seen */
	CURLcode result; /* from the last one */
	long status;
	size_t bytes; /* body bytes the write callback saw */
	int chain;    /* further transfers the callback starts on this record */
};

/* The body is the caller's business; the test only counts what arrived. */
static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	struct xfer *x = ud;
	x->bytes += size * n;
	return size * n;
}

static CURL *make_easy(struct xfer *x, uint16_t port, const char *path)
{
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)port, path);
	CURL *e = curl_easy_init();
	assert_non_null(e);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
	x->easy = e;
	x->bytes = 0;
	return e;
}

static void on_done(void *arg, CURL *easy, CURLcode result)
{
	struct xfer *x = arg;
	assert_ptr_equal(easy, x->easy);
	x->calls++;
	x->result = result;
	x->status = 0;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &x->status);
	curl_off_t got = -1;
	curl_easy_getinfo(easy, CURLINFO_SIZE_DOWNLOAD_T, &got);
	assert_true(got >= 0 && (size_t)got == x->bytes);
	/* Already out of the driver: a cancel finds nothing to do. */
	k8s_curl_loop_cancel(x->f->cl, easy);
	if (x->chain > 0) {
		/* Free this handle and start the next from inside the callback. */
		x->chain--;
		curl_easy_cleanup(easy);
		CURL *e = make_easy(x, x->f->port, "/hello");
		assert_int_equal(k8s_curl_loop_add(x->f->cl, e, on_done, x), 0);
	}
}

/* ---- the tests ------------------------------------------------------------ */

static void test_done_once(void **state)
{
	(void)state;
	struct fixture f;
	fixture_start(&f);
	struct xfer a = {.f = &f}, b = {.f = &f};
	assert_int_equal(k8s_curl_loop_add(f.cl, make_easy(&a, f.port, "/hello"), on_done, &a), 0);
	assert_int_equal(k8s_curl_loop_add(f.cl, make_easy(&b, f.port, "/teapot"), on_done, &b), 0);
	/* Never inside k8s_curl_loop_add. */
	assert_int_equal(a.calls + b.calls, 0);
	run_until(&f, &b.calls, 1, 5000);
	run_until(&f, &a.calls, 1, 5000);
	run_for(&f, 50); /* no second callback */
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.result, CURLE_OK);
	assert_int_equal(a.status, 200);
	assert_true(a.bytes > 0);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.result, CURLE_OK);
	assert_int_equal(b.status, 418);
	assert_true(b.bytes > 0);
	curl_easy_cleanup(a.easy);
	curl_easy_cleanup(b.easy);
	fixture_end(&f);
}

static void test_refused(void **state)
{
	(void)state;
	struct fixture f;
	fixture_start(&f);
	uint16_t closed = test_free_port();
	assert_true(closed != 0);
	struct xfer a = {.f = &f};
	assert_int_equal(k8s_curl_loop_add(f.cl, make_easy(&a, closed, "/"), on_done, &a), 0);
	run_until(&f, &a.calls, 1, 5000);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.result, CURLE_COULDNT_CONNECT);
	assert_int_equal(a.status, 0);
	curl_easy_cleanup(a.easy);
	fixture_end(&f);
}

static void test_cancel(void **state)
{
	(void)state;
	struct fixture f;
	fixture_start(&f);
	struct xfer quiet = {.f = &f}, a = {.f = &f}, never_added = {.f = &f};
	assert_int_equal(
	        k8s_curl_loop_add(f.cl, make_easy(&quiet, f.silent_port, "/"), on_done, &quiet), 0);
	assert_int_equal(k8s_curl_loop_add(f.cl, make_easy(&a, f.port, "/hello"), on_done, &a), 0);
	run_until(&f, &a.calls, 1, 5000);
	assert_int_equal(a.calls, 1);
	/* The quiet transfer is connected and waiting: cancel it mid-flight. */
	k8s_curl_loop_cancel(f.cl, quiet.easy);
	curl_easy_cleanup(quiet.easy);
	/* A handle the driver never saw is left alone. */
	k8s_curl_loop_cancel(f.cl, make_easy(&never_added, f.port, "/hello"));
	curl_easy_cleanup(never_added.easy);
	run_for(&f, 200);
	assert_int_equal(quiet.calls, 0);
	assert_int_equal(never_added.calls, 0);
	/* The driver still runs transfers after a cancel. */
	curl_easy_cleanup(a.easy);
	assert_int_equal(k8s_curl_loop_add(f.cl, make_easy(&a, f.port, "/teapot"), on_done, &a), 0);
	run_until(&f, &a.calls, 2, 5000);
	assert_int_equal(a.calls, 2);
	assert_int_equal(a.status, 418);
	curl_easy_cleanup(a.easy);
	fixture_end(&f);
}

static void test_callback_starts_next(void **state)
{
	(void)state;
	struct fixture f;
	fixture_start(&f);
	struct xfer a = {.f = &f, .chain = 2};
	assert_int_equal(k8s_curl_loop_add(f.cl, make_easy(&a, f.port, "/hello"), on_done, &a), 0);
	run_until(&f, &a.calls, 3, 5000);
	assert_int_equal(a.calls, 3);
	assert_int_equal(a.result, CURLE_OK);
	assert_int_equal(a.status, 200);
	curl_easy_cleanup(a.easy);
	fixture_end(&f);
}

static void test_delete_in_flight(void **state)
{
	(void)state;
	struct fixture f;
	fixture_start(&f);
	struct xfer quiet = {.f = &f}, a = {.f = &f};
	assert_int_equal(
	        k8s_curl_loop_add(f.cl, make_easy(&quiet, f.silent_port, "/"), on_done, &quiet), 0);
	assert_int_equal(k8s_curl_loop_add(f.cl, make_easy(&a, f.port, "/hello"), on_done, &a), 0);
	run_until(&f, &a.calls, 1, 5000);
	assert_int_equal(a.calls, 1);
	curl_easy_cleanup(a.easy);
	assert_int_equal(k8s_curl_loop_add(f.cl, make_easy(&a, f.port, "/hello"), on_done, &a), 0);
	/* One transfer waits on a socket, one has not started: neither calls
	 * back, and the driver's handles all close (fixture_end checks). */
	k8s_curl_loop_delete(f.cl);
	f.cl = NULL;
	run_for(&f, 100);
	assert_int_equal(quiet.calls, 0);
	assert_int_equal(a.calls, 1);
	curl_easy_cleanup(quiet.easy);
	curl_easy_cleanup(a.easy);
	fixture_end(&f);
}

static int global_setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int global_teardown(void **state)
{
	(void)state;
	curl_global_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_done_once),
	        cmocka_unit_test(test_refused),
	        cmocka_unit_test(test_cancel),
	        cmocka_unit_test(test_callback_starts_next),
	        cmocka_unit_test(test_delete_in_flight),
	};
	return cmocka_run_group_tests(tests, global_setup, global_teardown);
}
