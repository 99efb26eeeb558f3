/*
 * ctl_bar.c - bars, histogram rows and figures for the fleet commands.
 *
 * All ASCII, so the plain (non-TTY) output is the same bytes on every
 * terminal and in every test; colour is added around it by the caller.
 * Proportional bars use the largest-remainder method so they always fill
 * their width exactly, and give any non-zero count at least one cell: the
 * point of the bar is to make one red site among thousands visible.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ctl_fleet.h"

void ctl_bar_split(const long long *counts, size_t n, size_t width, size_t *out)
{
	/* Bars have a handful of segments; more than 64 are not drawn. */
	size_t m = n < 64 ? n : 64;
	long double total = 0;
	size_t nonzero = 0;
	for (size_t i = 0; i < n; i++)
		out[i] = 0;
	for (size_t i = 0; i < m; i++) {
		if (counts[i] > 0) {
			total += (long double)counts[i];
			nonzero++;
		}
	}
	if (nonzero == 0 || width == 0)
		return;

	/* Floors first, at least one cell each when there is room for that. */
	size_t used = 0;
	long double frac[64] = {0};
	for (size_t i = 0; i < m; i++) {
		if (counts[i] <= 0)
			continue;
		long double exact = (long double)width * (long double)counts[i] / total;
		size_t cells = (size_t)floorl(exact);
		frac[i] = exact - (long double)cells;
		if (cells == 0 && nonzero <= width) {
			cells = 1;
			frac[i] = 0;
		}
		out[i] = cells;
		used += cells;
	}
	/* Hand out what is left by largest remainder (lowest index on ties). */
	while (used < width) {
		size_t best = m;
		for (size_t i = 0; i < m; i++)
			if (counts[i] > 0 && (best == m || frac[i] > frac[best]))
				best = i;
		out[best]++;
		frac[best] = -1;
		used++;
	}
	/* The minimum cells may overshoot: take back from the widest segment. */
	while (used > width) {
		size_t widest = 0;
		for (size_t i = 1; i < m; i++)
			if (out[i] > out[widest])
				widest = i;
		out[widest]--;
		used--;
	}
}

void ctl_spark(const long long hist[CTL_HIST_BUCKETS], char out[CTL_HIST_BUCKETS + 1])
{
	static const char levels[] = ":-=+*#@";
	const long long nlevels = (long long)sizeof(levels) - 1;
	long long max = 0;
	for (size_t i = 0; i < CTL_HIST_BUCKETS; i++)
		if (hist[i] > max)
			max = hist[i];
	for (size_t i = 0; i < CTL_HIST_BUCKETS; i++) {
		if (hist[i] <= 0) {
			out[i] = '.';
			continue;
		}
		/* ceil(nlevels * c / max), in 1..nlevels, without overflow. */
		long double l =
		        ceill((long double)nlevels * (long double)hist[i] / (long double)max);
		long long li = (long long)l;
		if (li < 1)
			li = 1;
		if (li > nlevels)
			li = nlevels;
		out[i] = levels[li - 1];
	}
	out[CTL_HIST_BUCKETS] = '\0';
}

void ctl_progress_bar(long long done, long long total, size_t width, char *out)
{
	size_t filled = 0;
	if (total > 0 && done > 0) {
		if (done >= total)
			filled = width;
		else
			filled = (size_t)((long double)width * (long double)done /
			                  (long double)total);
		if (filled == width && done < total)
			filled = width - 1; /* full means done */
	}
	out[0] = '[';
	memset(out + 1, '#', filled);
	memset(out + 1 + filled, '.', width - filled);
	out[width + 1] = ']';
	out[width + 2] = '\0';
}

void ctl_fmt_pct(double v, char *out, size_t cap)
{
	if (isnan(v))
		snprintf(out, cap, "-");
	else
		snprintf(out, cap, "%.1f%%", v);
}

void ctl_fmt_us(double us, char *out, size_t cap)
{
	if (isnan(us) || us < 0)
		snprintf(out, cap, "-");
	else if (us < 1000)
		snprintf(out, cap, "%.0fus", us);
	else if (us < 1000000)
		snprintf(out, cap, "%.1fms", us / 1000);
	else
		snprintf(out, cap, "%.2fs", us / 1000000);
}

void ctl_fmt_pm(double pm, char *out, size_t cap)
{
	if (isnan(pm) || pm < 0)
		snprintf(out, cap, "-");
	else
		snprintf(out, cap, "%.1f%%", pm / 10);
}
