/*
 * fleet_page.h - the continue token of GET /v1/fleet/sites?limit=N.
 *
 * Pages are cut from the list in site-name order, and a token says where
 * the previous page ended: the last name it listed. The next page lists
 * the names after that one, whatever changed meanwhile, so a walk sees
 * every site present for the whole walk exactly once (a site that comes
 * or goes during it may be seen or not). A name is the whole state, so any
 * node can continue a walk another began (a leaf passes each page's query
 * to any full node).
 *
 * The token is bound to the query that began the walk (the canonical
 * selector and the band and view filters, hashed): continuing it under
 * another query is refused rather than giving pages of two different
 * lists. It carries a checksum so a damaged or made-up token is told
 * apart from a real one. Opaque to clients: base64url without padding of
 *   version (1) | query hash (8) | last name (1-64) | checksum (4)
 * The token is untrusted input: decoding checks its length before reading
 * each part and the name against the site-name rules.
 */
#ifndef SHOAL_NODE_FLEET_PAGE_H
#define SHOAL_NODE_FLEET_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "shoal/health.h"

#define FLEET_PAGE_HASH_LEN 8
/* Longest token text plus its NUL: base64 of 1 + 8 + 64 + 4 bytes. */
#define FLEET_PAGE_TOKEN_MAX 104

/* The hash that binds a token to its query; NULL strings count as "". */
void fleet_page_query_hash(const char *selector, const char *band, const char *view,
                           uint8_t out[FLEET_PAGE_HASH_LEN]);

/* The token continuing after site `last` (a valid site name). 0, or
 * -EINVAL for a name that is not one. */
int fleet_page_token_encode(const uint8_t hash[FLEET_PAGE_HASH_LEN], const char *last,
                            char out[FLEET_PAGE_TOKEN_MAX]);

/* The last name of `token`, checked against the query's hash. 0; -EINVAL
 * for a token this code did not make (reason in err); -ESTALE for a real
 * token of another query. */
int fleet_page_token_decode(const char *token, const uint8_t hash[FLEET_PAGE_HASH_LEN],
                            char last[HEALTH_SITE_MAX + 1], char *err, size_t errcap);

#endif
