/*
 * test_swim_pair.c - two or three swims wired together by the in-test
 * loop of swim_loop.h: every datagram and stream message goes into one
 * FIFO and is handed to its receiver at the current virtual time, and the
 * clock jumps to the earliest swim_next_deadline when the FIFO is empty. No
 * loss, no latency: this proves join, probe/ack, suspicion, refutation,
 * leave, labels and key operations work end to end before any simulator is
 * involved.
 *
 * Timers are the LAN profile divided by 10 (probe 100 ms, suspicion min
 * 400 ms in a pair), so every bound below is a few virtual seconds.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "shoal/error.h"
#include "shoal/swim.h"

#include "../../gossip/swim_internal.h"

#include "swim_loop.h"

static const uint8_t key2[32] = {9, 9, 9, 9, 9, 9, 9, 9};

static int count_ev(int node, enum swim_event_type type, const char *name)
{
	int c = 0;
	for (int i = 0; i < W.n[node].nev; i++)
		if (W.n[node].ev[i].type == type && strcmp(W.n[node].ev[i].name, name) == 0)
			c++;
	return c;
}

static void state_of(int viewer, const char *name, enum swim_state want)
{
	struct swim_member_info mi;
	assert_int_equal(swim_member_find(W.n[viewer].swim, name, &mi), 0);
	if (mi.state != want)
		fail_msg("node %d sees %s %s, want %s", viewer, name, swim_state_name(mi.state),
		         swim_state_name(want));
}

static void join_pair(void)
{
	node_start(0, "alpha", 1, NULL, 0);
	node_start(1, "beta", 2, NULL, 0);
	assert_int_equal(swim_join(W.n[1].swim, W.now, &W.n[0].addr, 1), 0);
	/* One push-pull round trip, delivered instantly. */
	run_for(1000);
	state_of(0, "beta", SWIM_ALIVE);
	state_of(1, "alpha", SWIM_ALIVE);
}

static void test_join(void **state)
{
	(void)state;
	join_pair();
	assert_int_equal(count_ev(0, SWIM_EV_ALIVE, "beta"), 1);
	assert_int_equal(count_ev(1, SWIM_EV_ALIVE, "alpha"), 1);
	assert_int_equal(swim_stats(W.n[1].swim)->pushpulls, 1);
	uint32_t c[4];
	swim_member_counts(W.n[0].swim, c);
	assert_int_equal(c[SWIM_ALIVE], 2);
	/* The joiner's digest asked for everything; the answer was one member
	 * record each way, well under a kilobyte. */
	assert_true(swim_stats(W.n[1].swim)->stream_bytes_in < 1024);
}

static void test_probe_ack(void **state)
{
	(void)state;
	join_pair();
	run_for(3000000); /* 30 probe periods */
	for (int i = 0; i < 2; i++) {
		const struct swim_stats *st = swim_stats(W.n[i].swim);
		/* One probe per 100 ms period, each acked at once. */
		assert_true(st->probes >= 25 && st->probes <= 31);
		assert_true(st->acks == st->probes || st->acks + 1 == st->probes);
		assert_int_equal(st->suspicions, 0);
		assert_int_equal(st->decode_failures, 0);
		assert_int_equal(st->auth_failures, 0);
		assert_int_equal(swim_awareness(W.n[i].swim), 0);
		/* The link summary a health record carries: one peer, always
		 * answering, over the last 2 s of probes. */
		struct swim_links l;
		swim_links(W.n[i].swim, W.now, 2000000, &l);
		assert_int_equal(l.known, 1);
		assert_int_equal(l.probed, 1);
		assert_int_equal(l.reached, 1);
		assert_int_equal(l.loss_pm, 0);
		assert_true(l.window_s >= 1 && l.window_s <= 2);
	}
	state_of(0, "beta", SWIM_ALIVE);
}

