/*
 * pushpull.c - anti-entropy over streams, digest first.
 *
 * memberlist's push-pull sends the whole member list both ways every 30 s
 * and more; at 10k members that is megabytes per exchange (consul#4511).
 * Here the client first sends a digest: members are spread over B buckets
 * by a hash of their name, and each bucket is summarised by the XOR of a
 * hash of (name, incarnation, state) over its members. The server answers
 * with its entries for the buckets whose summaries differ, the client
 * merges them and sends its own entries for the same buckets, and closes:
 *
 *   C -> S   PP_HELLO  [20, join, B, hashes[B]]
 *   S -> C   PP_STATES [21, B, differing buckets, S's entries in them]
 *   C -> S   PP_STATES [21, B, the same buckets,  C's entries in them]
 *
 * A converged pair exchanges the digest (8 bytes per bucket, B ~ N/8 up to
 * 1024) and two empty lists. A join sets `join`: the server then treats
 * every bucket (of a B it picks for its own size) as differing.
 *
 * Hashes are crypto_shorthash (SipHash-2-4) under an all-zero key: a
 * checksum both sides must compute alike, not a MAC (the stream is sealed).
 *   bucket(m) = LE64(shorthash(name)) mod B
 *   H(m)      = LE64(shorthash(name || BE32(incarnation) || state))
 *
 * Entries carry the member's last signed ALIVE record whatever the state,
 * so the receiver checks the signature and the name's key binding exactly
 * as for gossip. A message is capped at SWIM_STREAM_MAX; if the differing
 * buckets do not fit, the sender lists only the prefix that does and the
 * rest is caught up at the next exchange.
 */
#include "swim_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "shoal/error.h"

static const uint8_t zero_key[crypto_shorthash_KEYBYTES];

/* Entries a push-pull merge re-gossips at most (see merge_states). */
#define SWIM_PP_REGOSSIP_MAX 256

/* Fixed bytes a PP_STATES head may take before the index list. */
#define STATES_HEAD_BYTES 16

uint32_t swim_pp_bucket_count(uint32_t n)
{
	uint32_t b = 1;
	while (b < SWIM_PP_BUCKETS_MAX && (uint64_t)b * 2 * 8 <= n)
		b *= 2;
	return b;
}

uint64_t swim_pp_member_hash(const struct swim_pool_name *n, uint32_t inc, uint8_t state)
{
	uint8_t buf[SWIM_NAME_MAX + 5], h[crypto_shorthash_BYTES];
	uint64_t v = 0;
	memcpy(buf, n->str, n->len);
	buf[n->len + 0] = (uint8_t)(inc >> 24);
	buf[n->len + 1] = (uint8_t)(inc >> 16);
	buf[n->len + 2] = (uint8_t)(inc >> 8);
	buf[n->len + 3] = (uint8_t)inc;
	buf[n->len + 4] = state;
	crypto_shorthash(h, buf, (size_t)n->len + 5, zero_key);
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | h[i];
	return v;
}

uint64_t swim_pp_interval(const struct swim *s)
{
	uint64_t base = s->cfg.pushpull_interval_us;
	uint32_t n = swim_live_count(s);
	if (n <= 32)
		return base;
	/* memberlist: one more interval per doubling past 32 members. */
	uint64_t mult = (uint64_t)ceil(log2((double)n) - log2(32.0)) + 1;
	return base * mult;
}

/* ---- conversations ----------------------------------------------------- */

static struct swim_conv *conv_find(struct swim *s, uint64_t conv)
{
	for (uint32_t i = 0; i < SWIM_CONVS_MAX; i++)
		if (s->convs[i].role != CONV_FREE && s->convs[i].conv == conv)
			return &s->convs[i];
	return NULL;
}

static struct swim_conv *conv_alloc(struct swim *s)
{
	for (uint32_t i = 0; i < SWIM_CONVS_MAX; i++)
		if (s->convs[i].role == CONV_FREE)
			return &s->convs[i];
	return NULL;
}

