/*
 * transport.h - shoald's sockets: one UDP socket and one TCP listener on the
 * gossip address, driven by libuv, and the shoal_env the core sends through.
 *
 * Datagrams go out with uv_udp_try_send: UDP is best effort, so a full send
 * buffer drops the packet exactly as the network might, and the core never
 * waits. Streams carry sealed messages framed as
 *
 *    0          4                            4+len
 *   +----------+-----------------------------+
 *   | len (BE) | sealed message (len bytes)  |    1 <= len <= 16 MiB
 *   +----------+-----------------------------+
 *
 * one TCP connection per conversation. The core names the conversations it
 * opens; connections a peer opens get ids with SHOAL_CONV_INBOUND set.
 * Bytes are read into a capped buffer that grows only as bytes arrive, so a
 * declared length never sizes an allocation.
 *
 * A connection is closed gracefully once the core is done with it: pending
 * writes flush, the write side is shut down, and what the peer still sends
 * is read and dropped until its EOF (closing with unread data would send a
 * reset that can destroy our last reply in the peer's buffers). A
 * connection with no traffic for NODE_CONN_IDLE_MS fails.
 *
 * Thread-safety: a transport belongs to its loop's thread.
 */
#ifndef SHOAL_NODE_TRANSPORT_H
#define SHOAL_NODE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "shoal/env.h"

#define NODE_FRAME_MAX      (16u * 1024 * 1024)         /* largest stream message */
#define NODE_CONN_MAX       256                         /* open connections, both directions */
#define NODE_CONN_QUEUE_MAX (2u * (NODE_FRAME_MAX + 4)) /* unsent bytes per connection */
#define NODE_CONN_IDLE_MS   10000                       /* a silent connection fails after this */
#define NODE_DGRAM_BUF      65536                       /* receive buffer: any UDP datagram fits */

/* Socket-level counters (frames and bytes incl. framing for TCP). */
struct node_traffic {
	uint64_t packets_in;  /* datagrams / frames received */
	uint64_t packets_out; /* datagrams / frames sent */
	uint64_t bytes_in;    /* bytes read from the socket(s) */
	uint64_t bytes_out;   /* bytes written to the socket(s) */
};

/* Where input goes; `now` is read once per libuv callback. */
struct node_transport_cbs {
	void *ctx; /* handed back to each callback */
	void (*on_datagram)(void *ctx, uint64_t now, const struct shoal_addr *from,
	                    const uint8_t *buf, size_t len);
	void (*on_stream)(void *ctx, uint64_t now, uint64_t conv, const struct shoal_addr *from,
	                  const uint8_t *buf, size_t len);
	void (*on_stream_error)(void *ctx, uint64_t now, uint64_t conv);
};

struct node_conn;

struct node_transport {
	uv_loop_t *loop;                 /* borrowed */
	uv_udp_t udp;                    /* the gossip datagram socket */
	uv_tcp_t listener;               /* accepts peers' streams */
	bool udp_open, listener_open;    /* handle initialised, not yet closed */
	struct node_transport_cbs cbs;   /* input callbacks */
	struct shoal_env env;            /* what the core sends through; ctx = this */
	struct node_conn *conns;         /* open connections, a list */
	size_t nconns;                   /* entries in conns */
	uint64_t next_inbound;           /* counter for inbound conversation ids */
	uint64_t prng[4];                /* xoshiro256** state, seeded from libsodium */
	struct node_traffic udp_traffic; /* datagram counters */
	struct node_traffic tcp_traffic; /* stream counters */
	uint8_t rbuf[NODE_DGRAM_BUF];    /* shared read buffer (one read at a time) */
};

/* Bind UDP and TCP on `bind` and start receiving. On failure everything is
 * undone (after the loop runs once more) and err gets one line. */
int node_transport_start(struct node_transport *t, uv_loop_t *loop, const struct shoal_addr *bind,
                         const struct node_transport_cbs *cbs, char *err, size_t errcap);

/* Close every socket and connection. Handles finish closing when the loop
 * runs; the struct must stay alive until then. No callback fires after. */
void node_transport_close(struct node_transport *t);

/* The env for swim_new; valid as long as the transport. */
const struct shoal_env *node_transport_env(struct node_transport *t);

/* Open connections (for tests and metrics). */
size_t node_transport_conns(const struct node_transport *t);

/* sockaddr <-> shoal_addr (IPv4-mapped IPv6 comes back as IPv4). */
int node_addr_from_sockaddr(struct shoal_addr *out, const struct sockaddr *sa);
int node_addr_to_sockaddr(const struct shoal_addr *a, struct sockaddr_storage *ss);

#endif
