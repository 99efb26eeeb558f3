/*
 * replay_main.c - run a libFuzzer target over saved inputs without libFuzzer.
 *
 * Linked with a fuzz_<name>.c by the normal compiler and the sanitizer flags
 * of the test build, so `make test` replays every corpus on every run and a
 * regression input kept in tests/fuzz/corpus/<name>/ stays fixed. Arguments
 * are directories (every regular file inside, in name order) or files.
 * Exits 0 when every input ran; a crash or sanitizer report ends the
 * process; an unreadable argument or a corpus with no inputs exits 1, so an
 * empty replay cannot pass for a good one.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target, as in libFuzzer. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* libFuzzer's default -max_len is far below this; anything larger is not
 * a corpus file. */
#define REPLAY_MAX_BYTES (16u << 20)

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (f == NULL || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	if (st.st_size < 0 || (uintmax_t)st.st_size > REPLAY_MAX_BYTES) {
		fprintf(stderr, "replay: %s: larger than %u bytes\n", path, REPLAY_MAX_BYTES);
		fclose(f);
		return -1;
	}
	size_t size = (size_t)st.st_size;
	/* an exact-size heap copy, so ASan sees any read past the input */
	uint8_t *data = malloc(size > 0 ? size : 1);
	if (data == NULL || fread(data, 1, size, f) != size) {
		fprintf(stderr, "replay: %s: read failed\n", path);
		free(data);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	return 0;
}

static int keep_entry(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* Returns the number of inputs run, or -1. */
static long run_dir(const char *dir)
{
	struct dirent **names;
	long ran = 0;
	int n = scandir(dir, &names, keep_entry, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		int len = snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (len > 0 && (size_t)len < sizeof(path) && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode)) {
			if (run_file(path) < 0)
				ran = -1;
			else if (ran >= 0)
				ran++;
		}
		free(names[i]);
	}
	free(names);
	return ran;
}

int main(int argc, char **argv)
{
	struct stat st;
	int status = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		long ran;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			status = 1;
			continue;
		}
		ran = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : (run_file(argv[i]) == 0 ? 1 : -1);
		if (ran <= 0) {
			if (ran == 0)
				fprintf(stderr, "replay: %s: no inputs\n", argv[i]);
			status = 1;
			continue;
		}
		printf("replay: %s: %ld inputs ok\n", argv[i], ran);
	}
	return status;
}
