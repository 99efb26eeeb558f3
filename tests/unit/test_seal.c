/*
 * test_seal.c - packet sealing, the keyring and its file.
 *
 * A tiny env supplies a deterministic CSPRNG stand-in so nonces are known
 * and every run seals the same bytes. Tampering is tried at every byte of a
 * sealed packet, so each region (version, nonce, ciphertext, tag) is covered.
 */
#include "shoal/seal.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "shoal/error.h"

/* The test env's state: a counter turned into bytes by splitmix64. */
struct test_rng {
	uint64_t state; /* advanced by every draw */
	size_t drawn;   /* bytes handed out so far */
};

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void test_random_bytes(void *ctx, uint8_t *buf, size_t len)
{
	struct test_rng *r = ctx;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)splitmix(&r->state);
	r->drawn += len;
}

static struct test_rng rng;
static struct shoal_env env = {.ctx = &rng, .random_bytes = test_random_bytes};

static void make_key(uint8_t key[SHOAL_KEY_LEN], uint8_t seed)
{
	for (int i = 0; i < SHOAL_KEY_LEN; i++)
		key[i] = (uint8_t)(seed * 31 + i);
}

static const char msg[] = "membership: site-a alive, incarnation 7";
#define MSG_LEN (sizeof(msg) - 1)

/* Seal msg under kr into out (at least MSG_LEN + overhead bytes). */
static size_t seal_msg(const struct shoal_keyring *kr, uint8_t *out, size_t cap)
{
	size_t n = 0;
	assert_int_equal(shoal_seal(kr, &env, (const uint8_t *)msg, MSG_LEN, out, cap, &n), 0);
	return n;
}

static void expect_opens(const struct shoal_keyring *kr, const uint8_t *in, size_t len)
{
	uint8_t out[256];
	size_t n = 0;
	assert_int_equal(shoal_open(kr, in, len, out, sizeof(out), &n), 0);
	assert_int_equal(n, MSG_LEN);
	assert_memory_equal(out, msg, MSG_LEN);
}

static void expect_refused(const struct shoal_keyring *kr, const uint8_t *in, size_t len, int code)
{
	uint8_t out[256];
	size_t n = 777;
	assert_int_equal(shoal_open(kr, in, len, out, sizeof(out), &n), code);
	assert_int_equal(n, 777);
}

static void ring_of(struct shoal_keyring *kr, const uint8_t *seeds, size_t n)
{
	uint8_t key[SHOAL_KEY_LEN];
	shoal_keyring_create(kr);
	for (size_t i = 0; i < n; i++) {
		make_key(key, seeds[i]);
		assert_int_equal(shoal_keyring_install(kr, key), 0);
	}
}

/* ---- sealing ------------------------------------------------------------ */

static void test_roundtrip(void **state)
{
	(void)state;
	struct shoal_keyring kr;
	uint8_t a[128], b[128], nonce[24];
	struct test_rng before = rng;

	ring_of(&kr, (const uint8_t[]){1}, 1);
	size_t n = seal_msg(&kr, a, sizeof(a));
	assert_int_equal(n, MSG_LEN + SHOAL_SEAL_OVERHEAD);
	assert_int_equal(a[0], SHOAL_SEAL_VERSION);
	/* the nonce is exactly what the env's CSPRNG produced */
	test_random_bytes(&before, nonce, sizeof(nonce));
	assert_memory_equal(a + 1, nonce, sizeof(nonce));
	/* the plaintext does not appear in the clear */
	for (size_t i = 0; i + 6 <= n; i++)
		assert_memory_not_equal(a + i, "site-a", 6);
	expect_opens(&kr, a, n);

	/* a second seal draws a new nonce, so the bytes differ */
	size_t n2 = seal_msg(&kr, b, sizeof(b));
	assert_int_equal(n2, n);
	assert_memory_not_equal(a + 1, b + 1, n - 1);
	expect_opens(&kr, b, n2);

	/* empty payload */
	size_t m = 0;
	uint8_t out[8];
	assert_int_equal(shoal_seal(&kr, &env, NULL, 0, a, sizeof(a), &m), 0);
	assert_int_equal(m, SHOAL_SEAL_OVERHEAD);
	size_t got = 99;
	assert_int_equal(shoal_open(&kr, a, m, out, sizeof(out), &got), 0);
	assert_int_equal(got, 0);
	shoal_keyring_destroy(&kr);
}

