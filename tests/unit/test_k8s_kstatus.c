/*
 * test_k8s_kstatus.c - readiness by the kstatus rules, pod buckets and
 * workload selectors, on JSON shaped as the API server returns it.
 */
#include "../../k8s/kstatus.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "shoal/error.h"

static json_t *j(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	if (v == NULL)
		fail_msg("fixture: %s", e.text);
	return v;
}

/* kstatus of a fixture; `needle` must be in the reason when not current. */
static void expect(const char *text, enum k8s_kstatus want, const char *needle)
{
	json_t *o = j(text);
	char reason[256];
	enum k8s_kstatus got = k8s_kstatus_of(o, reason, sizeof(reason));
	if (got != want)
		fail_msg("%s: got %d (%s), want %d", text, got, reason, want);
	if (needle != NULL && strstr(reason, needle) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", reason, needle);
	json_decref(o);
}

#define DEP "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"generation\":2},"

static void deployment_rules(void **state)
{
	(void)state;
	expect(DEP "\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":2,\"replicas\":3,"
	           "\"updatedReplicas\":3,\"availableReplicas\":3,\"readyReplicas\":3}}",
	       K8S_KS_CURRENT, NULL);
	/* The controller has not seen generation 2: the counts are stale. */
	expect(DEP "\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":1,\"replicas\":3,"
	           "\"updatedReplicas\":3,\"availableReplicas\":3,\"readyReplicas\":3}}",
	       K8S_KS_IN_PROGRESS, "generation 2 not yet observed");
	expect(DEP "\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":2,\"replicas\":3,"
	           "\"updatedReplicas\":1,\"availableReplicas\":3,\"readyReplicas\":3}}",
	       K8S_KS_IN_PROGRESS, "1/3 replicas updated");
	expect(DEP "\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":2,\"replicas\":4,"
	           "\"updatedReplicas\":3,\"availableReplicas\":3,\"readyReplicas\":3}}",
	       K8S_KS_IN_PROGRESS, "old replicas");
	expect(DEP "\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":2,\"replicas\":3,"
	           "\"updatedReplicas\":3,\"availableReplicas\":2,\"readyReplicas\":3}}",
	       K8S_KS_IN_PROGRESS, "2/3 replicas available");
	expect(DEP "\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":2,\"replicas\":3,"
	           "\"updatedReplicas\":3,\"availableReplicas\":3,\"readyReplicas\":0}}",
	       K8S_KS_IN_PROGRESS, "0/3 replicas ready");
	/* replicas defaults to 1. */
	expect(DEP "\"spec\":{},\"status\":{\"observedGeneration\":2,\"replicas\":1,"
	           "\"updatedReplicas\":1,\"availableReplicas\":1,\"readyReplicas\":1}}",
	       K8S_KS_CURRENT, NULL);
	expect(DEP
	       "\"spec\":{\"replicas\":2},\"status\":{\"observedGeneration\":2,\"conditions\":["
	       "{\"type\":\"Progressing\",\"status\":\"False\",\"reason\":"
	       "\"ProgressDeadlineExceeded\",\"message\":\"ReplicaSet web-1 has timed out\"}]}}",
	       K8S_KS_FAILED, "ReplicaSet web-1 has timed out");
	/* Progressing=True is just progress. */
	expect(DEP "\"spec\":{\"replicas\":2},\"status\":{\"observedGeneration\":2,\"conditions\":["
	           "{\"type\":\"Progressing\",\"status\":\"True\",\"reason\":"
	           "\"NewReplicaSetAvailable\"}]}}",
	       K8S_KS_IN_PROGRESS, "0/2");
}

#define STS "{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{\"generation\":1},"

static void statefulset_rules(void **state)
{
	(void)state;
	expect(STS "\"spec\":{\"replicas\":2},\"status\":{\"observedGeneration\":1,\"replicas\":2,"
	           "\"readyReplicas\":2,\"updatedReplicas\":2,\"currentRevision\":\"r1\","
	           "\"updateRevision\":\"r1\"}}",
	       K8S_KS_CURRENT, NULL);
	expect(STS "\"spec\":{\"replicas\":2},\"status\":{\"observedGeneration\":1,\"replicas\":2,"
	           "\"readyReplicas\":2,\"updatedReplicas\":1,\"currentRevision\":\"r1\","
	           "\"updateRevision\":\"r2\"}}",
	       K8S_KS_IN_PROGRESS, "rolling out revision r2");
	expect(STS "\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":1,\"replicas\":1,"
	           "\"readyReplicas\":1}}",
	       K8S_KS_IN_PROGRESS, "1/3 replicas");
	expect(STS "\"spec\":{\"replicas\":2},\"status\":{\"observedGeneration\":1,\"replicas\":2,"
	           "\"readyReplicas\":1}}",
	       K8S_KS_IN_PROGRESS, "1/2 replicas ready");
	/* A partition of 2 out of 3: only one replica need be updated. */
	expect(STS "\"spec\":{\"replicas\":3,\"updateStrategy\":{\"type\":\"RollingUpdate\","
	           "\"rollingUpdate\":{\"partition\":2}}},\"status\":{\"observedGeneration\":1,"
	           "\"replicas\":3,\"readyReplicas\":3,\"updatedReplicas\":1,"
	           "\"currentRevision\":\"r1\",\"updateRevision\":\"r2\"}}",
	       K8S_KS_CURRENT, NULL);
	expect(STS "\"spec\":{\"replicas\":3,\"updateStrategy\":{\"type\":\"RollingUpdate\","
	           "\"rollingUpdate\":{\"partition\":1}}},\"status\":{\"observedGeneration\":1,"
	           "\"replicas\":3,\"readyReplicas\":3,\"updatedReplicas\":1}}",
	       K8S_KS_IN_PROGRESS, "1/2 partitioned");
	/* OnDelete: nothing rolls by itself, so it is current. */
	expect(STS "\"spec\":{\"replicas\":3,\"updateStrategy\":{\"type\":\"OnDelete\"}},"
	           "\"status\":{\"observedGeneration\":1,\"replicas\":0}}",
	       K8S_KS_CURRENT, NULL);
}

#define DS "{\"apiVersion\":\"apps/v1\",\"kind\":\"DaemonSet\",\"metadata\":{\"generation\":1},"

static void daemonset_rules(void **state)
{
	(void)state;
	expect(DS "\"status\":{\"observedGeneration\":1,\"desiredNumberScheduled\":3,"
	          "\"currentNumberScheduled\":3,\"updatedNumberScheduled\":3,\"numberAvailable\":3,"
	          "\"numberReady\":3}}",
	       K8S_KS_CURRENT, NULL);
	expect(DS "\"status\":{\"observedGeneration\":1}}", K8S_KS_IN_PROGRESS, "no scheduling");
	expect(DS "\"status\":{\"observedGeneration\":1,\"desiredNumberScheduled\":3,"
	          "\"currentNumberScheduled\":3,\"updatedNumberScheduled\":2,\"numberAvailable\":3,"
	          "\"numberReady\":3}}",
	       K8S_KS_IN_PROGRESS, "2/3 pods updated");
	expect(DS "\"status\":{\"observedGeneration\":1,\"desiredNumberScheduled\":3,"
	          "\"currentNumberScheduled\":3,\"updatedNumberScheduled\":3,\"numberAvailable\":3,"
	          "\"numberReady\":1}}",
	       K8S_KS_IN_PROGRESS, "1/3 pods ready");
}

#define JOB "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"generation\":1},"

static void job_rules(void **state)
{
	(void)state;
	expect(JOB "\"spec\":{\"completions\":3},\"status\":{\"observedGeneration\":1,"
	           "\"succeeded\":3}}",
	       K8S_KS_CURRENT, NULL);
	expect(JOB "\"spec\":{\"completions\":3},\"status\":{\"observedGeneration\":1,"
	           "\"succeeded\":2,\"active\":1}}",
	       K8S_KS_IN_PROGRESS, "2/3 completions");
	/* Without completions, one success completes it. */
	expect(JOB "\"spec\":{},\"status\":{\"observedGeneration\":1,\"succeeded\":1}}",
	       K8S_KS_CURRENT, NULL);
	expect(JOB "\"spec\":{\"completions\":3},\"status\":{\"observedGeneration\":1,"
	           "\"conditions\":[{\"type\":\"Complete\",\"status\":\"True\"}]}}",
	       K8S_KS_CURRENT, NULL);
	expect(JOB "\"spec\":{\"completions\":3},\"status\":{\"observedGeneration\":1,"
	           "\"failed\":6,\"conditions\":[{\"type\":\"Failed\",\"status\":\"True\","
	           "\"reason\":\"BackoffLimitExceeded\",\"message\":\"Job has reached the "
	           "specified backoff limit\"}]}}",
	       K8S_KS_FAILED, "Job has reached the specified backoff limit");
	/* Other kinds have no rules: current once they exist. */
	expect("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{}}", K8S_KS_CURRENT,
	       NULL);
	assert_true(k8s_is_workload("batch/v1", "Job"));
	assert_false(k8s_is_workload("batch/v1", "CronJob"));
	assert_false(k8s_is_workload("example.com/v1", "Deployment"));
}

static enum k8s_pod_bucket bucket(const char *status)
{
	char text[2048];
	snprintf(text, sizeof(text), "{\"kind\":\"Pod\",\"status\":%s}", status);
	json_t *p = j(text);
	enum k8s_pod_bucket b = k8s_pod_bucket_of(p);
	json_decref(p);
	return b;
}

#define WAITING(r)                                                                                 \
	"{\"phase\":\"Pending\",\"containerStatuses\":[{\"name\":\"a\",\"state\":{\"waiting\":{"   \
	"\"reason\":\"" r "\"}}}]}"

static void pod_buckets(void **state)
{
	(void)state;
	assert_int_equal(bucket("{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"a\","
	                        "\"state\":{\"running\":{}}}]}"),
	                 K8S_POD_RUNNING);
	assert_int_equal(bucket(WAITING("ContainerCreating")), K8S_POD_CREATING);
	assert_int_equal(bucket(WAITING("PodInitializing")), K8S_POD_CREATING);
	assert_int_equal(bucket(WAITING("ErrImagePull")), K8S_POD_IMAGE);
	assert_int_equal(bucket(WAITING("ImagePullBackOff")), K8S_POD_IMAGE);
	assert_int_equal(bucket(WAITING("CreateContainerConfigError")), K8S_POD_CONFIG_ERROR);
	assert_int_equal(bucket(WAITING("InvalidImageName")), K8S_POD_CONFIG_ERROR);
	assert_int_equal(bucket(WAITING("CrashLoopBackOff")), K8S_POD_CRASH_LOOP);
	assert_int_equal(bucket("{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"a\","
	                        "\"state\":{\"running\":{}},\"lastState\":{\"terminated\":{"
	                        "\"reason\":\"OOMKilled\",\"exitCode\":137}}}]}"),
	                 K8S_POD_OOM_KILLED);
	assert_int_equal(bucket("{\"phase\":\"Pending\",\"conditions\":[{\"type\":\"PodScheduled\","
	                        "\"status\":\"False\",\"reason\":\"Unschedulable\"}]}"),
	                 K8S_POD_UNSCHEDULABLE);
	assert_int_equal(bucket("{\"phase\":\"Pending\"}"), K8S_POD_PENDING);
	assert_int_equal(bucket("{\"phase\":\"Succeeded\"}"), K8S_POD_SUCCEEDED);
	assert_int_equal(bucket("{\"phase\":\"Failed\"}"), K8S_POD_FAILED);
	/* An init container stuck on its image holds the pod there. */
	assert_int_equal(bucket("{\"phase\":\"Pending\",\"initContainerStatuses\":[{\"name\":\"i\","
	                        "\"state\":{\"waiting\":{\"reason\":\"ErrImagePull\"}}}],"
	                        "\"containerStatuses\":[{\"name\":\"a\",\"state\":{\"waiting\":{"
	                        "\"reason\":\"PodInitializing\"}}}]}"),
	                 K8S_POD_IMAGE);
	/* Two containers: the config error explains more than a crash loop. */
	assert_int_equal(bucket("{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"a\","
	                        "\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}},{"
	                        "\"name\":\"b\",\"state\":{\"waiting\":{\"reason\":"
	                        "\"CreateContainerConfigError\"}}}]}"),
	                 K8S_POD_CONFIG_ERROR);
	/* Crash looping because of OOM: counted as OOM killed. */
	assert_int_equal(bucket("{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"a\","
	                        "\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}},"
	                        "\"lastState\":{\"terminated\":{\"reason\":\"OOMKilled\"}}}]}"),
	                 K8S_POD_OOM_KILLED);
}

static void selectors(void **state)
{
	(void)state;
	char out[256];
	json_t *s = j("{\"matchLabels\":{\"app\":\"web\",\"tier\":\"fe\"},\"matchExpressions\":["
	              "{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]},"
	              "{\"key\":\"x\",\"operator\":\"NotIn\",\"values\":[\"c\"]},"
	              "{\"key\":\"y\",\"operator\":\"Exists\"},"
	              "{\"key\":\"z\",\"operator\":\"DoesNotExist\"}]}");
	assert_int_equal(k8s_selector_string(s, out, sizeof(out)), 0);
	assert_string_equal(out, "app=web,tier=fe,env in (a,b),x notin (c),y,!z");
	assert_int_equal(k8s_selector_string(s, out, 10), SHOAL_E_TOO_BIG);
	json_decref(s);
	s = j("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Gt\"}]}");
	assert_int_equal(k8s_selector_string(s, out, sizeof(out)), SHOAL_E_MALFORMED);
	json_decref(s);
	s = j("{}");
	assert_int_equal(k8s_selector_string(s, out, sizeof(out)), SHOAL_E_MALFORMED);
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(deployment_rules), cmocka_unit_test(statefulset_rules),
	        cmocka_unit_test(daemonset_rules),  cmocka_unit_test(job_rules),
	        cmocka_unit_test(pod_buckets),      cmocka_unit_test(selectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
