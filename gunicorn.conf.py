"""Gunicorn's settings for the ledger in production: `gunicorn ledger.wsgi` from the repository
root reads this file. Each value can be set from the environment (see the README).

Database connections: each worker process keeps its own pool (DATABASE_POOL_MAX, by default
the worker's thread count), so the web tier holds at most workers x DATABASE_POOL_MAX
connections; that plus the Celery workers' must stay under PostgreSQL's max_connections.
"""

from __future__ import annotations

import os
from typing import Any


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from exc


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Requests spend most of their time in PostgreSQL and in hashing; two workers a core keep the
# cores busy while others wait on the database.
workers = _int("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1)
threads = _int("GUNICORN_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"
# A request never needs more than one connection per thread, so that is the pool's default.
os.environ.setdefault("DATABASE_POOL_MAX", str(threads))

# A batch of 1,000 decisions takes about half a second; a request still running after this is
# stuck (e.g. waiting on a lock), and its worker is replaced.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then, staggered, so that no slow leak outlives a day.
max_requests = _int("GUNICORN_MAX_REQUESTS", 10000)
max_requests_jitter = max_requests // 10

# Access log to stdout: address, method, path without its query string, status, size, time in
# milliseconds, user agent. No header that carries a credential (Authorization) is logged.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
# The proxy in front (which terminates TLS) may set X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# gunicornc's control socket, only where the operator names one: its default path is one per
# user ($XDG_RUNTIME_DIR or ~/.gunicorn), so a second server on the machine (a staging ledger,
# CI) would take it over from the first and remove it when it stops.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket


def on_starting(server: Any) -> None:
    """Refuse to start on a broken configuration (Django's system checks, ledger/checks.py),
    before any worker is forked, as `manage.py runserver` does."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledger.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("check", fail_level="ERROR")
    _empty_metrics_dir()


def _empty_metrics_dir() -> None:
    """prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, see ledger.health)
    keeps one file per worker pid; files of a previous run would be summed into this one's."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if not directory:
        return
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.unlink(os.path.join(directory, name))


def child_exit(server: Any, worker: Any) -> None:
    """A worker is gone: its live gauges leave the multiprocess sum (its counters stay)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
