/*
 * ctl_wait.c - `shoalctl wait KIND/NAME [--for replicated|ready]`: block
 * until every site an intent selects holds its version (or runs it ready).
 *
 * It polls GET /v1/fleet every POLL_MS: the intent's "selected",
 * "replicated" and per-state counts are the whole answer, computed by the
 * node from the replicated health table, so any node can be asked. On a
 * terminal a progress bar is redrawn in place; otherwise one line is
 * printed per change, for logs and CI.
 *
 * Exit codes: 0 done (and at least one site selected: an intent that
 * selects nothing is not "rolled out"); 1 timed out (saying which states
 * remain), or --for ready and a site failed (waiting cannot help), or the
 * node could not be asked at the first poll; 2 bad command line (the
 * selector included, as the node judges it). An intent the node does not
 * hold is waited for: it may not have reached that node yet.
 */
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "ctl_api.h"
#include "ctl_fleet.h"
#include "shoal/intent.h"

static int wait_run(struct ctl_opts *o, int argc, char **argv);

const struct ctl_command ctl_wait_command = {
        .name = "wait",
        .summary = "wait until an intent is replicated or ready on its sites",
        .usage = "usage: shoalctl wait KIND/NAME [--for replicated|ready] [--timeout DURATION]\n"
                 "                     [-l SELECTOR] [--node HOST:PORT]\n"
                 "\n"
                 "Waits until every site the intent selects (among those SELECTOR matches)\n"
                 "holds its newest version (--for replicated, the default) or reports it\n"
                 "ready (--for ready). KIND is App, EgressPolicy or Upgrade. DURATION is\n"
                 "like 30s, 2m, 1m30s or 500ms (default 5m; 0 looks once).\n"
                 "\n"
                 "exit status: 0 done, 1 timed out or (with --for ready) a site failed,\n"
                 "2 bad command line\n",
        .run = wait_run,
};

#define POLL_MS            500
#define RETRY_MS           2000   /* after a failed poll: the error is printed each time */
#define DEFAULT_TIMEOUT_MS 300000 /* a rollout to a large fleet takes minutes */
#define DURATION_MAX_MS    86400000LL
#define BAR_WIDTH          20

/* ---- pure parts, unit tested ---- */

enum ctl_wait_verdict ctl_wait_judge(const struct ctl_fleet_intent *it, enum ctl_wait_for w)
{
	if (it == NULL)
		return CTL_WAIT_MORE;
	if (w == CTL_WAIT_READY && it->state[CTL_IS_FAILED] > 0)
		return CTL_WAIT_FAILED;
	if (it->selected <= 0)
		return CTL_WAIT_MORE;
	long long done = w == CTL_WAIT_READY ? it->state[CTL_IS_READY] : it->replicated;
	return done >= it->selected ? CTL_WAIT_DONE : CTL_WAIT_MORE;
}

void ctl_wait_describe(const struct ctl_fleet_intent *it, enum ctl_wait_for w, char *out,
                       size_t cap)
{
	if (it == NULL) {
		snprintf(out, cap, "not held by this node (yet)");
		return;
	}
	if (it->selected <= 0) {
		snprintf(out, cap, "selects no site (yet)");
		return;
	}
	long long done = w == CTL_WAIT_READY ? it->state[CTL_IS_READY] : it->replicated;
	int n = snprintf(out, cap, "%lld/%lld sites %s", done, it->selected,
	                 w == CTL_WAIT_READY ? "ready" : "replicated");
	if (n < 0 || (size_t)n >= cap)
		return;
	/* The states that are not there yet, in the vocabulary's order. */
	size_t len = (size_t)n;
	int listed = 0;
	for (int s = 0; s < CTL_IS_COUNT; s++) {
		if (s == CTL_IS_READY || it->state[s] <= 0)
			continue;
		n = snprintf(out + len, cap - len, "%s%lld %s", listed++ ? ", " : " (",
		             it->state[s], ctl_istate_names[s]);
		if (n < 0 || (size_t)n >= cap - len)
			return;
		len += (size_t)n;
	}
	if (listed)
		snprintf(out + len, cap - len, ")");
}

