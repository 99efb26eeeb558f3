/*
 * swim_io.c - datagrams in and out: assembling compound messages with
 * piggybacked news, sealing, and dispatching what arrives.
 *
 * Assembly writes messages into s->tx after SWIM_DGRAM_HDR_MAX reserved
 * bytes; once the count is known the real header (3 or 5 bytes) is written
 * right before the first message, so nothing is copied. The plaintext is
 * kept <= udp_max - SHOAL_SEAL_OVERHEAD, so the sealed datagram fits
 * udp_max.
 *
 * Receiving checks the whole datagram before acting on any of it: a
 * malformed field anywhere drops every message in it. The one exception is
 * a signature that does not verify, which drops only its own message: it is
 * well formed, and the other messages (a ping, an ack) stand on their own.
 */
#include "swim_internal.h"

#include <string.h>

#include "shoal/error.h"

size_t swim_tx_budget(const struct swim *s)
{
	return s->cfg.udp_max - SHOAL_SEAL_OVERHEAD;
}

void swim_tx_begin(struct swim *s)
{
	static const uint8_t reserved[SWIM_DGRAM_HDR_MAX];
	shoal_buf_reset(&s->tx);
	shoal_buf_append(&s->tx, reserved, sizeof(reserved));
}

bool swim_tx_add_item(struct swim *s)
{
	if (s->item.err != 0 || s->tx.err != 0)
		return false;
	if (s->tx.len + s->item.len > swim_tx_budget(s))
		return false;
	return shoal_buf_append(&s->tx, s->item.data, s->item.len) == 0;
}

void swim_send_tx(struct swim *s, const struct shoal_addr *to, uint32_t to_id, uint32_t count,
                  bool piggyback)
{
	uint8_t out[SWIM_UDP_MAX];
	uint8_t hdr[SWIM_DGRAM_HDR_MAX];
	size_t outlen;

	if (piggyback) {
		count += swim_bcast_fill(s);
		count += swim_user_fill(s, swim_id_quiet(s, to_id));
	}
	if (s->tx.err != 0 || count == 0)
		return;
	size_t h = swim_proto_datagram_header(hdr, count);
	uint8_t *plain = s->tx.data + SWIM_DGRAM_HDR_MAX - h;
	memcpy(plain, hdr, h);
	size_t plen = s->tx.len - SWIM_DGRAM_HDR_MAX + h;
	if (shoal_seal(s->kr, s->env, plain, plen, out, sizeof(out), &outlen) < 0)
		return;
	s->stats.datagrams_out++;
	s->stats.dgram_bytes_out += outlen;
	s->stats.msgs_out += count;
	s->env->send_datagram(s->env->ctx, to, out, outlen);
}

/* ---- receiving ------------------------------------------------------- */

static bool is_self_name(const struct swim *s, const struct swim_str *n)
{
	const struct swim_pool_name *me = swim_pool_name(s->pool, s->self_id);
	return n->len == me->len && memcmp(n->p, me->str, n->len) == 0;
}

static void on_ping(struct swim *s, const struct shoal_addr *from, const struct swim_msg *m)
{
	/* A ping meant for a previous holder of this address is not ours to
	 * answer: acking it would vouch for a member that is gone. */
	if (!is_self_name(s, &m->target))
		return;
	/* The ping names its sender: a quiet one gets no bulk news in the ack. */
	uint32_t sender = swim_pool_name_find(s->pool, m->sender.p, m->sender.len);
	swim_tx_begin(s);
	shoal_buf_reset(&s->item);
	swim_proto_encode_ack(&s->item, SWIM_MSG_ACK, m->seq);
	if (swim_tx_add_item(s))
		swim_send_tx(s, from, sender, 1, true);
}

static void on_alive(struct swim *s, uint64_t now, const struct swim_msg *m)
{
	uint32_t rid;
	bool verified;
	int rc = swim_pool_record_get(s->pool, s->env, m->body, m->body_len, m->sig, &m->alive,
	                              &rid, &verified);
	if (rc == SHOAL_E_SIGNATURE) {
		s->stats.signature_failures++;
		return;
	}
	if (rc < 0)
		return;
	swim_apply_alive(s, now, rid, true);
	swim_pool_record_unref(s->pool, rid);
}

