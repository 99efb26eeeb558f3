/*
 * intents_resync.c - a node that cannot trust what it holds, or holds
 * nothing, takes the fleet's whole intent state once.
 *
 * Envelopes older than the horizon (7 days) are refused from peers, so a
 * replayed put cannot resurrect an intent whose tombstone was collected.
 * Two kinds of node must nevertheless take old envelopes, namely every live
 * intent signed more than 7 days ago:
 *
 *   - a new node (an empty intents database): it has never seen anything,
 *     and the fleet's long-lived intents are exactly what it needs;
 *   - a node that was away longer than the horizon: what it holds may
 *     include puts deleted while it was away whose tombstones are gone, so
 *     its intents are dropped at start and it starts again from empty.
 *
 * Such a node is "resyncing": it offers what it pulls with
 * INTENT_FROM_RESYNC, the store's one path past the horizon check, until
 * its first anti-entropy exchange has completed and every item it wanted is
 * in; from then on it is an ordinary node. How long it was away is judged
 * from `last_alive`, the wall time the node writes to its store every
 * minute and at shutdown.
 */
#include "node.h"

#include "shoal/error.h"

#define LAST_ALIVE_KEY "last_alive"
#define CHECK_MS       1000 /* while resyncing, is it done? (fast profile /10) */

static void on_check(uv_timer_t *t)
{
	node_intents_peer_source(t->data);
}

/* Before the intents are loaded: drop them if the node was away too long. */
void node_intents_resync_begin(struct node *n)
{
	uint64_t last = 0, now = node_wall_ms();
	MDB_txn *txn;
	if (node_store_get_u64(&n->store, LAST_ALIVE_KEY, &last) != 0 || last == 0 || now <= last ||
	    now - last <= INTENT_HORIZON_MS)
		return;
	if (mdb_txn_begin(n->store.env, NULL, 0, &txn) != 0)
		return;
	if (mdb_drop(txn, n->intents_db, 0) != 0 || mdb_txn_commit(txn) != 0) {
		mdb_txn_abort(txn);
		return;
	}
	node_log_event(&n->log, NODE_LOG_WARN, "intents_dropped",
	               json_pack("{s:I,s:I}", "away_ms", (json_int_t)(now - last), "horizon_ms",
	                         (json_int_t)INTENT_HORIZON_MS));
}

/* After loading: an empty store resyncs. */
void node_intents_resync_loaded(struct node *n)
{
	n->intents_resync = intent_store_count(n->intents) == 0;
	node_intents_alive(n);
	if (!n->intents_resync)
		return;
	node_log_event(&n->log, NODE_LOG_INFO, "intents_resync",
	               json_pack("{s:s}", "state", "started"));
	uint64_t every = CHECK_MS / (n->cfg->profile == NODE_PROFILE_FAST ? 10 : 1);
	uv_timer_init(n->loop, &n->resync_timer);
	n->resync_timer.data = n;
	n->resync_timer_open = true;
	uv_timer_start(&n->resync_timer, on_check, every, every);
}

void node_intents_alive(struct node *n)
{
	if (n->store_open)
		node_store_set_u64(&n->store, LAST_ALIVE_KEY, node_wall_ms());
}

enum intent_source node_intents_peer_source(struct node *n)
{
	if (!n->intents_resync)
		return INTENT_FROM_PEER;
	const struct replica_stats *st = n->replica != NULL ? replica_stats(n->replica) : NULL;
	if (st != NULL && st->ae_rounds > 0 && replica_pending(n->replica) == 0) {
		n->intents_resync = false;
		node_intents_resync_stop(n);
		node_log_event(&n->log, NODE_LOG_INFO, "intents_resync",
		               json_pack("{s:s,s:I}", "state", "done", "intents",
		                         (json_int_t)intent_store_count(n->intents)));
		return INTENT_FROM_PEER;
	}
	return INTENT_FROM_RESYNC;
}

void node_intents_resync_stop(struct node *n)
{
	if (n->resync_timer_open)
		uv_close((uv_handle_t *)&n->resync_timer, NULL);
	n->resync_timer_open = false;
}
