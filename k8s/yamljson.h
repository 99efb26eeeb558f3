/*
 * yamljson.h - YAML text to jansson values, for kubeconfigs and manifests.
 *
 * Kubernetes reads YAML as JSON with a friendlier syntax, so this converts
 * each YAML document into the JSON value the API server would see: plain
 * scalars resolve by the YAML 1.2 core schema (null, booleans, integers,
 * floats, else strings); quoted scalars are always strings. Aliases are
 * followed, with a cap on the total node count so a "billion laughs" input
 * fails instead of exhausting memory.
 *
 * Ownership: the returned array and its items belong to the caller.
 */
#ifndef SHOAL_K8S_YAMLJSON_H
#define SHOAL_K8S_YAMLJSON_H

#include <stddef.h>

#include <jansson.h>

/* Most nodes produced from one text (aliases counted each time they expand). */
#define YAMLJSON_NODES_MAX 1000000u
/* Deepest nesting accepted. */
#define YAMLJSON_DEPTH_MAX 64

/* Parse every document of `text` into *docs (a JSON array, one item per
 * document; empty documents are skipped). Returns 0, or SHOAL_E_MALFORMED /
 * SHOAL_E_TOO_BIG / -ENOMEM with `err` naming the line. *docs is NULL on error. */
int yamljson_parse(const char *text, size_t len, json_t **docs, char *err, size_t errcap);

#endif
