/*
 * error.c - the single table behind shoal_strerror()/shoal_errname().
 */
/* strerrorname_np (glibc 2.32+) names errno values for logs and JSON. */
#define _GNU_SOURCE
#include "shoal/error.h"

#include <string.h>

struct error_entry {
	int code;
	const char *name;
	const char *message;
};

static const struct error_entry shoal_errors[] = {
        {SHOAL_E_TRUNCATED, "truncated", "input ended before a value it declared"},
        {SHOAL_E_TYPE, "type", "value of the wrong type"},
        {SHOAL_E_RANGE, "range", "value out of range"},
        {SHOAL_E_VERSION, "version", "unknown format version"},
        {SHOAL_E_AUTH, "auth", "no installed key opens the message"},
        {SHOAL_E_SIGNATURE, "signature", "signature does not verify"},
        {SHOAL_E_TOO_BIG, "too_big", "exceeds its size limit"},
        {SHOAL_E_NOT_FOUND, "not_found", "not found"},
        {SHOAL_E_EXISTS, "exists", "already exists"},
        {SHOAL_E_NAME_TAKEN, "name_taken", "name is bound to another site key"},
        {SHOAL_E_STALE, "stale", "older than the version held"},
        {SHOAL_E_MALFORMED, "malformed", "malformed input"},
        {SHOAL_E_LAST_KEY, "primary_key", "the primary key cannot be removed"},
        {SHOAL_E_CONFIG, "config", "invalid configuration"},
        {SHOAL_E_STATE, "state", "not valid in the current state"},
        {SHOAL_E_STORE, "store", "storage failure"},
        {SHOAL_E_FORBIDDEN, "forbidden", "signer is not trusted for this"},
        {SHOAL_E_CONFLICT, "conflict", "replaces an older version than the one held"},
};

static const struct error_entry *find_error(int code)
{
	for (size_t i = 0; i < sizeof(shoal_errors) / sizeof(shoal_errors[0]); i++)
		if (shoal_errors[i].code == code)
			return &shoal_errors[i];
	return NULL;
}

const char *shoal_strerror(int code)
{
	if (code == 0)
		return "success";
	const struct error_entry *e = find_error(code);
	if (e != NULL)
		return e->message;
	if (code < 0 && code > SHOAL_E_BASE)
		return strerror(-code); /* glibc: static text for known errnos */
	return "unknown error";
}

const char *shoal_errname(int code)
{
	if (code == 0)
		return "ok";
	const struct error_entry *e = find_error(code);
	if (e != NULL)
		return e->name;
	if (code < 0 && code > SHOAL_E_BASE) {
		const char *n = strerrorname_np(-code);
		return n != NULL ? n : "errno";
	}
	return "unknown";
}
