/*
 * ctl_intent_yaml.c - an operator's intent YAML file into the pieces of an
 * envelope (ctl_intent.h):
 *
 *   apiVersion: shoal.io/v1
 *   kind: App
 *   metadata: {name: kuard}
 *   spec:
 *     target: {virtualSite: jpn-all-sites}   # or {selector: "..."}
 *     strategy: {}
 *     manifests: |
 *       ...
 *
 * target and strategy are lifted into the envelope; the rest of spec
 * becomes the msgpack spec. Plain scalars keep YAML's core types (true,
 * false, null, integers); everything else, and every quoted scalar, is a
 * string - so `version: "1.10"` stays text, as in Kubernetes manifests.
 */
#include "ctl_intent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <yaml.h>

#define YAML_DEPTH    16
#define YAML_FILE_MAX (4u << 20)

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		if (k != NULL && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

static const char *scalar(const yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static void pack_str(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static int pack_scalar(msgpack_packer *pk, const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (strcmp(s, "true") == 0)
			return msgpack_pack_true(pk);
		if (strcmp(s, "false") == 0)
			return msgpack_pack_false(pk);
		if (len == 0 || strcmp(s, "null") == 0 || strcmp(s, "~") == 0)
			return msgpack_pack_nil(pk);
		if (len < 20 && strspn(s + (s[0] == '-'), "0123456789") == len - (s[0] == '-') &&
		    len > (size_t)(s[0] == '-')) {
			char *end;
			errno = 0;
			long long v = strtoll(s, &end, 10);
			if (errno == 0 && *end == '\0')
				return msgpack_pack_long_long(pk, v);
		}
	}
	pack_str(pk, s, len);
	return 0;
}

static int pack_node(msgpack_packer *pk, yaml_document_t *doc, yaml_node_t *n, int depth)
{
	if (n == NULL || depth > YAML_DEPTH)
		return -1;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return pack_scalar(pk, n);
	case YAML_SEQUENCE_NODE:
		msgpack_pack_array(
		        pk, (size_t)(n->data.sequence.items.top - n->data.sequence.items.start));
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     i < n->data.sequence.items.top; i++)
			if (pack_node(pk, doc, yaml_document_get_node(doc, *i), depth + 1) != 0)
				return -1;
		return 0;
	case YAML_MAPPING_NODE:
		msgpack_pack_map(pk,
		                 (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start));
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			const char *k = scalar(yaml_document_get_node(doc, p->key));
			if (k == NULL)
				return -1;
			pack_str(pk, k, strlen(k));
			if (pack_node(pk, doc, yaml_document_get_node(doc, p->value), depth + 1) !=
			    0)
				return -1;
		}
		return 0;
	default:
		return -1;
	}
}

static int read_target(struct ctl_intent_doc *d, yaml_document_t *doc, yaml_node_t *t, char *err,
                       size_t errcap)
{
	const char *v;
	if ((v = scalar(map_get(doc, t, "virtualSite"))) != NULL ||
	    (v = scalar(map_get(doc, t, "virtual_site"))) != NULL)
		d->target_type = INTENT_TARGET_VIRTUAL_SITE;
	else if ((v = scalar(map_get(doc, t, "selector"))) != NULL)
		d->target_type = INTENT_TARGET_SELECTOR;
	if (v == NULL || t->data.mapping.pairs.top - t->data.mapping.pairs.start != 1) {
		snprintf(err, errcap,
		         "spec.target must be {virtualSite: NAME} or {selector: TEXT}");
		return -1;
	}
	if (strlen(v) > INTENT_TARGET_MAX) {
		snprintf(err, errcap, "spec.target is longer than %d bytes", INTENT_TARGET_MAX);
		return -1;
	}
	snprintf(d->target, sizeof(d->target), "%s", v);
	return 0;
}