static void test_tamper_every_byte(void **state)
{
	(void)state;
	struct shoal_keyring kr;
	uint8_t sealed[128], copy[128];

	ring_of(&kr, (const uint8_t[]){2, 3}, 2);
	size_t n = seal_msg(&kr, sealed, sizeof(sealed));
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			memcpy(copy, sealed, n);
			copy[i] ^= (uint8_t)(1u << bit);
			/* byte 0 is the version: any change makes it unknown (or
			 * plain, refused while keys are installed); the nonce
			 * (1..24), ciphertext and tag (last 16) fail the AEAD */
			expect_refused(&kr, copy, n, i == 0 ? SHOAL_E_VERSION : SHOAL_E_AUTH);
		}
	}
	/* version 0 (plain) and 2 (future) explicitly */
	memcpy(copy, sealed, n);
	copy[0] = 0;
	expect_refused(&kr, copy, n, SHOAL_E_VERSION);
	copy[0] = 2;
	expect_refused(&kr, copy, n, SHOAL_E_VERSION);
	copy[0] = 0xff;
	expect_refused(&kr, copy, n, SHOAL_E_VERSION);
	/* an extra trailing byte breaks the tag too */
	memcpy(copy, sealed, n);
	copy[n] = 0;
	expect_refused(&kr, copy, n + 1, SHOAL_E_AUTH);
	/* the untouched original still opens */
	expect_opens(&kr, sealed, n);
	shoal_keyring_destroy(&kr);
}

static void test_truncated(void **state)
{
	(void)state;
	struct shoal_keyring kr;
	uint8_t sealed[128];

	ring_of(&kr, (const uint8_t[]){4}, 1);
	size_t n = seal_msg(&kr, sealed, sizeof(sealed));
	expect_refused(&kr, sealed, 0, SHOAL_E_TRUNCATED);
	for (size_t len = 1; len < SHOAL_SEAL_OVERHEAD; len++)
		expect_refused(&kr, sealed, len, SHOAL_E_TRUNCATED);
	/* long enough to hold the overhead, but the tag no longer matches */
	for (size_t len = SHOAL_SEAL_OVERHEAD; len < n; len++)
		expect_refused(&kr, sealed, len, SHOAL_E_AUTH);
	shoal_keyring_destroy(&kr);
}

static void test_capacity(void **state)
{
	(void)state;
	struct shoal_keyring kr;
	uint8_t sealed[128], out[128];
	size_t n = 5;

	ring_of(&kr, (const uint8_t[]){5}, 1);
	assert_int_equal(shoal_seal(&kr, &env, (const uint8_t *)msg, MSG_LEN, sealed,
	                            MSG_LEN + SHOAL_SEAL_OVERHEAD - 1, &n),
	                 SHOAL_E_TOO_BIG);
	assert_int_equal(n, 5);
	n = seal_msg(&kr, sealed, MSG_LEN + SHOAL_SEAL_OVERHEAD);
	size_t m = 5;
	assert_int_equal(shoal_open(&kr, sealed, n, out, MSG_LEN - 1, &m), SHOAL_E_TOO_BIG);
	assert_int_equal(m, 5);
	assert_int_equal(shoal_open(&kr, sealed, n, out, MSG_LEN, &m), 0);
	assert_int_equal(m, MSG_LEN);
	shoal_keyring_destroy(&kr);
}

static void test_secondary_key_opens(void **state)
{
	(void)state;
	struct shoal_keyring sender, receiver, stranger;
	uint8_t sealed[128];

	ring_of(&sender, (const uint8_t[]){10}, 1);
	ring_of(&receiver, (const uint8_t[]){11, 12, 10}, 3); /* 10 is third */
	ring_of(&stranger, (const uint8_t[]){11, 12}, 2);
	size_t n = seal_msg(&sender, sealed, sizeof(sealed));
	expect_opens(&receiver, sealed, n);
	expect_refused(&stranger, sealed, n, SHOAL_E_AUTH);
	shoal_keyring_destroy(&sender);
	shoal_keyring_destroy(&receiver);
	shoal_keyring_destroy(&stranger);
}

