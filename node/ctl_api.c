/*
 * ctl_api.c - a node API call: HTTP, JSON parsing, and one error style.
 *
 * The node's error bodies are {"error": code, "reason": text}; shoalctl shows
 * the reason first (it is written for people) and the code and status after
 * it (for bug reports and scripts grepping stderr). A non-JSON error body,
 * e.g. from something else listening on the port, is shown by its first
 * line, bounded, so a wrong --node gives a readable hint instead of a page of
 * HTML.
 */
#include "ctl_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_table.h"

/* Characters of a foreign error body worth showing. */
#define SNIPPET_MAX 120

static int print_error_body(const struct ctl_opts *o, const char *method, const char *path,
                            const struct ctl_http_resp *r)
{
	json_error_t jerr;
	json_t *j = json_loadb(r->body, r->len, 0, &jerr);
	const char *code = NULL, *reason = NULL;
	if (j != NULL && json_is_object(j)) {
		code = json_string_value(json_object_get(j, "error"));
		reason = json_string_value(json_object_get(j, "reason"));
	}
	if (reason != NULL || code != NULL) {
		char safe[512];
		ctl_sanitize(reason != NULL ? reason : code, safe, sizeof(safe));
		char safe_code[64];
		ctl_sanitize(code != NULL ? code : "error", safe_code, sizeof(safe_code));
		ctl_fail("node %s: %s (%s, HTTP %ld)", o->node, safe, safe_code, r->status);
	} else {
		char snippet[SNIPPET_MAX + 1];
		size_t n = 0;
		while (n < r->len && n < SNIPPET_MAX && r->body[n] != '\n' && r->body[n] != '\r')
			n++;
		memcpy(snippet, r->body, n);
		snippet[n] = '\0';
		char safe[SNIPPET_MAX * 4 + 1];
		ctl_sanitize(snippet, safe, sizeof(safe));
		ctl_fail("node %s answered %s %s with HTTP %ld%s%s", o->node, method, path,
		         r->status, n ? ": " : "", safe);
	}
	json_decref(j);
	return CTL_EXIT_FAIL;
}

int ctl_api_call(const struct ctl_opts *o, const char *method, const char *path, const json_t *body,
                 json_t **out, struct ctl_http_resp *raw)
{
	return ctl_api_call_status(o, method, path, body, out, raw, NULL);
}

int ctl_api_call_status(const struct ctl_opts *o, const char *method, const char *path,
                        const json_t *body, json_t **out, struct ctl_http_resp *raw, long *status)
{
	char err[512];
	char *text = NULL;
	struct ctl_http_resp r;

	*out = NULL;
	if (status != NULL)
		*status = 0;
	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT);
		if (text == NULL)
			return ctl_fail("out of memory");
	}
	int rc = ctl_http_request(o->node, method, path, text, o->timeout_ms, &r, err, sizeof(err));
	free(text);
	if (rc != 0)
		return ctl_fail("%s", err);
	if (status != NULL)
		*status = r.status;
	if (r.status >= 400 || r.status < 200) {
		print_error_body(o, method, path, &r);
		ctl_http_resp_free(&r);
		return CTL_EXIT_FAIL;
	}
	json_error_t jerr;
	json_t *j = json_loadb(r.body, r.len, 0, &jerr);
	if (j == NULL) {
		ctl_http_resp_free(&r);
		return ctl_fail("node %s sent an answer to %s %s that is not JSON (%s)", o->node,
		                method, path, jerr.text);
	}
	*out = j;
	if (raw != NULL)
		*raw = r;
	else
		ctl_http_resp_free(&r);
	return CTL_EXIT_OK;
}

void ctl_api_print_raw(const struct ctl_http_resp *raw, FILE *out)
{
	fwrite(raw->body, 1, raw->len, out);
	if (raw->len == 0 || raw->body[raw->len - 1] != '\n')
		fputc('\n', out);
}
