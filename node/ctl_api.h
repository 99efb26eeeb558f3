/*
 * ctl_api.h - one call to a node's JSON API, with shoalctl's error rules.
 *
 * Every command goes through ctl_api_call so failures read the same way
 * everywhere and map to the same exit codes:
 *   - node unreachable / timed out   -> message naming the node, exit 1
 *   - HTTP >= 400 with {"error","reason"} -> "<reason> (<error>, HTTP n)", exit 1
 *   - an answer that is not JSON     -> says so, exit 1
 *
 * Ownership: on success *out is a new jansson reference (json_decref it) and
 * raw, if given, holds the body exactly as received (ctl_http_resp_free it),
 * so `-o json` can print the node's bytes verbatim.
 */
#ifndef SHOAL_NODE_CTL_API_H
#define SHOAL_NODE_CTL_API_H

#include <jansson.h>

#include "ctl.h"
#include "ctl_http.h"

/* `body` may be NULL (no request body); it is borrowed. Returns CTL_EXIT_OK,
 * or CTL_EXIT_FAIL after printing one line to stderr. */
int ctl_api_call(const struct ctl_opts *o, const char *method, const char *path, const json_t *body,
                 json_t **out, struct ctl_http_resp *raw);

/* The same, also setting *status to the HTTP status (0 when the node did
 * not answer), for commands that map some answers to other exit codes: a
 * 400 about a selector the command line gave is a usage error. */
int ctl_api_call_status(const struct ctl_opts *o, const char *method, const char *path,
                        const json_t *body, json_t **out, struct ctl_http_resp *raw, long *status);

/* Print a body exactly as received, ending it with a newline if it had none. */
void ctl_api_print_raw(const struct ctl_http_resp *raw, FILE *out);

#endif
