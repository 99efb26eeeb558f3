/*
 * config.c - flags, the YAML config file, and their validation.
 *
 * Parsing runs in three passes so that "flags win" needs no bookkeeping per
 * field: (1) argv is scanned into (option, value) pairs, rejecting unknown
 * flags, missing values and repeated single-valued flags; (2) the file named
 * by --config is loaded and each key applied through the same setter a flag
 * uses; (3) the flags are applied on top. A repeatable flag clears the
 * file's list the first time it is applied. Each setter validates as it
 * stores, so every error names where the bad value came from: "--bind" or
 * "shoald.yaml:4: bind".
 *
 * The YAML file is read whole (capped) and loaded with libyaml's document
 * API; only the top-level mapping and one level below it are walked, so an
 * alias can never make the walk grow.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <msgpack.h>
#include <uv.h>
#include <yaml.h>

#include "shoal/error.h"
#include "shoal/labels.h"
#include "shoal/mp.h"

#include "sysinfo.h"

enum opt_id {
	OPT_CONFIG,
	OPT_NAME,
	OPT_BIND,
	OPT_ADVERTISE,
	OPT_JOIN,
	OPT_LABEL,
	OPT_ANNOTATION,
	OPT_SYSROOT,
	OPT_DATA_DIR,
	OPT_API,
	OPT_KEYRING,
	OPT_TRUST,
	OPT_KUBECONFIG,
	OPT_KUBE_CONTEXT,
	OPT_PROFILE,
	OPT_LOG_LEVEL,
	OPT_LEAF,
	OPT_HELP,
	OPT_VERSION,
	OPT_COUNT,
};

struct opt_def {
	const char *name; /* flag name without "--"; also the file key */
	enum opt_id id;   /* which setting */
	bool has_value;   /* takes an argument */
	bool repeatable;  /* may be given more than once (a list) */
	bool in_file;     /* may appear as a key of the config file */
};

