/*
 * intent_store_internal.h - the store's layout, shared by intent_store.c
 * (map and merge), intent_trust.c (judging signers) and intent_pending.c
 * (envelopes waiting for their grant).
 */
#ifndef SHOAL_CRDT_INTENT_STORE_INTERNAL_H
#define SHOAL_CRDT_INTENT_STORE_INTERNAL_H

#include "shoal/intent_store.h"
#include "shoal/mp.h"

/* An envelope parked until a grant for its signer arrives. */
struct intent_pending {
	uint8_t *bytes; /* owned copy */
	size_t len;
	uint8_t id[32]; /* to refuse parking the same envelope twice */
	uint64_t hlc;   /* aged out past the horizon like everything else */
	enum intent_kind kind;
	char name[INTENT_NAME_MAX + 1]; /* with kind: what a gossip lookup asks by */
	uint64_t received_ms;
	char from[INTENT_FROM_MAX + 1];
};

struct intent_store {
	struct intent_store_config cfg;
	struct shoal_env env;
	struct intent_store_hooks hooks;
	struct intent_item **items; /* sorted by (kind, name) */
	size_t count, cap;
	uint8_t buckets[INTENT_BUCKETS][32]; /* XOR of ids per bucket */
	struct intent_pending *pending;      /* FIFO, oldest first */
	size_t npending;
	size_t pending_bytes;
	struct intent_store_stats stats;
};

/* Index of the first item of `kind` (items are sorted by kind first), so
 * the trust rules walk only the grants or revokes. */
size_t intent_store_kind_first(const struct intent_store *s, enum intent_kind kind);

/* intent_stub.c: a stub record of a decoded envelope of `envelope_len`
 * bytes whose SHA-256 is `digest`; and back: the envelope view (body
 * fields only; body_bytes, sig, spec, strategy NULL, target pointing into
 * `bytes`), the size and digest. */
int intent_stub_pack(const struct intent_envelope *e, size_t envelope_len, const uint8_t digest[32],
                     struct shoal_buf *out);
int intent_stub_decode(const uint8_t *bytes, size_t len, struct intent_envelope *out,
                       size_t *envelope_len, uint8_t digest[32], struct intent_error *err);

/* Park an envelope (already verified) for its grant; the oldest go first
 * when the caps are reached. */
void intent_pending_add(struct intent_store *s, const struct intent_offer *o,
                        const struct intent_envelope *e);
/* The trust set changed: offer every parked envelope again. */
void intent_pending_retry(struct intent_store *s, uint64_t now_ms);
/* Drop parked envelopes older than `before_ms`; and all of them. */
void intent_pending_expire(struct intent_store *s, uint64_t before_ms);
void intent_pending_clear(struct intent_store *s);

#endif
