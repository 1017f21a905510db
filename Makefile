# Two commands matter: `make run` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# `make test` draws the same Hypothesis examples on every machine (tests/profiles.py).
HYPOTHESIS_PROFILE ?= ci
export HYPOTHESIS_PROFILE

.PHONY: run test lint typecheck unit cluster bench clean vendor-sdk

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/silverline serve

test: $(STAMP) lint typecheck unit cluster

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The suite on every core (pytest-xdist), a test file per worker at a time so that a file's
# fixtures are made once; each worker starts its own redis-server (tests/conftest.py). Files
# are handed out in collection order, the long simulations first (tests/conftest.py says why).
PYTEST_WORKERS ?= auto
unit: $(STAMP)
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The engine's tests again, against a three-master Redis Cluster started by the fixture.
cluster: $(STAMP)
	SILVERLINE_TEST_REDIS=cluster $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile tests/routing

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

# Refresh the vendored Twilio Voice JavaScript SDK from the npm registry (needs npm).
VOICE_SDK_VERSION ?= 2.18.5
vendor-sdk:
	scripts/vendor-voice-sdk.sh $(VOICE_SDK_VERSION)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
