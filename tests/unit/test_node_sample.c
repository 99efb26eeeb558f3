/*
 * test_node_sample.c - the host samplers (node/sample_proc.c) against
 * prepared /proc trees in tests/fixtures/proc/ (relative to $SHOAL_SRC,
 * else the working directory, the repository root under tests/run.py).
 *
 * idle/ and busy/ are two readings of the same kind of host: between them
 * 1,000 ticks pass of which 900 are busy, so CPU use is 900 per mille.
 * idle/ has 12 of 16 GB available (250 per mille used), busy/ 0.4 of 8 GB
 * (950). bad/ holds files with a field missing or not a number. The last
 * test feeds the samples into a record and reads the performance score.
 */
#include "../../node/sample_proc.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <cmocka.h>

#include "shoal/error.h"
#include "shoal/health.h"
#include "health_fixture.h"

static const char *fixture(const char *name)
{
	static char path[4096];
	const char *src = getenv("SHOAL_SRC");
	snprintf(path, sizeof(path), "%s/tests/fixtures/proc/%s",
	         src != NULL && src[0] != '\0' ? src : ".", name);
	return path;
}

static void test_cpu_use_between_two_readings(void **state)
{
	(void)state;
	struct proc_cpu a, b;
	assert_int_equal(proc_read_cpu(fixture("idle"), &a), 0);
	assert_int_equal(proc_read_cpu(fixture("busy"), &b), 0);
	/* user+nice+system+irq+softirq+steal; guest (already in user) left out. */
	assert_int_equal(a.busy, 14000);
	assert_int_equal(a.total, 95000);
	assert_int_equal(b.busy, 14900);
	assert_int_equal(b.total, 96000);
	assert_int_equal(proc_cpu_use_pm(&a, &b), 900);
	/* No tick passed, or counters went back: 0, not a division by zero. */
	assert_int_equal(proc_cpu_use_pm(&a, &a), 0);
	assert_int_equal(proc_cpu_use_pm(&b, &a), 0);
}

static void test_memory_uses_mem_available(void **state)
{
	(void)state;
	uint16_t pm;
	assert_int_equal(proc_read_mem_pm(fixture("idle"), &pm), 0);
	assert_int_equal(pm, 250);
	assert_int_equal(proc_read_mem_pm(fixture("busy"), &pm), 0);
	assert_int_equal(pm, 950);
}

static void test_uptime_whole_seconds(void **state)
{
	(void)state;
	uint64_t s;
	assert_int_equal(proc_read_uptime(fixture("idle"), &s), 0);
	assert_int_equal(s, 350735);
	assert_int_equal(proc_read_uptime(fixture("busy"), &s), 0);
	assert_int_equal(s, 120);
}

static void test_bad_and_missing_files_are_errors(void **state)
{
	(void)state;
	struct proc_cpu c = {7, 7};
	uint16_t pm = 7;
	uint64_t s = 7;
	assert_int_equal(proc_read_cpu(fixture("bad"), &c), SHOAL_E_MALFORMED);
	assert_int_equal(proc_read_mem_pm(fixture("bad"), &pm), SHOAL_E_MALFORMED);
	assert_int_equal(proc_read_uptime(fixture("bad"), &s), SHOAL_E_MALFORMED);
	assert_int_equal(proc_read_cpu(fixture("absent"), &c), -ENOENT);
	assert_int_equal(proc_read_mem_pm(fixture("absent"), &pm), -ENOENT);
	assert_int_equal(proc_read_uptime(fixture("absent"), &s), -ENOENT);
	assert_int_equal(proc_disk_use_pm(fixture("absent"), &pm), -ENOENT);
	/* Failures leave the outputs alone. */
	assert_int_equal(c.busy, 7);
	assert_int_equal(pm, 7);
	assert_int_equal(s, 7);
}

static void test_real_proc_and_disk(void **state)
{
	(void)state;
	struct proc_cpu c;
	struct statvfs st;
	uint16_t pm;
	uint64_t s;
	/* The host's own files read too ("/" and "" both mean the real root). */
	assert_int_equal(proc_read_cpu("/", &c), 0);
	assert_true(c.total >= c.busy && c.total > 0);
	assert_int_equal(proc_read_mem_pm("", &pm), 0);
	assert_true(pm <= 1000);
	assert_int_equal(proc_read_uptime("/", &s), 0);
	/* Disk use agrees with statvfs read here, to within rounding. */
	assert_int_equal(proc_disk_use_pm(".", &pm), 0);
	assert_int_equal(statvfs(".", &st), 0);
	double used = (double)(st.f_blocks - st.f_bfree);
	double want = used + st.f_bavail > 0 ? 1000.0 * used / (used + st.f_bavail) : 0;
	assert_true(pm <= 1000);
	assert_true((double)pm >= want - 1 && (double)pm <= want + 1);
}

static void test_samples_drive_the_performance_score(void **state)
{
	(void)state;
	static struct health_record r;
	struct health_score sc;
	struct proc_cpu a, b;

	hx_typical(&r);
	assert_int_equal(proc_read_mem_pm(fixture("idle"), &r.mem_pm), 0);
	health_score_compute(&r, NULL, &sc);
	assert_int_equal(sc.performance, 100);

	/* 900 per mille CPU: 100 - 40 * 100 / 150 = 74; 950 memory: 30. */
	assert_int_equal(proc_read_cpu(fixture("idle"), &a), 0);
	assert_int_equal(proc_read_cpu(fixture("busy"), &b), 0);
	r.cpu_pm = proc_cpu_use_pm(&a, &b);
	health_score_compute(&r, NULL, &sc);
	assert_int_equal(sc.performance, 74);
	assert_int_equal(health_band_of(sc.performance), HEALTH_ORANGE);
	assert_int_equal(proc_read_mem_pm(fixture("busy"), &r.mem_pm), 0);
	health_score_compute(&r, NULL, &sc);
	assert_int_equal(sc.performance, 30);
	assert_int_equal(health_band_of(sc.performance), HEALTH_RED);
	/* A host up two minutes loses 10 reliability for the fresh boot. */
	assert_int_equal(proc_read_uptime(fixture("busy"), &r.uptime_s), 0);
	health_score_compute(&r, NULL, &sc);
	assert_int_equal(sc.reliability, 90);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_cpu_use_between_two_readings),
	        cmocka_unit_test(test_memory_uses_mem_available),
	        cmocka_unit_test(test_uptime_whole_seconds),
	        cmocka_unit_test(test_bad_and_missing_files_are_errors),
	        cmocka_unit_test(test_real_proc_and_disk),
	        cmocka_unit_test(test_samples_drive_the_performance_score),
	};
	return cmocka_run_group_tests_name("node_sample", tests, NULL, NULL);
}
