/*
 * run.h - one shoalsim run: build the cluster a scenario describes, play
 * its timeline on the virtual clock, and measure what the protocol did.
 *
 * Everything in struct sim_run_result except the `perf` part is a function
 * of (scenario, variant, seed): it goes into report.json, which must be
 * byte-identical between two runs. Wall time, heap and RSS figures live in
 * `perf` only (perf.json).
 *
 * Metrics are taken through the cluster's observer hook (every swim event
 * of every node, O(1) work each) and one sample per virtual second (O(up
 * nodes), plus an O(up nodes) view scan per fault still being detected),
 * so a 10k-node run spends its time in the protocol, not in measuring it.
 *
 * Ownership: sim_run allocates the result; sim_run_result_delete frees it.
 */
#ifndef SHOAL_SIM_RUN_H
#define SHOAL_SIM_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "shoal/replica.h"

#include "dist.h"
#include "rollout.h"
#include "scenario.h"

#define SIM_RUN_FAULTS_MAX  4096 /* faults tracked; later ones only counted */
#define SIM_RUN_CURVES      32   /* faults whose detection curve is kept */
#define SIM_RUN_CURVE_SECS  240  /* seconds of each detection curve */
#define SIM_RUN_SAMPLES_MAX (1u << 22)
#define SIM_RUN_HSLOW       10 /* slowest health publishes listed */

/* One crash or leave and how the cluster noticed it. Times are virtual
 * microseconds since the start of the measured run; UINT64_MAX = never. */
struct sim_fault {
	uint32_t victim;        /* node index */
	bool leave;             /* graceful leave rather than a crash */
	bool open;              /* still waiting for agreement */
	bool restarted;         /* the victim came back before everyone agreed */
	uint64_t at;            /* when it happened */
	uint64_t first_suspect; /* first SUSPECT event about it anywhere */
	uint64_t first_gone;    /* first DEAD (crash) or LEFT (leave) event */
	uint64_t last_gone;     /* latest such event so far */
	uint64_t agree;         /* when every live node held it gone */
	uint32_t ncurve;        /* samples in curve */
	float *curve;           /* fraction of live nodes holding it gone, one
				 * per virtual second after `at` (kept for the
				 * first SIM_RUN_CURVES faults) */
};

/* One virtual second, as the average live node saw it. */
struct sim_sample {
	uint64_t t_us;               /* since run start */
	uint32_t up;                 /* nodes up (incl. leaving) */
	double alive, suspect, dead; /* mean member counts per live node */
	double left;                 /* mean left members per live node */
	uint64_t dgrams;             /* datagrams sent this second, all nodes */
	uint64_t dgram_bytes;        /* their bytes */
	uint64_t stream_bytes;       /* stream bytes sent this second */
	uint32_t faults_open;        /* faults not yet agreed on */
};

/* One intent submitted by the timeline (items.h). Times are virtual
 * microseconds since the start of the measured run. */
struct sim_put {
	uint32_t origin;       /* node it was submitted at */
	uint32_t size;         /* spec payload bytes (App: manifests) */
	uint32_t env_len;      /* signed envelope bytes: the body each node pulls */
	uint64_t at;           /* when */
	uint64_t all_us;       /* until every live node had committed it; UINT64_MAX = never */
	uint32_t holders;      /* nodes holding it at the end (crashed ones included) */
	uint32_t completed_by; /* the node whose commit made all_us; SIM_NO_NODE: a departure */
	uint32_t last_node;    /* the latest commit over the run; SIM_NO_NODE: none but origin */
	uint64_t last_us;      /* its time since `at` */
};

/* A node restarted while intents existed (items.h, struct sim_catchup);
 * times since the start of the measured run. */
struct sim_put_catchup {
	uint32_t node;
	uint64_t at;          /* restart */
	uint32_t missed;      /* intents submitted before it that it did not hold */
	uint64_t took_us;     /* until it held them all; UINT64_MAX = never */
	uint32_t last_intent; /* the one it committed last; UINT32_MAX with none missed */
};

/* What leaf sites (health.leaves) changed, beside the fleet-wide health
 * figures: leaves and full nodes apart. */
