/*
 * test_node_http.c - the HTTP server and the node's API, over real sockets.
 *
 * A libuv loop runs in a second thread (as in shoald, MHD is driven by that
 * loop); the test thread is the client and talks to it with libcurl on
 * 127.0.0.1. The first tests use a small route table to pin down the
 * server's own behaviour (routing, 404/405 with Allow, the 1 MiB body cap,
 * JSON errors, the loopback flag). The rest start a whole node (store,
 * keyring, sockets, SWIM) in a temp dir and check every API route's JSON
 * and error codes against docs/api.md.
 */
#include "../../node/http.h"
#include "../../node/node.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <sodium.h>

#include "free_port.h"
#include "shoal/error.h"

/* ---- a loop in a thread --------------------------------------------------- */

/* What the server thread runs and how the test stops it. */
struct server {
	uv_loop_t loop;         /* the server's loop */
	uv_async_t stop;        /* wakes the loop to shut down */
	pthread_t thread;       /* runs the loop */
	struct node_http *http; /* route-table tests: the server */
	struct node node;       /* node tests: the whole node */
	bool is_node;           /* which of the two is running */
	uint16_t port;          /* where to connect */
};

static void on_stop(uv_async_t *a)
{
	struct server *s = a->data;
	if (s->is_node)
		node_stop(&s->node);
	else
		node_http_stop(s->http);
	uv_close((uv_handle_t *)&s->stop, NULL);
}

static void *run_loop(void *arg)
{
	struct server *s = arg;
	uv_run(&s->loop, UV_RUN_DEFAULT);
	return NULL;
}

static void server_go(struct server *s)
{
	uv_async_init(&s->loop, &s->stop, on_stop);
	s->stop.data = s;
	assert_int_equal(pthread_create(&s->thread, NULL, run_loop, s), 0);
}

static void server_end(struct server *s)
{
	uv_async_send(&s->stop);
	pthread_join(s->thread, NULL);
	assert_int_equal(uv_loop_close(&s->loop), 0); /* every handle closed */
}

/* ---- a curl client -------------------------------------------------------- */

struct reply {
	long status;      /* HTTP status, 0 if the transfer failed */
	CURLcode code;    /* curl's result */
	char body[65536]; /* response body, NUL-terminated, truncated to fit */
	size_t len;       /* bytes stored in body */
	char allow[128];  /* the Allow header, if any */
	char ctype[128];  /* the Content-Type header */
	json_t *json;     /* body parsed as JSON, or NULL */
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct reply *r = ud;
	size_t len = size * n, room = sizeof(r->body) - 1 - r->len;
	memcpy(r->body + r->len, p, len < room ? len : room);
	r->len += len < room ? len : room;
	r->body[r->len] = '\0';
	return len;
}

static void header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	const char *v = line + nl + 1;
	while (*v == ' ')
		v++;
	size_t vl = len - (size_t)(v - line);
	while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
		vl--;
	snprintf(out, cap, "%.*s", (int)vl, v);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct reply *r = ud;
	header_value(p, size * n, "Allow", r->allow, sizeof(r->allow));
	header_value(p, size * n, "Content-Type", r->ctype, sizeof(r->ctype));
	return size * n;
}

/* Chunked upload source: `left` bytes of 'x'. */
struct upload {
	size_t left; /* bytes still to send */
};

static size_t on_read(char *p, size_t size, size_t n, void *ud)
{
	struct upload *u = ud;
	size_t len = size * n < u->left ? size * n : u->left;
	memset(p, 'x', len);
	u->left -= len;
	return len;
}

/* One request. body may be NULL; chunked sends `chunked` bytes instead. */
static void request(struct reply *r, const char *host, uint16_t port, const char *method,
                    const char *path, const char *body, size_t body_len, size_t chunked)
{
	char url[256];
	struct upload up = {chunked};
	struct curl_slist *hdrs = NULL;
	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "http://%s:%u%s", host, (unsigned)port, path);
	CURL *c = curl_easy_init();
	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		/* Over the cap, ask first as real clients do for big bodies: the
		 * server answers 413 before any body is sent. Without it the
		 * server's close can reset the connection while curl is still
		 * writing, and the 413 is lost to a send error. */
		hdrs = curl_slist_append(
		        hdrs, body_len > NODE_HTTP_BODY_MAX ? "Expect: 100-continue" : "Expect:");
	} else if (chunked > 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &up);
		hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
		hdrs = curl_slist_append(hdrs, "Expect:");
	}
	if (hdrs != NULL)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	r->code = curl_easy_perform(c);
	if (r->code == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	r->json = json_loadb(r->body, r->len, 0, NULL);
}

