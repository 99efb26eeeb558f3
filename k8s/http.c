/*
 * http.c - requests to the API server, on curl_loop.c's libcurl-on-libuv
 * driver: credentials on every request, answers collected or streamed.
 *
 * Two rules of libcurl decide the rest. A handle must not be removed from
 * the multi handle inside one of curl's own callbacks, and a watch consumer
 * wants to cancel from inside its line callback (which runs inside curl's
 * write callback). So a cancel only marks the request and queues it; the
 * reaper removes and frees it from a zero-delay timer, outside curl. The
 * same deferral keeps k8s_http_start from calling back before it returns.
 */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "curl_loop.h"
#include "exec_cred.h"
#include "shoal/error.h"

#define DEFAULT_TIMEOUT_MS  30000L
#define CONNECT_TIMEOUT_MS  5000L
#define TOKEN_FILE_REREAD_S 60

struct k8s_http_req {
	struct k8s_http *h;
	struct k8s_http_req *next, *prev; /* h->reqs: every live request */
	CURL *easy;
	struct curl_slist *headers;
	char *url;
	char *method;
	char *body; /* request body copy */
	size_t body_len;
	char *ctype;
	long timeout_ms;
	char *resp; /* response body, or the partial line while streaming */
	size_t resp_len;
	size_t resp_cap;
	int too_big;
	int cancelled;    /* no callback; the reaper frees it */
	int waiting_cred; /* parked until the exec plugin answers */
	k8s_http_done_cb cb;
	k8s_http_line_cb on_line;
	void *arg;
};

struct k8s_http {
	const struct k8s_cluster_config *cfg;
	struct k8s_curl_loop *curl;
	uv_timer_t reaper; /* runs deferred work outside curl callbacks */
	struct k8s_http_req *reqs;
	char *token;           /* current bearer token (static, file or exec), or NULL */
	int64_t token_expires; /* unix seconds after which token must be refreshed; 0 never */
	struct k8s_exec_cred *exec;
	int exec_running;
	char exec_error[256]; /* last exec failure, given to parked requests */
	int exec_failed;
};

static void kick(struct k8s_http *h);

static void free_req(struct k8s_http_req *r)
{
	struct k8s_http *h = r->h;
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		h->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	if (r->easy != NULL) {
		k8s_curl_loop_cancel(h->curl, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	free(r->url);
	free(r->method);
	free(r->body);
	free(r->ctype);
	free(r->resp);
	free(r);
}

static void set_token(struct k8s_http *h, const char *token, int64_t expires)
{
	if (h->token != NULL) {
		sodium_memzero(h->token, strlen(h->token));
		free(h->token);
	}
	h->token = token != NULL ? strdup(token) : NULL;
	h->token_expires = expires;
}

void k8s_http_invalidate_credentials(struct k8s_http *h)
{
	if (h->cfg->has_exec || h->cfg->token_file != NULL)
		set_token(h, NULL, 0);
}

/* Ready a token for the next request: 0 when one is present (or none is
 * needed), 1 when the exec plugin must run first, <0 on failure. */
static int refresh_token(struct k8s_http *h)
{
	int64_t now = (int64_t)time(NULL);
	if (h->token != NULL && (h->token_expires == 0 || now < h->token_expires))
		return 0;
	if (h->cfg->token != NULL) {
		set_token(h, h->cfg->token, 0);
		return 0;
	}
	if (h->cfg->has_exec)
		return 1;
	if (h->cfg->token_file != NULL) {
		char *buf;
		size_t len;
		int rc = k8s_read_file(h->cfg->token_file, &buf, &len);
		if (rc != 0)
			return rc;
		while (len > 0 &&
		       (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
			buf[--len] = '\0';
		set_token(h, buf, now + TOKEN_FILE_REREAD_S);
		sodium_memzero(buf, len);
		free(buf);
	}
	return 0;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct k8s_http_req *r = userdata;
	size_t n = size * nmemb;
	if (r->cancelled)
		return 0; /* stop the transfer; the reaper frees it */
	long code = 0;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
	int streaming = r->on_line != NULL && code == 200;
	if (n > K8S_HTTP_BODY_MAX - r->resp_len) {
		r->too_big = 1;
		return 0;
	}
	if (r->resp_len + n + 1 > r->resp_cap) {
		size_t cap = r->resp_cap != 0 ? r->resp_cap : 8192;
		while (cap < r->resp_len + n + 1)
			cap *= 2;
		char *nb = realloc(r->resp, cap);
		if (nb == NULL) {
			r->too_big = 1;
			return 0;
		}
		r->resp = nb;
		r->resp_cap = cap;
	}
	memcpy(r->resp + r->resp_len, data, n);
	r->resp_len += n;
	r->resp[r->resp_len] = '\0';
	if (!streaming)
		return n;
	/* Hand out each complete line; keep the partial tail. */
	size_t start = 0;
	for (size_t i = 0; i < r->resp_len && !r->cancelled; i++) {
		if (r->resp[i] != '\n')
			continue;
		r->resp[i] = '\0';
		if (i > start)
			r->on_line(r->arg, r->resp + start, i - start);
		start = i + 1;
	}
	if (r->cancelled)
		return 0;
	memmove(r->resp, r->resp + start, r->resp_len - start);
	r->resp_len -= start;
	r->resp[r->resp_len] = '\0';
	return n;
}

static int setup_easy(struct k8s_http_req *r)
{
	struct k8s_http *h = r->h;
	const struct k8s_cluster_config *c = h->cfg;
	CURL *e = curl_easy_init();
	if (e == NULL)
		return -ENOMEM;
	r->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "shoal");
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (strcmp(r->method, "GET") == 0)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	if (r->body != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	}
	if (c->ca_pem != NULL) {
		struct curl_blob ca = {
		        .data = c->ca_pem, .len = c->ca_len, .flags = CURL_BLOB_COPY};
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &ca);
	}
	if (c->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->cert_pem != NULL) {
		struct curl_blob cert = {
		        .data = c->cert_pem, .len = c->cert_len, .flags = CURL_BLOB_COPY};
		struct curl_blob key = {
		        .data = c->key_pem, .len = c->key_len, .flags = CURL_BLOB_COPY};
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cert);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &key);
	}
	struct curl_slist *hd = curl_slist_append(NULL, "Accept: application/json");
	if (hd != NULL && r->ctype != NULL) {
		char line[128];
		snprintf(line, sizeof(line), "Content-Type: %s", r->ctype);
		curl_slist_append(hd, line);
	}
	if (hd != NULL && h->token != NULL) {
		size_t n = strlen(h->token) + 32;
		char *line = malloc(n);
		if (line != NULL) {
			snprintf(line, n, "Authorization: Bearer %s", h->token);
			curl_slist_append(hd, line);
			sodium_memzero(line, n);
			free(line);
		}
	}
	r->headers = hd;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hd);
	return hd != NULL ? 0 : -ENOMEM;
}

