/*
 * output.h - what shoalsim writes: report.json (deterministic: a function of
 * scenario and seed), perf.json (wall time, events/s, real-time factor,
 * memory), a per-second CSV per variant, detection curves as CSV, and
 * gnuplot PNG plots of both.
 *
 * The split between report.json and perf.json is the determinism contract:
 * nothing measured from the host (clocks, heap, RSS) may enter report.json,
 * so two runs with the same seed produce byte-identical reports.
 */
#ifndef SHOAL_SIM_OUTPUT_H
#define SHOAL_SIM_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "run.h"
#include "scenario.h"

/* Write report.json into dir (which must exist). 0 or negative errno. */
int sim_output_report(const char *dir, const struct sim_scenario *sc, uint64_t seed,
                      struct sim_run_result *const *runs, size_t nruns);
/* Write perf.json. */
int sim_output_perf(const char *dir, const struct sim_scenario *sc, uint64_t seed,
                    struct sim_run_result *const *runs, size_t nruns);
/* Write timeseries[-variant].csv and detection[-variant].csv. */
int sim_output_csv(const char *dir, const struct sim_run_result *r, bool suffix);
/* Render membership[-variant].png and detection[-variant].png with gnuplot
 * from the CSVs. Returns 0, or SHOAL_E_NOT_FOUND if gnuplot is missing or
 * failed (the CSVs are still there). */
int sim_output_plots(const char *dir, const struct sim_run_result *r, bool suffix);
/* A human summary of one run on `f`. */
void sim_output_summary(FILE *f, const struct sim_run_result *r);

/* {n, mean, p50, p99, max} ("n" only when n > 0), as every section gives a
 * distribution. */
json_t *sim_dist_json(const struct sim_dist *d, uint32_t n);
/* output_rollout.c: the "rollout" section and its summary lines. */
json_t *sim_rollout_json(const struct sim_rollout_result *ro);
void sim_rollout_print(FILE *f, const char *variant, const struct sim_rollout_result *ro);
/* output_leaf.c: the health section's "leaves" part and its summary lines. */
json_t *sim_leaf_json(const struct sim_leaf_result *l);
void sim_leaf_print(FILE *f, const char *variant, const struct sim_leaf_result *l);

#endif
