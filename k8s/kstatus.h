/*
 * kstatus.h - is a live object done, still rolling out, or failed?
 *
 * The rules of kstatus (kubernetes-sigs/cli-utils) for the workload kinds,
 * and the pod buckets Shoal reports. Pure functions over the JSON the API
 * server returns, so they are tested on fixtures.
 */
#ifndef SHOAL_K8S_KSTATUS_H
#define SHOAL_K8S_KSTATUS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "shoal/k8s.h"

enum k8s_kstatus {
	K8S_KS_CURRENT = 0, /* reconciled: the desired state is reached */
	K8S_KS_IN_PROGRESS, /* the controller is still working on it */
	K8S_KS_FAILED,      /* the controller gave up (deadline, Job Failed) */
};

/* Deployment, StatefulSet, DaemonSet or Job (apps/v1, batch/v1). */
bool k8s_is_workload(const char *api_version, const char *kind);

/* The status of a live object; `reason` gets one line when not current.
 * Kinds without rules are current once they exist. */
enum k8s_kstatus k8s_kstatus_of(const json_t *obj, char *reason, size_t cap);

/* The bucket a live Pod falls in (see enum k8s_pod_bucket for precedence). */
enum k8s_pod_bucket k8s_pod_bucket_of(const json_t *pod);
/* Container restarts of a live Pod: restartCount summed over its init and
 * regular containers (saturating). */
uint32_t k8s_pod_restarts(const json_t *pod);

/* A workload's spec.selector as a labelSelector query string
 * ("app=web,tier in (a,b)"). Returns 0, or SHOAL_E_MALFORMED when there is
 * none or an operator is unknown, SHOAL_E_TOO_BIG when out is short. */
int k8s_selector_string(const json_t *selector, char *out, size_t cap);

#endif
