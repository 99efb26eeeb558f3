/*
 * ctl_keys.c - operator key files for shoalctl (ctl_intent.h).
 *
 * The secret file holds the 32-byte seed, not libsodium's 64-byte secret
 * key: the seed is the whole secret, and a shorter line is easier to copy
 * into a vault. The file is created with O_EXCL and mode 0600 so keygen
 * never clobbers a key and never leaves one readable by others, even for
 * an instant.
 */
#include "ctl_intent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#define KEY_B64_LEN  sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)
#define KEY_FILE_MAX 512

static int write_file(const char *path, const char *text, mode_t mode, char *err, size_t errcap)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return -1;
	}
	size_t len = strlen(text);
	ssize_t w = write(fd, text, len);
	int rc = (w == (ssize_t)len && fsync(fd) == 0) ? 0 : -1;
	if (close(fd) != 0 || rc != 0) {
		snprintf(err, errcap, "%s: write failed", path);
		return -1;
	}
	return 0;
}

int ctl_key_generate(const char *base, char *err, size_t errcap)
{
	uint8_t seed[32], pk[32], sk[64];
	char line[KEY_B64_LEN + 1], path[4096];
	int rc = -1;

	if (sodium_init() < 0) {
		snprintf(err, errcap, "libsodium failed to initialise");
		return -1;
	}
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_bin2base64(line, sizeof(line), seed, 32, sodium_base64_VARIANT_ORIGINAL);
	line[strlen(line) + 1] = '\0';
	line[strlen(line)] = '\n';
	if (snprintf(path, sizeof(path), "%s.key", base) < (int)sizeof(path) &&
	    write_file(path, line, 0600, err, errcap) == 0) {
		sodium_bin2base64(line, sizeof(line), pk, 32, sodium_base64_VARIANT_ORIGINAL);
		line[strlen(line) + 1] = '\0';
		line[strlen(line)] = '\n';
		if (snprintf(path, sizeof(path), "%s.pub", base) < (int)sizeof(path) &&
		    write_file(path, line, 0644, err, errcap) == 0)
			rc = 0;
	}
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(line, sizeof(line));
	return rc;
}

/* The first line of a small file, trimmed. */
static int read_line(const char *path, char *out, size_t cap, char *err, size_t errcap)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return -1;
	}
	size_t n = fread(out, 1, cap - 1, f);
	fclose(f);
	out[n] = '\0';
	char *nl = strpbrk(out, "\r\n");
	if (nl != NULL)
		*nl = '\0';
	size_t len = strlen(out);
	while (len > 0 && (out[len - 1] == ' ' || out[len - 1] == '\t'))
		out[--len] = '\0';
	return 0;
}

int ctl_key_load_secret(const char *path, uint8_t pk[32], uint8_t sk[64], char *err, size_t errcap)
{
	char text[KEY_FILE_MAX];
	uint8_t seed[32];
	int rc = -1;
	if (read_line(path, text, sizeof(text), err, errcap) != 0)
		return -1;
	if (intent_parse_pubkey(text, strlen(text), seed) == 0) {
		crypto_sign_seed_keypair(pk, sk, seed);
		rc = 0;
	} else {
		snprintf(err, errcap, "%s: not a key file (base64 of a 32-byte seed)", path);
	}
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(text, sizeof(text));
	return rc;
}

int ctl_key_load_public(const char *path_or_text, uint8_t pk[32], char *err, size_t errcap)
{
	char text[KEY_FILE_MAX];
	if (intent_parse_pubkey(path_or_text, strlen(path_or_text), pk) == 0)
		return 0;
	if (read_line(path_or_text, text, sizeof(text), err, errcap) != 0)
		return -1;
	if (intent_parse_pubkey(text, strlen(text), pk) != 0) {
		snprintf(err, errcap, "%s: not a public key (base64 or hex of 32 bytes)",
		         path_or_text);
		return -1;
	}
	return 0;
}
