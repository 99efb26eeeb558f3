/*
 * test_k8s_kubeconfig.c - kubeconfig and in-cluster config.
 *
 * Every way a kubeconfig gives credentials is read into the config a
 * request needs, and every broken kubeconfig is refused with a message that
 * names what is wrong (one case each), leaving nothing to free.
 */
#include "../../k8s/kubeconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../k8s/exec_cred.h"
#include "shoal/error.h"

/* "-----BEGIN CERTIFICATE-----\nX\n" in base64: any bytes do for parsing. */
#define CA_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClgK"

static const char *HEAD = "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                          "contexts:\n- name: c\n  context: {cluster: k, user: u}\n";

static int parse(const char *tail, struct k8s_cluster_config *c, char *err)
{
	char text[4096];
	snprintf(text, sizeof(text), "%s%s", HEAD, tail);
	return k8s_kubeconfig_parse(text, strlen(text), "/etc/kube", NULL, c, err, 512);
}

static void token_and_ca_data(void **state)
{
	(void)state;
	struct k8s_cluster_config c;
	char err[512];
	int rc = parse("clusters:\n- name: k\n  cluster:\n    server: https://10.0.0.1:6443/\n"
	               "    certificate-authority-data: " CA_B64 "\n"
	               "users:\n- name: u\n  user: {token: abc123}\n",
	               &c, err);
	assert_int_equal(rc, 0);
	assert_string_equal(c.server, "https://10.0.0.1:6443"); /* trailing slash dropped */
	assert_int_equal(c.ca_len, 30);
	assert_memory_equal(c.ca_pem, "-----BEGIN CERTIFICATE-----\nX\n", 30);
	assert_string_equal(c.token, "abc123");
	assert_false(c.insecure);
	assert_false(c.has_exec);
	assert_string_equal(c.namespace, "default");
	k8s_cluster_config_destroy(&c);
}

static void client_cert_data_and_insecure(void **state)
{
	(void)state;
	struct k8s_cluster_config c;
	char err[512];
	int rc = parse("clusters:\n- name: k\n  cluster:\n    server: https://h\n"
	               "    insecure-skip-tls-verify: true\n"
	               "users:\n- name: u\n  user:\n    client-certificate-data: " CA_B64 "\n"
	               "    client-key-data: " CA_B64 "\n",
	               &c, err);
	assert_int_equal(rc, 0);
	assert_true(c.insecure);
	assert_null(c.ca_pem);
	assert_non_null(c.cert_pem);
	assert_non_null(c.key_pem);
	k8s_cluster_config_destroy(&c);
}