/* Complete a request with a local failure (no answer). */
static void fail_req(struct k8s_http_req *r, const char *msg)
{
	k8s_http_done_cb cb = r->cb;
	void *arg = r->arg;
	r->cb = NULL;
	struct k8s_http_result res = {.status = 0, .body = "", .len = 0, .error = msg};
	free_req(r);
	if (cb != NULL)
		cb(arg, &res);
}

static void on_done(void *arg, CURL *easy, CURLcode cc);

static void launch(struct k8s_http_req *r)
{
	int rc = setup_easy(r);
	if (rc == 0)
		rc = k8s_curl_loop_add(r->h->curl, r->easy, on_done, r);
	if (rc != 0)
		fail_req(r, shoal_strerror(rc));
}

static void on_exec_done(void *arg, const char *token, int64_t expires, const char *err)
{
	struct k8s_http *h = arg;
	h->exec_running = 0;
	if (token != NULL) {
		int64_t refresh = expires != 0 ? expires - K8S_EXEC_MARGIN_S : 0;
		/* A token already inside the margin is used once rather than never. */
		set_token(h, token,
		          refresh > (int64_t)time(NULL) ? refresh : (int64_t)time(NULL) + 1);
		if (expires == 0)
			h->token_expires = 0;
		h->exec_failed = 0;
	} else {
		snprintf(h->exec_error, sizeof(h->exec_error), "%s", err);
		h->exec_failed = 1;
	}
	kick(h);
}

/* Start parked requests (or fail them, when the plugin failed). */
static void release_parked(struct k8s_http *h)
{
	for (struct k8s_http_req *r = h->reqs, *next; r != NULL; r = next) {
		next = r->next;
		if (!r->waiting_cred || r->cancelled)
			continue;
		r->waiting_cred = 0;
		if (h->exec_failed)
			fail_req(r, h->exec_error);
		else
			launch(r);
	}
}

static void on_done(void *arg, CURL *easy, CURLcode cc)
{
	struct k8s_http_req *r = arg;
	struct k8s_http *h = r->h;
	if (r->cancelled)
		return; /* no callback; the reaper frees it */
	long code = 0;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	struct k8s_http_result res = {
	        .status = code, .body = r->resp != NULL ? r->resp : "", .len = r->resp_len};
	char ebuf[300];
	if (r->too_big) {
		res.status = 0;
		res.error = "response larger than the client's cap";
	} else if (cc != CURLE_OK) {
		snprintf(ebuf, sizeof(ebuf), "%s: %s", h->cfg->server, curl_easy_strerror(cc));
		res.error = ebuf;
		res.status = 0;
	}
	if (r->on_line != NULL && code == 200 && cc == CURLE_OK) {
		res.body = "";
		res.len = 0;
	}
	if (code == 401)
		k8s_http_invalidate_credentials(h);
	k8s_http_done_cb cb = r->cb;
	void *cb_arg = r->arg;
	r->cb = NULL;
	if (cb != NULL)
		cb(cb_arg, &res);
	free_req(r);
}

