/*
 * intent_pending.c - envelopes from peers whose signer's grant has not
 * arrived yet.
 *
 * Gossip gives no order between a KeyGrant and the intents its operator
 * signs, so a node may hear of the intent first. Dropping it would leave the
 * node to anti-entropy; keeping it unbounded would let anyone who can reach
 * the gossip port fill memory with signed junk. So: a FIFO capped by count
 * and bytes, oldest evicted first, retried when a grant is committed, aged
 * out with the horizon. Parked envelopes are not in the digest - they are
 * not part of the replicated state until trusted.
 */
#include "intent_store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/hlc.h"

static void drop_first(struct intent_store *s, size_t n)
{
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		s->pending_bytes -= s->pending[i].len;
		free(s->pending[i].bytes);
	}
	memmove(s->pending, s->pending + n, (s->npending - n) * sizeof(*s->pending));
	s->npending -= n;
}

void intent_pending_add(struct intent_store *s, const struct intent_offer *o,
                        const struct intent_envelope *e)
{
	for (size_t i = 0; i < s->npending; i++)
		if (memcmp(s->pending[i].id, e->id, 32) == 0)
			return;
	if (o->len > INTENT_PENDING_BYTES)
		return;
	if (s->pending == NULL) {
		s->pending = calloc(s->cfg.pending_max, sizeof(*s->pending));
		if (s->pending == NULL)
			return;
	}
	size_t evict = 0, bytes = s->pending_bytes;
	while (evict < s->npending &&
	       (s->npending - evict >= s->cfg.pending_max || bytes + o->len > INTENT_PENDING_BYTES))
		bytes -= s->pending[evict++].len;
	drop_first(s, evict);
	s->stats.pending_dropped += evict;

	struct intent_pending *p = &s->pending[s->npending];
	p->bytes = malloc(o->len);
	if (p->bytes == NULL)
		return;
	memcpy(p->bytes, o->bytes, o->len);
	p->len = o->len;
	memcpy(p->id, e->id, 32);
	p->hlc = e->body.hlc;
	p->kind = e->body.kind;
	memcpy(p->name, e->body.name, sizeof(p->name));
	p->received_ms = o->now_ms;
	snprintf(p->from, sizeof(p->from), "%s", o->from != NULL ? o->from : "");
	s->npending++;
	s->pending_bytes += o->len;
	s->stats.pended++;
}

void intent_pending_retry(struct intent_store *s, uint64_t now_ms)
{
	/* Detach the list: an envelope still waiting is parked again by the
	 * offer, into a fresh list. */
	struct intent_pending *list = s->pending;
	size_t n = s->npending;
	s->pending = NULL;
	s->npending = 0;
	s->pending_bytes = 0;
	for (size_t i = 0; i < n; i++) {
		struct intent_offer o = {.bytes = list[i].bytes,
		                         .len = list[i].len,
		                         .now_ms = now_ms,
		                         .source = INTENT_FROM_PEER,
		                         .from = list[i].from};
		struct intent_error err;
		intent_store_offer(s, &o, &err);
		free(list[i].bytes);
	}
	free(list);
}

void intent_pending_expire(struct intent_store *s, uint64_t before_ms)
{
	size_t kept = 0;
	for (size_t i = 0; i < s->npending; i++) {
		if (shoal_hlc_ms(s->pending[i].hlc) < before_ms) {
			s->pending_bytes -= s->pending[i].len;
			free(s->pending[i].bytes);
			continue;
		}
		s->pending[kept++] = s->pending[i];
	}
	s->npending = kept;
}

void intent_pending_clear(struct intent_store *s)
{
	drop_first(s, s->npending);
	free(s->pending);
	s->pending = NULL;
}

bool intent_store_pending_find(const struct intent_store *s, enum intent_kind kind,
                               const char *name, uint64_t *hlc, uint8_t id[32])
{
	const struct intent_pending *best = NULL;
	for (size_t i = 0; i < s->npending; i++) {
		const struct intent_pending *p = &s->pending[i];
		if (p->kind == kind && strcmp(p->name, name) == 0 &&
		    (best == NULL || p->hlc > best->hlc))
			best = p;
	}
	if (best == NULL)
		return false;
	*hlc = best->hlc;
	memcpy(id, best->id, 32);
	return true;
}