static void test_periodic_pushpull_converged(void **state)
{
	(void)state;
	join_pair();
	uint64_t before = swim_stats(W.n[0].swim)->pushpulls + swim_stats(W.n[1].swim)->pushpulls;
	uint64_t bytes0 = swim_stats(W.n[0].swim)->stream_bytes_in;
	run_for(10000000); /* 3 s push-pull interval: several exchanges */
	uint64_t after = swim_stats(W.n[0].swim)->pushpulls + swim_stats(W.n[1].swim)->pushpulls;
	assert_true(after - before >= 3);
	/* Converged digests: each exchange is a hello with one bucket and two
	 * empty state lists, about 60 bytes sealed per message. */
	uint64_t per = (swim_stats(W.n[0].swim)->stream_bytes_in - bytes0) / (after - before);
	assert_true(per < 200);
	assert_int_equal(swim_stats(W.n[0].swim)->pushpull_failures, 0);
}

static void test_crash_suspect_dead(void **state)
{
	(void)state;
	join_pair();
	uint64_t crash = W.now;
	W.n[1].up = false;
	run_for(400000);
	state_of(0, "beta", SWIM_SUSPECT);
	assert_int_equal(count_ev(0, SWIM_EV_SUSPECT, "beta"), 1);
	/* Probes since the crash went unanswered: the link shows the loss. */
	struct swim_links l;
	swim_links(W.n[0].swim, W.now, 300000, &l);
	assert_int_equal(l.probed, 1);
	assert_int_equal(l.reached, 0);
	assert_int_equal(l.loss_pm, 1000);
	/* Alone with the suspect, no confirmation can come (k = 0): the timer
	 * is min = 4 * 100 ms, plus up to two probe periods to notice. No
	 * helper can nack either, so each failed probe raises our multiplier,
	 * and the timer is scaled by it (at most awareness_max = 8) when it
	 * runs out: Lifeguard cannot tell "beta is down" from "we are slow"
	 * with nobody else to ask. */
	run_until(crash + 200000 + 400000);
	state_of(0, "beta", SWIM_SUSPECT);
	run_until(crash + 200000 + 8 * 400000 + 100000);
	state_of(0, "beta", SWIM_DEAD);
	assert_int_equal(count_ev(0, SWIM_EV_DEAD, "beta"), 1);
	assert_int_equal(swim_stats(W.n[0].swim)->deaths, 1);
	assert_int_equal(swim_stats(W.n[0].swim)->suspicions, 1);
	bool via = false;
	for (int i = 0; i < W.n[0].nev; i++)
		if (W.n[0].ev[i].type == SWIM_EV_SUSPECT)
			via = W.n[0].ev[i].via_probe;
	assert_true(via);
	/* A missed ack with no helpers to nack raises the multiplier. */
	assert_true(swim_awareness(W.n[0].swim) > 0);
	/* Dead members are kept 6 s, then reaped. */
	run_for(6000000 + 2000000);
	assert_int_equal(count_ev(0, SWIM_EV_REAPED, "beta"), 1);
	struct swim_member_info mi;
	assert_int_equal(swim_member_find(W.n[0].swim, "beta", &mi), SHOAL_E_NOT_FOUND);
}

static void test_refute_after_partition(void **state)
{
	(void)state;
	join_pair();
	uint32_t inc0 = swim_incarnation(W.n[1].swim);
	W.n[1].up = false;
	run_for(300000);
	state_of(0, "beta", SWIM_SUSPECT);
	/* beta comes back before the timer: alpha's next ping carries the
	 * suspicion (buddy system), beta refutes in its ack. */
	W.n[1].up = true;
	run_for(300000);
	state_of(0, "beta", SWIM_ALIVE);
	assert_true(swim_incarnation(W.n[1].swim) > inc0);
	assert_int_equal(count_ev(1, SWIM_EV_REFUTED, "beta"), 1);
	assert_int_equal(count_ev(1, SWIM_EV_INCARNATION, "beta"), 1);
	assert_int_equal(swim_stats(W.n[1].swim)->refutations, 1);
	assert_int_equal(count_ev(0, SWIM_EV_ALIVE, "beta"), 2);
}

