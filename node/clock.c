/*
 * clock.c - wall and monotonic microseconds, and RFC 3339 formatting.
 *
 * The monotonic clock is libuv's uv_hrtime so that every part of shoald
 * agrees with the driver on what `now` means.
 */
#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include <uv.h>

uint64_t node_clock_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t node_clock_mono_us(void)
{
	return uv_hrtime() / 1000u;
}

uint64_t node_clock_mono_to_wall(uint64_t mono_us, uint64_t now_mono, uint64_t now_wall)
{
	if (mono_us >= now_mono)
		return now_wall + (mono_us - now_mono);
	uint64_t ago = now_mono - mono_us;
	return ago < now_wall ? now_wall - ago : 0;
}

int node_clock_rfc3339(uint64_t wall_us, char *buf, size_t cap)
{
	time_t secs = (time_t)(wall_us / 1000000u);
	unsigned micros = (unsigned)(wall_us % 1000000u);
	struct tm tm;
	if (gmtime_r(&secs, &tm) == NULL)
		return -EINVAL;
	int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
	                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
	return (n < 0 || (size_t)n >= cap) ? -ENOSPC : 0;
}
