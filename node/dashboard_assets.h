/*
 * dashboard_assets.h - the dashboard's files, compiled into the binary.
 *
 * The sources are real files under node/dashboard/; the Makefile turns each
 * into a byte array in $(O)/gen/dashboard_assets.c (xxd -i), so the page
 * ships inside shoald and a node serves it with no files on disk and no
 * request to anywhere else. The arrays are not NUL-terminated.
 */
#ifndef SHOAL_NODE_DASHBOARD_ASSETS_H
#define SHOAL_NODE_DASHBOARD_ASSETS_H

#include <stddef.h>

extern const unsigned char node_dashboard_index_html[];
extern const size_t node_dashboard_index_html_len;
extern const unsigned char node_dashboard_dashboard_css[];
extern const size_t node_dashboard_dashboard_css_len;
extern const unsigned char node_dashboard_dashboard_js[];
extern const size_t node_dashboard_dashboard_js_len;
extern const unsigned char node_dashboard_favicon_svg[];
extern const size_t node_dashboard_favicon_svg_len;

#endif
