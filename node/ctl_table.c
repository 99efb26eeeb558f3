/*
 * ctl_table.c - padded columns for shoalctl.
 *
 * Widths count characters, not bytes: UTF-8 continuation bytes are skipped
 * so a label value like "zürich" does not push its column out of line. Wide
 * (East Asian) characters are not measured; that is rare in site names and
 * the output stays correct, just less aligned.
 */
#include "ctl_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shoal/error.h"

#define COLUMN_GAP 3

void ctl_sanitize(const char *in, char *out, size_t cap)
{
	size_t n = 0;
	if (cap == 0)
		return;
	for (; in != NULL && *in != '\0' && n + 1 < cap; in++) {
		unsigned char c = (unsigned char)*in;
		out[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	/* Never end in the middle of a UTF-8 sequence after truncating. */
	if (in != NULL && *in != '\0') {
		while (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0x80)
			n--;
		if (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0xC0)
			n--;
	}
	out[n] = '\0';
}

static size_t text_width(const char *s)
{
	size_t w = 0;
	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

/* A sanitised heap copy of `in` ("-" for NULL or empty). */
static char *cell_copy(const char *in)
{
	if (in == NULL || in[0] == '\0')
		in = "-";
	size_t len = strlen(in) + 1;
	char *c = malloc(len);
	if (c != NULL)
		ctl_sanitize(in, c, len);
	return c;
}

int ctl_table_create(struct ctl_table *t, size_t ncols, const char *const *headers)
{
	memset(t, 0, sizeof(*t));
	if (ncols == 0 || ncols > CTL_TABLE_COLS_MAX)
		return -EINVAL;
	t->ncols = ncols;
	for (size_t i = 0; i < ncols; i++) {
		t->header[i] = cell_copy(headers[i]);
		if (t->header[i] == NULL) {
			ctl_table_destroy(t);
			return -ENOMEM;
		}
		t->width[i] = text_width(t->header[i]);
	}
	return 0;
}

int ctl_table_add_row(struct ctl_table *t, const char *const *cells)
{
	if (t->nrows >= CTL_TABLE_ROWS_MAX)
		return SHOAL_E_TOO_BIG;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		if (cap > CTL_TABLE_ROWS_MAX)
			cap = CTL_TABLE_ROWS_MAX;
		char **nc = realloc(t->cells, cap * t->ncols * sizeof(*nc));
		if (nc == NULL)
			return -ENOMEM;
		t->cells = nc;
		t->cap = cap;
	}
	char **row = t->cells + t->nrows * t->ncols;
	for (size_t i = 0; i < t->ncols; i++) {
		row[i] = cell_copy(cells[i]);
		if (row[i] == NULL) {
			while (i-- > 0)
				free(row[i]);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < t->ncols; i++) {
		size_t w = text_width(row[i]);
		if (w > t->width[i])
			t->width[i] = w;
	}
	t->nrows++;
	return 0;
}

/* qsort has no context argument in C11; rows are sorted as an index array
 * of (key, row) pairs instead of through a global. */
struct sort_item {
	const char *key; /* the cell sorted on */
	size_t row;      /* its row */
};

static int cmp_item(const void *a, const void *b)
{
	const struct sort_item *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c != 0)
		return c;
	return x->row < y->row ? -1 : (x->row > y->row);
}

void ctl_table_sort(struct ctl_table *t, size_t col)
{
	if (col >= t->ncols || t->nrows < 2)
		return;
	struct sort_item *items = malloc(t->nrows * sizeof(*items));
	char **sorted = malloc(t->nrows * t->ncols * sizeof(*sorted));
	if (items == NULL || sorted == NULL) {
		free(items); /* unsorted output is still correct output */
		free(sorted);
		return;
	}
	for (size_t r = 0; r < t->nrows; r++) {
		items[r].key = t->cells[r * t->ncols + col];
		items[r].row = r;
	}
	qsort(items, t->nrows, sizeof(*items), cmp_item);
	for (size_t r = 0; r < t->nrows; r++)
		memcpy(sorted + r * t->ncols, t->cells + items[r].row * t->ncols,
		       t->ncols * sizeof(*sorted));
	memcpy(t->cells, sorted, t->nrows * t->ncols * sizeof(*sorted));
	free(sorted);
	free(items);
}

static void print_row(const struct ctl_table *t, char *const *row, FILE *out)
{
	for (size_t i = 0; i < t->ncols; i++) {
		fputs(row[i], out);
		if (i + 1 == t->ncols)
			break;
		size_t pad = t->width[i] - text_width(row[i]) + COLUMN_GAP;
		while (pad-- > 0)
			fputc(' ', out);
	}
	fputc('\n', out);
}

void ctl_table_print(const struct ctl_table *t, FILE *out)
{
	print_row(t, t->header, out);
	for (size_t r = 0; r < t->nrows; r++)
		print_row(t, t->cells + r * t->ncols, out);
}

void ctl_table_destroy(struct ctl_table *t)
{
	for (size_t i = 0; i < CTL_TABLE_COLS_MAX; i++)
		free(t->header[i]);
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}
