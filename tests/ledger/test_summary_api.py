"""GET /api/v1/stats/summary and /stats/<name>.csv: the public statistics as JSON and as RFC 4180
CSV, read from the roll-ups alone in a handful of queries, matching the OpenAPI schema, every
bad parameter named at once, nothing personal in them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from django.apps import apps
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.specs.openapi.converter import to_json_schema

from appeals.models import Appeal
from ledger.public import LICENCE_URL, csvs, queries, rollups
from moderation.models import Decision
from tests.concurrency import at_once
from tests.factories import decision_payload, register_model
from tests.ledger import test_queries
from tests.ledger.test_queries import World, recorded

pytestmark = pytest.mark.django_db

URL = "/api/v1/stats/summary"
# The decisions, appeals, audit labels and disputes whose numbers test_queries works out by hand.
world = test_queries.world


def summary(client: Any, query: str = "") -> dict[str, Any]:
    response = client.get(f"{URL}?{query}" if query else URL)
    assert response.status_code == 200, response.content[:500]
    return dict(response.json())


def csv_rows(client: Any, name: str, query: str = "") -> list[list[str]]:
    response = client.get(f"/stats/{name}.csv?{query}")
    assert response.status_code == 200, response.content[:500]
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"), newline="")))


# --- the JSON -----------------------------------------------------------------------------------


def test_the_summary_is_the_queries_summary_as_json(client, world: World):
    body = summary(client)
    expected = queries.summary(queries.Filters())

    assert set(body) == {"filters", "counted_upto", "checkpoint", "min_cell", "totals", "tables"}
    assert body["filters"] == {}
    assert body["counted_upto"] == expected.counted_upto == rollups.counted_upto() > 0
    assert body["checkpoint"]["size"] == body["counted_upto"]
    assert body["min_cell"] == 10
    assert body["totals"] == json.loads(json.dumps(expected.totals))
    assert body["totals"]["decisions"] == 31
    assert body["totals"]["visibility_restrictions"] == "<10"
    assert body["totals"]["median_hours_to_decide"] == 4
    assert list(body["tables"]) == list(queries.TABLES)
    day = world.received.isoformat()
    assert body["tables"]["decisions_by_day"] == {
        "title": "Decisions by day received and action",
        "columns": ["day", "action", "decisions"],
        "labels": ["Day", "Action", "Decisions"],
        "rows": [
            [day, "VISIBILITY_RESTRICTION", "<10"],
            [day, "REMOVAL", 22],
            [day, "REVERSAL", "<10"],
        ],
    }


def test_the_answer_may_be_cached_a_few_seconds_and_read_from_anywhere(client, world):
    response = client.get(URL)
    assert response["Cache-Control"] == "public, max-age=5"
    assert response["Access-Control-Allow-Origin"] == "*"
    refused = client.get(f"{URL}?from=never")
    assert refused["Access-Control-Allow-Origin"] == "*"
    assert "max-age" not in refused.get("Cache-Control", "")


def test_the_filters_are_applied_and_echoed(client, world):
    body = summary(client, "platform=tubely&from=2026-01-01&category=STATEMENT_CATEGORY_VIOLENCE")
    assert body["filters"] == {
        "platform": "tubely",
        "from": "2026-01-01",
        "category": "STATEMENT_CATEGORY_VIOLENCE",
    }
    assert body["totals"]["decisions"] == 10
    assert body["tables"]["decisions_by_category"]["rows"] == [["STATEMENT_CATEGORY_VIOLENCE", 10]]
    by_action = summary(client, "action=REMOVAL")
    assert by_action["totals"]["audit_reviewed"] is None
    assert "not counted by action" in by_action["tables"]["disputes"]["title"]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("colour=red", ["colour"]),
        ("platform=a&platform=b", ["platform"]),
        ("platform=nobody", ["platform"]),
        ("platform=" + "p" * 65, ["platform"]),
        ("from=2026-02-30", ["from"]),
        ("to=30.11.2026", ["to"]),
        ("from=2026-11-02&to=2026-11-01", ["to"]),
        ("action=removal", ["action"]),
        ("category=VIOLENCE", ["category"]),
        ("source=SOURCE_ARTICLE_17", ["source"]),
        ("model=hate%00speech", ["model"]),
        ("version=v1%00", ["version"]),
        ("version=" + "v" * 65, ["version"]),
        ("model=" + "m" * 101, ["model"]),
        (
            "colour=red&platform=nobody&from=x&to=2026-11-01&action=BAN&category=C&source=S"
            "&model=%00&version=%00&model=again",
            ["colour", "platform", "from", "action", "category", "source", "model", "version"],
        ),
    ],
)
def test_bad_parameters_are_refused_naming_each_at_once(client, platform, query, named):
    with CaptureQueriesContext(connection) as queries_run:
        response = client.get(f"{URL}?{query}")

    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["detail"] == "Invalid parameters."
    assert sorted(body["errors"]) == sorted(named)
    assert all(isinstance(p, str) and p for ps in body["errors"].values() for p in ps)
    # Nothing counted: at most the roll-ups' generation (for the cache) and the platform.
    assert len(queries_run) <= 2


def test_an_unknown_enum_value_is_answered_with_the_allowed_ones(client, db):
    errors = client.get(f"{URL}?action=BAN").json()["errors"]
    assert "REMOVAL" in errors["action"][0]
    assert "ACCOUNT_TERMINATION" in errors["action"][0]


def test_the_summary_reads_no_decision_or_appeal_table_in_a_handful_of_queries(client, world):
    private = [model._meta.db_table for model in apps.get_app_config("appeals").get_models()] + [
        Decision._meta.db_table
    ]
    assert Appeal._meta.db_table in private
    for query in ("", "platform=vidshare&from=2026-01-01&to=2030-01-01&model=hate-speech"):
        with CaptureQueriesContext(connection) as run:
            summary(client, query)
        sql = [q["sql"] for q in run.captured_queries]
        assert not [s for s in sql for table in private if f'"{table}"' in s]
        assert any('"public_decisioncount"' in s for s in sql)
        # 16 grouped sums and small lookups, whatever the number of decisions.
        assert len(sql) <= 20, "\n".join(sql)


def test_nothing_personal_reaches_the_summary_or_the_csvs(client, world):
    texts = [client.get(URL).content.decode()]
    texts += [client.get(f"/stats/{name}.csv").content.decode() for name in queries.TABLES]
    private: list[str] = ["rita", "Appeals Centre Europe", "News.", "Chess."]
    for d in Decision.objects.all():
        private += [d.puid, str(d.public_id), d.notice_token, d.subject_account]
        private += [d.subject_content, d.decision_facts]
    private += [str(a.public_id) for a in Appeal.objects.all()]
    assert not [p for p in private if p and any(p in text for text in texts)]


# --- the schema ---------------------------------------------------------------------------------


def openapi(client: Any) -> dict[str, Any]:
    return dict(client.get("/api/v1/schema?format=json").json())


def test_the_schema_documents_every_parameter_and_field(client):
    schema = openapi(client)
    operation = schema["paths"][URL]["get"]
    assert {p["name"] for p in operation["parameters"]} == set(queries.FILTER_PARAMS)
    assert {"200", "400"} <= set(operation["responses"])
    components = schema["components"]["schemas"]
    assert set(components["TotalsOut"]["properties"]) == {
        "decisions",
        "visibility_restrictions",
        "automated_detection",
        "fully_automated",
        "appeals_filed",
        "appeals_decided",
        "upheld",
        "overturned",
        "modified",
        "overturn_rate",
        "median_hours_to_decide",
        "audit_reviewed",
        "audit_correct",
        "precision",
        "precision_low",
        "precision_high",
        "disputes_referred",
    }
    assert set(components["TablesOut"]["properties"]) == set(queries.TABLES)
    assert set(components["TablesOut"]["required"]) == set(queries.TABLES)


def response_validator(schema: dict[str, Any]) -> Any:
    """SummaryOut as JSON Schema (OpenAPI 3.0's `nullable` made a type), as schemathesis reads
    it when it checks a response."""
    components = {
        name: to_json_schema(component, nullable_keyword="nullable", is_response_schema=True)
        for name, component in schema["components"]["schemas"].items()
    }
    converted = {"$ref": "#/components/schemas/SummaryOut", "components": {"schemas": components}}
    return jsonschema_rs.Draft4Validator(converted)


def test_the_answers_and_the_example_match_the_schema(client, world, settings):
    schema = openapi(client)
    validator = response_validator(schema)
    for min_cell in (10, 1):
        settings.LEDGER_MIN_CELL = min_cell
        for query in ("", "action=REMOVAL", "source=SOURCE_VOLUNTARY", "platform=tubely"):
            validator.validate(summary(client, query))
    (example,) = schema["paths"][URL]["get"]["responses"]["200"]["content"]["application/json"][
        "examples"
    ].values()
    validator.validate(example["value"])


@pytest.fixture
def keep_the_test_connection() -> Iterator[None]:
    """Requests go through the WSGI handler, which closes the database connection around each
    one; the test's transaction lives on it, so keep it, as Django's test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


fuzzed = schemathesis.openapi.from_wsgi("/api/v1/schema", get_wsgi_application()).include(
    path_regex="^/api/v1/stats/summary"
)


@fuzzed.parametrize()
@hypothesis_settings(
    max_examples=80,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_summary_conforms_to_its_schema_under_fuzzing(case, world, keep_the_test_connection):
    """Every check but one: no 5xx, every answer as documented, bad values refused. Not that
    every value the schema allows is accepted: a platform slug that names no platform is
    refused (400, named), and the schema cannot list the platforms."""
    case.call_and_validate(excluded_checks=[positive_data_acceptance])


# --- the CSV ------------------------------------------------------------------------------------


def test_each_table_is_a_csv_of_the_same_rows(client, world):
    body = summary(client, "platform=vidshare")
    for name, table in body["tables"].items():
        rows = csv_rows(client, name, "platform=vidshare")
        assert rows[0] == table["columns"], name
        assert rows[1:] == [[csvs.cell(v) for v in row] for row in table["rows"]], name


def test_the_csv_is_rfc_4180_with_the_checkpoint_and_licence_in_its_headers(client, world):
    response = client.get("/stats/decisions_by_source.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="decisions_by_source.csv"'
    assert response["Ledger-Checkpoint"] == str(rollups.counted_upto())
    checkpoint = queries.checkpoint_of(rollups.counted_upto())
    assert checkpoint is not None
    assert response["Ledger-Checkpoint-Root"] == checkpoint["root_hash"]
    assert response["Link"] == f'<{LICENCE_URL}>; rel="license"'
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response.content == (
        b"source,decisions\r\nSOURCE_ARTICLE_16,28\r\nSOURCE_VOLUNTARY,<10\r\n"
    )


def test_values_with_commas_quotes_and_accents_are_quoted_and_utf8(client, platform, settings):
    settings.LEDGER_MIN_CELL = 1
    register_model(platform, name="nudity", version='2026.1, "beta" é')

    response = client.get("/stats/models.csv")
    text = response.content.decode("utf-8")
    assert '"2026.1, ""beta"" é"' in text
    assert "é".encode() in response.content
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1][:3] == ["vidshare", "nudity", '2026.1, "beta" é']
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")


def test_booleans_days_and_nulls_in_a_csv(client, world):
    rows = csv_rows(client, "automation")
    assert rows[1:] == [
        ["true", "AUTOMATED_DECISION_FULLY", "<10"],
        ["false", "AUTOMATED_DECISION_NOT_AUTOMATED", "28"],
    ]
    (model,) = csv_rows(client, "models")[1:]
    assert model[7] == ""  # no overturn rate
    assert csv_rows(client, "decisions_by_day")[1][0] == world.received.isoformat()
    assert csvs.cell(dt.date(2026, 1, 2)) == "2026-01-02"
    assert csvs.cell(None) == ""


def test_an_unknown_table_is_404_and_bad_filters_400_as_text(client, db):
    assert client.get("/stats/decisions.csv").status_code == 404
    assert client.get("/stats/TERRITORIES.csv").status_code == 404
    response = client.get("/stats/territories.csv?from=2026-13-01&colour=red&action=BAN")
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert lines[0] == "Invalid parameters."
    assert sorted(line.split(":")[0] for line in lines[1:]) == ["action", "colour", "from"]


def test_a_csv_is_only_read(client, db):
    assert client.post("/stats/territories.csv").status_code == 405
    assert client.head("/stats/territories.csv").status_code == 200


def test_a_csv_reads_no_decision_or_appeal_table(client, world):
    private = [m._meta.db_table for m in apps.get_app_config("appeals").get_models()]
    private.append(Decision._meta.db_table)
    for position, name in enumerate(queries.TABLES):
        with CaptureQueriesContext(connection) as run:
            csv_rows(client, name, "platform=vidshare&from=2026-01-01")
        sql = [q["sql"] for q in run.captured_queries]
        assert not [s for s in sql for table in private if f'"{table}"' in s], name
        # The first computes the view's summary (every table, one snapshot) and caches it; the
        # others read the generation, the platform and the generation again, then the cache.
        most = 23 if position == 0 else 3
        assert len([s for s in sql if not s.startswith(("SAVEPOINT", "RELEASE"))]) <= most, name


# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_summary_reads_one_snapshot(client, platform, model_v1):
    """Outside a transaction, the summary's queries run in one REPEATABLE READ transaction."""
    recorded(platform, [decision_payload() for _ in range(10)])
    rollups.refresh()
    with CaptureQueriesContext(connection) as run:
        body = summary(client)
    sql = [q["sql"] for q in run.captured_queries]
    assert "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ" in sql
    assert body["totals"]["decisions"] == 10
    assert client.get("/stats/models.csv").status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_catch_up_committed_meanwhile_is_not_half_counted(platform, model_v1):
    """The snapshot's point: a catch-up that commits between two of a summary's queries (here,
    on another connection, between two tables) shows in neither, so the tables agree with each
    other and with `counted_upto`; the next summary counts it."""
    recorded(platform, [decision_payload() for _ in range(10)])
    rollups.refresh()

    def more() -> int:
        recorded(platform, [decision_payload() for _ in range(5)])
        return rollups.refresh()

    with queries.snapshot() as upto:
        before = queries.table("decisions_by_action", queries.Filters(), min_cell=1)
        (counted,) = at_once([more])
        assert counted == 5  # the five decisions' log entries, counted and committed
        after = queries.table("decisions_by_source", queries.Filters(), min_cell=1)
        assert rollups.counted_upto() == upto
    assert before.rows == [["VISIBILITY_RESTRICTION", 10]]
    assert after.rows == [["SOURCE_VOLUNTARY", 10]]
    assert queries.summary(queries.Filters()).totals["decisions"] == 15
