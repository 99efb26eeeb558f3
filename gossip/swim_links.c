/*
 * swim_links.c - link health from the probes SWIM sends anyway.
 *
 * Every finished probe leaves its outcome in a small ring: when it began,
 * whom it probed, and the round trip to the first ack (direct or relayed)
 * or "lost". A site summarises the ring into its health record, so the
 * fleet sees each site's reach, loss and latency without a single extra
 * packet. A relayed ack's round trip includes the helper's hop, which is
 * what the site experienced; a late ack after the probe ended counts as
 * lost here (the probe did fail), as it does for suspicion.
 */
#include <stdlib.h>
#include <string.h>

#include "swim_internal.h"

void swim_links_record(struct swim *s, const struct swim_probe *p)
{
	struct swim_probe_outcome *o = &s->outcomes[s->outcomes_pos];
	o->at = p->start != 0 ? p->start : 1;
	o->target = p->target;
	o->rtt = p->acked ? p->rtt : SWIM_RTT_LOST;
	s->outcomes_pos = (s->outcomes_pos + 1) % SWIM_PROBE_OUTCOMES;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static uint32_t percentile(const uint32_t *v, uint32_t n, uint32_t pct)
{
	uint32_t rank = (n * pct + 99) / 100;
	return v[rank > 0 ? rank - 1 : 0];
}

void swim_links(const struct swim *s, uint64_t now, uint64_t window_us, struct swim_links *out)
{
	uint32_t rtts[SWIM_PROBE_OUTCOMES], targets[SWIM_PROBE_OUTCOMES];
	bool answered[SWIM_PROBE_OUTCOMES];
	uint32_t nrtt = 0, ntargets = 0, probes = 0, lost = 0;
	uint64_t oldest = now;

	memset(out, 0, sizeof(*out));
	uint32_t counts[4];
	swim_member_counts(s, counts);
	uint32_t known = counts[SWIM_ALIVE] + counts[SWIM_SUSPECT] + counts[SWIM_DEAD];
	out->known = known > 0 ? known - 1 : 0; /* self is counted alive */

	for (uint32_t i = 0; i < SWIM_PROBE_OUTCOMES; i++) {
		const struct swim_probe_outcome *o = &s->outcomes[i];
		if (o->at == 0 || o->at > now || now - o->at > window_us)
			continue;
		probes++;
		if (o->at < oldest)
			oldest = o->at;
		if (o->rtt == SWIM_RTT_LOST)
			lost++;
		else
			rtts[nrtt++] = o->rtt;
		uint32_t j = 0;
		while (j < ntargets && targets[j] != o->target)
			j++;
		if (j == ntargets) {
			targets[ntargets] = o->target;
			answered[ntargets++] = false;
		}
		if (o->rtt != SWIM_RTT_LOST)
			answered[j] = true;
	}
	out->window_s = (uint32_t)((now - oldest + 999999) / 1000000);
	out->probed = ntargets;
	for (uint32_t j = 0; j < ntargets; j++)
		out->reached += answered[j];
	if (nrtt > 0) {
		qsort(rtts, nrtt, sizeof(rtts[0]), cmp_u32);
		out->rtt_p50_us = percentile(rtts, nrtt, 50);
		out->rtt_p99_us = percentile(rtts, nrtt, 99);
	}
	out->loss_pm = probes > 0 ? (uint32_t)((uint64_t)lost * 1000 / probes) : 0;
}
