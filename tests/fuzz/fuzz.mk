# tests/fuzz/fuzz.mk - libFuzzer targets, included by the top Makefile.
#
# Every tests/fuzz/fuzz_<name>.c is a target exposing LLVMFuzzerTestOneInput;
# dropping in a new file is all it takes to add one. Each links the whole core
# library plus any helpers in tests/fuzz/lib/*.c (a test env, say), so a
# target may call into any part of gossip/ and crdt/.
#
#   make fuzz [FUZZ_SECONDS=60]   build with clang (-fsanitize=fuzzer,address,
#                                 undefined) into build/fuzz, run each target
#                                 for FUZZ_SECONDS over tests/fuzz/corpus/<name>/,
#                                 then merge inputs that reach new edges back
#                                 into that corpus (new finds land in
#                                 tests/fuzz/corpus-run/<name>/ first, crashes
#                                 in build/fuzz/artifacts/<name>/).
#   make fuzz-build               only build the libFuzzer binaries.
#
# `make test` does not need clang: every target is also linked with
# replay_main.c by the normal $(CC) and the test build's sanitizers into
# $(O)/fuzz-replay/<name>, and tests/unit/test_fuzz_corpora.c replays each
# corpus through it. Those binaries are prerequisites of unit-bins.
#
# The merge counts edges only (-use_counters=0): with hit-count buckets every
# loop length is "new", and one minute of fuzzing would commit hundreds of
# near-identical files; by edges the corpus stays a few dozen small inputs.
#
# The fuzz build keeps its own objects and rules: the core is compiled again
# by clang with coverage instrumentation (-fsanitize=fuzzer-no-link), from
# CFLAGS_BASE rather than CFLAGS_CORE so the SAN/OPT choice of the normal
# build does not leak in.

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
FUZZ_LIB_SRC := $(wildcard tests/fuzz/lib/*.c)
FUZZ_SECONDS ?= 60
# Extra libFuzzer flags for `make fuzz`, e.g. FUZZ_FLAGS=-jobs=2.
FUZZ_FLAGS ?=
FUZZ_MAX_LEN ?= 4096

FUZZ_CC ?= clang
FUZZ_O := build/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = $(CFLAGS_BASE) -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) \
	$(shell pkg-config --cflags $(PKGS_CORE) 2>/dev/null)

# Targets named fuzz_k8s_* also link the k8s/ text parsers and their
# libraries (libyaml, jansson); the rest link the core alone.
FUZZ_K8S_PARSE_SRC := k8s/yamljson.c k8s/manifest.c k8s/kubeconfig.c
FUZZ_K8S_NAMES := $(filter k8s_%,$(FUZZ_NAMES))
FUZZ_K8S_LIBS = $(shell pkg-config --libs jansson yaml-0.1 2>/dev/null)

FUZZ_CORE_OBJ := $(CORE_SRC:%.c=$(FUZZ_O)/%.o)
FUZZ_K8S_OBJ := $(FUZZ_K8S_PARSE_SRC:%.c=$(FUZZ_O)/%.o)
FUZZ_SUPPORT_OBJ := $(FUZZ_LIB_SRC:%.c=$(FUZZ_O)/%.o)
FUZZ_TARGET_OBJ := $(FUZZ_SRC:%.c=$(FUZZ_O)/%.o)
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_O)/fuzz_%)

.PHONY: fuzz-build

# Library code: instrumented for coverage, no libFuzzer main.
$(FUZZ_CORE_OBJ) $(FUZZ_SUPPORT_OBJ) $(FUZZ_K8S_OBJ): $(FUZZ_O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_TARGET_OBJ): $(FUZZ_O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -c $< -o $@

$(FUZZ_O)/libshoalcore.a: $(FUZZ_CORE_OBJ)
	@rm -f $@; ar rcs $@ $^

$(FUZZ_BINS): $(FUZZ_O)/fuzz_%: $(FUZZ_O)/tests/fuzz/fuzz_%.o $(FUZZ_SUPPORT_OBJ) $(FUZZ_O)/libshoalcore.a
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $(filter-out %.a $(FUZZ_K8S_OBJ),$^) \
		$(if $(filter k8s_%,$*),$(FUZZ_K8S_OBJ) $(FUZZ_K8S_LIBS)) $(FUZZ_O)/libshoalcore.a \
		$(LIBS_CORE)

$(FUZZ_K8S_NAMES:%=$(FUZZ_O)/fuzz_%): $(FUZZ_K8S_OBJ)

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@set -e; for n in $(FUZZ_NAMES); do \
		corpus=tests/fuzz/corpus/$$n; run=tests/fuzz/corpus-run/$$n; \
		mkdir -p $$corpus $$run $(FUZZ_O)/artifacts/$$n; \
		echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
		$(FUZZ_O)/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) \
			-print_final_stats=1 -artifact_prefix=$(FUZZ_O)/artifacts/$$n/ \
			$(FUZZ_FLAGS) $$run $$corpus; \
		$(FUZZ_O)/fuzz_$$n -merge=1 -use_counters=0 -max_len=$(FUZZ_MAX_LEN) $$corpus $$run \
			>$(FUZZ_O)/merge-$$n.log 2>&1 || { cat $(FUZZ_O)/merge-$$n.log; exit 1; }; \
		echo "fuzz: $$n corpus now $$(ls $$corpus | wc -l) inputs"; \
	done

# ---- corpus replay for `make test` -----------------------------------------
FUZZ_REPLAY_BINS := $(FUZZ_NAMES:%=$(O)/fuzz-replay/%)
FUZZ_REPLAY_OBJ := $(patsubst tests/fuzz/%.c,$(O)/fuzz-replay/obj/%.o,\
	$(FUZZ_SRC) $(FUZZ_LIB_SRC) tests/fuzz/replay_main.c)
FUZZ_REPLAY_SUPPORT := $(FUZZ_LIB_SRC:tests/fuzz/%.c=$(O)/fuzz-replay/obj/%.o)

$(FUZZ_REPLAY_OBJ): $(O)/fuzz-replay/obj/%.o: tests/fuzz/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_CORE) -c $< -o $@

$(FUZZ_REPLAY_BINS): $(O)/fuzz-replay/%: $(O)/fuzz-replay/obj/fuzz_%.o \
		$(O)/fuzz-replay/obj/replay_main.o $(FUZZ_REPLAY_SUPPORT) $(O)/libshoalcore.a
	$(CC) $(LDSAN) -o $@ $(filter-out %.a,$^) \
		$(if $(filter k8s_%,$*),$(O)/libshoalk8s.a $(FUZZ_K8S_LIBS)) $(O)/libshoalcore.a \
		$(LIBS_CORE)

$(FUZZ_K8S_NAMES:%=$(O)/fuzz-replay/%): $(O)/libshoalk8s.a

unit-bins: $(FUZZ_REPLAY_BINS)