/* End a conversation; a client-side end that did not complete is a failure. */
static void conv_end(struct swim *s, struct swim_conv *c, bool failed, bool close)
{
	if (failed && c->role == CONV_CLIENT)
		s->stats.pushpull_failures++;
	if (close)
		s->env->stream_close(s->env->ctx, c->conv);
	memset(c, 0, sizeof(*c));
	s->nconvs--;
}

/* Seal and send one stream message. */
static int stream_send(struct swim *s, uint64_t conv, const struct shoal_addr *to,
                       const struct shoal_buf *b)
{
	size_t cap = b->len + SHOAL_SEAL_OVERHEAD, outlen;
	uint8_t *out = malloc(cap);
	int rc;

	if (out == NULL)
		return -ENOMEM;
	rc = shoal_seal(s->kr, s->env, b->data, b->len, out, cap, &outlen);
	if (rc == 0) {
		s->stats.stream_msgs_out++;
		s->stats.stream_bytes_out += outlen;
		rc = s->env->stream_send(s->env->ctx, conv, to, out, outlen);
	}
	free(out);
	return rc;
}

/* ---- digests and entries ----------------------------------------------- */

/* XOR of member hashes per bucket. */
static void bucket_hashes(const struct swim *s, uint32_t buckets, uint64_t *out)
{
	memset(out, 0, (size_t)buckets * sizeof(*out));
	for (uint32_t id = 0; id < s->members_alloc; id++) {
		const struct swim_member *m = &s->members[id];
		if (m->rec == 0)
			continue;
		const struct swim_pool_name *n = swim_pool_name(s->pool, id);
		const struct swim_record *r = swim_member_record(s, m);
		uint64_t h = m->state == SWIM_ALIVE && m->incarnation == r->incarnation
		                     ? r->alive_hash
		                     : swim_pp_member_hash(n, m->incarnation, m->state);
		out[n->hash & (buckets - 1)] ^= h;
	}
}

/* Encode PP_STATES with our entries for the listed buckets, keeping only
 * the prefix of the list that fits SWIM_STREAM_MAX. */
static int build_states(struct swim *s, uint32_t buckets, const uint32_t *idx, uint32_t nidx,
                        struct shoal_buf *b)
{
	uint64_t *bytes = calloc(buckets, sizeof(*bytes));
	uint32_t *count = calloc(buckets, sizeof(*count));
	uint8_t *sel = calloc(buckets, 1);
	uint32_t *chosen = calloc(buckets, sizeof(*chosen));
	uint32_t nsel = 0, nentries = 0;
	uint64_t total = STATES_HEAD_BYTES;
	int rc = -ENOMEM;

	if (bytes == NULL || count == NULL || sel == NULL || chosen == NULL)
		goto out;
	for (uint32_t id = 0; id < s->members_alloc; id++) {
		const struct swim_member *m = &s->members[id];
		if (m->rec == 0)
			continue;
		uint32_t bk = (uint32_t)swim_pool_name(s->pool, id)->hash & (buckets - 1);
		bytes[bk] +=
		        swim_proto_entry_size(m->incarnation, swim_member_record(s, m)->body_len);
		count[bk]++;
	}
	for (uint32_t i = 0; i < nidx; i++) {
		if (idx[i] >= buckets || sel[idx[i]])
			continue; /* a peer's list may repeat an index */
		/* 3 bytes for the index itself, 5 for a large entry count. */
		if (total + 3 + 5 + bytes[idx[i]] > SWIM_STREAM_MAX)
			break;
		total += 3 + bytes[idx[i]];
		sel[idx[i]] = 1;
		chosen[nsel++] = idx[i];
		nentries += count[idx[i]];
	}
	if ((rc = swim_proto_encode_states_head(b, buckets, chosen, nsel, nentries)) < 0)
		goto out;
	for (uint32_t id = 0; id < s->members_alloc && nentries > 0; id++) {
		const struct swim_member *m = &s->members[id];
		if (m->rec == 0 || !sel[swim_pool_name(s->pool, id)->hash & (buckets - 1)])
			continue;
		const struct swim_record *r = swim_member_record(s, m);
		if ((rc = swim_proto_encode_entry(b, m->state, m->incarnation, r->body, r->body_len,
		                                  r->sig)) < 0)
			goto out;
	}
	rc = b->err;
out:
	free(bytes);
	free(count);
	free(sel);
	free(chosen);
	return rc;
}

