/*
 * store.c - LMDB environment, the data-dir lock, and the "self" database.
 *
 * LMDB lets several processes open one environment, which is right for
 * readers but wrong for two shoald instances claiming the same site, so the
 * directory is also guarded by an flock'd file. The identity is made inside
 * one write transaction: read, and if absent create and commit, so a crash
 * between "generate" and "store" can never leave a half-made site.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "shoal/error.h"

#define SELF_FORMAT 1

static void set_err(char *err, size_t errcap, const char *what, const char *why)
{
	if (err != NULL && errcap > 0)
		snprintf(err, errcap, "%s: %s", what, why);
}

/* mkdir -p with mode 0700 for directories it creates. */
static int make_dirs(const char *dir)
{
	char path[4096];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		char saved = path[i];
		path[i] = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return -errno;
		path[i] = saved;
	}
	struct stat sb;
	if (stat(dir, &sb) != 0)
		return -errno;
	return S_ISDIR(sb.st_mode) ? 0 : -ENOTDIR;
}

int node_store_open(struct node_store *st, const char *dir, char *err, size_t errcap)
{
	char path[4096];
	int rc;

	st->env = NULL;
	st->lock_fd = -1;
	if ((rc = make_dirs(dir)) != 0) {
		set_err(err, errcap, dir, strerror(-rc));
		return rc;
	}
	if (snprintf(path, sizeof(path), "%s/shoald.lock", dir) >= (int)sizeof(path)) {
		set_err(err, errcap, dir, "path too long");
		return -ENAMETOOLONG;
	}
	st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->lock_fd < 0) {
		rc = -errno;
		set_err(err, errcap, path, strerror(errno));
		return rc;
	}
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		set_err(err, errcap, dir,
		        rc == -EBUSY ? "in use by another shoald" : strerror(errno));
		goto fail;
	}

	if ((rc = mdb_env_create(&st->env)) != 0 ||
	    (rc = mdb_env_set_mapsize(st->env, NODE_STORE_MAPSIZE)) != 0 ||
	    (rc = mdb_env_set_maxdbs(st->env, NODE_STORE_MAXDBS)) != 0 ||
	    (rc = mdb_env_open(st->env, dir, 0, 0600)) != 0) {
		set_err(err, errcap, dir, mdb_strerror(rc));
		rc = SHOAL_E_STORE;
		goto fail;
	}
	if ((rc = node_store_db(st, "self", &st->self)) != 0) {
		set_err(err, errcap, dir, "cannot open the self database");
		goto fail;
	}
	return 0;
fail:
	node_store_close(st);
	return rc;
}

void node_store_close(struct node_store *st)
{
	if (st->env != NULL)
		mdb_env_close(st->env);
	st->env = NULL;
	if (st->lock_fd >= 0)
		close(st->lock_fd); /* releases the flock */
	st->lock_fd = -1;
}

int node_store_db(struct node_store *st, const char *name, MDB_dbi *out)
{
	MDB_txn *txn;
	if (mdb_txn_begin(st->env, NULL, 0, &txn) != 0)
		return SHOAL_E_STORE;
	if (mdb_dbi_open(txn, name, MDB_CREATE, out) != 0) {
		mdb_txn_abort(txn);
		return SHOAL_E_STORE;
	}
	return mdb_txn_commit(txn) == 0 ? 0 : SHOAL_E_STORE;
}

static int get(MDB_txn *txn, MDB_dbi dbi, const char *key, MDB_val *val)
{
	MDB_val k = {strlen(key), (void *)key};
	int rc = mdb_get(txn, dbi, &k, val);
	if (rc == MDB_NOTFOUND)
		return SHOAL_E_NOT_FOUND;
	return rc == 0 ? 0 : SHOAL_E_STORE;
}

static int put(MDB_txn *txn, MDB_dbi dbi, const char *key, const void *data, size_t len)
{
	MDB_val k = {strlen(key), (void *)key};
	MDB_val v = {len, (void *)data};
	return mdb_put(txn, dbi, &k, &v, 0) == 0 ? 0 : SHOAL_E_STORE;
}

static uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Read an existing identity inside txn; SHOAL_E_NOT_FOUND if "self" is empty. */
static int read_identity(struct node_store *st, MDB_txn *txn, const char *name,
                         struct node_identity *id, char *stored)
{
	MDB_val v;
	int rc = get(txn, st->self, "name", &v);
	if (rc != 0)
		return rc;
	if (v.mv_size == 0 || v.mv_size > SWIM_NAME_MAX)
		return SHOAL_E_STORE;
	if (v.mv_size != strlen(name) || memcmp(v.mv_data, name, v.mv_size) != 0) {
		if (stored != NULL) {
			memcpy(stored, v.mv_data, v.mv_size);
			stored[v.mv_size] = '\0';
		}
		return SHOAL_E_NAME_TAKEN;
	}
	if (get(txn, st->self, "format", &v) != 0 || v.mv_size != 1 ||
	    *(const uint8_t *)v.mv_data != SELF_FORMAT)
		return SHOAL_E_VERSION;
	if (get(txn, st->self, "public_key", &v) != 0 || v.mv_size != sizeof(id->pk))
		return SHOAL_E_STORE;
	memcpy(id->pk, v.mv_data, sizeof(id->pk));
	if (get(txn, st->self, "secret_key", &v) != 0 || v.mv_size != sizeof(id->sk))
		return SHOAL_E_STORE;
	memcpy(id->sk, v.mv_data, sizeof(id->sk));
	if (get(txn, st->self, "incarnation", &v) != 0 || v.mv_size != 4)
		return SHOAL_E_STORE;
	id->incarnation = load_be32(v.mv_data);
	id->created = false;
	return 0;
}

