/*
 * ctl_table.h - aligned text tables for shoalctl's human output.
 *
 * kubectl-style: a header row in capitals, columns padded to the widest
 * cell, three spaces between columns, no borders (easy to read, easy to
 * grep/awk). Cells are copied and sanitised when added: names and labels
 * come from the network, and a control character or escape sequence in a
 * label must not reach the operator's terminal.
 *
 * Ownership: the table owns copies of its cells; ctl_table_destroy frees
 * them. Growth is capped (CTL_TABLE_ROWS_MAX rows).
 */
#ifndef SHOAL_NODE_CTL_TABLE_H
#define SHOAL_NODE_CTL_TABLE_H

#include <stddef.h>
#include <stdio.h>

#define CTL_TABLE_COLS_MAX 12
#define CTL_TABLE_ROWS_MAX 1000000u

struct ctl_table {
	size_t ncols;                     /* columns, fixed at create */
	size_t nrows;                     /* data rows added (header excluded) */
	size_t cap;                       /* rows allocated in cells */
	char *header[CTL_TABLE_COLS_MAX]; /* column titles (copies) */
	char **cells;                     /* nrows*ncols cell copies, row-major */
	size_t width[CTL_TABLE_COLS_MAX]; /* widest cell per column, in characters */
};

/* Returns 0, -EINVAL (no columns or too many), -ENOMEM. */
int ctl_table_create(struct ctl_table *t, size_t ncols, const char *const *headers);
/* Add one row of ncols cells (NULL cells print as "-"). Returns 0, -ENOMEM,
 * SHOAL_E_TOO_BIG past CTL_TABLE_ROWS_MAX. */
int ctl_table_add_row(struct ctl_table *t, const char *const *cells);
/* Sort data rows by the text of column `col`, ascending (byte order). */
void ctl_table_sort(struct ctl_table *t, size_t col);
void ctl_table_print(const struct ctl_table *t, FILE *out);
void ctl_table_destroy(struct ctl_table *t);

/* Copy `in` to `out` (cap > 0), replacing control characters (C0, DEL) by
 * '?' so network-supplied text is safe on a terminal. Truncates to fit. */
void ctl_sanitize(const char *in, char *out, size_t cap);

#endif
