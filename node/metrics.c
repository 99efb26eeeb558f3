/*
 * metrics.c - GET /metrics in the Prometheus text exposition format.
 *
 * Counters come from SWIM's own stats (protocol events) and from the
 * transport (what actually crossed the sockets, framing included), so a
 * dashboard can tell "the protocol sent it" from "the kernel took it".
 * Every family carries # HELP and # TYPE; counter names end in _total.
 */
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "shoal/mp.h"

#include "node.h"

#define METRICS_MAX (128 * 1024)

static void emitv(struct shoal_buf *b, const char *fmt, va_list ap)
{
	char line[512];
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n > 0)
		shoal_buf_append(b, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

__attribute__((format(printf, 2, 3))) static void emit(struct shoal_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emitv(b, fmt, ap);
	va_end(ap);
}

static void family(struct shoal_buf *b, const char *name, const char *type, const char *help)
{
	emit(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(struct shoal_buf *b, const char *name, const char *help, uint64_t v)
{
	family(b, name, "counter", help);
	emit(b, "%s %llu\n", name, (unsigned long long)v);
}

static void by_transport(struct shoal_buf *b, const char *name, const char *help, uint64_t udp,
                         uint64_t tcp)
{
	family(b, name, "counter", help);
	emit(b, "%s{transport=\"udp\"} %llu\n", name, (unsigned long long)udp);
	emit(b, "%s{transport=\"tcp\"} %llu\n", name, (unsigned long long)tcp);
}

/* The replication service's counters, once an application attached it. */
static void replica_metrics(struct shoal_buf *b, const struct replica_stats *r, uint32_t pending)
{
	counter(b, "shoal_replica_announces_received_total", "Item announcements heard.",
	        r->announces_in);
	counter(b, "shoal_replica_pulls_total", "Pull conversations opened.", r->pulls);
	counter(b, "shoal_replica_pull_failures_total",
	        "Pulls that broke, timed out or came back malformed.", r->pull_failures);
	counter(b, "shoal_replica_body_bytes_received_total", "Item body bytes received in pulls.",
	        r->body_bytes_in);
	counter(b, "shoal_replica_accepted_total", "Pulled items the store accepted.", r->accepted);
	counter(b, "shoal_replica_accepted_quiet_total",
	        "Pulled items accepted but not announced in turn (a leaf's stubs and refilled "
	        "bodies).",
	        r->accepted_quiet);
	counter(b, "shoal_replica_not_held_total",
	        "Items a pulled-from node did not have (each moved on to the next source).",
	        r->not_held);
	counter(b, "shoal_replica_duplicates_total", "Pulled items already held (or parked).",
	        r->duplicates);
	counter(b, "shoal_replica_rejected_total", "Pulled items the store refused.", r->rejected);
	counter(b, "shoal_replica_bad_bodies_total",
	        "Pulled bodies truncated or not matching their digest (dropped).", r->bad_bodies);
	counter(b, "shoal_replica_abandoned_total", "Items given up to anti-entropy after retries.",
	        r->abandoned);
	counter(b, "shoal_replica_served_bytes_total", "Item body bytes served to peers.",
	        r->served_bytes);
	counter(b, "shoal_replica_antientropy_total", "Anti-entropy exchanges completed.",
	        r->ae_rounds);
	counter(b, "shoal_replica_antientropy_served_total",
	        "Anti-entropy exchanges answered (each read a digest of every bucket).",
	        r->ae_served);
	counter(b, "shoal_replica_antientropy_roots_served_total",
	        "Anti-entropy root probes answered (16 bytes; the bucket list follows only when "
	        "they differ).",
	        r->ae_roots_served);
	family(b, "shoal_replica_pending", "gauge", "Items being fetched.");
	emit(b, "shoal_replica_pending %u\n", pending);
}

/* This site's per-intent states (reconcile.c), counted by state. */
static void site_intent_metrics(struct shoal_buf *b, const struct node *n)
{
	uint32_t by[HEALTH_OWNER_STATES] = {0};
	for (size_t i = 0; i < n->site_states.n; i++)
		if (n->site_states.items[i].state < HEALTH_OWNER_STATES)
			by[n->site_states.items[i].state]++;
	family(b, "shoal_site_intents", "gauge",
	       "Intents this site works on (selected, or being removed), by state.");
	for (int s = HEALTH_PENDING; s < HEALTH_OWNER_STATES; s++)
		emit(b, "shoal_site_intents{state=\"%s\"} %u\n",
		     health_state_name((enum health_state)s), by[s]);
	family(b, "shoal_k8s_cluster", "gauge",
	       "1 when this site has a Kubernetes cluster configured (--kubeconfig).");
	emit(b, "shoal_k8s_cluster %d\n", node_reconcile_has_cluster(n) ? 1 : 0);
}

void node_api_metrics(struct node_http_req *req)
{
	struct node *n = req->ctx;
	const struct swim_stats *st = swim_stats(n->swim);
	const struct node_traffic *u = &n->transport.udp_traffic, *t = &n->transport.tcp_traffic;
	uint32_t counts[4] = {0, 0, 0, 0};
	struct shoal_buf b;

	swim_member_counts(n->swim, counts);
	shoal_buf_create(&b, METRICS_MAX);
	counter(&b, "shoal_probes_total", "Direct probes (pings) sent.", st->probes);
	counter(&b, "shoal_acks_total", "Acks received for our probes.", st->acks);
	counter(&b, "shoal_nacks_total", "Nacks received from indirect-probe helpers.", st->nacks);
	counter(&b, "shoal_indirect_probes_total", "Indirect probe rounds started.",
	        st->indirect_probes);
	counter(&b, "shoal_suspicions_total", "Members this node marked suspect.", st->suspicions);
	counter(&b, "shoal_refutations_total", "Suspicions about this node it refuted.",
	        st->refutations);
	counter(&b, "shoal_deaths_total", "Members this node marked dead.", st->deaths);
	counter(&b, "shoal_leaves_total", "Members this node saw leave.", st->leaves);
	counter(&b, "shoal_pushpulls_total", "Push-pull exchanges this node completed.",
	        st->pushpulls);
	by_transport(&b, "shoal_packets_received_total",
	             "Datagrams (udp) or stream frames (tcp) received.", u->packets_in,
	             t->packets_in);
	by_transport(&b, "shoal_packets_sent_total", "Datagrams (udp) or stream frames (tcp) sent.",
	             u->packets_out, t->packets_out);
	by_transport(&b, "shoal_bytes_received_total", "Bytes read from the gossip sockets.",
	             u->bytes_in, t->bytes_in);
	by_transport(&b, "shoal_bytes_sent_total", "Bytes written to the gossip sockets.",
	             u->bytes_out, t->bytes_out);
	counter(&b, "shoal_decode_failures_total", "Messages malformed after opening.",
	        st->decode_failures);
	counter(&b, "shoal_auth_failures_total",
	        "Messages no installed key opened (or of an unknown version).", st->auth_failures);
	counter(&b, "shoal_signature_failures_total", "Member records with a bad signature.",
	        st->signature_failures);
	counter(&b, "shoal_name_conflicts_total", "Records claiming a name bound to another key.",
	        st->name_conflicts);
	counter(&b, "shoal_stale_messages_total", "Well-formed messages older than what is held.",
	        st->stale);

	const struct intent_store_stats *is = intent_store_stats(n->intents);
	counter(&b, "shoal_intents_accepted_total",
	        "Intent envelopes verified, merged and committed (API and peers).", is->accepted);
	counter(&b, "shoal_intents_duplicate_total", "Intent envelopes already held.",
	        is->duplicates);
	family(&b, "shoal_intents_rejected_total", "counter",
	       "Intent envelopes refused, by reason (nothing stored).");
	for (int r = INTENT_R_MALFORMED; r < INTENT_R_COUNT; r++) {
		uint64_t v = is->rejected[r];
		if (r == INTENT_R_MALFORMED)
			v += n->intents_bad_requests;
		emit(&b, "shoal_intents_rejected_total{reason=\"%s\"} %llu\n",
		     intent_reason_name((enum intent_reason)r), (unsigned long long)v);
	}
	family(&b, "shoal_intents_gossip_rejected_total", "counter",
	       "Intent envelopes pulled from peers and refused, by reason (dropped; also in "
	       "shoal_intents_rejected_total).");
	for (int r = INTENT_R_MALFORMED; r < INTENT_R_COUNT; r++)
		emit(&b, "shoal_intents_gossip_rejected_total{reason=\"%s\"} %llu\n",
		     intent_reason_name((enum intent_reason)r),
		     (unsigned long long)node_intents_gossip_rejected(n, (enum intent_reason)r));
	counter(&b, "shoal_intents_pending_dropped_total",
	        "Pending intents evicted by the pending set's cap.", is->pending_dropped);
	counter(&b, "shoal_intents_collected_total", "Tombstones collected after the horizon.",
	        is->collected);
	family(&b, "shoal_intents", "gauge", "Intents held (tombstones included).");
	emit(&b, "shoal_intents %zu\n", intent_store_count(n->intents));
	size_t stubs = 0, whole_bytes = 0, stub_bytes = 0;
	for (size_t i = 0; i < intent_store_count(n->intents); i++) {
		const struct intent_item *it = intent_store_at(n->intents, i);
		stubs += it->stub;
		*(it->stub ? &stub_bytes : &whole_bytes) += node_intents_record_bytes(it);
	}
	family(&b, "shoal_intents_stubs", "gauge",
	       "Intents held as stubs, header only (a leaf's that do not select it).");
	emit(&b, "shoal_intents_stubs %zu\n", stubs);
	family(&b, "shoal_intents_stored_bytes", "gauge",
	       "Bytes of the intents' LMDB records, by what they hold.");
	emit(&b, "shoal_intents_stored_bytes{form=\"whole\"} %zu\n", whole_bytes);
	emit(&b, "shoal_intents_stored_bytes{form=\"stub\"} %zu\n", stub_bytes);
	counter(&b, "shoal_intents_stubbed_total",
	        "Intents committed as stubs or cut down to one (leaf mode).", is->stubbed);
	counter(&b, "shoal_intents_filled_total", "Stubs made whole again with their body.",
	        is->filled);
	counter(&b, "shoal_intents_bodies_wanted_total",
	        "Bodies of stubs that now select this leaf, asked of the replication service.",
	        n->leaf_bodies_wanted);
	family(&b, "shoal_intents_pending", "gauge", "Intents waiting for their signer's grant.");
	emit(&b, "shoal_intents_pending %zu\n", intent_store_pending(n->intents));

	site_intent_metrics(&b, n);
	family(&b, "shoal_trust_mismatched_members", "gauge",
	       "Live members whose trust roots differ from this node's.");
	emit(&b, "shoal_trust_mismatched_members %u\n", node_trust_mismatches(n));
	family(&b, "shoal_members", "gauge", "Members known, by state (self counted alive).");
	for (int s = SWIM_ALIVE; s <= SWIM_LEFT; s++)
		emit(&b, "shoal_members{state=\"%s\"} %u\n", swim_state_name((enum swim_state)s),
		     counts[s]);
	family(&b, "shoal_awareness", "gauge", "Lifeguard local health multiplier (0 = healthy).");
	emit(&b, "shoal_awareness %u\n", swim_awareness(n->swim));
	family(&b, "shoal_incarnation", "gauge", "This node's incarnation number.");
	emit(&b, "shoal_incarnation %u\n", swim_incarnation(n->swim));
	family(&b, "shoal_stream_connections", "gauge", "Open gossip stream connections.");
	emit(&b, "shoal_stream_connections %zu\n", node_transport_conns(&n->transport));
	if (n->replica != NULL)
		replica_metrics(&b, replica_stats(n->replica), replica_pending(n->replica));
	node_metrics_health(n, &b);

	node_alerts_metrics(n, &b);

	if (b.err != 0 || b.data == NULL) {
		shoal_buf_destroy(&b);
		node_http_error(req, 500, "internal", "metrics text exceeded its buffer");
		return;
	}
	/* Hand the buffer to the response as is (it is malloc'd). */
	req->text = (char *)b.data;
	req->text_len = b.len;
	req->content_type = "text/plain; version=0.0.4; charset=utf-8";
	req->status = 200;
}

/* The helpers for families emitted elsewhere (metrics_health.c). */
void node_metrics_emit(struct shoal_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emitv(b, fmt, ap);
	va_end(ap);
}

void node_metrics_family(struct shoal_buf *b, const char *name, const char *type, const char *help)
{
	family(b, name, type, help);
}

void node_metrics_counter(struct shoal_buf *b, const char *name, const char *help, uint64_t v)
{
	counter(b, name, help, v);
}