int ctl_duration_parse(const char *text, long long *ms)
{
	if (text == NULL || text[0] == '\0')
		return -EINVAL;
	if (strcmp(text, "0") == 0) {
		*ms = 0;
		return 0;
	}
	long long total = 0;
	const char *p = text;
	while (*p != '\0') {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		long long v = 0;
		while (*p >= '0' && *p <= '9') {
			v = v * 10 + (*p - '0');
			if (v > DURATION_MAX_MS)
				return -EINVAL;
			p++;
		}
		long long unit;
		if (strncmp(p, "ms", 2) == 0) {
			unit = 1;
			p += 2;
		} else if (*p == 's') {
			unit = 1000;
			p++;
		} else if (*p == 'm') {
			unit = 60000;
			p++;
		} else if (*p == 'h') {
			unit = 3600000;
			p++;
		} else {
			return -EINVAL; /* no unit, or one we do not know */
		}
		total += v * unit;
		if (total > DURATION_MAX_MS)
			return -EINVAL;
	}
	*ms = total;
	return 0;
}

/* The kinds whose intents sites apply and report states for. */
static const char *const waitable[] = {"App", "EgressPolicy", "Upgrade"};

int ctl_intent_ref_parse(const char *text, const char **kind, const char **name, char *err,
                         size_t errcap)
{
	const char *slash = strchr(text, '/');
	if (slash == NULL || slash == text || slash[1] == '\0' || strchr(slash + 1, '/') != NULL) {
		snprintf(err, errcap, "expected KIND/NAME, got '%.64s'", text);
		return -EINVAL;
	}
	size_t klen = (size_t)(slash - text);
	for (size_t i = 0; i < sizeof(waitable) / sizeof(waitable[0]); i++) {
		if (strlen(waitable[i]) == klen && strncasecmp(waitable[i], text, klen) == 0) {
			*kind = waitable[i];
			const char *nm = slash + 1;
			if (!intent_name_valid((const uint8_t *)nm, (uint32_t)strnlen(nm, 1024))) {
				snprintf(err, errcap,
				         "'%.64s' is not an intent name (a-z, 0-9, '-' and '.', "
				         "at most %d)",
				         nm, INTENT_NAME_MAX);
				return -EINVAL;
			}
			*name = nm;
			return 0;
		}
	}
	snprintf(err, errcap,
	         "'%.*s': wait follows App, EgressPolicy and Upgrade intents (the kinds sites "
	         "apply)",
	         (int)(klen > 64 ? 64 : klen), text);
	return -EINVAL;
}

/* ---- the command ---- */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* Columns of the terminal on stdout, so a redrawn line never wraps (a
 * wrapped line cannot be erased with a carriage return). */
static size_t term_columns(void)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
		return ws.ws_col;
	return 80;
}

struct progress {
	int tty;         /* redraw one line in place */
	int drawn;       /* a line is on screen without its newline */
	char last[512];  /* the last state shown, to print only changes */
	const char *ref; /* "Kind/name" as given */
};

static void show(struct progress *p, const struct ctl_fleet_intent *it, enum ctl_wait_for w)
{
	char desc[400], line[512];
	ctl_wait_describe(it, w, desc, sizeof(desc));
	if (strcmp(desc, p->last) == 0)
		return;
	snprintf(p->last, sizeof(p->last), "%s", desc);
	if (!p->tty) {
		printf("%s: %s\n", p->ref, desc);
		fflush(stdout);
		return;
	}
	char bar[BAR_WIDTH + 3];
	long long done = 0, total = 0;
	if (it != NULL) {
		done = w == CTL_WAIT_READY ? it->state[CTL_IS_READY] : it->replicated;
		total = it->selected;
	}
	ctl_progress_bar(done, total, BAR_WIDTH, bar);
	snprintf(line, sizeof(line), "%s %s %s", p->ref, bar, desc);
	size_t cols = term_columns();
	if (strlen(line) >= cols)
		line[cols - 1] = '\0';
	printf("\r\033[K%s", line);
	fflush(stdout);
	p->drawn = 1;
}

static void end_line(struct progress *p)
{
	if (p->drawn) {
		fputc('\n', stdout);
		fflush(stdout);
		p->drawn = 0;
	}
}

