"""Audit plans: set through the service and `PUT /api/v1/audit/plan`, read publicly with
`GET /api/v1/audit/plan`; every problem of a bad plan named at once with nothing written; each
plan a log entry that `verify_log` rebuilds from its row."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import schemathesis
from django.conf import settings
from django.core import signals
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, connection
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient
from schemathesis.specs.openapi.checks import positive_data_acceptance

from appeals import audit
from appeals.audit import AuditRejected, check_plan, current_plan, set_audit_plan
from appeals.bindings import check_audit_plans
from appeals.models import AuditPlan, ItemKind, ReviewItem
from ledger.audit import audit_log
from ledger.log import canonical_json
from ledger.models import EntryType, LogEntry
from moderation import services
from moderation.models import ApiKey, AuditEvent, Platform
from tests.factories import as_input, decision_payload, make_reviewer, register_model

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit/plan"
HATE = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
ISSUE_BODY = {
    "strata": [
        {"model": "hate-speech", "version": "v1", "rate": 0.05},
        {"category": HATE, "rate": 0.01},
        {"rate": 0.001},
    ]
}


def written() -> tuple[int, int, int, int]:
    return (
        LogEntry.objects.count(),
        AuditPlan.objects.count(),
        AuditEvent.objects.count(),
        ReviewItem.objects.count(),
    )


def refused(platform: Platform, **kwargs: Any) -> dict[str, list[str]]:
    before = written()
    with pytest.raises(AuditRejected) as caught:
        set_audit_plan(platform=platform, actor="tests", **kwargs)
    assert written() == before
    return caught.value.errors


# --- the service ------------------------------------------------------------------------------


def test_a_plan_is_a_log_entry_with_its_strata_and_a_fresh_salt(platform, model_v1):
    plan = set_audit_plan(
        platform=platform, strata=ISSUE_BODY["strata"], double_review=0.1, actor="tests"
    )

    entry = LogEntry.objects.get(index=plan.log_entry_id)
    assert entry.entry_type == EntryType.AUDIT_PLAN
    published = json.loads(entry.payload)
    assert published == {
        "type": "audit_plan",
        "platform": "vidshare",
        "strata": ISSUE_BODY["strata"],
        "double_review": 0.1,
        "salt": plan.salt,
        "created_at": plan.created_at.astimezone(UTC).isoformat(),
    }
    assert entry.payload.encode() == canonical_json(published)
    assert re.fullmatch("[0-9a-f]{64}", plan.salt)
    assert plan.strata == ISSUE_BODY["strata"] and plan.double_review == 0.1
    assert current_plan(platform) == plan
    event = AuditEvent.objects.get(action="audit_plan.set")
    assert (event.actor_label, event.object_id, event.platform_id) == (
        "tests",
        str(plan.log_entry_id),
        platform.pk,
    )
    assert event.details == {"strata": 3, "double_review": 0.1, "replaces": None}


def test_rates_are_stored_and_published_as_numbers_from_zero_to_one(platform, model_v1):
    plan = set_audit_plan(
        platform=platform, strata=[{"category": HATE, "rate": 1}, {"rate": 0}], actor="tests"
    )
    payload = LogEntry.objects.get(index=plan.log_entry_id).payload
    assert '"rate":1.0' in payload and '"rate":0.0' in payload and '"double_review":0.0' in payload
    assert AuditPlan.objects.get(pk=plan.pk).strata == [
        {"category": HATE, "rate": 1.0},
        {"rate": 0.0},
    ]


def test_the_same_plan_again_changes_nothing_and_a_new_one_draws_a_new_salt(platform, model_v1):
    first = set_audit_plan(platform=platform, strata=ISSUE_BODY["strata"], actor="tests")
    before = written()
    again = set_audit_plan(platform=platform, strata=ISSUE_BODY["strata"], actor="tests")
    assert again == first and written() == before

    other = set_audit_plan(
        platform=platform, strata=ISSUE_BODY["strata"], double_review=0.5, actor="tests"
    )
    assert other.log_entry_id > first.log_entry_id and other.salt != first.salt
    assert current_plan(platform) == other
    assert AuditEvent.objects.filter(action="audit_plan.set").order_by("id").last().details[
        "replaces"
    ] == (first.log_entry_id)


def test_a_bad_plan_is_refused_naming_every_problem_and_writing_nothing(platform, model_v1):
    register_model(platform, name="spam", version="v3")
    errors = refused(
        platform,
        strata=[
            {"model": "hate-speech", "version": "v9", "rate": 0.5},  # not registered
            {"category": "STATEMENT_CATEGORY_CHESS", "rate": 0.1},
            {"category": "STATEMENT_CATEGORY_VIOLENCE", "rate": 1.5},
            {"category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", "rate": True},
            "everything",
            {"model": "hate-speech", "rate": 0.1},
            {"model": "spam", "version": "v3", "category": HATE, "rate": 0.1},
            {"rate": 0.1, "colour": "red"},
            {"category": HATE, "rate": 0.2},
            {"category": HATE, "rate": 0.3},  # the same category again
            {"model": "hate-speech", "version": "v1"},
            {"model": "spam", "version": "v3", "rate": 0.2},
            {"model": "spam", "version": "v3", "rate": 0.4},  # the same version again
            {"rate": 0.001},  # a second default (strata[7] is one)
            {"model": "hate-speech\x00", "version": "", "rate": 0.1},
            {"category": "STATEMENT_CATEGORY_SELF_HARM", "rate": -0.1},
        ],
        double_review=2,
    )
    assert errors == {
        "double_review": ["Must be from 0 to 1, got 2."],
        "strata[0]": ["No model version 'hate-speech' 'v9' is registered for this platform."],
        "strata[1].category": [mock.ANY],
        "strata[2].rate": ["Must be from 0 to 1, got 1.5."],
        "strata[3].rate": ["Must be a number from 0 to 1."],
        "strata[4]": ["Must be an object: {model, version, rate}, {category, rate} or {rate}."],
        "strata[5].version": ["Required with model."],
        "strata[6]": ["A stratum is a model version or a category, not both."],
        "strata[7].colour": ["Unknown field."],
        "strata[9]": ["The same stratum as strata[8]: one rate each."],
        "strata[10].rate": ["Required."],
        "strata[12]": ["The same stratum as strata[11]: one rate each."],
        "strata[13]": ["The same default stratum as strata[7]: one rate each."],
        "strata[14].model": ["Contains a NUL character."],
        "strata[14].version": ["Must be 1 to 64 characters."],
        "strata[15].rate": ["Must be from 0 to 1, got -0.1."],
    }
    assert errors["strata[1].category"][0].startswith("Must be one of STATEMENT_CATEGORY_")


@pytest.mark.parametrize(
    ("strata", "double_review", "expected"),
    [
        (None, 0, {"strata": ["Must be a list of strata, each {model, version, rate}, "
                              "{category, rate} or {rate}."]}),
        ({"rate": 1}, 0, {"strata": [mock.ANY]}),
        ([{"rate": math.nan}], 0, {"strata[0].rate": ["Must be from 0 to 1, got nan."]}),
        ([{"rate": math.inf}], 0, {"strata[0].rate": ["Must be from 0 to 1, got inf."]}),
        ([{"rate": "0.5"}], 0, {"strata[0].rate": ["Must be a number from 0 to 1."]}),
        ([{"rate": 0.5}], "0.1", {"double_review": ["Must be a number from 0 to 1."]}),
        ([{"rate": 0.5}], False, {"double_review": ["Must be a number from 0 to 1."]}),
        ([{"model": 7, "version": ["v1"], "rate": 0.5}], 0,
         {"strata[0].model": ["Must be text."], "strata[0].version": ["Must be text."]}),
        ([{"version": "v1", "rate": 0.5}], 0, {"strata[0].model": ["Required with version."]}),
        ([{"category": 5, "rate": 0.5}], 0, {"strata[0].category": [mock.ANY]}),
        ([{"rate": 0.5}] * 1001, 0, {"strata": ["At most 1000 strata, got 1001."]}),
    ],
)  # fmt: skip
def test_each_kind_of_bad_plan_is_named(platform, model_v1, strata, double_review, expected):
    assert refused(platform, strata=strata, double_review=double_review) == expected


def test_a_plan_names_only_the_platforms_own_model_versions(platform, model_v1):
    other = services.create_platform(slug="clipzone", name="ClipZone")
    errors = refused(other, strata=[{"model": "hate-speech", "version": "v1", "rate": 0.5}])
    assert errors == {
        "strata[0]": ["No model version 'hate-speech' 'v1' is registered for this platform."]
    }


def test_an_empty_plan_stops_sampling(platform, model_v1):
    set_audit_plan(platform=platform, strata=[{"rate": 1}], actor="tests")
    assert check_plan(platform=platform, strata=[]) == ([], 0.0)
    set_audit_plan(platform=platform, strata=[], actor="tests")
    services.record_decisions(platform=platform, decisions=[as_input(decision_payload())])
    assert not ReviewItem.objects.filter(kind=ItemKind.AUDIT).exists()


# --- bound to the log ---------------------------------------------------------------------------


def test_verify_log_accepts_plans_and_catches_a_plan_that_differs(platform, model_v1, capsys):
    plans = [
        set_audit_plan(platform=platform, strata=ISSUE_BODY["strata"], actor="tests"),
        set_audit_plan(platform=platform, strata=[{"rate": 1}], double_review=1, actor="tests"),
    ]
    services.record_decisions(platform=platform, decisions=[as_input(decision_payload())])
    assert audit_log().ok
    call_command("verify_log")
    capsys.readouterr()

    # The binding rebuilds each plan's payload from its row: a log that says otherwise (here a
    # salt an auditor would recompute the sample with) is a mismatch naming the entry.
    plan = plans[0]
    entries = {p.log_entry_id: LogEntry.objects.get(index=p.log_entry_id).payload for p in plans}
    assert list(check_audit_plans(entries, 0, None)) == []
    forged = dict(entries)
    forged[plan.log_entry_id] = entries[plan.log_entry_id].replace(plan.salt, "00" * 32)
    assert list(check_audit_plans(forged, 0, None)) == [
        (
            plan.log_entry_id,
            f"entry {plan.log_entry_id}: audit plan of vidshare differs from its log entry in salt",
        )
    ]
    # An audit_plan entry with no plan row behind it.
    assert list(check_audit_plans({**entries, 10**6: "{}"}, 0, 10**6))[-1] == (
        10**6,
        f"entry {10**6}: audit_plan entry has no audit_plan row",
    )


@pytest.mark.postgres
def test_the_database_refuses_to_change_or_delete_a_plan(platform, model_v1):
    from django.db import DatabaseError, transaction

    plan = set_audit_plan(platform=platform, strata=[{"rate": 0.5}], actor="tests")
    for statement in (
        "UPDATE appeals_auditplan SET salt = repeat('0', 64) WHERE id = %s",
        "DELETE FROM appeals_auditplan WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [plan.pk])
    with connection.cursor() as cursor:
        cursor.execute("SELECT salt, strata::text FROM appeals_auditplan WHERE id = %s", [plan.pk])
        assert cursor.fetchone() == (plan.salt, '[{"rate": 0.5}]')


# --- the API ----------------------------------------------------------------------------------


def test_a_platform_puts_its_plan_and_anyone_reads_it(api, platform):
    put = api.put(URL, {**ISSUE_BODY, "double_review": 0.1}, format="json")
    assert put.status_code == 201, put.json()
    body = put.json()
    plan = AuditPlan.objects.get()
    entry = LogEntry.objects.get(index=plan.log_entry_id)
    assert body == {
        "platform": "vidshare",
        "strata": ISSUE_BODY["strata"],
        "double_review": 0.1,
        "salt": plan.salt,
        "created_at": mock.ANY,
        "log_index": entry.index,
        "leaf_hash": bytes(entry.leaf_hash).hex(),
        "rule": audit.RULE,
    }
    assert "HMAC-SHA256" in body["rule"] and "double:" in body["rule"]
    event = AuditEvent.objects.get(action="audit_plan.set")
    assert event.actor_key is not None and event.actor_label.startswith("api key ")

    # The same body again: the same plan, no new entry.
    again = api.put(URL, {**ISSUE_BODY, "double_review": 0.1}, format="json")
    assert again.status_code == 200 and again.json() == body
    assert AuditPlan.objects.count() == 1

    read = Client().get(URL, {"platform": "vidshare"})
    assert read.status_code == 200
    assert read.json() == {**body, "history": []}


def test_the_public_read_lists_earlier_plans_newest_first(api, platform):
    first = api.put(URL, {"strata": [{"rate": 0.5}]}, format="json").json()
    second = api.put(URL, {"strata": [{"rate": 0.25}]}, format="json").json()
    third = api.put(URL, ISSUE_BODY, format="json").json()

    # A read needs no key and ignores a wrong one.
    read = Client().get(URL, {"platform": "vidshare"}, HTTP_AUTHORIZATION="Bearer nonsense")
    assert read.status_code == 200
    body = read.json()
    assert body["log_index"] == third["log_index"] and body["salt"] == third["salt"]
    assert [h["log_index"] for h in body["history"]] == [second["log_index"], first["log_index"]]
    assert body["history"][1] == {
        "log_index": first["log_index"],
        "created_at": first["created_at"],
        "leaf_hash": first["leaf_hash"],
    }


def test_a_bad_body_gets_one_400_naming_every_problem(api, platform):
    before = written()
    response = api.put(
        URL,
        {
            "strata": [{"rate": 2}, {"model": "hate-speech", "version": "v2", "rate": 0.1}],
            "double_review": -1,
            "dry_run": True,
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid audit plan; nothing was written.",
        "errors": {
            "dry_run": ["Unknown field."],
            "double_review": ["Must be from 0 to 1, got -1."],
            "strata[0].rate": ["Must be from 0 to 1, got 2."],
            "strata[1]": ["No model version 'hate-speech' 'v2' is registered for this platform."],
        },
    }
    assert written() == before


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"strata": ["Required."]}),
        ({"double_review": 0.5}, {"strata": ["Required."]}),
        ([ISSUE_BODY], {"body": [mock.ANY]}),
        ({"strata": "all"}, {"strata": [mock.ANY]}),
        ({"strata": [{"rate": 0.5}], "double_review": None},
         {"double_review": ["Must be a number from 0 to 1."]}),
        ({"strata": [{"rate": 0.5}], "strata\x00": 1}, {"strata\x00": ["Unknown field."]}),
    ],
)  # fmt: skip
def test_bad_bodies_are_400s(api, platform, body, errors):
    before = written()
    response = api.put(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == errors
    assert written() == before


@pytest.mark.parametrize(
    "raw", [b"{", b'{"strata": [{"rate": 1e400}]}', b'{"strata": [{"rate": NaN}]}', b"\xff"]
)
def test_unparsable_bodies_are_400s(api, platform, raw):
    before = written()
    response = api.put(URL, raw, content_type="application/json")
    assert response.status_code == 400
    assert written() == before


def test_setting_a_plan_needs_the_platforms_key(platform, model_v1, api):
    assert APIClient().put(URL, ISSUE_BODY, format="json").status_code == 401
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer mlk_nope_nope")
    assert bad.put(URL, ISSUE_BODY, format="json").status_code == 401
    _, token = services.issue_api_key(platform=platform, name="revoked")
    revoked = APIClient()
    revoked.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    services.revoke_api_key(api_key=ApiKey.objects.get(name="revoked"))
    assert revoked.put(URL, ISSUE_BODY, format="json").status_code == 401
    # A reviewer's token is not a platform key.
    from appeals.services import create_reviewer

    _, reviewer_token = create_reviewer(username="rita", platform=platform, actor="tests")
    reviewer = APIClient()
    reviewer.credentials(HTTP_AUTHORIZATION=f"Bearer {reviewer_token}")
    assert reviewer.put(URL, ISSUE_BODY, format="json").status_code == 401
    assert not AuditPlan.objects.exists()


def test_each_key_sets_its_own_platforms_plan(api, platform, make_client):
    other = services.create_platform(slug="clipzone", name="ClipZone")
    _, key = services.issue_api_key(platform=other, name="theirs")
    theirs = make_client(key)

    assert theirs.put(URL, ISSUE_BODY, format="json").status_code == 400  # not their model
    assert theirs.put(URL, {"strata": [{"rate": 0.2}]}, format="json").status_code == 201
    assert Client().get(URL, {"platform": "vidshare"}).status_code == 404
    assert Client().get(URL, {"platform": "clipzone"}).json()["platform"] == "clipzone"
    assert AuditPlan.objects.get().platform == other


@pytest.mark.parametrize(
    ("query", "status", "errors"),
    [
        ({}, 400, {"platform": ["Required."]}),
        ({"platform": ""}, 400, {"platform": ["Required."]}),
        ({"platform": "vid share"}, 400, {"platform": [mock.ANY]}),
        ({"platform": "vidshare\x00"}, 400, {"platform": [mock.ANY]}),
        ({"platform": "v" * 65}, 400, {"platform": [mock.ANY]}),
        ({"platform": "nowhere"}, 404, {}),
        ({"platform": "vidshare"}, 404, {}),  # no plan yet
    ],
)
def test_a_read_of_no_plan_is_a_400_or_404(platform, query, status, errors):
    response = Client().get(URL, query)
    assert response.status_code == status
    assert response.json()["errors"] == errors


def test_the_schema_documents_both_operations_and_the_read_needs_no_key(client):
    schema = client.get("/api/v1/schema?format=json").json()
    operations = schema["paths"][URL]
    assert set(operations) == {"get", "put"}
    assert operations["get"].get("security") in (None, [], [{}])
    assert "security" not in operations["put"] or operations["put"]["security"] != [{}]
    assert set(operations["put"]["responses"]) == {"200", "201", "400", "401"}
    request = operations["put"]["requestBody"]["content"]["application/json"]
    strata = request["schema"]["properties"]["strata"]
    assert len(strata["items"]["oneOf"]) == 3
    assert request["examples"]  # a realistic body to start from


# --- the documented schema, checked and fuzzed ----------------------------------------------------


@pytest.fixture
def keep_the_test_connection() -> Iterator[None]:
    """Requests go through the WSGI handler, which closes the database connection around each
    one; the test's transaction lives on it, so keep it, as Django's test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_the_answers_match_the_documented_schema(api_key, model_v1, keep_the_test_connection):
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema", get_wsgi_application())
    put = schema[URL]["PUT"]
    headers = {"Authorization": f"Bearer {api_key}"}
    for body, status in ((ISSUE_BODY, 201), (ISSUE_BODY, 200), ({"strata": [{"rate": 3}]}, 400)):
        case = put.Case(body=body, media_type="application/json", headers=headers)
        assert case.call_and_validate().status_code == status
    get = schema[URL]["GET"]
    for query, status in (({"platform": "vidshare"}, 200), ({"platform": "nowhere"}, 404)):
        assert get.Case(query=query).call_and_validate().status_code == status


