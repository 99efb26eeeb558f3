/*
 * manifests.h - an App's spec: reading its fields, and checking its
 * Kubernetes manifests (multi-document YAML) before the intent is accepted.
 */
#ifndef SHOAL_NODE_MANIFESTS_H
#define SHOAL_NODE_MANIFESTS_H

#include <stddef.h>
#include <stdint.h>

/* 0 if `text` is one or more YAML documents, each a mapping with
 * apiVersion, kind and metadata.name; else -1 with one line in err. */
int node_manifests_check(const char *text, size_t len, char *err, size_t errcap);

/* An App spec (msgpack map, docs/intents.md): its manifests text and its
 * optional namespace (*ns NULL when absent), pointing into `spec`. 0, or
 * -1 when the map does not read or holds no manifests string. */
struct node_app_spec {
	const char *manifests;
	size_t manifests_len;
	const char *ns;
	size_t ns_len;
};
int node_app_spec_read(const uint8_t *spec, size_t len, struct node_app_spec *out);

#endif