static void reply_free(struct reply *r)
{
	json_decref(r->json);
	r->json = NULL;
}

static const char *jstr(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	if (s == NULL)
		fail_msg("missing string \"%s\"", key);
	return s;
}

/* The response is a JSON error with this status and code. */
static void is_error(struct reply *r, long status, const char *code)
{
	if (r->status != status)
		fail_msg("want %ld, got %ld: %s", status, r->status, r->body);
	assert_non_null(r->json);
	assert_string_equal(jstr(r->json, "error"), code);
	assert_true(strlen(jstr(r->json, "reason")) > 0);
	assert_string_equal(r->ctype, "application/json");
}

/* ---- the server on its own ----------------------------------------------- */

static void h_hello(struct node_http_req *req)
{
	node_http_json(req, 200,
	               json_pack("{s:s,s:b}", "hello", "world", "loopback", req->peer_loopback));
}

static void h_body(struct node_http_req *req)
{
	node_http_json(req, 201, json_pack("{s:I}", "len", (json_int_t)req->body_len));
}

static void h_text(struct node_http_req *req)
{
	req->text = strdup("plain\n");
	req->text_len = 6;
	req->content_type = "text/plain";
}

static const struct node_http_route test_routes[] = {
        {"GET", "/hello", h_hello},
        {"POST", "/body", h_body},
        {"PUT", "/body", h_body},
        {"GET", "/text", h_text},
};

static void start_plain(struct server *s)
{
	struct shoal_addr addr;
	char err[256];
	memset(s, 0, sizeof(*s));
	assert_int_equal(uv_loop_init(&s->loop), 0);
	shoal_addr_parse(&addr, "127.0.0.1:1");
	addr.port = 0; /* any free port */
	assert_int_equal(node_http_start(&s->http, &s->loop, &addr, test_routes,
	                                 sizeof(test_routes) / sizeof(test_routes[0]), NULL, err,
	                                 sizeof(err)),
	                 0);
	s->port = node_http_port(s->http);
	assert_true(s->port != 0);
	server_go(s);
}

static void test_routing(void **state)
{
	struct server s;
	struct reply r;
	(void)state;
	start_plain(&s);

	request(&r, "127.0.0.1", s.port, "GET", "/hello", NULL, 0, 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "hello"), "world");
	assert_true(json_is_true(json_object_get(r.json, "loopback")));
	assert_string_equal(r.ctype, "application/json");
	reply_free(&r);

	/* The query string is not part of the path. */
	request(&r, "127.0.0.1", s.port, "GET", "/hello?x=1", NULL, 0, 0);
	assert_int_equal(r.status, 200);
	reply_free(&r);

	request(&r, "127.0.0.1", s.port, "HEAD", "/hello", NULL, 0, 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 0);
	reply_free(&r);

	request(&r, "127.0.0.1", s.port, "GET", "/nope", NULL, 0, 0);
	is_error(&r, 404, "not_found");
	assert_non_null(strstr(jstr(r.json, "reason"), "/nope"));
	reply_free(&r);

	request(&r, "127.0.0.1", s.port, "DELETE", "/hello", NULL, 0, 0);
	is_error(&r, 405, "method_not_allowed");
	assert_string_equal(r.allow, "GET");
	reply_free(&r);

	request(&r, "127.0.0.1", s.port, "GET", "/body", NULL, 0, 0);
	is_error(&r, 405, "method_not_allowed");
	assert_string_equal(r.allow, "POST, PUT");
	reply_free(&r);

	request(&r, "127.0.0.1", s.port, "GET", "/text", NULL, 0, 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "plain\n");
	assert_string_equal(r.ctype, "text/plain");
	reply_free(&r);

	server_end(&s);
}

