/*
 * node_labels.c - the labels this site gossips: the operator's (--label,
 * config) followed by the system labels discovered under --sysroot.
 *
 * System labels are discovered once before SWIM starts and again every
 * NODE_SYSINFO_REFRESH_MS (a tenth of it in the fast profile): memory
 * can be hot-added, a kernel live-patched, a VM resized. Only a change
 * re-announces the member record (swim_set_labels bumps the incarnation,
 * which events.c persists), so a steady site costs the mesh nothing.
 *
 * The member record holds at most SWIM_LABELS_MAX encoded bytes. A start
 * whose labels do not fit is refused (the operator must trim --label); a
 * refresh or a k8s version that would not fit is logged and the labels
 * announced before are kept.
 */
#include "node.h"

#include <stdio.h>
#include <string.h>

#include "shoal/error.h"

/* Encoded size of a msgpack str of len bytes. */
static size_t mp_str_size(size_t len)
{
	return (len < 32 ? 1 : len < 256 ? 2 : len < 65536 ? 3 : 5) + len;
}

static size_t encoded_size(const struct shoal_label *labels, size_t n)
{
	size_t size = n < 16 ? 1 : 3;
	for (size_t i = 0; i < n; i++)
		size += mp_str_size(strlen(labels[i].key)) + mp_str_size(strlen(labels[i].value));
	return size;
}

size_t node_labels_compose(const struct node *n, const struct node_sysinfo *sys,
                           struct shoal_label *out)
{
	size_t count = 0;
	for (size_t i = 0; i < n->cfg->nlabels; i++)
		out[count++] = (struct shoal_label){n->cfg->labels[i].key, n->cfg->labels[i].value};
	/* The trust roots' fingerprint, once the roots are loaded (trust_label.c). */
	if (n->trust_label[0] != '\0')
		out[count++] = (struct shoal_label){TRUST_LABEL_KEY, n->trust_label};
	/* Leaf mode: a leaf's role (full nodes then send it no health news)
	 * and every node's API port (where a leaf asks for the fleet). */
	if (n->cfg->leaf)
		out[count++] = (struct shoal_label){SHOAL_ROLE_LABEL, SHOAL_ROLE_LEAF};
	if (n->api_port[0] != '\0')
		out[count++] = (struct shoal_label){NODE_API_PORT_LABEL, n->api_port};
	return count + node_sysinfo_labels(sys, out + count);
}

int node_labels_check(const struct node *n, char *err, size_t errcap)
{
	struct shoal_label labels[NODE_ALL_LABELS_MAX];
	size_t count = node_labels_compose(n, &n->sys, labels);
	size_t total = encoded_size(labels, count);
	if (total <= SWIM_LABELS_MAX)
		return 0;
	size_t own = encoded_size(labels, n->cfg->nlabels);
	if (err != NULL && errcap > 0)
		snprintf(err, errcap,
		         "labels take %zu bytes encoded with the system labels (%zu of them from "
		         "--label), more than the %d a member record holds: use fewer or shorter "
		         "labels",
		         total, own, SWIM_LABELS_MAX);
	return SHOAL_E_CONFIG;
}

/* Announce n->sys with the operator's labels; on failure put `before`
 * back so what the API shows is what the mesh holds. */
static void announce(struct node *n, const struct node_sysinfo *before, const char *why)
{
	struct shoal_label labels[NODE_ALL_LABELS_MAX];
	char err[256];
	int rc = node_labels_check(n, err, sizeof(err));
	if (rc == 0) {
		size_t count = node_labels_compose(n, &n->sys, labels);
		uint64_t now = node_now();
		rc = swim_set_labels(n->swim, now, labels, count);
		node_driver_arm(n, now);
		if (rc != 0)
			snprintf(err, sizeof(err), "%s", shoal_strerror(rc));
	}
	if (rc != 0) {
		n->sys = *before;
		node_log_event(&n->log, NODE_LOG_WARN, "labels_unchanged",
		               json_pack("{s:s,s:s}", "cause", why, "reason", err));
		return;
	}
	node_log_event(&n->log, NODE_LOG_INFO, "labels",
	               json_pack("{s:s,s:I}", "cause", why, "incarnation",
	                         (json_int_t)swim_incarnation(n->swim)));
	node_reconcile_kick(n); /* the intents that select this site may differ now */
}

static void on_refresh(uv_timer_t *timer)
{
	struct node *n = timer->data;
	struct node_sysinfo before = n->sys;
	if (n->leaving || n->swim == NULL)
		return;
	node_sysinfo_discover(n->cfg->sysroot, &n->sys);
	if (memcmp(&before, &n->sys, sizeof(before)) != 0)
		announce(n, &before, "refresh");
}

void node_labels_start(struct node *n)
{
	uint64_t every = NODE_SYSINFO_REFRESH_MS;
	if (n->cfg->profile == NODE_PROFILE_FAST)
		every /= 10;
	uv_timer_init(n->loop, &n->sys_timer);
	n->sys_timer.data = n;
	n->sys_timer_open = true;
	uv_timer_start(&n->sys_timer, on_refresh, every, every);
}

void node_labels_stop(struct node *n)
{
	if (n->sys_timer_open)
		uv_close((uv_handle_t *)&n->sys_timer, NULL);
	n->sys_timer_open = false;
}

int node_labels_set_k8s_version(struct node *n, const char *version)
{
	struct node_sysinfo before = n->sys;
	if (n->swim == NULL || n->leaving)
		return SHOAL_E_STATE;
	if (!node_sysinfo_set_k8s_version(&n->sys, version))
		return 0;
	announce(n, &before, "k8s-version");
	return memcmp(&before, &n->sys, sizeof(before)) != 0 ? 0 : SHOAL_E_TOO_BIG;
}
