/*
 * exec_cred.c - running an exec credential plugin without blocking.
 *
 * The plugin's stdout is gathered through a uv_pipe (capped), its stderr is
 * passed through so an operator sees what the plugin complains about, and a
 * timer kills it if it hangs (an interactive login prompt, a dead metadata
 * server). Only token credentials are taken: a plugin that answers with a
 * client certificate instead is reported as unsupported.
 */
#include "exec_cred.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "shoal/error.h"

#define OUT_MAX (1u << 20)

extern char **environ;

/* One run of the plugin. Its handles are its own, freed with it once both
 * are closed, so a new run can start while an old one is still closing (two
 * requests failing on a plugin that cannot be spawned, in one loop turn). */
struct exec_run {
	struct k8s_exec_cred *e; /* NULL once detached (finished or deleted) */
	uv_process_t proc;
	uv_pipe_t out;
	int open_handles;
};

struct k8s_exec_cred {
	uv_loop_t *loop;
	const struct k8s_exec_config *cfg;
	struct exec_run *run; /* the plugin process alive now, or NULL */
	uv_timer_t timer;
	int exited;   /* exit seen for the current run */
	int out_done; /* EOF (or error) on stdout for the current run */
	int64_t exit_status;
	char *buf; /* stdout gathered so far */
	size_t len;
	int too_big;
	k8s_exec_cred_cb cb;
	void *cb_arg;
};

static int days_from_civil(int y, unsigned m, unsigned d)
{
	/* Howard Hinnant's algorithm: days since 1970-01-01 for a proleptic
	 * Gregorian date, without timegm (not in C11 or POSIX). */
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int)doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int k8s_parse_rfc3339(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, sec;
	if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &sec))
		return SHOAL_E_MALFORMED;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return SHOAL_E_RANGE;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	int64_t offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om))
			return SHOAL_E_MALFORMED;
		offset = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return SHOAL_E_MALFORMED;
	}
	if (*p != '\0')
		return SHOAL_E_MALFORMED;
	*out = (int64_t)days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
	       sec - offset;
	return 0;
}

int k8s_exec_cred_parse(const char *text, size_t len, const char *want_api_version, char **token,
                        int64_t *expires_unix, char *err, size_t errcap)
{
	*token = NULL;
	*expires_unix = 0;
	json_error_t jerr;
	json_t *root = json_loadb(text, len, 0, &jerr);
	if (root == NULL) {
		snprintf(err, errcap, "exec plugin output is not JSON: %s", jerr.text);
		return SHOAL_E_MALFORMED;
	}
	int rc = SHOAL_E_MALFORMED;
	const char *kind = json_string_value(json_object_get(root, "kind"));
	const char *api = json_string_value(json_object_get(root, "apiVersion"));
	json_t *status = json_object_get(root, "status");
	const char *tok = json_string_value(json_object_get(status, "token"));
	const char *exp = json_string_value(json_object_get(status, "expirationTimestamp"));
	if (kind == NULL || strcmp(kind, "ExecCredential") != 0) {
		snprintf(err, errcap, "exec plugin output is not an ExecCredential");
	} else if (api == NULL || strcmp(api, want_api_version) != 0) {
		snprintf(err, errcap,
		         "exec plugin answered apiVersion %s, the kubeconfig asked for %s",
		         api != NULL ? api : "(none)", want_api_version);
	} else if (tok == NULL || tok[0] == '\0') {
		snprintf(
		        err, errcap,
		        json_object_get(status, "clientCertificateData") != NULL
		                ? "exec plugin gave a client certificate; only tokens are supported"
		                : "exec plugin gave no status.token");
	} else if (exp != NULL && k8s_parse_rfc3339(exp, expires_unix) != 0) {
		snprintf(err, errcap, "exec plugin's expirationTimestamp \"%.64s\" is not RFC 3339",
		         exp);
	} else if ((*token = strdup(tok)) == NULL) {
		rc = -ENOMEM;
	} else {
		rc = 0;
	}
	json_decref(root);
	return rc;
}

static void on_run_closed(uv_handle_t *h)
{
	struct exec_run *run = h->data;
	if (--run->open_handles == 0)
		free(run);
}

/* Detach the run from its context and close its handles. */
static void run_close(struct exec_run *run)
{
	run->e = NULL;
	uv_close((uv_handle_t *)&run->proc, on_run_closed);
	uv_close((uv_handle_t *)&run->out, on_run_closed);
}

static void finish(struct k8s_exec_cred *e)
{
	if (!e->exited || !e->out_done)
		return;
	uv_timer_stop(&e->timer);
	run_close(e->run);
	e->run = NULL;
	k8s_exec_cred_cb cb = e->cb;
	e->cb = NULL;
	char err[256] = "";
	char *token = NULL;
	int64_t expires = 0;
	if (e->too_big)
		snprintf(err, sizeof(err), "exec plugin %s printed more than %u bytes",
		         e->cfg->command, OUT_MAX);
	else if (e->exit_status != 0)
		snprintf(err, sizeof(err), "exec plugin %s exited with status %lld",
		         e->cfg->command, (long long)e->exit_status);
	else
		k8s_exec_cred_parse(e->buf != NULL ? e->buf : "", e->len, e->cfg->api_version,
		                    &token, &expires, err, sizeof(err));
	if (e->buf != NULL)
		sodium_memzero(e->buf, e->len);
	free(e->buf);
	e->buf = NULL;
	e->len = 0;
	if (cb != NULL)
		cb(e->cb_arg, token, expires, token != NULL ? NULL : err);
	if (token != NULL) {
		sodium_memzero(token, strlen(token));
		free(token);
	}
}