static void test_body_cap(void **state)
{
	struct server s;
	struct reply r;
	(void)state;
	start_plain(&s);
	char *big = malloc(NODE_HTTP_BODY_MAX + 1);
	assert_non_null(big);
	memset(big, 'a', NODE_HTTP_BODY_MAX + 1);

	request(&r, "127.0.0.1", s.port, "POST", "/body", "{}", 2, 0);
	assert_int_equal(r.status, 201);
	assert_int_equal(json_integer_value(json_object_get(r.json, "len")), 2);
	reply_free(&r);

	/* Exactly at the cap is accepted... */
	request(&r, "127.0.0.1", s.port, "POST", "/body", big, NODE_HTTP_BODY_MAX, 0);
	assert_int_equal(r.status, 201);
	assert_int_equal(json_integer_value(json_object_get(r.json, "len")), NODE_HTTP_BODY_MAX);
	reply_free(&r);

	/* ...one byte more is 413, answered from Content-Length alone. */
	request(&r, "127.0.0.1", s.port, "POST", "/body", big, NODE_HTTP_BODY_MAX + 1, 0);
	is_error(&r, 413, "too_big");
	reply_free(&r);

	/* A chunked body within the cap is read whole... */
	request(&r, "127.0.0.1", s.port, "PUT", "/body", NULL, 0, 5000);
	assert_int_equal(r.status, 201);
	assert_int_equal(json_integer_value(json_object_get(r.json, "len")), 5000);
	reply_free(&r);

	/* ...and one past it loses its connection, never a 2xx. */
	request(&r, "127.0.0.1", s.port, "PUT", "/body", NULL, 0, NODE_HTTP_BODY_MAX + 4096);
	assert_true(r.code != CURLE_OK || r.status >= 400);
	reply_free(&r);

	/* The server is still fine afterwards. */
	request(&r, "127.0.0.1", s.port, "GET", "/hello", NULL, 0, 0);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	free(big);
	server_end(&s);
}

/* ---- a whole node ---------------------------------------------------------- */

static char tmpdir[64];
static struct node_config node_cfg;

/* First non-loopback IPv4 address of this machine, for the 403 check. */
static bool outside_ip(char *out, size_t cap)
{
	uv_interface_address_t *ifs;
	int count;
	bool found = false;
	if (uv_interface_addresses(&ifs, &count) != 0)
		return false;
	for (int i = 0; i < count && !found; i++) {
		if (ifs[i].is_internal || ifs[i].address.address4.sin_family != AF_INET)
			continue;
		uv_ip4_name(&ifs[i].address.address4, out, cap);
		found = true;
	}
	uv_free_interface_addresses(ifs, count);
	return found;
}

static uint16_t free_port(void)
{
	uint16_t p = test_free_port();
	if (p == 0)
		fail_msg("no free port in 15000-19999");
	return p;
}

static const char *key_a = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
static const char *key_b = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