static void on_accuse(struct swim *s, uint64_t now, const struct swim_msg *m)
{
	uint32_t id = swim_pool_name_find(s->pool, m->name.p, m->name.len);
	uint32_t from;

	/* News about a member we never knew: nothing to attach it to. */
	if (id == SWIM_NONE || swim_member_at(s, id) == NULL)
		return;
	if (swim_pool_name_intern(s->pool, m->from.p, m->from.len, &from) < 0)
		return;
	if (m->type == SWIM_MSG_SUSPECT)
		swim_apply_suspect(s, now, id, m->incarnation, from, false);
	else
		swim_apply_dead(s, now, id, m->incarnation, from, false);
	swim_pool_name_unref(s->pool, from);
}

static void on_leave(struct swim *s, uint64_t now, const struct swim_msg *m)
{
	uint32_t id = swim_pool_name_find(s->pool, m->name.p, m->name.len);
	struct swim_member *mem = id == SWIM_NONE ? NULL : swim_member_at(s, id);

	/* Without the member's record there is no key to check it against. */
	if (mem == NULL)
		return;
	/* Decide on the cheap fields first: a repeat or an old leave needs no
	 * signature check (gossip delivers each leave many times). */
	if (id != s->self_id && mem->state == SWIM_LEFT && m->incarnation <= mem->incarnation)
		return;
	if (m->incarnation < mem->incarnation) {
		s->stats.stale++;
		return;
	}
	const struct swim_record *r = swim_member_record(s, mem);
	if (shoal_env_verify(s->env, m->sig, m->body, m->body_len, swim_record_pubkey(r)) != 0) {
		s->stats.signature_failures++;
		return;
	}
	swim_apply_left(s, now, id, m->incarnation, m->raw, m->raw_len);
}

static void dispatch(struct swim *s, uint64_t now, const struct shoal_addr *from,
                     const struct swim_msg *m)
{
	switch (m->type) {
	case SWIM_MSG_PING:
		on_ping(s, from, m);
		break;
	case SWIM_MSG_ACK:
		swim_probe_on_ack(s, now, m->seq);
		break;
	case SWIM_MSG_NACK:
		swim_probe_on_nack(s, m->seq);
		break;
	case SWIM_MSG_PING_REQ:
		swim_probe_on_ping_req(s, now, from, m);
		break;
	case SWIM_MSG_ALIVE:
		on_alive(s, now, m);
		break;
	case SWIM_MSG_SUSPECT:
	case SWIM_MSG_DEAD:
		on_accuse(s, now, m);
		break;
	case SWIM_MSG_LEAVE:
		on_leave(s, now, m);
		break;
	case SWIM_MSG_KEYOP:
		swim_handle_keyop(s, now, m);
		break;
	case SWIM_MSG_USER:
		swim_user_deliver(s, now, from, m);
		break;
	default:
		break;
	}
}

void swim_handle_datagram(struct swim *s, uint64_t now, const struct shoal_addr *from,
                          const uint8_t *plain, size_t len)
{
	const uint8_t *pos = plain, *end = plain + len;
	struct swim_msg m;
	uint32_t count;
	int rc = swim_proto_check_datagram(plain, len, &count);

	if (rc == SHOAL_E_VERSION) {
		s->stats.auth_failures++;
		return;
	}
	if (rc < 0) {
		s->stats.decode_failures++;
		return;
	}
	s->stats.msgs_in += count;
	swim_proto_datagram_begin(&pos, end, &count);
	for (uint32_t i = 0; i < count; i++) {
		if (swim_proto_decode_msg(&pos, end, &m) < 0)
			return; /* cannot happen: checked above */
		dispatch(s, now, from, &m);
	}
}

void swim_on_datagram(struct swim *s, uint64_t now, const struct shoal_addr *from,
                      const uint8_t *buf, size_t len)
{
	uint8_t plain[SWIM_UDP_MAX];
	size_t plen;

	s->stats.datagrams_in++;
	s->stats.dgram_bytes_in += len;
	if (len > SWIM_UDP_MAX) {
		s->stats.decode_failures++;
		return;
	}
	if (shoal_open(s->kr, buf, len, plain, sizeof(plain), &plen) < 0) {
		s->stats.auth_failures++;
		return;
	}
	swim_handle_datagram(s, now, from, plain, plen);
}
