/*
 * sim_fixture.h - a scenario parsed from text and one run of it, for the
 * shoalsim suites. Header-only so each cmocka binary stays one translation
 * unit; include after <cmocka.h>. A scenario that does not parse or a run
 * that fails ends the test with the simulator's message.
 */
#ifndef SHOAL_TEST_SIM_FIXTURE_H
#define SHOAL_TEST_SIM_FIXTURE_H

#include <string.h>

#include "../../sim/run.h"
#include "../../sim/scenario.h"

static inline struct sim_scenario *parse(const char *text)
{
	struct sim_scenario *sc = NULL;
	char err[256] = "";
	int rc = sim_scenario_parse(&sc, text, strlen(text), "test", err, sizeof(err));
	if (rc != 0)
		fail_msg("scenario did not parse: %s", err);
	return sc;
}

static inline struct sim_run_result *run(const struct sim_scenario *sc, uint64_t seed)
{
	struct sim_run_result *r = NULL;
	struct sim_run_options o = {.seed = seed};
	char err[256] = "";
	int rc = sim_run(sc, &sc->variants[0], &o, &r, err, sizeof(err));
	if (rc != 0)
		fail_msg("run failed (%d): %s", rc, err);
	return r;
}

#endif
