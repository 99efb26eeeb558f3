/*
 * ctl_intent.h - what shoalctl's intent commands share: key files, the
 * intent YAML file, and signing and submitting an envelope.
 *
 * Key files (written by `shoalctl keygen`):
 *   NAME.key  base64 of the 32-byte Ed25519 seed, mode 0600
 *   NAME.pub  base64 of the 32-byte public key (the --trust file's format)
 *
 * Ownership: a loaded document owns its buffers until
 * ctl_intent_doc_destroy. Secret keys live in caller arrays and are wiped
 * by the caller with sodium_memzero.
 */
#ifndef SHOAL_NODE_CTL_INTENT_H
#define SHOAL_NODE_CTL_INTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "shoal/intent.h"
#include "shoal/mp.h"

#include "ctl.h"

/* Write BASE.key (0600, refusing to overwrite) and BASE.pub. */
int ctl_key_generate(const char *base, char *err, size_t errcap);
/* Read a .key file: the keypair. */
int ctl_key_load_secret(const char *path, uint8_t pk[32], uint8_t sk[64], char *err, size_t errcap);
/* A public key given as a file holding one, or as the key text itself. */
int ctl_key_load_public(const char *path_or_text, uint8_t pk[32], char *err, size_t errcap);

/* An intent YAML file, turned into the pieces of a draft. */
struct ctl_intent_doc {
	enum intent_kind kind;
	char name[INTENT_NAME_MAX + 1];
	enum intent_target_type target_type;
	char target[INTENT_TARGET_MAX + 1];
	struct shoal_buf spec;     /* msgpack of spec minus target and strategy */
	struct shoal_buf strategy; /* msgpack of spec.strategy, or an empty map */
};

/* Read `path` ("-" for stdin): apiVersion shoal.io/v1, kind, metadata.name,
 * spec. Returns 0 or -1 with one line in err. */
int ctl_intent_doc_load(struct ctl_intent_doc *d, const char *path, char *err, size_t errcap);
/* The signing key at key_path and the intent file at doc_path, as sign and
 * apply both need them. On failure nothing is left to free (sk wiped). */
int ctl_intent_load_signed(struct ctl_intent_doc *d, const char *doc_path, const char *key_path,
                           uint8_t pk[32], uint8_t sk[64], char *err, size_t errcap);
void ctl_intent_doc_destroy(struct ctl_intent_doc *d);
/* A draft pointing into the document (valid while it lives). */
struct intent_draft ctl_intent_doc_draft(const struct ctl_intent_doc *d);

/* Sign a draft: the JSON envelope {"body","sig"}, or NULL. */
json_t *ctl_intent_envelope(const struct intent_draft *d, const uint8_t sk[64]);

/* Ask the node for a fresh HLC and the version currently held for
 * (kind, name) (0 if none), sign `d` with them and POST it. Prints the
 * node's answer (table: one line; json: verbatim). Returns a CTL_EXIT_*. */
int ctl_intent_submit(const struct ctl_opts *o, struct intent_draft *d, const uint8_t sk[64]);

#endif