/* A pushed SUSPECT, DEAD or LEFT entry about a member we hold dead or left.
 * Its record may be newer than ours (the member refuted our verdict, then
 * was accused or died again), but the entry is no news of life, so it must
 * not pass through the ALIVE rule: that made the member alive, emitted
 * SWIM_EV_ALIVE and queued its ALIVE, which revived it at every node that
 * held it dead at the older incarnation - crashed members "came back" in
 * the simulator minutes after the crash, one push-pull after another. It
 * stays as it is, at the newer incarnation and record, so that digests
 * agree again. memberlist likewise ignores suspicion of a dead node. */
static void gone_entry(struct swim *s, uint32_t id, struct swim_member *m, uint32_t rid,
                       uint32_t inc)
{
	const struct swim_record *r = swim_pool_record(s->pool, rid);
	const struct swim_record *held = swim_member_record(s, m);
	if (memcmp(swim_record_pubkey(held), swim_record_pubkey(r), SWIM_PK_LEN) != 0)
		return; /* another key's record: the name stays bound */
	if (inc <= m->incarnation) {
		if (inc < m->incarnation)
			s->stats.stale++;
		return;
	}
	if (r->incarnation > held->incarnation) {
		swim_pool_record_ref(s->pool, rid);
		swim_pool_record_unref(s->pool, m->rec - 1);
		m->rec = rid + 1;
		swim_member_note_quiet(s, m);
	}
	m->incarnation = inc;
	/* Spread the death at the newer incarnation: a node that holds the
	 * member alive there (it heard the refutation, not the accusation)
	 * drops a DEAD at the older one as stale and would otherwise wait for
	 * its own probe or a periodic push-pull (minutes at 1,000 members).
	 * Even in a bulk merge: it is one small accusation about a member that
	 * refuted and then died, rare, and no other message carries it. */
	if (m->state == SWIM_DEAD)
		swim_bcast_accuse(s, SWIM_MSG_DEAD, id, inc, s->self_id);
}

/* Merge one pushed entry under the gossip rules. */
static void merge_entry(struct swim *s, uint64_t now, const struct swim_pp_entry *e,
                        bool rebroadcast)
{
	uint32_t rid;
	bool verified;
	int rc = swim_pool_record_get(s->pool, s->env, e->body, e->body_len, e->sig, &e->alive,
	                              &rid, &verified);
	if (rc == SHOAL_E_SIGNATURE) {
		s->stats.signature_failures++;
		return;
	}
	if (rc < 0)
		return;
	const struct swim_record *r = swim_pool_record(s->pool, rid);
	uint32_t id = r->name_id;
	struct swim_member *m = swim_member_at(s, id);

	/* Someone else's memory of a member we never knew: not news to act on. */
	if (m == NULL && (e->state == SWIM_DEAD || e->state == SWIM_LEFT))
		goto done;
	if (e->state != SWIM_ALIVE && m != NULL &&
	    (m->state == SWIM_DEAD || m->state == SWIM_LEFT)) {
		gone_entry(s, id, m, rid, e->incarnation);
		goto done;
	}
	swim_apply_alive(s, now, rid, rebroadcast);
	m = swim_member_at(s, id);
	if (e->state == SWIM_ALIVE || m == NULL)
		goto done;
	/* The record lost the name binding (conflict reported): ignore the rest. */
	if (memcmp(swim_record_pubkey(swim_member_record(s, m)), swim_record_pubkey(r),
	           SWIM_PK_LEN) != 0)
		goto done;
	if (e->state == SWIM_LEFT) {
		swim_apply_left(s, now, id, e->incarnation, NULL, 0);
	} else {
		/* Like memberlist, a pushed DEAD only makes us suspect: the member
		 * gets its chance to refute, and our own timer decides. */
		swim_apply_suspect(s, now, id, e->incarnation, s->self_id, false);
	}
done:
	swim_pool_record_unref(s->pool, rid);
}

