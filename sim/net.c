/*
 * net.c - the virtual network: datagrams and reliable streams between
 * simulated nodes, with latency, loss, partitions, cuts and slow receivers.
 *
 * Shape (after tarantool's fakenet, grown for thousands of nodes):
 *   - Node i owns address 10.(i>>16).(i>>8).(i):7946, so mapping an address
 *     back to a node is arithmetic, not a table.
 *   - Per-node state is a small fixed record (counters, partition group, up
 *     flag, slow window, place). Latency comes from places, not links: each
 *     node has one value per latency tier (rack, region, ...), and a packet
 *     draws from the distribution of the innermost tier its two ends share,
 *     or the `other` one - O(N) memory for any N, where a table of
 *     cross-region links would be O(N^2). Per-link settings (latency, loss,
 *     cut) are rare, so they live in a sparse hash keyed by (from, to),
 *     consulted only when any exist: the common packet pays for no N^2
 *     anything.
 *   - Every packet in flight is an engine event carrying a heap copy of the
 *     bytes, also linked into a list so sim_net_delete can free what never
 *     arrived.
 *   - Reachability is checked when a packet is sent and again when it
 *     arrives, so a partition that starts while a packet is in the air
 *     loses it, as on a real wire. iid loss is drawn once, at send.
 *   - Streams behave like TCP connections as the core sees them: the opener
 *     names the conversation, the acceptor gets a fresh inbound id; messages
 *     arrive in order (each no earlier than the previous one on its
 *     direction) and are never lost. A partition, cut or crash met by a
 *     message breaks the stream, and each side whose core knows the
 *     conversation is told through stream_error after stream_fail_us (the
 *     time a real stack takes to give up). There is no bandwidth model:
 *     a large message costs its latency, not its size.
 *   - Slow nodes: while a node is slow every packet arriving at it is handled
 *     extra_us late, which is what a CPU-starved process does to its acks.
 * The net counts what it carries per node itself, so tests can check the
 * protocol's own counters against an independent witness.
 */
#include "shoal/sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"

#define RULES_MAX   ((size_t)1 << 22)
#define BUCKETS_MAX ((size_t)1 << 24)
#define MAX_NODES   ((uint32_t)1 << 24)

struct node_state {
	struct sim_net_counters c;         /* what this node sent and received */
	uint64_t slow_until;               /* end of the slow window (virtual us) */
	uint64_t slow_extra;               /* delay added to arrivals in the window */
	uint16_t group;                    /* partition group */
	uint16_t place[SIM_NET_TIERS_MAX]; /* value per latency tier */
	uint8_t up;                        /* 0 while crashed or stopped */
};

struct link_rule {
	uint64_t key;           /* (from << 32) | to */
	double loss;            /* extra iid loss on this link */
	struct sim_latency lat; /* latency when has_lat */
	uint8_t used;           /* slot holds a rule */
	uint8_t cut;            /* one-way cut */
	uint8_t has_lat;        /* lat overrides the default */
};

struct sim_stream;

/* One end of a conversation. */
struct side {
	struct side *hnext;    /* next in its lookup bucket */
	struct sim_stream *st; /* the conversation */
	uint64_t conv;         /* this node's id for it */
	uint64_t last_in;      /* latest arrival scheduled to this end */
	uint32_t node;         /* SIM_NO_NODE when the address matched no node */
	uint8_t which;         /* 0 opener, 1 acceptor */
	uint8_t known;         /* this node's core knows the conversation */
	uint8_t done;          /* closed, errored or its node went down */
	uint8_t hashed;        /* in the lookup table */
};

struct sim_stream {
	struct side side[2];            /* opener, acceptor */
	struct sim_stream *prev, *next; /* all streams */
	uint32_t inflight;              /* messages, error events or callbacks using it */
	bool broken;                    /* a partition, cut or crash ended it */
};

struct pkt {
	struct pkt *prev, *next; /* packets in flight */
	struct sim_stream *st;   /* stream message: its stream; datagram: NULL */
	uint32_t from, to;       /* node indexes */
	uint8_t to_side;         /* stream: which end receives */
	size_t len;              /* bytes in data */
	uint8_t data[];          /* the packet as sent */
};

