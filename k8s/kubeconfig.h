/*
 * kubeconfig.h - how to reach and authenticate to one cluster.
 *
 * Read from a kubeconfig file (its current context, or a named one) or from
 * the in-cluster service account. Everything a request needs is resolved at
 * load time and held here in memory: the CA, client certificate and key as
 * PEM bytes (from *-data or from files), the server URL, a static token, or
 * the path of a token file (re-read as it rotates) or an exec credential
 * plugin (run later, by exec_cred.c). A bad kubeconfig fails at load with an
 * error that names the file and the key, not later on the first request.
 *
 * Ownership: a config is caller-owned memory filled by a load function and
 * released with k8s_cluster_config_destroy (safe on a zeroed struct).
 */
#ifndef SHOAL_K8S_KUBECONFIG_H
#define SHOAL_K8S_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "shoal/k8s.h"

/* Largest kubeconfig, CA, certificate, key or token file read. */
#define K8S_CONFIG_FILE_MAX (4u * 1024u * 1024u)

struct k8s_exec_config {
	char *api_version; /* client.authentication.k8s.io/v1 or /v1beta1 */
	char *command;     /* program, looked up on PATH if it has no slash */
	char **args;       /* NULL-terminated argv without the command */
	char **env;        /* NULL-terminated NAME=VALUE added to the environment */
};

struct k8s_cluster_config {
	char *server; /* "https://host:port" without a trailing slash */
	char *ca_pem; /* CA bundle PEM, NULL: the system store */
	size_t ca_len;
	char *cert_pem; /* client certificate PEM, or NULL */
	size_t cert_len;
	char *key_pem; /* client key PEM, or NULL (set iff cert_pem is) */
	size_t key_len;
	char *token;      /* static bearer token, or NULL */
	char *token_file; /* bearer token file, re-read as it rotates, or NULL */
	bool insecure;    /* insecure-skip-tls-verify: true in the kubeconfig */
	bool has_exec;    /* credentials come from an exec plugin */
	struct k8s_exec_config exec;
	char *namespace; /* the context's namespace ("default" if none) */
	char *origin;    /* "kubeconfig PATH, context NAME" or "in-cluster", for messages */
};

/* Parse kubeconfig text. `dir` is the directory relative file paths are
 * resolved against (the kubeconfig's own, as kubectl does); `context` NULL
 * means current-context. Returns 0, or SHOAL_E_CONFIG with `err` saying
 * which key is wrong; -ENOMEM. On error nothing is left to free. */
int k8s_kubeconfig_parse(const char *text, size_t len, const char *dir, const char *context,
                         struct k8s_cluster_config *out, char *err, size_t errcap);

/* Read and parse the kubeconfig at `path`. */
int k8s_kubeconfig_load(const char *path, const char *context, struct k8s_cluster_config *out,
                        char *err, size_t errcap);

/* In-cluster config: the service account under `root` ("/" in production)
 * /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}
 * and KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT from the environment. */
int k8s_in_cluster_load(const char *root, struct k8s_cluster_config *out, char *err, size_t errcap);

/* The config a context uses: cfg->kubeconfig, else the first file named by
 * $KUBECONFIG, else in-cluster when KUBERNETES_SERVICE_HOST is set, else
 * ~/.kube/config. */
int k8s_cluster_config_resolve(const struct k8s_ctx_config *cfg, struct k8s_cluster_config *out,
                               char *err, size_t errcap);

void k8s_cluster_config_destroy(struct k8s_cluster_config *c);

/* Read a whole file (at most K8S_CONFIG_FILE_MAX) into a NUL-terminated
 * malloc'd buffer. Returns 0 or a negative errno / SHOAL_E_TOO_BIG. */
int k8s_read_file(const char *path, char **buf, size_t *len);

#endif