static void start_node(struct server *s, bool with_keyring, const char *api_host)
{
	char gossip[64], api[64], dir[128], keyring[160], err[512];
	memset(s, 0, sizeof(*s));
	s->is_node = true;
	snprintf(dir, sizeof(dir), "%s/data", tmpdir);
	snprintf(keyring, sizeof(keyring), "%s/keyring", tmpdir);
	FILE *f = fopen(keyring, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", key_a);
	fclose(f);
	snprintf(gossip, sizeof(gossip), "127.0.0.1:%u", (unsigned)free_port());
	snprintf(api, sizeof(api), "%s:%u", api_host, (unsigned)free_port());
	char *argv[] = {"shoald",
	                "--name",
	                "n1",
	                "--bind",
	                gossip,
	                "--api",
	                api,
	                "--data-dir",
	                dir,
	                "--label",
	                "region=eu-west",
	                "--label",
	                "tier=1",
	                "--profile",
	                "fast",
	                "--log-level",
	                "warn",
	                with_keyring ? "--keyring" : NULL,
	                keyring,
	                NULL};
	int argc = with_keyring ? 19 : 17;
	assert_int_equal(node_config_parse(&node_cfg, argc, argv, err, sizeof(err)), 0);
	assert_int_equal(uv_loop_init(&s->loop), 0);
	int rc = node_start(&s->node, &s->loop, &node_cfg, err, sizeof(err));
	if (rc != 0)
		fail_msg("node_start: %s", err);
	s->port = node_http_port(s->node.http);
	server_go(s);
}

static void stop_node(struct server *s)
{
	server_end(s);
	node_config_destroy(&node_cfg);
}

static int node_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/shoal-http-XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int node_teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* An RFC 3339 UTC time with microseconds: 2024-11-26T17:53:04.123456Z */
static void is_rfc3339(const char *t)
{
	assert_int_equal(strlen(t), 27);
	assert_true(t[4] == '-' && t[7] == '-' && t[10] == 'T' && t[13] == ':' && t[16] == ':' &&
	            t[19] == '.' && t[26] == 'Z');
}

static void test_node_read_api(void **state)
{
	struct server s;
	struct reply r;
	(void)state;
	start_node(&s, true, "127.0.0.1");

	request(&r, "127.0.0.1", s.port, "GET", "/healthz", NULL, 0, 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "status"), "ok");
	assert_string_equal(jstr(r.json, "name"), "n1");
	reply_free(&r);

	request(&r, "127.0.0.1", s.port, "GET", "/v1/self", NULL, 0, 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "name"), "n1");
	char want_addr[64];
	snprintf(want_addr, sizeof(want_addr), "127.0.0.1:%u", (unsigned)node_cfg.bind.port);
	assert_string_equal(jstr(r.json, "address"), want_addr);
	assert_int_equal(json_integer_value(json_object_get(r.json, "incarnation")), 1);
	assert_string_equal(jstr(json_object_get(r.json, "labels"), "region"), "eu-west");
	assert_string_equal(jstr(json_object_get(r.json, "labels"), "tier"), "1");
	assert_string_equal(jstr(r.json, "version"), SHOAL_VERSION);
	assert_int_equal(strlen(jstr(r.json, "public_key")), 44);
	assert_true(json_is_integer(json_object_get(r.json, "awareness")));
	json_t *m = json_object_get(r.json, "members");
	assert_int_equal(json_integer_value(json_object_get(m, "alive")), 1);
	assert_int_equal(json_integer_value(json_object_get(m, "suspect")), 0);
	assert_int_equal(json_integer_value(json_object_get(m, "dead")), 0);
	assert_int_equal(json_integer_value(json_object_get(m, "left")), 0);
	char pk[64];
	snprintf(pk, sizeof(pk), "%s", jstr(r.json, "public_key"));
	reply_free(&r);

	request(&r, "127.0.0.1", s.port, "GET", "/v1/members", NULL, 0, 0);
	assert_int_equal(r.status, 200);
	json_t *list = json_object_get(r.json, "members");
	assert_int_equal(json_array_size(list), 1);
	json_t *me = json_array_get(list, 0);
	assert_string_equal(jstr(me, "name"), "n1");
	assert_string_equal(jstr(me, "address"), want_addr);
	assert_string_equal(jstr(me, "state"), "alive");
	assert_int_equal(json_integer_value(json_object_get(me, "incarnation")), 1);
	assert_string_equal(jstr(json_object_get(me, "labels"), "region"), "eu-west");
	assert_string_equal(jstr(me, "version"), SHOAL_VERSION);
	assert_string_equal(jstr(me, "public_key"), pk);
	is_rfc3339(jstr(me, "since"));
	assert_true(json_is_true(json_object_get(me, "self")));
	reply_free(&r);

	request(&r, "127.0.0.1", s.port, "GET", "/metrics", NULL, 0, 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.ctype, "text/plain"));
	static const char *const want[] = {
	        "# TYPE shoal_probes_total counter\n",
	        "# HELP shoal_probes_total ",
	        "shoal_acks_total ",
	        "shoal_nacks_total ",
	        "shoal_indirect_probes_total ",
	        "shoal_suspicions_total ",
	        "shoal_refutations_total ",
	        "shoal_deaths_total ",
	        "shoal_leaves_total ",
	        "shoal_packets_received_total{transport=\"udp\"} ",
	        "shoal_packets_sent_total{transport=\"tcp\"} ",
	        "shoal_bytes_received_total{transport=\"tcp\"} ",
	        "shoal_bytes_sent_total{transport=\"udp\"} ",
	        "shoal_decode_failures_total ",
	        "shoal_auth_failures_total ",
	        "shoal_signature_failures_total ",
	        "shoal_name_conflicts_total ",
	        "shoal_stale_messages_total ",
	        "# TYPE shoal_members gauge\n",
	        "shoal_members{state=\"alive\"} 1\n",
	        "shoal_members{state=\"suspect\"} 0\n",
	        "shoal_members{state=\"dead\"} 0\n",
	        "shoal_members{state=\"left\"} 0\n",
	        "shoal_awareness ",
	        "shoal_incarnation 1\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strstr(r.body, want[i]) == NULL)
			fail_msg("metrics lack \"%s\"", want[i]);
	reply_free(&r);

	request(&r, "127.0.0.1", s.port, "GET", "/v1/nothing", NULL, 0, 0);
	is_error(&r, 404, "not_found");
	reply_free(&r);
	request(&r, "127.0.0.1", s.port, "POST", "/v1/members", "{}", 2, 0);
	is_error(&r, 405, "method_not_allowed");
	reply_free(&r);
	request(&r, "127.0.0.1", s.port, "GET", "/v1/keyring/install", NULL, 0, 0);
	is_error(&r, 405, "method_not_allowed");
	assert_string_equal(r.allow, "POST");
	reply_free(&r);
	stop_node(&s);

	/* A restart reloads the identity and bumps the incarnation. */
	start_node(&s, true, "127.0.0.1");
	request(&r, "127.0.0.1", s.port, "GET", "/v1/self", NULL, 0, 0);
	assert_int_equal(json_integer_value(json_object_get(r.json, "incarnation")), 2);
	assert_string_equal(jstr(r.json, "public_key"), pk);
	reply_free(&r);
	stop_node(&s);
}

