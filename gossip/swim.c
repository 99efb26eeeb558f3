/*
 * swim.c - the public face of SWIM membership: configuration, lifecycle,
 * the timer wheel the driver turns (swim_tick / swim_next_deadline), leave,
 * labels, and the read-only views.
 *
 * The protocol itself is spread by concern: swim_probe.c (failure
 * detection and gossip rounds), swim_state.c (the rules for applying news),
 * swim_io.c (datagrams), pushpull.c (anti-entropy), suspicion.c and
 * broadcast.c (Lifeguard's timers and the dissemination queue), pool.c
 * (interned records), swim_proto.c (the wire format).
 *
 * Timers are a handful of absolute deadlines in struct swim plus the
 * suspicion heap; swim_next_deadline is their minimum, O(1) apart from the
 * fixed-size helper and conversation tables. Dead and left members are
 * reaped by a scan every dead_keep/4, the only O(N) pass outside push-pull;
 * what is remembered of them, and the reconnect timer, live in tomb.c.
 */
#include "shoal/swim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "shoal/error.h"
#include "swim_internal.h"

const char *swim_state_name(enum swim_state st)
{
	switch (st) {
	case SWIM_ALIVE:
		return "alive";
	case SWIM_SUSPECT:
		return "suspect";
	case SWIM_DEAD:
		return "dead";
	case SWIM_LEFT:
		return "left";
	}
	return "unknown";
}

void swim_config_defaults(struct swim_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->version = "";
	/* memberlist's LAN profile, except for failure detection, tuned to
	 * agree on a crash within 8 s among 1,000 members under 10 % loss and
	 * never declare a healthy one dead (docs/protocol.md, "Where Shoal
	 * differs"): twice the probe rate, five helpers, and Lifeguard's
	 * suspicion with a short min (3 s at 1,000 members) that only three
	 * independent confirmations unlock, and a long max (30 s). */
	cfg->probe_interval_us = 500000;
	cfg->probe_timeout_us = 250000;
	cfg->indirect_checks = 5;
	cfg->gossip_interval_us = 200000;
	cfg->gossip_nodes = 3;
	cfg->suspicion_mult = 2;
	cfg->suspicion_max_mult = 10;
	cfg->suspicion_confirm = 3;
	cfg->retransmit_mult = 4;
	cfg->pushpull_interval_us = 30000000;
	cfg->dead_keep_us = 60000000;
	cfg->reconnect_interval_us = 30000000;
	cfg->reconnect_timeout_us = 24ull * 3600 * 1000000;
	cfg->awareness_max = 8;
	cfg->lifeguard_lhm = true;
	cfg->lifeguard_suspicion = true;
	cfg->lifeguard_buddy = true;
	cfg->udp_max = SWIM_UDP_MAX;
}

void swim_config_scale(struct swim_config *cfg, uint32_t divisor)
{
	if (divisor <= 1)
		return;
	cfg->probe_interval_us /= divisor;
	cfg->probe_timeout_us /= divisor;
	cfg->gossip_interval_us /= divisor;
	cfg->pushpull_interval_us /= divisor;
	cfg->dead_keep_us /= divisor;
	cfg->reconnect_interval_us /= divisor;
	cfg->reconnect_timeout_us /= divisor;
}

/* ---- lifecycle --------------------------------------------------------- */

static int check_config(const struct swim_config *cfg, const struct shoal_env *env)
{
	if (env == NULL || env->send_datagram == NULL || env->stream_send == NULL ||
	    env->stream_close == NULL || env->prng == NULL || env->random_bytes == NULL)
		return -EINVAL;
	if (cfg->name == NULL || strlen(cfg->name) > SWIM_NAME_MAX ||
	    swim_proto_check_name((const uint8_t *)cfg->name, (uint32_t)strlen(cfg->name)) < 0)
		return -EINVAL;
	const char *v = cfg->version != NULL ? cfg->version : "";
	if (strlen(v) > SWIM_VERSION_MAX ||
	    swim_proto_check_version((const uint8_t *)v, (uint32_t)strlen(v)) < 0)
		return -EINVAL;
	if ((cfg->advertise.family != 4 && cfg->advertise.family != 6) || cfg->advertise.port == 0)
		return -EINVAL;
	if (cfg->probe_interval_us == 0 || cfg->probe_timeout_us == 0 ||
	    cfg->probe_timeout_us > cfg->probe_interval_us)
		return -EINVAL;
	if (cfg->suspicion_mult == 0 || cfg->suspicion_max_mult == 0 || cfg->retransmit_mult == 0 ||
	    cfg->awareness_max == 0)
		return -EINVAL;
	if (cfg->suspicion_confirm >= SWIM_SUSP_ACCUSERS)
		return -EINVAL;
	if (cfg->udp_max != 0 && (cfg->udp_max > SWIM_UDP_MAX || cfg->udp_max < 512))
		return -EINVAL;
	return 0;
}