static void exec_plugin_v1beta1(void **state)
{
	(void)state;
	struct k8s_cluster_config c;
	char err[512];
	int rc = parse("clusters:\n- name: k\n  cluster: {server: 'https://eks.example'}\n"
	               "users:\n- name: u\n  user:\n    exec:\n"
	               "      apiVersion: client.authentication.k8s.io/v1beta1\n"
	               "      command: aws\n      args: [eks, get-token, --cluster-name, prod]\n"
	               "      env:\n      - {name: AWS_PROFILE, value: ops}\n",
	               &c, err);
	assert_int_equal(rc, 0);
	assert_true(c.has_exec);
	assert_string_equal(c.exec.command, "aws");
	assert_string_equal(c.exec.args[0], "eks");
	assert_string_equal(c.exec.args[3], "prod");
	assert_null(c.exec.args[4]);
	assert_string_equal(c.exec.env[0], "AWS_PROFILE=ops");
	assert_null(c.exec.env[1]);
	k8s_cluster_config_destroy(&c);
}

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void files_relative_to_kubeconfig(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/shoal-kc-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	write_file("ca.pem", "CA-PEM\n");
	write_file("tok", "sekrit\n");
	char text[1024];
	snprintf(text, sizeof(text),
	         "%sclusters:\n- name: k\n  cluster: {server: 'https://h', certificate-authority: "
	         "ca.pem}\nusers:\n- name: u\n  user: {tokenFile: tok}\n",
	         HEAD);
	write_file("config", text);
	char path[128];
	snprintf(path, sizeof(path), "%s/config", tmpdir);
	struct k8s_cluster_config c;
	char err[512];
	assert_int_equal(k8s_kubeconfig_load(path, NULL, &c, err, sizeof(err)), 0);
	assert_string_equal(c.ca_pem, "CA-PEM\n");
	char want[128];
	snprintf(want, sizeof(want), "%s/tok", tmpdir);
	assert_string_equal(c.token_file, want);
	assert_null(c.token);
	assert_non_null(strstr(c.origin, "context c"));
	k8s_cluster_config_destroy(&c);

	/* A named context overrides current-context; a missing one is an error. */
	assert_int_equal(k8s_kubeconfig_load(path, "other", &c, err, sizeof(err)), SHOAL_E_CONFIG);
	assert_non_null(strstr(err, "context \"other\" not found"));
	assert_non_null(strstr(err, path));

	unlink(path);
	snprintf(path, sizeof(path), "%s/ca.pem", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/tok", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

struct bad_case {
	const char *text; /* whole kubeconfig, or tail after HEAD when head is set */
	int head;
	const char *needle;
};

static const struct bad_case bad[] = {
        {"a: [1, 2\n", 0, "not valid YAML"},
        {"- just\n- a list\n", 0, "top level is not a mapping"},
        {"apiVersion: v1\nkind: Pod\n", 0, "not Config"},
        {"apiVersion: v1\nkind: Config\ncontexts: []\n", 0, "no current-context"},
        {"apiVersion: v1\nkind: Config\ncurrent-context: x\ncontexts: []\n", 0,
         "context \"x\" not found"},
        {"apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context: "
         "{user: u}\n",
         0, "names no cluster"},
        {"clusters: []\n", 1, "cluster \"k\" (of context \"c\") not found"},
        {"clusters:\n- name: k\n  cluster: {server: 'https://h'}\nusers: []\n", 1,
         "user \"u\" (of context \"c\") not found"},
        {"clusters:\n- name: k\n  cluster: {}\nusers:\n- name: u\n  user: {}\n", 1,
         "cluster.server is missing"},
        {"clusters:\n- name: k\n  cluster: {server: 'ftp://h'}\nusers:\n- name: u\n  user: {}\n", 1,
         "not an http(s) URL"},
        {"clusters:\n- name: k\n  cluster: {server: 'https://h', certificate-authority-data: "
         "'!!notbase64'}\nusers:\n- name: u\n  user: {}\n",
         1, "certificate-authority-data is not valid base64"},
        {"clusters:\n- name: k\n  cluster: {server: 'https://h', certificate-authority: "
         "/nonexistent/ca}\nusers:\n- name: u\n  user: {}\n",
         1, "cannot read /nonexistent/ca"},
        {"clusters:\n- name: k\n  cluster: {server: 'https://h', insecure-skip-tls-verify: "
         "'yes'}\nusers:\n- name: u\n  user: {}\n",
         1, "must be true or false"},
        {"clusters:\n- name: k\n  cluster: {server: 'https://h', proxy-url: 'http://p'}\n"
         "users:\n- name: u\n  user: {}\n",
         1, "proxy-url is not supported"},
        {"clusters:\n- name: k\n  cluster: {server: 'https://h'}\nusers:\n- name: u\n  user: "
         "{client-certificate-data: " CA_B64 "}\n",
         1, "without its key"},
        {"clusters:\n- name: k\n  cluster: {server: 'https://h'}\nusers:\n- name: u\n  user: "
         "{token: ''}\n",
         1, "user.token must be a non-empty string"},
        {"clusters:\n- name: k\n  cluster: {server: 'https://h'}\nusers:\n- name: u\n  user: "
         "{tokenFile: /nonexistent/token}\n",
         1, "user.tokenFile: cannot read /nonexistent/token"},
        {"clusters:\n- name: k\n  cluster: {server: 'https://h'}\nusers:\n- name: u\n  user: "
         "{exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}}\n",
         1, "user.exec.apiVersion must be"},
        {"clusters:\n- name: k\n  cluster: {server: 'https://h'}\nusers:\n- name: u\n  user: "
         "{exec: {apiVersion: client.authentication.k8s.io/v1}}\n",
         1, "user.exec.command is missing"},
        {"clusters:\n- name: k\n  cluster: {server: 'https://h'}\nusers:\n- name: u\n  user: "
         "{exec: {apiVersion: client.authentication.k8s.io/v1, command: x, args: [1, [2]]}}\n",
         1, "exec.args[] must be strings"},
        {"clusters:\n- name: k\n  cluster: {server: 'https://h'}\nusers:\n- name: u\n  user: "
         "{exec: {apiVersion: client.authentication.k8s.io/v1, command: x, env: [{name: A}]}}\n",
         1, "exec.env[] needs a name and a value"},
        {"clusters:\n- name: k\n  cluster: {server: 'https://h'}\nusers:\n- name: u\n  user: "
         "{auth-provider: {name: gcp}}\n",
         1, "auth-provider is not supported"},
        {"clusters:\n- name: k\n  cluster: {server: 'https://h'}\nusers:\n- name: u\n  user: "
         "{username: a, password: b}\n",
         1, "basic auth"},
};

static void bad_kubeconfigs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct k8s_cluster_config c;
		char err[512] = "";
		char text[4096];
		snprintf(text, sizeof(text), "%s%s", bad[i].head ? HEAD : "", bad[i].text);
		int rc = k8s_kubeconfig_parse(text, strlen(text), "/", NULL, &c, err, sizeof(err));
		if (rc != SHOAL_E_CONFIG || strstr(err, bad[i].needle) == NULL)
			fail_msg("case %zu: rc %d, err \"%s\", wanted \"%s\"", i, rc, err,
			         bad[i].needle);
		/* Nothing left behind: the struct is zeroed. */
		assert_null(c.server);
		assert_null(c.token);
	}
}

