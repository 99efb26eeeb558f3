/*
 * log.c - one JSON object per line, flushed at once.
 *
 * Lines are built with jansson (which keeps insertion order, so ts_us, node,
 * event and level always lead) and written with a single fwrite followed by
 * fflush: a reader tailing stdout never sees half a line, and nothing is left
 * in stdio's buffer when the process is killed.
 */
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void node_log_create(struct node_log *lg, FILE *out, const char *node, enum node_log_level level)
{
	memset(lg, 0, sizeof(*lg));
	lg->out = out;
	lg->level = level;
	if (node != NULL)
		snprintf(lg->node, sizeof(lg->node), "%s", node);
}

int node_log_level_parse(const char *text, enum node_log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(text, level_names[i]) == 0) {
			*out = (enum node_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *node_log_level_name(enum node_log_level level)
{
	if ((unsigned)level < sizeof(level_names) / sizeof(level_names[0]))
		return level_names[level];
	return "info";
}

void node_log_event(struct node_log *lg, enum node_log_level level, const char *event,
                    json_t *fields)
{
	if (level < lg->level || lg->out == NULL) {
		json_decref(fields);
		return;
	}
	json_t *line = json_object();
	if (line == NULL) {
		json_decref(fields);
		return;
	}
	json_object_set_new(line, "ts_us", json_integer((json_int_t)node_clock_wall_us()));
	json_object_set_new(line, "node", json_string(lg->node));
	json_object_set_new(line, "event", json_string(event));
	json_object_set_new(line, "level", json_string(node_log_level_name(level)));
	if (json_is_object(fields))
		json_object_update(line, fields);
	json_decref(fields);

	char *text = json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(line);
	if (text == NULL)
		return;
	size_t n = strlen(text);
	text[n] = '\n'; /* overwrite the NUL: one write for the whole line */
	fwrite(text, 1, n + 1, lg->out);
	fflush(lg->out);
	free(text);
}

void node_log_msg(struct node_log *lg, enum node_log_level level, const char *event,
                  const char *msg)
{
	node_log_event(lg, level, event, json_pack("{s:s}", "msg", msg != NULL ? msg : ""));
}
