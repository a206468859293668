"""Under load, on the default settings: many platforms' writers at once get no server error,
and the number of database connections stays bounded by the pool, not by the clients."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from moderation.models import Decision
from tests.factories import decision_payload

WRITERS = 20
BATCHES_PER_WRITER = 4
BATCH = 25


def backend_count(dsn: str, database: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.postgres
def test_twenty_concurrent_writers_get_no_server_error_and_connections_stay_bounded(
    live_server, flushable_append_only_tables, api_key, model_v1
):
    pool = settings.DATABASES["default"]["OPTIONS"]["pool"]
    database = connection.settings_dict["NAME"]
    dsn = psycopg.conninfo.make_conninfo(
        host=connection.settings_dict["HOST"] or "",
        port=str(connection.settings_dict["PORT"] or ""),
        user=connection.settings_dict["USER"] or "",
        password=connection.settings_dict["PASSWORD"] or "",
        dbname="postgres",
    )
    bodies = [
        [
            json.dumps({"decisions": [decision_payload() for _ in range(BATCH)]}).encode()
            for _ in range(BATCHES_PER_WRITER)
        ]
        for _ in range(WRITERS)
    ]
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    barrier = threading.Barrier(WRITERS)
    done = threading.Event()
    peak = 0

    def write(batches: list[bytes]) -> None:
        barrier.wait(timeout=30)
        for body in batches:
            request = urllib.request.Request(  # noqa: S310 (the live server)
                f"{live_server.url}/api/v1/decisions/batch",
                data=body,
                method="POST",
                headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                    statuses[response.status] += 1
            except urllib.error.HTTPError as exc:
                statuses[exc.code] += 1
                errors.append(exc.read().decode(errors="replace")[:300])

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, backend_count(dsn, database))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    writers = [threading.Thread(target=write, args=(b,)) for b in bodies]
    try:
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join(timeout=300)
    finally:
        done.set()
        watcher.join(timeout=10)

    assert statuses == {201: WRITERS * BATCHES_PER_WRITER}, errors[:3]
    assert Decision.objects.count() == WRITERS * BATCHES_PER_WRITER * BATCH
    # The live server's pool, plus this test's own connection: never one per client.
    assert peak <= pool["max_size"] + 1, peak
