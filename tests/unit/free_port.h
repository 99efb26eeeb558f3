/*
 * free_port.h - a loopback port free for both UDP and TCP, for unit tests
 * that start real sockets.
 *
 * Drawn at random from 15000-19999: below Linux's ephemeral range (32768+),
 * so an outgoing connection's local port cannot take it between this check
 * and the bind, and apart from the integration tests' 20000-32000, so a
 * suite running in parallel does not draw the same one. Returns 0 if none
 * was found.
 */
#ifndef SHOAL_TEST_FREE_PORT_H
#define SHOAL_TEST_FREE_PORT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sodium.h>

static bool test_port_bindable(int type, uint16_t port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, type, 0);
	if (fd < 0)
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static uint16_t test_free_port(void)
{
	for (int i = 0; i < 2000; i++) {
		uint16_t p = (uint16_t)(15000 + randombytes_uniform(5000));
		if (test_port_bindable(SOCK_DGRAM, p) && test_port_bindable(SOCK_STREAM, p))
			return p;
	}
	return 0;
}

#endif
