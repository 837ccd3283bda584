# Two commands for a new user: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PLUGINS := plugins/avatar_creator plugins/pose_generator plugins/payments_duitku
EDITABLE := -e core $(foreach p,$(PLUGINS),-e $(p))

.PHONY: run test install dev lint typecheck pytest pytest-sqlite pytest-postgresql bench clean console-assets

$(VENV)/.installed: core/pyproject.toml $(foreach p,$(PLUGINS),$(p)/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(EDITABLE)
	touch $@

$(VENV)/.dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.dev

## make run: create .venv, install core and the three plugins, migrate SQLite, serve on :3000
run: $(VENV)/.installed
	$(BIN)/lumiku migrate
	$(BIN)/lumiku serve

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy core/src plugins/avatar_creator/src plugins/pose_generator/src plugins/payments_duitku/src docs/examples

# Each backend keeps its own pytest cache (--lf, --ff), as the two suites run side by side.
pytest-sqlite: $(VENV)/.dev
	LUMIKU_TEST_DATABASE=sqlite $(BIN)/pytest -o cache_dir=.pytest_cache/sqlite $(PYTEST_ARGS)

pytest-postgresql: $(VENV)/.dev
	LUMIKU_TEST_DATABASE=postgresql $(BIN)/pytest -o cache_dir=.pytest_cache/postgresql $(PYTEST_ARGS)

## make test: ruff, mypy, and the whole suite on SQLite and on PostgreSQL (+ Redis), side by
## side (most of a suite's time is waiting: for the database, for worker threads to stop).
## Each part's output is printed as a block when it ends; the command fails if any part does.
test: $(VENV)/.dev
	@echo "make test: ruff, mypy, pytest on SQLite and on PostgreSQL, run side by side..."
	@$(MAKE) --no-print-directory --jobs=4 --output-sync=target lint typecheck pytest-sqlite pytest-postgresql

## make bench: startup, ledger, jobs, and HTTP against a FastAPI peer (installs wrk if missing)
bench: $(VENV)/.dev
	@command -v wrk >/dev/null || apt-get install -y wrk || sudo apt-get install -y wrk
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/jobs.py
	$(BIN)/python bench/edge.py

## make console-assets: copy the pinned npm packages of console/package.json (and its lock)
## into the core package (socket.io-client, served at /console/vendor/) and the browser
## tests (axe-core). The copies are committed: a clone needs only Python; rerun after a bump.
CONSOLE_STATIC := core/src/lumiku/console/static
BROWSER_ASSETS := tests/browser/assets
console-assets:
	cd console && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	mkdir -p $(CONSOLE_STATIC)/vendor $(BROWSER_ASSETS)
	cp console/node_modules/socket.io-client/dist/socket.io.esm.min.js $(CONSOLE_STATIC)/vendor/
	cp console/node_modules/socket.io-client/LICENSE $(CONSOLE_STATIC)/vendor/socket.io-client.LICENSE
	cp console/node_modules/axe-core/axe.min.js $(BROWSER_ASSETS)/
	cp console/node_modules/axe-core/LICENSE $(BROWSER_ASSETS)/axe-core.LICENSE

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
