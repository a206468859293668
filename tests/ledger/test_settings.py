"""Settings come from the environment, and production refuses development secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.note import generate_skey

ROOT = Path(__file__).resolve().parents[2]


def import_settings(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECRET"))}
    environment.pop("LEDGER_PSEUDONYM_SECRET", None)
    environment.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import ledger.settings as s; print(s.DATABASES['default']['ENGINE'])",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_with_debug_off_the_development_secret_key_is_refused():
    result = import_settings(DEBUG="0")

    assert result.returncode != 0
    assert "SECRET_KEY is the development default" in result.stderr


def test_with_debug_off_the_development_pseudonym_secret_is_refused():
    result = import_settings(DEBUG="0", SECRET_KEY="x" * 50)

    assert result.returncode != 0
    assert "LEDGER_PSEUDONYM_SECRET" in result.stderr


def test_with_debug_off_the_log_signing_key_is_required():
    result = import_settings(DEBUG="0", SECRET_KEY="k" * 50, LEDGER_PSEUDONYM_SECRET="p" * 50)

    assert result.returncode != 0
    assert "LEDGER_LOG_SIGNING_KEY must be set" in result.stderr


def test_with_debug_off_and_real_secrets_the_settings_load():
    skey, _ = generate_skey("ledger.example.org/log")
    result = import_settings(
        DEBUG="0",
        SECRET_KEY="k" * 50,
        LEDGER_PSEUDONYM_SECRET="p" * 50,
        LEDGER_LOG_SIGNING_KEY=skey,
        DATABASE_URL="sqlite:///:memory:",
    )

    assert result.returncode == 0, result.stderr
    assert "sqlite3" in result.stdout


def test_database_url_selects_postgresql():
    result = import_settings(DATABASE_URL="postgres://u@127.0.0.1:5432/x")

    assert result.stdout.strip() == "django.db.backends.postgresql"


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_malformed_boolean_is_refused_by_name(value):
    result = import_settings(DEBUG=value)

    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_the_ledger_package_imports_without_django():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, ledger; print('django' in sys.modules, 'celery' in sys.modules)",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.strip() == "False False"