static uint64_t reap_period(const struct swim *s)
{
	uint64_t p = s->cfg.dead_keep_us / 4;
	return p > 0 ? p : s->cfg.probe_interval_us;
}

/* Uniform in [0, interval). */
static uint64_t random_phase(const struct shoal_env *env, uint64_t interval)
{
	if (interval == 0)
		return 0;
	return shoal_env_uniform(env, interval > UINT32_MAX ? UINT32_MAX : (uint32_t)interval);
}

int swim_new(struct swim **out, const struct swim_config *cfg, const struct shoal_env *env,
             struct shoal_keyring *kr, struct swim_pool *pool, uint64_t now)
{
	struct swim *s;
	struct shoal_buf labels;
	int rc;

	if (out == NULL || cfg == NULL || kr == NULL || pool == NULL)
		return -EINVAL;
	if ((rc = check_config(cfg, env)) < 0)
		return rc;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->cfg = *cfg;
	sodium_memzero(s->cfg.site_sk, sizeof(s->cfg.site_sk));
	memcpy(s->sk, cfg->site_sk, sizeof(s->sk));
	s->cfg.name = NULL;
	s->cfg.labels = NULL;
	s->cfg.nlabels = 0;
	s->cfg.version = NULL;
	if (s->cfg.udp_max == 0)
		s->cfg.udp_max = SWIM_UDP_MAX;
	if (cfg->version != NULL)
		memcpy(s->version, cfg->version, strlen(cfg->version) + 1);
	s->env = env;
	s->kr = kr;
	s->pool = pool;
	s->incarnation = cfg->incarnation;
	s->self_id = SWIM_NONE;
	swim_susp_create(&s->susp);
	swim_bcast_create(&s->bcast);
	shoal_buf_create(&s->tx, SWIM_UDP_MAX);
	shoal_buf_create(&s->item, SWIM_UDP_MAX);
	s->helpers_next = UINT64_MAX;

	rc = swim_pool_name_intern(pool, (const uint8_t *)cfg->name, (uint32_t)strlen(cfg->name),
	                           &s->self_id);
	if (rc < 0)
		goto fail;
	if ((rc = swim_members_reserve(s, s->self_id)) < 0)
		goto fail;
	if (s->members[s->self_id].rec != 0) {
		rc = -EINVAL; /* cannot happen: a fresh table */
		goto fail;
	}
	shoal_buf_create(&labels, SWIM_LABELS_MAX + 64);
	rc = swim_proto_encode_labels(&labels, cfg->labels, cfg->nlabels);
	if (rc == 0)
		rc = swim_self_record(s, labels.data, (uint32_t)labels.len);
	shoal_buf_destroy(&labels);
	if (rc < 0) {
		rc = rc == SHOAL_E_TOO_BIG ? -EINVAL : rc;
		goto fail;
	}
	s->members[s->self_id].since = now;

	/* The key pair must match, or every peer would refuse our records. */
	const struct swim_record *r = swim_pool_record(pool, s->self_rec);
	if (crypto_sign_verify_detached(r->sig, r->body, r->body_len, cfg->site_pk) != 0) {
		rc = -EINVAL;
		goto fail;
	}
	/* Our own ALIVE must fit a datagram next to its header. */
	shoal_buf_reset(&s->item);
	swim_proto_encode_signed(&s->item, SWIM_MSG_ALIVE, r->body, r->body_len, r->sig);
	if (s->item.err != 0 || s->item.len + SWIM_DGRAM_HDR_MAX > swim_tx_budget(s)) {
		rc = -EINVAL;
		goto fail;
	}