fuzzed = schemathesis.openapi.from_wsgi("/api/v1/schema", get_wsgi_application()).include(
    path_regex="^/api/v1/audit/plan$"
)


@fuzzed.parametrize()
@hypothesis_settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_audit_plan_api_conforms_to_its_schema(
    case, api_key, model_v1, keep_the_test_connection
):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {api_key}"},
        # A schema cannot say which model versions are registered or which platforms exist.
        excluded_checks=[positive_data_acceptance],
    )


# --- the README's auditor snippet ---------------------------------------------------------------


def _readme_snippet() -> str:
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    section = readme.split("### Blind audits", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readmes_auditor_snippet_finds_exactly_the_sampled_decisions(
    platform, model_v1, api, capsys
):
    client = Client()

    def urlopen(url: str) -> Any:
        path = url.split("://", 1)[1].split("/", 1)[1]
        response = client.get("/" + path)
        assert response.status_code == 200
        return mock.Mock(read=lambda: response.content)

    api.put(URL, {"strata": [{"rate": 0.3}], "double_review": 0.5}, format="json")
    bodies = [as_input(decision_payload()) for _ in range(60)]
    services.record_decisions(platform=platform, decisions=bodies)
    api.put(URL, {"strata": [{"rate": 1}]}, format="json")
    services.record_decisions(platform=platform, decisions=[as_input(decision_payload())])
    items = {
        str(item.decision.public_id): item.labels_needed
        for item in ReviewItem.objects.filter(kind=ItemKind.AUDIT).select_related("decision")
    }
    assert 5 < len(items) < 61

    namespace: dict[str, Any] = {}
    with mock.patch("urllib.request.urlopen", urlopen):
        exec(_readme_snippet(), namespace)  # noqa: S102 (our own README's code, under test)
    assert namespace["sampled"] == items
    assert f"{len(items)} decisions sampled" in capsys.readouterr().out


def test_reviewers_find_sampled_items_in_the_audit_queue(platform, model_v1):
    from appeals.services import claim_next_review

    set_audit_plan(platform=platform, strata=[{"rate": 1}], actor="tests")
    services.record_decisions(platform=platform, decisions=[as_input(decision_payload())])
    reviewer = make_reviewer(platform, "rita")
    item = claim_next_review(reviewer=reviewer)
    assert item is not None and item.kind == ItemKind.AUDIT and item.queue.audit


def test_an_unbound_plan_row_is_reported_beyond_the_log(platform, model_v1):
    # A row pointing past the log's end is named, as for every bound row.
    plan = set_audit_plan(platform=platform, strata=[{"rate": 1}], actor="tests")
    assert list(check_audit_plans({}, plan.log_entry_id, None)) == [
        (
            plan.log_entry_id,
            f"entry {plan.log_entry_id}: audit plan of vidshare points at it, but it is beyond "
            "the end of the log",
        )
    ]


def test_verify_log_fails_on_a_plan_entry_without_its_row(platform, model_v1):
    # Appending an audit_plan entry by hand, with no plan row: verify_log must object.
    from django.db import transaction

    from ledger.log import append_entries

    with transaction.atomic():
        (appended,) = append_entries([(EntryType.AUDIT_PLAN, b'{"type":"audit_plan"}')])
    with pytest.raises(CommandError, match=f"first bad index: {appended.index}$"):
        call_command("verify_log")