static int create_identity(struct node_store *st, MDB_txn *txn, const char *name,
                           struct node_identity *id)
{
	uint8_t format = SELF_FORMAT, inc[4];
	if (crypto_sign_keypair(id->pk, id->sk) != 0)
		return -EIO;
	id->incarnation = 0;
	id->created = true;
	store_be32(inc, 0);
	int rc;
	if ((rc = put(txn, st->self, "format", &format, 1)) != 0 ||
	    (rc = put(txn, st->self, "name", name, strlen(name))) != 0 ||
	    (rc = put(txn, st->self, "public_key", id->pk, sizeof(id->pk))) != 0 ||
	    (rc = put(txn, st->self, "secret_key", id->sk, sizeof(id->sk))) != 0 ||
	    (rc = put(txn, st->self, "incarnation", inc, sizeof(inc))) != 0)
		return rc;
	return 0;
}

int node_store_identity(struct node_store *st, const char *name, struct node_identity *id,
                        char *stored)
{
	MDB_txn *txn;
	memset(id, 0, sizeof(*id));
	if (mdb_txn_begin(st->env, NULL, 0, &txn) != 0)
		return SHOAL_E_STORE;
	int rc = read_identity(st, txn, name, id, stored);
	if (rc == SHOAL_E_NOT_FOUND) {
		rc = create_identity(st, txn, name, id);
		if (rc == 0) {
			rc = mdb_txn_commit(txn) == 0 ? 0 : SHOAL_E_STORE;
			txn = NULL;
		}
	}
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (rc != 0)
		node_identity_wipe(id);
	return rc;
}

void node_identity_wipe(struct node_identity *id)
{
	sodium_memzero(id, sizeof(*id));
}

int node_store_set_incarnation(struct node_store *st, uint32_t incarnation)
{
	MDB_txn *txn;
	uint8_t inc[4];
	store_be32(inc, incarnation);
	if (mdb_txn_begin(st->env, NULL, 0, &txn) != 0)
		return SHOAL_E_STORE;
	if (put(txn, st->self, "incarnation", inc, sizeof(inc)) != 0) {
		mdb_txn_abort(txn);
		return SHOAL_E_STORE;
	}
	return mdb_txn_commit(txn) == 0 ? 0 : SHOAL_E_STORE;
}

int node_store_get_incarnation(struct node_store *st, uint32_t *incarnation)
{
	MDB_txn *txn;
	MDB_val v;
	if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) != 0)
		return SHOAL_E_STORE;
	int rc = get(txn, st->self, "incarnation", &v);
	if (rc == 0 && v.mv_size != 4)
		rc = SHOAL_E_STORE;
	if (rc == 0)
		*incarnation = load_be32(v.mv_data);
	mdb_txn_abort(txn);
	return rc;
}

int node_store_secret_key(struct node_store *st, uint8_t sk[64])
{
	MDB_txn *txn;
	MDB_val v;
	if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) != 0)
		return SHOAL_E_STORE;
	int rc = get(txn, st->self, "secret_key", &v);
	if (rc == 0 && v.mv_size != 64)
		rc = SHOAL_E_STORE;
	if (rc == 0)
		memcpy(sk, v.mv_data, 64);
	mdb_txn_abort(txn);
	return rc;
}

int node_store_set_u64(struct node_store *st, const char *key, uint64_t v)
{
	MDB_txn *txn;
	uint8_t be[8];
	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(v >> (56 - 8 * i));
	if (mdb_txn_begin(st->env, NULL, 0, &txn) != 0)
		return SHOAL_E_STORE;
	int rc = put(txn, st->self, key, be, sizeof(be));
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn) == 0 ? 0 : SHOAL_E_STORE;
}

int node_store_get_u64(struct node_store *st, const char *key, uint64_t *v)
{
	MDB_txn *txn;
	MDB_val val;
	if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) != 0)
		return SHOAL_E_STORE;
	int rc = get(txn, st->self, key, &val);
	if (rc == 0 && val.mv_size != 8)
		rc = SHOAL_E_STORE;
	if (rc == 0) {
		const uint8_t *p = val.mv_data;
		*v = 0;
		for (int i = 0; i < 8; i++)
			*v = *v << 8 | p[i];
	}
	mdb_txn_abort(txn);
	return rc;
}
