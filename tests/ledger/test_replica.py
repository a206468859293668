"""Public reads on a read replica (ledger.replica): which requests' queries reach it, and that
nothing changes without one.

The replica here is a second alias mirroring the test database (Django's TEST MIRROR): its own
connection to the same database, as a streaming replica is its own server with the same rows.
The tests that read through it are transactional, so that what the default connection writes
is committed and seen by the replica's connection.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.test import RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext

from ledger import log, replica
from ledger.public import rollups
from ledger.replica import REPLICA, PublicReadMiddleware, ReplicaRouter, is_public_read
from moderation import services
from moderation.models import Decision, ModelVersion, Platform
from tests.factories import as_input, decision_payload

ROOT = Path(__file__).resolve().parents[2]
ROUTERS = ["ledger.replica.ReplicaRouter"]
STATS = "/api/v1/stats/models"
BOTH = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])


def record(platform: Platform, count: int) -> list[Decision]:
    recorded = services.record_decisions(
        platform=platform, decisions=[as_input(decision_payload()) for _ in range(count)]
    )
    return list(Decision.objects.filter(public_id__in=[r.public_id for r in recorded]))


def sql(context: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in context.captured_queries]


def get(
    client: Any, url: str, method: str = "get", **extra: Any
) -> tuple[Any, list[str], list[str]]:
    """The response, and the SQL it ran on the primary and on the replica."""
    with (
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary,
        CaptureQueriesContext(connections[REPLICA]) as standby,
    ):
        response = getattr(client, method)(url, **extra)
    return response, sql(primary), sql(standby)


@pytest.fixture(scope="class")
def replica_alias(django_db_setup: None) -> Iterator[None]:
    """A "replica" alias mirroring the test database, and the router, as DATABASE_REPLICA_URL
    sets them (ledger.settings). Class-scoped so that it exists before pytest-django checks the
    tests' `databases`."""
    added = REPLICA not in connections.settings
    if added:
        mirror = copy.deepcopy(connections[DEFAULT_DB_ALIAS].settings_dict)
        mirror["TEST"] = {**mirror.get("TEST", {}), "MIRROR": DEFAULT_DB_ALIAS}
        connections.settings[REPLICA] = mirror
    with override_settings(DATABASE_ROUTERS=ROUTERS):
        yield
    if added:
        standby = connections[REPLICA]
        standby.close()
        if getattr(standby, "pool", None) is not None:
            standby.close_pool()  # type: ignore[attr-defined]
        del connections[REPLICA]
        del connections.settings[REPLICA]