static const struct opt_def opts[] = {
        {"config", OPT_CONFIG, true, false, false},
        {"name", OPT_NAME, true, false, true},
        {"bind", OPT_BIND, true, false, true},
        {"advertise", OPT_ADVERTISE, true, false, true},
        {"join", OPT_JOIN, true, true, true},
        {"label", OPT_LABEL, true, true, false},           /* the file spells it "labels" */
        {"annotation", OPT_ANNOTATION, true, true, false}, /* "annotations" in the file */
        {"sysroot", OPT_SYSROOT, true, false, true},
        {"data-dir", OPT_DATA_DIR, true, false, true},
        {"api", OPT_API, true, false, true},
        {"keyring", OPT_KEYRING, true, false, true},
        {"trust", OPT_TRUST, true, false, true},
        {"kubeconfig", OPT_KUBECONFIG, true, false, true},
        {"kube-context", OPT_KUBE_CONTEXT, true, false, true},
        {"profile", OPT_PROFILE, true, false, true},
        {"log-level", OPT_LOG_LEVEL, true, false, true},
        {"leaf", OPT_LEAF, false, false, true}, /* a switch; "leaf: true" in the file */
        {"help", OPT_HELP, false, false, false},
        {"version", OPT_VERSION, false, false, false},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* One flag from argv, value borrowed from argv. */
struct flag {
	const struct opt_def *def; /* which option */
	const char *value;         /* its argument, NULL for switches */
};

static const char usage_text[] =
        "usage: shoald --data-dir DIR [options]\n"
        "\n"
        "  --config FILE        YAML file with any of the settings below (flags win)\n"
        "  --name NAME          site name (default: the hostname)\n"
        "  --bind HOST:PORT     gossip address, UDP and TCP (default " NODE_DEFAULT_BIND ")\n"
        "  --advertise HOST:PORT  address peers use (default: see docs/operations.md)\n"
        "  --join HOST:PORT     seed to join through; repeatable\n"
        "  --label KEY=VALUE    site label, Kubernetes syntax; repeatable\n"
        "  --annotation KEY=VALUE  free-form note (<= 256 bytes), not selectable; repeatable\n"
        "  --sysroot DIR        root that system labels are discovered under (default /)\n"
        "  --data-dir DIR       node state (LMDB, keyring); required\n"
        "  --api HOST:PORT      HTTP API address (default " NODE_DEFAULT_API ")\n"
        "  --keyring FILE       cluster keys, base64, primary first (default DATA_DIR/keyring)\n"
        "  --trust FILE         root public keys that may sign intents, one per line\n"
        "  --kubeconfig FILE    this site's Kubernetes cluster (default: $KUBECONFIG, or\n"
        "                       the service account when run in a pod; none: no cluster)\n"
        "  --kube-context NAME  kubeconfig context (default: its current-context)\n"
        "  --profile lan|fast   timer profile (default lan; fast divides timers by 10)\n"
        "  --log-level LEVEL    debug|info|warn|error (default info)\n"
        "  --leaf               leaf site: keep only this site's health record, ask a full\n"
        "                       node for fleet queries (docs/operations.md, \"Leaf sites\")\n"
        "  --help, --version\n";

const char *node_config_usage(void)
{
	return usage_text;
}

static int fail(char *err, size_t errcap, const char *fmt, ...)
{
	if (err != NULL && errcap > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errcap, fmt, ap);
		va_end(ap);
	}
	return SHOAL_E_CONFIG;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool node_config_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > SWIM_NAME_MAX || !is_alnum(name[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(name[i]) && name[i] != '.' && name[i] != '_' && name[i] != '-')
			return false;
	return true;
}

int node_config_label_valid(const char *key, const char *value, char *err, size_t errcap)
{
	const char *why = shoal_label_key_problem(key, strlen(key));
	if (why != NULL)
		return fail(err, errcap, "label key \"%.*s\": %s", SHOAL_LABEL_KEY_MAX + 1, key,
		            why);
	if (node_sysinfo_key_reserved(key))
		return fail(err, errcap,
		            "label key \"%s\": the prefix " NODE_SYS_PREFIX
		            " is reserved for system labels, which shoald discovers itself",
		            key);
	why = shoal_label_value_problem(value, strlen(value));
	if (why != NULL)
		return fail(err, errcap, "label %s: value \"%.*s\": %s", key,
		            SHOAL_LABEL_VALUE_MAX + 1, value, why);
	return 0;
}

int node_config_annotation_valid(const char *key, const char *value, char *err, size_t errcap)
{
	const char *why = shoal_label_key_problem(key, strlen(key));
	if (why != NULL)
		return fail(err, errcap, "annotation key \"%.*s\": %s", SHOAL_LABEL_KEY_MAX + 1,
		            key, why);
	if (node_sysinfo_key_reserved(key))
		return fail(err, errcap,
		            "annotation key \"%s\": the prefix " NODE_SYS_PREFIX
		            " is reserved for what shoald discovers itself",
		            key);
	size_t vlen = strlen(value);
	if (vlen > NODE_ANNOTATION_VALUE_MAX)
		return fail(err, errcap, "annotation %s: value is %zu bytes, at most %d", key, vlen,
		            NODE_ANNOTATION_VALUE_MAX);
	/* The API shows annotations as JSON strings, which must be UTF-8. */
	json_t *j = json_stringn(value, vlen);
	if (j == NULL)
		return fail(err, errcap, "annotation %s: value is not valid UTF-8", key);
	json_decref(j);
	return 0;
}

static int set_string(char **slot, const char *value, const char *where, char *err, size_t errcap)
{
	if (value[0] == '\0')
		return fail(err, errcap, "%s: must not be empty", where);
	char *copy = strdup(value);
	if (copy == NULL)
		return -ENOMEM;
	free(*slot);
	*slot = copy;
	return 0;
}

static int set_addr(struct shoal_addr *slot, const char *value, const char *where, char *err,
                    size_t errcap)
{
	struct shoal_addr a;
	if (shoal_addr_parse(&a, value) != 0)
		return fail(err, errcap,
		            "%s: \"%s\" is not HOST:PORT (an IPv4 address, [IPv6] or localhost, "
		            "and a port 1-65535)",
		            where, value);
	*slot = a;
	return 0;
}

static int add_join(struct node_config *cfg, const char *value, const char *where, char *err,
                    size_t errcap)
{
	if (cfg->njoin >= NODE_JOIN_MAX)
		return fail(err, errcap, "%s: at most %d seeds", where, NODE_JOIN_MAX);
	int rc = set_addr(&cfg->join[cfg->njoin], value, where, err, errcap);
	if (rc == 0)
		cfg->njoin++;
	return rc;
}

static void clear_list(struct node_label *list, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		free(list[i].key);
		free(list[i].value);
	}
	*n = 0;
}

