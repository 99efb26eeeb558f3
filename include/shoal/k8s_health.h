/*
 * k8s_health.h - an apply set's state (k8s.h) as a per-intent state of the
 * site health record (health.h), the vocabulary of docs/intents.md.
 *
 * One mapping for every site that applies intents: shoald's reconciler
 * (node/reconcile_status.c) over the real engine, and shoalsim's simulated
 * sites (sim/rollout.c) over the simulated backend. Header-only: neither
 * library links the other, and the mapping is a table.
 */
#ifndef SHOAL_K8S_HEALTH_H
#define SHOAL_K8S_HEALTH_H

#include "shoal/health.h"
#include "shoal/k8s.h"

/* The states map one to one. */
static inline enum health_state k8s_health_state(enum k8s_state s)
{
	switch (s) {
	case K8S_PENDING:
		return HEALTH_PENDING;
	case K8S_APPLYING:
		return HEALTH_APPLYING;
	case K8S_READY:
		return HEALTH_READY;
	case K8S_DEGRADED:
		return HEALTH_DEGRADED;
	default:
		return HEALTH_FAILED;
	}
}

/* K8S_POD_RUNNING..K8S_POD_PENDING are HEALTH_POD_RUNNING..HEALTH_POD_PENDING:
 * the engine's first eight pod buckets are the record's, in the same order
 * (succeeded and failed pods are history, not state). */
_Static_assert(K8S_POD_PENDING == (int)HEALTH_POD_PENDING && HEALTH_POD_COUNT == 8 &&
                       K8S_POD_IMAGE == (int)HEALTH_POD_WAITING_IMAGE &&
                       K8S_POD_UNSCHEDULABLE == (int)HEALTH_POD_UNSCHEDULABLE,
               "k8s pod buckets and health pod buckets share their first eight");

#endif
