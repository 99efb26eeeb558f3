/*
 * manifest.h - a set's manifests parsed, checked, labelled and ordered.
 *
 * Input is multi-document YAML, a JSON list, a single JSON object, or a
 * kind: List (whose items are taken). Every object must carry apiVersion,
 * kind and metadata.name (generateName cannot be applied idempotently), and
 * no two may name the same object. Each gets the set's part-of label, and
 * the list is stably ordered so that CustomResourceDefinitions come first
 * and Namespaces next: the kinds and namespaces the rest need.
 */
#ifndef SHOAL_K8S_MANIFEST_H
#define SHOAL_K8S_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Parse `text` into *objs, a JSON array of objects in apply order, owned by
 * the caller. Returns 0, or SHOAL_E_MALFORMED / SHOAL_E_TOO_BIG / -ENOMEM
 * with err naming the document ("document 3 (Deployment web): ..."). */
int k8s_manifests_parse(const char *text, size_t len, const char *set_label, json_t **objs,
                        char *err, size_t errcap);

/* The API group of an apiVersion ("" for "v1", "apps" for "apps/v1"),
 * copied into out. */
void k8s_api_group(const char *api_version, char *out, size_t cap);

bool k8s_is_crd(const json_t *obj);
bool k8s_is_namespace(const json_t *obj);

#endif
