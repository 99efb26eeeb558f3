/*
 * intent.h - the signed intent envelope: what an operator declares, as
 * every node receives it.
 *
 * Binary envelope (what gossip carries and LMDB stores), msgpack:
 *
 *   +-------------+----------------------+-----------------------+
 *   | fixarray(2) | bin: body (<= ~1 MiB) | bin: signature (64 B) |
 *   +-------------+----------------------+-----------------------+
 *
 * JSON form at the API: {"body": base64(body), "sig": base64(signature)}.
 *
 * The body is a msgpack map with string keys, signed exactly as sent
 * (Ed25519 over the body bytes; there is no canonical form to get wrong):
 *
 *   "v"        uint   format, 1
 *   "kind"     str    App | EgressPolicy | Upgrade | VirtualSite |
 *                     KeyGrant | KeyRevoke | AlertRule
 *   "name"     str    1..253 of [a-z0-9.-], starting and ending alphanumeric
 *   "op"       str    "put" | "delete" (a signed tombstone)
 *   "target"   map    {"virtual_site": str} | {"selector": str}, or nil
 *   "spec"     bin    the kind's spec, msgpack (INTENT_SPEC_TYPE)
 *   "spec_type" str   INTENT_SPEC_TYPE
 *   "strategy" bin    rollout strategy, msgpack (used by rollouts later)
 *   "hlc"      uint   the version: shoal_hlc (48-bit ms, 16-bit counter)
 *   "replaces" uint   the version this one replaces, 0 for none
 *   "force"    bool   replace even if a newer version is held (optional)
 *   "signer"   bin    32-byte Ed25519 public key
 *
 * id = SHA-256(body). Every key is required except "force"; unknown keys and
 * repeated keys are malformed. A delete carries an empty spec and may carry
 * a nil target. docs/intents.md is the contract for all of this.
 *
 * Decoding goes through the bounded reader (mp.h): nothing here allocates
 * from a declared length, and every view points into the caller's bytes.
 *
 * Thread-safety: pure functions; no shared state.
 */
#ifndef SHOAL_INTENT_H
#define SHOAL_INTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shoal/env.h"
#include "shoal/mp.h"

/* ---- fleet constants: every node must agree on these ---------------------
 * They decide what replicates, so they are constants of the format, not
 * node configuration (docs/intents.md). */
#define INTENT_FORMAT       1
#define INTENT_NAME_MAX     253
#define INTENT_TARGET_MAX   1024                 /* selector or virtual site */
#define INTENT_SPEC_MAX     ((uint32_t)1 << 20)  /* 1 MiB of spec */
#define INTENT_STRATEGY_MAX ((uint32_t)64 << 10) /* 64 KiB of strategy */
#define INTENT_BODY_MAX     (INTENT_SPEC_MAX + INTENT_STRATEGY_MAX + 4096)
#define INTENT_ENVELOPE_MAX (INTENT_BODY_MAX + 128)
#define INTENT_HORIZON_MS   (UINT64_C(7) * 24 * 3600 * 1000) /* tombstone GC, replay bound */
#define INTENT_SKEW_MS      (UINT64_C(5) * 60 * 1000)        /* API clock bound */
#define INTENT_SPEC_TYPE    "application/vnd.shoal.spec+msgpack"

enum intent_kind {
	INTENT_KIND_NONE = 0,
	INTENT_APP,
	INTENT_EGRESS_POLICY,
	INTENT_UPGRADE,
	INTENT_VIRTUAL_SITE,
	INTENT_KEY_GRANT,
	INTENT_KEY_REVOKE,
	INTENT_ALERT_RULE,
	INTENT_KIND_COUNT,
};

enum intent_op {
	INTENT_PUT = 0,
	INTENT_DELETE = 1,
};

enum intent_target_type {
	INTENT_TARGET_NONE = 0,     /* fleet-wide kinds (VirtualSite, keys); deletes */
	INTENT_TARGET_VIRTUAL_SITE, /* the name of a VirtualSite intent */
	INTENT_TARGET_SELECTOR,     /* a label selector, kept as text */
};