static int read_spec(struct ctl_intent_doc *d, yaml_document_t *doc, yaml_node_t *spec, char *err,
                     size_t errcap)
{
	msgpack_packer pk, sk;
	size_t n = 0;
	shoal_packer_init(&pk, &d->spec);
	shoal_packer_init(&sk, &d->strategy);
	if (spec == NULL || spec->type != YAML_MAPPING_NODE) {
		snprintf(err, errcap, "spec must be a mapping");
		return -1;
	}
	for (yaml_node_pair_t *p = spec->data.mapping.pairs.start; p < spec->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(yaml_document_get_node(doc, p->key));
		if (k != NULL && strcmp(k, "target") != 0 && strcmp(k, "strategy") != 0)
			n++;
	}
	msgpack_pack_map(&pk, n);
	yaml_node_t *strategy = map_get(doc, spec, "strategy");
	if (strategy != NULL) {
		if (pack_node(&sk, doc, strategy, 0) != 0) {
			snprintf(err, errcap, "spec.strategy cannot be converted");
			return -1;
		}
	} else {
		msgpack_pack_map(&sk, 0);
	}
	for (yaml_node_pair_t *p = spec->data.mapping.pairs.start; p < spec->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(doc, p->value);
		const char *k = scalar(kn);
		if (k == NULL) {
			snprintf(err, errcap, "spec keys must be strings");
			return -1;
		}
		if (strcmp(k, "strategy") == 0)
			continue;
		if (strcmp(k, "target") == 0) {
			if (vn == NULL || vn->type != YAML_MAPPING_NODE) {
				snprintf(err, errcap,
				         "spec.target must be {virtualSite: NAME} or {selector: "
				         "TEXT}");
				return -1;
			}
			if (read_target(d, doc, vn, err, errcap) != 0)
				return -1;
			continue;
		}
		pack_str(&pk, k, strlen(k));
		if (pack_node(&pk, doc, vn, 1) != 0) {
			snprintf(err, errcap, "spec.%s cannot be converted (too deep or an alias)",
			         k);
			return -1;
		}
	}
	if (d->spec.err != 0 || d->strategy.err != 0) {
		snprintf(err, errcap, "spec is larger than %u bytes", (unsigned)INTENT_SPEC_MAX);
		return -1;
	}
	return 0;
}

static char *slurp(const char *path, size_t *len, char *err, size_t errcap)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(YAML_FILE_MAX + 1);
	*len = buf != NULL ? fread(buf, 1, YAML_FILE_MAX + 1, f) : 0;
	if (f != stdin)
		fclose(f);
	if (buf == NULL || *len > YAML_FILE_MAX) {
		snprintf(err, errcap, "%s: larger than %u bytes", path, YAML_FILE_MAX);
		free(buf);
		return NULL;
	}
	return buf;
}

int ctl_intent_doc_load(struct ctl_intent_doc *d, const char *path, char *err, size_t errcap)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	size_t len;
	int rc = -1;

	memset(d, 0, sizeof(*d));
	shoal_buf_create(&d->spec, INTENT_SPEC_MAX);
	shoal_buf_create(&d->strategy, INTENT_STRATEGY_MAX);
	char *text = slurp(path, &len, err, errcap);
	if (text == NULL)
		return -1;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errcap, "%s: not YAML: %s at line %zu", path,
		         parser.problem != NULL ? parser.problem : "parse error",
		         parser.problem_mark.line + 1);
		yaml_parser_delete(&parser);
		free(text);
		return -1;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	const char *api = scalar(map_get(&doc, root, "apiVersion"));
	const char *kind = scalar(map_get(&doc, root, "kind"));
	const char *name = scalar(map_get(&doc, map_get(&doc, root, "metadata"), "name"));
	if (api == NULL || strcmp(api, "shoal.io/v1") != 0)
		snprintf(err, errcap, "%s: apiVersion must be shoal.io/v1", path);
	else if (kind == NULL || (d->kind = intent_kind_parse(kind, strlen(kind))) == 0)
		snprintf(err, errcap,
		         "%s: kind must be App, EgressPolicy, Upgrade, VirtualSite, KeyGrant, "
		         "KeyRevoke or AlertRule",
		         path);
	else if (name == NULL || strlen(name) > INTENT_NAME_MAX)
		snprintf(err, errcap, "%s: metadata.name is required", path);
	else if (read_spec(d, &doc, map_get(&doc, root, "spec"), err, errcap) == 0) {
		snprintf(d->name, sizeof(d->name), "%s", name);
		rc = 0;
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	free(text);
	return rc;
}

void ctl_intent_doc_destroy(struct ctl_intent_doc *d)
{
	shoal_buf_destroy(&d->spec);
	shoal_buf_destroy(&d->strategy);
}

struct intent_draft ctl_intent_doc_draft(const struct ctl_intent_doc *d)
{
	struct intent_draft dr = {.kind = d->kind,
	                          .op = INTENT_PUT,
	                          .name = d->name,
	                          .target_type = d->target_type,
	                          .target = d->target_type != INTENT_TARGET_NONE ? d->target : NULL,
	                          .spec = d->spec.data,
	                          .spec_len = d->spec.len,
	                          .strategy = d->strategy.data,
	                          .strategy_len = d->strategy.len};
	return dr;
}

int ctl_intent_load_signed(struct ctl_intent_doc *d, const char *doc_path, const char *key_path,
                           uint8_t pk[32], uint8_t sk[64], char *err, size_t errcap)
{
	if (ctl_key_load_secret(key_path, pk, sk, err, errcap) != 0)
		return -1;
	if (ctl_intent_doc_load(d, doc_path, err, errcap) != 0) {
		sodium_memzero(sk, 64);
		ctl_intent_doc_destroy(d);
		return -1;
	}
	return 0;
}
