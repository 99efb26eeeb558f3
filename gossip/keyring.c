/*
 * keyring.c - the cluster keyring: installing, rotating and removing keys,
 * their base64 text form, and the keyring file.
 *
 * Keys live in the fixed array inside struct shoal_keyring, never on the
 * heap, so wiping is one sodium_memzero and nothing is left behind by a
 * realloc. Rotation follows Serf's three steps (install everywhere, use,
 * remove); `use` moves the chosen key to the front and keeps the others in
 * their order, so the previous primary is the first fallback tried.
 *
 * The file holds one key per line, primary first. Load builds a complete
 * ring on the side and replaces the caller's only when every line parsed, so
 * a bad file never leaves a half-loaded ring. A file without a single key is
 * refused: running unsealed is chosen by giving no keyring at all, not by
 * an empty or truncated file. Save goes through a temp file in the same
 * directory, fsync, rename and a directory fsync, so a crash leaves either
 * the old file or the new one.
 */
#include "shoal/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "shoal/error.h"

/* Base64 of a 32-byte key, without the NUL. */
#define KEY_TEXT_LEN 44

/* A keyring file line longer than this is refused (a key is 44 chars;
 * comments may be longer, but not unboundedly). */
#define LINE_MAX_LEN 512

void shoal_keyring_create(struct shoal_keyring *kr)
{
	/* Idempotent and thread-safe; makes every later libsodium call valid
	 * even in a driver that forgot to. It fails only if the system has no
	 * randomness source, which the driver's own sodium_init() reports;
	 * the keyring itself never draws random bytes. */
	int ready = sodium_init();
	(void)ready;
	sodium_memzero(kr, sizeof(*kr));
}

void shoal_keyring_destroy(struct shoal_keyring *kr)
{
	sodium_memzero(kr, sizeof(*kr));
}

int shoal_keyring_find(const struct shoal_keyring *kr, const uint8_t key[SHOAL_KEY_LEN])
{
	for (uint32_t i = 0; i < kr->count && i < SHOAL_KEYRING_MAX; i++)
		if (sodium_memcmp(kr->keys[i], key, SHOAL_KEY_LEN) == 0)
			return (int)i;
	return -1;
}

int shoal_keyring_install(struct shoal_keyring *kr, const uint8_t key[SHOAL_KEY_LEN])
{
	if (shoal_keyring_find(kr, key) >= 0)
		return SHOAL_E_EXISTS;
	if (kr->count >= SHOAL_KEYRING_MAX)
		return SHOAL_E_TOO_BIG;
	memcpy(kr->keys[kr->count], key, SHOAL_KEY_LEN);
	kr->count++;
	return 0;
}

