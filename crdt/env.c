/*
 * env.c - small helpers over the driver-supplied environment, and transport
 * address parsing/formatting shared by every driver.
 */
#include "shoal/env.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "shoal/error.h"

uint32_t shoal_env_uniform(const struct shoal_env *env, uint32_t n)
{
	/* Lemire's multiply-shift: unbiased enough for protocol choices and
	 * free of the modulo's bias toward small values at large n. */
	uint64_t r = env->prng(env->ctx) >> 32;
	return (uint32_t)((r * (uint64_t)n) >> 32);
}

int shoal_env_verify(const struct shoal_env *env, const uint8_t sig[64], const uint8_t *msg,
                     size_t len, const uint8_t pk[32])
{
	if (env->verify != NULL)
		return env->verify(env->ctx, sig, msg, len, pk);
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : SHOAL_E_SIGNATURE;
}

static int parse_port(const char *s, uint16_t *port)
{
	if (*s == '\0' || strlen(s) > 5)
		return -EINVAL;
	unsigned v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int shoal_addr_parse(struct shoal_addr *out, const char *text)
{
	char host[64];
	const char *colon;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	if (text == NULL)
		return -EINVAL;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL || close[1] != ':')
			return -EINVAL;
		hlen = (size_t)(close - text - 1);
		if (hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, out->ip) != 1)
			return -EINVAL;
		out->family = 6;
		return parse_port(close + 2, &out->port);
	}
	colon = strrchr(text, ':');
	if (colon == NULL)
		return -EINVAL;
	hlen = (size_t)(colon - text);
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (strcmp(host, "localhost") == 0)
		memcpy(host, "127.0.0.1", sizeof("127.0.0.1"));
	if (inet_pton(AF_INET, host, out->ip) != 1)
		return -EINVAL;
	out->family = 4;
	return parse_port(colon + 1, &out->port);
}

int shoal_addr_format(const struct shoal_addr *a, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN];
	int n;

	if (a->family == 6) {
		if (inet_ntop(AF_INET6, a->ip, host, sizeof(host)) == NULL)
			return -EINVAL;
		n = snprintf(buf, cap, "[%s]:%u", host, (unsigned)a->port);
	} else if (a->family == 4) {
		if (inet_ntop(AF_INET, a->ip, host, sizeof(host)) == NULL)
			return -EINVAL;
		n = snprintf(buf, cap, "%s:%u", host, (unsigned)a->port);
	} else {
		n = snprintf(buf, cap, "unset");
	}
	return (n < 0 || (size_t)n >= cap) ? -ENOSPC : 0;
}

int shoal_addr_equal(const struct shoal_addr *a, const struct shoal_addr *b)
{
	size_t iplen = a->family == 6 ? 16 : 4;
	return a->family == b->family && a->port == b->port && memcmp(a->ip, b->ip, iplen) == 0;
}
