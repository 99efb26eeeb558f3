/*
 * test_node_store.c - the node's LMDB store, on real files in a temp dir.
 *
 * A site's identity is its key, so the properties that matter are about
 * restarts: the keypair made at first start is the one read back after a
 * close/reopen, the incarnation written is the one read back, a data dir
 * refuses another name, and two opens of one dir cannot both succeed.
 */
#include "../../node/store.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "shoal/error.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/shoal-store-XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *dir_path(const char *sub)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, sub);
	return path;
}

static void test_create_and_reopen(void **state)
{
	struct node_store st;
	struct node_identity a, b;
	char err[256];
	uint32_t inc = 99;
	(void)state;

	/* Nested missing directories are created. */
	const char *dir = dir_path("one/two/data");
	assert_int_equal(node_store_open(&st, dir, err, sizeof(err)), 0);
	struct stat sb;
	assert_int_equal(stat(dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(node_store_get_incarnation(&st, &inc), SHOAL_E_NOT_FOUND);

	assert_int_equal(node_store_identity(&st, "site-a", &a, NULL), 0);
	assert_true(a.created);
	assert_int_equal(a.incarnation, 0);
	/* The pair is a real Ed25519 pair: sign with sk, verify with pk. */
	uint8_t sig[64];
	const uint8_t msg[] = "alive";
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), a.sk);
	assert_int_equal(crypto_sign_verify_detached(sig, msg, sizeof(msg), a.pk), 0);

	/* Asking again in the same session returns the same pair. */
	assert_int_equal(node_store_identity(&st, "site-a", &b, NULL), 0);
	assert_false(b.created);
	assert_memory_equal(a.pk, b.pk, 32);
	assert_memory_equal(a.sk, b.sk, 64);
	node_store_close(&st);

	/* After a close and reopen: same keypair, incarnation persisted. */
	assert_int_equal(node_store_open(&st, dir, err, sizeof(err)), 0);
	assert_int_equal(node_store_identity(&st, "site-a", &b, NULL), 0);
	assert_false(b.created);
	assert_memory_equal(a.pk, b.pk, 32);
	assert_memory_equal(a.sk, b.sk, 64);
	assert_int_equal(node_store_set_incarnation(&st, 7), 0);
	node_store_close(&st);

	assert_int_equal(node_store_open(&st, dir, err, sizeof(err)), 0);
	assert_int_equal(node_store_get_incarnation(&st, &inc), 0);
	assert_int_equal(inc, 7);
	assert_int_equal(node_store_identity(&st, "site-a", &b, NULL), 0);
	assert_int_equal(b.incarnation, 7);
	assert_memory_equal(a.pk, b.pk, 32);
	/* The largest incarnation round-trips (4 bytes, big-endian). */
	assert_int_equal(node_store_set_incarnation(&st, UINT32_MAX), 0);
	assert_int_equal(node_store_get_incarnation(&st, &inc), 0);
	assert_true(inc == UINT32_MAX);
	node_store_close(&st);

	node_identity_wipe(&a);
	node_identity_wipe(&b);
	static const uint8_t zero[64];
	assert_memory_equal(a.sk, zero, 64);
}

static void test_other_name_refused(void **state)
{
	struct node_store st;
	struct node_identity id;
	char err[256], stored[SWIM_NAME_MAX + 1] = "";
	(void)state;
	const char *dir = dir_path("named");
	assert_int_equal(node_store_open(&st, dir, err, sizeof(err)), 0);
	assert_int_equal(node_store_identity(&st, "first", &id, NULL), 0);
	node_store_close(&st);

	assert_int_equal(node_store_open(&st, dir, err, sizeof(err)), 0);
	assert_int_equal(node_store_identity(&st, "second", &id, stored), SHOAL_E_NAME_TAKEN);
	assert_string_equal(stored, "first");
	/* A prefix of the stored name is another name too. */
	assert_int_equal(node_store_identity(&st, "firs", &id, NULL), SHOAL_E_NAME_TAKEN);
	static const uint8_t zero[64];
	assert_memory_equal(id.sk, zero, 64); /* nothing left behind on refusal */
	node_store_close(&st);
}

static void test_distinct_sites_distinct_keys(void **state)
{
	struct node_store s1, s2;
	struct node_identity a, b;
	char err[256];
	(void)state;
	assert_int_equal(node_store_open(&s1, dir_path("k1"), err, sizeof(err)), 0);
	assert_int_equal(node_store_open(&s2, dir_path("k2"), err, sizeof(err)), 0);
	assert_int_equal(node_store_identity(&s1, "x", &a, NULL), 0);
	assert_int_equal(node_store_identity(&s2, "x", &b, NULL), 0);
	assert_true(memcmp(a.pk, b.pk, 32) != 0);
	node_store_close(&s1);
	node_store_close(&s2);
	node_identity_wipe(&a);
	node_identity_wipe(&b);
}

static void test_lock_and_errors(void **state)
{
	struct node_store st, other;
	char err[256] = "";
	(void)state;
	const char *dir = dir_path("locked");
	assert_int_equal(node_store_open(&st, dir, err, sizeof(err)), 0);
	/* A second owner of the same dir is refused (flock is per open file,
	 * so this holds inside one process as well). */
	assert_int_equal(node_store_open(&other, dir, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "in use by another shoald"));
	node_store_close(&st);
	/* Released on close. */
	assert_int_equal(node_store_open(&other, dir, err, sizeof(err)), 0);
	node_store_close(&other);

	/* A data dir path that is a file. */
	char file[128];
	snprintf(file, sizeof(file), "%s/plainfile", tmpdir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(node_store_open(&st, file, err, sizeof(err)), -ENOTDIR);
	assert_non_null(strstr(err, "plainfile"));
	/* Closing twice is harmless. */
	node_store_close(&st);
}

static void test_more_databases(void **state)
{
	struct node_store st;
	char err[256];
	MDB_dbi dbi;
	MDB_txn *txn;
	MDB_val k = {3, "key"}, v = {5, "value"}, got;
	(void)state;
	const char *dir = dir_path("dbs");
	assert_int_equal(node_store_open(&st, dir, err, sizeof(err)), 0);
	assert_int_equal(node_store_db(&st, "intents", &dbi), 0);
	assert_int_equal(mdb_txn_begin(st.env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	node_store_close(&st);

	assert_int_equal(node_store_open(&st, dir, err, sizeof(err)), 0);
	assert_int_equal(node_store_db(&st, "intents", &dbi), 0);
	assert_int_equal(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_get(txn, dbi, &k, &got), 0);
	assert_int_equal(got.mv_size, 5);
	assert_memory_equal(got.mv_data, "value", 5);
	mdb_txn_abort(txn);
	node_store_close(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_create_and_reopen),
	        cmocka_unit_test(test_other_name_refused),
	        cmocka_unit_test(test_distinct_sites_distinct_keys),
	        cmocka_unit_test(test_lock_and_errors),
	        cmocka_unit_test(test_more_databases),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
