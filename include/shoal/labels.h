/*
 * labels.h - Kubernetes-style labels: the key/value pair, a read-only view
 * of a label set, and the syntax rules for keys and values.
 *
 * A site advertises its labels in its SWIM record (swim.h) and selectors
 * (selector.h) match against them, so both speak the Kubernetes label
 * syntax users already know from kubectl:
 *
 *   key   = [prefix "/"] name
 *   prefix: a DNS-1123 subdomain, at most 253 characters: dot-separated
 *           parts of [a-z0-9-], each 1-63 characters, alphanumeric at both
 *           ends;
 *   name  : 1-63 characters of [A-Za-z0-9._-], alphanumeric at both ends;
 *   value : empty, or what a name may be.
 *
 * Thread-safety: everything here is pure and safe from any thread.
 */
#ifndef SHOAL_LABELS_H
#define SHOAL_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHOAL_LABEL_PREFIX_MAX 253 /* DNS subdomain prefix of a key, bytes */
#define SHOAL_LABEL_NAME_MAX   63  /* name part of a key, and a value, bytes */
/* Longest valid key: prefix, '/', name. */
#define SHOAL_LABEL_KEY_MAX   (SHOAL_LABEL_PREFIX_MAX + 1 + SHOAL_LABEL_NAME_MAX)
#define SHOAL_LABEL_VALUE_MAX SHOAL_LABEL_NAME_MAX

/* One label; both strings NUL-terminated and owned by whoever filled it. */
struct shoal_label {
	const char *key;
	const char *value;
};

/* A read-only view of a label set: `n` labels at `items` (may be NULL when
 * n is 0). Keys are meant to be unique, as in a Kubernetes label map; where
 * a key repeats, readers use its first occurrence. The view owns nothing. */
struct shoal_labels {
	const struct shoal_label *items;
	size_t n;
};

/* Is (s, len) a valid label key / label value? Bytes, not NUL-terminated;
 * an embedded NUL makes the text invalid. */
bool shoal_label_key_valid(const char *s, size_t len);
bool shoal_label_value_valid(const char *s, size_t len);

/* Why (s, len) is not a valid key or value, as a short static phrase for an
 * error message ("name part longer than 63 characters"), or NULL when it is
 * valid. The phrase lives forever. */
const char *shoal_label_key_problem(const char *s, size_t len);
const char *shoal_label_value_problem(const char *s, size_t len);

/* The value of `key` in `labels` (first occurrence), or NULL if absent. */
const char *shoal_labels_get(const struct shoal_labels *labels, const char *key, size_t key_len);

/* The same in labels as a member record carries them (a msgpack map of
 * str to str, swim.h): 0 with the value's bytes (borrowed from `map`), or
 * -1 if the key is absent or the map does not decode. The map is read
 * with the bounded reader: another site's bytes. */
int shoal_labels_map_get(const uint8_t *map, size_t len, const char *key, const uint8_t **val,
                         uint32_t *vlen);

#endif