static void keyring_post(struct reply *r, uint16_t port, const char *op, const char *key)
{
	char path[64], body[128];
	snprintf(path, sizeof(path), "/v1/keyring/%s", op);
	snprintf(body, sizeof(body), "{\"key\":\"%s\"}", key);
	request(r, "127.0.0.1", port, "POST", path, body, strlen(body), 0);
}

/* The keys of a keyring response, primary flag checked: "A*,B" style. */
static void keys_are(json_t *keys, const char *first, const char *second)
{
	assert_int_equal(json_array_size(keys), second != NULL ? 2 : 1);
	assert_string_equal(jstr(json_array_get(keys, 0), "key"), first);
	assert_true(json_is_true(json_object_get(json_array_get(keys, 0), "primary")));
	if (second != NULL) {
		assert_string_equal(jstr(json_array_get(keys, 1), "key"), second);
		assert_true(json_is_false(json_object_get(json_array_get(keys, 1), "primary")));
	}
}

static void file_keys_are(const char *first, const char *second)
{
	char path[160], line[128], want[256];
	snprintf(path, sizeof(path), "%s/keyring", tmpdir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char got[512] = "";
	while (fgets(line, sizeof(line), f) != NULL)
		if (line[0] != '#' && line[0] != '\n')
			strncat(got, line, sizeof(got) - strlen(got) - 1);
	fclose(f);
	snprintf(want, sizeof(want), "%s\n%s%s", first, second != NULL ? second : "",
	         second != NULL ? "\n" : "");
	assert_string_equal(got, want);
}

static void test_node_keyring_api(void **state)
{
	struct server s;
	struct reply r;
	(void)state;
	start_node(&s, true, "127.0.0.1");

	request(&r, "127.0.0.1", s.port, "GET", "/v1/keyring", NULL, 0, 0);
	assert_int_equal(r.status, 200);
	keys_are(json_object_get(r.json, "keys"), key_a, NULL);
	reply_free(&r);

	keyring_post(&r, s.port, "install", key_b);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "op"), "install");
	keys_are(json_object_get(r.json, "keys"), key_a, key_b);
	reply_free(&r);
	file_keys_are(key_a, key_b); /* persisted before the answer */

	/* Installing again is not an error. */
	keyring_post(&r, s.port, "install", key_b);
	assert_int_equal(r.status, 200);
	reply_free(&r);

	keyring_post(&r, s.port, "use", key_b);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "op"), "use");
	keys_are(json_object_get(r.json, "keys"), key_b, key_a);
	reply_free(&r);
	file_keys_are(key_b, key_a);

	keyring_post(&r, s.port, "remove", key_b);
	is_error(&r, 409, "primary_key");
	reply_free(&r);

	keyring_post(&r, s.port, "remove", key_a);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "op"), "remove");
	keys_are(json_object_get(r.json, "keys"), key_b, NULL);
	reply_free(&r);
	file_keys_are(key_b, NULL);

	keyring_post(&r, s.port, "use", key_a);
	is_error(&r, 404, "key_not_found");
	reply_free(&r);
	keyring_post(&r, s.port, "remove", key_a);
	is_error(&r, 404, "key_not_found");
	reply_free(&r);

	keyring_post(&r, s.port, "install", "not-base64");
	is_error(&r, 400, "bad_key");
	reply_free(&r);
	keyring_post(&r, s.port, "install", "AAAA");
	is_error(&r, 400, "bad_key");
	reply_free(&r);
	request(&r, "127.0.0.1", s.port, "POST", "/v1/keyring/install", "{oops", 5, 0);
	is_error(&r, 400, "bad_request");
	reply_free(&r);
	request(&r, "127.0.0.1", s.port, "POST", "/v1/keyring/install", "[1]", 3, 0);
	is_error(&r, 400, "bad_request");
	reply_free(&r);
	request(&r, "127.0.0.1", s.port, "POST", "/v1/keyring/install", "{\"key\":1}", 9, 0);
	is_error(&r, 400, "bad_key");
	reply_free(&r);
	request(&r, "127.0.0.1", s.port, "POST", "/v1/keyring/install", NULL, 0, 0);
	is_error(&r, 400, "bad_request");
	reply_free(&r);
	stop_node(&s);
}

