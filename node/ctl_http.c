/*
 * ctl_http.c - one blocking HTTP request to a shoald, with libcurl.
 *
 * Choices, each for a reason:
 *   - proxies are switched off: shoalctl talks to a node directly, and an
 *     http_proxy in the operator's environment must not send loopback API
 *     calls (keyring changes included) through some other host;
 *   - the body grows by doubling up to CTL_HTTP_BODY_MAX and the transfer is
 *     aborted past it (curl's dynbuf rule: every buffer has a cap);
 *   - no redirects are followed: the API never redirects, and following one
 *     could carry a keyring body to another host.
 */
#include "ctl_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "shoal/error.h"

/* Connecting to a node on a LAN takes milliseconds; a node that has not
 * accepted in this long is down or unreachable. */
#define CONNECT_TIMEOUT_MS 3000L
#define BODY_INITIAL       4096u

/* Where the write callback gathers the body. */
struct sink {
	char *buf;     /* malloc'd, NUL-terminated while len < cap */
	size_t len;    /* bytes written */
	size_t cap;    /* bytes allocated */
	int too_big;   /* the answer passed CTL_HTTP_BODY_MAX */
	int no_memory; /* an allocation failed */
};

int ctl_http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

void ctl_http_global_cleanup(void)
{
	curl_global_cleanup();
}

void ctl_http_resp_free(struct ctl_http_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;
	if (n > CTL_HTTP_BODY_MAX - s->len) {
		s->too_big = 1;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : BODY_INITIAL;
		while (cap < s->len + n + 1)
			cap *= 2;
		if (cap > CTL_HTTP_BODY_MAX + 1)
			cap = CTL_HTTP_BODY_MAX + 1;
		char *nb = realloc(s->buf, cap);
		if (nb == NULL) {
			s->no_memory = 1;
			return 0;
		}
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

/* Turn a curl failure into a negative code and a sentence naming the node. */
static int explain(CURLcode rc, long oserr, const struct sink *s, const char *node, long timeout_ms,
                   const char *detail, char *err, size_t errcap)
{
	if (s->too_big) {
		snprintf(err, errcap, "node %s sent more than %u bytes; refusing the answer", node,
		         CTL_HTTP_BODY_MAX);
		return SHOAL_E_TOO_BIG;
	}
	if (s->no_memory) {
		snprintf(err, errcap, "out of memory reading the answer from node %s", node);
		return -ENOMEM;
	}
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		if (oserr == ECONNREFUSED) {
			snprintf(err, errcap,
			         "cannot reach shoal node at %s: connection refused "
			         "(is shoald running with --api %s?)",
			         node, node);
			return -ECONNREFUSED;
		}
		snprintf(err, errcap, "cannot reach shoal node at %s: %s", node,
		         oserr != 0 ? strerror((int)oserr) : detail);
		return -EHOSTUNREACH;
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(err, errcap, "cannot reach shoal node at %s: unknown host", node);
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(err, errcap, "shoal node at %s did not answer within %ld ms", node,
		         timeout_ms);
		return -ETIMEDOUT;
	default:
		snprintf(err, errcap, "request to shoal node at %s failed: %s", node,
		         detail[0] ? detail : curl_easy_strerror(rc));
		return -EIO;
	}
}

int ctl_http_request(const char *node, const char *method, const char *path, const char *body,
                     long timeout_ms, struct ctl_http_resp *out, char *err, size_t errcap)
{
	char url[512];
	char detail[CURL_ERROR_SIZE];
	struct sink s = {0};
	struct curl_slist *headers = NULL;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	detail[0] = '\0';
	int n = snprintf(url, sizeof(url), "http://%s%s", node, path);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		snprintf(err, errcap, "URL for node %s too long", node);
		return -EINVAL;
	}
	CURL *c = curl_easy_init();
	if (c == NULL) {
		snprintf(err, errcap, "cannot start an HTTP request (libcurl init failed)");
		return -ENOMEM;
	}
	headers = curl_slist_append(headers, "Accept: application/json");
	if (body != NULL && headers != NULL)
		headers = curl_slist_append(headers, "Content-Type: application/json");
	if (headers == NULL) {
		curl_easy_cleanup(c);
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	                 timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms : CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "shoalctl");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);

	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		long oserr = 0;
		curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &oserr);
		ret = explain(rc, oserr, &s, node, timeout_ms, detail, err, errcap);
		free(s.buf);
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
		if (s.buf == NULL) {
			s.buf = calloc(1, 1); /* an empty body is still a string */
			if (s.buf == NULL) {
				snprintf(err, errcap, "out of memory");
				ret = -ENOMEM;
			}
		}
		out->body = s.buf;
		out->len = s.len;
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	return ret;
}