struct sim_leaf_result {
	uint32_t leaves;               /* leaf sites */
	struct sim_dist sent_full;     /* health bytes per full node per s, sent */
	struct sim_dist recv_full;     /* ... received */
	struct sim_dist sent_leaf;     /* per leaf per s, sent */
	struct sim_dist recv_leaf;     /* ... received */
	struct sim_dist recv_ann_full; /* announcement bytes received per s */
	struct sim_dist recv_ann_leaf;
	struct sim_dist all_sent_full; /* all traffic (membership + health) per full node per s */
	struct sim_dist all_recv_full;
	struct sim_dist all_sent_leaf; /* ... per leaf */
	struct sim_dist all_recv_leaf;
	uint64_t ann_msgs_leaf;           /* health announcements received by leaves, all */
	uint64_t ann_msgs_full;           /* ... by full nodes, all */
	uint32_t pubs_full, reached_full; /* full sites' publishes; reached every full node */
	struct sim_dist prop_full;        /* full site's publish -> every live full node, s */
	uint32_t pubs_leaf, reached_leaf; /* leaves' own publishes; reached every full node */
	struct sim_dist prop_leaf;        /* leaf's publish -> every live full node, s */
	double held_full_mean;            /* records per full node's table at the end */
	uint32_t held_leaf_max;           /* most records in a leaf's table (1: its own) */
	uint64_t foreign;                 /* other sites' records in leaves' tables at the end */
	uint64_t refused;                 /* other sites' records offered to leaves and refused */
};

struct sim_run_result {
	char variant[SIM_SC_NAME_MAX]; /* variant name */
	struct swim_config swim;       /* the config it ran (pointers cleared) */
	uint64_t seed;                 /* run seed */
	uint32_t nodes;                /* cluster size */
	uint64_t duration_us;          /* measured run length */

	bool start_ok;      /* reached convergence before the timeout */
	uint64_t start_us;  /* virtual time to converge (cold: from first boot) */
	uint64_t trace;     /* engine trace hash at the end */
	uint64_t events;    /* engine events fired over the whole run */
	bool end_converged; /* every up node knows exactly the up nodes at the end */

	uint32_t nfaults;        /* entries in fault */
	uint64_t faults_dropped; /* faults past SIM_RUN_FAULTS_MAX */
	struct sim_fault *fault; /* [nfaults] */

	/* False positives: SUSPECT/DEAD events about a member that was up,
	 * running the incarnation accused. Split by what else was going on. */
	uint64_t fp_suspect_events;     /* about healthy members */
	uint64_t fp_accusations;        /* distinct (member, incarnation) falsely suspected */
	uint64_t fp_dead_accusations;   /* distinct (member, incarnation) falsely declared dead */
	uint64_t fp_dead_events;        /* about healthy members */
	uint32_t fp_suspected_nodes;    /* healthy members ever suspected */
	uint32_t fp_dead_nodes;         /* healthy members ever declared dead */
	uint64_t slowed_suspect_events; /* about members inside a slow window */
	uint64_t slowed_dead_events;
	uint64_t partition_suspect_events; /* while a partition was in force */
	uint64_t partition_dead_events;
	uint64_t restarting_suspect_events; /* about a member within one (stretched)
					     * probe of its restart */
	uint64_t restarting_dead_events;
	uint64_t refutations; /* REFUTED events */
	/* ALIVE events about a member that was down (crashed or stopped): a
	 * dead member brought back by an old record. */
	uint64_t revived_events;
	uint64_t revived_last_us; /* latest of them, after that member went down */
	double node_hours;        /* up time summed over nodes */

	struct sim_dist pkts_sent, bytes_sent, pkts_recv, bytes_recv; /* per node per s */
	uint64_t total_dgrams, total_dgram_bytes, total_stream_bytes; /* run window */
	uint64_t dropped_loss, dropped_blocked, dropped_down;

	size_t pool_bytes;        /* shared record pool after start */
	uint64_t verify_misses;   /* real signature checks */
	uint64_t verify_hits;     /* memoized ones */
	uint64_t stuck_deadlines; /* harness saw a core timer bug */
	uint64_t swim_errors;     /* harness calls that failed */
	uint64_t actions_skipped; /* timeline picks that found no eligible node */