static void missing_file(void **state)
{
	(void)state;
	struct k8s_cluster_config c;
	char err[512];
	assert_int_equal(k8s_kubeconfig_load("/nonexistent/kubeconfig", NULL, &c, err, sizeof(err)),
	                 SHOAL_E_CONFIG);
	assert_non_null(strstr(err, "kubeconfig /nonexistent/kubeconfig: cannot read"));
}

static void in_cluster(void **state)
{
	(void)state;
	char root[64];
	snprintf(root, sizeof(root), "/tmp/shoal-ic-XXXXXX");
	assert_non_null(mkdtemp(root));
	struct k8s_cluster_config c;
	char err[512];
	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_int_equal(k8s_in_cluster_load(root, &c, err, sizeof(err)), SHOAL_E_CONFIG);
	assert_non_null(strstr(err, "KUBERNETES_SERVICE_HOST"));

	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(k8s_in_cluster_load(root, &c, err, sizeof(err)), SHOAL_E_CONFIG);
	assert_non_null(strstr(err, "serviceaccount/token"));

	char dir[256], path[300];
	const char *parts[] = {"/var", "/var/run", "/var/run/secrets",
	                       "/var/run/secrets/kubernetes.io",
	                       "/var/run/secrets/kubernetes.io/serviceaccount"};
	for (size_t i = 0; i < 5; i++) {
		snprintf(dir, sizeof(dir), "%s%s", root, parts[i]);
		assert_int_equal(mkdir(dir, 0700), 0);
	}
	const char *files[][2] = {
	        {"token", "sa-token\n"}, {"ca.crt", "CA\n"}, {"namespace", "apps\n"}};
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i][0]);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(files[i][1], f);
		fclose(f);
	}
	assert_int_equal(k8s_in_cluster_load(root, &c, err, sizeof(err)), 0);
	assert_string_equal(c.server, "https://10.96.0.1:443");
	assert_string_equal(c.ca_pem, "CA\n");
	assert_string_equal(c.namespace, "apps");
	assert_non_null(strstr(c.token_file, "serviceaccount/token"));
	k8s_cluster_config_destroy(&c);

	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	assert_int_equal(k8s_in_cluster_load(root, &c, err, sizeof(err)), 0);
	assert_string_equal(c.server, "https://[fd00::1]:443");
	k8s_cluster_config_destroy(&c);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");

	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i][0]);
		unlink(path);
	}
	for (size_t i = 5; i-- > 0;) {
		snprintf(dir, sizeof(dir), "%s%s", root, parts[i]);
		rmdir(dir);
	}
	rmdir(root);
}