static void clear_labels(struct node_config *cfg)
{
	clear_list(cfg->labels, &cfg->nlabels);
}

/* A label (annotation false) or an annotation, validated, keys unique. */
static int add_pair(struct node_config *cfg, bool annotation, const char *key, const char *value,
                    const char *where, char *err, size_t errcap)
{
	char why[512];
	struct node_label *list = annotation ? cfg->annotations : cfg->labels;
	size_t *n = annotation ? &cfg->nannotations : &cfg->nlabels;
	const char *what = annotation ? "annotation" : "label";
	int rc = annotation ? node_config_annotation_valid(key, value, why, sizeof(why))
	                    : node_config_label_valid(key, value, why, sizeof(why));
	if (rc != 0)
		return fail(err, errcap, "%s: %s", where, why);
	for (size_t i = 0; i < *n; i++)
		if (strcmp(list[i].key, key) == 0)
			return fail(err, errcap, "%s: %s \"%s\" given twice", where, what, key);
	if (annotation && *n >= NODE_ANNOTATIONS_MAX)
		return fail(err, errcap, "%s: at most %d annotations", where, NODE_ANNOTATIONS_MAX);
	if (!annotation && *n >= NODE_LABELS_MAX)
		return fail(err, errcap, "%s: labels exceed %d bytes encoded", where,
		            SWIM_LABELS_MAX);
	char *k = strdup(key);
	char *v = strdup(value);
	if (k == NULL || v == NULL) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	list[*n].key = k;
	list[*n].value = v;
	(*n)++;
	return 0;
}

/* "KEY=VALUE" from a --label or --annotation flag. */
static int add_pair_flag(struct node_config *cfg, bool annotation, const char *text,
                         const char *where, char *err, size_t errcap)
{
	const char *eq = strchr(text, '=');
	if (eq == NULL)
		return fail(err, errcap, "%s: \"%s\" is not KEY=VALUE", where, text);
	size_t klen = (size_t)(eq - text);
	char key[SHOAL_LABEL_KEY_MAX + 2];
	if (klen >= sizeof(key))
		return fail(err, errcap, "%s: key longer than %d characters", where,
		            SHOAL_LABEL_KEY_MAX);
	memcpy(key, text, klen);
	key[klen] = '\0';
	return add_pair(cfg, annotation, key, eq + 1, where, err, errcap);
}

/* The labels as a msgpack map {str: str}, the form gossiped in member
 * records; SWIM_LABELS_MAX bounds it. */
static int labels_encoded_size(const struct node_config *cfg, size_t *size)
{
	struct shoal_buf b;
	msgpack_packer pk;
	shoal_buf_create(&b, 64 * 1024);
	shoal_packer_init(&pk, &b);
	msgpack_pack_map(&pk, cfg->nlabels);
	for (size_t i = 0; i < cfg->nlabels; i++) {
		size_t kl = strlen(cfg->labels[i].key), vl = strlen(cfg->labels[i].value);
		msgpack_pack_str(&pk, kl);
		msgpack_pack_str_body(&pk, cfg->labels[i].key, kl);
		msgpack_pack_str(&pk, vl);
		msgpack_pack_str_body(&pk, cfg->labels[i].value, vl);
	}
	int rc = b.err;
	*size = b.len;
	shoal_buf_destroy(&b);
	return rc;
}

