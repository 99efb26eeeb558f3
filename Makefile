# Shoal build. `make demo` and `make test` work on a fresh Debian 12 machine
# as root: the `deps` step installs whatever Debian packages are missing.
#
# Layout of the build (a build fact, checked by `core-check`):
#   libshoalcore.a  gossip/ + crdt/  -- sans-IO; links neither libuv nor libcurl
#   libshoalsim.a   sim/ engine and virtual network (tests and shoalsim)
#   libshoalnode.a  node/ driver pieces shared by shoald and shoalctl
#   libshoalk8s.a   k8s/ Kubernetes client and per-site apply engine
# Two flavours: build/rel (-O2) for demo and benchmarks, build/san (ASan +
# UBSan, -O1 -g) for tests.

SAN ?= 0
ifeq ($(SAN),1)
O ?= build/san
OPT = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN = -fsanitize=address,undefined
else
O ?= build/rel
OPT = -O2 -g
LDSAN =
endif

CC ?= cc
# Debian's interpreter, so the Debian python3-* packages installed by `deps` are the ones seen.
PYTHON = /usr/bin/python3
PKGS_CORE = libsodium msgpack
PKGS_NODE = libuv lmdb libcurl libmicrohttpd jansson yaml-0.1
CFLAGS_BASE = -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla \
	-D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Iinclude -MMD -MP
CFLAGS_CORE = $(CFLAGS_BASE) $(OPT) $(shell pkg-config --cflags $(PKGS_CORE) 2>/dev/null)
CFLAGS_NODE = $(CFLAGS_CORE) $(shell pkg-config --cflags $(PKGS_NODE) 2>/dev/null)
LIBS_CORE = $(shell pkg-config --libs $(PKGS_CORE) 2>/dev/null) -lm
LIBS_NODE = $(shell pkg-config --libs $(PKGS_NODE) 2>/dev/null) $(LIBS_CORE)
LIBS_TEST = $(shell pkg-config --libs cmocka 2>/dev/null)