static void test_leave(void **state)
{
	(void)state;
	join_pair();
	assert_int_equal(swim_leave(W.n[1].swim, W.now), 0);
	uint64_t linger = swim_leave_linger_us(W.n[1].swim);
	assert_true(linger >= 200000);
	run_for(linger);
	state_of(0, "beta", SWIM_LEFT);
	assert_int_equal(count_ev(0, SWIM_EV_LEFT, "beta"), 1);
	assert_int_equal(swim_stats(W.n[0].swim)->leaves, 1);
	/* Nobody was suspected while beta lingered (it still acks). */
	assert_int_equal(count_ev(0, SWIM_EV_SUSPECT, "beta"), 0);
	W.n[1].up = false;
	run_for(9000000);
	assert_int_equal(count_ev(0, SWIM_EV_SUSPECT, "beta"), 0);
	assert_int_equal(count_ev(0, SWIM_EV_REAPED, "beta"), 1);
}

static void test_labels_update(void **state)
{
	(void)state;
	join_pair();
	struct shoal_label l[] = {{"zone", "eu-1"}, {"env", "prod"}};
	assert_int_equal(swim_set_labels(W.n[1].swim, W.now, l, 2), 0);
	run_for(300000);
	assert_int_equal(count_ev(0, SWIM_EV_UPDATE, "beta"), 1);
	struct swim_member_info mi;
	assert_int_equal(swim_member_find(W.n[0].swim, "beta", &mi), 0);
	assert_int_equal(mi.incarnation, 1);
	/* Canonical map, keys sorted: {"env": "prod", "zone": "eu-1"}. */
	static const uint8_t want[] = {0x82, 0xa3, 'e', 'n', 'v', 0xa4, 'p', 'r', 'o', 'd',
	                               0xa4, 'z',  'o', 'n', 'e', 0xa4, 'e', 'u', '-', '1'};
	assert_int_equal(mi.labels_len, sizeof(want));
	assert_memory_equal(mi.labels, want, sizeof(want));
	assert_string_equal(mi.version, "1.0.0");
	/* Duplicate keys are refused. */
	struct shoal_label dup[] = {{"a", "1"}, {"a", "2"}};
	assert_int_equal(swim_set_labels(W.n[1].swim, W.now, dup, 2), -EINVAL);
}

static void test_keyring_op(void **state)
{
	(void)state;
	join_pair();
	assert_int_equal(swim_keyring_op(W.n[0].swim, W.now, SWIM_KEY_INSTALL, key2), 0);
	run_for(300000);
	assert_int_equal(shoal_keyring_find(&W.n[1].kr, key2), 1);
	assert_int_equal(count_ev(1, SWIM_EV_KEYRING, "beta"), 1);
	assert_int_equal(swim_keyring_op(W.n[0].swim, W.now, SWIM_KEY_USE, key2), 0);
	run_for(300000);
	assert_int_equal(shoal_keyring_find(&W.n[1].kr, key2), 0);
	assert_int_equal(swim_keyring_op(W.n[0].swim, W.now, SWIM_KEY_REMOVE, key1), 0);
	run_for(300000);
	assert_int_equal(shoal_keyring_find(&W.n[1].kr, key1), -1);
	assert_int_equal(W.n[1].kr.count, 1);
	/* Validation: the primary cannot go, an unknown key cannot be used. */
	assert_int_equal(swim_keyring_op(W.n[0].swim, W.now, SWIM_KEY_REMOVE, key2),
	                 SHOAL_E_LAST_KEY);
	assert_int_equal(swim_keyring_op(W.n[0].swim, W.now, SWIM_KEY_USE, key1),
	                 SHOAL_E_NOT_FOUND);
	/* Still talking under the new key. */
	run_for(1000000);
	state_of(0, "beta", SWIM_ALIVE);
	assert_int_equal(swim_stats(W.n[0].swim)->auth_failures, 0);
	assert_int_equal(count_ev(1, SWIM_EV_KEYRING, "beta"), 3);
}

static void test_name_conflict(void **state)
{
	(void)state;
	join_pair();
	/* A third node claims "beta" with another key. */
	node_start(2, "beta", 3, NULL, 0);
	assert_int_equal(swim_join(W.n[2].swim, W.now, &W.n[0].addr, 1), 0);
	run_for(2000000);
	assert_true(count_ev(0, SWIM_EV_NAME_CONFLICT, "beta") >= 1);
	assert_true(swim_stats(W.n[0].swim)->name_conflicts >= 1);
	/* alpha still holds the original key for beta. */
	struct swim_member_info mi;
	assert_int_equal(swim_member_find(W.n[0].swim, "beta", &mi), 0);
	assert_memory_equal(mi.pubkey, W.n[1].pk, 32);
}