int shoal_keyring_use(struct shoal_keyring *kr, const uint8_t key[SHOAL_KEY_LEN])
{
	int idx = shoal_keyring_find(kr, key);
	if (idx < 0)
		return SHOAL_E_NOT_FOUND;
	if (idx == 0)
		return 0;

	uint8_t tmp[SHOAL_KEY_LEN];
	memcpy(tmp, kr->keys[idx], SHOAL_KEY_LEN);
	memmove(kr->keys[1], kr->keys[0], (size_t)idx * SHOAL_KEY_LEN);
	memcpy(kr->keys[0], tmp, SHOAL_KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return 0;
}

int shoal_keyring_remove(struct shoal_keyring *kr, const uint8_t key[SHOAL_KEY_LEN])
{
	int idx = shoal_keyring_find(kr, key);
	if (idx < 0)
		return SHOAL_E_NOT_FOUND;
	if (idx == 0)
		return SHOAL_E_LAST_KEY;

	uint32_t last = kr->count - 1;
	memmove(kr->keys[idx], kr->keys[idx + 1], (size_t)(last - (uint32_t)idx) * SHOAL_KEY_LEN);
	sodium_memzero(kr->keys[last], SHOAL_KEY_LEN);
	kr->count = last;
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int shoal_key_parse(uint8_t key[SHOAL_KEY_LEN], const char *text)
{
	if (text == NULL)
		return SHOAL_E_MALFORMED;
	size_t len = strlen(text);
	while (len > 0 && is_space(*text)) {
		text++;
		len--;
	}
	while (len > 0 && is_space(text[len - 1]))
		len--;
	if (len != KEY_TEXT_LEN)
		return SHOAL_E_MALFORMED;

	/* Decode on the side: `key` is written only with a whole valid key. */
	uint8_t tmp[SHOAL_KEY_LEN + 1];
	size_t binlen = 0;
	const char *stop = NULL;
	int rc = sodium_base642bin(tmp, sizeof(tmp), text, len, NULL, &binlen, &stop,
	                           sodium_base64_VARIANT_ORIGINAL);
	if (rc != 0 || binlen != SHOAL_KEY_LEN || stop != text + len) {
		sodium_memzero(tmp, sizeof(tmp));
		return SHOAL_E_MALFORMED;
	}
	memcpy(key, tmp, SHOAL_KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return 0;
}

void shoal_key_format(const uint8_t key[SHOAL_KEY_LEN], char out[45])
{
	sodium_bin2base64(out, KEY_TEXT_LEN + 1, key, SHOAL_KEY_LEN,
	                  sodium_base64_VARIANT_ORIGINAL);
}

static void set_err(char *err, size_t errcap, unsigned line, const char *why)
{
	if (err == NULL || errcap == 0)
		return;
	if (line > 0)
		snprintf(err, errcap, "line %u: %s", line, why);
	else
		snprintf(err, errcap, "%s", why);
}

/* Parse one line (NUL-terminated, newline already removed) into `kr`. */
static int load_line(struct shoal_keyring *kr, const char *line, unsigned lineno, char *err,
                     size_t errcap)
{
	const char *p = line;
	while (is_space(*p))
		p++;
	if (*p == '\0' || *p == '#')
		return 0;

	uint8_t key[SHOAL_KEY_LEN];
	int rc = shoal_key_parse(key, p);
	if (rc == 0) {
		rc = shoal_keyring_install(kr, key);
		if (rc == SHOAL_E_EXISTS)
			set_err(err, errcap, lineno, "duplicate key");
		else if (rc == SHOAL_E_TOO_BIG)
			set_err(err, errcap, lineno, "too many keys (at most 8)");
	} else {
		set_err(err, errcap, lineno, "not a base64-encoded 32-byte key");
	}
	sodium_memzero(key, sizeof(key));
	return rc == 0 ? 0 : SHOAL_E_CONFIG;
}

int shoal_keyring_load(struct shoal_keyring *kr, const char *path, char *err, size_t errcap)
{
	char line[LINE_MAX_LEN + 2]; /* the text, a newline, the NUL */
	struct shoal_keyring next;
	unsigned lineno = 0;
	int rc = 0;

	if (err != NULL && errcap > 0)
		err[0] = '\0';
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		rc = -errno;
		set_err(err, errcap, 0, strerror(errno));
		return rc;
	}
	shoal_keyring_create(&next);
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		size_t n = strlen(line);
		bool complete = n > 0 && line[n - 1] == '\n';
		if (!complete && !feof(f)) {
			set_err(err, errcap, lineno, "line too long");
			rc = SHOAL_E_CONFIG;
			break;
		}
		if (complete)
			line[n - 1] = '\0';
		if ((rc = load_line(&next, line, lineno, err, errcap)) < 0)
			break;
	}
	if (rc == 0 && ferror(f)) {
		rc = -EIO;
		set_err(err, errcap, 0, "read error");
	}
	fclose(f);
	if (rc == 0 && next.count == 0) {
		set_err(err, errcap, 0, "no keys in file");
		rc = SHOAL_E_CONFIG;
	}
	if (rc == 0)
		memcpy(kr, &next, sizeof(next));
	sodium_memzero(&next, sizeof(next));
	sodium_memzero(line, sizeof(line));
	return rc;
}

/* write(2) until everything is out or a real error happens. */
static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Make a rename inside `path`'s directory durable. */
static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (slash == NULL) {
		dir[0] = '.';
		dir[1] = '\0';
	} else if (slash == path) {
		dir[0] = '/';
		dir[1] = '\0';
	} else {
		size_t n = (size_t)(slash - path);
		if (n >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) == 0 ? 0 : -errno;
	close(fd);
	return rc;
}

int shoal_keyring_save(const struct shoal_keyring *kr, const char *path)
{
	static const char header[] = "# shoal cluster keyring: one base64 key per line, "
	                             "primary first\n";
	char tmp[PATH_MAX];
	char text[KEY_TEXT_LEN + 2];
	int rc = 0;

	/* An empty file would not load back (see the top of this file). */
	if (kr->count == 0)
		return SHOAL_E_STATE;
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = mkstemp(tmp); /* created with mode 0600 */
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600) != 0)
		rc = -errno;
	if (rc == 0)
		rc = write_all(fd, header, sizeof(header) - 1);
	for (uint32_t i = 0; rc == 0 && i < kr->count && i < SHOAL_KEYRING_MAX; i++) {
		shoal_key_format(kr->keys[i], text);
		text[KEY_TEXT_LEN] = '\n';
		rc = write_all(fd, text, KEY_TEXT_LEN + 1);
	}
	sodium_memzero(text, sizeof(text));
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	return fsync_dir_of(path);
}