static void on_exit_cb(uv_process_t *p, int64_t status, int signo)
{
	struct exec_run *run = p->data;
	struct k8s_exec_cred *e = run->e;
	if (e == NULL)
		return; /* a run deleted with its context */
	e->exited = 1;
	e->exit_status = signo != 0 ? 128 + signo : status;
	finish(e);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)h;
	buf->base = malloc(hint);
	buf->len = buf->base != NULL ? hint : 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct exec_run *run = s->data;
	struct k8s_exec_cred *e = run->e;
	if (e == NULL) {
		if (buf->base != NULL) {
			sodium_memzero(buf->base, buf->len);
			free(buf->base);
		}
		return;
	}
	if (n > 0 && !e->too_big) {
		if ((size_t)n > OUT_MAX - e->len) {
			e->too_big = 1;
		} else {
			char *nb = realloc(e->buf, e->len + (size_t)n + 1);
			if (nb == NULL) {
				e->too_big = 1;
			} else {
				memcpy(nb + e->len, buf->base, (size_t)n);
				e->len += (size_t)n;
				nb[e->len] = '\0';
				e->buf = nb;
			}
		}
	}
	if (buf->base != NULL) {
		sodium_memzero(buf->base, buf->len);
		free(buf->base);
	}
	if (n < 0) {
		uv_read_stop(s);
		e->out_done = 1;
		finish(e);
	}
}

static void on_timeout(uv_timer_t *t)
{
	struct k8s_exec_cred *e = t->data;
	if (e->run != NULL)
		uv_process_kill(&e->run->proc, SIGKILL);
}

int k8s_exec_cred_new(uv_loop_t *loop, const struct k8s_exec_config *cfg,
                      struct k8s_exec_cred **out)
{
	struct k8s_exec_cred *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	e->loop = loop;
	e->cfg = cfg;
	uv_timer_init(loop, &e->timer);
	e->timer.data = e;
	*out = e;
	return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct k8s_exec_cred *e = h->data;
	free(e->buf);
	free(e);
}

void k8s_exec_cred_delete(struct k8s_exec_cred *e)
{
	if (e == NULL)
		return;
	e->cb = NULL;
	if (e->run != NULL) {
		uv_process_kill(&e->run->proc, SIGKILL);
		run_close(e->run);
		e->run = NULL;
	}
	uv_close((uv_handle_t *)&e->timer, on_timer_closed);
}

int k8s_exec_cred_run(struct k8s_exec_cred *e, k8s_exec_cred_cb cb, void *arg)
{
	if (e->run != NULL)
		return SHOAL_E_STATE;
	size_t nenv = 0, nextra = 0, nargs = 0;
	while (environ[nenv] != NULL)
		nenv++;
	while (e->cfg->env[nextra] != NULL)
		nextra++;
	while (e->cfg->args[nargs] != NULL)
		nargs++;
	char **env = calloc(nenv + nextra + 2, sizeof(char *));
	char **argv = calloc(nargs + 2, sizeof(char *));
	struct exec_run *run = calloc(1, sizeof(*run));
	char info[256];
	if (env == NULL || argv == NULL || run == NULL) {
		free(env);
		free(argv);
		free(run);
		return -ENOMEM;
	}
	snprintf(info, sizeof(info),
	         "KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\","
	         "\"spec\":{\"interactive\":false}}",
	         e->cfg->api_version);
	memcpy(env, environ, nenv * sizeof(char *));
	memcpy(env + nenv, e->cfg->env, nextra * sizeof(char *));
	env[nenv + nextra] = info;
	argv[0] = e->cfg->command;
	memcpy(argv + 1, e->cfg->args, nargs * sizeof(char *));

	uv_pipe_init(e->loop, &run->out, 0);
	run->out.data = run;
	uv_stdio_container_t stdio[3] = {
	        {.flags = UV_IGNORE},
	        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE,
	         .data.stream = (uv_stream_t *)&run->out},
	        {.flags = UV_INHERIT_FD, .data.fd = 2},
	};
	uv_process_options_t opts = {
	        .exit_cb = on_exit_cb,
	        .file = e->cfg->command,
	        .args = argv,
	        .env = env,
	        .stdio_count = 3,
	        .stdio = stdio,
	};
	run->proc.data = run;
	run->open_handles = 2;
	e->exited = e->out_done = e->too_big = 0;
	int rc = uv_spawn(e->loop, &run->proc, &opts);
	free(env);
	free(argv);
	if (rc != 0) {
		run_close(run); /* libuv: a failed spawn's handle is closed all the same */
		return rc;
	}
	run->e = e;
	e->run = run;
	e->cb = cb;
	e->cb_arg = arg;
	uv_read_start((uv_stream_t *)&run->out, on_alloc, on_read);
	uv_timer_start(&e->timer, on_timeout, K8S_EXEC_TIMEOUT_MS, 0);
	return 0;
}