static void test_wrong_key_dropped(void **state)
{
	(void)state;
	join_pair();
	/* A node outside the keyring is heard as noise. */
	node_start(2, "gamma", 3, NULL, 0);
	shoal_keyring_destroy(&W.n[2].kr);
	shoal_keyring_create(&W.n[2].kr);
	assert_int_equal(shoal_keyring_install(&W.n[2].kr, key2), 0);
	assert_int_equal(swim_join(W.n[2].swim, W.now, &W.n[0].addr, 1), 0);
	run_for(1000000);
	struct swim_member_info mi;
	assert_int_equal(swim_member_find(W.n[0].swim, "gamma", &mi), SHOAL_E_NOT_FOUND);
	assert_true(swim_stats(W.n[0].swim)->auth_failures >= 1);
}

static void test_three_ping_req(void **state)
{
	(void)state;
	join_pair();
	node_start(2, "gamma", 3, NULL, 0);
	assert_int_equal(swim_join(W.n[2].swim, W.now, &W.n[0].addr, 1), 0);
	run_for(2000000);
	for (int i = 0; i < 3; i++) {
		uint32_t c[4];
		swim_member_counts(W.n[i].swim, c);
		assert_int_equal(c[SWIM_ALIVE], 3);
	}
	/* gamma goes away; alpha and beta ask each other to ping it and the
	 * helpers nack (they cannot reach it either), so nobody's local
	 * health multiplier moves for it. */
	W.n[2].up = false;
	run_for(3000000);
	state_of(0, "gamma", SWIM_DEAD);
	state_of(1, "gamma", SWIM_DEAD);
	const struct swim_stats *a = swim_stats(W.n[0].swim), *b = swim_stats(W.n[1].swim);
	assert_true(a->indirect_probes + b->indirect_probes >= 1);
	assert_true(a->nacks + b->nacks >= 1);
}

/* Hand node `to` one SUSPECT or DEAD, sealed under the cluster key, as if
 * node `from` sent it. */
static void inject_accuse(int from, int to, uint8_t type, const char *name, uint32_t inc,
                          const char *accuser)
{
	struct shoal_buf b;
	uint8_t plain[512], sealed[600];
	size_t slen;
	shoal_buf_create(&b, 512);
	assert_int_equal(
	        swim_proto_encode_accuse(&b, type, (const uint8_t *)name, (uint32_t)strlen(name),
	                                 inc, (const uint8_t *)accuser, (uint32_t)strlen(accuser)),
	        0);
	size_t h = swim_proto_datagram_header(plain, 1);
	memcpy(plain + h, b.data, b.len);
	assert_int_equal(shoal_seal(&W.n[to].kr, &W.n[to].env, plain, h + b.len, sealed,
	                            sizeof(sealed), &slen),
	                 0);
	shoal_buf_destroy(&b);
	swim_on_datagram(W.n[to].swim, W.now, &W.n[from].addr, sealed, slen);
}

static void test_stale_accusation_resends_alive(void **state)
{
	(void)state;
	join_pair();
	/* beta refutes once: incarnation 1. */
	inject_accuse(0, 1, SWIM_MSG_SUSPECT, "beta", 0, "alpha");
	assert_int_equal(swim_incarnation(W.n[1].swim), 1);
	run_for(2000000); /* its ALIVE is sent out and dropped */
	struct swim *b = W.n[1].swim;
	assert_int_equal(b->bcast.len, 0);
	/* Someone still accuses the old incarnation: beta does not bump again,
	 * but puts its current ALIVE back in circulation. */
	inject_accuse(0, 1, SWIM_MSG_DEAD, "beta", 0, "alpha");
	assert_int_equal(swim_incarnation(b), 1);
	assert_int_equal(b->bcast.len, 1);
	const struct swim_bcast_item *it = &b->bcast.items[b->bcast.heap[0]];
	assert_int_equal(it->kind, SWIM_MSG_ALIVE);
	assert_int_equal(it->rec, b->self_rec);
	assert_int_equal(it->transmits, 0);
	assert_true(swim_stats(b)->stale >= 1);
	assert_int_equal(swim_stats(b)->refutations, 1);
}

