/*
 * log.h - shoald's structured log: one JSON object per line on stdout.
 *
 * Every line is a complete JSON object written and flushed at once, so a
 * supervisor, a test harness or `jq` can follow the log without buffering
 * surprises:
 *
 *   {"ts_us":1732640000123456,"node":"n1","event":"member_alive","level":"info",...}
 *
 * ts_us is wall-clock microseconds since the Unix epoch. The event names and
 * their fields are a contract documented in docs/operations.md.
 *
 * Thread-safety: a logger belongs to its node's loop thread.
 */
#ifndef SHOAL_NODE_LOG_H
#define SHOAL_NODE_LOG_H

#include <stdio.h>

#include <jansson.h>

enum node_log_level {
	NODE_LOG_DEBUG = 0,
	NODE_LOG_INFO = 1,
	NODE_LOG_WARN = 2,
	NODE_LOG_ERROR = 3,
};

struct node_log {
	FILE *out;                 /* where lines go (stdout in shoald); borrowed */
	char node[65];             /* this node's name, repeated on every line */
	enum node_log_level level; /* lines below this level are dropped */
};

/* Start a logger writing to `out` (borrowed, must outlive the logger). */
void node_log_create(struct node_log *lg, FILE *out, const char *node, enum node_log_level level);

/* "debug", "info", "warn", "error" -> level; -EINVAL for anything else. */
int node_log_level_parse(const char *text, enum node_log_level *out);
const char *node_log_level_name(enum node_log_level level);

/* Write one line. `fields` (may be NULL) is a JSON object whose members are
 * appended after ts_us/node/event/level; its reference is stolen in every
 * case, so callers can build it inline with json_pack. */
void node_log_event(struct node_log *lg, enum node_log_level level, const char *event,
                    json_t *fields);

/* Shorthand for a line carrying only a human-readable "msg". */
void node_log_msg(struct node_log *lg, enum node_log_level level, const char *event,
                  const char *msg);

#endif
