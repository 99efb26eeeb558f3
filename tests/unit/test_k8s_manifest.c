/*
 * test_k8s_manifest.c - manifests in, ordered labelled objects out; the
 * YAML-to-JSON rules they rely on; discovery; drift comparison; and the
 * simulated backend.
 */
#include "../../k8s/manifest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../k8s/discovery.h"
#include "../../k8s/engine.h"
#include "../../k8s/yamljson.h"
#include "shoal/error.h"
#include "shoal/k8s.h"

static json_t *parse_ok(const char *text)
{
	json_t *objs;
	char err[512] = "";
	int rc = k8s_manifests_parse(text, strlen(text), "shoal-abc", &objs, err, sizeof(err));
	if (rc != 0)
		fail_msg("parse: %d %s", rc, err);
	return objs;
}

static void parse_bad(const char *text, const char *needle)
{
	json_t *objs = (json_t *)1;
	char err[512] = "";
	int rc = k8s_manifests_parse(text, strlen(text), "shoal-abc", &objs, err, sizeof(err));
	if (rc == 0 || strstr(err, needle) == NULL)
		fail_msg("wanted an error with \"%s\", got %d \"%s\"", needle, rc, err);
	assert_null(objs);
}

static const char *kind_at(json_t *objs, size_t i)
{
	return json_string_value(json_object_get(json_array_get(objs, i), "kind"));
}

static void yaml_scalars_resolve_like_kubernetes(void **state)
{
	(void)state;
	const char *y = "i: 3\nneg: -2\nf: 1.5\ne: 1e3\nt: true\nn: null\ntilde: ~\nq: \"3\"\n"
	                "s: '007'\nyes_is_string: yes\nversion: 1.2.3\nempty:\nlist: [a, 2]\n";
	json_t *docs;
	char err[256];
	assert_int_equal(yamljson_parse(y, strlen(y), &docs, err, sizeof(err)), 0);
	json_t *d = json_array_get(docs, 0);
	assert_int_equal(json_integer_value(json_object_get(d, "i")), 3);
	assert_int_equal(json_integer_value(json_object_get(d, "neg")), -2);
	assert_true(json_is_real(json_object_get(d, "f")));
	assert_true(json_is_real(json_object_get(d, "e")));
	assert_true(json_is_true(json_object_get(d, "t")));
	assert_true(json_is_null(json_object_get(d, "n")));
	assert_true(json_is_null(json_object_get(d, "tilde")));
	assert_string_equal(json_string_value(json_object_get(d, "q")), "3");
	assert_string_equal(json_string_value(json_object_get(d, "s")), "007");
	assert_string_equal(json_string_value(json_object_get(d, "yes_is_string")), "yes");
	assert_string_equal(json_string_value(json_object_get(d, "version")), "1.2.3");
	assert_true(json_is_null(json_object_get(d, "empty")));
	assert_int_equal(json_integer_value(json_array_get(json_object_get(d, "list"), 1)), 2);
	json_decref(docs);
}

static void yaml_alias_bomb_is_refused(void **state)
{
	(void)state;
	/* Each level doubles: 2^25 nodes from a few hundred bytes. */
	char y[4096];
	size_t n = (size_t)snprintf(y, sizeof(y), "a0: &a0 [x, x]\n");
	for (int i = 1; i <= 25; i++)
		n += (size_t)snprintf(y + n, sizeof(y) - n, "a%d: &a%d [*a%d, *a%d]\n", i, i, i - 1,
		                      i - 1);
	json_t *docs;
	char err[256];
	assert_int_equal(yamljson_parse(y, n, &docs, err, sizeof(err)), SHOAL_E_TOO_BIG);
	assert_null(docs);
	assert_non_null(strstr(err, "too many YAML nodes"));
}

