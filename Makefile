# Talat Chumchon: `make run` serves the marketplace with demo data; `make test` runs the suite.

# The interpreter for the virtualenv: Python 3.12 or newer (scripts/find_python says why);
# `make install PYTHON=/path/to/python3.12` picks one.
PYTHON ?=
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AUDIT_STAMP := $(VENV)/.audit-installed
# Node packages for the browser tests and the UI audit (axe-core, Lighthouse): package-lock.json.
NODE_STAMP := node_modules/.installed
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
CATALOGS := $(wildcard marketplace/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

.PHONY: run up test audit bench install translations messages lint format clean vendor ui-audit \
	mutation mutation-arithmetic backup restore

run: install translations
	$(FLASK) db upgrade
	$(FLASK) geo load
	$(FLASK) demo seed --if-empty
	$(FLASK) run --host $(HOST) --port $(PORT)

# The production topology on this machine: gunicorn, a Celery worker and one beat (Procfile)
# against PostgreSQL and Redis (DATABASE_URL, CELERY_BROKER_URL; defaults 127.0.0.1).
up: install translations
	scripts/up

# The suite runs on PYTEST_WORKERS pytest-xdist processes (0: in pytest's own process).
PYTEST_WORKERS ?= 2

test: install $(AUDIT_STAMP) $(NODE_STAMP) translations
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

# Lighthouse (npm) in mobile mode, with Debian's Chromium, on the demo marketplace served by
# gunicorn: home, catalog, product, cart, order, seller centre, fund report (scripts/ui_audit.py).
ui-audit: install translations $(NODE_STAMP)
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium fonts-noto-core; }
	$(BIN)/python scripts/ui_audit.py

# Copy Pico CSS and the Sarabun font from node_modules into static/vendor (committed: running
# the marketplace never needs Node); after changing their versions in package.json.
vendor: $(NODE_STAMP)
	$(BIN)/python scripts/vendor_assets.py

# Known vulnerabilities in the pinned requirements, offline: a packaged snapshot of the GitHub
# Advisory Database (requirements-audit.txt), checked by scripts/audit_dependencies.py.
audit: install $(AUDIT_STAMP)
	$(BIN)/python scripts/audit_dependencies.py requirements.txt requirements-dev.txt

# Performance figures, each beside its floor (benchmarks/__main__.py): PostgreSQL on
# 127.0.0.1:5432 (TEST_POSTGRES_URL), wrk and redis-server from Debian. BENCH_SCALE=0.05 for a
# quick run; BENCH_SECONDS per load (default 10).
bench: install translations
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	@command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server; }
	$(BIN)/python -m benchmarks

# Mutation testing (mutmut) of the money code: levy and fee arithmetic, group-order shares,
# levy routing (orders, levies, fees and refunds posted), fees, sellers' proceeds, refunds,
# ledger posting and remittances (scripts/mutation.py; README gives its time on 2 cores).
# Prints mutation_killed=, mutation_total=,
# mutation_score= and the survivors; fails under 0.95. MUTATION_CHILDREN processes (default:
# one per core).
mutation: install translations
	$(BIN)/python scripts/mutation.py money

# The pure arithmetic modules alone, with their database-free tests (about a minute; CI).
mutation-arithmetic: install
	$(BIN)/python scripts/mutation.py arithmetic

# A PostgreSQL dump (custom format) and `flask ledger export` of DATABASE_URL into
# BACKUP_DIR (default backups/), with a manifest of the dump's ledger chain heads.
backup: install
	@command -v pg_dump >/dev/null || { apt-get update -qq && apt-get install -y -qq postgresql-client; }
	$(BIN)/python scripts/backup.py backup

# The newest backup in BACKUP_DIR (or BACKUP=…/talat-<time>.json) into a new database
# (RESTORE_URL, default <database>_restore_<time>), then `flask ledger verify` and every
# chain head compared with the backup's.
restore: install translations
	@command -v pg_restore >/dev/null || { apt-get update -qq && apt-get install -y -qq postgresql-client; }
	$(BIN)/python scripts/backup.py restore $(BACKUP)

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt scripts/find_python
	@python=$$(PYTHON="$(PYTHON)" scripts/find_python) || exit 1; \
	if ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
		echo "creating $(VENV) with $$python"; rm -rf $(VENV); "$$python" -m venv $(VENV); \
	fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(AUDIT_STAMP): requirements-audit.txt $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements-audit.txt
	touch $(AUDIT_STAMP)

# Compiled catalogues (.mo) are built from the .po files, never committed.
translations: $(COMPILED)

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

# After changing user-facing text: extract it and merge it into the catalogues.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--project "Talat Chumchon" -o marketplace/translations/messages.pot .
	$(BIN)/pybabel update -i marketplace/translations/messages.pot -d marketplace/translations \
		--width 100 --ignore-obsolete

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache
	find marketplace/translations -name '*.mo' -delete
