/*
 * hlc.c - the hybrid logical clock (include/shoal/hlc.h).
 *
 * Packing physical and logical parts into one integer makes "advance" a
 * plain max and +1: when the counter overflows, the carry moves the clock
 * one millisecond ahead of the wall, which is exactly what the HLC paper's
 * bounded-drift argument allows.
 */
#include "shoal/hlc.h"

void shoal_hlc_create(struct shoal_hlc *c)
{
	c->last = 0;
}

uint64_t shoal_hlc_now(struct shoal_hlc *c, uint64_t wall_ms)
{
	uint64_t wall = shoal_hlc_make(wall_ms, 0);
	c->last = wall > c->last ? wall : c->last + 1;
	return c->last;
}

void shoal_hlc_observe(struct shoal_hlc *c, uint64_t remote)
{
	if (remote > c->last)
		c->last = remote;
}
