/*
 * sample_proc.c - host figures for the health record (node/sample_proc.h).
 *
 * The files are small and kernel-written, but a test tree or a container
 * runtime's fake /proc may hold anything, so each is read into a bounded
 * buffer and parsed with strtoull, checking every field is a number; no
 * sscanf. Only the lines needed are looked at: the "cpu " line of
 * /proc/stat (the first), and MemTotal / MemAvailable of /proc/meminfo.
 */
#include "sample_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "shoal/error.h"

/* Enough for the lines we read: the cpu line comes first in /proc/stat,
 * MemAvailable third in /proc/meminfo. */
#define READ_MAX 8192

/* Read up to READ_MAX - 1 bytes of <root><rel> into buf, NUL-terminated. */
static int read_file(const char *root, const char *rel, char *buf)
{
	char path[4096];
	size_t off = 0;
	int n = snprintf(path, sizeof(path), "%s%s",
	                 root != NULL && strcmp(root, "/") != 0 ? root : "", rel);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (off < READ_MAX - 1) {
		ssize_t got = read(fd, buf + off, READ_MAX - 1 - off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int err = -errno;
			close(fd);
			return err;
		}
		if (got == 0)
			break;
		off += (size_t)got;
	}
	close(fd);
	buf[off] = '\0';
	return 0;
}

/* One unsigned decimal field after optional blanks; *p moves past it. */
static bool next_u64(const char **p, uint64_t *v)
{
	const char *s = *p;
	char *end;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno != 0)
		return false;
	*v = x;
	*p = end;
	return true;
}

int proc_read_cpu(const char *root, struct proc_cpu *out)
{
	char buf[READ_MAX];
	uint64_t f[8];
	int rc = read_file(root, "/proc/stat", buf);
	if (rc != 0)
		return rc;
	if (strncmp(buf, "cpu ", 4) != 0)
		return SHOAL_E_MALFORMED;
	/* user nice system idle iowait irq softirq steal [guest guest_nice]:
	 * guest time is already counted in user and nice, so it stops at
	 * steal. Kernels before 2.6.11 lack steal; none runs Shoal. */
	const char *p = buf + 4;
	for (int i = 0; i < 8; i++)
		if (!next_u64(&p, &f[i]))
			return SHOAL_E_MALFORMED;
	out->busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
	out->total = out->busy + f[3] + f[4];
	return 0;
}

uint16_t proc_cpu_use_pm(const struct proc_cpu *before, const struct proc_cpu *after)
{
	if (after->total <= before->total || after->busy < before->busy)
		return 0;
	uint64_t busy = after->busy - before->busy, total = after->total - before->total;
	if (busy > total)
		return 1000;
	return (uint16_t)(busy * 1000 / total);
}

/* The kB value of meminfo line `key` ("MemTotal:"). */
static bool meminfo_field(const char *buf, const char *key, uint64_t *kb)
{
	size_t klen = strlen(key);
	for (const char *line = buf; *line != '\0';) {
		if (strncmp(line, key, klen) == 0) {
			const char *p = line + klen;
			return next_u64(&p, kb);
		}
		const char *nl = strchr(line, '\n');
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	return false;
}

int proc_read_mem_pm(const char *root, uint16_t *pm)
{
	char buf[READ_MAX];
	uint64_t total, avail;
	int rc = read_file(root, "/proc/meminfo", buf);
	if (rc != 0)
		return rc;
	if (!meminfo_field(buf, "MemTotal:", &total) ||
	    !meminfo_field(buf, "MemAvailable:", &avail) || total == 0)
		return SHOAL_E_MALFORMED;
	if (avail > total)
		avail = total;
	*pm = (uint16_t)(1000 - avail * 1000 / total);
	return 0;
}

int proc_read_uptime(const char *root, uint64_t *seconds)
{
	char buf[READ_MAX];
	const char *p = buf;
	int rc = read_file(root, "/proc/uptime", buf);
	if (rc != 0)
		return rc;
	/* "350735.47 234388.90": whole seconds are enough. */
	if (!next_u64(&p, seconds) || (*p != '.' && *p != ' ' && *p != '\n'))
		return SHOAL_E_MALFORMED;
	return 0;
}

int proc_disk_use_pm(const char *path, uint16_t *pm)
{
	struct statvfs st;
	if (statvfs(path, &st) != 0)
		return -errno;
	if (st.f_blocks < st.f_bfree)
		return SHOAL_E_MALFORMED;
	uint64_t used = (uint64_t)(st.f_blocks - st.f_bfree);
	uint64_t usable = used + (uint64_t)st.f_bavail;
	/* An empty pseudo file system (no blocks at all) is not full. */
	*pm = usable == 0 ? 0 : (uint16_t)((used * 1000 + usable - 1) / usable);
	if (*pm > 1000)
		*pm = 1000;
	return 0;
}
