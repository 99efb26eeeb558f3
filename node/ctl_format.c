/*
 * ctl_format.c - times, ages and label lists as table text.
 *
 * RFC 3339 is parsed by hand into a broken-down UTC time and converted with
 * timegm(): the offset is applied afterwards, so the result never depends on
 * the TZ of the machine shoalctl runs on.
 */
#include "ctl_format.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Read exactly `n` digits at *p into *out, advancing *p. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -EINVAL;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int expect(const char **p, char c)
{
	if (**p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

static int days_in_month(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return days[month - 1] + (month == 2 && leap);
}

int ctl_rfc3339_parse(const char *text, int64_t *unix_us)
{
	const char *p = text;
	int y, mo, d, h, mi, s;
	if (text == NULL)
		return -EINVAL;
	if (digits(&p, 4, &y) || expect(&p, '-') || digits(&p, 2, &mo) || expect(&p, '-') ||
	    digits(&p, 2, &d))
		return -EINVAL;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -EINVAL;
	p++;
	if (digits(&p, 2, &h) || expect(&p, ':') || digits(&p, 2, &mi) || expect(&p, ':') ||
	    digits(&p, 2, &s))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60)
		return -EINVAL;

	int64_t frac_us = 0;
	if (*p == '.') {
		p++;
		int n = 0;
		while (*p >= '0' && *p <= '9') {
			if (n < 6)
				frac_us = frac_us * 10 + (*p - '0');
			n++;
			p++;
		}
		if (n == 0)
			return -EINVAL;
		for (; n < 6; n++)
			frac_us *= 10;
	}

	int64_t offset_s = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;
		p++;
		if (digits(&p, 2, &oh) || expect(&p, ':') || digits(&p, 2, &om) || oh > 23 ||
		    om > 59)
			return -EINVAL;
		offset_s = sign * (int64_t)(oh * 3600 + om * 60);
	} else {
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;

	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	time_t t = timegm(&tm);
	if (t == (time_t)-1 && !(y == 1969 && mo == 12 && d == 31))
		return -EINVAL;
	*unix_us = ((int64_t)t - offset_s) * 1000000 + frac_us;
	return 0;
}

void ctl_format_age(int64_t seconds, char out[CTL_AGE_LEN])
{
	if (seconds < 0)
		seconds = 0;
	long long s = (long long)seconds;
	if (s < 60)
		snprintf(out, CTL_AGE_LEN, "%llds", s);
	else if (s < 3600)
		snprintf(out, CTL_AGE_LEN, "%lldm%llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, CTL_AGE_LEN, "%lldh%lldm", s / 3600, (s % 3600) / 60);
	else
		snprintf(out, CTL_AGE_LEN, "%lldd%lldh", s / 86400, (s % 86400) / 3600);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Append `piece` to out[*len..cap); -ENOSPC when it does not fit whole. */
static int append(char *out, size_t cap, size_t *len, const char *piece)
{
	size_t n = strlen(piece);
	if (*len + n + 1 > cap) {
		size_t room = cap - *len - 1;
		memcpy(out + *len, piece, room);
		*len += room;
		out[*len] = '\0';
		return -ENOSPC;
	}
	memcpy(out + *len, piece, n + 1);
	*len += n;
	return 0;
}

/* Labels shoald sets itself (node/sysinfo.h, NODE_SYS_PREFIX). */
#define CTL_SYS_LABEL_PREFIX "sys.shoal.io/"

int ctl_format_labels(const json_t *labels, char *out, size_t cap)
{
	if (cap == 0)
		return -ENOSPC;
	out[0] = '\0';
	if (labels == NULL || json_is_null(labels))
		return 0;
	if (!json_is_object(labels))
		return -EINVAL;
	size_t n = json_object_size(labels);
	if (n == 0)
		return 0;
	const char **keys = malloc(n * sizeof(*keys));
	if (keys == NULL)
		return -ENOMEM;
	size_t i = 0;
	const char *k;
	json_t *v;
	/* json_object_foreach wants a non-const object; iteration does not modify it. */
	json_object_foreach((json_t *)labels, k, v)
	{
		if (i < n && strncmp(k, CTL_SYS_LABEL_PREFIX, strlen(CTL_SYS_LABEL_PREFIX)) != 0)
			keys[i++] = k;
	}
	qsort(keys, i, sizeof(*keys), cmp_str);

	size_t len = 0;
	int rc = 0;
	for (size_t j = 0; j < i && rc == 0; j++) {
		json_t *val = json_object_get(labels, keys[j]);
		char *dumped = NULL;
		const char *vs = json_string_value(val);
		if (vs == NULL)
			vs = dumped = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
		if (j > 0)
			rc = append(out, cap, &len, ",");
		if (rc == 0)
			rc = append(out, cap, &len, keys[j]);
		if (rc == 0)
			rc = append(out, cap, &len, "=");
		if (rc == 0)
			rc = append(out, cap, &len, vs != NULL ? vs : "?");
		free(dumped);
	}
	free(keys);
	return rc;
}

int ctl_url_encode(const char *in, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	if (cap == 0)
		return -ENOSPC;
	for (const unsigned char *p = (const unsigned char *)in; *p != '\0'; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		             (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' ||
		             *p == '~';
		if (n + (plain ? 1 : 3) >= cap)
			return -ENOSPC;
		if (plain) {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	out[n] = '\0';
	return 0;
}
