/*
 * store.h - the node's durable state: one LMDB environment in the data dir.
 *
 * Layout of DATA_DIR:
 *   data.mdb, lock.mdb   the LMDB environment
 *   shoald.lock          flock'd while a shoald owns the directory
 *   keyring              cluster keys (written by the keyring code, not here)
 *
 * Named databases inside the environment; each later subsystem (intents,
 * tombstones, health, reconcile state) opens its own with node_store_db():
 *   "self"   format   1 byte, layout version (1)
 *            name     the site name the data dir belongs to
 *            public_key  32 bytes, Ed25519
 *            secret_key  64 bytes, Ed25519 (libsodium layout)
 *            incarnation 4 bytes, big-endian uint32
 *            last_alive  8 bytes, big-endian wall ms this node last ran (intents_resync.c)
 *
 * Every write commits (durably: LMDB's default sync) before the function
 * returns, so a caller may acknowledge once it gets 0.
 *
 * Thread-safety: one store belongs to its node's loop thread.
 */
#ifndef SHOAL_NODE_STORE_H
#define SHOAL_NODE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "shoal/swim.h"

/* Address space reserved for the map; the file grows only as data does. */
#define NODE_STORE_MAPSIZE ((size_t)1 << 30)
/* Named databases the environment can hold (self plus later subsystems). */
#define NODE_STORE_MAXDBS 16

struct node_store {
	MDB_env *env; /* the LMDB environment; NULL when closed */
	MDB_dbi self; /* the "self" database */
	int lock_fd;  /* shoald.lock, held with flock(LOCK_EX); -1 when closed */
};

/* The site identity kept in "self". The secret key is wiped by
 * node_identity_wipe; callers hold this on the stack only briefly. */
struct node_identity {
	uint8_t pk[32];       /* Ed25519 public key */
	uint8_t sk[64];       /* Ed25519 secret key */
	uint32_t incarnation; /* last persisted incarnation */
	bool created;         /* the keypair was made by this call */
};

/* Open (creating DATA_DIR and the environment if missing). Errors:
 * -EBUSY if another process holds the directory, SHOAL_E_STORE for LMDB
 * failures, negative errno otherwise; `err` receives one line. */
int node_store_open(struct node_store *st, const char *dir, char *err, size_t errcap);
void node_store_close(struct node_store *st);

/* The identity of the site `name`. At first start (empty "self") a new
 * Ed25519 keypair and incarnation 0 are committed. If the store belongs to
 * another name, returns SHOAL_E_NAME_TAKEN and writes the stored name into
 * `stored` (cap SWIM_NAME_MAX + 1) when non-NULL. */
int node_store_identity(struct node_store *st, const char *name, struct node_identity *id,
                        char *stored);
void node_identity_wipe(struct node_identity *id);

/* Persist our incarnation (committed on return). */
int node_store_set_incarnation(struct node_store *st, uint32_t incarnation);
/* SHOAL_E_NOT_FOUND before the first identity is made. */
int node_store_get_incarnation(struct node_store *st, uint32_t *incarnation);

/* The site's secret key, for signing what the site alone may say (its
 * health record); the caller wipes it after use. */
int node_store_secret_key(struct node_store *st, uint8_t sk[64]);

/* A number kept in "self" under `key` (8 bytes, big-endian), committed
 * on return; get: SHOAL_E_NOT_FOUND if never set. */
int node_store_set_u64(struct node_store *st, const char *key, uint64_t v);
int node_store_get_u64(struct node_store *st, const char *key, uint64_t *v);

/* Open or create another named database for a subsystem's records. The
 * handle stays valid until node_store_close. */
int node_store_db(struct node_store *st, const char *name, MDB_dbi *out);

#endif