static void run_reaper(uv_timer_t *t)
{
	struct k8s_http *h = t->data;
	for (struct k8s_http_req *r = h->reqs, *next; r != NULL; r = next) {
		next = r->next;
		if (r->cancelled)
			free_req(r);
	}
	if (!h->exec_running)
		release_parked(h);
}

static void kick(struct k8s_http *h)
{
	uv_timer_start(&h->reaper, run_reaper, 0, 0);
}

int k8s_http_new(uv_loop_t *loop, const struct k8s_cluster_config *cfg, struct k8s_http **out)
{
	*out = NULL;
	struct k8s_http *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	h->cfg = cfg;
	int rc = k8s_curl_loop_new(loop, &h->curl);
	if (rc != 0) {
		free(h);
		return rc;
	}
	if (cfg->has_exec) {
		rc = k8s_exec_cred_new(loop, &cfg->exec, &h->exec);
		if (rc != 0) {
			k8s_curl_loop_delete(h->curl);
			free(h);
			return rc;
		}
	}
	uv_timer_init(loop, &h->reaper);
	h->reaper.data = h;
	*out = h;
	return 0;
}

static void on_reaper_closed(uv_handle_t *hd)
{
	free(hd->data);
}

void k8s_http_delete(struct k8s_http *h)
{
	if (h == NULL)
		return;
	while (h->reqs != NULL)
		free_req(h->reqs);
	k8s_curl_loop_delete(h->curl);
	k8s_exec_cred_delete(h->exec);
	set_token(h, NULL, 0);
	uv_close((uv_handle_t *)&h->reaper, on_reaper_closed);
}

int k8s_http_start(struct k8s_http *h, const struct k8s_http_opts *o, k8s_http_done_cb cb,
                   void *arg, struct k8s_http_req **out)
{
	struct k8s_http_req *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->h = h;
	r->cb = cb;
	r->arg = arg;
	r->on_line = o->on_line;
	r->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	size_t ulen = strlen(h->cfg->server) + strlen(o->path) + 1;
	r->url = malloc(ulen);
	r->method = strdup(o->method);
	r->ctype = o->content_type != NULL ? strdup(o->content_type) : NULL;
	if (o->body != NULL) {
		r->body = malloc(o->body_len + 1);
		if (r->body != NULL) {
			memcpy(r->body, o->body, o->body_len);
			r->body[o->body_len] = '\0';
			r->body_len = o->body_len;
		}
	}
	r->next = h->reqs;
	if (h->reqs != NULL)
		h->reqs->prev = r;
	h->reqs = r;
	if (r->url == NULL || r->method == NULL || (o->content_type != NULL && r->ctype == NULL) ||
	    (o->body != NULL && r->body == NULL)) {
		r->cb = NULL;
		free_req(r);
		return -ENOMEM;
	}
	snprintf(r->url, ulen, "%s%s", h->cfg->server, o->path);
	int t = refresh_token(h);
	if (t < 0) {
		r->cb = NULL;
		free_req(r);
		return t;
	}
	/* Parked until the reaper runs: never call back before returning. */
	r->waiting_cred = 1;
	if (t == 1 && !h->exec_running) {
		int rc = k8s_exec_cred_run(h->exec, on_exec_done, h);
		if (rc != 0) {
			/* The parked request fails from the reaper with this text:
			 * "cannot run aws: No such file or directory" says what to fix. */
			snprintf(h->exec_error, sizeof(h->exec_error),
			         "exec plugin: cannot run %s: %s", h->cfg->exec.command,
			         uv_strerror(rc));
			h->exec_failed = 1;
		} else {
			h->exec_running = 1;
			h->exec_failed = 0;
		}
	}
	kick(h);
	if (out != NULL)
		*out = r;
	return 0;
}

void k8s_http_cancel(struct k8s_http_req *r)
{
	if (r == NULL || r->cancelled)
		return;
	r->cancelled = 1;
	r->cb = NULL;
	r->on_line = NULL;
	kick(r->h);
}

int k8s_url_escape(const char *in, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p != '\0'; p++) {
		int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		            (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' ||
		            *p == '~';
		size_t need = plain ? 1 : 3;
		if (n + need + 1 > cap)
			return -1;
		if (plain) {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	out[n] = '\0';
	return (int)n;
}
