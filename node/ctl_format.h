/*
 * ctl_format.h - turning API values into short human text for tables.
 *
 * Pure functions (no I/O, no clock: `now` is passed in) so they are unit
 * tested on their own (tests/unit/test_ctl_format.c).
 */
#ifndef SHOAL_NODE_CTL_FORMAT_H
#define SHOAL_NODE_CTL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Enough for any output of ctl_format_age. */
#define CTL_AGE_LEN 24

/* Parse RFC 3339 text ("2024-11-26T17:53:04.123456Z", "...+02:00", any
 * number of fraction digits) into microseconds since the Unix epoch.
 * Returns 0 or -EINVAL; checks every digit and range by hand (no sscanf on
 * text from the network). */
int ctl_rfc3339_parse(const char *text, int64_t *unix_us);

/* kubectl-like age: "42s", "5m12s", "3h4m", "12d3h"; "0s" for a time in the
 * future (clock skew between the node and this machine). */
void ctl_format_age(int64_t seconds, char out[CTL_AGE_LEN]);

/* Labels object {"k":"v",...} as "k=v,k2=v2", keys sorted; "" for none.
 * The system labels (sys.shoal.io/...) are left out: every site has a
 * dozen, and a table is for the operator's own; -o json shows them all.
 * Non-string values are shown as JSON. Returns 0, -EINVAL (not an object),
 * -ENOSPC if `cap` is too small (out holds a truncated, terminated prefix). */
int ctl_format_labels(const json_t *labels, char *out, size_t cap);

/* Percent-encode everything but RFC 3986's unreserved characters (a
 * selector or a name as a query value). Returns 0 or -ENOSPC. */
int ctl_url_encode(const char *in, char *out, size_t cap);

#endif
