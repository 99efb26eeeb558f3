/*
 * kubeconfig.c - kubeconfig and in-cluster service-account config.
 *
 * A kubeconfig is YAML: clusters, users and contexts are lists of
 * {name, cluster|user|context} and current-context picks one context. Only
 * the first file of $KUBECONFIG is read (kubectl merges all of them; a node
 * is given one cluster, so merging buys nothing and hides which file won).
 * Relative paths are resolved against the kubeconfig's own directory.
 * Fields Shoal does not use (proxy-url, tls-server-name, auth-provider,
 * username/password) are rejected where ignoring them would silently
 * weaken or break access, and ignored otherwise.
 */
#include "kubeconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "shoal/error.h"
#include "yamljson.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

int k8s_read_file(const char *path, char **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return -errno;
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	int rc = b == NULL ? -ENOMEM : 0;
	while (rc == 0) {
		if (n + 1 >= cap) {
			if (cap >= K8S_CONFIG_FILE_MAX) {
				rc = SHOAL_E_TOO_BIG;
				break;
			}
			char *nb = realloc(b, cap * 2);
			if (nb == NULL) {
				rc = -ENOMEM;
				break;
			}
			b = nb;
			cap *= 2;
		}
		size_t got = fread(b + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				rc = -EIO;
			break;
		}
	}
	fclose(f);
	if (rc != 0) {
		free(b);
		return rc;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

void k8s_cluster_config_destroy(struct k8s_cluster_config *c)
{
	free(c->server);
	free(c->ca_pem);
	free(c->cert_pem);
	if (c->key_pem != NULL)
		sodium_memzero(c->key_pem, c->key_len);
	free(c->key_pem);
	if (c->token != NULL)
		sodium_memzero(c->token, strlen(c->token));
	free(c->token);
	free(c->token_file);
	free(c->exec.api_version);
	free(c->exec.command);
	for (char **a = c->exec.args; a != NULL && *a != NULL; a++)
		free(*a);
	free(c->exec.args);
	for (char **a = c->exec.env; a != NULL && *a != NULL; a++)
		free(*a);
	free(c->exec.env);
	free(c->namespace);
	free(c->origin);
	memset(c, 0, sizeof(*c));
}

/* Parse state: which file, to name it in every error. */
struct parse {
	const char *dir;
	char *err;
	size_t errcap;
};

static int fail(struct parse *p, const char *fmt, const char *a, const char *b)
{
	snprintf(p->err, p->errcap, fmt, a != NULL ? a : "", b != NULL ? b : "");
	return SHOAL_E_CONFIG;
}

/* The entry of list `list` (clusters, users, contexts) called `name`, and
 * its `field` object. NULL when absent. */
static json_t *find_named(json_t *root, const char *list, const char *name, const char *field)
{
	json_t *arr = json_object_get(root, list);
	size_t i;
	json_t *it;
	json_array_foreach(arr, i, it)
	{
		const char *n = json_string_value(json_object_get(it, "name"));
		if (n != NULL && strcmp(n, name) == 0)
			return json_object_get(it, field);
	}
	return NULL;
}

static char *resolve_path(const struct parse *p, const char *path)
{
	if (path[0] == '/' || p->dir == NULL)
		return strdup(path);
	size_t n = strlen(p->dir) + strlen(path) + 2;
	char *out = malloc(n);
	if (out != NULL)
		snprintf(out, n, "%s/%s", p->dir, path);
	return out;
}

/* A PEM blob from "<key>-data" (base64) or "<key>" (a file path). Absent:
 * *pem stays NULL and 0 is returned. */
static int load_pem(struct parse *p, json_t *obj, const char *key, char **pem, size_t *len)
{
	char data_key[64];
	snprintf(data_key, sizeof(data_key), "%s-data", key);
	json_t *data = json_object_get(obj, data_key);
	json_t *file = json_object_get(obj, key);
	if (data != NULL && !json_is_string(data))
		return fail(p, "%s must be a base64 string%s", data_key, NULL);
	if (file != NULL && !json_is_string(file))
		return fail(p, "%s must be a file path%s", key, NULL);
	if (data != NULL) {
		const char *b64 = json_string_value(data);
		size_t b64len = strlen(b64);
		char *bin = malloc(b64len + 1);
		if (bin == NULL)
			return -ENOMEM;
		size_t binlen = 0;
		if (sodium_base642bin((unsigned char *)bin, b64len + 1, b64, b64len, " \t\r\n",
		                      &binlen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    binlen == 0) {
			free(bin);
			return fail(p, "%s is not valid base64%s", data_key, NULL);
		}
		bin[binlen] = '\0';
		*pem = bin;
		*len = binlen;
		return 0;
	}
	if (file != NULL) {
		char *path = resolve_path(p, json_string_value(file));
		if (path == NULL)
			return -ENOMEM;
		int rc = k8s_read_file(path, pem, len);
		if (rc != 0) {
			snprintf(p->err, p->errcap, "%s: cannot read %s: %s", key, path,
			         shoal_strerror(rc));
			free(path);
			return SHOAL_E_CONFIG;
		}
		free(path);
	}
	return 0;
}

static int dup_str(json_t *v, char **out)
{
	*out = strdup(json_string_value(v));
	return *out == NULL ? -ENOMEM : 0;
}

/* A NULL-terminated copy of a JSON list of strings. */
static int string_list(struct parse *p, json_t *arr, const char *what, char ***out)
{
	size_t n = json_array_size(arr);
	if (arr != NULL && !json_is_array(arr))
		return fail(p, "exec.%s must be a list%s", what, NULL);
	char **v = calloc(n + 1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	*out = v;
	for (size_t i = 0; i < n; i++) {
		json_t *it = json_array_get(arr, i);
		if (!json_is_string(it))
			return fail(p, "exec.%s[] must be strings%s", what, NULL);
		if ((v[i] = strdup(json_string_value(it))) == NULL)
			return -ENOMEM;
	}
	return 0;
}

static int parse_exec(struct parse *p, json_t *exec, struct k8s_exec_config *e)
{
	if (!json_is_object(exec))
		return fail(p, "user.exec must be a mapping%s%s", NULL, NULL);
	const char *api = json_string_value(json_object_get(exec, "apiVersion"));
	if (api == NULL || (strcmp(api, "client.authentication.k8s.io/v1") != 0 &&
	                    strcmp(api, "client.authentication.k8s.io/v1beta1") != 0))
		return fail(p,
		            "user.exec.apiVersion must be client.authentication.k8s.io/v1 or "
		            "v1beta1 (got \"%s\")%s",
		            api != NULL ? api : "none", NULL);
	json_t *cmd = json_object_get(exec, "command");
	if (!json_is_string(cmd) || json_string_length(cmd) == 0)
		return fail(p, "user.exec.command is missing%s%s", NULL, NULL);
	int rc;
	if ((e->api_version = strdup(api)) == NULL || (rc = dup_str(cmd, &e->command)) != 0)
		return -ENOMEM;
	if ((rc = string_list(p, json_object_get(exec, "args"), "args", &e->args)) != 0)
		return rc;
	json_t *env = json_object_get(exec, "env");
	if (env != NULL && !json_is_null(env) && !json_is_array(env))
		return fail(p, "user.exec.env must be a list of {name, value}%s%s", NULL, NULL);
	size_t n = json_array_size(env);
	if ((e->env = calloc(n + 1, sizeof(char *))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_t *it = json_array_get(env, i);
		const char *name = json_string_value(json_object_get(it, "name"));
		const char *value = json_string_value(json_object_get(it, "value"));
		if (name == NULL || value == NULL || name[0] == '\0' || strchr(name, '=') != NULL)
			return fail(p, "user.exec.env[] needs a name and a value%s%s", NULL, NULL);
		size_t len = strlen(name) + strlen(value) + 2;
		if ((e->env[i] = malloc(len)) == NULL)
			return -ENOMEM;
		snprintf(e->env[i], len, "%s=%s", name, value);
	}
	return 0;
}

static int parse_user(struct parse *p, json_t *user, struct k8s_cluster_config *c)
{
	if (user == NULL || json_is_null(user))
		return 0; /* anonymous */
	if (!json_is_object(user))
		return fail(p, "user must be a mapping%s%s", NULL, NULL);
	if (json_object_get(user, "auth-provider") != NULL)
		return fail(p,
		            "user.auth-provider is not supported (removed from kubectl; use an "
		            "exec credential plugin)%s%s",
		            NULL, NULL);
	if (json_object_get(user, "username") != NULL || json_object_get(user, "password") != NULL)
		return fail(p, "user.username/password (basic auth) is not supported%s%s", NULL,
		            NULL);
	int rc = load_pem(p, user, "client-certificate", &c->cert_pem, &c->cert_len);
	if (rc == 0)
		rc = load_pem(p, user, "client-key", &c->key_pem, &c->key_len);
	if (rc != 0)
		return rc;
	if ((c->cert_pem == NULL) != (c->key_pem == NULL))
		return fail(p,
		            "user has a client certificate without its key (or a key without its "
		            "certificate)%s%s",
		            NULL, NULL);
	json_t *token = json_object_get(user, "token");
	json_t *token_file = json_object_get(user, "tokenFile");
	if (token != NULL && (!json_is_string(token) || json_string_length(token) == 0))
		return fail(p, "user.token must be a non-empty string%s%s", NULL, NULL);
	if (token != NULL && (rc = dup_str(token, &c->token)) != 0)
		return rc;
	if (token == NULL && token_file != NULL) {
		if (!json_is_string(token_file))
			return fail(p, "user.tokenFile must be a file path%s%s", NULL, NULL);
		if ((c->token_file = resolve_path(p, json_string_value(token_file))) == NULL)
			return -ENOMEM;
		char *buf;
		size_t len;
		if ((rc = k8s_read_file(c->token_file, &buf, &len)) != 0) {
			snprintf(p->err, p->errcap, "user.tokenFile: cannot read %s: %s",
			         c->token_file, shoal_strerror(rc));
			return SHOAL_E_CONFIG;
		}
		sodium_memzero(buf, len);
		free(buf);
	}
	json_t *exec = json_object_get(user, "exec");
	if (exec != NULL && !json_is_null(exec)) {
		c->has_exec = true;
		if ((rc = parse_exec(p, exec, &c->exec)) != 0)
			return rc;
	}
	return 0;
}

static int parse_cluster(struct parse *p, json_t *cl, struct k8s_cluster_config *c)
{
	if (!json_is_object(cl))
		return fail(p, "cluster must be a mapping%s%s", NULL, NULL);
	json_t *server = json_object_get(cl, "server");
	const char *s = json_string_value(server);
	if (s == NULL || s[0] == '\0')
		return fail(p, "cluster.server is missing%s%s", NULL, NULL);
	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return fail(p, "cluster.server \"%s\" is not an http(s) URL%s", s, NULL);
	if (json_object_get(cl, "proxy-url") != NULL)
		return fail(p, "cluster.proxy-url is not supported%s%s", NULL, NULL);
	if (json_object_get(cl, "tls-server-name") != NULL)
		return fail(p, "cluster.tls-server-name is not supported%s%s", NULL, NULL);
	if ((c->server = strdup(s)) == NULL)
		return -ENOMEM;
	size_t n = strlen(c->server);
	while (n > 0 && c->server[n - 1] == '/')
		c->server[--n] = '\0';
	json_t *insecure = json_object_get(cl, "insecure-skip-tls-verify");
	if (insecure != NULL && !json_is_boolean(insecure))
		return fail(p, "cluster.insecure-skip-tls-verify must be true or false%s%s", NULL,
		            NULL);
	c->insecure = json_is_true(insecure);
	return load_pem(p, cl, "certificate-authority", &c->ca_pem, &c->ca_len);
}

static int parse_root(struct parse *p, json_t *root, const char *context,
                      struct k8s_cluster_config *c)
{
	if (!json_is_object(root))
		return fail(p, "not a kubeconfig (top level is not a mapping)%s%s", NULL, NULL);
	const char *kind = json_string_value(json_object_get(root, "kind"));
	if (kind != NULL && strcmp(kind, "Config") != 0)
		return fail(p, "kind is \"%s\", not Config%s", kind, NULL);
	if (context == NULL)
		context = json_string_value(json_object_get(root, "current-context"));
	if (context == NULL || context[0] == '\0')
		return fail(p, "no current-context set and no context given%s%s", NULL, NULL);
	json_t *ctx = find_named(root, "contexts", context, "context");
	if (!json_is_object(ctx))
		return fail(p, "context \"%s\" not found%s", context, NULL);
	const char *cluster = json_string_value(json_object_get(ctx, "cluster"));
	const char *user = json_string_value(json_object_get(ctx, "user"));
	if (cluster == NULL)
		return fail(p, "context \"%s\" names no cluster%s", context, NULL);
	json_t *cl = find_named(root, "clusters", cluster, "cluster");
	if (cl == NULL)
		return fail(p, "cluster \"%s\" (of context \"%s\") not found", cluster, context);
	json_t *us = NULL;
	if (user != NULL && user[0] != '\0') {
		us = find_named(root, "users", user, "user");
		if (us == NULL)
			return fail(p, "user \"%s\" (of context \"%s\") not found", user, context);
	}
	int rc = parse_cluster(p, cl, c);
	if (rc == 0)
		rc = parse_user(p, us, c);
	if (rc != 0)
		return rc;
	const char *ns = json_string_value(json_object_get(ctx, "namespace"));
	if ((c->namespace = strdup(ns != NULL && ns[0] != '\0' ? ns : "default")) == NULL)
		return -ENOMEM;
	size_t olen = strlen(context) + 16;
	if ((c->origin = malloc(olen)) == NULL)
		return -ENOMEM;
	snprintf(c->origin, olen, "context %s", context);
	return 0;
}

int k8s_kubeconfig_parse(const char *text, size_t len, const char *dir, const char *context,
                         struct k8s_cluster_config *out, char *err, size_t errcap)
{
	memset(out, 0, sizeof(*out));
	struct parse p = {.dir = dir, .err = err, .errcap = errcap};
	json_t *docs;
	char yerr[256];
	int rc = yamljson_parse(text, len, &docs, yerr, sizeof(yerr));
	if (rc != 0) {
		snprintf(err, errcap, "not valid YAML: %s", yerr);
		return rc == -ENOMEM ? rc : SHOAL_E_CONFIG;
	}
	if (json_array_size(docs) != 1)
		rc = fail(&p, "expected one YAML document%s%s", NULL, NULL);
	else
		rc = parse_root(&p, json_array_get(docs, 0), context, out);
	json_decref(docs);
	if (rc != 0)
		k8s_cluster_config_destroy(out);
	return rc;
}

int k8s_kubeconfig_load(const char *path, const char *context, struct k8s_cluster_config *out,
                        char *err, size_t errcap)
{
	memset(out, 0, sizeof(*out));
	char *text;
	size_t len;
	int rc = k8s_read_file(path, &text, &len);
	if (rc != 0) {
		snprintf(err, errcap, "kubeconfig %s: cannot read: %s", path, shoal_strerror(rc));
		return SHOAL_E_CONFIG;
	}
	char *dir = strdup(path);
	if (dir == NULL) {
		free(text);
		return -ENOMEM;
	}
	char *slash = strrchr(dir, '/');
	if (slash != NULL)
		*slash = '\0';
	else
		dir[0] = '.', dir[1] = '\0';
	char inner[K8S_REASON_MAX];
	rc = k8s_kubeconfig_parse(text, len, slash == dir ? "/" : dir, context, out, inner,
	                          sizeof(inner));
	sodium_memzero(text, len);
	free(text);
	free(dir);
	if (rc != 0) {
		snprintf(err, errcap, "kubeconfig %s: %s", path, inner);
		return rc;
	}
	size_t olen = strlen(path) + strlen(out->origin) + 16;
	char *origin = malloc(olen);
	if (origin == NULL) {
		k8s_cluster_config_destroy(out);
		return -ENOMEM;
	}
	snprintf(origin, olen, "kubeconfig %s, %s", path, out->origin);
	free(out->origin);
	out->origin = origin;
	return 0;
}

static char *join(const char *root, const char *rest)
{
	size_t n = strlen(root) + strlen(rest) + 2;
	char *out = malloc(n);
	if (out != NULL) {
		size_t rl = strlen(root);
		while (rl > 0 && root[rl - 1] == '/')
			rl--;
		snprintf(out, n, "%.*s%s", (int)rl, root, rest);
	}
	return out;
}

int k8s_in_cluster_load(const char *root, struct k8s_cluster_config *out, char *err, size_t errcap)
{
	memset(out, 0, sizeof(*out));
	if (root == NULL)
		root = "/";
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	if (host == NULL || host[0] == '\0' || port == NULL || port[0] == '\0') {
		snprintf(err, errcap,
		         "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be "
		         "set");
		return SHOAL_E_CONFIG;
	}
	int rc = -ENOMEM;
	char *token = join(root, SA_DIR "/token");
	char *ca = join(root, SA_DIR "/ca.crt");
	char *ns = join(root, SA_DIR "/namespace");
	size_t slen = strlen(host) + strlen(port) + 16;
	out->server = malloc(slen);
	if (token == NULL || ca == NULL || ns == NULL || out->server == NULL)
		goto done;
	/* An IPv6 service address needs brackets in a URL. */
	snprintf(out->server, slen, strchr(host, ':') != NULL ? "https://[%s]:%s" : "https://%s:%s",
	         host, port);
	char *buf;
	size_t len;
	if ((rc = k8s_read_file(token, &buf, &len)) != 0) {
		snprintf(err, errcap, "in-cluster: cannot read %s: %s", token, shoal_strerror(rc));
		rc = SHOAL_E_CONFIG;
		goto done;
	}
	sodium_memzero(buf, len);
	free(buf);
	out->token_file = token;
	token = NULL;
	if ((rc = k8s_read_file(ca, &out->ca_pem, &out->ca_len)) != 0) {
		snprintf(err, errcap, "in-cluster: cannot read %s: %s", ca, shoal_strerror(rc));
		rc = SHOAL_E_CONFIG;
		goto done;
	}
	if (k8s_read_file(ns, &buf, &len) == 0) {
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
			buf[--len] = '\0';
		out->namespace = buf;
	}
	if (out->namespace == NULL && (out->namespace = strdup("default")) == NULL)
		rc = -ENOMEM;
	else if ((out->origin = strdup("in-cluster service account")) == NULL)
		rc = -ENOMEM;
done:
	free(token);
	free(ca);
	free(ns);
	if (rc != 0)
		k8s_cluster_config_destroy(out);
	return rc;
}

int k8s_cluster_config_resolve(const struct k8s_ctx_config *cfg, struct k8s_cluster_config *out,
                               char *err, size_t errcap)
{
	if (cfg->kubeconfig != NULL)
		return k8s_kubeconfig_load(cfg->kubeconfig, cfg->context, out, err, errcap);
	const char *env = getenv("KUBECONFIG");
	if (env != NULL && env[0] != '\0') {
		size_t n = strcspn(env, ":");
		char *first = strndup(env, n);
		if (first == NULL)
			return -ENOMEM;
		int rc = k8s_kubeconfig_load(first, cfg->context, out, err, errcap);
		free(first);
		return rc;
	}
	if (getenv("KUBERNETES_SERVICE_HOST") != NULL || cfg->in_cluster_root != NULL)
		return k8s_in_cluster_load(cfg->in_cluster_root, out, err, errcap);
	const char *home = getenv("HOME");
	if (home == NULL) {
		snprintf(err, errcap,
		         "no kubeconfig given, KUBECONFIG unset, not in a cluster, no HOME");
		return SHOAL_E_CONFIG;
	}
	char *path = join(home, "/.kube/config");
	if (path == NULL)
		return -ENOMEM;
	int rc = k8s_kubeconfig_load(path, cfg->context, out, err, errcap);
	free(path);
	return rc;
}
