/*
 * catchup.c - push-pull catch-up right after a join.
 *
 * A join pulls the seed's table as it stands at that moment. When many
 * nodes join together (a fleet starting, a site restarting its nodes),
 * each joiner's pull misses everyone who joins after it, and those members
 * reach it only by gossip. Gossip carries signed ALIVE records of 130-200
 * bytes, about seven to ten to a 1,400-byte datagram, three datagrams per
 * node per gossip interval: in a burst every datagram is full and every
 * queue holds dozens of records, so the epidemic halves the missing pairs
 * per round instead of finishing in a few, and the rare pair that every
 * copy misses waits for the periodic push-pull (30 s and more). Push-pull
 * moves whole buckets of records over a stream at once.
 *
 * So a node whose join exchange succeeded runs further push-pulls with
 * random alive members, one per gossip interval (jittered to [0.5, 1.5) of
 * it): at least SWIM_CATCHUP_MIN of them, then on while the mesh is still
 * growing around it - until SWIM_CATCHUP_QUIET intervals in a row bring no
 * member it did not know - and never more than SWIM_CATCHUP_MAX. Their
 * digests are four times finer than the periodic one's (pushpull.c), so a
 * difference ships a bucket of a few members. Joining a settled mesh
 * therefore costs three digest exchanges (measured at 50 members: 801
 * bytes for all three, against 12.7 KB for the join itself); a burst keeps
 * every young node pulling and pushing until the burst is over. What they
 * bring is queued for gossip like any push-pulled news.
 *
 * memberlist has no such step: a joiner relies on gossip and on the
 * periodic push-pull, which scales to 60 s past 32 members. Its unsigned
 * alive messages are about half the size of a signed record, so its gossip
 * carries twice the members per datagram, and HashiCorp Serf (memberlist
 * underneath) has 50 nodes launched together see each other in 1.1 s on
 * loopback. Without these exchanges shoald took 1.8-2.4 s there, and
 * about one run in five left a pair apart until the periodic push-pull
 * (8 to 30 s). With them: 0.6-0.8 s. In the simulator, 50 nodes joining
 * within 50 ms went from a median of 1.85 s (worst of 32 runs: 25 s) to
 * 0.52 s (worst 0.61 s). docs/protocol.md has the other cases and costs.
 */
#include "swim_internal.h"

/* Exchanges always run after a join. Three: a node that joined early pulls
 * again after the others' joins have landed at the seed. */
#define SWIM_CATCHUP_MIN 3
/* Stop after this many intervals in a row without a new member. One is not
 * enough: in a long burst a node can go one interval without hearing of
 * anyone new while members still arrive. */
#define SWIM_CATCHUP_QUIET 2
/* Upper bound on exchanges per join, for a mesh that never stops growing:
 * 3.2 s of catch-up at LAN timers. */
#define SWIM_CATCHUP_MAX 16

static uint64_t catchup_interval(const struct swim *s)
{
	return s->cfg.gossip_interval_us != 0 ? s->cfg.gossip_interval_us
	                                      : s->cfg.probe_interval_us;
}

void swim_catchup_start(struct swim *s, uint64_t now)
{
	struct swim_catchup *cu = &s->catchup;

	/* Push-pull switched off means no anti-entropy beyond the join. A
	 * series already running (another seed answered first) goes on. */
	if (s->cfg.pushpull_interval_us == 0 || s->left || cu->active)
		return;
	cu->active = true;
	cu->done = 0;
	cu->quiet = 0;
	cu->seen = s->members_added;
	cu->next = now + swim_pp_jittered(s, catchup_interval(s));
}

void swim_catchup_tick(struct swim *s, uint64_t now)
{
	struct swim_catchup *cu = &s->catchup;
	uint32_t peer;

	if (!cu->active || now < cu->next)
		return;
	if (s->left) {
		cu->active = false;
		return;
	}
	cu->quiet = s->members_added == cu->seen ? (uint16_t)(cu->quiet + 1) : 0;
	cu->seen = s->members_added;
	cu->done++;
	if (swim_sample(s, 1, 1u << SWIM_ALIVE, SWIM_NONE, &peer) == 1)
		swim_pp_start(s, now, &swim_member_record(s, swim_member_at(s, peer))->addr,
		              SWIM_PP_CATCHUP, -1);
	if (cu->done >= SWIM_CATCHUP_MAX ||
	    (cu->done >= SWIM_CATCHUP_MIN && cu->quiet >= SWIM_CATCHUP_QUIET))
		cu->active = false;
	else
		cu->next = now + swim_pp_jittered(s, catchup_interval(s));
}

uint64_t swim_catchup_deadline(const struct swim *s)
{
	return s->catchup.active && !s->left ? s->catchup.next : UINT64_MAX;
}
