"""A broken production configuration stops the service at start-up, saying what to fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import checks

from ledger.note import generate_skey

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "ledger.example.org/log"
GOOD_KEY = generate_skey(ORIGIN)[0]
SECRET = "s" * 50
PSEUDONYM_SECRET = "p" * 50


def errors() -> dict[str, str]:
    return {
        message.id: f"{message.msg} {message.hint}"
        for message in checks.run_checks()
        if message.is_serious() and message.id and message.id.startswith("ledger.")
    }


@pytest.fixture
def production(settings) -> None:
    settings.DEBUG = False
    settings.SECRET_KEY = SECRET
    settings.PSEUDONYM_SECRET = PSEUDONYM_SECRET
    settings.LEDGER_LOG_ORIGIN = ORIGIN
    settings.LEDGER_LOG_SIGNING_KEY = GOOD_KEY


def test_a_sound_production_configuration_passes_the_checks(production):
    assert errors() == {}


@pytest.mark.parametrize(
    "key",
    [
        "not-a-key",
        "PRIVATE+KEY+ledger.example.org/log",
        "PRIVATE+KEY+ledger.example.org/log+00000000+AAAA",
        GOOD_KEY[:-4] + "AAAA",  # a valid shape whose key id no longer matches the key
    ],
)
def test_a_malformed_log_signing_key_is_refused_by_name(production, settings, key):
    settings.LEDGER_LOG_SIGNING_KEY = key

    found = errors()

    assert set(found) == {"ledger.E001"}
    assert "LEDGER_LOG_SIGNING_KEY is not a valid note signer key" in found["ledger.E001"]
    assert "generate_skey('ledger.example.org/log')" in found["ledger.E001"]


def test_a_key_named_other_than_the_log_origin_is_refused(production, settings):
    settings.LEDGER_LOG_SIGNING_KEY = generate_skey("other.example.org/log")[0]

    found = errors()

    assert set(found) == {"ledger.E002"}
    assert "'other.example.org/log'" in found["ledger.E002"]
    assert "LEDGER_LOG_ORIGIN is 'ledger.example.org/log'" in found["ledger.E002"]


def test_a_secret_key_equal_to_the_pseudonym_secret_is_refused(production, settings):
    settings.PSEUDONYM_SECRET = SECRET

    found = errors()

    assert set(found) == {"ledger.E003"}
    assert "SECRET_KEY and LEDGER_PSEUDONYM_SECRET are the same value" in found["ledger.E003"]


def test_no_check_message_quotes_a_secret(production, settings):
    settings.PSEUDONYM_SECRET = SECRET
    settings.LEDGER_LOG_SIGNING_KEY = GOOD_KEY[:-4] + "AAAA"

    text = " ".join(errors().values())

    assert SECRET not in text and GOOD_KEY[-20:-4] not in text


def manage_check(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LEDGER_"))}
    environment.update(
        DEBUG="0",
        SECRET_KEY=SECRET,
        LEDGER_PSEUDONYM_SECRET=PSEUDONYM_SECRET,
        LEDGER_LOG_ORIGIN=ORIGIN,
        LEDGER_LOG_SIGNING_KEY=GOOD_KEY,
        DATABASE_URL="sqlite:///:memory:",
    )
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_manage_py_check_passes_a_sound_production_configuration():
    result = manage_check()

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LEDGER_LOG_SIGNING_KEY": "PRIVATE+KEY+broken"}, "ledger.E001"),
        ({"LEDGER_LOG_SIGNING_KEY": generate_skey("elsewhere/log")[0]}, "ledger.E002"),
        ({"LEDGER_PSEUDONYM_SECRET": SECRET}, "ledger.E003"),
    ],
)
def test_manage_py_check_refuses_a_broken_production_configuration(env, expected):
    result = manage_check(**env)

    assert result.returncode != 0
    assert expected in result.stderr
    assert "HINT" in result.stderr


def test_gunicorn_refuses_to_start_on_a_broken_production_configuration():
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LEDGER_"))}
    environment.update(
        DEBUG="0",
        SECRET_KEY=SECRET,
        LEDGER_PSEUDONYM_SECRET=PSEUDONYM_SECRET,
        LEDGER_LOG_ORIGIN=ORIGIN,
        LEDGER_LOG_SIGNING_KEY=generate_skey("elsewhere/log")[0],
        DATABASE_URL="sqlite:///:memory:",
        GUNICORN_BIND="127.0.0.1:0",
        WEB_CONCURRENCY="1",
    )
    result = subprocess.run(  # noqa: S603 (gunicorn from our own virtualenv)
        [str(Path(sys.executable).with_name("gunicorn")), "ledger.wsgi"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert result.returncode != 0
    assert "ledger.E002" in result.stderr