/* Apply one setting (not labels, not --config) from a flag or the file. */
static int apply(struct node_config *cfg, enum opt_id id, const char *value, const char *where,
                 char *err, size_t errcap)
{
	switch (id) {
	case OPT_NAME:
		if (!node_config_name_valid(value))
			return fail(err, errcap,
			            "%s: \"%s\" is not a valid name (1-%d characters "
			            "[A-Za-z0-9._-], starting with a letter or digit)",
			            where, value, SWIM_NAME_MAX);
		memcpy(cfg->name, value, strlen(value) + 1); /* valid names fit */
		return 0;
	case OPT_BIND:
		return set_addr(&cfg->bind, value, where, err, errcap);
	case OPT_ADVERTISE:
		cfg->advertise_set = true;
		return set_addr(&cfg->advertise, value, where, err, errcap);
	case OPT_JOIN:
		return add_join(cfg, value, where, err, errcap);
	case OPT_LABEL:
		return add_pair_flag(cfg, false, value, where, err, errcap);
	case OPT_ANNOTATION:
		return add_pair_flag(cfg, true, value, where, err, errcap);
	case OPT_SYSROOT:
		return set_string(&cfg->sysroot, value, where, err, errcap);
	case OPT_DATA_DIR:
		return set_string(&cfg->data_dir, value, where, err, errcap);
	case OPT_API:
		return set_addr(&cfg->api, value, where, err, errcap);
	case OPT_KEYRING:
		return set_string(&cfg->keyring_path, value, where, err, errcap);
	case OPT_TRUST:
		return set_string(&cfg->trust_path, value, where, err, errcap);
	case OPT_KUBECONFIG:
		return set_string(&cfg->kubeconfig, value, where, err, errcap);
	case OPT_KUBE_CONTEXT:
		return set_string(&cfg->kube_context, value, where, err, errcap);
	case OPT_PROFILE:
		if (strcmp(value, "lan") == 0)
			cfg->profile = NODE_PROFILE_LAN;
		else if (strcmp(value, "fast") == 0)
			cfg->profile = NODE_PROFILE_FAST;
		else
			return fail(err, errcap, "%s: \"%s\" is not a profile (lan or fast)", where,
			            value);
		return 0;
	case OPT_LEAF:
		/* A flag has no value; the file says true or false. */
		if (value == NULL || strcmp(value, "true") == 0)
			cfg->leaf = true;
		else if (strcmp(value, "false") == 0)
			cfg->leaf = false;
		else
			return fail(err, errcap, "%s: \"%s\" is not true or false", where, value);
		return 0;
	case OPT_LOG_LEVEL:
		if (node_log_level_parse(value, &cfg->log_level) != 0)
			return fail(err, errcap,
			            "%s: \"%s\" is not a log level (debug, info, warn or error)",
			            where, value);
		return 0;
	default:
		return fail(err, errcap, "%s: not a setting", where);
	}
}

/* ---- the YAML file ------------------------------------------------------ */

static int read_file(const char *path, unsigned char **out, size_t *outlen, char *err,
                     size_t errcap)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return fail(err, errcap, "--config: cannot open %s: %s", path, strerror(errno));
	/* One byte more than the cap tells "exactly at the cap" from "over". */
	size_t cap = NODE_CONFIG_FILE_MAX + 1, len = 0;
	unsigned char *buf = malloc(cap);
	if (buf == NULL) {
		fclose(f);
		return -ENOMEM;
	}
	size_t n;
	while (len < cap && (n = fread(buf + len, 1, cap - len, f)) > 0)
		len += n;
	int rc = 0;
	if (ferror(f))
		rc = fail(err, errcap, "%s: read error", path);
	else if (len > NODE_CONFIG_FILE_MAX)
		rc = fail(err, errcap, "%s: larger than %d bytes", path, NODE_CONFIG_FILE_MAX);
	fclose(f);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