struct sim_net {
	struct sim_engine *e;                       /* clock and event queue */
	struct sim_net_config cfg;                  /* defaults */
	struct sim_net_ops ops;                     /* where packets go */
	void *ctx;                                  /* for ops */
	struct sim_rng rng;                         /* latency and loss draws */
	uint32_t n;                                 /* nodes */
	struct node_state *nodes;                   /* [n] */
	bool partitioned;                           /* some node is outside group 0 */
	uint32_t ntiers;                            /* latency tiers set; 0 = cfg.latency for all */
	struct sim_latency tier[SIM_NET_TIERS_MAX]; /* innermost first */
	struct sim_latency other;                   /* ends that share no tier */

	struct link_rule *rules; /* open-addressed, rules_alloc slots */
	size_t rules_alloc;
	size_t rules_len;

	struct side **buckets;      /* stream ends by (node, conv) */
	size_t nbuckets;            /* power of two */
	size_t nsides;              /* ends in the table */
	struct sim_stream *streams; /* all live conversations */
	size_t nstreams;
	uint64_t inbound_serial; /* for acceptor ids */

	struct pkt *flight; /* packets in flight */
	size_t nflight;

	sim_net_tap_fn tap;
	void *tap_ctx;
};

/* ---- addresses ------------------------------------------------------------ */

void sim_net_addr(uint32_t node, struct shoal_addr *out)
{
	memset(out, 0, sizeof(*out));
	out->family = 4;
	out->port = SIM_NET_PORT;
	out->ip[0] = 10;
	out->ip[1] = (uint8_t)(node >> 16);
	out->ip[2] = (uint8_t)(node >> 8);
	out->ip[3] = (uint8_t)node;
}

int sim_net_node_of(const struct sim_net *n, const struct shoal_addr *a, uint32_t *node)
{
	if (a == NULL || a->family != 4 || a->port != SIM_NET_PORT || a->ip[0] != 10)
		return SHOAL_E_NOT_FOUND;
	uint32_t i = ((uint32_t)a->ip[1] << 16) | ((uint32_t)a->ip[2] << 8) | a->ip[3];
	if (i >= n->n)
		return SHOAL_E_NOT_FOUND;
	*node = i;
	return 0;
}

/* ---- link rules ----------------------------------------------------------- */

static uint64_t link_key(uint32_t from, uint32_t to)
{
	return ((uint64_t)from << 32) | to;
}

static struct link_rule *rule_find(const struct sim_net *n, uint32_t from, uint32_t to)
{
	if (n->rules_len == 0)
		return NULL;
	uint64_t key = link_key(from, to);
	size_t mask = n->rules_alloc - 1;
	for (size_t i = sim_hash_mix(0, key) & mask;; i = (i + 1) & mask) {
		struct link_rule *r = &n->rules[i];
		if (!r->used)
			return NULL;
		if (r->key == key)
			return r;
	}
}

static int rules_grow(struct sim_net *n)
{
	size_t alloc = n->rules_alloc ? n->rules_alloc * 2 : 64;
	if (alloc > RULES_MAX)
		return SHOAL_E_TOO_BIG;
	struct link_rule *r = calloc(alloc, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n->rules_alloc; i++) {
		if (!n->rules[i].used)
			continue;
		size_t j = sim_hash_mix(0, n->rules[i].key) & (alloc - 1);
		while (r[j].used)
			j = (j + 1) & (alloc - 1);
		r[j] = n->rules[i];
	}
	free(n->rules);
	n->rules = r;
	n->rules_alloc = alloc;
	return 0;
}

/* The rule for from -> to, created empty if absent. Rules are never removed:
 * a cleared rule stays as a harmless no-op (links are set a handful of times
 * per scenario). */
