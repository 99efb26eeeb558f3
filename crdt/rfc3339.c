/*
 * rfc3339.c - RFC 3339 timestamps to unix milliseconds, without a clock or
 * the C library's time zone machinery (the core keeps no global state, and
 * timegm depends on none but is not in C11).
 *
 * Accepted: YYYY-MM-DD[Tt ]hh:mm:ss[.fraction](Z|z|+hh:mm|-hh:mm). Leap
 * seconds (ss = 60) are refused: a grant expiry does not need them.
 */
#include "shoal/intent.h"

#include <errno.h>

static int digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
	static const unsigned dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dm[m - 1];
}

int intent_parse_rfc3339(const char *s, size_t len, uint64_t *ms)
{
	unsigned y, mo, d, h, mi, sec, frac_ms = 0, oh = 0, om = 0;
	size_t i = 19;
	int sign = 0;

	if (len < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
	    digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &sec))
		return -EINVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || sec > 59)
		return -EINVAL;
	if (s[i] == '.') {
		unsigned scale = 100, ndig = 0;
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, ndig++) {
			frac_ms += (unsigned)(s[i] - '0') * scale;
			scale /= 10;
		}
		if (ndig == 0 || ndig > 9)
			return -EINVAL;
	}
	if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < len && (s[i] == '+' || s[i] == '-')) {
		sign = s[i] == '+' ? 1 : -1;
		if (len - i != 6 || digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
		    digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
		i += 6;
	} else {
		return -EINVAL;
	}
	if (i != len)
		return -EINVAL;
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	secs -= sign * (int64_t)(oh * 3600 + om * 60);
	if (secs < 0)
		return -EINVAL;
	*ms = (uint64_t)secs * 1000 + frac_ms;
	return 0;
}
