/*
 * test_fuzz_corpora.c - replay every fuzz corpus under the test build.
 *
 * `make fuzz` needs clang and minutes; this suite needs neither. For each
 * libFuzzer target tests/fuzz/fuzz_<name>.c it runs
 * $SHOAL_BIN/fuzz-replay/<name> (the target linked with replay_main.c by
 * tests/fuzz/fuzz.mk, with ASan and UBSan) over tests/fuzz/corpus/<name>/
 * and expects exit status 0, so an input that once crashed a decoder and
 * was kept in a corpus keeps being tried on every `make test`.
 *
 * Targets are found by listing tests/fuzz/fuzz_*.c (relative to $SHOAL_SRC,
 * else the working directory, which is the repository root under `make
 * test`), so a new target is covered without touching this file; that is
 * why the test table is built at run time. Without SHOAL_BIN every test is
 * skipped with a message.
 */
#include <errno.h>
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* Upper bound on targets; far above what the repository holds. */
#define MAX_TARGETS 64

/* One replay: a target's name and the test's display name. */
struct replay {
	char name[64];  /* the <name> in fuzz_<name>.c */
	char label[80]; /* "replay_<name>" as cmocka prints it */
};

static const char *source_root(void)
{
	const char *src = getenv("SHOAL_SRC");
	return src != NULL && src[0] != '\0' ? src : ".";
}

static void test_replay(void **state)
{
	const struct replay *r = *state;
	const char *bin = getenv("SHOAL_BIN");
	char exe[4096], corpus[4096];
	struct stat st;

	if (bin == NULL || bin[0] == '\0') {
		print_message("SHOAL_BIN is not set (tests/run.py sets it); skipping %s\n",
		              r->name);
		skip();
	}
	snprintf(exe, sizeof(exe), "%s/fuzz-replay/%s", bin, r->name);
	snprintf(corpus, sizeof(corpus), "%s/tests/fuzz/corpus/%s", source_root(), r->name);
	if (access(exe, X_OK) != 0)
		fail_msg("%s: %s (built by `make unit-bins`)", exe, strerror(errno));
	if (stat(corpus, &st) != 0 || !S_ISDIR(st.st_mode))
		fail_msg("%s: no corpus directory for fuzz target %s", corpus, r->name);

	fflush(stdout);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = {exe, corpus, NULL};
		execv(exe, argv);
		_exit(127);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("%s killed by signal %d", exe, WTERMSIG(status));
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("%s %s exited %d", exe, corpus, WEXITSTATUS(status));
}

static void test_no_targets_found(void **state)
{
	(void)state;
	fail_msg("no tests/fuzz/fuzz_*.c under %s (set SHOAL_SRC to the repository root)",
	         source_root());
}

int main(void)
{
	static struct replay replays[MAX_TARGETS];
	static struct CMUnitTest tests[MAX_TARGETS];
	char pattern[4096];
	glob_t g;
	size_t n = 0;

	snprintf(pattern, sizeof(pattern), "%s/tests/fuzz/fuzz_*.c", source_root());
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc && n < MAX_TARGETS; i++) {
			const char *base = strrchr(g.gl_pathv[i], '/');
			base = base != NULL ? base + 1 : g.gl_pathv[i];
			size_t len = strlen(base);
			/* "fuzz_" + name + ".c" */
			if (len <= 7 || len - 7 >= sizeof(replays[n].name))
				continue;
			memcpy(replays[n].name, base + 5, len - 7);
			replays[n].name[len - 7] = '\0';
			snprintf(replays[n].label, sizeof(replays[n].label), "replay_%.*s",
			         (int)(len - 7), base + 5);
			tests[n] = (struct CMUnitTest){.name = replays[n].label,
			                               .test_func = test_replay,
			                               .initial_state = &replays[n]};
			n++;
		}
		globfree(&g);
	}
	if (n == 0) {
		tests[0] = (struct CMUnitTest){.name = "find_fuzz_targets",
		                               .test_func = test_no_targets_found};
		n = 1;
	}
	/* cmocka_run_group_tests() sizes a fixed array; this table is built at
	 * run time, so call the function behind that macro with the count. */
	return _cmocka_run_group_tests("fuzz_corpora", tests, n, NULL, NULL);
}