/* Why an envelope was refused. Stable names (intent_reason_name) go into
 * logs, metrics labels and the API's "error" field. */
enum intent_reason {
	INTENT_OK = 0,
	INTENT_R_MALFORMED,      /* not an envelope: bad msgpack, missing or odd fields */
	INTENT_R_VERSION,        /* unknown body format */
	INTENT_R_UNKNOWN_KIND,   /* kind is not one of the seven */
	INTENT_R_SCHEMA,         /* the spec fails its kind's schema */
	INTENT_R_TOO_BIG,        /* spec, strategy or body over its fleet limit */
	INTENT_R_SIGNATURE,      /* Ed25519 signature does not verify */
	INTENT_R_UNKNOWN_SIGNER, /* neither a root nor granted */
	INTENT_R_EXPIRED,        /* the signer's grants do not cover the intent's HLC */
	INTENT_R_REVOKED,        /* the signer's key was revoked */
	INTENT_R_NOT_ROOT,       /* KeyGrant/KeyRevoke signed by a non-root key */
	INTENT_R_OUT_OF_SCOPE,   /* no site both targeted and in the key's scope (API only) */
	INTENT_R_SKEW,           /* HLC too far from this node's clock (API only) */
	INTENT_R_HORIZON,        /* HLC older than now - horizon: a replay */
	INTENT_R_STALE,          /* loses to the version held for (kind, name) */
	INTENT_R_CONFLICT,       /* replaces an older version than held (API only) */
	INTENT_R_HASH_MISMATCH,  /* body hash differs from the announced id */
	INTENT_R_STORE,          /* persisting failed */
	INTENT_R_COUNT,
};

/* A refusal: the reason and one line for a human. */
struct intent_error {
	enum intent_reason reason;
	char text[200];
};

/* The decoded body: a view into the body bytes, except `name` (copied, so
 * it is a C string). Strings in the view are not NUL-terminated. */
struct intent_body {
	enum intent_kind kind;
	enum intent_op op;
	char name[INTENT_NAME_MAX + 1];
	enum intent_target_type target_type;
	const uint8_t *target; /* virtual site name or selector text */
	uint32_t target_len;
	const uint8_t *spec; /* msgpack map of the kind's spec (empty for a delete) */
	uint32_t spec_len;
	const uint8_t *strategy; /* msgpack; opaque to the core for now */
	uint32_t strategy_len;
	uint64_t hlc;      /* the version */
	uint64_t replaces; /* the version it replaces; 0 for none */
	bool force;        /* replace even if a newer version is held */
	uint8_t signer[32];
};

/* A decoded envelope: views into the envelope bytes it came from. */
struct intent_envelope {
	const uint8_t *body_bytes; /* exactly as signed */
	uint32_t body_len;
	const uint8_t *sig; /* 64 bytes */
	uint8_t id[32];     /* SHA-256(body) */
	struct intent_body body;
};

/* What a signer fills in to make a body (shoalctl, tests). */
struct intent_draft {
	enum intent_kind kind;
	enum intent_op op;
	const char *name;
	enum intent_target_type target_type;
	const char *target;  /* NUL-terminated; NULL with TARGET_NONE */
	const uint8_t *spec; /* msgpack map; NULL/0 for a delete */
	size_t spec_len;
	const uint8_t *strategy; /* msgpack; NULL/0 packs an empty map */
	size_t strategy_len;
	uint64_t hlc;
	uint64_t replaces;
	bool force;
	uint8_t signer[32];
};

const char *intent_kind_name(enum intent_kind k);
/* INTENT_KIND_NONE if `name` (len bytes) names no kind. */
enum intent_kind intent_kind_parse(const char *name, size_t len);
const char *intent_reason_name(enum intent_reason r);

