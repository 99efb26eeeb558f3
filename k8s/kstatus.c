/*
 * kstatus.c - readiness and pod buckets.
 *
 * Follows cli-utils' kstatus: an object whose controller has not seen its
 * latest generation is in progress whatever its counters say, because they
 * describe the previous spec. Then each kind compares its counters with
 * what the spec asks for. Departures: a Deployment's Available condition is
 * not consulted (the replica counts already say it), and a Job is current
 * once succeeded reaches completions even before the Complete condition.
 */
#include "kstatus.h"

#include <stdio.h>
#include <string.h>

#include "manifest.h"
#include "shoal/error.h"

static json_int_t int_at(const json_t *obj, const char *a, const char *b, json_int_t dflt)
{
	json_t *v = json_object_get(json_object_get(obj, a), b);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* The condition of `type` in status.conditions, or NULL. */
static const json_t *condition(const json_t *obj, const char *type)
{
	json_t *conds = json_object_get(json_object_get(obj, "status"), "conditions");
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		if (t != NULL && strcmp(t, type) == 0)
			return c;
	}
	return NULL;
}

static bool cond_is(const json_t *c, const char *status, const char *reason)
{
	const char *s = json_string_value(json_object_get(c, "status"));
	const char *r = json_string_value(json_object_get(c, "reason"));
	return c != NULL && s != NULL && strcmp(s, status) == 0 &&
	       (reason == NULL || (r != NULL && strcmp(r, reason) == 0));
}

bool k8s_is_workload(const char *api_version, const char *kind)
{
	if (api_version == NULL || kind == NULL)
		return false;
	char g[64];
	k8s_api_group(api_version, g, sizeof(g));
	if (strcmp(g, "apps") == 0)
		return !strcmp(kind, "Deployment") || !strcmp(kind, "StatefulSet") ||
		       !strcmp(kind, "DaemonSet");
	return strcmp(g, "batch") == 0 && strcmp(kind, "Job") == 0;
}

static enum k8s_kstatus lag(char *reason, size_t cap, const char *what, json_int_t have,
                            json_int_t want)
{
	snprintf(reason, cap, "%lld/%lld %s", (long long)have, (long long)want, what);
	return K8S_KS_IN_PROGRESS;
}

static enum k8s_kstatus deployment(const json_t *obj, char *reason, size_t cap)
{
	const json_t *prog = condition(obj, "Progressing");
	if (cond_is(prog, "False", "ProgressDeadlineExceeded")) {
		const char *msg = json_string_value(json_object_get(prog, "message"));
		snprintf(reason, cap, "progress deadline exceeded%s%s", msg != NULL ? ": " : "",
		         msg != NULL ? msg : "");
		return K8S_KS_FAILED;
	}
	json_int_t want = int_at(obj, "spec", "replicas", 1);
	json_int_t replicas = int_at(obj, "status", "replicas", 0);
	json_int_t updated = int_at(obj, "status", "updatedReplicas", 0);
	json_int_t available = int_at(obj, "status", "availableReplicas", 0);
	json_int_t ready = int_at(obj, "status", "readyReplicas", 0);
	if (updated < want)
		return lag(reason, cap, "replicas updated", updated, want);
	if (replicas > updated)
		return lag(reason, cap, "old replicas terminated", replicas - updated, 0);
	if (available < want)
		return lag(reason, cap, "replicas available", available, want);
	if (ready < want)
		return lag(reason, cap, "replicas ready", ready, want);
	return K8S_KS_CURRENT;
}

static enum k8s_kstatus statefulset(const json_t *obj, char *reason, size_t cap)
{
	json_t *strategy = json_object_get(json_object_get(obj, "spec"), "updateStrategy");
	const char *type = json_string_value(json_object_get(strategy, "type"));
	if (type != NULL && strcmp(type, "OnDelete") == 0)
		return K8S_KS_CURRENT; /* kstatus: nothing rolls until pods are deleted */
	json_int_t want = int_at(obj, "spec", "replicas", 1);
	json_int_t replicas = int_at(obj, "status", "replicas", 0);
	json_int_t ready = int_at(obj, "status", "readyReplicas", 0);
	json_int_t updated = int_at(obj, "status", "updatedReplicas", 0);
	if (replicas < want)
		return lag(reason, cap, "replicas", replicas, want);
	if (ready < want)
		return lag(reason, cap, "replicas ready", ready, want);
	json_t *partition =
	        json_object_get(json_object_get(strategy, "rollingUpdate"), "partition");
	if (json_is_integer(partition)) {
		json_int_t expect = want - json_integer_value(partition);
		if (updated < expect)
			return lag(reason, cap, "partitioned replicas updated", updated, expect);
		return K8S_KS_CURRENT;
	}
	const char *cur = json_string_value(
	        json_object_get(json_object_get(obj, "status"), "currentRevision"));
	const char *upd = json_string_value(
	        json_object_get(json_object_get(obj, "status"), "updateRevision"));
	if (cur == NULL || upd == NULL || strcmp(cur, upd) != 0) {
		snprintf(reason, cap, "rolling out revision %s", upd != NULL ? upd : "(unknown)");
		return K8S_KS_IN_PROGRESS;
	}
	return K8S_KS_CURRENT;
}