static void test_use_switches_primary(void **state)
{
	(void)state;
	struct shoal_keyring kr, only_old, only_new;
	uint8_t k20[SHOAL_KEY_LEN], k21[SHOAL_KEY_LEN], k22[SHOAL_KEY_LEN], absent[SHOAL_KEY_LEN];
	uint8_t sealed[128];

	make_key(k20, 20);
	make_key(k21, 21);
	make_key(k22, 22);
	make_key(absent, 99);
	ring_of(&kr, (const uint8_t[]){20, 21, 22}, 3);
	ring_of(&only_old, (const uint8_t[]){20}, 1);
	ring_of(&only_new, (const uint8_t[]){22}, 1);

	assert_int_equal(shoal_keyring_use(&kr, absent), SHOAL_E_NOT_FOUND);
	assert_int_equal(shoal_keyring_use(&kr, k20), 0); /* already primary */
	assert_int_equal(shoal_keyring_find(&kr, k20), 0);

	assert_int_equal(shoal_keyring_use(&kr, k22), 0);
	assert_int_equal(kr.count, 3);
	/* new primary first, the others keep their order behind it */
	assert_memory_equal(kr.keys[0], k22, SHOAL_KEY_LEN);
	assert_memory_equal(kr.keys[1], k20, SHOAL_KEY_LEN);
	assert_memory_equal(kr.keys[2], k21, SHOAL_KEY_LEN);

	size_t n = seal_msg(&kr, sealed, sizeof(sealed));
	expect_opens(&only_new, sealed, n);
	expect_refused(&only_old, sealed, n, SHOAL_E_AUTH);
	shoal_keyring_destroy(&kr);
	shoal_keyring_destroy(&only_old);
	shoal_keyring_destroy(&only_new);
}

static void test_remove(void **state)
{
	(void)state;
	struct shoal_keyring kr;
	uint8_t k[4][SHOAL_KEY_LEN], absent[SHOAL_KEY_LEN];
	static const uint8_t zero[SHOAL_KEY_LEN];

	for (int i = 0; i < 4; i++)
		make_key(k[i], (uint8_t)(30 + i));
	make_key(absent, 98);
	ring_of(&kr, (const uint8_t[]){30, 31, 32, 33}, 4);

	assert_int_equal(shoal_keyring_remove(&kr, k[0]), SHOAL_E_LAST_KEY);
	assert_int_equal(shoal_keyring_remove(&kr, absent), SHOAL_E_NOT_FOUND);
	assert_int_equal(kr.count, 4);

	assert_int_equal(shoal_keyring_remove(&kr, k[1]), 0);
	assert_int_equal(kr.count, 3);
	assert_int_equal(shoal_keyring_find(&kr, k[1]), -1);
	assert_memory_equal(kr.keys[0], k[0], SHOAL_KEY_LEN);
	assert_memory_equal(kr.keys[1], k[2], SHOAL_KEY_LEN);
	assert_memory_equal(kr.keys[2], k[3], SHOAL_KEY_LEN);
	assert_memory_equal(kr.keys[3], zero, SHOAL_KEY_LEN); /* freed slot wiped */
	assert_int_equal(shoal_keyring_remove(&kr, k[1]), SHOAL_E_NOT_FOUND);

	assert_int_equal(shoal_keyring_remove(&kr, k[3]), 0);
	assert_int_equal(shoal_keyring_remove(&kr, k[2]), 0);
	assert_int_equal(kr.count, 1);
	/* the last key is the primary: refused */
	assert_int_equal(shoal_keyring_remove(&kr, k[0]), SHOAL_E_LAST_KEY);
	assert_int_equal(kr.count, 1);

	shoal_keyring_destroy(&kr);
	struct shoal_keyring wiped;
	memset(&wiped, 0, sizeof(wiped));
	assert_memory_equal(&kr, &wiped, sizeof(kr));
}