/* Decode an envelope: the outer array, the body (structure, limits, name,
 * target), then the signature over the exact body bytes through
 * shoal_env_verify, and only then the spec against its kind's schema.
 * Returns 0, or a negative code with err filled in; on error `out` must not
 * be used. `out` points into `bytes`. */
int intent_envelope_open(const struct shoal_env *env, const uint8_t *bytes, size_t len,
                         struct intent_envelope *out, struct intent_error *err);

/* Only the structural part of the above: no signature, no schema. Used by
 * the fuzz target and by code that re-reads bytes it verified before. */
int intent_envelope_decode(const uint8_t *bytes, size_t len, struct intent_envelope *out,
                           struct intent_error *err);

/* Check a decoded body's spec against its kind's schema (docs/intents.md). */
int intent_spec_validate(const struct intent_body *b, struct intent_error *err);

/* The one place target syntax is judged: a virtual site must be a valid
 * intent name, a selector must parse in full Kubernetes label selector
 * syntax (include/shoal/selector.h). Also used for KeyGrant scopes and
 * VirtualSite selectors. */
/* An intent (or virtual site) name: 1-INTENT_NAME_MAX bytes of a-z, 0-9,
 * '-' and '.', starting and ending alphanumeric. */
int intent_name_valid(const uint8_t *s, uint32_t len);

int intent_validate_target(enum intent_target_type type, const uint8_t *text, uint32_t len,
                           struct intent_error *err);

/* Pack a body from a draft into `out` (created by the caller, cap at least
 * INTENT_BODY_MAX). 0, SHOAL_E_TOO_BIG or -EINVAL. */
int intent_body_pack(const struct intent_draft *d, struct shoal_buf *out);

/* Pack the binary envelope [body, sig] into `out`. */
int intent_envelope_pack(const uint8_t *body, size_t body_len, const uint8_t sig[64],
                         struct shoal_buf *out);

/* Pack the draft's body, sign it with `sk` (libsodium layout; the draft's
 * signer must be its public half) and pack the envelope into `out`. */
int intent_sign(const struct intent_draft *d, const uint8_t sk[64], struct shoal_buf *out);

/* ---- specs of the trust kinds, read by the trust rules ---- */

struct intent_grant {
	uint8_t pub[32];      /* the operator key granted */
	const uint8_t *scope; /* selector text limiting its targets (view) */
	uint32_t scope_len;
	uint64_t expires_ms; /* unix ms; the grant covers HLCs up to here */
};

/* Read a KeyGrant spec (already schema-checked, or not: it is re-checked). */
int intent_grant_read(const uint8_t *spec, uint32_t len, struct intent_grant *out);
/* Read a VirtualSite spec's selector text (a view into spec). */
int intent_virtual_site_read(const uint8_t *spec, uint32_t len, const uint8_t **selector,
                             uint32_t *selector_len);
/* Read a KeyRevoke spec's public key. */
int intent_revoke_read(const uint8_t *spec, uint32_t len, uint8_t pub[32]);

/* An App spec's manifests text and optional namespace (ns NULL when
 * absent), views into the spec (crdt/intent_app_spec.c). What a site hands
 * its apply engine: shoald's reconciler and shoalsim's simulated sites. */
struct intent_app_spec {
	const char *manifests;
	size_t manifests_len;
	const char *ns;
	size_t ns_len;
};
/* 0, or -1 when the map does not read or holds no manifests string. */
int intent_app_spec_read(const uint8_t *spec, size_t len, struct intent_app_spec *out);

/* A 32-byte public key written as base64 (standard or URL-safe, padded or
 * not) or hex: 0 or -EINVAL. */
int intent_parse_pubkey(const char *text, size_t len, uint8_t pub[32]);

/* RFC 3339 ("2025-01-02T03:04:05Z", fraction and offset allowed) to unix
 * ms: 0 or -EINVAL. */
int intent_parse_rfc3339(const char *text, size_t len, uint64_t *ms);

#endif