/* Merge a peer's entries. What they change is queued for gossip, as
 * memberlist does: members that joined moments ago are news to the nodes
 * that joined before them, and every node that learns of a member must
 * spread it, or some node misses it until the next push-pull (in a 100-node
 * cold start over 5 s, two runs in three left a node missing a member for
 * 10 s without this). A message of more than SWIM_PP_REGOSSIP_MAX entries
 * is a bulk transfer (a join into a large mesh, or either side of an
 * exchange between tables that differ widely) and stays quiet: re-sending
 * thousands of records seven to ten to a datagram would fill every gossip round
 * for minutes with records that push-pull carries far more cheaply. */
static void merge_states(struct swim *s, uint64_t now, const struct swim_pp_states *st)
{
	const uint8_t *pos = st->ent_pos;
	struct swim_pp_entry e;
	bool rebroadcast = st->nentries <= SWIM_PP_REGOSSIP_MAX;
	for (uint32_t i = 0; i < st->nentries; i++) {
		if (swim_proto_pp_next_entry(&pos, st->end, &e) < 0)
			return;
		merge_entry(s, now, &e, rebroadcast);
	}
}

/* ---- client ------------------------------------------------------------ */

/* Buckets of the digest an exchange opens with. A join asks for everything
 * (the server picks B). A catch-up expects a few scattered differences, so
 * it uses four times the periodic count: a difference then ships a bucket of
 * two to four members instead of eight to sixteen, for 8 more bytes of
 * digest per 2-4 members. */
static uint32_t hello_buckets(const struct swim *s, enum swim_pp_kind kind)
{
	uint32_t b = swim_pp_bucket_count(swim_known_count(s));
	if (kind == SWIM_PP_JOIN)
		return 1;
	if (kind == SWIM_PP_CATCHUP)
		b = b * 4 < SWIM_PP_BUCKETS_MAX ? b * 4 : SWIM_PP_BUCKETS_MAX;
	return b;
}

int swim_pp_start(struct swim *s, uint64_t now, const struct shoal_addr *peer,
                  enum swim_pp_kind kind, int seed)
{
	struct swim_conv *c = conv_alloc(s);
	struct shoal_buf b;
	uint64_t *hashes = NULL;
	bool join = kind == SWIM_PP_JOIN;
	uint32_t buckets = hello_buckets(s, kind);
	int rc;

	if (c == NULL)
		return SHOAL_E_TOO_BIG;
	hashes = calloc(buckets, sizeof(*hashes));
	if (hashes == NULL)
		return -ENOMEM;
	if (!join)
		bucket_hashes(s, buckets, hashes);
	shoal_buf_create(&b, SWIM_STREAM_MAX);
	rc = swim_proto_encode_hello(&b, join, buckets, hashes);
	free(hashes);

	c->conv = ++s->next_conv & ~SHOAL_CONV_INBOUND;
	c->role = CONV_CLIENT;
	s->nconvs++;
	c->peer = *peer;
	c->join = join;
	c->seed = (int16_t)seed;
	c->deadline = now + 10 * s->cfg.probe_timeout_us;
	if (rc == 0)
		rc = stream_send(s, c->conv, peer, &b);
	shoal_buf_destroy(&b);
	if (rc < 0)
		conv_end(s, c, true, true);
	return rc;
}

static void client_on_states(struct swim *s, uint64_t now, struct swim_conv *c,
                             const uint8_t *plain, size_t len)
{
	struct swim_pp_states st;
	struct shoal_buf b;
	uint32_t idx[SWIM_PP_BUCKETS_MAX];
	const uint8_t *pos;
	int rc;

	if (swim_proto_decode_states(plain, len, &st) < 0) {
		s->stats.decode_failures++;
		conv_end(s, c, true, true);
		return;
	}
	merge_states(s, now, &st);

	pos = st.idx_pos;
	for (uint32_t i = 0; i < st.nidx; i++)
		swim_proto_pp_next_index(&pos, st.end, &idx[i]);
	shoal_buf_create(&b, SWIM_STREAM_MAX);
	rc = build_states(s, st.buckets, idx, st.nidx, &b);
	if (rc == 0)
		rc = stream_send(s, c->conv, &c->peer, &b);
	shoal_buf_destroy(&b);
	if (rc == 0)
		s->stats.pushpulls++;
	struct shoal_addr peer = c->peer;
	bool joined = rc == 0 && c->join;
	if (joined)
		swim_catchup_start(s, now);
	conv_end(s, c, rc < 0, true);
	/* After the conversation is ended: the service may open streams of
	 * its own (replica.c starts anti-entropy with the seed). */
	if (joined)
		swim_user_joined(s, now, &peer);
}