static void test_ring_full_and_duplicates(void **state)
{
	(void)state;
	struct shoal_keyring kr;
	uint8_t key[SHOAL_KEY_LEN];

	shoal_keyring_create(&kr);
	assert_int_equal(kr.count, 0);
	for (int i = 0; i < SHOAL_KEYRING_MAX; i++) {
		make_key(key, (uint8_t)(40 + i));
		assert_int_equal(shoal_keyring_install(&kr, key), 0);
		assert_int_equal(shoal_keyring_find(&kr, key), i);
		/* installing twice is reported, not duplicated */
		assert_int_equal(shoal_keyring_install(&kr, key), SHOAL_E_EXISTS);
	}
	assert_int_equal(kr.count, SHOAL_KEYRING_MAX);
	make_key(key, 40);
	assert_int_equal(shoal_keyring_find(&kr, key), 0); /* the first installed is primary */
	make_key(key, 90);
	assert_int_equal(shoal_keyring_install(&kr, key), SHOAL_E_TOO_BIG);
	assert_int_equal(kr.count, SHOAL_KEYRING_MAX);
	assert_int_equal(shoal_keyring_find(&kr, key), -1);
	shoal_keyring_destroy(&kr);
}

static void test_unsealed_mode(void **state)
{
	(void)state;
	struct shoal_keyring none, keyed;
	uint8_t out[128], back[128];
	size_t n = 0, m = 0;
	struct test_rng before = rng;

	shoal_keyring_create(&none);
	ring_of(&keyed, (const uint8_t[]){50}, 1);

	/* no env needed and no randomness drawn without keys */
	assert_int_equal(
	        shoal_seal(&none, NULL, (const uint8_t *)msg, MSG_LEN, out, sizeof(out), &n), 0);
	assert_int_equal(rng.drawn, before.drawn);
	assert_int_equal(n, MSG_LEN + 1);
	assert_int_equal(out[0], 0);
	assert_memory_equal(out + 1, msg, MSG_LEN);
	assert_int_equal(shoal_open(&none, out, n, back, sizeof(back), &m), 0);
	assert_int_equal(m, MSG_LEN);
	assert_memory_equal(back, msg, MSG_LEN);
	/* the version byte alone is an empty message */
	assert_int_equal(shoal_open(&none, out, 1, back, sizeof(back), &m), 0);
	assert_int_equal(m, 0);
	/* a keyed node refuses plain packets */
	expect_refused(&keyed, out, n, SHOAL_E_VERSION);
	/* an unkeyed node cannot open sealed ones */
	size_t s = seal_msg(&keyed, out, sizeof(out));
	expect_refused(&none, out, s, SHOAL_E_AUTH);
	/* unknown versions are unknown in both modes */
	out[0] = 7;
	expect_refused(&none, out, s, SHOAL_E_VERSION);
	expect_refused(&none, out, 0, SHOAL_E_TRUNCATED);
	/* capacity still applies */
	assert_int_equal(shoal_seal(&none, NULL, (const uint8_t *)msg, MSG_LEN, out, MSG_LEN, &n),
	                 SHOAL_E_TOO_BIG);
	out[0] = 0;
	assert_int_equal(shoal_open(&none, out, 10, back, 8, &m), SHOAL_E_TOO_BIG);
	shoal_keyring_destroy(&keyed);
	shoal_keyring_destroy(&none);
}

/* ---- key text ----------------------------------------------------------- */