	uint32_t nputs;          /* entries in put */
	struct sim_put *put;     /* [nputs] */
	uint64_t put_body_bytes; /* sealed pull answers received, all nodes (network count) */
	double put_body_ratio;   /* put_body_bytes / sum of env_len * (holders - 1): body bytes
				  * received per copy delivered, as a multiple of the envelope */
	struct sim_dist put_node_ratio;      /* over nodes that committed intents from peers: bytes
					 * of pull answers received / envelope bytes committed */
	struct replica_stats put_stats;      /* the replicas' counters, summed over nodes */
	uint64_t put_rejected;               /* offers the stores refused, all nodes */
	uint64_t put_mismatched;             /* envelopes not what they were announced as */
	uint64_t put_store_bytes;            /* envelope bytes held by all stores at the end */
	struct sim_put_catchup *put_catchup; /* [nput_catchups], restarts in order */
	uint32_t nput_catchups;
	uint64_t put_restarts; /* restarts in all (beyond SIM_CATCHUPS_MAX counted only) */

	/* Health records (sim/health.h), when the scenario turns health on. */
	bool health;
	uint32_t hpubs;              /* records published during the run */
	uint32_t hpubs_change;       /* of them on a meaningful change (the rest: refresh) */
	uint32_t hpubs_reached;      /* reached every live node */
	double hrecord_bytes;        /* mean envelope bytes */
	struct sim_dist hprop;       /* publish -> every live node holds it (or newer), s */
	struct sim_dist hbytes;      /* health bytes sent per node per s (all four kinds
				     * when the run has no intents, else without ae_other) */
	struct sim_dist hbytes_recv; /* the same, received */
	double hann, hpull, hae_list, hae_other; /* mean bytes sent per node per s, by kind */
	uint64_t hrejected;                      /* offers refused (not stale, not "no key") */
	uint64_t hno_key;                        /* refused: site not yet in membership */
	bool hconverged; /* every up node holds every site's newest record at the end */
	struct {
		uint32_t site;   /* node index of its owner */
		uint64_t at;     /* since the start of the measured run, us */
		uint64_t all_us; /* to every live node; UINT64_MAX = never */
		bool change;     /* on a meaningful change, not the refresh */
	} hslow[SIM_RUN_HSLOW];  /* the slowest publishes, slowest first */
	uint32_t nhslow;
	double hheld_mean; /* records per table at the end */
	/* Leaf sites (health.leaves), when there are any: every figure above
	 * that says "every live node" then means every live full node. */
	struct sim_leaf_result hleaf;

	/* Sites applying App intents (sim/rollout.h), when the scenario has k8s. */
	bool rollout;
	struct sim_rollout_result roll;

	uint32_t nsamples;         /* entries in sample */
	struct sim_sample *sample; /* one per virtual second */

	/* Not deterministic: perf.json only. */
	struct {
		double wall_start_s;     /* building + converging */
		double wall_run_s;       /* the timeline */
		double events_per_s;     /* run events / wall_run_s */
		double realtime_factor;  /* virtual s / wall s of the timeline */
		size_t heap_after_start; /* heap growth once started */
		double bytes_per_member; /* (pool + swim tables) / N^2 after start */
		size_t peak_rss;         /* VmHWM at the end */
		uint64_t run_events;     /* events fired during the timeline */
	} perf;
};

struct sim_run_options {
	uint64_t seed;  /* run seed */
	uint32_t nodes; /* 0 = the scenario's */
	FILE *progress; /* one line per phase / 10 % of the run; NULL = quiet */
};

/* Run one variant. Errors: -ENOMEM, SHOAL_E_CONFIG (with a message in err)
 * for a scenario the net cannot express, cluster errors. */
int sim_run(const struct sim_scenario *sc, const struct sim_sc_variant *v,
            const struct sim_run_options *o, struct sim_run_result **out, char *err, size_t errlen);
void sim_run_result_delete(struct sim_run_result *r);

/* Percentiles over fault times: p50/p99/max of (t - at) for faults where t
 * was reached; returns how many had it. */
uint32_t sim_run_fault_stats(const struct sim_run_result *r, int which, struct sim_dist *out);
#define SIM_FAULT_SUSPECT 0 /* first_suspect */
#define SIM_FAULT_GONE    1 /* first_gone */
#define SIM_FAULT_AGREE   2 /* agree */

#endif