static const char *scalar(yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* A scalar's text, refusing strings with an embedded NUL. */
static bool scalar_ok(yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE &&
	       strlen(scalar(n)) == n->data.scalar.length;
}

static int apply_file_key(struct node_config *cfg, yaml_document_t *doc, const char *path,
                          yaml_node_t *knode, yaml_node_t *vnode, bool seen[OPT_COUNT], char *err,
                          size_t errcap)
{
	char where[512];
	const char *key = scalar(knode);
	unsigned line = (unsigned)knode->start_mark.line + 1;
	snprintf(where, sizeof(where), "%s:%u: %s", path, line, key);

	bool is_annotations = strcmp(key, "annotations") == 0;
	if (strcmp(key, "labels") == 0 || is_annotations) {
		enum opt_id id = is_annotations ? OPT_ANNOTATION : OPT_LABEL;
		if (seen[id])
			return fail(err, errcap, "%s: given twice", where);
		seen[id] = true;
		if (vnode->type == YAML_SCALAR_NODE && vnode->data.scalar.length == 0)
			return 0; /* "labels:" with nothing under it */
		if (vnode->type != YAML_MAPPING_NODE)
			return fail(err, errcap, "%s: must be a mapping of KEY: VALUE", where);
		for (yaml_node_pair_t *p = vnode->data.mapping.pairs.start;
		     p < vnode->data.mapping.pairs.top; p++) {
			yaml_node_t *lk = yaml_document_get_node(doc, p->key);
			yaml_node_t *lv = yaml_document_get_node(doc, p->value);
			if (!scalar_ok(lk) || !scalar_ok(lv))
				return fail(err, errcap, "%s: each entry must be KEY: VALUE text",
				            where);
			snprintf(where, sizeof(where), "%s:%u: %s", path,
			         (unsigned)lk->start_mark.line + 1, key);
			int rc = add_pair(cfg, is_annotations, scalar(lk), scalar(lv), where, err,
			                  errcap);
			if (rc != 0)
				return rc;
		}
		return 0;
	}

	const struct opt_def *def = NULL;
	for (size_t i = 0; i < NOPTS; i++) {
		/* data_dir and log_level are accepted for data-dir and log-level. */
		char alt[32];
		snprintf(alt, sizeof(alt), "%s", opts[i].name);
		for (char *c = alt; *c; c++)
			if (*c == '-')
				*c = '_';
		if (opts[i].in_file && (strcmp(key, opts[i].name) == 0 || strcmp(key, alt) == 0))
			def = &opts[i];
	}
	if (def == NULL)
		return fail(err, errcap, "%s: unknown key", where);
	if (seen[def->id])
		return fail(err, errcap, "%s: given twice", where);
	seen[def->id] = true;

	if (def->id == OPT_JOIN) {
		if (vnode->type == YAML_SCALAR_NODE)
			return add_join(cfg, scalar(vnode), where, err, errcap);
		if (vnode->type != YAML_SEQUENCE_NODE)
			return fail(err, errcap, "%s: must be a list of HOST:PORT", where);
		for (yaml_node_item_t *it = vnode->data.sequence.items.start;
		     it < vnode->data.sequence.items.top; it++) {
			yaml_node_t *jn = yaml_document_get_node(doc, *it);
			if (!scalar_ok(jn))
				return fail(err, errcap, "%s: must be a list of HOST:PORT", where);
			int rc = add_join(cfg, scalar(jn), where, err, errcap);
			if (rc != 0)
				return rc;
		}
		return 0;
	}
	if (!scalar_ok(vnode))
		return fail(err, errcap, "%s: must be a single value", where);
	return apply(cfg, def->id, scalar(vnode), where, err, errcap);
}

static int load_file(struct node_config *cfg, const char *path, char *err, size_t errcap)
{
	unsigned char *text = NULL;
	size_t len = 0;
	int rc = read_file(path, &text, &len, err, errcap);
	if (rc != 0)
		return rc;

	yaml_parser_t parser;
	yaml_document_t doc;
	if (!yaml_parser_initialize(&parser)) {
		free(text);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = fail(err, errcap, "%s:%u: %s", path, (unsigned)parser.problem_mark.line + 1,
		          parser.problem != NULL ? parser.problem : "not valid YAML");
		yaml_parser_delete(&parser);
		free(text);
		return rc;
	}
	bool seen[OPT_COUNT] = {false};
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		rc = 0; /* an empty file sets nothing */
	} else if (root->type != YAML_MAPPING_NODE) {
		rc = fail(err, errcap, "%s: must be a mapping of setting: value", path);
	} else {
		for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
		     rc == 0 && p < root->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(&doc, p->key);
			yaml_node_t *v = yaml_document_get_node(&doc, p->value);
			if (!scalar_ok(k) || v == NULL) {
				rc = fail(err, errcap, "%s:%u: keys must be setting names", path,
				          k != NULL ? (unsigned)k->start_mark.line + 1 : 0u);
				break;
			}
			rc = apply_file_key(cfg, &doc, path, k, v, seen, err, errcap);
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	free(text);
	return rc;
}

/* ---- argv ----------------------------------------------------------------- */

static const struct opt_def *find_opt(const char *name, size_t len)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strlen(opts[i].name) == len && memcmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

/* Split argv into flags; nflags receives the count. */
static int scan_argv(int argc, char *const argv[], struct flag *flags, size_t *nflags, bool *help,
                     bool *version, char *err, size_t errcap)
{
	bool given[OPT_COUNT] = {false};
	size_t n = 0;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "-h") == 0) {
			*help = true;
			continue;
		}
		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
			return fail(err, errcap, "unexpected argument \"%s\" (see --help)", arg);
		const char *name = arg + 2;
		const char *eq = strchr(name, '=');
		size_t nlen = eq != NULL ? (size_t)(eq - name) : strlen(name);
		const struct opt_def *def = find_opt(name, nlen);
		if (def == NULL)
			return fail(err, errcap, "unknown flag --%.*s (see --help)", (int)nlen,
			            name);
		const char *value = NULL;
		if (def->has_value) {
			if (eq != NULL) {
				value = eq + 1;
			} else if (i + 1 < argc) {
				value = argv[++i];
			} else {
				return fail(err, errcap, "--%s needs a value", def->name);
			}
		} else if (eq != NULL) {
			return fail(err, errcap, "--%s takes no value", def->name);
		}
		if (given[def->id] && !def->repeatable)
			return fail(err, errcap, "--%s given twice", def->name);
		given[def->id] = true;
		if (def->id == OPT_HELP)
			*help = true;
		else if (def->id == OPT_VERSION)
			*version = true;
		else
			flags[n++] = (struct flag){def, value};
	}
	*nflags = n;
	return 0;
}