static void multi_doc_yaml_is_ordered_and_labelled(void **state)
{
	(void)state;
	json_t *objs = parse_ok("# leading comment\n"
	                        "---\n"
	                        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
	                        "---\n"
	                        "---\n" /* an empty document is skipped */
	                        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n"
	                        "  labels: {team: a}\n"
	                        "---\n"
	                        "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n"
	                        "---\n"
	                        "apiVersion: apiextensions.k8s.io/v1\n"
	                        "kind: CustomResourceDefinition\nmetadata: {name: w.example.com}\n"
	                        "---\n"
	                        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n");
	assert_int_equal(json_array_size(objs), 5);
	/* CRDs first, Namespaces next, the rest in the author's order. */
	assert_string_equal(kind_at(objs, 0), "CustomResourceDefinition");
	assert_string_equal(kind_at(objs, 1), "Namespace");
	assert_string_equal(kind_at(objs, 2), "Deployment");
	assert_string_equal(kind_at(objs, 3), "ConfigMap");
	assert_string_equal(kind_at(objs, 4), "Service");
	json_t *labels =
	        json_object_get(json_object_get(json_array_get(objs, 3), "metadata"), "labels");
	assert_string_equal(json_string_value(json_object_get(labels, K8S_PART_OF_LABEL)),
	                    "shoal-abc");
	assert_string_equal(json_string_value(json_object_get(labels, "team")), "a");
	json_decref(objs);
}

static void json_list_and_kind_list(void **state)
{
	(void)state;
	json_t *objs = parse_ok("  [{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
	                        "{\"name\":\"a\"}},{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
	                        "\"metadata\":{\"name\":\"n\"}}]");
	assert_int_equal(json_array_size(objs), 2);
	assert_string_equal(kind_at(objs, 0), "Namespace");
	json_decref(objs);
	objs = parse_ok("apiVersion: v1\nkind: List\nitems:\n"
	                "- {apiVersion: v1, kind: Secret, metadata: {name: s}}\n"
	                "- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n");
	assert_int_equal(json_array_size(objs), 2);
	assert_string_equal(kind_at(objs, 0), "Secret");
	json_decref(objs);
}

static void each_required_field_is_checked(void **state)
{
	(void)state;
	parse_bad("", "no objects");
	parse_bad("---\n# nothing\n", "no objects");
	parse_bad("kind: ConfigMap\nmetadata: {name: a}\n", "document 1: apiVersion is missing");
	parse_bad("apiVersion: ''\nkind: ConfigMap\nmetadata: {name: a}\n",
	          "apiVersion is missing");
	parse_bad("apiVersion: v1\nmetadata: {name: a}\n", "kind is missing");
	parse_bad("apiVersion: v1\nkind: ConfigMap\n", "(ConfigMap): metadata is missing");
	parse_bad("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "metadata.name is missing");
	parse_bad("apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: x-}\n",
	          "generateName cannot be applied");
	parse_bad("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: 3}\n",
	          "metadata.namespace must be a name");
	parse_bad("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: [x]}\n",
	          "metadata.labels must be a mapping");
	parse_bad("- 1\n- 2\n", "document 1: not an object");
	parse_bad("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
	          "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\n"
	          "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
	          "document 3 (ConfigMap a): the same object is given twice");
	parse_bad("a: [1, 2\n", "line");
	parse_bad("[{\"a\": 1}", "JSON");
	parse_bad("{\"a\": 1, \"a\": 2}", "JSON");
	/* Same name in two namespaces, or two kinds, is two objects. */
	json_t *objs =
	        parse_ok("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n"
	                 "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
	                 "---\napiVersion: v1\nkind: Secret\nmetadata: {name: a}\n");
	assert_int_equal(json_array_size(objs), 3);
	json_decref(objs);
}

static void set_label_is_a_valid_label_value(void **state)
{
	(void)state;
	char a[K8S_SET_LABEL_LEN + 1], b[K8S_SET_LABEL_LEN + 1];
	k8s_set_label("app/web@prod", a);
	k8s_set_label("app/web@prod", b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), K8S_SET_LABEL_LEN);
	assert_memory_equal(a, "shoal-", 6);
	for (size_t i = 6; i < strlen(a); i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	k8s_set_label("app/web@staging", b);
	assert_string_not_equal(a, b);
}

static void discovery_maps_kinds_to_resources(void **state)
{
	(void)state;
	struct k8s_discovery *d;
	assert_int_equal(k8s_discovery_new(&d), 0);
	const char *apps = "{\"kind\":\"APIResourceList\",\"groupVersion\":\"apps/v1\","
	                   "\"resources\":[{\"name\":\"deployments\",\"namespaced\":true,"
	                   "\"kind\":\"Deployment\"},{\"name\":\"deployments/status\","
	                   "\"namespaced\":true,\"kind\":\"Deployment\"}]}";
	const char *core = "{\"resources\":[{\"name\":\"namespaces\",\"namespaced\":false,"
	                   "\"kind\":\"Namespace\"}]}";
	char err[128];
	assert_int_equal(k8s_discovery_store(d, "apps/v1", apps, strlen(apps), err, sizeof(err)),
	                 0);
	assert_int_equal(k8s_discovery_store(d, "v1", core, strlen(core), err, sizeof(err)), 0);
	const struct k8s_resource *r = k8s_discovery_find(d, "apps/v1", "Deployment");
	assert_non_null(r);
	assert_string_equal(r->name, "deployments"); /* not the status subresource */
	assert_true(r->namespaced);
	assert_null(k8s_discovery_find(d, "apps/v1beta1", "Deployment"));
	char path[256];
	assert_int_equal(k8s_resource_path(r, "shop", "web", path, sizeof(path)), 0);
	assert_string_equal(path, "/apis/apps/v1/namespaces/shop/deployments/web");
	assert_int_equal(k8s_resource_path(r, NULL, NULL, path, sizeof(path)), 0);
	assert_string_equal(path, "/apis/apps/v1/deployments");
	r = k8s_discovery_find(d, "v1", "Namespace");
	assert_int_equal(k8s_resource_path(r, "ignored", "x", path, sizeof(path)), 0);
	assert_string_equal(path, "/api/v1/namespaces/x");
	assert_int_equal(k8s_resource_path(r, NULL, "x", path, 10), SHOAL_E_TOO_BIG);
	/* A refresh replaces the group-version's kinds. */
	const char *empty = "{\"resources\":[]}";
	assert_int_equal(k8s_discovery_store(d, "apps/v1", empty, strlen(empty), err, sizeof(err)),
	                 0);
	assert_null(k8s_discovery_find(d, "apps/v1", "Deployment"));
	assert_non_null(k8s_discovery_find(d, "v1", "Namespace"));
	assert_int_equal(k8s_discovery_store(d, "v1", "[]", 2, err, sizeof(err)),
	                 SHOAL_E_MALFORMED);
	k8s_discovery_delete(d);
}

static json_t *j(const char *text)
{
	json_t *v = json_loads(text, 0, NULL);
	assert_non_null(v);
	return v;
}

static void drift_is_a_changed_or_missing_field(void **state)
{
	(void)state;
	json_t *want =
	        j("{\"data\":{\"a\":\"1\"},\"spec\":{\"replicas\":2,\"ports\":[{\"port\":80}]}}");
	json_t *same = j("{\"data\":{\"a\":\"1\"},\"metadata\":{\"uid\":\"u\"},\"spec\":{"
	                 "\"replicas\":2,\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}]}}");
	json_t *edited =
	        j("{\"data\":{\"a\":\"2\"},\"spec\":{\"replicas\":2,\"ports\":[{\"port\":80}]}}");
	json_t *lost = j("{\"data\":{},\"spec\":{\"replicas\":2,\"ports\":[{\"port\":80}]}}");
	json_t *extra_item = j("{\"data\":{\"a\":\"1\"},\"spec\":{\"replicas\":2,\"ports\":[{"
	                       "\"port\":80},{\"port\":81}]}}");
	json_t *real =
	        j("{\"data\":{\"a\":\"1\"},\"spec\":{\"replicas\":2.0,\"ports\":[{\"port\":80}]}}");
	assert_true(k8s_json_subset(want, same));
	assert_false(k8s_json_subset(want, edited));
	assert_false(k8s_json_subset(want, lost));
	assert_false(k8s_json_subset(want, extra_item));
	assert_true(k8s_json_subset(want, real));
	json_decref(want);
	json_decref(same);
	json_decref(edited);
	json_decref(lost);
	json_decref(extra_item);
	json_decref(real);
}

static uint64_t virtual_ms;

static uint64_t clock_ms(void *arg)
{
	(void)arg;
	return virtual_ms;
}

static void simulated_backend(void **state)
{
	(void)state;
	const char *m = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\n---\n"
	                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
	struct k8s_sim_config cfg = {.seed = 42,
	                             .latency_min_ms = 100,
	                             .latency_max_ms = 300,
	                             .failure_rate = 0.25,
	                             .now_ms = clock_ms};
	struct k8s_sim *sim;
	virtual_ms = 1000000;
	assert_int_equal(k8s_sim_new(&cfg, &sim), 0);
	struct k8s_backend be = k8s_sim_backend(sim);
	char err[256];
	char id[32];
	int failed = 0;
	for (int i = 0; i < 200; i++) {
		snprintf(id, sizeof(id), "set-%d", i);
		assert_int_equal(be.ops->apply(be.impl, id, m, strlen(m), err, sizeof(err)), 0);
	}
	struct k8s_set_status st;
	assert_int_equal(be.ops->status(be.impl, "set-0", &st), 0);
	assert_int_equal(st.state, K8S_APPLYING);
	assert_int_equal(st.objects, 2);
	virtual_ms += 300; /* every latency has passed */
	for (int i = 0; i < 200; i++) {
		snprintf(id, sizeof(id), "set-%d", i);
		assert_int_equal(be.ops->status(be.impl, id, &st), 0);
		assert_true(st.state == K8S_READY || st.state == K8S_FAILED);
		if (st.state == K8S_FAILED)
			failed++;
		else
			assert_int_equal(st.workloads_ready, 1);
	}
	/* 25 % of 200 = 50; a binomial draw stays within 30..70 (> 4 sigma). */
	assert_in_range(failed, 30, 70);
	/* Bad manifests are refused as by the real engine. */
	assert_int_equal(be.ops->apply(be.impl, "x", "kind: A\n", 8, err, sizeof(err)),
	                 SHOAL_E_MALFORMED);
	assert_int_equal(be.ops->remove(be.impl, "set-0"), 0);
	assert_int_equal(be.ops->status(be.impl, "set-0", &st), 0);
	assert_string_equal(st.reason, "removing");
	virtual_ms += 300;
	assert_int_equal(be.ops->status(be.impl, "set-0", &st), SHOAL_E_NOT_FOUND);
	assert_int_equal(be.ops->remove(be.impl, "nope"), SHOAL_E_NOT_FOUND);
	k8s_sim_delete(sim);

	/* The same seed replays the same outcomes. */
	int again = 0;
	virtual_ms = 1000000;
	assert_int_equal(k8s_sim_new(&cfg, &sim), 0);
	be = k8s_sim_backend(sim);
	for (int i = 0; i < 200; i++) {
		snprintf(id, sizeof(id), "set-%d", i);
		be.ops->apply(be.impl, id, m, strlen(m), err, sizeof(err));
	}
	virtual_ms += 300;
	for (int i = 0; i < 200; i++) {
		snprintf(id, sizeof(id), "set-%d", i);
		be.ops->status(be.impl, id, &st);
		again += st.state == K8S_FAILED;
	}
	assert_int_equal(again, failed);
	k8s_sim_delete(sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(yaml_scalars_resolve_like_kubernetes),
	        cmocka_unit_test(yaml_alias_bomb_is_refused),
	        cmocka_unit_test(multi_doc_yaml_is_ordered_and_labelled),
	        cmocka_unit_test(json_list_and_kind_list),
	        cmocka_unit_test(each_required_field_is_checked),
	        cmocka_unit_test(set_label_is_a_valid_label_value),
	        cmocka_unit_test(discovery_maps_kinds_to_resources),
	        cmocka_unit_test(drift_is_a_changed_or_missing_field),
	        cmocka_unit_test(simulated_backend),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
