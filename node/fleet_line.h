/*
 * fleet_line.h - the line GET /v1/fleet/sites gives a site, written as
 * JSON text (json_text.h) and cut to the fields a caller asked for.
 *
 * A line lists its fields in one fixed order (docs/api.md); `fields=`
 * picks some of them (name always: pages are cut by it), so a caller
 * that draws a map need not take every site's annotations, pods and links.
 */
#ifndef SHOAL_NODE_FLEET_LINE_H
#define SHOAL_NODE_FLEET_LINE_H

#include <stddef.h>
#include <stdint.h>

#include "shoal/mp.h"

#include "fleet.h"

/* Every field, bit i = the i-th field of a line. */
#define FLEET_LINE_ALL ((1u << 18) - 1)

/* "name,view,lat" as a field mask (name added). 0; -EINVAL with the
 * unknown or empty field named in err. */
int fleet_line_fields_parse(const char *text, uint32_t *mask, char *err, size_t errcap);

/* Append the site's line, its fields in `mask`. */
void fleet_line_write(struct shoal_buf *b, const struct fleet_site *s, uint32_t mask);

#endif
