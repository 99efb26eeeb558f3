/*
 * sample_proc.h - the host figures a health record carries, read from
 * /proc and statvfs: CPU use (from two /proc/stat readings), memory use
 * (MemAvailable against MemTotal), disk use of the data directory, and the
 * host's uptime.
 *
 * Every /proc reader takes a root path ("" or "/" for the real one) so
 * tests point it at a prepared tree (tests/fixtures/proc/...). Use is
 * given in per mille (0-1000), the unit of the record.
 *
 * Errors: 0, a negative errno from open/read/statvfs, SHOAL_E_MALFORMED
 * for a file that does not read as the kernel writes it (a missing field,
 * a number that is not one), -ENAMETOOLONG for a root too long.
 *
 * Thread-safety: no shared state; safe from any thread.
 */
#ifndef SHOAL_NODE_SAMPLE_PROC_H
#define SHOAL_NODE_SAMPLE_PROC_H

#include <stdint.h>

/* Cumulative CPU time of the whole host, in clock ticks. */
struct proc_cpu {
	uint64_t busy;  /* user, nice, system, irq, softirq, steal */
	uint64_t total; /* busy + idle + iowait */
};

/* The first ("cpu ") line of <root>/proc/stat. */
int proc_read_cpu(const char *root, struct proc_cpu *out);

/* CPU use between two readings, per mille; 0 when no tick passed (or the
 * counters went back, as after a restore). */
uint16_t proc_cpu_use_pm(const struct proc_cpu *before, const struct proc_cpu *after);

/* Memory use from <root>/proc/meminfo: 1000 - 1000 * MemAvailable / MemTotal.
 * MemAvailable is the kernel's estimate of what can be had without
 * swapping; free memory alone would call a full page cache "used". */
int proc_read_mem_pm(const char *root, uint16_t *pm);

/* Seconds since boot, from the first field of <root>/proc/uptime. */
int proc_read_uptime(const char *root, uint64_t *seconds);

/* Use of the file system holding `path`, per mille, as df counts it:
 * used / (used + available to unprivileged users). */
int proc_disk_use_pm(const char *path, uint16_t *pm);

#endif
