# Signpost: the two set-up commands are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# The locks: every package pinned with its hashes, for Python 3.11 (`make lock` writes them).
RUNTIME_LOCK := requirements/runtime.txt
DEV_LOCK := requirements/dev.txt
LOCK_PYTHON := 3.11
# Extra pip-compile options, e.g. LOCK_ARGS="--upgrade-package httpx" or LOCK_ARGS=--upgrade.
LOCK_ARGS ?=
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host \
	$(LOCK_ARGS)

.PHONY: run demo test lint bench install lock check-lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The dependencies come from the lock, hashes required; the project itself adds none.
$(STAMP): pyproject.toml $(RUNTIME_LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(RUNTIME_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(DEV_STAMP): pyproject.toml $(DEV_LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@ $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/signpost run

demo: $(STAMP)
	$(BIN)/signpost demo

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(DEV_STAMP)
	@for f in bench/[!_]*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# Both locks from pyproject.toml, keeping every pin that still fits (pip-tools is in the dev
# extra, so the dev install brings it). Commit pyproject.toml and requirements/ together.
lock: $(DEV_STAMP)
	@$(BIN)/python -c 'import sys; v = "%d.%d" % sys.version_info[:2]; sys.exit(v != "$(LOCK_PYTHON)" \
		and f"make lock: the locks are for Python $(LOCK_PYTHON); $(BIN)/python is {v}")'
	$(PIP_COMPILE) --output-file $(RUNTIME_LOCK) pyproject.toml
	$(PIP_COMPILE) --extra dev --output-file $(DEV_LOCK) pyproject.toml
	$(BIN)/python scripts/check_lock.py

# Fails, one line per problem, when a lock no longer satisfies pyproject.toml (.ci/run).
check-lock: $(DEV_STAMP)
	$(BIN)/python scripts/check_lock.py

clean:
	rm -rf $(VENV) build *.egg-info
