/*
 * manifests.c - the node's check of an App's manifests: YAML documents,
 * each a Kubernetes object with apiVersion, kind and metadata.name.
 *
 * The core checks an App spec's shape (manifests is a string) but does not
 * link a YAML parser; shoald does, so it adds this check through the intent
 * store's validate hook, on every path an intent arrives by. libyaml's
 * document loader is used: it keeps aliases as shared nodes rather than
 * expanding them, so a "billion laughs" input costs its own size, and the
 * text is already capped at INTENT_SPEC_MAX by the core.
 */
#include "manifests.h"

#include <stdio.h>
#include <string.h>

#include <yaml.h>

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		if (k != NULL && k->type == YAML_SCALAR_NODE &&
		    k->data.scalar.length == strlen(key) &&
		    memcmp(k->data.scalar.value, key, k->data.scalar.length) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

static int scalar_set(const yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE && n->data.scalar.length > 0;
}

int node_manifests_check(const char *text, size_t len, char *err, size_t errcap)
{
	yaml_parser_t parser;
	int docs = 0, rc = 0;

	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errcap, "cannot start the YAML parser");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	for (;;) {
		yaml_document_t doc;
		if (!yaml_parser_load(&parser, &doc)) {
			snprintf(err, errcap, "manifests are not YAML: %s at line %zu",
			         parser.problem != NULL ? parser.problem : "parse error",
			         parser.problem_mark.line + 1);
			rc = -1;
			break;
		}
		yaml_node_t *root = yaml_document_get_root_node(&doc);
		if (root == NULL) { /* end of the stream */
			yaml_document_delete(&doc);
			break;
		}
		docs++;
		if (root->type != YAML_MAPPING_NODE) {
			snprintf(err, errcap, "manifest document %d is not a mapping", docs);
			rc = -1;
		} else if (!scalar_set(map_get(&doc, root, "apiVersion")) ||
		           !scalar_set(map_get(&doc, root, "kind")) ||
		           !scalar_set(map_get(&doc, map_get(&doc, root, "metadata"), "name"))) {
			snprintf(err, errcap,
			         "manifest document %d needs apiVersion, kind and metadata.name",
			         docs);
			rc = -1;
		}
		yaml_document_delete(&doc);
		if (rc != 0)
			break;
	}
	yaml_parser_delete(&parser);
	if (rc == 0 && docs == 0) {
		snprintf(err, errcap, "manifests hold no YAML document");
		rc = -1;
	}
	return rc;
}
