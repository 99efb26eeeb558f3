/*
 * health_fill.c - health-fill DATA_DIR COUNT: write COUNT signed health
 * records of COUNT distinct sites into a shoald data directory, in the
 * format node/health_store.c reloads at start (LMDB database "health": site
 * -> format byte, received wall ms, public key, envelope). For
 * scripts/bench_fleet.py: a node that holds a fleet's records before it
 * starts, without waiting for thousands of sites to publish.
 *
 * Site i is named "site-NNNNN" (i zero-padded to five digits) and signs
 * with the Ed25519 key whose seed is SHA-256("shoal-bench-fleet/" i): the
 * benchmark derives the same keys to announce the sites' member records,
 * so the records verify against the keys membership binds to the names.
 * Each record is a typical one (docs/health.md, "Size") with the figures
 * spread over the fleet: CPU and memory use, pod counts, a few sites
 * orange or red, link figures, geo coordinates; the score is computed.
 *
 * The directory must not be in use by a running shoald (the store's lock).
 * Exit status: 0 done, 1 an error, 2 bad usage.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "../../node/store.h"
#include "shoal/health.h"
#include "shoal/hlc.h"

#define COUNT_MAX  HEALTH_TABLE_SITES_MAX
#define STR(lit)   ((struct health_str){(lit), (uint32_t)(sizeof(lit) - 1)})
#define RECORD_FMT 1

static struct health_str str_of(const char *s)
{
	return (struct health_str){s, (uint32_t)strlen(s)};
}

static void site_key(uint32_t i, uint8_t pk[32], uint8_t sk[64])
{
	char text[64];
	uint8_t seed[32];
	int n = snprintf(text, sizeof(text), "shoal-bench-fleet/%u", i);
	crypto_hash_sha256(seed, (const uint8_t *)text, (size_t)n);
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
}

/* Site i's record: the typical shape, figures spread by a hash of i. */
static void compose(uint32_t i, uint64_t version, struct health_record *r, char *name, char *lat,
                    char *lon)
{
	static const char *const regions[] = {"jp-north", "jp-south", "us-east", "eu-west"};
	static const struct health_str apps[] = {STR("shop-frontend"), STR("telemetry-agent"),
	                                         STR("default-deny")};
	uint32_t h = i * 2654435761u;
	memset(r, 0, sizeof(*r));
	snprintf(name, 16, "site-%05u", i);
	r->site = str_of(name);
	r->version = version;
	r->software = STR("shoal 0.4.0");
	r->labels[0] = (struct health_label){STR("region"), str_of(regions[i % 4])};
	r->labels[1] = (struct health_label){STR("env"), i % 10 == 0 ? STR("test") : STR("prod")};
	r->labels[2] = (struct health_label){STR("sys.shoal.io/arch"), STR("amd64")};
	r->labels[3] = (struct health_label){STR("sys.shoal.io/cpus"), STR("8")};
	r->n_labels = 4;
	snprintf(lat, 16, "%.4f", -60.0 + (double)(i * 7919u % 120000u) / 1000.0);
	snprintf(lon, 16, "%.4f", -180.0 + (double)(i * 104729u % 360000u) / 1000.0);
	r->annotations[0] = (struct health_label){STR("geo.shoal.io/lat"), str_of(lat)};
	r->annotations[1] = (struct health_label){STR("geo.shoal.io/lon"), str_of(lon)};
	r->n_annotations = 2;
	r->uptime_s = 86400 + h % 864000;
	r->skew_ms = (int32_t)(h % 40) - 20;
	r->cpu_pm = (uint16_t)(h % 900);
	r->mem_pm = (uint16_t)(300 + (h >> 8) % 680);
	r->disk_pm = (uint16_t)(200 + (h >> 16) % 700);
	r->links = (struct health_links){.window_s = 60,
	                                 .known = 9999,
	                                 .probed = 60,
	                                 .reached = 60 - (h >> 4) % 2,
	                                 .rtt_p50_us = 8000 + (h >> 3) % 20000,
	                                 .rtt_p99_us = 30000 + (h >> 5) % 90000,
	                                 .loss_pm = (h >> 7) % 12};
	for (uint32_t k = 0; k < 3; k++)
		r->intents[k] =
		        (struct health_intent){.kind = k == 2 ? INTENT_EGRESS_POLICY : INTENT_APP,
		                               .name = apps[k],
		                               .version = version - ((uint64_t)(k + 1) << 20),
		                               .state = i % 97 == k    ? HEALTH_DEGRADED
		                                        : i % 211 == k ? HEALTH_FAILED
		                                                       : HEALTH_READY};
	r->n_intents = 3;
	r->pods[HEALTH_POD_RUNNING] = 10 + h % 9;
	r->pods[HEALTH_POD_CRASH_LOOP] = i % 53 == 0;
	r->pods[HEALTH_POD_WAITING_IMAGE] = i % 89 == 0;
	memset(r->sec.roots, 0xab, HEALTH_ROOTS_LEN);
	r->sec.keyring = true;
	health_score_compute(r, NULL, &r->score);
}

int main(int argc, char **argv)
{
	struct node_store st;
	char err[256];
	MDB_dbi db;
	MDB_txn *txn;
	char *end = NULL;

	if (argc != 3) {
		fprintf(stderr, "usage: health-fill DATA_DIR COUNT\n");
		return 2;
	}
	errno = 0;
	unsigned long count = strtoul(argv[2], &end, 10);
	if (errno != 0 || *end != '\0' || count == 0 || count > COUNT_MAX) {
		fprintf(stderr, "health-fill: COUNT must be 1..%u\n", COUNT_MAX);
		return 2;
	}
	if (sodium_init() < 0 || node_store_open(&st, argv[1], err, sizeof(err)) != 0) {
		fprintf(stderr, "health-fill: %s\n", err);
		return 1;
	}
	struct health_record *r = malloc(sizeof(*r));
	struct shoal_buf out;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t wall = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	uint64_t version = shoal_hlc_make(wall, 0);
	int rc = r == NULL || node_store_db(&st, "health", &db) != 0;
	bool in_txn = rc == 0 && mdb_txn_begin(st.env, NULL, 0, &txn) == 0;
	if (!in_txn)
		rc = 1;
	shoal_buf_create(&out, HEALTH_ENVELOPE_MAX);
	for (uint32_t i = 0; rc == 0 && i < count; i++) {
		char name[16], lat[16], lon[16];
		uint8_t pk[32], sk[64];
		site_key(i, pk, sk);
		compose(i, version, r, name, lat, lon);
		rc = health_seal(r, sk, &out);
		sodium_memzero(sk, sizeof(sk));
		if (rc != 0)
			break;
		MDB_val k = {strlen(name), name}, v = {1 + 8 + 32 + out.len, NULL};
		if ((rc = mdb_put(txn, db, &k, &v, MDB_RESERVE)) != 0)
			break;
		uint8_t *p = v.mv_data;
		p[0] = RECORD_FMT;
		for (int b = 0; b < 8; b++)
			p[1 + b] = (uint8_t)(wall >> (56 - 8 * b));
		memcpy(p + 9, pk, 32);
		memcpy(p + 41, out.data, out.len);
	}
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else if (in_txn)
		mdb_txn_abort(txn);
	shoal_buf_destroy(&out);
	free(r);
	node_store_close(&st);
	if (rc != 0) {
		fprintf(stderr, "health-fill: writing the records failed (%d)\n", rc);
		return 1;
	}
	printf("health-fill: %lu records in %s\n", count, argv[1]);
	return 0;
}
