/*
 * fuzz_replica.c - libFuzzer target for the replication service's decoders
 * (gossip/replica_proto.c): the announcement and the four stream messages.
 *
 * Every decoder sees every input. Beyond "no crash" it checks the contract:
 * a decoded list can be walked to its end entry by entry, every entry has a
 * key of 1..255 bytes and a 32-byte digest inside the input, and an entry
 * re-encoded decodes to the same fields.
 */
#include "../../gossip/replica_proto.h"

#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static void check_item(const struct replica_wire_item *e, const uint8_t *data, size_t size)
{
	CHECK(e->key_len >= 1 && e->key_len <= REPLICA_KEY_MAX);
	CHECK(e->key >= data && e->key + e->key_len <= data + size);
	CHECK(e->digest >= data && e->digest + REPLICA_DIGEST_LEN <= data + size);
}

/* Re-encode an announcement and decode it again: the same fields. */
static void roundtrip_announce(const struct replica_wire_item *e)
{
	struct shoal_buf b;
	struct replica_wire_item again;
	struct replica_item it = {
	        .key = e->key, .key_len = e->key_len, .version = e->version, .size = e->size};
	memcpy(it.digest, e->digest, REPLICA_DIGEST_LEN);
	shoal_buf_create(&b, 1024);
	CHECK(replica_proto_encode_announce(&b, &it) == 0);
	CHECK(replica_proto_decode_announce(b.data, b.len, &again) == 0);
	CHECK(again.key_len == e->key_len && memcmp(again.key, e->key, e->key_len) == 0);
	CHECK(again.version == e->version && again.size == e->size);
	CHECK(memcmp(again.digest, e->digest, REPLICA_DIGEST_LEN) == 0);
	shoal_buf_destroy(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t types[] = {REPLICA_MSG_PULL, REPLICA_MSG_ITEMS, REPLICA_MSG_AE_LIST};
	struct replica_wire_item e;
	struct replica_wire_list l;
	const uint8_t *hashes;
	uint32_t buckets;

	if (replica_proto_decode_announce(data, size, &e) == 0) {
		check_item(&e, data, size);
		roundtrip_announce(&e);
	}
	for (size_t t = 0; t < sizeof(types); t++) {
		if (replica_proto_decode_list(data, size, types[t], REPLICA_AE_LIST_HARD_MAX, &l) !=
		    0)
			continue;
		for (uint32_t i = 0; i < l.n; i++) {
			CHECK(replica_proto_next(&l, &e) == 0);
			check_item(&e, data, size);
			if (types[t] == REPLICA_MSG_ITEMS)
				CHECK(e.body + e.size <= data + size);
		}
		CHECK(l.pos == l.end);
	}
	uint32_t scope;
	if (replica_proto_decode_hello(data, size, &buckets, &hashes, &scope) == 0) {
		CHECK(buckets >= 1 && buckets <= REPLICA_BUCKETS_MAX &&
		      (buckets & (buckets - 1)) == 0);
		CHECK(hashes + 8 * (size_t)buckets <= data + size);
	}
	int type = replica_proto_type(data, size);
	CHECK(type < 0 || (type >= REPLICA_MSG_PULL && type <= REPLICA_MSG_AE_LIST));
	return 0;
}
