/*
 * clock.h - the two clocks shoald reads, and RFC 3339 time text.
 *
 * The core runs on a monotonic microsecond clock (`now` = uv_hrtime()/1000,
 * read once per loop callback). Humans and logs want wall time. A monotonic
 * instant is shown as wall time by its distance from a (monotonic, wall) pair
 * read together, so a wall-clock step never reorders the core's timers.
 *
 * Thread-safety: all functions are safe from any thread.
 */
#ifndef SHOAL_NODE_CLOCK_H
#define SHOAL_NODE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Microseconds since the Unix epoch (CLOCK_REALTIME). */
uint64_t node_clock_wall_us(void);

/* Microseconds on the monotonic clock the core is driven with. */
uint64_t node_clock_mono_us(void);

/* The wall time of monotonic instant `mono_us`, given a pair read together. */
uint64_t node_clock_mono_to_wall(uint64_t mono_us, uint64_t now_mono, uint64_t now_wall);

/* "2024-11-26T17:53:04.123456Z" (27 chars + NUL). Returns 0 or -ENOSPC. */
#define NODE_RFC3339_LEN 32
int node_clock_rfc3339(uint64_t wall_us, char *buf, size_t cap);

#endif