static void test_newer_suspicion_restarts_timer(void **state)
{
	(void)state;
	struct swim_member_info mi;
	join_pair();
	node_start(2, "gamma", 3, NULL, 0);
	assert_int_equal(swim_join(W.n[2].swim, W.now, &W.n[0].addr, 1), 0);
	run_for(2000000);
	W.n[1].up = false;
	/* alpha suspects beta at incarnation 0. */
	inject_accuse(2, 0, SWIM_MSG_SUSPECT, "beta", 0, "gamma");
	assert_int_equal(swim_member_find(W.n[0].swim, "beta", &mi), 0);
	assert_int_equal(mi.state, SWIM_SUSPECT);
	uint64_t first = mi.suspect_deadline;
	run_for(300000);
	/* Suspected at incarnation 1: beta refuted round 0 (alpha missed the
	 * ALIVE) and this is a new round, so alpha's timer starts over rather
	 * than firing on the refuted one. */
	inject_accuse(2, 0, SWIM_MSG_SUSPECT, "beta", 1, "gamma");
	assert_int_equal(swim_member_find(W.n[0].swim, "beta", &mi), 0);
	assert_int_equal(mi.state, SWIM_SUSPECT);
	assert_int_equal(mi.incarnation, 1);
	assert_int_equal(mi.confirmations, 0);
	assert_true(mi.suspect_deadline == first + 300000);
	/* The same round again from the same accuser changes nothing. */
	inject_accuse(2, 0, SWIM_MSG_SUSPECT, "beta", 1, "gamma");
	assert_int_equal(swim_member_find(W.n[0].swim, "beta", &mi), 0);
	assert_true(mi.suspect_deadline == first + 300000);
	assert_int_equal(count_ev(0, SWIM_EV_SUSPECT, "beta"), 1);
}

/* Hand node `to` the ALIVE record `rid` (from the pool), sealed under the
 * cluster key, as if node `from` passed it on. */
static void inject_alive(int from, int to, uint32_t rid)
{
	const struct swim_record *r = swim_pool_record(W.pool, rid);
	struct shoal_buf b;
	uint8_t plain[1400], sealed[1500];
	size_t slen;
	shoal_buf_create(&b, 1400);
	assert_int_equal(swim_proto_encode_signed(&b, SWIM_MSG_ALIVE, r->body, r->body_len, r->sig),
	                 0);
	size_t h = swim_proto_datagram_header(plain, 1);
	memcpy(plain + h, b.data, b.len);
	assert_int_equal(shoal_seal(&W.n[to].kr, &W.n[to].env, plain, h + b.len, sealed,
	                            sizeof(sealed), &slen),
	                 0);
	shoal_buf_destroy(&b);
	swim_on_datagram(W.n[to].swim, W.now, &W.n[from].addr, sealed, slen);
}

/* A crashed member's last ALIVE still travelling after the member was
 * reaped (a slow node's gossip or push-pull) must not bring it back: it is
 * the very incarnation it was declared dead at. Before tombstones, alpha
 * took it as a new member and showed beta alive again. */
