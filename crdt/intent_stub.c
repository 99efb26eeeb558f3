/*
 * intent_stub.c - the header of an intent held without its body.
 *
 * A leaf site keeps an App, EgressPolicy, Upgrade or AlertRule that does
 * not select it as a stub (docs/intents.md, "Stubs"): what merging, trust,
 * selection and anti-entropy read - kind, name, op, target, version,
 * replaces, force, signer, id, the envelope's size and digest - without the
 * spec, the strategy or the signature. Every node orders and hashes the
 * stub exactly as the envelope it stands for, so a leaf's buckets equal a
 * full node's.
 *
 * Stub record (what the item's bytes hold, and what LMDB stores), msgpack:
 *
 *   [1, kind u8, name str, op u8, target_type u8, target bin, hlc u64,
 *    replaces u64, force bool, signer bin(32), id bin(32), size u32,
 *    digest bin(32)]
 *
 * Read with the bounded reader: the record comes from disk, which is not
 * trusted more than a peer.
 */
#include "intent_store_internal.h"

#include <string.h>

#include "shoal/error.h"
#include "shoal/mp.h"

#include "intent_internal.h"

#define STUB_FORMAT 1
#define STUB_FIELDS 13

int intent_stub_pack(const struct intent_envelope *e, size_t envelope_len, const uint8_t digest[32],
                     struct shoal_buf *out)
{
	const struct intent_body *b = &e->body;
	msgpack_packer pk;
	size_t nlen = strlen(b->name);
	if (envelope_len > UINT32_MAX)
		return SHOAL_E_TOO_BIG;
	shoal_packer_init(&pk, out);
	msgpack_pack_array(&pk, STUB_FIELDS);
	msgpack_pack_uint8(&pk, STUB_FORMAT);
	msgpack_pack_uint8(&pk, (uint8_t)b->kind);
	msgpack_pack_str(&pk, nlen);
	msgpack_pack_str_body(&pk, b->name, nlen);
	msgpack_pack_uint8(&pk, (uint8_t)b->op);
	msgpack_pack_uint8(&pk, (uint8_t)b->target_type);
	msgpack_pack_bin(&pk, b->target_len);
	msgpack_pack_bin_body(&pk, b->target, b->target_len);
	msgpack_pack_uint64(&pk, b->hlc);
	msgpack_pack_uint64(&pk, b->replaces);
	if (b->force)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	msgpack_pack_bin(&pk, 32);
	msgpack_pack_bin_body(&pk, b->signer, 32);
	msgpack_pack_bin(&pk, 32);
	msgpack_pack_bin_body(&pk, e->id, 32);
	msgpack_pack_uint32(&pk, (uint32_t)envelope_len);
	msgpack_pack_bin(&pk, 32);
	msgpack_pack_bin_body(&pk, digest, 32);
	return out->err;
}

static int read_fixed(const uint8_t **p, const uint8_t *end, uint8_t out[32])
{
	const uint8_t *v;
	uint32_t len;
	if (shoal_mp_read_bin(p, end, &v, &len) != 0 || len != 32)
		return -1;
	memcpy(out, v, 32);
	return 0;
}

int intent_stub_decode(const uint8_t *bytes, size_t len, struct intent_envelope *out,
                       size_t *envelope_len, uint8_t digest[32], struct intent_error *err)
{
	const uint8_t *p = bytes, *end = bytes + len, *name, *target;
	uint32_t count, nlen, tlen;
	uint64_t fmt, kind, op, ttype, size;
	struct intent_body *b = &out->body;

	memset(out, 0, sizeof(*out));
	if (shoal_mp_read_array(&p, end, &count) != 0 || count != STUB_FIELDS ||
	    shoal_mp_read_uint_range(&p, end, STUB_FORMAT, STUB_FORMAT, &fmt) != 0 ||
	    shoal_mp_read_uint_range(&p, end, INTENT_APP, INTENT_KIND_COUNT - 1, &kind) != 0 ||
	    shoal_mp_read_str(&p, end, &name, &nlen) != 0 || !intent_name_valid(name, nlen) ||
	    shoal_mp_read_uint_range(&p, end, INTENT_PUT, INTENT_DELETE, &op) != 0 ||
	    shoal_mp_read_uint_range(&p, end, INTENT_TARGET_NONE, INTENT_TARGET_SELECTOR, &ttype) !=
	            0 ||
	    shoal_mp_read_bin(&p, end, &target, &tlen) != 0 || tlen > INTENT_TARGET_MAX ||
	    shoal_mp_read_uint(&p, end, &b->hlc) != 0 ||
	    shoal_mp_read_uint(&p, end, &b->replaces) != 0 ||
	    shoal_mp_read_bool(&p, end, &b->force) != 0 || read_fixed(&p, end, b->signer) != 0 ||
	    read_fixed(&p, end, out->id) != 0 ||
	    shoal_mp_read_uint_range(&p, end, 1, INTENT_ENVELOPE_MAX, &size) != 0 ||
	    read_fixed(&p, end, digest) != 0 || p != end)
		return intent_fail(err, INTENT_R_MALFORMED, "not an intent stub record");
	b->kind = (enum intent_kind)kind;
	b->op = (enum intent_op)op;
	memcpy(b->name, name, nlen);
	b->name[nlen] = '\0';
	b->target_type = (enum intent_target_type)ttype;
	b->target = tlen > 0 ? target : NULL;
	b->target_len = tlen;
	if (b->target_type != INTENT_TARGET_NONE) {
		int rc = intent_validate_target(b->target_type, target, tlen, err);
		if (rc != 0)
			return rc;
	}
	*envelope_len = (size_t)size;
	return 0;
}

bool intent_kind_stubbable(enum intent_kind kind)
{
	/* The trust and segmentation kinds every selection is judged by stay
	 * whole everywhere. */
	return kind == INTENT_APP || kind == INTENT_EGRESS_POLICY || kind == INTENT_UPGRADE ||
	       kind == INTENT_ALERT_RULE;
}
