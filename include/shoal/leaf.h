/*
 * leaf.h - leaf sites (docs/health.md, "Leaf mode"): how a member record
 * says its site is a leaf, and the test every node's SWIM applies to it.
 *
 * A leaf carries the system label sys.shoal.io/role=leaf; every node gives
 * shoal_labels_say_leaf to SWIM as swim_config.is_quiet, so the member is
 * quiet: no bulk user message (a health announcement) is sent to it. shoald
 * and the simulator share this test, so both treat a leaf the same way.
 *
 * Thread-safety: pure.
 */
#ifndef SHOAL_LEAF_H
#define SHOAL_LEAF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHOAL_ROLE_LABEL "sys.shoal.io/role"
#define SHOAL_ROLE_LEAF  "leaf"

/* Does a member's labels map (msgpack, as its record carries it) say the
 * site is a leaf? The swim_config.is_quiet hook; ctx unused. A map that
 * does not decode says no. */
bool shoal_labels_say_leaf(void *ctx, const uint8_t *labels, size_t len);

#endif
