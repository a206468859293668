# The two commands a newcomer runs: `make run` and `make test`. Neither needs a database or
# broker server: SQLite and Celery's filesystem broker are the defaults (see README).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run web worker test test-postgres lint typecheck superuser clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

# Migrates, loads the demo data (once), then runs the web server and a Celery worker with beat.
# Ctrl-C stops both.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "Web: http://$(HOST):$(PORT)/  API docs: http://$(HOST):$(PORT)/api/v1/docs  Admin: http://$(HOST):$(PORT)/admin/ (make superuser)"
	@trap 'kill 0' INT TERM EXIT; \
	$(BIN)/celery -A ledger.celery worker --beat --loglevel=info --concurrency=1 & \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

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

typecheck: install
	$(BIN)/mypy .

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
