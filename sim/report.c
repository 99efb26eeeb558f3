/*
 * report.c - measurements of the simulator process itself: heap in use,
 * peak resident memory, wall time. Only reports read these; nothing that
 * decides what a simulated node does may (that would break replay).
 *
 * Heap accounting asks whichever allocator is live: under ASan glibc's
 * malloc is replaced and mallinfo2 reads zero, so the sanitizer's own
 * counter is used when it is linked in (a weak reference finds it).
 */
#include "shoal/sim.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

size_t sim_heap_bytes(void)
{
	if (__sanitizer_get_current_allocated_bytes != NULL)
		return __sanitizer_get_current_allocated_bytes();
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

size_t sim_peak_rss(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t kb = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmHWM:", 6) != 0)
			continue;
		/* "VmHWM:     123456 kB": digits after the blanks. */
		for (const char *p = line + 6; *p != '\0'; p++) {
			if (*p >= '0' && *p <= '9')
				kb = kb * 10 + (size_t)(*p - '0');
			else if (kb > 0)
				break;
		}
		break;
	}
	fclose(f);
	return kb * 1024;
}

double sim_wall_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
