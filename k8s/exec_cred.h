/*
 * exec_cred.h - tokens from client-go exec credential plugins.
 *
 * EKS (aws eks get-token, aws-iam-authenticator) and GKE
 * (gke-gcloud-auth-plugin) kubeconfigs name a program that prints an
 * ExecCredential (client.authentication.k8s.io/v1 or v1beta1) on stdout.
 * It is run with uv_spawn, so the loop never waits on it; its token is kept
 * until status.expirationTimestamp (less a margin), or until a 401 says it
 * went stale. The plugin gets KUBERNETES_EXEC_INFO as client-go sets it.
 */
#ifndef SHOAL_K8S_EXEC_CRED_H
#define SHOAL_K8S_EXEC_CRED_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "kubeconfig.h"

/* Longest an exec plugin may run before it is killed. */
#define K8S_EXEC_TIMEOUT_MS 60000u
/* Refresh this long before the stated expiry, so no request carries a token
 * that expires in flight. */
#define K8S_EXEC_MARGIN_S 30

/* Called once per k8s_exec_cred_run: token is NULL on failure, with err. */
typedef void (*k8s_exec_cred_cb)(void *arg, const char *token, int64_t expires_unix,
                                 const char *err);

struct k8s_exec_cred;

int k8s_exec_cred_new(uv_loop_t *loop, const struct k8s_exec_config *cfg,
                      struct k8s_exec_cred **out);
/* Kill a running plugin (no callback) and free once libuv closed the handles. */
void k8s_exec_cred_delete(struct k8s_exec_cred *e);
/* Run the plugin; SHOAL_E_STATE if it is already running. */
int k8s_exec_cred_run(struct k8s_exec_cred *e, k8s_exec_cred_cb cb, void *arg);

/* Parse an ExecCredential's JSON text. Returns 0 with a malloc'd token and
 * the expiry (0: none), or SHOAL_E_MALFORMED with err. */
int k8s_exec_cred_parse(const char *text, size_t len, const char *want_api_version, char **token,
                        int64_t *expires_unix, char *err, size_t errcap);

/* "2006-01-02T15:04:05Z" or with a numeric offset / fraction, to Unix time. */
int k8s_parse_rfc3339(const char *s, int64_t *out);

#endif