/* ---- server ------------------------------------------------------------ */

static void server_on_hello(struct swim *s, uint64_t now, uint64_t conv,
                            const struct shoal_addr *from, const uint8_t *plain, size_t len)
{
	struct swim_pp_hello h;
	struct shoal_buf b;
	uint32_t idx[SWIM_PP_BUCKETS_MAX], nidx = 0;
	uint64_t *ours;
	int rc;

	if (swim_proto_decode_hello(plain, len, &h) < 0) {
		s->stats.decode_failures++;
		s->env->stream_close(s->env->ctx, conv);
		return;
	}
	uint32_t buckets = h.join ? swim_pp_bucket_count(swim_known_count(s)) : h.buckets;
	ours = calloc(buckets, sizeof(*ours));
	if (ours == NULL) {
		s->env->stream_close(s->env->ctx, conv);
		return;
	}
	bucket_hashes(s, buckets, ours);
	for (uint32_t i = 0; i < buckets; i++) {
		uint64_t theirs = 0;
		for (int j = 0; j < 8 && !h.join; j++)
			theirs = (theirs << 8) | h.hashes[8 * i + (uint32_t)j];
		if (h.join || theirs != ours[i])
			idx[nidx++] = i;
	}
	free(ours);

	shoal_buf_create(&b, SWIM_STREAM_MAX);
	rc = build_states(s, buckets, idx, nidx, &b);
	if (rc == 0)
		rc = stream_send(s, conv, from, &b);
	shoal_buf_destroy(&b);
	if (rc < 0) {
		s->env->stream_close(s->env->ctx, conv);
		return;
	}
	/* Track it to close it if the client stalls. With the table full (a
	 * burst of joins at a seed) it goes untracked: the client's half is
	 * still merged when it comes, and a stall is left to the driver. */
	struct swim_conv *c = conv_alloc(s);
	if (c == NULL)
		return;
	c->conv = conv;
	c->role = CONV_SERVER;
	s->nconvs++;
	c->peer = *from;
	c->seed = -1;
	c->deadline = now + 10 * s->cfg.probe_timeout_us;
}

void swim_pp_on_stream(struct swim *s, uint64_t now, uint64_t conv, const struct shoal_addr *from,
                       const uint8_t *plain, size_t len)
{
	struct swim_conv *c = conv_find(s, conv);
	int type = swim_proto_stream_type(plain, len);

	if (type == SWIM_PP_HELLO && (conv & SHOAL_CONV_INBOUND) && c == NULL) {
		server_on_hello(s, now, conv, from, plain, len);
		return;
	}
	if (type == SWIM_PP_STATES && c != NULL && c->role == CONV_CLIENT) {
		client_on_states(s, now, c, plain, len);
		return;
	}
	if (type == SWIM_PP_STATES &&
	    (c != NULL ? c->role == CONV_SERVER : (conv & SHOAL_CONV_INBOUND) != 0)) {
		struct swim_pp_states st;
		if (swim_proto_decode_states(plain, len, &st) < 0)
			s->stats.decode_failures++;
		else
			merge_states(s, now, &st);
		if (c != NULL)
			conv_end(s, c, false, true);
		else
			s->env->stream_close(s->env->ctx, conv);
		return;
	}
	/* Out of turn, malformed, or for a conversation already given up. */
	s->stats.decode_failures++;
	if (c != NULL)
		conv_end(s, c, true, true);
	else if (conv & SHOAL_CONV_INBOUND)
		s->env->stream_close(s->env->ctx, conv);
}

void swim_pp_on_error(struct swim *s, uint64_t now, uint64_t conv, bool close)
{
	(void)now;
	struct swim_conv *c = conv_find(s, conv);
	if (c != NULL)
		conv_end(s, c, true, close);
	else if (close)
		s->env->stream_close(s->env->ctx, conv);
}

