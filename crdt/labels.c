/*
 * labels.c - Kubernetes label key and value syntax, and label lookup.
 *
 * The rules are those of Kubernetes's qualified names and label values
 * (see labels.h). Each check names the first rule broken, so an error
 * message can say what to fix rather than just "invalid".
 */
#include "shoal/labels.h"

#include <string.h>

#include "shoal/mp.h"

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* The name part of a key, or a non-empty value. */
static const char *name_problem(const char *s, size_t len, const char *what_long,
                                const char *what_chars)
{
	if (len > SHOAL_LABEL_NAME_MAX)
		return what_long;
	for (size_t i = 0; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return what_chars;
	if (!is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return "must begin and end with an alphanumeric character";
	return NULL;
}

static const char *prefix_problem(const char *s, size_t len)
{
	if (len == 0)
		return "prefix before '/' is empty";
	if (len > SHOAL_LABEL_PREFIX_MAX)
		return "prefix longer than 253 characters";
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			char c = s[i];
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
				return "prefix must be a DNS subdomain: lowercase [a-z0-9-.] only";
			continue;
		}
		size_t part = i - start;
		if (part == 0)
			return "prefix has an empty part between dots";
		if (part > 63)
			return "prefix has a part longer than 63 characters";
		if (s[start] == '-' || s[i - 1] == '-')
			return "prefix parts must begin and end with an alphanumeric character";
		start = i + 1;
	}
	return NULL;
}

const char *shoal_label_key_problem(const char *s, size_t len)
{
	if (len == 0)
		return "key is empty";
	const char *slash = memchr(s, '/', len);
	const char *name = s;
	size_t name_len = len;
	if (slash != NULL) {
		const char *p = prefix_problem(s, (size_t)(slash - s));
		if (p != NULL)
			return p;
		name = slash + 1;
		name_len = len - (size_t)(name - s);
		if (name_len == 0)
			return "name after '/' is empty";
	}
	return name_problem(name, name_len, "name part longer than 63 characters",
	                    "name part may hold only [A-Za-z0-9._-]");
}

const char *shoal_label_value_problem(const char *s, size_t len)
{
	if (len == 0)
		return NULL; /* the empty value is valid */
	return name_problem(s, len, "value longer than 63 characters",
	                    "value may hold only [A-Za-z0-9._-]");
}

bool shoal_label_key_valid(const char *s, size_t len)
{
	return shoal_label_key_problem(s, len) == NULL;
}

bool shoal_label_value_valid(const char *s, size_t len)
{
	return shoal_label_value_problem(s, len) == NULL;
}

const char *shoal_labels_get(const struct shoal_labels *labels, const char *key, size_t key_len)
{
	for (size_t i = 0; i < labels->n; i++) {
		const char *k = labels->items[i].key;
		if (strlen(k) == key_len && memcmp(k, key, key_len) == 0)
			return labels->items[i].value;
	}
	return NULL;
}

int shoal_labels_map_get(const uint8_t *map, size_t len, const char *key, const uint8_t **val,
                         uint32_t *vlen)
{
	const uint8_t *pos = map, *end = map + len;
	uint32_t count;
	size_t klen = strlen(key);
	if (map == NULL || len == 0 || shoal_mp_read_map(&pos, end, &count) != 0)
		return -1;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *k, *v;
		uint32_t kl, vl;
		if (shoal_mp_read_str(&pos, end, &k, &kl) != 0 ||
		    shoal_mp_read_str(&pos, end, &v, &vl) != 0)
			return -1;
		if (kl == klen && memcmp(k, key, klen) == 0) {
			*val = v;
			*vlen = vl;
			return 0;
		}
	}
	return -1;
}