	/* Random phases, so that nodes started together do not tick together. */
	s->next_probe = now + random_phase(env, s->cfg.probe_interval_us);
	s->next_gossip = now + s->cfg.gossip_interval_us;
	s->next_pushpull = now + random_phase(env, swim_pp_interval(s));
	s->next_reap = now + reap_period(s);
	s->next_reconnect = now + random_phase(env, s->cfg.reconnect_interval_us);
	*out = s;
	return 0;
fail:
	swim_delete(s);
	return rc;
}

void swim_delete(struct swim *s)
{
	if (s == NULL)
		return;
	for (uint32_t i = 0; i < SWIM_CONVS_MAX; i++)
		if (s->convs[i].role != CONV_FREE)
			s->env->stream_close(s->env->ctx, s->convs[i].conv);
	swim_susp_destroy(&s->susp, s->pool);
	swim_bcast_destroy(&s->bcast, s->pool);
	swim_user_destroy(s);
	if (s->members != NULL)
		swim_tomb_destroy(s);
	for (uint32_t id = 0; id < s->members_alloc; id++)
		if (s->members[id].rec != 0)
			swim_pool_record_unref(s->pool, s->members[id].rec - 1);
	if (s->self_id != SWIM_NONE)
		swim_pool_name_unref(s->pool, s->self_id);
	free(s->members);
	free(s->order);
	shoal_buf_destroy(&s->tx);
	shoal_buf_destroy(&s->item);
	sodium_memzero(s->sk, sizeof(s->sk));
	free(s);
}

/* ---- leave and labels -------------------------------------------------- */

int swim_leave(struct swim *s, uint64_t now)
{
	const struct swim_pool_name *n = swim_pool_name(s->pool, s->self_id);
	struct shoal_buf body;
	uint8_t sig[SWIM_SIG_LEN];
	int rc;

	if (s->left)
		return 0;
	shoal_buf_create(&body, 128);
	rc = swim_proto_encode_leave_body(&body, (const uint8_t *)n->str, n->len, s->incarnation);
	if (rc == 0) {
		crypto_sign_detached(sig, NULL, body.data, body.len, s->sk);
		shoal_buf_reset(&s->item);
		rc = swim_proto_encode_signed(&s->item, SWIM_MSG_LEAVE, body.data,
		                              (uint32_t)body.len, sig);
	}
	shoal_buf_destroy(&body);
	if (rc == 0)
		rc = swim_bcast_blob(s, SWIM_MSG_LEAVE, s->self_id, s->item.data, s->item.len);
	if (rc < 0)
		return rc;
	struct swim_member *m = &s->members[s->self_id];
	s->counts[m->state]--;
	s->counts[SWIM_LEFT]++;
	m->state = SWIM_LEFT;
	m->since = now;
	s->left = true;
	return 0;
}

uint64_t swim_leave_linger_us(const struct swim *s)
{
	uint64_t limit = swim_retransmit_limit(s->cfg.retransmit_mult, swim_known_count(s));
	uint64_t a = s->cfg.gossip_interval_us * limit;
	uint64_t b = 2 * s->cfg.probe_interval_us;
	return a > b ? a : b;
}

int swim_set_labels(struct swim *s, uint64_t now, const struct shoal_label *labels, size_t n)
{
	struct shoal_buf b;
	int rc;

	(void)now;
	if (s->left)
		return SHOAL_E_STATE;
	if (s->incarnation == UINT32_MAX)
		return SHOAL_E_RANGE;
	shoal_buf_create(&b, SWIM_LABELS_MAX + 64);
	rc = swim_proto_encode_labels(&b, labels, n);
	if (rc == SHOAL_E_TOO_BIG)
		rc = -EINVAL;
	if (rc == 0) {
		s->incarnation++;
		rc = swim_self_record(s, b.data, (uint32_t)b.len);
		if (rc < 0)
			s->incarnation--;
	}
	shoal_buf_destroy(&b);
	if (rc < 0)
		return rc;
	swim_emit(s, SWIM_EV_INCARNATION, s->self_id, s->incarnation, SWIM_NONE, false, NULL);
	return 0;
}

