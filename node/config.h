/*
 * config.h - shoald's settings from flags and an optional YAML file.
 *
 * Every setting has one name used both as a flag (--data-dir DIR or
 * --data-dir=DIR) and as a key of the YAML file given with --config. A flag
 * wins over the file; a repeatable flag (--join, --label, --annotation) given at least
 * once replaces the file's whole list. Everything is validated here, so a
 * node that starts has a config it can run with, and a bad one is refused
 * with one message naming the flag or the file line (shoald exits 2).
 *
 * Ownership: a parsed config owns its strings; node_config_destroy frees
 * them. Thread-safety: none needed (parsed once at startup).
 */
#ifndef SHOAL_NODE_CONFIG_H
#define SHOAL_NODE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "shoal/env.h"
#include "shoal/swim.h"

#include "log.h"

/* Seeds accepted on the command line and in the file. */
#define NODE_JOIN_MAX 64
/* More labels than this cannot fit SWIM_LABELS_MAX encoded bytes anyway
 * (each entry takes at least three bytes). */
#define NODE_LABELS_MAX 192
/* Annotations one site may carry, and the longest annotation value. */
#define NODE_ANNOTATIONS_MAX      64
#define NODE_ANNOTATION_VALUE_MAX 256
/* Largest config file read. */
#define NODE_CONFIG_FILE_MAX (1024 * 1024)

#define NODE_DEFAULT_BIND "0.0.0.0:7600"
#define NODE_DEFAULT_API  "127.0.0.1:7680"

enum node_profile {
	NODE_PROFILE_LAN = 0,  /* memberlist's LAN timers */
	NODE_PROFILE_FAST = 1, /* every timer divided by 10, for tests */
};

struct node_label {
	char *key;   /* owned; Kubernetes label key syntax */
	char *value; /* owned; may be empty */
};

struct node_config {
	char *config_path;                         /* owned; --config FILE or NULL */
	char name[SWIM_NAME_MAX + 1];              /* --name, default the hostname */
	struct shoal_addr bind;                    /* --bind: UDP and TCP gossip address */
	struct shoal_addr advertise;               /* --advertise, or derived from bind */
	bool advertise_set;                        /* advertise came from a flag or the file */
	struct shoal_addr join[NODE_JOIN_MAX];     /* --join seeds */
	size_t njoin;                              /* entries used in join */
	struct node_label labels[NODE_LABELS_MAX]; /* --label KEY=VALUE, keys unique */
	size_t nlabels;                            /* entries used in labels */
	struct node_label annotations[NODE_ANNOTATIONS_MAX]; /* --annotation KEY=VALUE */
	size_t nannotations;                                 /* entries used in annotations */
	char *sysroot;                                       /* owned; --sysroot DIR, NULL = "/" */
	char *data_dir;                                      /* owned; --data-dir, required */
	struct shoal_addr api;                               /* --api: HTTP listen address */
	char *keyring_path;                                  /* owned; --keyring FILE or NULL */
	char *trust_path;                                    /* owned; --trust FILE or NULL */
	char *kubeconfig;                                    /* owned; --kubeconfig FILE or NULL */
	char *kube_context;                                  /* owned; --kube-context or NULL */
	enum node_profile profile;                           /* --profile lan|fast */
	enum node_log_level log_level;                       /* --log-level debug|info|warn|error */
	bool leaf;    /* --leaf: keep only this site's health; ask a full node for the fleet's */
	bool help;    /* --help was given: print usage, exit 0 */
	bool version; /* --version was given */
};

/* Parse argv (argv[0] is the program name) and the file named by --config.
 * On error returns SHOAL_E_CONFIG (or -ENOMEM) and writes one line without a
 * trailing newline into err; the config is left destroyed. On success the
 * caller owns cfg and must node_config_destroy it. When --help or --version
 * is present parsing stops there and returns 0 with the flag set. */
int node_config_parse(struct node_config *cfg, int argc, char *const argv[], char *err,
                      size_t errcap);
void node_config_destroy(struct node_config *cfg);

/* The --help text. */
const char *node_config_usage(void);

/* Validation helpers, exported for the HTTP API and tests. */
bool node_config_name_valid(const char *name);
/* Kubernetes label syntax (labels.h) and no key under sys.shoal.io/
 * (system labels are discovered, not set): 0 or SHOAL_E_CONFIG with the
 * reason in err. */
int node_config_label_valid(const char *key, const char *value, char *err, size_t errcap);
/* An annotation: a label key (not under sys.shoal.io/) and free text of
 * at most NODE_ANNOTATION_VALUE_MAX bytes of valid UTF-8. */
int node_config_annotation_valid(const char *key, const char *value, char *err, size_t errcap);

/* The advertise address used when none is configured: the bind address,
 * except that an unspecified bind IP (0.0.0.0 or ::) is replaced by the
 * first private (RFC 1918 / RFC 6598) IPv4 address of an interface that is
 * up and not loopback, else any such IPv4 address, else 127.0.0.1. */
void node_config_default_advertise(const struct shoal_addr *bind, struct shoal_addr *out);

#endif
