/*
 * api_proxy.c - a leaf's fleet queries, answered by a full node.
 *
 * A leaf (--leaf, docs/operations.md "Leaf sites") keeps no other site's
 * health record, so it cannot answer GET /v1/fleet, /v1/fleet/sites,
 * /v1/alerts or /v1/sites/{another site} itself. It asks a full node
 * instead: one picked at random among the live members that are not leaves
 * and carry an API port (sys.shoal.io/api-port; the host is the member's
 * gossip address), with the same path and query, over k8s/curl_loop.c on
 * the node's loop. The answer (status and body) is relayed as it came, with
 * X-Shoal-Answered-By naming the node. A node that does not answer, or
 * answers 5xx, is left for another, PROXY_TRIES in all; when none answers
 * the client gets 503 with each node's failure, and with no full node
 * known at all, 503 saying so.
 *
 * POST /v1/intents is passed on the same way, with its body: a leaf accepts
 * no envelope at its own API (docs/api.md, "Leaf sites"), so whatever it
 * answers 202 is committed on a full node, which serves it to the fleet.
 * Trying another node after a failure is safe: an envelope offered twice
 * is a duplicate the second time.
 *
 * The HTTP connection waits suspended meanwhile (node_http_defer), so the
 * loop keeps running gossip. Requests still waiting when the node stops are
 * answered 503 before the API server goes.
 */
#include "api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../k8s/curl_loop.h"
#include "node.h"

#define PROXY_TRIES      3
#define PROXY_CONNECT_MS 1000
#define PROXY_TIMEOUT_MS 10000
#define PROXY_BODY_MAX   (64u << 20) /* /v1/fleet/sites of a large fleet */
#define PROXY_PATH_MAX   2048
#define PROXY_CANDIDATES 64 /* full nodes looked at per try */
#define PROXY_REASON_MAX 480

struct proxy_req {
	struct node_proxy *px;
	struct node_http_later *later;
	CURL *easy;
	char target[PROXY_PATH_MAX];    /* path?query */
	char asking[SWIM_NAME_MAX + 1]; /* the node asked now */
	char tried[PROXY_TRIES][SWIM_NAME_MAX + 1];
	int ntried;
	char reason[PROXY_REASON_MAX]; /* failures so far */
	struct shoal_buf body;         /* the answer so far */
	uint8_t *post;                 /* a POST's body (owned), or NULL for a GET */
	size_t post_len;
	struct curl_slist *headers; /* a POST's Content-Type */
	struct proxy_req *prev, *next;
};

struct node_proxy {
	struct node *n;
	struct k8s_curl_loop *curl;
	struct proxy_req *reqs;
};

static void unlink_req(struct proxy_req *r)
{
	struct node_proxy *px = r->px;
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		px->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
}

static void free_req(struct proxy_req *r)
{
	unlink_req(r);
	if (r->easy != NULL) {
		k8s_curl_loop_cancel(r->px->curl, r->easy);
		curl_easy_cleanup(r->easy);
	}
	shoal_buf_destroy(&r->body);
	curl_slist_free_all(r->headers);
	free(r->post);
	free(r);
}

/* Answer the waiting client with an error and forget the request. */
static void fail_req(struct proxy_req *r, const char *reason)
{
	struct node_http_req *out = node_http_later_req(r->later);
	node_http_error(out, 503, "unavailable", reason);
	node_http_later_send(r->later);
	free_req(r);
}

static bool was_tried(const struct proxy_req *r, const char *name)
{
	for (int i = 0; i < r->ntried; i++)
		if (strcmp(r->tried[i], name) == 0)
			return true;
	return false;
}

/* A random live full node not tried yet, with its API address. */
static bool pick(struct proxy_req *r, struct shoal_addr *api)
{
	struct node *n = r->px->n;
	struct swim_member_info mi;
	char names[PROXY_CANDIDATES][SWIM_NAME_MAX + 1];
	struct shoal_addr addrs[PROXY_CANDIDATES];
	uint32_t cursor = 0, count = 0, seen = 0;
	while (swim_member_next(n->swim, &cursor, &mi) == 0) {
		struct shoal_addr a;
		if (mi.is_self || mi.state != SWIM_ALIVE ||
		    shoal_labels_say_leaf(NULL, mi.labels, mi.labels_len) ||
		    node_member_api(&mi, &a) != 0 || was_tried(r, mi.name))
			continue;
		/* Reservoir sampling keeps a uniform pick past the buffer. */
		uint32_t slot = seen < PROXY_CANDIDATES ? seen : randombytes_uniform(seen + 1);
		seen++;
		if (slot >= PROXY_CANDIDATES)
			continue;
		snprintf(names[slot], sizeof(names[slot]), "%s", mi.name);
		addrs[slot] = a;
		if (count < PROXY_CANDIDATES)
			count++;
	}
	if (count == 0)
		return false;
	uint32_t i = randombytes_uniform(count);
	snprintf(r->asking, sizeof(r->asking), "%s", names[i]);
	*api = addrs[i];
	return true;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct proxy_req *r = arg;
	size_t len = size * nmemb;
	if (r->body.len + len > PROXY_BODY_MAX || shoal_buf_append(&r->body, ptr, len) != 0)
		return 0; /* too big: the transfer fails */
	return len;
}

static void try_next(struct proxy_req *r);

static void note_failure(struct proxy_req *r, const char *what)
{
	size_t used = strlen(r->reason);
	snprintf(r->reason + used, sizeof(r->reason) - used, "%s%s: %s", used > 0 ? "; " : "",
	         r->asking, what);
}

