"""Nothing recorded is changed or removed: the database itself refuses, whatever the caller."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from ledger.db import append_only_models
from moderation import services
from tests.factories import as_input, decision_payload, register_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorded(platform, model_v1):
    return services.record_decision(platform=platform, decision=as_input(decision_payload()))


def raw(sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall() if cursor.description else []


def test_the_decision_policy_and_model_version_tables_are_append_only():
    tables = {m._meta.db_table for m in append_only_models()}

    assert {"moderation_decision", "moderation_policy", "moderation_modelversion"} <= tables


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE moderation_decision SET decision_facts = 'edited'",
        "UPDATE moderation_decision SET score = 0.1",
        "DELETE FROM moderation_decision",
    ],
)
def test_raw_sql_cannot_change_or_delete_a_decision(recorded, statement):
    before = raw("SELECT * FROM moderation_decision")

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw(statement)

    assert raw("SELECT * FROM moderation_decision") == before


def test_the_orm_cannot_change_or_delete_a_decision_either(recorded):
    from moderation.models import Decision

    with pytest.raises(DatabaseError), transaction.atomic():
        Decision.objects.filter(public_id=recorded.public_id).update(decision_facts="edited")
    with pytest.raises(DatabaseError), transaction.atomic():
        Decision.objects.filter(public_id=recorded.public_id).delete()

    assert raw("SELECT decision_facts FROM moderation_decision") == [
        ("Automated classifier flagged the text above its threshold.",)
    ]


def test_a_registered_model_version_cannot_be_retuned_in_place(platform):
    register_model(platform, version="v2", threshold=0.85)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw("UPDATE moderation_modelversion SET threshold = 0.5")

    assert raw("SELECT threshold FROM moderation_modelversion") == [(0.85,)]


def test_a_published_policy_cannot_be_reworded_or_deleted(platform):
    services.register_policy(
        platform=platform,
        key="spam",
        title="Spam",
        category="STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
        clause="7.1",
    )

    for statement in (
        "UPDATE moderation_policy SET clause = '7.2'",
        "DELETE FROM moderation_policy",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            raw(statement)

    assert raw("SELECT clause FROM moderation_policy") == [("7.1",)]


def test_every_stored_field_reads_back_exactly_as_sent(platform, model_v1):
    body = decision_payload(
        puid="exact",
        decision_visibility=[
            "DECISION_VISIBILITY_HIDDEN_FROM_NON_FOLLOWERS",
            "DECISION_VISIBILITY_CONTENT_DEMOTED",
            "DECISION_VISIBILITY_CONTENT_DEMOTED",
        ],
        end_date_visibility_restriction="2026-12-31",
        category_addition=[
            "STATEMENT_CATEGORY_VIOLENCE",
            "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        ],
        content_id={"EAN-13": "4006381333931"},
        incompatible_content_illegal="Yes",
        decided_at="2026-11-02T08:30:00+01:00",
    )
    services.record_decision(platform=platform, decision=as_input(body))

    from moderation.models import Decision

    d = Decision.objects.get(puid="exact")
    # Deduplicated and sorted on ingest, as the DSA database does.
    assert d.decision_visibility == [
        "DECISION_VISIBILITY_CONTENT_DEMOTED",
        "DECISION_VISIBILITY_HIDDEN_FROM_NON_FOLLOWERS",
    ]
    assert d.category_addition == ["STATEMENT_CATEGORY_VIOLENCE"]  # the primary is stripped
    assert str(d.end_date_visibility_restriction) == "2026-12-31"
    assert d.content_id_ean == "4006381333931"
    assert d.incompatible_content_illegal is True
    assert d.decided_at.isoformat() == "2026-11-02T07:30:00+00:00"
    assert d.territorial_scope == ["DE", "FR"]
    assert d.score == 0.93 and d.threshold == 0.8


@pytest.mark.postgres
def test_truncate_is_refused_on_every_append_only_table_and_the_log_head(recorded, platform):
    services.register_policy(
        platform=platform,
        key="spam",
        title="Spam",
        category="STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
        clause="7.1",
    )
    raw("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE waits for no deferred check of our inserts
    tables = [m._meta.db_table for m in append_only_models()] + ["ledger_loghead"]
    counts = {t: raw(f"SELECT COUNT(*) FROM {t}") for t in tables}
    # One table at a time (CASCADE takes what points at it, as emptying the platforms would
    # take their decisions), and every table at once, as Django's flush does.
    statements = [f"TRUNCATE {t} CASCADE" for t in [*tables, "moderation_platform"]]
    statements.append(f"TRUNCATE {', '.join(connection.introspection.django_table_names())}")

    for statement in statements:
        with (
            pytest.raises(DatabaseError, match=r"append-only|only grows.*TRUNCATE refused"),
            transaction.atomic(),
        ):
            raw(statement)

    assert {t: raw(f"SELECT COUNT(*) FROM {t}") for t in tables} == counts


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_loghead SET size = size - 1",
        "UPDATE ledger_loghead SET size = 0, frontier = '[]'",
        "UPDATE ledger_loghead SET frontier = '[]'",
        "DELETE FROM ledger_loghead",
    ],
)
def test_the_log_head_cannot_shrink_be_rewritten_in_place_or_deleted(recorded, statement):
    before = raw("SELECT size, frontier FROM ledger_loghead")

    with pytest.raises(DatabaseError, match="only grows"), transaction.atomic():
        raw(statement)

    assert raw("SELECT size, frontier FROM ledger_loghead") == before


def test_the_log_head_still_grows_with_every_append(recorded, platform):
    services.record_decision(platform=platform, decision=as_input(decision_payload()))

    assert raw("SELECT size FROM ledger_loghead") == [(3,)]


@pytest.mark.parametrize(
    ("statement", "column"),
    [
        ("UPDATE moderation_platform SET slug = 'renamed'", "moderation_platform.slug"),
        ("UPDATE moderation_detectionmodel SET name = 'renamed'", "moderation_detectionmodel.name"),
        (
            "UPDATE moderation_detectionmodel SET platform_id = platform_id + 1000",
            "moderation_detectionmodel.platform_id",
        ),
    ],
)
def test_names_that_published_records_show_cannot_change(recorded, statement, column):
    with pytest.raises(DatabaseError, match=f"{column} is immutable"), transaction.atomic():
        raw(statement)

    assert raw("SELECT slug FROM moderation_platform") == [("vidshare",)]
    assert raw("SELECT name FROM moderation_detectionmodel") == [("hate-speech",)]


def test_a_platforms_display_name_and_a_save_of_unchanged_names_are_allowed(recorded, platform):
    from moderation.models import DetectionModel

    platform.name = "VidShare Video"
    platform.save()  # every column, the slug unchanged
    DetectionModel.objects.get(name="hate-speech").save()

    assert raw("SELECT slug, name FROM moderation_platform") == [("vidshare", "VidShare Video")]