/* ---- input ------------------------------------------------------------- */

void swim_on_stream(struct swim *s, uint64_t now, uint64_t conv, const struct shoal_addr *from,
                    const uint8_t *buf, size_t len)
{
	uint8_t *plain;
	size_t plen;

	s->stats.stream_msgs_in++;
	s->stats.stream_bytes_in += len;
	if (len > SWIM_STREAM_MAX + SHOAL_SEAL_OVERHEAD || len == 0) {
		s->stats.decode_failures++;
		swim_pp_on_error(s, now, conv, true);
		return;
	}
	if ((plain = malloc(len)) == NULL) {
		swim_pp_on_error(s, now, conv, true);
		return;
	}
	if (shoal_open(s->kr, buf, len, plain, len, &plen) < 0) {
		s->stats.auth_failures++;
		swim_pp_on_error(s, now, conv, true);
	} else if (!swim_user_on_stream(s, now, conv, from, plain, plen)) {
		swim_pp_on_stream(s, now, conv, from, plain, plen);
	}
	free(plain);
}

void swim_on_stream_error(struct swim *s, uint64_t now, uint64_t conv)
{
	if (!swim_user_on_stream_error(s, now, conv))
		swim_pp_on_error(s, now, conv, false);
}

/* ---- timers ------------------------------------------------------------ */

static uint32_t gone_others(const struct swim *s)
{
	uint32_t n = s->counts[SWIM_DEAD] + s->counts[SWIM_LEFT];
	return s->left ? n - 1 : n;
}

static void reap(struct swim *s, uint64_t now)
{
	if (now < s->next_reap)
		return;
	s->next_reap = now + reap_period(s);
	swim_tomb_expire(s, now);
	if (gone_others(s) == 0)
		return;
	for (uint32_t id = 0; id < s->members_alloc; id++) {
		struct swim_member *m = &s->members[id];
		if (m->rec == 0 || id == s->self_id ||
		    (m->state != SWIM_DEAD && m->state != SWIM_LEFT) ||
		    now - m->since < s->cfg.dead_keep_us)
			continue;
		swim_emit(s, SWIM_EV_REAPED, id, m->incarnation, SWIM_NONE, false, NULL);
		swim_tomb_reap(s, now, id);
	}
}

static void suspicion_expiries(struct swim *s, uint64_t now)
{
	while (swim_susp_next_deadline(&s->susp) <= now) {
		uint32_t slot = swim_susp_top(&s->susp);
		uint32_t id = s->susp.slots[slot].name_id;
		struct swim_member *m = swim_member_at(s, id);
		if (m == NULL || m->state != SWIM_SUSPECT || swim_susp_find(&s->susp, id) != slot) {
			swim_susp_remove(&s->susp, s->pool, slot); /* orphan: cannot happen */
			continue;
		}
		/* Lifeguard's local health: a node that misses its own acks and
		 * nacks hears refutations late too, so it gives suspects as
		 * much more time as it gives its probes, judged when the timer
		 * runs out (memberlist scales only the probes). */
		struct swim_susp *x = &s->susp.slots[slot];
		if (s->cfg.lifeguard_lhm && swim_susp_rescale(&s->susp, slot, s->awareness + 1))
			continue;
		/* Fewer confirmations than asked for, a suspicion we only heard
		 * of, or a suspect that answered us late: before declaring it
		 * dead, ask the suspect itself (see SWIM_SUSP_CHECKS and
		 * SWIM_SUSP_LATE_CHECKS). */
		uint64_t wait = swim_scaled(s, s->cfg.probe_timeout_us);
		uint32_t checks = 0;
		if (s->cfg.lifeguard_suspicion) {
			if (x->n < x->k || !x->via_probe)
				checks = SWIM_SUSP_CHECKS;
			else if (x->late_rtt > 0)
				checks = SWIM_SUSP_LATE_CHECKS;
		}
		/* A slow suspect gets a quarter more than its slowest reply, up
		 * to the suspicion's minimum: slower than that is not "up". */
		uint64_t slow_wait = x->late_rtt + x->late_rtt / 4;
		if (slow_wait > x->min)
			slow_wait = x->min;
		if (slow_wait > wait)
			wait = slow_wait;
		if (x->checks < checks) {
			x->checks++;
			swim_probe_check_suspect(s, now, id);
			swim_susp_defer(&s->susp, slot, now + wait);
			continue;
		}
		swim_apply_dead(s, now, id, m->incarnation, s->self_id, true);
	}
}

