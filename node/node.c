/*
 * node.c - assembling a node, and taking it apart.
 *
 * Start order matters for what a crash or a refusal leaves behind: the
 * store is opened and the identity checked before any socket exists (a data
 * dir of another site is refused without touching the network), and the
 * bumped incarnation is committed before the first packet is sent, so a
 * node that restarts always speaks with a higher incarnation than anything
 * it said before.
 */
#include "node.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "shoal/error.h"

static void set_err(char *err, size_t errcap, const char *fmt, const char *a, const char *b)
{
	if (err != NULL && errcap > 0)
		snprintf(err, errcap, fmt, a, b);
}

/* Pick the keyring file: --keyring, else DATA_DIR/keyring if present, else
 * none (unencrypted). */
static int load_keyring(struct node *n, char *err, size_t errcap)
{
	const struct node_config *cfg = n->cfg;
	char why[256];
	int len;

	shoal_keyring_create(&n->keyring);
	if (cfg->keyring_path != NULL) {
		len = snprintf(n->keyring_path, sizeof(n->keyring_path), "%s", cfg->keyring_path);
	} else {
		struct stat sb;
		len = snprintf(n->keyring_path, sizeof(n->keyring_path), "%s/keyring",
		               cfg->data_dir);
		if (len > 0 && (size_t)len < sizeof(n->keyring_path) &&
		    stat(n->keyring_path, &sb) != 0 && errno == ENOENT) {
			n->keyring_path[0] = '\0';
			return 0;
		}
	}
	if (len < 0 || (size_t)len >= sizeof(n->keyring_path)) {
		set_err(err, errcap, "keyring: path too long%s%s", "", "");
		return SHOAL_E_CONFIG;
	}
	int rc = shoal_keyring_load(&n->keyring, n->keyring_path, why, sizeof(why));
	if (rc != 0) {
		set_err(err, errcap, "keyring %s: %s", n->keyring_path, why);
		return SHOAL_E_CONFIG;
	}
	n->encrypted = true;
	return 0;
}

static int open_identity(struct node *n, struct node_identity *id, char *err, size_t errcap)
{
	char stored[SWIM_NAME_MAX + 1] = "";
	int rc = node_store_open(&n->store, n->cfg->data_dir, err, errcap);
	if (rc != 0)
		return rc;
	n->store_open = true;
	rc = node_store_identity(&n->store, n->cfg->name, id, stored);
	if (rc == SHOAL_E_NAME_TAKEN) {
		if (err != NULL && errcap > 0)
			snprintf(
			        err, errcap,
			        "data dir %s belongs to site \"%s\", not \"%s\" (a site's identity "
			        "is its key: use another data dir or the old name)",
			        n->cfg->data_dir, stored, n->cfg->name);
		return rc;
	}
	if (rc != 0) {
		set_err(err, errcap, "data dir %s: cannot read the site identity (%s)",
		        n->cfg->data_dir, shoal_strerror(rc));
		return rc;
	}
	/* Restarting with a higher incarnation than anything said before;
	 * committed before a single packet leaves. */
	if (id->incarnation == UINT32_MAX) {
		set_err(err, errcap, "data dir %s: incarnation exhausted%s", n->cfg->data_dir, "");
		return SHOAL_E_RANGE;
	}
	id->incarnation++;
	rc = node_store_set_incarnation(&n->store, id->incarnation);
	if (rc != 0)
		set_err(err, errcap, "data dir %s: cannot persist the incarnation (%s)",
		        n->cfg->data_dir, shoal_strerror(rc));
	return rc;
}

static int create_swim(struct node *n, struct node_identity *id, uint64_t now, char *err,
                       size_t errcap)
{
	const struct node_config *cfg = n->cfg;
	struct shoal_label labels[NODE_ALL_LABELS_MAX];
	struct swim_config sc;

	int rc = node_labels_check(n, err, errcap);
	if (rc != 0)
		return rc;
	size_t nlabels = node_labels_compose(n, &n->sys, labels);
	swim_config_defaults(&sc);
	if (cfg->profile == NODE_PROFILE_FAST)
		swim_config_scale(&sc, 10);
	sc.name = cfg->name;
	sc.advertise = cfg->advertise;
	sc.labels = labels;
	sc.nlabels = nlabels;
	sc.version = SHOAL_VERSION;
	memcpy(sc.site_pk, id->pk, sizeof(sc.site_pk));
	memcpy(sc.site_sk, id->sk, sizeof(sc.site_sk));
	sc.incarnation = id->incarnation;
	sc.on_event = node_events_on_swim;
	sc.event_ctx = n;
	sc.is_quiet = shoal_labels_say_leaf;

	rc = swim_pool_new(&n->pool);
	if (rc == 0)
		rc = swim_new(&n->swim, &sc, node_transport_env(&n->transport), &n->keyring,
		              n->pool, now);
	sodium_memzero(sc.site_sk, sizeof(sc.site_sk));
	if (rc != 0)
		set_err(err, errcap, "cannot start membership: %s%s", shoal_strerror(rc), "");
	return rc;
}