@pytest.mark.usefixtures("replica_alias")
class TestWithAReplica:
    @BOTH
    def test_the_public_model_statistics_are_read_on_the_replica(
        self, client: Any, platform: Platform, model_v1: ModelVersion
    ) -> None:
        record(platform, 12)
        rollups.refresh()  # what beat does within seconds: seal, count up to the checkpoint

        response, primary, standby = get(client, STATS)

        assert response.status_code == 200
        # The replica's connection saw the primary's committed rows.
        assert response.json()["results"][0]["decisions"] == 12
        assert len(standby) >= 2
        assert primary == []

    @BOTH
    def test_a_head_request_for_the_statistics_is_read_on_the_replica(
        self, client: Any, platform: Platform, model_v1: ModelVersion
    ) -> None:
        response, primary, standby = get(client, STATS, method="head")

        assert response.status_code == 200
        assert standby and primary == []

    @BOTH
    def test_a_recorded_decision_is_written_and_read_on_the_primary_only(
        self, api: Any, platform: Platform
    ) -> None:
        with (
            CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary,
            CaptureQueriesContext(connections[REPLICA]) as standby,
        ):
            response = api.post(
                "/api/v1/decisions",
                data=json.dumps(decision_payload()),
                content_type="application/json",
            )

        assert response.status_code == 201, response.content
        assert any(query.startswith("INSERT") for query in sql(primary))
        assert sql(standby) == []

    @BOTH
    def test_the_notice_page_is_read_on_the_primary(
        self, client: Any, platform: Platform, model_v1: ModelVersion
    ) -> None:
        [decision] = record(platform, 1)

        response, primary, standby = get(client, f"/notice/{decision.notice_token}")

        assert response.status_code == 200
        assert primary and standby == []

    @BOTH
    def test_the_log_is_read_on_the_primary_so_a_platform_reads_what_it_just_wrote(
        self, client: Any, platform: Platform, model_v1: ModelVersion
    ) -> None:
        record(platform, 3)

        response, primary, standby = get(client, "/api/v1/log/entries?start=0&end=3")

        assert response.status_code == 200
        assert len(response.json()["entries"]) == 3
        assert primary and standby == []

    @BOTH
    def test_statistics_asked_with_an_api_key_or_a_session_are_read_on_the_primary(
        self, client: Any, platform: Platform, model_v1: ModelVersion
    ) -> None:
        response, primary, standby = get(client, STATS, HTTP_AUTHORIZATION="Bearer some-key")
        assert response.status_code == 200
        assert primary and standby == []

        client.cookies["sessionid"] = "some-session"
        response, primary, standby = get(client, STATS)
        assert response.status_code == 200
        assert primary and standby == []

    def test_a_streamed_public_read_stays_on_the_replica_while_the_body_is_produced(
        self,
    ) -> None:
        """A data export streams its rows after the view has returned: each chunk is produced
        inside the mark, and the mark ends with the request."""
        router = ReplicaRouter()

        def export(request: HttpRequest) -> HttpResponseBase:
            return StreamingHttpResponse(router.db_for_read(Decision).encode() for _ in range(3))

        response = PublicReadMiddleware(export)(RequestFactory().get("/data/decisions.csv"))

        assert isinstance(response, StreamingHttpResponse)
        chunks = response.streaming_content
        assert isinstance(chunks, Iterator)
        assert b"".join(chunks) == b"replica" * 3
        assert router.db_for_read(Decision) == DEFAULT_DB_ALIAS

    def test_inside_a_public_read_writes_still_go_to_the_primary(self) -> None:
        router = ReplicaRouter()
        seen: dict[str, str] = {}

        def view(request: HttpRequest) -> HttpResponseBase:
            seen["read"] = router.db_for_read(Decision)
            seen["write"] = router.db_for_write(Decision)
            return HttpResponse()

        PublicReadMiddleware(view)(RequestFactory().get(STATS))

        assert seen == {"read": REPLICA, "write": DEFAULT_DB_ALIAS}


def test_only_the_primary_is_migrated() -> None:
    router = ReplicaRouter()

    assert router.allow_migrate(DEFAULT_DB_ALIAS, "moderation") is True
    assert router.allow_migrate(REPLICA, "moderation") is False


def test_objects_from_the_primary_and_the_replica_may_be_related() -> None:
    on_primary, on_replica, elsewhere = Platform(), Platform(), Platform()
    on_primary._state.db = DEFAULT_DB_ALIAS
    on_replica._state.db = REPLICA
    elsewhere._state.db = "archive"

    assert ReplicaRouter().allow_relation(on_primary, on_replica) is True
    assert ReplicaRouter().allow_relation(on_primary, elsewhere) is None


@pytest.mark.parametrize(
    ("method", "path", "headers", "public"),
    [
        ("get", "/api/v1/stats/models", {}, True),
        ("head", "/stats/models", {}, True),
        ("get", "/reports/2026-11", {}, True),
        ("get", "/api/v1/reports/", {}, True),
        ("get", "/data/decisions.csv", {}, True),
        ("post", "/api/v1/stats/models", {}, False),
        ("get", "/api/v1/stats/models", {"HTTP_AUTHORIZATION": "Bearer k"}, False),
        ("get", "/api/v1/decisions", {}, False),
        ("get", "/notice/some-token", {}, False),
        ("get", "/admin/", {}, False),
        ("get", "/api/v1/log/entries", {}, False),
        ("get", "/log/tile/0/000", {}, False),
        ("get", "/log/checkpoint", {}, False),
        ("get", "/api/v1/statistics", {}, False),
    ],
)
def test_which_requests_are_public_reads(
    method: str, path: str, headers: dict[str, str], public: bool
) -> None:
    request = getattr(RequestFactory(), method)(path, **headers)

    assert is_public_read(request) is public