static enum k8s_kstatus daemonset(const json_t *obj, char *reason, size_t cap)
{
	json_t *st = json_object_get(obj, "status");
	if (!json_is_integer(json_object_get(st, "desiredNumberScheduled"))) {
		snprintf(reason, cap, "no scheduling status yet");
		return K8S_KS_IN_PROGRESS;
	}
	json_int_t want = int_at(obj, "status", "desiredNumberScheduled", 0);
	json_int_t cur = int_at(obj, "status", "currentNumberScheduled", 0);
	json_int_t updated = int_at(obj, "status", "updatedNumberScheduled", 0);
	json_int_t available = int_at(obj, "status", "numberAvailable", 0);
	json_int_t ready = int_at(obj, "status", "numberReady", 0);
	if (cur < want)
		return lag(reason, cap, "pods scheduled", cur, want);
	if (updated < want)
		return lag(reason, cap, "pods updated", updated, want);
	if (available < want)
		return lag(reason, cap, "pods available", available, want);
	if (ready < want)
		return lag(reason, cap, "pods ready", ready, want);
	return K8S_KS_CURRENT;
}

static enum k8s_kstatus job(const json_t *obj, char *reason, size_t cap)
{
	const json_t *failed = condition(obj, "Failed");
	if (cond_is(failed, "True", NULL)) {
		const char *msg = json_string_value(json_object_get(failed, "message"));
		const char *why = json_string_value(json_object_get(failed, "reason"));
		snprintf(reason, cap, "job failed: %s", msg != NULL ? msg : why != NULL ? why : "");
		return K8S_KS_FAILED;
	}
	if (cond_is(condition(obj, "Complete"), "True", NULL))
		return K8S_KS_CURRENT;
	json_int_t want = int_at(obj, "spec", "completions", 1);
	json_int_t succeeded = int_at(obj, "status", "succeeded", 0);
	if (succeeded >= want)
		return K8S_KS_CURRENT;
	return lag(reason, cap, "completions", succeeded, want);
}