static int rule_get(struct sim_net *n, uint32_t from, uint32_t to, struct link_rule **out)
{
	if (from >= n->n || to >= n->n)
		return -EINVAL;
	struct link_rule *r = rule_find(n, from, to);
	if (r != NULL) {
		*out = r;
		return 0;
	}
	if ((n->rules_len + 1) * 2 > n->rules_alloc) {
		int rc = rules_grow(n);
		if (rc != 0)
			return rc;
	}
	uint64_t key = link_key(from, to);
	size_t mask = n->rules_alloc - 1;
	size_t i = sim_hash_mix(0, key) & mask;
	while (n->rules[i].used)
		i = (i + 1) & mask;
	r = &n->rules[i];
	memset(r, 0, sizeof(*r));
	r->used = 1;
	r->key = key;
	n->rules_len++;
	*out = r;
	return 0;
}

/* ---- reachability and timing ------------------------------------------------ */

static bool blocked(const struct sim_net *n, uint32_t from, uint32_t to)
{
	if (n->partitioned && n->nodes[from].group != n->nodes[to].group)
		return true;
	const struct link_rule *r = rule_find(n, from, to);
	return r != NULL && r->cut;
}

bool sim_net_reachable(const struct sim_net *n, uint32_t from, uint32_t to)
{
	if (from >= n->n || to >= n->n)
		return false;
	return n->nodes[from].up && n->nodes[to].up && !blocked(n, from, to);
}

/* The latency class of from -> to: the innermost tier both ends share. */
static const struct sim_latency *place_latency(const struct sim_net *n, uint32_t from, uint32_t to)
{
	if (n->ntiers == 0)
		return &n->cfg.latency;
	const uint16_t *a = n->nodes[from].place, *b = n->nodes[to].place;
	for (uint32_t t = 0; t < n->ntiers; t++)
		if (a[t] == b[t])
			return &n->tier[t];
	return &n->other;
}

/* When a packet sent now from -> to is handled by `to`. */
static uint64_t arrival(struct sim_net *n, uint32_t from, uint32_t to)
{
	const struct link_rule *r = rule_find(n, from, to);
	const struct sim_latency *lat =
	        (r != NULL && r->has_lat) ? &r->lat : place_latency(n, from, to);
	uint64_t at = sim_engine_now(n->e) + sim_latency_sample(lat, &n->rng);
	const struct node_state *dst = &n->nodes[to];
	if (dst->slow_extra > 0 && at < dst->slow_until)
		at += dst->slow_extra;
	return at;
}

static struct pkt *pkt_new(struct sim_net *n, uint32_t from, uint32_t to, const uint8_t *buf,
                           size_t len)
{
	struct pkt *p = malloc(sizeof(*p) + len);
	if (p == NULL)
		return NULL;
	p->st = NULL;
	p->from = from;
	p->to = to;
	p->to_side = 0;
	p->len = len;
	if (len > 0)
		memcpy(p->data, buf, len);
	p->prev = NULL;
	p->next = n->flight;
	if (n->flight != NULL)
		n->flight->prev = p;
	n->flight = p;
	n->nflight++;
	return p;
}

static void pkt_free(struct sim_net *n, struct pkt *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		n->flight = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	n->nflight--;
	free(p);
}

static void trace_packet(struct sim_net *n, const struct pkt *p, uint64_t kind)
{
	uint64_t h = sim_hash64(p->data, p->len, kind);
	sim_engine_trace_mix(n->e, link_key(p->from, p->to) ^ (h * 3));
}

/* ---- lifecycle ------------------------------------------------------------ */