static int wait_run(struct ctl_opts *o, int argc, char **argv)
{
	const struct ctl_command *cmd = &ctl_wait_command;
	const char *selector = NULL, *forv = NULL, *timeout = NULL;
	if (ctl_take_flag(&argc, argv, "--selector", "-l", &selector) < 0 ||
	    ctl_take_flag(&argc, argv, "--for", NULL, &forv) < 0 ||
	    ctl_take_flag(&argc, argv, "--timeout", NULL, &timeout) < 0)
		return ctl_usage_error(cmd, "a flag is missing its value");
	int rc = ctl_opts_parse(o, argc, argv, 1, CTL_FLAG_NODE, cmd);
	if (rc != 0)
		return rc;
	if (o->help) {
		fputs(cmd->usage, stdout);
		return CTL_EXIT_OK;
	}
	if (o->nargs != 1)
		return ctl_usage_error(cmd, "wait takes one KIND/NAME");
	const char *kind, *name;
	char err[256];
	if (ctl_intent_ref_parse(o->args[0], &kind, &name, err, sizeof(err)) != 0)
		return ctl_usage_error(cmd, "%s", err);
	enum ctl_wait_for w = CTL_WAIT_REPLICATED;
	if (forv != NULL && strcmp(forv, "ready") == 0)
		w = CTL_WAIT_READY;
	else if (forv != NULL && strcmp(forv, "replicated") != 0)
		return ctl_usage_error(cmd, "--for %s: expected replicated or ready", forv);
	long long limit = DEFAULT_TIMEOUT_MS;
	if (timeout != NULL && ctl_duration_parse(timeout, &limit) != 0)
		return ctl_usage_error(cmd,
		                       "--timeout %s: expected a duration like 30s, 2m, 1m30s or "
		                       "500ms (at most 24h)",
		                       timeout);

	char ref[300];
	snprintf(ref, sizeof(ref), "%s/%s", kind, name);
	struct progress p = {.tty = isatty(STDOUT_FILENO) == 1, .ref = ref};
	const long long deadline = now_ms() + limit;
	int polls = 0;
	for (;;) {
		long long left = deadline - now_ms();
		/* A request never outlives the wait, but gets a second at least. */
		o->timeout_ms = left < 1000                     ? 1000
		                : left > CTL_DEFAULT_TIMEOUT_MS ? CTL_DEFAULT_TIMEOUT_MS
		                                                : left;
		json_t *body;
		struct ctl_http_resp raw;
		rc = ctl_fleet_get(o, "/v1/fleet", selector, NULL, &body, &raw);
		polls++;
		long long pause = POLL_MS;
		if (rc == CTL_EXIT_USAGE || (rc != CTL_EXIT_OK && polls == 1)) {
			end_line(&p);
			return rc; /* a bad selector, or a node that cannot be asked at all */
		}
		if (rc == CTL_EXIT_OK) {
			struct ctl_fleet f;
			if (ctl_fleet_parse(body, &f, err, sizeof(err)) != 0) {
				end_line(&p);
				ctl_fleet_free(&f);
				ctl_http_resp_free(&raw);
				json_decref(body);
				return ctl_fail("node %s: %s", o->node, err);
			}
			const struct ctl_fleet_intent *it = ctl_fleet_find(&f, kind, name);
			enum ctl_wait_verdict v = ctl_wait_judge(it, w);
			show(&p, it, w);
			if (v != CTL_WAIT_MORE) {
				long long failed = it->state[CTL_IS_FAILED],
				          selected = it->selected;
				ctl_fleet_free(&f);
				ctl_http_resp_free(&raw);
				json_decref(body);
				end_line(&p);
				if (v == CTL_WAIT_DONE)
					return CTL_EXIT_OK;
				return ctl_fail("%s failed on %lld of %lld selected site%s", ref,
				                failed, selected, selected == 1 ? "" : "s");
			}
			ctl_fleet_free(&f);
			ctl_http_resp_free(&raw);
			json_decref(body);
		} else {
			pause = RETRY_MS; /* ctl_api said why; the node may be restarting */
			/* That line ended the progress line; draw the next one afresh. */
			p.drawn = 0;
			p.last[0] = '\0';
		}
		left = deadline - now_ms();
		if (left <= 0) {
			end_line(&p);
			char secs[32];
			if (limit % 1000 == 0)
				snprintf(secs, sizeof(secs), "%llds", limit / 1000);
			else
				snprintf(secs, sizeof(secs), "%lldms", limit);
			return ctl_fail("timed out after %s waiting for %s to be %s on node %s: %s",
			                secs, ref, w == CTL_WAIT_READY ? "ready" : "replicated",
			                o->node, p.last[0] ? p.last : "no answer from the node");
		}
		sleep_ms(pause < left ? pause : left);
	}
}