CORE_SRC = $(wildcard gossip/*.c crdt/*.c)
SIM_SRC = $(filter-out sim/main.c,$(wildcard sim/*.c))
NODE_SRC = $(filter-out node/shoald_main.c node/shoalctl_main.c,$(wildcard node/*.c))
K8S_SRC = $(wildcard k8s/*.c)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
TESTLIB_SRC = $(wildcard tests/lib/*.c)

CORE_OBJ = $(CORE_SRC:%.c=$(O)/%.o)
SIM_OBJ = $(SIM_SRC:%.c=$(O)/%.o)
NODE_OBJ = $(NODE_SRC:%.c=$(O)/%.o)
K8S_OBJ = $(K8S_SRC:%.c=$(O)/%.o)
TESTLIB_OBJ = $(TESTLIB_SRC:%.c=$(O)/%.o)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)

PROGRAMS = $(O)/shoald $(O)/shoalctl $(if $(wildcard sim/main.c),$(O)/shoalsim)

.PHONY: all build deps test unit integration demo clean core-check check-style fuzz bench-membership bench-intents bench-sim bench-tradeoff bench-health bench-fleet
.DEFAULT_GOAL := all

all: deps
	@$(MAKE) --no-print-directory build

build: $(PROGRAMS) $(O)/libshoalcore.a $(O)/libshoalsim.a $(O)/libshoalk8s.a $(O)/tests/k8s-driver \
	$(O)/tests/health-fill \
	core-check

# ---- dependencies ---------------------------------------------------------
DEB_PACKAGES = build-essential pkg-config libsodium-dev libuv1-dev libmsgpack-dev \
	liblmdb-dev libcurl4-openssl-dev libmicrohttpd-dev libjansson-dev libyaml-dev \
	libcmocka-dev clang libclang-rt-14-dev clang-format python3 serf gnuplot-nox curl \
	procps iproute2 python3-nacl python3-msgpack python3-yaml python3-lmdb openssl

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "need root to install:$$missing" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# ---- objects and libraries ------------------------------------------------
$(O)/gossip/%.o $(O)/crdt/%.o: CFLAGS_USE = $(CFLAGS_CORE)
$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(if $(CFLAGS_USE),$(CFLAGS_USE),$(CFLAGS_NODE)) -c $< -o $@

$(O)/libshoalcore.a: $(CORE_OBJ)
	@rm -f $@; ar rcs $@ $^

$(O)/libshoalsim.a: $(SIM_OBJ)
	@rm -f $@; ar rcs $@ $^

$(O)/libshoalnode.a: $(NODE_OBJ)
	@rm -f $@; ar rcs $@ $^

$(O)/libshoalk8s.a: $(K8S_OBJ)
	@rm -f $@; ar rcs $@ $^

# The core must stay sans-IO: no libuv, libcurl, sockets, clocks or rand().
core-check: $(O)/libshoalcore.a
	@bad=$$(nm -u $< | awk '{print $$2}' | grep -E '^(uv_|curl_|mdb_|MHD_|socket$$|bind$$|sendto$$|recvfrom$$|clock_gettime$$|gettimeofday$$|time$$|rand$$|random$$|srand$$)' | sort -u); \
	if [ -n "$$bad" ]; then echo "core links forbidden symbols: $$bad" >&2; exit 1; fi

$(O)/shoald: $(O)/node/shoald_main.o $(O)/libshoalnode.a $(O)/libshoalk8s.a $(O)/libshoalcore.a
	$(CC) $(LDSAN) -o $@ $(filter-out %.h,$^) $(LIBS_NODE)

$(O)/shoalctl: $(O)/node/shoalctl_main.o $(O)/libshoalnode.a $(O)/libshoalcore.a
	$(CC) $(LDSAN) -o $@ $(filter-out %.h,$^) $(LIBS_NODE)

$(O)/shoalsim: $(O)/sim/main.o $(O)/libshoalsim.a $(O)/libshoalcore.a
	$(CC) $(LDSAN) -o $@ $(filter-out %.h,$^) $(LIBS_NODE)

# ---- tests ----------------------------------------------------------------
# The k8s driver: a line-command front end to libshoalk8s.a for the
# integration suite and manual runs against a cluster.
$(O)/tests/k8s-driver: $(O)/tests/tools/k8s_driver.o $(O)/libshoalk8s.a $(O)/libshoalcore.a
	@mkdir -p $(dir $@)
	$(CC) $(LDSAN) -o $@ $(filter-out %.h,$^) $(LIBS_NODE)

# Signed health records of a whole fleet written into a shoald data dir, for
# scripts/bench_fleet.py.
$(O)/tests/health-fill: $(O)/tests/tools/health_fill.o $(O)/libshoalnode.a $(O)/libshoalcore.a
	@mkdir -p $(dir $@)
	$(CC) $(LDSAN) -o $@ $(filter-out %.h,$^) $(LIBS_NODE)

$(O)/tests/%: tests/unit/%.c $(TESTLIB_OBJ) $(O)/libshoalnode.a $(O)/libshoalk8s.a $(O)/libshoalsim.a $(O)/libshoalcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_NODE) $(LDSAN) -o $@ $(filter-out %.h,$^) $(LIBS_TEST) $(LIBS_NODE)

test: deps
	@$(MAKE) --no-print-directory SAN=1 build unit-bins
	@$(PYTHON) tests/run.py --bin build/san

unit-bins: $(UNIT_BIN)

unit: deps
	@$(MAKE) --no-print-directory SAN=1 build unit-bins
	@$(PYTHON) tests/run.py --bin build/san --unit

integration: deps
	@$(MAKE) --no-print-directory SAN=1 build
	@$(PYTHON) tests/run.py --bin build/san --integration

demo: deps
	@$(MAKE) --no-print-directory build
	@SHOAL_BIN=build/rel sh scripts/demo.sh

bench-membership: deps
	@$(MAKE) --no-print-directory build
	@SHOAL_BIN=build/rel $(PYTHON) scripts/bench_membership.py --nodes $(or $(N),50) --idle $(or $(IDLE),30) --trials $(or $(TRIALS),3)

# One signed intent to N shoald against a Serf user event to N agents.
bench-intents: deps
	@$(MAKE) --no-print-directory build
	@SHOAL_BIN=build/rel $(PYTHON) scripts/bench_intents.py --nodes $(or $(N),50) --trials $(or $(TRIALS),5)

# shoalsim at 1k and 10k nodes (N=1000,10000 DURATION=300s): real-time factor,
# events/s, peak RSS, bytes per member entry.
bench-sim: deps
	@$(MAKE) --no-print-directory build
	@$(PYTHON) scripts/bench_sim.py --bin $(O) --out $(O)/bench-sim $(if $(N),--nodes $(N)) $(if $(DURATION),--duration $(DURATION))

# Fleet health in shoalsim (N=10000 DURATION=300s): health bytes per node per
# second on the simulated network and time for a record to reach every node.
bench-health: deps
	@$(MAKE) --no-print-directory O=$(O) $(O)/shoalsim
	@$(PYTHON) scripts/bench_health.py --bin $(O) --out $(O)/bench-health --nodes $(or $(N),10000) --duration $(or $(DURATION),300s)

# GET /v1/fleet on one shoald holding N sites' records (N=10000 REQUESTS=200).
bench-fleet: deps
	@$(MAKE) --no-print-directory O=$(O) $(O)/shoald $(O)/tests/health-fill
	@$(PYTHON) scripts/bench_fleet.py --bin $(O) --sites $(or $(N),10000) --requests $(or $(REQUESTS),200)

# Failure detection under 10 % loss: suspicion timeout against false positives
# and time to agreement, one shoalsim run per point (N=1000 DURATION=300s
# SEEDS=1,2 CRASH_EVERY=15s POINTS=defaults,lg-m4).
bench-tradeoff: deps
	@$(MAKE) --no-print-directory build
	@$(PYTHON) scripts/tradeoff_curve.py --bin $(O) --out $(O)/bench-tradeoff --nodes $(or $(N),1000) --duration $(or $(DURATION),300s) --seeds $(or $(SEEDS),1) --crash-every $(or $(CRASH_EVERY),15s) $(if $(POINTS),--points $(POINTS))

check-style:
	@sh scripts/check-style.sh

clean:
	rm -rf build

-include tests/fuzz/fuzz.mk
-include $(shell find build -name '*.d' 2>/dev/null)
