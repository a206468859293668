# The two commands a newcomer runs: `make run` and `make test`. Neither needs a database or
# broker server: SQLite and Celery's filesystem broker are the defaults (see README).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run demo-key web worker test test-postgres lint typecheck superuser clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

# Migrates, loads the demo data (once), then runs the web server and a Celery worker with beat.
# Ctrl-C stops both, each once: Ctrl-C reaches the worker too (a warm shutdown); a worker still
# running a few seconds later (the shell was stopped some other way) is sent one TERM.
# CELERY_LOGLEVEL=info shows beat's and the worker's every task; by default only warnings.
CELERY_LOGLEVEL ?= warning
SEED_ARGS ?=
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo $(SEED_ARGS)
	@echo
	@$(BIN)/python manage.py demo_key
	@echo "Web: http://$(HOST):$(PORT)/  API docs: http://$(HOST):$(PORT)/api/v1/docs  Admin: http://$(HOST):$(PORT)/admin/ (make superuser)"
	@$(BIN)/celery -A ledger.celery worker --beat --loglevel=$(CELERY_LOGLEVEL) --pool=solo & \
	worker=$$!; \
	stop() { trap '' INT TERM; \
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 $$worker 2>/dev/null || break; sleep 0.5; done; \
		kill -TERM $$worker 2>/dev/null; wait $$worker 2>/dev/null; }; \
	trap 'stop; exit 0' INT TERM; \
	trap stop EXIT; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# The demo platform's API key again (development only).
demo-key: install
	@$(BIN)/python manage.py demo_key

web: install
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

worker: install
	$(BIN)/celery -A ledger.celery worker --beat --loglevel=info

superuser: install
	$(BIN)/python manage.py createsuperuser

test: install
	$(BIN)/pytest

# The same suite against PostgreSQL, e.g. make test-postgres DATABASE_URL=postgres://postgres@127.0.0.1:5432/ledger
test-postgres: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ledger} $(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy .

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