def test_a_request_with_a_session_cookie_is_not_a_public_read() -> None:
    request = RequestFactory().get("/stats/")
    request.COOKIES["sessionid"] = "abc"

    assert is_public_read(request) is False


@pytest.mark.django_db
def test_without_a_replica_the_statistics_are_read_on_the_primary(
    client: Any, platform: Platform, model_v1: ModelVersion, settings: Any
) -> None:
    """No DATABASE_REPLICA_URL: no alias; even with the router installed by mistake, every
    read stays on the primary."""
    record(platform, 12)
    rollups.refresh()
    assert REPLICA not in connections.settings
    settings.DATABASE_ROUTERS = ROUTERS

    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary:
        response = client.get(STATS)

    assert response.status_code == 200
    assert response.json()["results"][0]["decisions"] == 12
    assert len(sql(primary)) >= 2
    assert replica._public_read.get() is False


@pytest.mark.django_db
def test_tiles_a_cache_may_keep_forever_and_the_ones_it_must_not_keep(
    client: Any, platform: Platform, model_v1: ModelVersion
) -> None:
    """Served as static files behind a CDN (README, "Scale"): a full tile and a partial tile
    never change; a tile the log does not hold yet will exist soon, so its 404 is not stored."""
    record(platform, 299)  # 300 entries with the model version's: a full tile, 44 more
    log.seal_checkpoint()

    full = client.get("/log/tile/0/000")
    partial = client.get("/log/tile/0/001.p/44")
    bundle = client.get("/log/tile/entries/000")
    later = client.get("/log/tile/0/001")
    later_entries = client.get("/log/tile/entries/001")
    checkpoint = client.get("/log/checkpoint")

    for served in (full, partial, bundle):
        assert served.status_code == 200
        assert served["Cache-Control"] == "public, max-age=31536000, immutable"
    for missing in (later, later_entries):
        assert missing.status_code == 404
        assert missing["Cache-Control"] == "no-store"
    assert checkpoint["Cache-Control"] == "public, max-age=5"


def settings_of(**env: str) -> dict[str, Any]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))
    }
    environment.update(env)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, ledger.settings as s; print(json.dumps({'databases': s.DATABASES, "
            "'routers': getattr(s, 'DATABASE_ROUTERS', [])}, default=str))",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_database_replica_url_adds_a_replica_with_the_primarys_pool_mirrored_in_tests() -> None:
    found = settings_of(
        DATABASE_URL="postgres://ledger@db-primary:5432/ledger",
        DATABASE_REPLICA_URL="postgres://ledger@db-replica:5432/ledger?sslmode=require",
        DATABASE_POOL_MAX="7",
    )

    standby = found["databases"]["replica"]
    assert standby["HOST"] == "db-replica"
    assert standby["OPTIONS"]["pool"]["max_size"] == 7
    assert standby["OPTIONS"]["sslmode"] == "require"
    assert standby["CONN_MAX_AGE"] == 0
    assert standby["TEST"] == {"MIRROR": "default"}
    assert found["routers"] == ROUTERS


def test_without_database_replica_url_there_is_no_replica_and_no_router() -> None:
    found = settings_of(DATABASE_URL="postgres://ledger@db-primary:5432/ledger")

    assert set(found["databases"]) == {"default"}
    assert found["routers"] == []


def test_a_replica_of_another_kind_of_database_is_refused() -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    environment["DATABASE_REPLICA_URL"] = "postgres://ledger@db-replica:5432/ledger"
    result = subprocess.run(
        [sys.executable, "-c", "import ledger.settings"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL must name the same kind of database" in result.stderr
