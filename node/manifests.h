/*
 * manifests.h - checking an App's Kubernetes manifests (multi-document
 * YAML) before the intent is accepted. Its fields are read by
 * intent_app_spec_read (shoal/intent.h).
 */
#ifndef SHOAL_NODE_MANIFESTS_H
#define SHOAL_NODE_MANIFESTS_H

#include <stddef.h>
#include <stdint.h>

/* 0 if `text` is one or more YAML documents, each a mapping with
 * apiVersion, kind and metadata.name; else -1 with one line in err. */
int node_manifests_check(const char *text, size_t len, char *err, size_t errcap);

#endif
