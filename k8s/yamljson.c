/*
 * yamljson.c - libyaml documents converted to jansson values.
 *
 * libyaml's document API loads one document at a time into a node graph;
 * walking it from the root turns it into JSON. Scalars are resolved here
 * because libyaml leaves plain scalars untyped: "replicas: 3" must become
 * the number 3 and "enabled: true" the boolean, or the API server rejects
 * the object. YAML 1.1 forms (yes/no/on/off) stay strings, as Kubernetes'
 * own YAML decoder (sigs.k8s.io/yaml, YAML 1.2 core) leaves them.
 */
#include "yamljson.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "shoal/error.h"

struct walk {
	yaml_document_t *doc;
	size_t nodes; /* produced so far, against YAMLJSON_NODES_MAX */
	char *err;
	size_t errcap;
	int rc;
};

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool is_int(const char *s, size_t n)
{
	if (n > 0 && (s[0] == '-' || s[0] == '+'))
		return all_digits(s + 1, n - 1);
	return all_digits(s, n);
}

/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static bool is_float(const char *s, size_t n)
{
	size_t i = 0, digits = 0;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, digits++;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, digits++;
	}
	if (digits == 0)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		if (!all_digits(s + i, n - i))
			return false;
		return true;
	}
	return i == n;
}

static json_t *plain_scalar(const char *s, size_t n)
{
	if (n == 0 || (n == 1 && s[0] == '~') ||
	    (n == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4))))
		return json_null();
	if ((n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4))))
		return json_true();
	if ((n == 5 &&
	     (!memcmp(s, "false", 5) || !memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5))))
		return json_false();
	char buf[64];
	if (n < sizeof(buf) && is_int(s, n)) {
		memcpy(buf, s, n);
		buf[n] = '\0';
		errno = 0;
		char *end;
		long long v = strtoll(buf, &end, 10);
		if (errno == 0 && *end == '\0')
			return json_integer(v);
	}
	if (n < sizeof(buf) && is_float(s, n)) {
		memcpy(buf, s, n);
		buf[n] = '\0';
		char *end;
		double v = strtod(buf, &end);
		/* JSON has no infinity: 2e555 cannot be sent, so it is refused. */
		if (*end == '\0')
			return isfinite(v) ? json_real(v) : NULL;
	}
	return json_stringn(s, n);
}

/* libyaml's loader gives every untagged scalar the str tag, so an explicit
 * "!!str 3" cannot be told from a plain 3; the quoting style decides, as
 * it does for nearly every manifest written by hand or by a tool. */
static json_t *scalar(yaml_node_t *node)
{
	const char *s = (const char *)node->data.scalar.value;
	size_t n = node->data.scalar.length;
	if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		return plain_scalar(s, n);
	return json_stringn(s, n);
}

static void walk_fail(struct walk *w, int rc, const yaml_node_t *node, const char *what)
{
	if (w->rc != 0)
		return;
	w->rc = rc;
	snprintf(w->err, w->errcap, "line %lu: %s", (unsigned long)node->start_mark.line + 1, what);
}

static json_t *convert(struct walk *w, yaml_node_t *node, int depth)
{
	if (node == NULL) {
		if (w->rc == 0) {
			w->rc = SHOAL_E_MALFORMED;
			snprintf(w->err, w->errcap, "dangling YAML node");
		}
		return NULL;
	}
	if (++w->nodes > YAMLJSON_NODES_MAX) {
		walk_fail(w, SHOAL_E_TOO_BIG, node, "too many YAML nodes (aliases expand too far)");
		return NULL;
	}
	if (depth > YAMLJSON_DEPTH_MAX) {
		walk_fail(w, SHOAL_E_TOO_BIG, node, "YAML nested too deeply");
		return NULL;
	}
	switch (node->type) {
	case YAML_SCALAR_NODE: {
		json_t *v = scalar(node);
		if (v == NULL)
			walk_fail(w, SHOAL_E_MALFORMED, node,
			          "a number out of range, or text that is not UTF-8");
		return v;
	}
	case YAML_SEQUENCE_NODE: {
		json_t *arr = json_array();
		for (yaml_node_item_t *it = node->data.sequence.items.start;
		     arr != NULL && it < node->data.sequence.items.top; it++) {
			json_t *v = convert(w, yaml_document_get_node(w->doc, *it), depth + 1);
			if (v == NULL || json_array_append_new(arr, v) != 0) {
				json_decref(arr);
				arr = NULL;
			}
		}
		return arr;
	}
	case YAML_MAPPING_NODE: {
		json_t *obj = json_object();
		for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
		     obj != NULL && p < node->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
			if (k == NULL || k->type != YAML_SCALAR_NODE) {
				walk_fail(w, SHOAL_E_MALFORMED, node,
				          "mapping key is not a scalar");
				json_decref(obj);
				return NULL;
			}
			if (k->data.scalar.length == 2 && !memcmp(k->data.scalar.value, "<<", 2)) {
				walk_fail(w, SHOAL_E_MALFORMED, k,
				          "merge keys (<<) are not supported");
				json_decref(obj);
				return NULL;
			}
			json_t *v = convert(w, yaml_document_get_node(w->doc, p->value), depth + 1);
			if (v == NULL) {
				json_decref(obj);
				return NULL;
			}
			char *key =
			        strndup((const char *)k->data.scalar.value, k->data.scalar.length);
			if (key == NULL || json_object_set_new(obj, key, v) != 0) {
				free(key);
				walk_fail(w, SHOAL_E_MALFORMED, k,
				          "mapping key is not valid UTF-8");
				json_decref(obj);
				return NULL;
			}
			free(key);
		}
		return obj;
	}
	default:
		walk_fail(w, SHOAL_E_MALFORMED, node, "empty YAML node");
		return NULL;
	}
}

int yamljson_parse(const char *text, size_t len, json_t **docs, char *err, size_t errcap)
{
	*docs = NULL;
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	json_t *out = json_array();
	int rc = out == NULL ? -ENOMEM : 0;
	struct walk w = {.err = err, .errcap = errcap};
	while (rc == 0) {
		yaml_document_t doc;
		if (!yaml_parser_load(&parser, &doc)) {
			snprintf(err, errcap, "line %lu: %s",
			         (unsigned long)parser.problem_mark.line + 1,
			         parser.problem != NULL ? parser.problem : "YAML syntax error");
			rc = SHOAL_E_MALFORMED;
			break;
		}
		yaml_node_t *root = yaml_document_get_root_node(&doc);
		if (root == NULL) { /* end of stream */
			yaml_document_delete(&doc);
			break;
		}
		w.doc = &doc;
		json_t *v = convert(&w, root, 0);
		yaml_document_delete(&doc);
		if (v == NULL) {
			rc = w.rc != 0 ? w.rc : -ENOMEM;
			if (w.rc == 0)
				snprintf(err, errcap, "out of memory");
			break;
		}
		if (json_is_null(v)) /* a document with only comments or "---" */
			json_decref(v);
		else if (json_array_append_new(out, v) != 0) {
			snprintf(err, errcap, "out of memory");
			rc = -ENOMEM;
		}
	}
	yaml_parser_delete(&parser);
	if (rc != 0) {
		json_decref(out);
		return rc;
	}
	*docs = out;
	return 0;
}
