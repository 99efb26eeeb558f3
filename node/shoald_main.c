/*
 * shoald_main.c - the shoald program: argv, signals, the loop, exit codes.
 *
 * Exit codes: 0 after a clean stop (SIGTERM/SIGINT: leave, linger, stop),
 * 2 for a configuration the node refuses (bad flags or file, a data dir of
 * another site, a bad keyring), 1 when the world fails it (address in use,
 * storage errors).
 *
 * Everything is closed and freed before exit (uv_walk closes any handle
 * left, uv_loop_close must then succeed) so LeakSanitizer stays quiet.
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <uv.h>

#include "shoal/error.h"

#include "config.h"
#include "node.h"

/* Signal handles live beside the node; stopping the node closes them so
 * the loop runs out of work. */
struct shoald {
	struct node node;    /* the running node */
	uv_signal_t sigterm; /* SIGTERM: leave gracefully */
	uv_signal_t sigint;  /* SIGINT: same; a second one stops at once */
};

static void on_signal(uv_signal_t *h, int signum)
{
	struct shoald *d = h->data;
	(void)signum;
	node_leave(&d->node);
}

static void on_stopped(struct node *n)
{
	struct shoald *d = (struct shoald *)((char *)n - offsetof(struct shoald, node));
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
}

static void close_any(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* Close whatever is still open and let the callbacks run. */
static void drain_loop(uv_loop_t *loop)
{
	uv_walk(loop, close_any, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
}

int main(int argc, char **argv)
{
	struct node_config cfg;
	static struct shoald d; /* large (buffers); static keeps it off the stack */
	char err[1024];
	uv_loop_t loop;

	int rc = node_config_parse(&cfg, argc, argv, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "shoald: %s\n", err);
		return 2;
	}
	if (cfg.help || cfg.version) {
		fputs(cfg.help ? node_config_usage() : "shoald " SHOAL_VERSION "\n", stdout);
		node_config_destroy(&cfg);
		return 0;
	}
	/* A peer that resets a stream must not kill the node. */
	signal(SIGPIPE, SIG_IGN);
	/* libcurl's rule: once, before any thread or handle (the k8s engine). */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "shoald: cannot initialise libcurl\n");
		node_config_destroy(&cfg);
		return 1;
	}

	if (uv_loop_init(&loop) != 0) {
		fprintf(stderr, "shoald: cannot create the event loop\n");
		node_config_destroy(&cfg);
		curl_global_cleanup();
		return 1;
	}
	rc = node_start(&d.node, &loop, &cfg, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "shoald: %s\n", err);
		drain_loop(&loop);
		uv_loop_close(&loop);
		node_config_destroy(&cfg);
		curl_global_cleanup();
		return (rc == SHOAL_E_CONFIG || rc == SHOAL_E_NAME_TAKEN) ? 2 : 1;
	}
	d.node.on_stopped = on_stopped;
	uv_signal_init(&loop, &d.sigterm);
	uv_signal_init(&loop, &d.sigint);
	d.sigterm.data = d.sigint.data = &d;
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_start(&d.sigint, on_signal, SIGINT);

	uv_run(&loop, UV_RUN_DEFAULT);

	node_stop(&d.node); /* no-op after a leave; covers a loop that ran dry */
	drain_loop(&loop);
	rc = uv_loop_close(&loop);
	node_config_destroy(&cfg);
	curl_global_cleanup();
	if (rc != 0) {
		fprintf(stderr, "shoald: event loop did not close cleanly\n");
		return 1;
	}
	return 0;
}