/* Seeds, minus our own addresses (a node told to join itself just waits). */
static int join_seeds(struct node *n, uint64_t now)
{
	const struct node_config *cfg = n->cfg;
	struct shoal_addr seeds[NODE_JOIN_MAX];
	size_t count = 0;
	for (size_t i = 0; i < cfg->njoin; i++) {
		if (shoal_addr_equal(&cfg->join[i], &cfg->advertise) ||
		    shoal_addr_equal(&cfg->join[i], &cfg->bind))
			continue;
		seeds[count++] = cfg->join[i];
	}
	if (count == 0)
		return 0;
	return swim_join(n->swim, now, seeds, count);
}

static void log_ready(struct node *n)
{
	const struct node_config *cfg = n->cfg;
	char adv[SHOAL_ADDR_STRLEN], bind[SHOAL_ADDR_STRLEN], api[SHOAL_ADDR_STRLEN];
	char pk[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	shoal_addr_format(&cfg->advertise, adv, sizeof(adv));
	shoal_addr_format(&cfg->bind, bind, sizeof(bind));
	struct shoal_addr api_addr = cfg->api;
	if (n->http != NULL)
		api_addr.port = node_http_port(n->http);
	shoal_addr_format(&api_addr, api, sizeof(api));
	sodium_bin2base64(pk, sizeof(pk), n->pk, sizeof(n->pk), sodium_base64_VARIANT_ORIGINAL);

	json_t *seeds = json_array();
	for (size_t i = 0; i < cfg->njoin; i++) {
		char s[SHOAL_ADDR_STRLEN];
		shoal_addr_format(&cfg->join[i], s, sizeof(s));
		json_array_append_new(seeds, json_string(s));
	}
	node_log_event(&n->log, NODE_LOG_INFO, "ready",
	               json_pack("{s:s,s:s,s:s,s:I,s:b,s:s,s:s,s:s,s:o}", "address", adv, "bind",
	                         bind, "api", api, "incarnation",
	                         (json_int_t)swim_incarnation(n->swim), "encrypted", n->encrypted,
	                         "profile", cfg->profile == NODE_PROFILE_FAST ? "fast" : "lan",
	                         "version", SHOAL_VERSION, "public_key", pk, "join", seeds));
}

static void teardown(struct node *n)
{
	node_proxy_stop(n); /* answers what waits on the API server */
	node_http_stop(n->http);
	n->http = NULL;
	node_reconcile_stop(n);
	node_labels_stop(n);
	node_alerts_stop(n);
	node_wire_detach(n); /* before its swim, while streams can still close */
	node_intents_close(n);
	node_health_close(n);
	node_trust_close(n);
	if (n->transport_open)
		node_transport_close(&n->transport);
	n->transport_open = false;
	if (n->swim != NULL)
		swim_delete(n->swim);
	n->swim = NULL;
	if (n->pool != NULL)
		swim_pool_delete(n->pool);
	n->pool = NULL;
	if (n->timer_open)
		uv_close((uv_handle_t *)&n->timer, NULL);
	n->timer_open = false;
	if (n->linger_open)
		uv_close((uv_handle_t *)&n->linger, NULL);
	n->linger_open = false;
	shoal_keyring_destroy(&n->keyring);
	node_site_states_free(&n->site_states);
	if (n->store_open)
		node_store_close(&n->store);
	n->store_open = false;
}

int node_start(struct node *n, uv_loop_t *loop, const struct node_config *cfg, char *err,
               size_t errcap)
{
	struct node_identity id;
	char why[512] = "";
	int rc;

	memset(n, 0, sizeof(*n));
	memset(&id, 0, sizeof(id));
	n->loop = loop;
	n->cfg = cfg;
	/* Port 0 (any free port) is not known until the API listens, after
	 * the member record is signed: such a node is not asked by leaves. */
	if (cfg->api.port != 0)
		snprintf(n->api_port, sizeof(n->api_port), "%u", (unsigned)cfg->api.port);
	node_log_create(&n->log, stdout, cfg->name, cfg->log_level);
	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (sodium_init() < 0) {
		set_err(err, errcap, "libsodium failed to initialise%s%s", "", "");
		return -EIO;
	}

	if ((rc = load_keyring(n, err, errcap)) != 0)
		goto fail;
	if ((rc = open_identity(n, &id, err, errcap)) != 0)
		goto fail;
	memcpy(n->pk, id.pk, sizeof(n->pk));
	/* The cluster before any socket: a kubeconfig that does not load is
	 * refused like any other bad setting. */
	if ((rc = node_reconcile_start(n, err, errcap)) != 0)
		goto fail;

	struct node_transport_cbs cbs = node_driver_cbs_template;
	cbs.ctx = n;
	rc = node_transport_start(&n->transport, loop, &cfg->bind, &cbs, why, sizeof(why));
	if (rc != 0) {
		set_err(err, errcap, "gossip %s%s", why, "");
		goto fail;
	}
	n->transport_open = true;

	node_sysinfo_discover(cfg->sysroot, &n->sys);
	/* The intents (and the trust roots) before SWIM: the member record
	 * carries the roots' fingerprint from the first packet. */
	if ((rc = node_intents_open(n, node_transport_env(&n->transport), err, errcap)) != 0)
		goto fail;
	if ((rc = node_health_open(n, err, errcap)) != 0)
		goto fail;
	/* The trust roots' fingerprint: peers report a mismatch (trust_label.c). */
	node_trust_label_init(n);
	uint64_t now = node_now();
	if ((rc = create_swim(n, &id, now, err, errcap)) != 0)
		goto fail;
	node_labels_start(n);
	node_identity_wipe(&id);
	uv_timer_init(loop, &n->timer);
	n->timer.data = n;
	n->timer_open = true;
	uv_timer_init(loop, &n->linger);
	n->linger.data = n;
	n->linger_open = true;

	rc = node_http_start(&n->http, loop, &cfg->api, node_api_routes, node_api_nroutes, n, why,
	                     sizeof(why));
	if (rc != 0) {
		set_err(err, errcap, "%s%s", why, "");
		goto fail;
	}
	if ((rc = node_proxy_start(n)) != 0) {
		set_err(err, errcap, "cannot start the leaf's fleet client: %s%s",
		        shoal_strerror(rc), "");
		goto fail;
	}

	if (!n->encrypted)
		node_log_msg(&n->log, NODE_LOG_WARN, "unencrypted",
		             "NO KEYRING: gossip is NOT encrypted or authenticated; anyone who "
		             "can reach the gossip port can join. Pass --keyring FILE.");
	if ((rc = node_wire_attach(n)) != 0) {
		set_err(err, errcap, "cannot replicate intents and health: %s%s",
		        shoal_strerror(rc), "");
		goto fail;
	}
	if ((rc = node_alerts_start(n)) != 0) {
		set_err(err, errcap, "cannot start alerting: %s%s", shoal_strerror(rc), "");
		goto fail;
	}
	now = node_now();
	if ((rc = join_seeds(n, now)) != 0) {
		set_err(err, errcap, "cannot join: %s%s", shoal_strerror(rc), "");
		goto fail;
	}
	node_driver_arm(n, now);
	log_ready(n);
	return 0;
fail:
	node_identity_wipe(&id);
	teardown(n);
	n->stopped = true;
	return rc;
}

void node_stop(struct node *n)
{
	if (n->stopped)
		return;
	n->stopped = true;
	node_log_event(&n->log, NODE_LOG_INFO, "shutdown", json_pack("{s:b}", "left", n->leaving));
	teardown(n);
	if (n->on_stopped != NULL)
		n->on_stopped(n);
}

static void on_linger(uv_timer_t *timer)
{
	node_stop(timer->data);
}

void node_leave(struct node *n)
{
	if (n->stopped)
		return;
	if (n->leaving) {
		node_stop(n); /* asked twice: stop without waiting */
		return;
	}
	n->leaving = true;
	uint64_t now = node_now();
	int rc = swim_leave(n->swim, now);
	uint64_t linger_ms = rc == 0 ? (swim_leave_linger_us(n->swim) + 999) / 1000 : 0;
	node_log_event(&n->log, NODE_LOG_INFO, "leave",
	               json_pack("{s:I,s:I}", "incarnation", (json_int_t)swim_incarnation(n->swim),
	                         "linger_ms", (json_int_t)linger_ms));
	node_driver_arm(n, now);
	uv_timer_start(&n->linger, on_linger, linger_ms, 0);
}