static void test_reaped_record_not_resurrected(void **state)
{
	(void)state;
	struct swim_member_info mi;
	join_pair();
	uint32_t old = W.n[1].swim->self_rec; /* beta's ALIVE, incarnation 0 */
	W.n[1].up = false;
	/* Suspect within 2 periods, dead up to 8 x 400 ms later (alone with
	 * the suspect, the timer is stretched by our own health multiplier:
	 * test_crash_suspect_dead), reaped after dead_keep (6 s) at the next reap
	 * scan (every 1.5 s). */
	run_for(200000 + 8 * 400000 + 100000 + 6000000 + 1500000 + 100000);
	assert_int_equal(count_ev(0, SWIM_EV_REAPED, "beta"), 1);
	assert_int_equal(swim_member_find(W.n[0].swim, "beta", &mi), SHOAL_E_NOT_FOUND);

	inject_alive(1, 0, old);
	assert_int_equal(count_ev(0, SWIM_EV_ALIVE, "beta"), 1); /* the join only */
	assert_int_equal(swim_member_find(W.n[0].swim, "beta", &mi), 0);
	assert_int_equal(mi.state, SWIM_DEAD);
	assert_int_equal(mi.incarnation, 0);
	assert_int_equal(swim_stats(W.n[0].swim)->reinstated, 1);
	/* Still dead after it has been gossiped around and reaped again. */
	run_for(10000000);
	assert_int_equal(count_ev(0, SWIM_EV_ALIVE, "beta"), 1);
	assert_int_equal(count_ev(0, SWIM_EV_REAPED, "beta"), 2);
}

/* The other reading of an old record after the reap: the member is in fact
 * running (it was cut off, not crashed). Put back as dead, it hears so from
 * the DEAD gossiped to it and refutes; the refutation outbids the tomb. */
static void test_reaped_but_running_refutes(void **state)
{
	(void)state;
	struct swim_member_info mi;
	join_pair();
	W.n[1].up = false;
	run_for(200000 + 8 * 400000 + 100000 + 6000000 + 1500000 + 100000);
	assert_int_equal(swim_member_find(W.n[0].swim, "beta", &mi), SHOAL_E_NOT_FOUND);
	assert_int_equal(swim_member_find(W.n[1].swim, "alpha", &mi), 0);

	W.n[1].up = true;
	inject_alive(1, 0, W.n[1].swim->self_rec);
	state_of(0, "beta", SWIM_DEAD);
	/* alpha gossips the DEAD to beta within a gossip round (20 ms);
	 * beta's refutation rides its next datagram to alpha. */
	run_for(1000000);
	state_of(0, "beta", SWIM_ALIVE);
	assert_int_equal(swim_incarnation(W.n[1].swim), 1);
	assert_int_equal(count_ev(1, SWIM_EV_REFUTED, "beta"), 1);
	assert_int_equal(swim_member_find(W.n[0].swim, "beta", &mi), 0);
	assert_int_equal(mi.incarnation, 1);
}

/* A reaped member that restarts announces a higher incarnation: that is
 * news, and it is a member again at once. */
static void test_reaped_member_restarts(void **state)
{
	(void)state;
	struct swim_member_info mi;
	join_pair();
	W.n[1].up = false;
	run_for(200000 + 8 * 400000 + 100000 + 6000000 + 1500000 + 100000);
	assert_int_equal(swim_member_find(W.n[0].swim, "beta", &mi), SHOAL_E_NOT_FOUND);
	/* beta's next life: same key, persisted incarnation + 1. */
	swim_delete(W.n[1].swim);
	shoal_keyring_destroy(&W.n[1].kr);
	node_start(1, "beta", 2, NULL, 0);
	swim_delete(W.n[1].swim);
	struct swim_config cfg;
	node_config(&cfg, 1, "beta");
	cfg.incarnation = 1;
	assert_int_equal(swim_new(&W.n[1].swim, &cfg, &W.n[1].env, &W.n[1].kr, W.pool, W.now), 0);
	assert_int_equal(swim_join(W.n[1].swim, W.now, &W.n[0].addr, 1), 0);
	run_for(1000);
	state_of(0, "beta", SWIM_ALIVE);
	assert_int_equal(swim_member_find(W.n[0].swim, "beta", &mi), 0);
	assert_int_equal(mi.incarnation, 1);
	assert_int_equal(swim_stats(W.n[0].swim)->reinstated, 0);
}

/* Hand node `to` one PP_STATES on a stream it did not open (the client's
 * half of an exchange), holding one entry: `state` at `inc` with record
 * `rid`. */
