/*
 * health_local.c - this site's own health record: sampled, scored, paced
 * and published.
 *
 * A timer samples the host (/proc under --sysroot), SWIM's link summary and
 * the reconciler's per-intent states, and composes a candidate record.
 * health_changes() says whether anything moved enough to matter; the pacer
 * (docs/health.md) publishes at once on a meaningful change after a
 * hold-down, else at the fleet's slow refresh. Publishing signs the record
 * with the site key, offers it to our own table (so this node answers for
 * itself like for anyone) and announces it on the replica.
 *
 * Clock skew is estimated from the records we receive: a record's version
 * is its owner's HLC at signing, so (version time - our wall clock when it
 * arrived) is the owner's offset from us plus the time it travelled. The
 * median over peers, negated, is our offset from the fleet; it errs by the
 * typical propagation delay (well under a second), which is the resolution
 * a skew report needs.
 */
#include "node.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "shoal/error.h"

#define SAMPLE_MS 5000 /* the fast profile divides by 10 */
#define LINKS_S   60   /* the window the link summary covers */
#define SOFTWARE  "shoal " SHOAL_VERSION

static uint64_t profile_div(const struct node *n)
{
	return n->cfg->profile == NODE_PROFILE_FAST ? 10 : 1;
}

static void sample_host(struct node *n)
{
	struct node_health *h = &n->health;
	const char *root = n->cfg->sysroot != NULL ? n->cfg->sysroot : "";
	struct proc_cpu cpu;
	if (proc_read_cpu(root, &cpu) == 0) {
		if (h->cpu_ok)
			h->cpu_pm = proc_cpu_use_pm(&h->cpu_prev, &cpu);
		h->cpu_prev = cpu;
		h->cpu_ok = true;
	}
	proc_read_mem_pm(root, &h->mem_pm);
	proc_disk_use_pm(n->cfg->data_dir, &h->disk_pm);
	proc_read_uptime(root, &h->uptime_s);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Our offset from the fleet's clocks, from recently received records. */
static int32_t skew_ms(struct node *n, uint64_t now)
{
	struct node_health *h = &n->health;
	struct health_entry e;
	uint32_t cursor = 0;
	size_t count = 0, cap = health_table_count(h->table);
	int64_t *offsets = cap > 0 ? malloc(cap * sizeof(*offsets)) : NULL;
	uint64_t wall = node_wall_ms(), fresh_us = 3 * node_health_refresh_us(n);
	if (offsets == NULL)
		return 0;
	while (health_table_next(h->table, &cursor, &e) == 0) {
		if (strcmp(e.site, n->cfg->name) == 0 || e.received > now ||
		    now - e.received > fresh_us)
			continue;
		uint64_t arrived_ms = wall - (now - e.received) / 1000;
		offsets[count++] = (int64_t)shoal_hlc_ms(e.version) - (int64_t)arrived_ms;
	}
	int64_t median = 0;
	if (count > 0) {
		qsort(offsets, count, sizeof(*offsets), cmp_i64);
		median = offsets[count / 2];
	}
	free(offsets);
	if (median > INT32_MAX - 1 || median < -(INT32_MAX - 1))
		return median > 0 ? -(INT32_MAX - 1) : INT32_MAX - 1;
	return (int32_t)-median;
}

/* The candidate record: strings borrow from cfg, sys, site_states and the
 * label arrays passed in (which must outlive the record's use). */
static void compose(struct node *n, uint64_t now, struct health_record *r,
                    struct shoal_label *labels, struct shoal_label *annotations)
{
	struct node_health *h = &n->health;
	memset(r, 0, sizeof(*r));
	r->site = (struct health_str){n->cfg->name, (uint32_t)strlen(n->cfg->name)};
	r->software = (struct health_str){SOFTWARE, (uint32_t)strlen(SOFTWARE)};

	size_t nl = node_labels_compose(n, &n->sys, labels);
	for (size_t i = 0; i < nl && r->n_labels < HEALTH_LABELS_MAX; i++)
		r->labels[r->n_labels++] =
		        (struct health_label){{labels[i].key, (uint32_t)strlen(labels[i].key)},
		                              {labels[i].value, (uint32_t)strlen(labels[i].value)}};
	size_t na = 0;
	for (size_t i = 0; i < n->cfg->nannotations; i++)
		annotations[na++] = (struct shoal_label){n->cfg->annotations[i].key,
		                                         n->cfg->annotations[i].value};
	na += node_sysinfo_annotations(&n->sys, annotations + na);
	for (size_t i = 0; i < na && r->n_annotations < HEALTH_ANNOTATIONS_MAX; i++)
		r->annotations[r->n_annotations++] = (struct health_label){
		        {annotations[i].key, (uint32_t)strlen(annotations[i].key)},
		        {annotations[i].value, (uint32_t)strlen(annotations[i].value)}};

	r->uptime_s = h->uptime_s;
	r->skew_ms = skew_ms(n, now);
	r->cpu_pm = h->cpu_pm;
	r->mem_pm = h->mem_pm;
	r->disk_pm = h->disk_pm;

	struct swim_links l;
	swim_links(n->swim, now, LINKS_S * UINT64_C(1000000) / profile_div(n), &l);
	r->links = (struct health_links){.window_s = l.window_s,
	                                 .known = l.known,
	                                 .probed = l.probed,
	                                 .reached = l.reached,
	                                 .rtt_p50_us = l.rtt_p50_us,
	                                 .rtt_p99_us = l.rtt_p99_us,
	                                 .loss_pm = l.loss_pm};

	const struct node_site_states *st = &n->site_states;
	for (size_t i = 0; i < st->n && r->n_intents < HEALTH_INTENTS_MAX; i++) {
		const struct node_site_state *s = &st->items[i];
		r->intents[r->n_intents++] =
		        (struct health_intent){.kind = s->kind,
		                               .name = {s->name, (uint32_t)strlen(s->name)},
		                               .version = s->version,
		                               .state = s->state};
		for (int p = 0; p < HEALTH_POD_COUNT; p++)
			r->pods[p] += s->pods[p];
		r->restarts += s->restarts;
	}

	uint8_t roots[32];
	trust_roots_hash(&n->roots, roots);
	memcpy(r->sec.roots, roots, HEALTH_ROOTS_LEN);
	r->sec.keyring = n->encrypted;

	struct health_fleet fleet = {.roots_known = true};
	memcpy(fleet.roots, roots, HEALTH_ROOTS_LEN);
	health_score_compute(r, &fleet, &r->score);
	/* Per-site AlertRules, judged on the figures just composed. */
	struct shoal_labels own = {labels, nl};
	r->n_alerts = node_alerts_local(n, r, &own, r->alerts);
}

static void publish(struct node *n, uint64_t now, struct health_record *r)
{
	struct node_health *h = &n->health;
	uint8_t sk[64];
	struct shoal_buf out;
	int rc;

	r->version = shoal_hlc_now(&n->hlc, node_wall_ms());
	if (node_store_secret_key(&n->store, sk) != 0)
		return;
	shoal_buf_create(&out, HEALTH_ENVELOPE_MAX);
	rc = health_seal(r, sk, &out);
	sodium_memzero(sk, sizeof(sk));
	if (rc == 0)
		rc = node_health_offer(n, now, out.data, out.len, node_wall_ms(), NULL, 0);
	if (rc != 0) {
		node_log_event(&n->log, NODE_LOG_WARN, "health_publish_failed",
		               json_pack("{s:s}", "reason", shoal_strerror(rc)));
		shoal_buf_destroy(&out);
		return;
	}
	/* Keep what went out, to judge the next sample against. */
	free(h->last_bytes);
	h->last_bytes = out.data;
	h->last_len = out.len;
	const uint8_t *body, *sig;
	uint32_t body_len;
	if (health_envelope_split(h->last_bytes, h->last_len, &body, &body_len, &sig) != 0 ||
	    health_body_decode(body, body_len, h->last) != 0)
		h->last_len = 0;
	h->published++;
	health_pacer_published(&h->pacer, node_transport_env(&n->transport), now);

	uint8_t key[sizeof(NODE_HEALTH_KEY_PREFIX) + HEALTH_SITE_MAX];
	size_t plen = strlen(NODE_HEALTH_KEY_PREFIX), slen = strlen(n->cfg->name);
	memcpy(key, NODE_HEALTH_KEY_PREFIX, plen);
	memcpy(key + plen, n->cfg->name, slen);
	struct replica_item it = {.key = key,
	                          .key_len = (uint32_t)(plen + slen),
	                          .version = r->version,
	                          .size = (uint32_t)h->last_len};
	replica_digest(h->last_bytes, h->last_len, it.digest);
	node_replica_announce(n, &it);
}

static void on_sample(uv_timer_t *t)
{
	struct node *n = t->data;
	struct node_health *h = &n->health;
	struct shoal_label labels[NODE_ALL_LABELS_MAX];
	struct shoal_label annotations[NODE_ANNOTATIONS_MAX + NODE_SYS_ANNOTATIONS_MAX];
	struct health_record *next = malloc(sizeof(*next));
	if (next == NULL || n->swim == NULL || n->stopped) {
		free(next);
		return;
	}
	uint64_t now = node_now();
	sample_host(n);
	compose(n, now, next, labels, annotations);
	h->pacer.refresh_us = node_health_refresh_us(n);
	/* The first record waits for a first probe (or a few sample periods,
	 * for a site alone): before it, "knows peers, reached none" would
	 * score the site cut off and show it red until the next change. */
	bool early = now - h->started < 4 * SAMPLE_MS * UINT64_C(1000) / profile_div(n);
	if (h->last_len == 0 && early && next->links.known > 0 && next->links.probed == 0) {
		free(next);
		return;
	}
	unsigned changes = h->last_len > 0 ? health_changes(h->last, next) : HEALTH_CH_LABELS;
	if (h->last_len == 0 || now >= health_pacer_due(&h->pacer, changes))
		publish(n, now, next);
	free(next);
}

void node_health_local_start(struct node *n)
{
	struct node_health *h = &n->health;
	h->last = malloc(sizeof(*h->last));
	if (h->last == NULL)
		return;
	health_pacer_create(&h->pacer, node_health_refresh_us(n));
	h->pacer.hold_us /= profile_div(n);
	h->started = node_now();
	uv_timer_init(n->loop, &h->timer);
	h->timer.data = n;
	h->timer_open = true;
	uint64_t every = SAMPLE_MS / profile_div(n);
	/* The first record soon after start (CPU needs two readings). */
	uv_timer_start(&h->timer, on_sample, every / 5, every);
}

void node_health_local_stop(struct node *n)
{
	struct node_health *h = &n->health;
	if (h->timer_open)
		uv_close((uv_handle_t *)&h->timer, NULL);
	h->timer_open = false;
	free(h->last);
	h->last = NULL;
	free(h->last_bytes);
	h->last_bytes = NULL;
	h->last_len = 0;
}
