/*
 * engine.c - the discrete-event core of the simulator: a binary min-heap of
 * events keyed by (deadline, sequence) and a virtual clock.
 *
 * The sequence number is what makes runs reproducible: events due at the
 * same microsecond fire in the order they were scheduled, not in whatever
 * order the heap happens to hold them. Events cannot be cancelled; owners
 * that reschedule (a node's timer) tag events with a generation and ignore
 * stale ones when they fire, which keeps the heap a plain array.
 *
 * The clock starts wherever the caller says, SIM_CLOCK_START by convention:
 * a non-zero start flushes out code that uses 0 as "never".
 */
#include "shoal/sim.h"

#include <errno.h>
#include <stdlib.h>

#include "shoal/error.h"

#define DEFAULT_MAX_EVENTS ((size_t)1 << 24)
#define INITIAL_SLOTS      1024

struct sim_event {
	uint64_t at;     /* virtual deadline */
	uint64_t seq;    /* scheduling order, breaks ties */
	sim_event_fn fn; /* what to run */
	void *arg;       /* its argument */
	uint64_t data;   /* and a word of data */
};

struct sim_engine {
	struct sim_event *heap; /* min-heap on (at, seq) */
	size_t len;             /* events pending */
	size_t alloc;           /* slots allocated */
	size_t max;             /* hard cap on len */
	uint64_t now;           /* the virtual clock, microseconds */
	uint64_t next_seq;      /* sequence for the next scheduled event */
	uint64_t fired;         /* events fired so far */
	uint64_t late;          /* events scheduled in the past (moved to now) */
	uint64_t trace;         /* running hash of what happened */
	bool stop;              /* run_until should return */
};

static bool before(const struct sim_event *a, const struct sim_event *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

int sim_engine_new(struct sim_engine **out, uint64_t start_us, size_t max_events)
{
	struct sim_engine *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	e->max = max_events ? max_events : DEFAULT_MAX_EVENTS;
	e->alloc = INITIAL_SLOTS < e->max ? INITIAL_SLOTS : e->max;
	e->heap = malloc(e->alloc * sizeof(*e->heap));
	if (e->heap == NULL) {
		free(e);
		return -ENOMEM;
	}
	e->now = start_us;
	e->trace = UINT64_C(0x5105A1) ^ start_us;
	*out = e;
	return 0;
}

void sim_engine_delete(struct sim_engine *e)
{
	if (e == NULL)
		return;
	free(e->heap);
	free(e);
}

uint64_t sim_engine_now(const struct sim_engine *e)
{
	return e->now;
}

static int grow(struct sim_engine *e)
{
	size_t n = e->alloc * 2;
	if (n > e->max)
		n = e->max;
	if (n <= e->alloc)
		return SHOAL_E_TOO_BIG;
	struct sim_event *h = realloc(e->heap, n * sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	e->heap = h;
	e->alloc = n;
	return 0;
}

int sim_engine_at(struct sim_engine *e, uint64_t at, sim_event_fn fn, void *arg, uint64_t data)
{
	if (e->len == e->alloc) {
		int rc = grow(e);
		if (rc != 0)
			return rc;
	}
	if (at < e->now) {
		at = e->now;
		e->late++;
	}
	struct sim_event ev = {at, e->next_seq++, fn, arg, data};
	size_t i = e->len++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!before(&ev, &e->heap[parent]))
			break;
		e->heap[i] = e->heap[parent];
		i = parent;
	}
	e->heap[i] = ev;
	return 0;
}

/* Remove the root into *out. */
static void pop(struct sim_engine *e, struct sim_event *out)
{
	*out = e->heap[0];
	struct sim_event last = e->heap[--e->len];
	size_t n = e->len;
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1;
		if (l >= n)
			break;
		size_t m = l;
		if (l + 1 < n && before(&e->heap[l + 1], &e->heap[l]))
			m = l + 1;
		if (!before(&e->heap[m], &last))
			break;
		e->heap[i] = e->heap[m];
		i = m;
	}
	if (n > 0)
		e->heap[i] = last;
}

int sim_engine_step(struct sim_engine *e)
{
	struct sim_event ev;
	if (e->len == 0)
		return SHOAL_E_NOT_FOUND;
	pop(e, &ev);
	e->now = ev.at;
	e->fired++;
	e->trace = sim_hash_mix(e->trace, ev.at);
	ev.fn(ev.arg, ev.data);
	return 0;
}

uint64_t sim_engine_run_until(struct sim_engine *e, uint64_t until)
{
	uint64_t n = 0;
	e->stop = false;
	while (e->len > 0 && e->heap[0].at <= until) {
		sim_engine_step(e);
		n++;
		if (e->stop) {
			e->stop = false;
			return n;
		}
	}
	if (until > e->now)
		e->now = until;
	return n;
}

void sim_engine_stop(struct sim_engine *e)
{
	e->stop = true;
}

int sim_engine_peek(const struct sim_engine *e, uint64_t *at)
{
	if (e->len == 0)
		return SHOAL_E_NOT_FOUND;
	*at = e->heap[0].at;
	return 0;
}

size_t sim_engine_pending(const struct sim_engine *e)
{
	return e->len;
}

uint64_t sim_engine_fired(const struct sim_engine *e)
{
	return e->fired;
}

uint64_t sim_engine_late(const struct sim_engine *e)
{
	return e->late;
}

size_t sim_engine_bytes(const struct sim_engine *e)
{
	return sizeof(*e) + e->alloc * sizeof(*e->heap);
}

uint64_t sim_engine_trace(const struct sim_engine *e)
{
	return e->trace;
}

void sim_engine_trace_mix(struct sim_engine *e, uint64_t v)
{
	e->trace = sim_hash_mix(e->trace, v);
}
