/*
 * discovery.h - which resource serves a (group, version, kind).
 *
 * A cache filled from APIResourceList answers (GET /api/v1,
 * GET /apis/<group>/<version>). The engine asks for a group-version's list
 * when a kind is missing (a CRD just became Established) and stores it
 * here; this module does no I/O, so it is tested on fixtures.
 */
#ifndef SHOAL_K8S_DISCOVERY_H
#define SHOAL_K8S_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>

struct k8s_resource {
	char *api_version; /* "v1", "apps/v1" */
	char *kind;        /* "Deployment" */
	char *name;        /* plural resource name: "deployments" */
	bool namespaced;
};

struct k8s_discovery;

int k8s_discovery_new(struct k8s_discovery **out);
void k8s_discovery_delete(struct k8s_discovery *d);

/* Replace what is known of `api_version` with an APIResourceList body.
 * Subresources ("deployments/status") are skipped. Returns 0 or
 * SHOAL_E_MALFORMED with err; -ENOMEM. */
int k8s_discovery_store(struct k8s_discovery *d, const char *api_version, const char *body,
                        size_t len, char *err, size_t errcap);

/* The resource for (apiVersion, kind), or NULL; valid until the next store. */
const struct k8s_resource *k8s_discovery_find(const struct k8s_discovery *d,
                                              const char *api_version, const char *kind);

/* The discovery path of a group-version: "/api/v1" or "/apis/<g>/<v>". */
void k8s_gv_path(const char *api_version, char *out, size_t cap);

/* The URL path of a resource collection or object: ns NULL for all
 * namespaces (or cluster-scoped), name NULL for the collection. Returns 0
 * or SHOAL_E_TOO_BIG. */
int k8s_resource_path(const struct k8s_resource *r, const char *ns, const char *name, char *out,
                      size_t cap);

#endif
