/*
 * error.h - one table of error codes for all of Shoal.
 *
 * Every function that can fail returns int: 0 on success, a negative code on
 * failure. System errors are negative errno values (-ENOMEM, -EINVAL, ...);
 * Shoal's own failures sit in their own band below SHOAL_E_BASE so the two
 * never collide (the libuv/LMDB convention). shoal_strerror() names both.
 *
 * Thread-safety: everything here is pure and safe from any thread.
 */
#ifndef SHOAL_ERROR_H
#define SHOAL_ERROR_H

#define SHOAL_E_BASE (-30000)

enum shoal_error {
	SHOAL_E_TRUNCATED = SHOAL_E_BASE - 1,   /* input ended before a value it declared */
	SHOAL_E_TYPE = SHOAL_E_BASE - 2,        /* a value of the wrong msgpack type */
	SHOAL_E_RANGE = SHOAL_E_BASE - 3,       /* a value outside its allowed range */
	SHOAL_E_VERSION = SHOAL_E_BASE - 4,     /* unknown wire or format version */
	SHOAL_E_AUTH = SHOAL_E_BASE - 5,        /* decryption failed under every installed key */
	SHOAL_E_SIGNATURE = SHOAL_E_BASE - 6,   /* Ed25519 signature does not verify */
	SHOAL_E_TOO_BIG = SHOAL_E_BASE - 7,     /* a buffer or message would exceed its cap */
	SHOAL_E_NOT_FOUND = SHOAL_E_BASE - 8,   /* no such member, key or item */
	SHOAL_E_EXISTS = SHOAL_E_BASE - 9,      /* already present */
	SHOAL_E_NAME_TAKEN = SHOAL_E_BASE - 10, /* a site name already bound to another key */
	SHOAL_E_STALE = SHOAL_E_BASE - 11,      /* older than what is held; ignored */
	SHOAL_E_MALFORMED = SHOAL_E_BASE - 12,  /* structurally invalid input */
	SHOAL_E_LAST_KEY = SHOAL_E_BASE - 13,   /* refusing to remove the primary / last key */
	SHOAL_E_CONFIG = SHOAL_E_BASE - 14,     /* invalid configuration */
	SHOAL_E_STATE = SHOAL_E_BASE - 15,      /* operation not valid in the current state */
	SHOAL_E_STORE = SHOAL_E_BASE - 16,      /* LMDB failure */
	SHOAL_E_FORBIDDEN = SHOAL_E_BASE - 17,  /* signer not trusted for this */
	SHOAL_E_CONFLICT = SHOAL_E_BASE - 18,   /* replaces an older version than held */
	SHOAL_E_MIN = SHOAL_E_BASE - 19,
};

/* A static, human-readable message for any code returned by Shoal, including
 * negative errno values. Never NULL; the string lives forever. */
const char *shoal_strerror(int code);

/* A short stable identifier ("truncated", "auth", "ENOMEM") for logs/JSON. */
const char *shoal_errname(int code);

#endif
