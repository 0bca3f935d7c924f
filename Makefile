# Two commands do everything from a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test test-fast bench faults venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/m365dash demo --port 5006

# With M365DASH_TEST_POSTGRES=1 (CI sets it) the store, sync, workflow, shared-store and schedule tests
# run a second time with the store on a local PostgreSQL server.
POSTGRES_TESTS := tests/services tests/integration/test_sync.py tests/integration/test_workflows.py \
                  tests/integration/test_shared_store.py tests/integration/test_schedules.py
test: $(TEST_STAMP)
	@bash .ci/ensure-chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	@if [ "$$M365DASH_TEST_POSTGRES" = "1" ]; then \
	  url=$$(bash .ci/postgres start) || exit 2; \
	  echo "== store, sync and workflow tests on PostgreSQL"; \
	  M365DASH_TEST_BACKEND=postgresql M365DASH_TEST_POSTGRES_URL=$$url \
	    $(BIN)/python -m pytest -p no:cacheprovider $(POSTGRES_TESTS); rc=$$?; \
	  bash .ci/postgres stop; exit $$rc; \
	fi

# The quick run while working: services, emulator, view models, security over HTTP; no browser
# (so no chromium is needed) and nothing marked slow (timing and soak tests, notebooks, faults).
test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest -m "not browser and not slow" $(PYTEST_ARGS)

bench: $(TEST_STAMP)
	@bash .ci/ensure-chromium
	@# Every script runs and prints its figures; a missed target (exit 1) is listed at the end.
	@missed=""; for script in bench/bench_*.py; do echo "== $$script"; \
	  $(BIN)/python $$script || missed="$$missed $$script"; done; \
	if [ -n "$$missed" ]; then echo "targets missed or failed in:$$missed"; exit 1; fi

# The long fault run: 500 onboardings and 100 offboardings under throttling, 503s and lost answers.
faults: $(TEST_STAMP)
	M365DASH_FAULT_SCALE=full $(BIN)/python -m pytest tests/faults -q -s -p no:cacheprovider

clean:
	rm -rf $(VENV) .pytest_cache
