"""Settings come from the environment, and production refuses development secrets."""

from __future__ import annotations

import json
import os
import secrets
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


def settings_json(expression: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "CACHE_"))
    }
    environment.update(env)
    script = f"import json, ledger.settings as s; print(json.dumps({expression}))"
    return subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_on_postgresql_connections_come_from_a_bounded_pool_sized_by_the_environment():
    default = settings_json("s.DATABASES['default']", DATABASE_URL="postgres://u@127.0.0.1:5432/x")
    sized = settings_json(
        "s.DATABASES['default']['OPTIONS']['pool']",
        DATABASE_URL="postgres://u@127.0.0.1:5432/x",
        DATABASE_POOL_MIN="2",
        DATABASE_POOL_MAX="4",
        DATABASE_POOL_TIMEOUT="7",
    )

    database = json.loads(default.stdout)
    assert database["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 10, "timeout": 30}
    assert database["CONN_MAX_AGE"] == 0  # Django refuses persistent connections with a pool
    assert json.loads(sized.stdout) == {"min_size": 2, "max_size": 4, "timeout": 7}


def test_a_pool_of_zero_falls_back_to_persistent_connections():
    result = settings_json(
        "s.DATABASES['default']",
        DATABASE_URL="postgres://u@127.0.0.1:5432/x",
        DATABASE_POOL_MAX="0",
        DATABASE_CONN_MAX_AGE="30",
    )

    database = json.loads(result.stdout)
    assert "pool" not in database.get("OPTIONS", {}) and database["CONN_MAX_AGE"] == 30


def test_a_pool_whose_minimum_exceeds_its_maximum_is_refused_by_name():
    result = settings_json(
        "1",
        DATABASE_URL="postgres://u@127.0.0.1:5432/x",
        DATABASE_POOL_MIN="5",
        DATABASE_POOL_MAX="2",
    )

    assert result.returncode != 0
    assert "DATABASE_POOL_MIN (5) must be between 0 and DATABASE_POOL_MAX (2)" in result.stderr


def test_without_redis_the_cache_is_per_process():
    result = settings_json("s.CACHES['default']['BACKEND']")

    assert json.loads(result.stdout) == "django.core.cache.backends.locmem.LocMemCache"


@pytest.mark.parametrize("variable", ["REDIS_URL", "CACHE_URL"])
def test_redis_url_puts_the_cache_and_so_the_rate_limits_on_redis(variable):
    result = settings_json("s.CACHES['default']", **{variable: "redis://127.0.0.1:6379/2"})

    assert json.loads(result.stdout) == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/2",
        "KEY_PREFIX": "ledger",
    }


def test_a_cache_url_that_is_not_redis_is_refused_without_quoting_it():
    result = settings_json("1", CACHE_URL="memcached://:hunter2@cache:11211")

    assert result.returncode != 0
    assert "must be a redis://" in result.stderr and "hunter2" not in result.stderr


def _production(**env: str) -> dict[str, str]:
    skey, _ = generate_skey("ledger.example.org/log")
    return {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "LEDGER_PSEUDONYM_SECRET": "p" * 50,
        "LEDGER_LOG_SIGNING_KEY": skey,
        "LEDGER_LOG_ORIGIN": "ledger.example.org/log",
        "ALLOWED_HOSTS": "ledger.example.org",
        "DATABASE_URL": "sqlite:///:memory:",
        **env,
    }


def _deploy_check(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECRET"))}
    environment.update(_production(**env))
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_deploy_is_clean_with_the_documented_production_environment():
    # The README's production section sets these two when the whole domain is HTTPS-only.
    result = _deploy_check(SECURE_HSTS_INCLUDE_SUBDOMAINS="1", SECURE_HSTS_PRELOAD="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_names_what_an_operator_turned_off():
    result = _deploy_check(SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="0")
    assert result.returncode != 0
    assert "security.W008" in result.stderr + result.stdout
    assert "security.W004" in result.stderr + result.stdout


def _settings(**env: str) -> dict[str, object]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECRET"))}
    environment.update(_production(**env))
    code = (
        "import json, ledger.settings as s; print(json.dumps({k: getattr(s, k, None) for k in "
        "['SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', "
        "'SECURE_HSTS_PRELOAD', 'SECURE_PROXY_SSL_HEADER', 'SESSION_COOKIE_SECURE', "
        "'CSRF_COOKIE_SECURE', 'SECURE_REDIRECT_EXEMPT']}))"
    )
    result = subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    loaded: dict[str, object] = json.loads(result.stdout)
    return loaded


def test_production_security_defaults_are_the_safe_ones_and_each_is_an_environment_setting():
    defaults = _settings()
    assert defaults["SECURE_SSL_REDIRECT"] is True
    assert defaults["SECURE_HSTS_SECONDS"] == 31_536_000
    assert defaults["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert defaults["SECURE_HSTS_PRELOAD"] is False
    assert defaults["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert defaults["SESSION_COOKIE_SECURE"] is True and defaults["CSRF_COOKIE_SECURE"] is True
    assert defaults["SECURE_REDIRECT_EXEMPT"] == ["^health/$", "^metrics$"]
    direct = _settings(TRUST_X_FORWARDED_PROTO="0", SECURE_HSTS_SECONDS="600")
    assert direct["SECURE_PROXY_SSL_HEADER"] is None
    assert direct["SECURE_HSTS_SECONDS"] == 600


def test_a_negative_hsts_age_is_refused_by_name():
    result = import_settings(**_production(SECURE_HSTS_SECONDS="-1"))
    assert result.returncode != 0
    assert "SECURE_HSTS_SECONDS must be 0 or more" in result.stderr