void swim_tick(struct swim *s, uint64_t now)
{
	swim_helpers_tick(s, now);
	swim_probe_tick(s, now);
	suspicion_expiries(s, now);
	swim_gossip_tick(s, now);
	swim_pp_tick(s, now);
	swim_reconnect_tick(s, now);
	reap(s, now);
	swim_user_tick(s, now);
}

static void take_min(uint64_t *d, uint64_t t)
{
	if (t < *d)
		*d = t;
}

uint64_t swim_next_deadline(const struct swim *s)
{
	uint64_t d = UINT64_MAX;
	if (!s->left || s->probe.active)
		take_min(&d, s->next_probe);
	if (s->probe.active && !s->probe.acked && !s->probe.indirect)
		take_min(&d, s->probe.ping_req_at);
	take_min(&d, s->helpers_next);
	if ((s->bcast.len > 0 || s->user.len > 0) && s->cfg.gossip_interval_us != 0)
		take_min(&d, s->next_gossip);
	take_min(&d, swim_susp_next_deadline(&s->susp));
	take_min(&d, swim_pp_next_deadline(s));
	if (gone_others(s) > 0 || s->tombs_len > 0)
		take_min(&d, s->next_reap);
	take_min(&d, swim_user_next_deadline(s));
	take_min(&d, swim_reconnect_deadline(s));
	return d;
}

/* ---- views ------------------------------------------------------------- */

static void fill_info(const struct swim *s, uint32_t id, const struct swim_member *m,
                      struct swim_member_info *out)
{
	const struct swim_record *r = swim_member_record(s, m);
	memset(out, 0, sizeof(*out));
	out->name = swim_pool_name(s->pool, id)->str;
	out->addr = r->addr;
	out->state = (enum swim_state)m->state;
	out->incarnation = m->incarnation;
	out->since = m->since;
	out->labels = r->body + r->labels_off;
	out->labels_len = r->labels_len;
	out->version = r->version;
	out->pubkey = swim_record_pubkey(r);
	out->is_self = id == s->self_id;
	uint32_t slot = m->state == SWIM_SUSPECT ? swim_susp_find(&s->susp, id) : SWIM_NONE;
	if (slot != SWIM_NONE) {
		const struct swim_susp *x = &s->susp.slots[slot];
		out->confirmations = x->n;
		out->suspect_deadline = x->deadline;
	}
}

int swim_member_next(const struct swim *s, uint32_t *cursor, struct swim_member_info *out)
{
	for (uint32_t id = *cursor; id < s->members_alloc; id++) {
		const struct swim_member *m = &s->members[id];
		if (m->rec == 0)
			continue;
		fill_info(s, id, m, out);
		*cursor = id + 1;
		return 0;
	}
	*cursor = s->members_alloc;
	return SHOAL_E_NOT_FOUND;
}

int swim_member_find(const struct swim *s, const char *name, struct swim_member_info *out)
{
	if (name == NULL)
		return -EINVAL;
	size_t len = strlen(name);
	if (len == 0 || len > SWIM_NAME_MAX)
		return SHOAL_E_NOT_FOUND;
	uint32_t id = swim_pool_name_find(s->pool, (const uint8_t *)name, (uint32_t)len);
	const struct swim_member *m = id == SWIM_NONE ? NULL : swim_member_at(s, id);
	if (m == NULL)
		return SHOAL_E_NOT_FOUND;
	fill_info(s, id, m, out);
	return 0;
}

void swim_member_counts(const struct swim *s, uint32_t counts[4])
{
	memcpy(counts, s->counts, sizeof(s->counts));
}

uint32_t swim_incarnation(const struct swim *s)
{
	return s->incarnation;
}

uint32_t swim_awareness(const struct swim *s)
{
	return s->awareness;
}

const struct swim_stats *swim_stats(const struct swim *s)
{
	return &s->stats;
}