/* ---- the whole parse ------------------------------------------------------ */

void node_config_default_advertise(const struct shoal_addr *bind, struct shoal_addr *out)
{
	static const uint8_t zero[16] = {0};
	*out = *bind;
	size_t iplen = bind->family == 6 ? 16 : 4;
	if (memcmp(bind->ip, zero, iplen) != 0)
		return;

	uv_interface_address_t *ifs = NULL;
	int count = 0;
	const uint8_t *best = NULL;
	bool best_private = false;
	if (uv_interface_addresses(&ifs, &count) == 0) {
		for (int i = 0; i < count; i++) {
			if (ifs[i].is_internal || ifs[i].address.address4.sin_family != AF_INET)
				continue;
			const uint8_t *ip = (const uint8_t *)&ifs[i].address.address4.sin_addr;
			bool priv = ip[0] == 10 || (ip[0] == 172 && (ip[1] & 0xf0) == 16) ||
			            (ip[0] == 192 && ip[1] == 168) ||
			            (ip[0] == 100 && (ip[1] & 0xc0) == 64);
			if (best == NULL || (priv && !best_private)) {
				best = ip;
				best_private = priv;
			}
		}
	}
	memset(out->ip, 0, sizeof(out->ip));
	out->family = 4;
	if (best != NULL) {
		memcpy(out->ip, best, 4);
	} else {
		out->ip[0] = 127;
		out->ip[3] = 1;
	}
	if (ifs != NULL)
		uv_free_interface_addresses(ifs, count);
}