int sim_net_new(struct sim_net **out, struct sim_engine *e, uint32_t nodes,
                const struct sim_net_config *cfg, const struct sim_net_ops *ops, void *ctx)
{
	if (nodes == 0 || nodes > MAX_NODES || !(cfg->loss >= 0.0 && cfg->loss <= 1.0))
		return -EINVAL;
	struct sim_net *n = calloc(1, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	n->nodes = calloc(nodes, sizeof(*n->nodes));
	n->nbuckets = 64;
	n->buckets = calloc(n->nbuckets, sizeof(*n->buckets));
	if (n->nodes == NULL || n->buckets == NULL) {
		free(n->nodes);
		free(n->buckets);
		free(n);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < nodes; i++)
		n->nodes[i].up = 1;
	n->e = e;
	n->cfg = *cfg;
	n->ops = *ops;
	n->ctx = ctx;
	n->n = nodes;
	sim_rng_seed(&n->rng, cfg->seed, SIM_RNG_STREAM(SIM_RNG_NET, 0));
	*out = n;
	return 0;
}

void sim_net_delete(struct sim_net *n)
{
	if (n == NULL)
		return;
	while (n->flight != NULL)
		pkt_free(n, n->flight);
	while (n->streams != NULL) {
		struct sim_stream *st = n->streams;
		n->streams = st->next;
		free(st);
	}
	free(n->buckets);
	free(n->rules);
	free(n->nodes);
	free(n);
}

uint32_t sim_net_size(const struct sim_net *n)
{
	return n->n;
}

size_t sim_net_node_bytes(void)
{
	return sizeof(struct node_state);
}

/* ---- datagrams ------------------------------------------------------------ */

static void deliver_datagram(void *arg, uint64_t data)
{
	struct sim_net *n = arg;
	struct pkt *p = (struct pkt *)(uintptr_t)data;
	struct node_state *src = &n->nodes[p->from];
	struct node_state *dst = &n->nodes[p->to];

	if (!dst->up) {
		src->c.dropped_down++;
	} else if (blocked(n, p->from, p->to)) {
		src->c.dropped_blocked++;
	} else {
		dst->c.dgrams_recv++;
		dst->c.dgram_bytes_recv += p->len;
		trace_packet(n, p, 1);
		n->ops.datagram(n->ctx, p->to, p->from, p->data, p->len);
	}
	pkt_free(n, p);
}

int sim_net_send_datagram(struct sim_net *n, uint32_t from, const struct shoal_addr *to,
                          const uint8_t *buf, size_t len)
{
	struct node_state *src = &n->nodes[from];
	uint32_t dst;

	if (!src->up) {
		src->c.dropped_down++;
		return 0;
	}
	src->c.dgrams_sent++;
	src->c.dgram_bytes_sent += len;
	if (sim_net_node_of(n, to, &dst) != 0) {
		src->c.dropped_blocked++;
		return 0;
	}
	if (n->tap != NULL)
		n->tap(n->tap_ctx, from, dst, false, buf, len);

	double p = n->cfg.loss;
	const struct link_rule *r = rule_find(n, from, dst);
	if (r != NULL && r->loss > 0.0)
		p = 1.0 - (1.0 - p) * (1.0 - r->loss);
	if (p > 0.0 && sim_rng_double(&n->rng) < p) {
		src->c.dropped_loss++;
		return 0;
	}
	if (blocked(n, from, dst)) {
		src->c.dropped_blocked++;
		return 0;
	}
	if (!n->nodes[dst].up) {
		src->c.dropped_down++;
		return 0;
	}
	uint64_t at = arrival(n, from, dst);
	struct pkt *pk = pkt_new(n, from, dst, buf, len);
	if (pk == NULL)
		return -ENOMEM;
	int rc = sim_engine_at(n->e, at, deliver_datagram, n, (uint64_t)(uintptr_t)pk);
	if (rc != 0)
		pkt_free(n, pk);
	return rc;
}

/* ---- streams -------------------------------------------------------------- */

static size_t bucket_of(const struct sim_net *n, uint32_t node, uint64_t conv)
{
	return sim_hash_mix(node, conv) & (n->nbuckets - 1);
}

static struct side *side_find(const struct sim_net *n, uint32_t node, uint64_t conv)
{
	for (struct side *s = n->buckets[bucket_of(n, node, conv)]; s != NULL; s = s->hnext)
		if (s->node == node && s->conv == conv)
			return s;
	return NULL;
}

static void buckets_grow(struct sim_net *n)
{
	size_t nb = n->nbuckets * 2;
	if (nb > BUCKETS_MAX)
		return; /* chains just get longer */
	struct side **b = calloc(nb, sizeof(*b));
	if (b == NULL)
		return;
	for (size_t i = 0; i < n->nbuckets; i++) {
		struct side *s = n->buckets[i];
		while (s != NULL) {
			struct side *next = s->hnext;
			size_t j = sim_hash_mix(s->node, s->conv) & (nb - 1);
			s->hnext = b[j];
			b[j] = s;
			s = next;
		}
	}
	free(n->buckets);
	n->buckets = b;
	n->nbuckets = nb;
}

static void side_hash(struct sim_net *n, struct side *s)
{
	if (n->nsides + 1 > n->nbuckets)
		buckets_grow(n);
	size_t b = bucket_of(n, s->node, s->conv);
	s->hnext = n->buckets[b];
	n->buckets[b] = s;
	s->hashed = 1;
	n->nsides++;
}

static void side_unhash(struct sim_net *n, struct side *s)
{
	if (!s->hashed)
		return;
	struct side **pp = &n->buckets[bucket_of(n, s->node, s->conv)];
	while (*pp != s)
		pp = &(*pp)->hnext;
	*pp = s->hnext;
	s->hashed = 0;
	n->nsides--;
}

static void side_done(struct sim_net *n, struct side *s)
{
	s->done = 1;
	side_unhash(n, s);
}

/* Free a conversation nobody can use any more. */
static void stream_maybe_free(struct sim_net *n, struct sim_stream *st)
{
	if (st->inflight > 0 || !st->side[0].done)
		return;
	if (!st->side[1].done && st->side[1].known)
		return;
	side_unhash(n, &st->side[0]);
	side_unhash(n, &st->side[1]);
	if (st->prev != NULL)
		st->prev->next = st->next;
	else
		n->streams = st->next;
	if (st->next != NULL)
		st->next->prev = st->prev;
	n->nstreams--;
	free(st);
}

static void stream_error_fire(void *arg, uint64_t data)
{
	struct sim_net *n = arg;
	struct side *s = (struct side *)(uintptr_t)data;
	struct sim_stream *st = s->st;

	if (!s->done) {
		side_done(n, s);
		n->nodes[s->node].c.stream_errors++;
		sim_engine_trace_mix(n->e, s->conv ^ ((uint64_t)s->node << 40) ^ 0xE77);
		n->ops.stream_error(n->ctx, s->node, s->conv);
	}
	st->inflight--;
	stream_maybe_free(n, st);
}

/* The conversation broke: every end whose core knows it hears so after
 * stream_fail_us; ends that never saw a message simply vanish. */
static void stream_break(struct sim_net *n, struct sim_stream *st)
{
	if (st->broken)
		return;
	st->broken = true;
	for (int w = 0; w < 2; w++) {
		struct side *s = &st->side[w];
		if (s->done)
			continue;
		if (!s->known) {
			side_done(n, s);
			continue;
		}
		st->inflight++;
		if (sim_engine_at(n->e, sim_engine_now(n->e) + n->cfg.stream_fail_us,
		                  stream_error_fire, n, (uint64_t)(uintptr_t)s) != 0) {
			/* Out of event space: report it now rather than never. */
			stream_error_fire(n, (uint64_t)(uintptr_t)s);
		}
	}
}

static struct sim_stream *stream_open(struct sim_net *n, uint32_t from, uint64_t conv, uint32_t to)
{
	struct sim_stream *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return NULL;
	st->side[0] = (struct side){.st = st, .conv = conv, .node = from, .which = 0, .known = 1};
	st->side[1] = (struct side){
	        .st = st, .conv = SHOAL_CONV_INBOUND | ++n->inbound_serial, .node = to, .which = 1};
	side_hash(n, &st->side[0]);
	if (to != SIM_NO_NODE)
		side_hash(n, &st->side[1]);
	else
		st->side[1].done = 1;
	st->next = n->streams;
	if (n->streams != NULL)
		n->streams->prev = st;
	n->streams = st;
	n->nstreams++;
	return st;
}

static void deliver_stream(void *arg, uint64_t data)
{
	struct sim_net *n = arg;
	struct pkt *p = (struct pkt *)(uintptr_t)data;
	struct sim_stream *st = p->st;
	struct side *dst = &st->side[p->to_side];

	if (st->broken || dst->done) {
		/* Broken: its ends were told. Closed by the receiver: dropped. */
	} else if (!n->nodes[p->to].up || blocked(n, p->from, p->to)) {
		n->nodes[p->from].c.dropped_blocked++;
		stream_break(n, st);
	} else {
		struct node_state *ns = &n->nodes[p->to];
		dst->known = 1;
		ns->c.stream_msgs_recv++;
		ns->c.stream_bytes_recv += p->len;
		trace_packet(n, p, 2);
		n->ops.stream(n->ctx, p->to, dst->conv, p->from, p->data, p->len);
	}
	/* Held until here so a close inside the callback cannot free it. */
	st->inflight--;
	pkt_free(n, p);
	stream_maybe_free(n, st);
}

int sim_net_stream_send(struct sim_net *n, uint32_t from, uint64_t conv,
                        const struct shoal_addr *to, const uint8_t *buf, size_t len)
{
	struct node_state *src = &n->nodes[from];
	struct side *s;

	if (!src->up)
		return -EPIPE;
	s = side_find(n, from, conv);
	if (s == NULL) {
		uint32_t dst = SIM_NO_NODE;
		if (conv & SHOAL_CONV_INBOUND)
			return -ENOTCONN;
		if (sim_net_node_of(n, to, &dst) != 0)
			dst = SIM_NO_NODE;
		struct sim_stream *st = stream_open(n, from, conv, dst);
		if (st == NULL)
			return -ENOMEM;
		s = &st->side[0];
	}
	struct sim_stream *st = s->st;
	struct side *peer = &st->side[1 - s->which];

	if (st->broken) {
		/* Failed synchronously: the core gives up now, so the pending
		 * error report for this end is dropped. */
		side_done(n, s);
		stream_maybe_free(n, st);
		return -EPIPE;
	}
	src->c.stream_msgs_sent++;
	src->c.stream_bytes_sent += len;
	if (n->tap != NULL)
		n->tap(n->tap_ctx, from, peer->node, true, buf, len);
	if (peer->node == SIM_NO_NODE || !n->nodes[peer->node].up || blocked(n, from, peer->node)) {
		if (peer->node == SIM_NO_NODE || blocked(n, from, peer->node))
			src->c.dropped_blocked++;
		else
			src->c.dropped_down++;
		stream_break(n, st);
		stream_maybe_free(n, st);
		return 0;
	}
	if (peer->done)
		return 0; /* the peer closed its end; nobody reads this */

	uint64_t at = arrival(n, from, peer->node);
	if (at < peer->last_in)
		at = peer->last_in; /* in order on each direction */
	peer->last_in = at;
	struct pkt *pk = pkt_new(n, from, peer->node, buf, len);
	if (pk == NULL)
		return -ENOMEM;
	pk->st = st;
	pk->to_side = peer->which;
	st->inflight++;
	int rc = sim_engine_at(n->e, at, deliver_stream, n, (uint64_t)(uintptr_t)pk);
	if (rc != 0) {
		st->inflight--;
		pkt_free(n, pk);
	}
	return rc;
}

void sim_net_stream_close(struct sim_net *n, uint32_t node, uint64_t conv)
{
	struct side *s = side_find(n, node, conv);
	if (s == NULL)
		return;
	side_done(n, s);
	stream_maybe_free(n, s->st);
}

size_t sim_net_streams(const struct sim_net *n)
{
	return n->nstreams;
}

/* ---- node state and link settings ------------------------------------------ */

void sim_net_set_up(struct sim_net *n, uint32_t node, bool up)
{
	if (node >= n->n)
		return;
	n->nodes[node].up = up ? 1 : 0;
	if (up)
		return;
	/* Its ends vanish without a word; the peers' stacks notice. */
	struct sim_stream *st = n->streams;
	while (st != NULL) {
		struct sim_stream *next = st->next;
		bool mine = false;
		for (int w = 0; w < 2; w++) {
			struct side *s = &st->side[w];
			if (s->node == node && !s->done) {
				side_done(n, s);
				mine = true;
			}
		}
		if (mine) {
			stream_break(n, st);
			stream_maybe_free(n, st);
		}
		st = next;
	}
}

bool sim_net_is_up(const struct sim_net *n, uint32_t node)
{
	return node < n->n && n->nodes[node].up;
}

void sim_net_set_loss(struct sim_net *n, double p)
{
	if (p < 0.0)
		p = 0.0;
	if (p > 1.0)
		p = 1.0;
	n->cfg.loss = p;
}

int sim_net_set_link_loss(struct sim_net *n, uint32_t from, uint32_t to, double p)
{
	struct link_rule *r;
	if (!(p >= 0.0 && p <= 1.0))
		return -EINVAL;
	int rc = rule_get(n, from, to, &r);
	if (rc == 0)
		r->loss = p;
	return rc;
}

int sim_net_set_link_latency(struct sim_net *n, uint32_t from, uint32_t to,
                             const struct sim_latency *lat)
{
	struct link_rule *r;
	int rc = rule_get(n, from, to, &r);
	if (rc != 0)
		return rc;
	if (lat != NULL) {
		r->lat = *lat;
		r->has_lat = 1;
	} else {
		r->has_lat = 0;
	}
	return 0;
}

int sim_net_set_tiers(struct sim_net *n, uint32_t ntiers, const struct sim_latency *tier,
                      const struct sim_latency *other)
{
	if (ntiers > SIM_NET_TIERS_MAX || (ntiers > 0 && (tier == NULL || other == NULL)))
		return -EINVAL;
	for (uint32_t t = 0; t < ntiers; t++)
		n->tier[t] = tier[t];
	if (ntiers > 0)
		n->other = *other;
	n->ntiers = ntiers;
	return 0;
}

int sim_net_set_place(struct sim_net *n, uint32_t node, uint32_t tier, uint16_t value)
{
	if (node >= n->n || tier >= SIM_NET_TIERS_MAX)
		return -EINVAL;
	n->nodes[node].place[tier] = value;
	return 0;
}

int sim_net_cut(struct sim_net *n, uint32_t from, uint32_t to, bool cut)
{
	struct link_rule *r;
	int rc = rule_get(n, from, to, &r);
	if (rc == 0)
		r->cut = cut ? 1 : 0;
	return rc;
}

void sim_net_set_group(struct sim_net *n, uint32_t node, uint16_t group)
{
	if (node >= n->n)
		return;
	n->nodes[node].group = group;
	if (group != 0)
		n->partitioned = true;
}

uint16_t sim_net_group(const struct sim_net *n, uint32_t node)
{
	return node < n->n ? n->nodes[node].group : 0;
}

void sim_net_heal(struct sim_net *n)
{
	for (uint32_t i = 0; i < n->n; i++)
		n->nodes[i].group = 0;
	n->partitioned = false;
}

void sim_net_slow(struct sim_net *n, uint32_t node, uint64_t extra_us, uint64_t until)
{
	if (node >= n->n)
		return;
	n->nodes[node].slow_extra = extra_us;
	n->nodes[node].slow_until = extra_us > 0 ? until : 0;
}

const struct sim_net_counters *sim_net_counters(const struct sim_net *n, uint32_t node)
{
	return &n->nodes[node].c;
}

void sim_net_totals(const struct sim_net *n, struct sim_net_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < n->n; i++) {
		const struct sim_net_counters *c = &n->nodes[i].c;
		out->dgrams_sent += c->dgrams_sent;
		out->dgram_bytes_sent += c->dgram_bytes_sent;
		out->dgrams_recv += c->dgrams_recv;
		out->dgram_bytes_recv += c->dgram_bytes_recv;
		out->stream_msgs_sent += c->stream_msgs_sent;
		out->stream_bytes_sent += c->stream_bytes_sent;
		out->stream_msgs_recv += c->stream_msgs_recv;
		out->stream_bytes_recv += c->stream_bytes_recv;
		out->dropped_loss += c->dropped_loss;
		out->dropped_blocked += c->dropped_blocked;
		out->dropped_down += c->dropped_down;
		out->stream_errors += c->stream_errors;
	}
}

void sim_net_set_tap(struct sim_net *n, sim_net_tap_fn fn, void *ctx)
{
	n->tap = fn;
	n->tap_ctx = ctx;
}