static void test_node_keyring_unencrypted(void **state)
{
	struct server s;
	struct reply r;
	(void)state;
	char path[160];
	/* No --keyring and no DATA_DIR/keyring: unencrypted. */
	snprintf(path, sizeof(path), "%s/data/keyring", tmpdir);
	unlink(path);
	start_node(&s, false, "127.0.0.1");
	request(&r, "127.0.0.1", s.port, "GET", "/v1/keyring", NULL, 0, 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "keys")), 0);
	assert_true(json_is_false(json_object_get(r.json, "encrypted")));
	reply_free(&r);
	keyring_post(&r, s.port, "install", key_a);
	is_error(&r, 409, "no_keyring");
	reply_free(&r);
	stop_node(&s);
}

static void test_node_keyring_loopback_only(void **state)
{
	struct server s;
	struct reply r;
	char ip[64];
	(void)state;
	if (!outside_ip(ip, sizeof(ip))) {
		skip(); /* no non-loopback interface on this machine */
		return;
	}
	start_node(&s, true, "0.0.0.0");
	request(&r, ip, s.port, "GET", "/v1/keyring", NULL, 0, 0);
	is_error(&r, 403, "forbidden");
	reply_free(&r);
	keyring_post(&r, s.port, "install", key_b); /* via 127.0.0.1: fine */
	assert_int_equal(r.status, 200);
	reply_free(&r);
	char body[128];
	snprintf(body, sizeof(body), "{\"key\":\"%s\"}", key_b);
	request(&r, ip, s.port, "POST", "/v1/keyring/remove", body, strlen(body), 0);
	is_error(&r, 403, "forbidden");
	reply_free(&r);
	/* Other routes answer anyone. */
	request(&r, ip, s.port, "GET", "/healthz", NULL, 0, 0);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	stop_node(&s);
}

static int global_setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return -1;
	/* The node logs to stdout; keep the test's output readable. */
	return node_setup(state);
}

static int global_teardown(void **state)
{
	curl_global_cleanup();
	return node_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_routing),
	        cmocka_unit_test(test_body_cap),
	        cmocka_unit_test(test_node_read_api),
	        cmocka_unit_test(test_node_keyring_api),
	        cmocka_unit_test(test_node_keyring_unencrypted),
	        cmocka_unit_test(test_node_keyring_loopback_only),
	};
	return cmocka_run_group_tests(tests, global_setup, global_teardown);
}