static void on_done(void *arg, CURL *easy, CURLcode result)
{
	struct proxy_req *r = arg;
	long status = 0;
	char what[96];
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if (result == CURLE_OK && status > 0 && status < 500) {
		struct node_http_req *out = node_http_later_req(r->later);
		out->status = (int)status;
		out->text = malloc(r->body.len + 1);
		if (out->text == NULL) {
			fail_req(r, "out of memory");
			return;
		}
		memcpy(out->text, r->body.data, r->body.len);
		out->text[r->body.len] = '\0';
		out->text_len = r->body.len;
		out->content_type = "application/json";
		out->header_name = "X-Shoal-Answered-By";
		snprintf(out->header_value, sizeof(out->header_value), "%s", r->asking);
		node_http_later_send(r->later);
		free_req(r);
		return;
	}
	if (result != CURLE_OK)
		snprintf(what, sizeof(what), "%s", curl_easy_strerror(result));
	else
		snprintf(what, sizeof(what), "answered %ld", status);
	note_failure(r, what);
	try_next(r);
}

static void try_next(struct proxy_req *r)
{
	struct shoal_addr api;
	char host[SHOAL_ADDR_STRLEN], url[PROXY_PATH_MAX + SHOAL_ADDR_STRLEN + 16];
	if (r->easy != NULL) {
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	shoal_buf_reset(&r->body);
	if (r->ntried >= PROXY_TRIES || !pick(r, &api)) {
		char reason[PROXY_REASON_MAX + 64];
		if (r->ntried == 0)
			snprintf(reason, sizeof(reason),
			         "this site is a leaf and knows no live full node with an API to "
			         "ask");
		else
			snprintf(reason, sizeof(reason),
			         "this site is a leaf and no full node answered (%s)", r->reason);
		fail_req(r, reason);
		return;
	}
	snprintf(r->tried[r->ntried++], sizeof(r->tried[0]), "%s", r->asking);
	if (shoal_addr_format(&api, host, sizeof(host)) != 0 ||
	    (r->easy = curl_easy_init()) == NULL) {
		note_failure(r, "cannot build the request");
		try_next(r);
		return;
	}
	snprintf(url, sizeof(url), "http://%s%s", host, r->target);
	CURL *e = r->easy;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "shoal/" SHOAL_VERSION);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)PROXY_CONNECT_MS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)PROXY_TIMEOUT_MS);
	if (r->post != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, (const char *)r->post);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->post_len);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	}
	if (k8s_curl_loop_add(r->px->curl, e, on_done, r) != 0) {
		note_failure(r, "cannot start the request");
		try_next(r);
	}
}

bool node_api_proxied(struct node_http_req *req)
{
	struct node *n = req->ctx;
	char query[PROXY_PATH_MAX];
	if (!n->cfg->leaf)
		return false;
	if (n->proxy == NULL) {
		node_http_error(req, 503, "unavailable", "this site is a leaf and cannot ask");
		return true;
	}
	if (node_http_query_string(req, query, sizeof(query)) != 0 ||
	    strlen(req->path) + strlen(query) + 2 > PROXY_PATH_MAX) {
		node_http_error(req, 414, "too_long", "request too long to pass on");
		return true;
	}
	struct proxy_req *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		node_http_error(req, 503, "unavailable", "out of memory");
		return true;
	}
	/* Lengths checked above: path, "?", query and the NUL fit. */
	size_t pl = strlen(req->path), ql = strlen(query);
	memcpy(r->target, req->path, pl);
	if (ql > 0) {
		r->target[pl] = '?';
		memcpy(r->target + pl + 1, query, ql);
		pl += ql + 1;
	}
	r->target[pl] = '\0';
	if (strcmp(req->method, "POST") == 0) {
		/* Copied now: the request's body goes when the handler returns. */
		r->post = malloc(req->body_len > 0 ? req->body_len : 1);
		r->headers = curl_slist_append(NULL, "Content-Type: application/json");
		if (r->post == NULL || r->headers == NULL) {
			curl_slist_free_all(r->headers);
			free(r->post);
			free(r);
			node_http_error(req, 503, "unavailable", "out of memory");
			return true;
		}
		if (req->body_len > 0)
			memcpy(r->post, req->body, req->body_len);
		r->post_len = req->body_len;
	}
	shoal_buf_create(&r->body, PROXY_BODY_MAX);
	r->px = n->proxy;
	r->later = node_http_defer(req);
	if (r->later == NULL) {
		shoal_buf_destroy(&r->body);
		curl_slist_free_all(r->headers);
		free(r->post);
		free(r);
		node_http_error(req, 503, "unavailable", "cannot wait for an answer");
		return true;
	}
	r->next = n->proxy->reqs;
	if (r->next != NULL)
		r->next->prev = r;
	n->proxy->reqs = r;
	try_next(r);
	return true;
}

int node_proxy_start(struct node *n)
{
	if (!n->cfg->leaf)
		return 0;
	struct node_proxy *px = calloc(1, sizeof(*px));
	if (px == NULL)
		return -ENOMEM;
	px->n = n;
	int rc = k8s_curl_loop_new(n->loop, &px->curl);
	if (rc != 0) {
		free(px);
		return rc;
	}
	n->proxy = px;
	return 0;
}

void node_proxy_stop(struct node *n)
{
	struct node_proxy *px = n->proxy;
	if (px == NULL)
		return;
	while (px->reqs != NULL)
		fail_req(px->reqs, "the node is stopping");
	k8s_curl_loop_delete(px->curl);
	free(px);
	n->proxy = NULL;
}
