/*
 * fuzz_k8s_manifest.c - libFuzzer target for the k8s/ text parsers.
 *
 * The same bytes go through the manifest parser (YAML and JSON paths) and
 * the kubeconfig parser. The contract, beyond "no crash": a refused input
 * leaves *objs NULL with an error message; an accepted one is a non-empty
 * array of at most K8S_SET_OBJECTS_MAX objects, each with apiVersion, kind
 * and metadata.name, each carrying the part-of label, CRDs before
 * Namespaces before the rest; and a kubeconfig either yields a server URL
 * or an error message, with nothing to free on error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../k8s/kubeconfig.h"
#include "../../k8s/manifest.h"
#include "shoal/k8s.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static int rank(const json_t *o)
{
	return k8s_is_crd(o) ? 0 : k8s_is_namespace(o) ? 1 : 2;
}

static void manifests(const char *text, size_t size)
{
	json_t *objs = (json_t *)1;
	char err[K8S_REASON_MAX] = "";
	int rc = k8s_manifests_parse(text, size, "shoal-fuzz", &objs, err, sizeof(err));
	if (rc != 0) {
		CHECK(objs == NULL);
		CHECK(err[0] != '\0');
		return;
	}
	size_t n = json_array_size(objs);
	CHECK(n > 0 && n <= K8S_SET_OBJECTS_MAX);
	int last = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(objs, i);
		json_t *meta = json_object_get(o, "metadata");
		CHECK(json_string_length(json_object_get(o, "apiVersion")) > 0);
		CHECK(json_string_length(json_object_get(o, "kind")) > 0);
		CHECK(json_string_length(json_object_get(meta, "name")) > 0);
		const char *label = json_string_value(
		        json_object_get(json_object_get(meta, "labels"), K8S_PART_OF_LABEL));
		CHECK(label != NULL && strcmp(label, "shoal-fuzz") == 0);
		CHECK(rank(o) >= last);
		last = rank(o);
	}
	json_decref(objs);
}

static void kubeconfig(const char *text, size_t size)
{
	struct k8s_cluster_config c;
	char err[K8S_REASON_MAX] = "";
	int rc = k8s_kubeconfig_parse(text, size, "/nonexistent", NULL, &c, err, sizeof(err));
	if (rc != 0) {
		CHECK(err[0] != '\0' || rc == -12);
		CHECK(c.server == NULL);
		return;
	}
	CHECK(c.server != NULL && strncmp(c.server, "http", 4) == 0);
	CHECK((c.cert_pem == NULL) == (c.key_pem == NULL));
	k8s_cluster_config_destroy(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	manifests(text, size);
	kubeconfig(text, size);
	free(text);
	return 0;
}