static void test_key_text(void **state)
{
	(void)state;
	uint8_t key[SHOAL_KEY_LEN], back[SHOAL_KEY_LEN], orig[SHOAL_KEY_LEN];
	char text[45], padded[80];

	make_key(key, 60);
	shoal_key_format(key, text);
	assert_int_equal(strlen(text), 44);
	assert_int_equal(text[43], '=');
	assert_int_equal(shoal_key_parse(back, text), 0);
	assert_memory_equal(back, key, SHOAL_KEY_LEN);

	/* surrounding whitespace is ignored */
	snprintf(padded, sizeof(padded), " \t%s\r\n", text);
	memset(back, 0, sizeof(back));
	assert_int_equal(shoal_key_parse(back, padded), 0);
	assert_memory_equal(back, key, SHOAL_KEY_LEN);

	/* a failed parse leaves the output alone */
	memcpy(orig, back, sizeof(orig));
	/* whitespace inside */
	snprintf(padded, sizeof(padded), "%.20s %s", text, text + 20);
	assert_int_equal(shoal_key_parse(back, padded), SHOAL_E_MALFORMED);
	/* bad characters: url-safe alphabet, punctuation */
	memcpy(padded, text, 45);
	padded[5] = '-';
	assert_int_equal(shoal_key_parse(back, padded), SHOAL_E_MALFORMED);
	padded[5] = '!';
	assert_int_equal(shoal_key_parse(back, padded), SHOAL_E_MALFORMED);
	/* missing padding: 43 characters */
	memcpy(padded, text, 43);
	padded[43] = '\0';
	assert_int_equal(shoal_key_parse(back, padded), SHOAL_E_MALFORMED);
	/* one character too many */
	snprintf(padded, sizeof(padded), "%sA", text);
	assert_int_equal(shoal_key_parse(back, padded), SHOAL_E_MALFORMED);
	/* 44 characters, but 31 or 33 bytes */
	assert_int_equal(shoal_key_parse(back, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="),
	                 SHOAL_E_MALFORMED);
	assert_int_equal(shoal_key_parse(back, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
	                 SHOAL_E_MALFORMED);
	/* a 16-byte key, like Serf's AES-128 keys */
	assert_int_equal(shoal_key_parse(back, "AAAAAAAAAAAAAAAAAAAAAA=="), SHOAL_E_MALFORMED);
	assert_int_equal(shoal_key_parse(back, ""), SHOAL_E_MALFORMED);
	assert_int_equal(shoal_key_parse(back, "   "), SHOAL_E_MALFORMED);
	assert_int_equal(shoal_key_parse(back, NULL), SHOAL_E_MALFORMED);
	assert_memory_equal(back, orig, SHOAL_KEY_LEN);
}

/* ---- keyring file ------------------------------------------------------- */

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/shoal-test-seal-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int remove_tmpdir(void **state)
{
	(void)state;
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char path[512];
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(tmpdir);
}

static int count_dir_entries(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	int n = 0;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void test_file_roundtrip(void **state)
{
	(void)state;
	struct shoal_keyring kr, back;
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/keyring", tmpdir);
	ring_of(&kr, (const uint8_t[]){70, 71, 72}, 3);
	assert_int_equal(shoal_keyring_save(&kr, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(count_dir_entries(), 1); /* no temp file left */

	shoal_keyring_create(&back);
	assert_int_equal(shoal_keyring_load(&back, path, NULL, 0), 0);
	assert_int_equal(back.count, 3);
	assert_memory_equal(back.keys, kr.keys, 3 * SHOAL_KEY_LEN);

	/* saving again replaces the file in place, still 0600 */
	assert_int_equal(chmod(path, 0644), 0);
	uint8_t k73[SHOAL_KEY_LEN];
	make_key(k73, 73);
	assert_int_equal(shoal_keyring_install(&kr, k73), 0);
	assert_int_equal(shoal_keyring_use(&kr, k73), 0);
	assert_int_equal(shoal_keyring_save(&kr, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(count_dir_entries(), 1);
	assert_int_equal(shoal_keyring_load(&back, path, NULL, 0), 0);
	assert_int_equal(back.count, 4);
	assert_memory_equal(back.keys[0], k73, SHOAL_KEY_LEN);
	assert_memory_equal(back.keys, kr.keys, 4 * SHOAL_KEY_LEN);

	/* an empty ring is not saved */
	struct shoal_keyring none;
	shoal_keyring_create(&none);
	assert_int_equal(shoal_keyring_save(&none, path), SHOAL_E_STATE);
	/* a directory that does not exist */
	char bad[160];
	snprintf(bad, sizeof(bad), "%s/missing/keyring", tmpdir);
	assert_int_equal(shoal_keyring_save(&kr, bad), -ENOENT);
	shoal_keyring_destroy(&kr);
	shoal_keyring_destroy(&back);
}

static void test_file_comments_and_bad_lines(void **state)
{
	(void)state;
	struct shoal_keyring kr, good;
	char path[128], text[1200], k[3][45], err[128];
	uint8_t key[SHOAL_KEY_LEN];

	snprintf(path, sizeof(path), "%s/ring.txt", tmpdir);
	for (int i = 0; i < 3; i++) {
		make_key(key, (uint8_t)(80 + i));
		shoal_key_format(key, k[i]);
	}
	/* comments, blank lines, indentation, CRLF and no final newline */
	snprintf(text, sizeof(text), "# cluster keys\n\n  %s\r\n\t# old key below\n%s  \n%s", k[0],
	         k[1], k[2]);
	write_file(path, text);
	shoal_keyring_create(&kr);
	assert_int_equal(shoal_keyring_load(&kr, path, err, sizeof(err)), 0);
	assert_int_equal(kr.count, 3);
	make_key(key, 80);
	assert_int_equal(shoal_keyring_find(&kr, key), 0);
	make_key(key, 82);
	assert_int_equal(shoal_keyring_find(&kr, key), 2);
	memcpy(&good, &kr, sizeof(kr));

	/* each bad file: SHOAL_E_CONFIG naming the line, ring unchanged */
	struct {
		const char *fmt;
		const char *want;
	} cases[] = {
	        {"%s\nnot-a-key\n", "line 2: not a base64"},
	        {"%s\n%s\n", "line 2: duplicate key"},
	        {"# c\n%.43s\n", "line 2: not a base64"},
	        {"%s trailing\n", "line 1: not a base64"},
	        {"", "no keys in file"},
	        {"# only a comment\n\n", "no keys in file"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), cases[i].fmt, k[0], k[0]);
		write_file(path, text);
		err[0] = '\0';
		assert_int_equal(shoal_keyring_load(&kr, path, err, sizeof(err)), SHOAL_E_CONFIG);
		assert_non_null(strstr(err, cases[i].want));
		assert_memory_equal(&kr, &good, sizeof(kr));
	}

	/* nine keys do not fit */
	text[0] = '\0';
	for (int i = 0; i < 9; i++) {
		char line[46];
		make_key(key, (uint8_t)(100 + i));
		shoal_key_format(key, line);
		size_t len = strlen(text);
		snprintf(text + len, sizeof(text) - len, "%s\n", line);
	}
	write_file(path, text);
	assert_int_equal(shoal_keyring_load(&kr, path, err, sizeof(err)), SHOAL_E_CONFIG);
	assert_non_null(strstr(err, "line 9: too many keys"));
	assert_memory_equal(&kr, &good, sizeof(kr));

	/* an overlong line */
	memset(text, '#', 1000);
	text[1000] = '\0';
	write_file(path, text);
	assert_int_equal(shoal_keyring_load(&kr, path, err, sizeof(err)), SHOAL_E_CONFIG);
	assert_non_null(strstr(err, "line 1: line too long"));
	/* a missing file is a system error; a tiny err buffer is truncated */
	snprintf(text, sizeof(text), "%s/absent", tmpdir);
	assert_int_equal(shoal_keyring_load(&kr, text, err, 4), -ENOENT);
	assert_int_equal(strlen(err), 3);
	assert_memory_equal(&kr, &good, sizeof(kr));
	unlink(path);
	shoal_keyring_destroy(&kr);
	shoal_keyring_destroy(&good);
}

static int init_sodium(void **state)
{
	(void)state;
	rng.state = 42;
	return sodium_init() < 0 ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_roundtrip),
	        cmocka_unit_test(test_tamper_every_byte),
	        cmocka_unit_test(test_truncated),
	        cmocka_unit_test(test_capacity),
	        cmocka_unit_test(test_secondary_key_opens),
	        cmocka_unit_test(test_use_switches_primary),
	        cmocka_unit_test(test_remove),
	        cmocka_unit_test(test_ring_full_and_duplicates),
	        cmocka_unit_test(test_unsealed_mode),
	        cmocka_unit_test(test_key_text),
	        cmocka_unit_test_setup_teardown(test_file_roundtrip, make_tmpdir, remove_tmpdir),
	        cmocka_unit_test_setup_teardown(test_file_comments_and_bad_lines, make_tmpdir,
	                                        remove_tmpdir),
	};
	return cmocka_run_group_tests(tests, init_sodium, NULL);
}
