/*
 * dist.h - a distribution as shoalsim's reports give it: mean, p50, p99
 * and max of a set of values (over nodes, publishes, intents).
 */
#ifndef SHOAL_SIM_DIST_H
#define SHOAL_SIM_DIST_H

#include <stdint.h>

struct sim_dist {
	double mean, p50, p99, max;
};

/* Sorts v[n] in place; all zero when n is 0. Ranks: p50 rounds down,
 * p99 up (run.c). */
void sim_dist_of(double *v, uint32_t n, struct sim_dist *d);

#endif