static void inject_pp_entry(int from, int to, uint8_t state, uint32_t inc, uint32_t rid)
{
	const struct swim_record *r = swim_pool_record(W.pool, rid);
	struct shoal_buf b;
	uint8_t sealed[2048];
	size_t slen;
	uint32_t idx = 0;
	shoal_buf_create(&b, 1400);
	assert_int_equal(swim_proto_encode_states_head(&b, 1, &idx, 1, 1), 0);
	assert_int_equal(swim_proto_encode_entry(&b, state, inc, r->body, r->body_len, r->sig), 0);
	assert_int_equal(b.err, 0);
	assert_int_equal(
	        shoal_seal(&W.n[to].kr, &W.n[to].env, b.data, b.len, sealed, sizeof(sealed), &slen),
	        0);
	shoal_buf_destroy(&b);
	swim_on_stream(W.n[to].swim, W.now, SHOAL_CONV_INBOUND | 77, &W.n[from].addr, sealed, slen);
}

/* The cause of crashed members coming back in the simulator (1,000 nodes,
 * CPU-starved, Lifeguard off): a node holds X dead at incarnation 0 (an
 * early false death X refuted), X crashes at incarnation 1, and a peer's
 * push-pull says "X dead at 1" with X's incarnation-1 record. The record
 * used to go through the ALIVE rule first - newer than held, so X was made
 * alive (SWIM_EV_ALIVE, its ALIVE queued for gossip, reviving it at every
 * node that held it dead at 0) and only then suspect. A pushed DEAD or
 * SUSPECT about a member held dead is no news of life: it stays dead, at
 * the newer incarnation. */
static void test_pushed_death_does_not_revive(void **state)
{
	(void)state;
	struct swim_member_info mi;
	join_pair();
	W.n[1].up = false;
	/* beta refutes a suspicion (incarnation 1) that alpha never hears of;
	 * alpha meanwhile hears beta was dead at 0. */
	inject_accuse(0, 1, SWIM_MSG_SUSPECT, "beta", 0, "alpha");
	assert_int_equal(swim_incarnation(W.n[1].swim), 1);
	uint32_t rec1 = W.n[1].swim->self_rec;
	inject_accuse(1, 0, SWIM_MSG_DEAD, "beta", 0, "alpha");
	state_of(0, "beta", SWIM_DEAD);
	run_for(2000000); /* alpha's DEAD is gossiped out and dropped */
	uint32_t queued = W.n[0].swim->bcast.len;

	inject_pp_entry(1, 0, SWIM_DEAD, 1, rec1);
	inject_pp_entry(1, 0, SWIM_SUSPECT, 1, rec1);
	assert_int_equal(swim_member_find(W.n[0].swim, "beta", &mi), 0);
	assert_int_equal(mi.state, SWIM_DEAD);
	assert_int_equal(mi.incarnation, 1);
	assert_int_equal(count_ev(0, SWIM_EV_ALIVE, "beta"), 1); /* the join only */
	/* What is queued about beta is its death at the newer incarnation, for
	 * nodes that hold it alive there; never its ALIVE. */
	struct swim *a = W.n[0].swim;
	assert_int_equal(a->bcast.len, queued + 1);
	bool dead1 = false;
	for (uint32_t i = 0; i < a->bcast.hwm; i++) {
		const struct swim_bcast_item *it = &a->bcast.items[i];
		if (it->kind == 0 || it->name_id == SWIM_NONE ||
		    strcmp(swim_pool_name(W.pool, it->name_id)->str, "beta") != 0)
			continue;
		assert_int_equal(it->kind, SWIM_MSG_DEAD);
		dead1 = it->incarnation == 1;
	}
	assert_true(dead1);

	/* An ALIVE entry above that is news of life, as before. */
	inject_accuse(0, 1, SWIM_MSG_SUSPECT, "beta", 1, "alpha");
	inject_pp_entry(1, 0, SWIM_ALIVE, 2, W.n[1].swim->self_rec);
	state_of(0, "beta", SWIM_ALIVE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_join, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_probe_ack, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_periodic_pushpull_converged, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_crash_suspect_dead, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_refute_after_partition, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_leave, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_labels_update, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_keyring_op, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_name_conflict, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_wrong_key_dropped, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_three_ping_req, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stale_accusation_resends_alive, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_newer_suspicion_restarts_timer, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_reaped_record_not_resurrected, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_reaped_but_running_refutes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_reaped_member_restarts, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pushed_death_does_not_revive, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