static void exec_credential_output(void **state)
{
	(void)state;
	char *tok;
	int64_t exp;
	char err[256];
	const char *v1 = "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":"
	                 "\"ExecCredential\",\"status\":{\"token\":\"t0k\","
	                 "\"expirationTimestamp\":\"2024-01-02T03:04:05Z\"}}";
	assert_int_equal(k8s_exec_cred_parse(v1, strlen(v1), "client.authentication.k8s.io/v1",
	                                     &tok, &exp, err, sizeof(err)),
	                 0);
	assert_string_equal(tok, "t0k");
	assert_int_equal(exp, 1704164645);
	free(tok);
	/* The version asked for must be the one answered. */
	assert_int_equal(k8s_exec_cred_parse(v1, strlen(v1), "client.authentication.k8s.io/v1beta1",
	                                     &tok, &exp, err, sizeof(err)),
	                 SHOAL_E_MALFORMED);
	assert_non_null(strstr(err, "asked for client.authentication.k8s.io/v1beta1"));
	const char *cert = "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":"
	                   "\"ExecCredential\",\"status\":{\"clientCertificateData\":\"x\"}}";
	assert_int_equal(k8s_exec_cred_parse(cert, strlen(cert), "client.authentication.k8s.io/v1",
	                                     &tok, &exp, err, sizeof(err)),
	                 SHOAL_E_MALFORMED);
	assert_non_null(strstr(err, "only tokens"));
	assert_int_equal(k8s_exec_cred_parse("nope", 4, "x", &tok, &exp, err, sizeof(err)),
	                 SHOAL_E_MALFORMED);
	assert_null(tok);
}

static void rfc3339(void **state)
{
	(void)state;
	int64_t t;
	assert_int_equal(k8s_parse_rfc3339("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(k8s_parse_rfc3339("2000-03-01T00:00:00.123Z", &t), 0);
	assert_int_equal(t, 951868800);
	assert_int_equal(k8s_parse_rfc3339("2000-03-01T02:00:00+02:00", &t), 0);
	assert_int_equal(t, 951868800);
	assert_int_equal(k8s_parse_rfc3339("2000-03-01 00:00:00Z", &t), SHOAL_E_MALFORMED);
	assert_int_equal(k8s_parse_rfc3339("2000-13-01T00:00:00Z", &t), SHOAL_E_RANGE);
	assert_int_equal(k8s_parse_rfc3339("2000-03-01T00:00:00", &t), SHOAL_E_MALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(token_and_ca_data),
	        cmocka_unit_test(client_cert_data_and_insecure),
	        cmocka_unit_test(exec_plugin_v1beta1),
	        cmocka_unit_test(files_relative_to_kubeconfig),
	        cmocka_unit_test(bad_kubeconfigs),
	        cmocka_unit_test(missing_file),
	        cmocka_unit_test(in_cluster),
	        cmocka_unit_test(exec_credential_output),
	        cmocka_unit_test(rfc3339),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
