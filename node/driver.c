/*
 * driver.c - the libuv side of the sans-IO core: input in, one timer.
 *
 * SWIM never reads a clock; it is handed `now` (uv_hrtime in microseconds,
 * read once per libuv callback) with every input, and says through
 * swim_next_deadline when it next needs to run. One uv_timer is re-armed
 * from that after every input, so an idle node wakes only when the protocol
 * has something to do. uv timers count whole milliseconds, so the wait is
 * rounded up: waking a little late is harmless, waking early would spin.
 */
#include "node.h"

#include "clock.h"

uint64_t node_now(void)
{
	return node_clock_mono_us();
}

void node_driver_arm(struct node *n, uint64_t now)
{
	if (n->swim == NULL || !n->timer_open || n->stopped)
		return;
	uint64_t deadline = swim_next_deadline(n->swim);
	if (deadline == UINT64_MAX) {
		uv_timer_stop(&n->timer);
		return;
	}
	uint64_t ms = deadline <= now ? 0 : (deadline - now + 999) / 1000;
	uv_timer_start(&n->timer, node_driver_on_timer, ms, 0);
}

void node_driver_on_timer(uv_timer_t *timer)
{
	struct node *n = timer->data;
	uint64_t now = node_now();
	if (n->swim == NULL)
		return;
	swim_tick(n->swim, now);
	uint64_t deadline = swim_next_deadline(n->swim);
	if (deadline == UINT64_MAX) {
		uv_timer_stop(&n->timer);
		return;
	}
	/* A deadline still due right after a tick would spin the loop; wait at
	 * least a millisecond for it. */
	uint64_t ms = deadline <= now ? 1 : (deadline - now + 999) / 1000;
	uv_timer_start(&n->timer, node_driver_on_timer, ms, 0);
}

static void on_datagram(void *ctx, uint64_t now, const struct shoal_addr *from, const uint8_t *buf,
                        size_t len)
{
	struct node *n = ctx;
	if (n->swim == NULL)
		return;
	swim_on_datagram(n->swim, now, from, buf, len);
	node_driver_arm(n, now);
}

static void on_stream(void *ctx, uint64_t now, uint64_t conv, const struct shoal_addr *from,
                      const uint8_t *buf, size_t len)
{
	struct node *n = ctx;
	if (n->swim == NULL)
		return;
	swim_on_stream(n->swim, now, conv, from, buf, len);
	node_driver_arm(n, now);
}

static void on_stream_error(void *ctx, uint64_t now, uint64_t conv)
{
	struct node *n = ctx;
	if (n->swim == NULL)
		return;
	swim_on_stream_error(n->swim, now, conv);
	node_driver_arm(n, now);
}

const struct node_transport_cbs node_driver_cbs_template = {
        .ctx = NULL,
        .on_datagram = on_datagram,
        .on_stream = on_stream,
        .on_stream_error = on_stream_error,
};