/* ---- timers ------------------------------------------------------------ */

static uint32_t others_live(const struct swim *s)
{
	uint32_t n = swim_live_count(s);
	return s->left ? n : n - 1;
}

static bool join_pending(const struct swim *s, int seed)
{
	for (uint32_t i = 0; i < SWIM_CONVS_MAX; i++)
		if (s->convs[i].role == CONV_CLIENT && s->convs[i].join && s->convs[i].seed == seed)
			return true;
	return false;
}

static void join_seeds(struct swim *s, uint64_t now)
{
	for (uint32_t i = 0; i < s->nseeds; i++)
		if (!join_pending(s, (int)i))
			swim_pp_start(s, now, &s->seeds[i], SWIM_PP_JOIN, (int)i);
}

int swim_join(struct swim *s, uint64_t now, const struct shoal_addr *seeds, size_t n)
{
	if (n > 0 && seeds == NULL)
		return -EINVAL;
	if (s->left)
		return SHOAL_E_STATE;
	s->nseeds = 0;
	for (size_t i = 0; i < n && s->nseeds < SWIM_SEEDS_MAX; i++) {
		if (seeds[i].family != 4 && seeds[i].family != 6)
			return -EINVAL;
		if (shoal_addr_equal(&seeds[i], &s->cfg.advertise))
			continue; /* ourselves */
		s->seeds[s->nseeds++] = seeds[i];
	}
	join_seeds(s, now);
	s->next_join = now + 5 * s->cfg.probe_interval_us;
	return 0;
}

uint64_t swim_pp_jittered(struct swim *s, uint64_t interval)
{
	/* Uniform in [interval/2, 3*interval/2): nodes drift apart instead of
	 * exchanging in lockstep. */
	uint32_t span = interval > UINT32_MAX ? UINT32_MAX : (uint32_t)interval;
	return interval / 2 + (span > 0 ? shoal_env_uniform(s->env, span) : 0);
}

uint64_t swim_pp_phase(struct swim *s, uint64_t interval)
{
	uint32_t span = interval > UINT32_MAX ? UINT32_MAX : (uint32_t)interval;
	return span > 0 ? shoal_env_uniform(s->env, span) : 0;
}

void swim_pp_tick(struct swim *s, uint64_t now)
{
	for (uint32_t i = 0; i < SWIM_CONVS_MAX && s->nconvs > 0; i++)
		if (s->convs[i].role != CONV_FREE && now >= s->convs[i].deadline)
			conv_end(s, &s->convs[i], true, true);
	swim_catchup_tick(s, now);

	if (s->nseeds > 0 && others_live(s) == 0 && !s->left && now >= s->next_join) {
		join_seeds(s, now);
		s->next_join = now + 5 * s->cfg.probe_interval_us;
	}

	if (s->cfg.pushpull_interval_us == 0 || now < s->next_pushpull)
		return;
	s->next_pushpull = now + swim_pp_jittered(s, swim_pp_interval(s));
	if (s->left)
		return;
	uint32_t peer;
	if (swim_sample(s, 1, 1u << SWIM_ALIVE, SWIM_NONE, &peer) == 1)
		swim_pp_start(s, now, &swim_member_record(s, swim_member_at(s, peer))->addr,
		              SWIM_PP_PERIODIC, -1);
}

uint64_t swim_pp_next_deadline(const struct swim *s)
{
	uint64_t d = UINT64_MAX;
	for (uint32_t i = 0; i < SWIM_CONVS_MAX && s->nconvs > 0; i++)
		if (s->convs[i].role != CONV_FREE && s->convs[i].deadline < d)
			d = s->convs[i].deadline;
	if (s->cfg.pushpull_interval_us != 0 && !s->left && s->next_pushpull < d)
		d = s->next_pushpull;
	if (s->nseeds > 0 && others_live(s) == 0 && !s->left && s->next_join < d)
		d = s->next_join;
	if (swim_catchup_deadline(s) < d)
		d = swim_catchup_deadline(s);
	return d;
}
