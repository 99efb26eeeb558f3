/*
 * ctl_http.h - shoalctl's HTTP client: one blocking request to a node.
 *
 * A thin layer over libcurl's easy interface. It knows nothing of JSON; it
 * turns transport failures into one sentence that names the node (what an
 * operator needs to see at 3 a.m.), and caps the body it will hold.
 *
 * Ownership: a response body is malloc'd, NUL-terminated, owned by the
 * caller and released with ctl_http_resp_free.
 * Thread-safety: call ctl_http_global_init once from main before any
 * request (libcurl's rule); requests are then independent.
 */
#ifndef SHOAL_NODE_CTL_HTTP_H
#define SHOAL_NODE_CTL_HTTP_H

#include <stddef.h>

/* Largest answer held in memory: the member list of a 100,000-site fleet is
 * tens of MB; more than this is a broken or hostile server. */
#define CTL_HTTP_BODY_MAX (256u * 1024u * 1024u)

struct ctl_http_resp {
	long status; /* HTTP status code; 0 when no answer came */
	char *body;  /* the answer's body, NUL-terminated (NULL before a request) */
	size_t len;  /* bytes in body, without the NUL */
};

/* Returns 0 or -EIO. Pair with ctl_http_global_cleanup at exit. */
int ctl_http_global_init(void);
void ctl_http_global_cleanup(void);

/* Send `method` to http://<node><path>, with `body` (may be NULL) as
 * application/json. Returns 0 when the node answered, whatever the status;
 * otherwise a negative code with a one-line explanation naming the node in
 * err: -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH, SHOAL_E_TOO_BIG (body over
 * the cap), -EIO (anything else). On error `out` holds no body. */
int ctl_http_request(const char *node, const char *method, const char *path, const char *body,
                     long timeout_ms, struct ctl_http_resp *out, char *err, size_t errcap);

void ctl_http_resp_free(struct ctl_http_resp *r);

#endif