static void set_defaults(struct node_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	shoal_addr_parse(&cfg->bind, NODE_DEFAULT_BIND);
	shoal_addr_parse(&cfg->api, NODE_DEFAULT_API);
	cfg->profile = NODE_PROFILE_LAN;
	cfg->log_level = NODE_LOG_INFO;
}

static int finish(struct node_config *cfg, char *err, size_t errcap)
{
	if (cfg->data_dir == NULL)
		return fail(err, errcap, "--data-dir is required");
	if (cfg->name[0] == '\0') {
		char host[256] = {0};
		if (gethostname(host, sizeof(host) - 1) != 0)
			return fail(err, errcap, "cannot read the hostname (%s); pass --name",
			            strerror(errno));
		if (!node_config_name_valid(host))
			return fail(err, errcap,
			            "the hostname \"%s\" is not a valid node name; pass --name",
			            host);
		memcpy(cfg->name, host, strlen(host) + 1); /* valid names fit */
	}
	size_t size = 0;
	int rc = labels_encoded_size(cfg, &size);
	if (rc != 0 || size > SWIM_LABELS_MAX)
		return fail(err, errcap, "labels exceed %d bytes encoded (%zu)", SWIM_LABELS_MAX,
		            size);
	if (!cfg->advertise_set)
		node_config_default_advertise(&cfg->bind, &cfg->advertise);
	return 0;
}

int node_config_parse(struct node_config *cfg, int argc, char *const argv[], char *err,
                      size_t errcap)
{
	set_defaults(cfg);
	if (err != NULL && errcap > 0)
		err[0] = '\0';
	struct flag *flags = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*flags));
	if (flags == NULL)
		return -ENOMEM;
	size_t nflags = 0;
	int rc = scan_argv(argc, argv, flags, &nflags, &cfg->help, &cfg->version, err, errcap);
	if (rc == 0 && (cfg->help || cfg->version))
		goto out;

	for (size_t i = 0; rc == 0 && i < nflags; i++)
		if (flags[i].def->id == OPT_CONFIG)
			rc = set_string(&cfg->config_path, flags[i].value, "--config", err, errcap);
	if (rc == 0 && cfg->config_path != NULL)
		rc = load_file(cfg, cfg->config_path, err, errcap);

	bool cleared_join = false, cleared_labels = false, cleared_annotations = false;
	for (size_t i = 0; rc == 0 && i < nflags; i++) {
		const struct opt_def *def = flags[i].def;
		char where[40];
		snprintf(where, sizeof(where), "--%s", def->name);
		if (def->id == OPT_CONFIG)
			continue;
		if (def->id == OPT_JOIN && !cleared_join) {
			cfg->njoin = 0;
			cleared_join = true;
		}
		if (def->id == OPT_LABEL && !cleared_labels) {
			clear_labels(cfg);
			cleared_labels = true;
		}
		if (def->id == OPT_ANNOTATION && !cleared_annotations) {
			clear_list(cfg->annotations, &cfg->nannotations);
			cleared_annotations = true;
		}
		rc = apply(cfg, def->id, flags[i].value, where, err, errcap);
	}
	if (rc == 0)
		rc = finish(cfg, err, errcap);
out:
	free(flags);
	if (rc != 0) {
		if (rc == -ENOMEM)
			fail(err, errcap, "out of memory");
		node_config_destroy(cfg);
	}
	return rc;
}

void node_config_destroy(struct node_config *cfg)
{
	clear_labels(cfg);
	clear_list(cfg->annotations, &cfg->nannotations);
	free(cfg->sysroot);
	cfg->sysroot = NULL;
	free(cfg->config_path);
	free(cfg->data_dir);
	free(cfg->keyring_path);
	free(cfg->trust_path);
	cfg->trust_path = NULL;
	free(cfg->kubeconfig);
	free(cfg->kube_context);
	cfg->kubeconfig = cfg->kube_context = NULL;
	cfg->config_path = cfg->data_dir = cfg->keyring_path = NULL;
}