enum k8s_kstatus k8s_kstatus_of(const json_t *obj, char *reason, size_t cap)
{
	reason[0] = '\0';
	const char *api = json_string_value(json_object_get(obj, "apiVersion"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	if (!k8s_is_workload(api, kind))
		return K8S_KS_CURRENT;
	json_t *gen = json_object_get(json_object_get(obj, "metadata"), "generation");
	json_t *seen = json_object_get(json_object_get(obj, "status"), "observedGeneration");
	if (json_is_integer(gen) &&
	    (!json_is_integer(seen) || json_integer_value(seen) != json_integer_value(gen))) {
		snprintf(reason, cap, "generation %lld not yet observed by its controller",
		         (long long)json_integer_value(gen));
		return K8S_KS_IN_PROGRESS;
	}
	if (strcmp(kind, "Deployment") == 0)
		return deployment(obj, reason, cap);
	if (strcmp(kind, "StatefulSet") == 0)
		return statefulset(obj, reason, cap);
	if (strcmp(kind, "DaemonSet") == 0)
		return daemonset(obj, reason, cap);
	return job(obj, reason, cap);
}

/* Which bucket explains a pod best when its containers disagree: a config
 * error or a missing image is the cause of any waiting around it, an OOM
 * kill the cause of a crash loop, and "creating" says the least. */
static int precedence(enum k8s_pod_bucket b)
{
	switch (b) {
	case K8S_POD_CONFIG_ERROR:
		return 0;
	case K8S_POD_IMAGE:
		return 1;
	case K8S_POD_OOM_KILLED:
		return 2;
	case K8S_POD_CRASH_LOOP:
		return 3;
	default:
		return 4;
	}
}

/* The most telling bucket among one list of container statuses. */
static enum k8s_pod_bucket containers(const json_t *statuses, enum k8s_pod_bucket best)
{
	size_t i;
	json_t *c;
	json_array_foreach(statuses, i, c)
	{
		enum k8s_pod_bucket b = K8S_POD_BUCKETS;
		json_t *last = json_object_get(json_object_get(c, "lastState"), "terminated");
		json_t *now = json_object_get(json_object_get(c, "state"), "terminated");
		const char *why = json_string_value(json_object_get(
		        json_object_get(json_object_get(c, "state"), "waiting"), "reason"));
		const char *lr = json_string_value(json_object_get(last, "reason"));
		const char *nr = json_string_value(json_object_get(now, "reason"));
		if (why != NULL && (!strcmp(why, "CreateContainerConfigError") ||
		                    !strcmp(why, "InvalidImageName")))
			b = K8S_POD_CONFIG_ERROR;
		else if (why != NULL &&
		         (!strcmp(why, "ErrImagePull") || !strcmp(why, "ImagePullBackOff")))
			b = K8S_POD_IMAGE;
		else if ((lr != NULL && !strcmp(lr, "OOMKilled")) ||
		         (nr != NULL && !strcmp(nr, "OOMKilled")))
			b = K8S_POD_OOM_KILLED;
		else if (why != NULL && !strcmp(why, "CrashLoopBackOff"))
			b = K8S_POD_CRASH_LOOP;
		else if (why != NULL &&
		         (!strcmp(why, "ContainerCreating") || !strcmp(why, "PodInitializing")))
			b = K8S_POD_CREATING;
		if (b != K8S_POD_BUCKETS &&
		    (best == K8S_POD_BUCKETS || precedence(b) < precedence(best)))
			best = b;
	}
	return best;
}

enum k8s_pod_bucket k8s_pod_bucket_of(const json_t *pod)
{
	json_t *st = json_object_get(pod, "status");
	const char *phase = json_string_value(json_object_get(st, "phase"));
	if (phase != NULL && strcmp(phase, "Succeeded") == 0)
		return K8S_POD_SUCCEEDED;
	if (phase != NULL && strcmp(phase, "Failed") == 0)
		return K8S_POD_FAILED;
	if (cond_is(condition(pod, "PodScheduled"), "False", "Unschedulable"))
		return K8S_POD_UNSCHEDULABLE;
	enum k8s_pod_bucket b =
	        containers(json_object_get(st, "initContainerStatuses"), K8S_POD_BUCKETS);
	b = containers(json_object_get(st, "containerStatuses"), b);
	if (b != K8S_POD_BUCKETS)
		return b;
	if (phase != NULL && strcmp(phase, "Running") == 0)
		return K8S_POD_RUNNING;
	return K8S_POD_PENDING;
}

static uint32_t restart_sum(const json_t *statuses, uint32_t sum)
{
	size_t i;
	json_t *c;
	json_array_foreach(statuses, i, c)
	{
		json_int_t r = json_integer_value(json_object_get(c, "restartCount"));
		if (r > 0)
			sum = (uint64_t)sum + (uint64_t)r > UINT32_MAX ? UINT32_MAX
			                                               : sum + (uint32_t)r;
	}
	return sum;
}

uint32_t k8s_pod_restarts(const json_t *pod)
{
	json_t *st = json_object_get(pod, "status");
	return restart_sum(json_object_get(st, "containerStatuses"),
	                   restart_sum(json_object_get(st, "initContainerStatuses"), 0));
}

static int put(char *out, size_t cap, size_t *n, const char *s)
{
	size_t l = strlen(s);
	if (*n + l + 1 > cap)
		return SHOAL_E_TOO_BIG;
	memcpy(out + *n, s, l + 1);
	*n += l;
	return 0;
}

int k8s_selector_string(const json_t *selector, char *out, size_t cap)
{
	size_t n = 0;
	int rc = 0;
	if (cap == 0)
		return SHOAL_E_TOO_BIG;
	out[0] = '\0';
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)json_object_get(selector, "matchLabels"), key, v)
	{
		if (!json_is_string(v))
			return SHOAL_E_MALFORMED;
		if ((n > 0 && (rc = put(out, cap, &n, ","))) || (rc = put(out, cap, &n, key)) ||
		    (rc = put(out, cap, &n, "=")) || (rc = put(out, cap, &n, json_string_value(v))))
			return rc;
	}
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(selector, "matchExpressions"), i, e)
	{
		const char *k = json_string_value(json_object_get(e, "key"));
		const char *op = json_string_value(json_object_get(e, "operator"));
		if (k == NULL || op == NULL)
			return SHOAL_E_MALFORMED;
		if (n > 0 && (rc = put(out, cap, &n, ",")))
			return rc;
		if (!strcmp(op, "Exists")) {
			rc = put(out, cap, &n, k);
		} else if (!strcmp(op, "DoesNotExist")) {
			if (!(rc = put(out, cap, &n, "!")))
				rc = put(out, cap, &n, k);
		} else if (!strcmp(op, "In") || !strcmp(op, "NotIn")) {
			if ((rc = put(out, cap, &n, k)) ||
			    (rc = put(out, cap, &n, !strcmp(op, "In") ? " in (" : " notin (")))
				return rc;
			size_t j;
			json_t *val;
			json_array_foreach(json_object_get(e, "values"), j, val)
			{
				if (!json_is_string(val))
					return SHOAL_E_MALFORMED;
				if ((j > 0 && (rc = put(out, cap, &n, ","))) ||
				    (rc = put(out, cap, &n, json_string_value(val))))
					return rc;
			}
			rc = put(out, cap, &n, ")");
		} else {
			return SHOAL_E_MALFORMED;
		}
		if (rc != 0)
			return rc;
	}
	return n > 0 ? 0 : SHOAL_E_MALFORMED;
}
