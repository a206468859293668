"""Issue 11, the platform engineer's first hour with the native API: every problem of a body in
one 400 (single decisions and every item of a batch), examples in the schema that are recorded
as sent, filters and caps that say what they did, receipts on every create, named API keys."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import URLPattern, URLResolver
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from ledger import log, merkle
from ledger.models import LogEntry
from moderation import eu_client, rules, schemas
from moderation import statement_rules as table
from moderation.models import (
    ApiKey,
    AuditEvent,
    Decision,
    EuForwarding,
    ModelVersion,
    Platform,
    Policy,
    WebhookEndpoint,
)
from moderation.schemas import DecisionIn, decode_decision
from moderation.vocabulary import Action, DecisionType
from tests.factories import decision_payload, human_payload

pytestmark = pytest.mark.django_db

REQUIRED = {
    "puid",
    "subject",
    "decision_ground",
    "category",
    "decision_facts",
    "source_type",
    "automated_detection",
    "automated_decision",
    "content_type",
    "content_date",
    "application_date",
}
NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


def post(api: APIClient, url: str, body: Any, method: str = "post") -> Any:
    return getattr(api, method)(url, data=json.dumps(body), content_type="application/json")


def written() -> dict[str, int]:
    return {
        "decisions": Decision.objects.count(),
        "log": LogEntry.objects.count(),
        "models": ModelVersion.objects.count(),
        "policies": Policy.objects.count(),
        "audit": AuditEvent.objects.count(),
        "keys": ApiKey.objects.count(),
        "platforms": Platform.objects.count(),
    }


def refused(response: Any, before: dict[str, int]) -> dict[str, Any]:
    assert response.status_code == 400, (response.status_code, response.content[:500])
    assert written() == before
    body: dict[str, Any] = response.json()
    return body


# --- every problem of a decision at once -----------------------------------------------------


def test_an_empty_decision_names_every_missing_field_and_the_missing_restriction(api):
    before = written()

    body = refused(post(api, "/api/v1/decisions", {}), before)

    # Eleven required fields, and the rule that a restriction (the default type) restricts
    # something: it reads only fields that were not sent, whose defaults are known.
    assert set(body["errors"]) == REQUIRED | {"decision_visibility"}
    assert all(body["errors"][f] == ["This field is required."] for f in REQUIRED)
    assert body["errors"]["decision_visibility"] == [table.RESTRICTIONS.native_required()]
    assert body["detail"] == "The decision is invalid; nothing was recorded."


def test_type_errors_unknown_fields_and_rule_errors_are_named_together(api):
    before = written()
    decision = decision_payload(
        score="high",
        subject={"account": 5, "content": ""},
        decision_visibility=["DECISION_VISIBILITY_SHADOWBAN", "DECISION_VISIBILITY_OTHER", 7],
        content_type=["CONTENT_TYPE_TEXT", "CONTENT_TYPE_HOLOGRAM"],
        content_type_other="a hologram",  # only allowed with CONTENT_TYPE_OTHER
        incompatible_content_ground=None,  # required for incompatible content
        colour="red",
    )

    errors = refused(post(api, "/api/v1/decisions", decision), before)["errors"]

    assert errors == {
        "subject.account": ["Expected `str | null`, got `int`"],
        "subject.content": ["Expected `str` of length >= 1"],
        "decision_visibility[0]": ["Invalid enum value 'DECISION_VISIBILITY_SHADOWBAN'"],
        "decision_visibility[2]": ["Expected `str`, got `int`"],
        "score": ["Expected `float | null`, got `str`"],
        "content_type[1]": ["Invalid enum value 'CONTENT_TYPE_HOLOGRAM'"],
        "colour": ["Unknown field."],
        "incompatible_content_ground": [
            "Required when decision_ground is DECISION_GROUND_INCOMPATIBLE_CONTENT."
        ],
    }


def test_a_rule_that_reads_a_field_in_error_is_not_applied_to_a_guess(api):
    """An unknown ground cannot say which ground texts are required or refused: the texts sent
    for incompatible content are neither asked for nor refused while the ground is unknown."""
    before = written()

    errors = refused(
        post(api, "/api/v1/decisions", decision_payload(decision_ground="DECISION_GROUND_BAD")),
        before,
    )["errors"]

    assert errors == {"decision_ground": ["Invalid enum value 'DECISION_GROUND_BAD'"]}


def test_a_nul_character_and_a_type_error_are_named_together(api):
    before = written()

    errors = refused(
        post(api, "/api/v1/decisions", decision_payload(decision_facts="a\u0000b", score=[])),
        before,
    )["errors"]

    assert errors == {
        "score": ["Expected `float | null`, got `array`"],
        "decision_facts": [schemas.NUL_MESSAGE],
    }


def test_a_body_that_is_no_object_says_so_alone(api):
    before = written()

    body = refused(post(api, "/api/v1/decisions", ["puid"]), before)

    assert body["errors"] == {"non_field_errors": ["Expected `object`, got `array`"]}


def test_a_decision_that_decodes_still_names_every_rule_and_reference_problem(api):
    before = written()
    decision = decision_payload(
        decision_visibility=[], model_version="v9", content_date="1999-12-31", policy="nope"
    )

    errors = refused(post(api, "/api/v1/decisions", decision), before)["errors"]

    assert set(errors) == {"decision_visibility", "content_date", "model_version", "policy"}


# --- every problem of every item of a batch ------------------------------------------------


def test_a_batch_names_every_problem_of_every_item_and_writes_nothing(api):
    before = written()
    decisions = [decision_payload() for _ in range(5)]
    decisions[1] = {}
    decisions[2]["score"] = "high"
    decisions[2]["incompatible_content_explanation"] = None
    decisions[3]["decision_visibility"] = []  # decodes; breaks a rule
    decisions[4]["subject"] = {"account": "u\u0000"}

    body = refused(post(api, "/api/v1/decisions/batch", {"decisions": decisions}), before)

    errors = body["errors"]
    assert set(errors) == {"1", "2", "3", "4"}
    assert set(errors["1"]) == REQUIRED | {"decision_visibility"}
    assert errors["2"] == {
        "score": ["Expected `float | null`, got `str`"],
        "incompatible_content_explanation": [
            "Required when decision_ground is DECISION_GROUND_INCOMPATIBLE_CONTENT."
        ],
    }
    assert errors["3"] == {"decision_visibility": [table.RESTRICTIONS.native_required()]}
    assert errors["4"] == {"subject.account": [schemas.NUL_MESSAGE]}
    assert body["detail"] == "4 decision(s) in the batch are invalid; nothing was recorded."


def test_an_accepted_batch_takes_the_one_decode_path(api, monkeypatch):
    """Collecting every problem costs nothing for a batch that decodes: the field-by-field
    reading never runs."""

    def never(*args: Any) -> Any:
        raise AssertionError("read_partial ran for a valid batch")

    monkeypatch.setattr(schemas, "read_partial", never)
    response = post(
        api, "/api/v1/decisions/batch", {"decisions": [decision_payload() for _ in range(50)]}
    )

    assert response.status_code == 201, response.content[:500]


# --- the rules' inputs ------------------------------------------------------------------------

# One decision breaking each rule `check_decision` has; each names the fields it breaks.
RULE_BREAKERS: list[dict[str, Any]] = [
    {"subject": {}},
    {"decision_visibility": []},
    {"decision_type": "DECISION_TYPE_FLAG"},
    {"decision_visibility": ["DECISION_VISIBILITY_OTHER"]},
    {"decision_monetary": "DECISION_MONETARY_OTHER"},
    {"decision_visibility_other": "x", "decision_monetary_other": "y"},
    {"end_date_monetary_restriction": "2026-12-01"},
    {"end_date_visibility_restriction": "2026-10-01"},
    {"end_date_account_restriction": "2039-01-01", "end_date_service_restriction": "1999-01-01"},
    {"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT"},
    {"content_type": ["CONTENT_TYPE_OTHER"]},
    {"content_type_other": "x"},
    {"content_date": "1999-12-31", "application_date": "2019-12-31"},
    {"decided_at": "2027-01-01T00:00:00Z"},
    {"decided_at": "1999-01-01T00:00:00Z", "notified_at": "1998-01-01T00:00:00Z"},
    {"decided_at": "2026-11-02T00:00:00Z", "notified_at": "2026-11-01T00:00:00Z"},
    {"model": None},
    {"model_version": None},
    {"model": None, "model_version": None, "threshold": 0.5},
    {"policy_version": 2},
    {"decision_type": "DECISION_TYPE_REVERSAL", "decision_visibility": []},
    {"supersedes": "7f1d9c1e-8d3b-4d55-9a43-2a9f5e6b1c00", "supersedes_puid": "x"},
    {"puid": "same", "supersedes_puid": "same"},
]


def rule_errors(overrides: dict[str, Any]) -> dict[str, list[str]]:
    decision = decode_decision(json.dumps(decision_payload(**overrides)).encode())
    return rules.check_decision(decision, now=NOW, require_model_for_automation=True)


def test_every_field_a_rule_names_has_its_inputs_listed():
    named: set[str] = set()
    for overrides in RULE_BREAKERS:
        errors = rule_errors(overrides)
        assert errors, overrides
        named |= set(errors)

    fields = set(DecisionIn.__struct_fields__)
    assert named <= set(rules.RULE_INPUTS), named - set(rules.RULE_INPUTS)
    # Each listed field is one the rules name, and reads only decision fields, itself among them.
    assert set(rules.RULE_INPUTS) == named
    for field, inputs in rules.RULE_INPUTS.items():
        assert inputs <= fields, (field, inputs - fields)
        assert field in inputs or field in ("decision_type", "model"), field


@pytest.mark.parametrize("overrides", RULE_BREAKERS)
def test_a_rule_error_is_kept_when_its_inputs_decoded_and_dropped_when_one_failed(overrides):
    errors = rule_errors(overrides)
    decision = decode_decision(json.dumps(decision_payload(**overrides)).encode())

    for field, messages in errors.items():
        kept = schemas.Partial(decision, {}, frozenset({"internal_notes"}))
        assert rules.every_problem(kept, now=NOW)[field] == messages
        for failed in rules.RULE_INPUTS[field]:
            decision = decode_decision(json.dumps(decision_payload(**overrides)).encode())
            guessed = schemas.Partial(decision, {failed: ["broken"]}, frozenset({failed}))
            assert rules.every_problem(guessed, now=NOW).get(field, ["broken"]) == ["broken"]


# --- the examples in the schema are recorded as sent ---------------------------------------

# Every operation with a body, outside the appeals and review APIs (issue 9's), in the order
# their examples depend on each other: the decision examples name the registered examples.
BODY_OPERATIONS = [
    ("post", "/api/v1/models"),
    ("post", "/api/v1/policies"),
    ("post", "/api/v1/decisions"),
    ("post", "/api/v1/decisions/batch"),
    ("put", "/api/v1/forwarding/eu"),
    ("put", "/api/v1/webhooks"),
    ("post", "/api/v1/statement"),
    ("post", "/api/v1/statements"),
]


def schema() -> dict[str, Any]:
    """The OpenAPI schema of these endpoints, as /api/v1/schema serves it (generated from
    their own URL patterns, so that another part's endpoints cannot fail it)."""
    document = SchemaGenerator(patterns=_own_patterns()).get_schema(request=None, public=True)
    # As served: JSON, so that examples are compared as a client reads them.
    loaded: dict[str, Any] = json.loads(json.dumps(document, default=str))
    return loaded


def examples_of(document: dict[str, Any], method: str, path: str) -> list[Any]:
    media = document["paths"][path][method]["requestBody"]["content"]["application/json"]
    if "examples" in media:
        return [example["value"] for example in media["examples"].values()]
    ref = media["schema"]["$ref"].rsplit("/", 1)[1]
    return [document["components"]["schemas"][ref]["example"]]


@pytest.fixture
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The webhook example's host resolves to a public address (no outside DNS in tests)."""
    monkeypatch.setattr(eu_client, "resolve", lambda host, port: ["93.184.215.14"])


def test_every_body_in_the_schema_has_an_example_and_each_is_recorded_as_sent(api, public_dns):
    document = schema()
    with_bodies = {
        (method, path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation and not path.startswith(("/api/v1/appeals", "/api/v1/review"))
    }
    assert with_bodies == set(BODY_OPERATIONS)

    answers = []
    for method, path in BODY_OPERATIONS:
        examples = examples_of(document, method, path)
        assert examples, path
        for example in examples:
            response = post(api, path, example, method)
            answers.append((path, response.status_code, response.content[:300]))
    assert all(status in (200, 201) for _, status, _ in answers), answers
    # Each example recorded what it shows: two single decisions, four from the batches, two
    # EU statements, one of them alone and two in a batch.
    assert Decision.objects.filter(puid__in=_puids(document)).count() == 9


def _puids(document: dict[str, Any]) -> list[str]:
    puids = []
    for method, path in BODY_OPERATIONS:
        for example in examples_of(document, method, path):
            items = example.get("decisions") or example.get("statements") or [example]
            puids += [item["puid"] for item in items if "puid" in item]
    return puids


def test_the_automated_example_is_a_model_version_and_policy_the_examples_register():
    from moderation import api

    decision = schemas.EXAMPLE_AUTOMATED_DECISION
    assert (decision["model"], decision["model_version"]) == (
        api.EXAMPLE_MODEL_VERSION["name"],
        api.EXAMPLE_MODEL_VERSION["version"],
    )
    assert decision["policy"] == api.EXAMPLE_POLICY["key"]
    assert decision["category"] == api.EXAMPLE_POLICY["category"]


def test_the_list_filters_the_readme_promises_are_in_the_schema():
    operation = schema()["paths"]["/api/v1/decisions"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}

    assert {"puid", "action", "decision_type", "decided_after", "decided_before"} <= set(parameters)
    assert sorted(parameters["action"]["schema"]["enum"]) == sorted(Action.values)
    assert sorted(parameters["decision_type"]["schema"]["enum"]) == sorted(DecisionType.values)
    assert parameters["decided_after"]["schema"]["format"] == "date-time"
    assert "400" in operation["responses"]


def _own_patterns() -> list[URLPattern | URLResolver]:
    """The URL patterns of this part: the platform API and the public log API."""
    from ledger import urls

    own = []
    for pattern in urls.urlpatterns:
        route = str(pattern.pattern)
        name = getattr(pattern, "name", None) or ""
        module = getattr(getattr(pattern, "urlconf_name", None), "__name__", None)
        if (name.startswith("log-") and route.startswith("api/")) or module == "moderation.urls":
            own.append(pattern)
    return own


def test_the_schema_of_these_endpoints_validates_without_a_warning():
    GENERATOR_STATS.reset()
    document = SchemaGenerator(patterns=_own_patterns()).get_schema(request=None, public=True)

    validate_schema(document)
    warnings = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    assert warnings == []
    assert "/api/v1/log/entries" in document["paths"]
    assert "/api/v1/decisions/batch" in document["paths"]
    assert '"type": "null"' not in json.dumps(document)


# --- receipts -------------------------------------------------------------------------------


def _entry(index: int) -> LogEntry:
    return LogEntry.objects.get(index=index)


def test_batch_receipts_carry_the_receipt_url_of_the_log_entry(api, client):
    response = post(
        api, "/api/v1/decisions/batch", {"decisions": [decision_payload() for _ in range(3)]}
    )
    log.seal_checkpoint()

    assert response.status_code == 201
    for item in response.json()["decisions"]:
        decision = Decision.objects.get(public_id=item["id"])
        assert item["receipt_url"] == item["notice_url"] + "/receipt.tlog-proof"
        assert item["log_index"] == decision.log_entry_id
        entry = _entry(item["log_index"])
        assert item["leaf_hash"] == merkle.leaf_hash(entry.payload.encode()).hex()
        proof = client.get(item["receipt_url"])
        assert proof.status_code == 200, proof.content[:300]
        # The tlog-proof's `extra` line is the entry's payload, base64.
        assert b"extra " + base64.b64encode(entry.payload.encode()) + b"\n" in proof.content


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (
            "/api/v1/models",
            {"name": "nudity", "version": "2.1", "released_at": "2026-03-01", "threshold": 0.7},
        ),
        (
            "/api/v1/policies",
            {
                "key": "spam",
                "title": "Spam",
                "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
                "ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
                "clause": "Terms 7.1",
            },
        ),
    ],
)
def test_model_and_policy_registrations_answer_with_their_log_entry(api, url, body):
    size = log.size()

    created = post(api, url, body)
    again = post(api, url, body) if url.endswith("models") else None
    listed = api.get(url).json()

    assert created.status_code == 201
    data = created.json()
    assert data["log_index"] == size  # the entry it appended
    entry = _entry(size)
    assert data["leaf_hash"] == merkle.leaf_hash(entry.payload.encode()).hex()
    assert json.loads(entry.payload)["version"] == data["version"]
    if again is not None:
        assert again.status_code == 200 and again.json() == data
    assert data in listed


def test_every_create_answer_carries_the_receipt_fields(api, public_dns):
    from moderation.dsa_schema import EXAMPLE_STATEMENT

    answers = {
        "decision": post(api, "/api/v1/decisions", decision_payload()).json(),
        "batch item": post(api, "/api/v1/decisions/batch", {"decisions": [human_payload()]}).json()[
            "decisions"
        ][0],
        "statement": post(api, "/api/v1/statement", EXAMPLE_STATEMENT).json(),
    }
    for what, answer in answers.items():
        assert isinstance(answer["log_index"], int), what
        assert len(answer["leaf_hash"]) == 64, what
        assert answer["receipt_url"].endswith("/receipt.tlog-proof"), what


# --- reads with bad parameters --------------------------------------------------------------


def test_a_bad_filter_is_named_with_its_allowed_values_not_as_nothing_recorded(api):
    post(api, "/api/v1/decisions", decision_payload())

    response = api.get("/api/v1/decisions?action=bogus")

    assert response.status_code == 400
    body = response.json()
    assert body == {
        "detail": "Invalid query parameters: each is named with what it takes.",
        "errors": {
            "action": [
                "Must be one of FLAG, NO_ACTION, VISIBILITY_RESTRICTION, REMOVAL, "
                "MONETARY_RESTRICTION, SERVICE_RESTRICTION, ACCOUNT_SUSPENSION, "
                "ACCOUNT_TERMINATION, REVERSAL, EXPIRY."
            ]
        },
    }


def test_every_bad_filter_and_unknown_parameter_is_named_at_once(api):
    response = api.get(
        "/api/v1/decisions?decision_type=RESTRICTION&decided_after=yesterday&actoin=REMOVAL"
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    # An unknown parameter is refused before the filters are read.
    assert errors == {
        "actoin": [
            "Unknown parameter; this one takes action, cursor, decided_after, decided_before, "
            "decision_type, format, page_size, puid."
        ]
    }
    response = api.get("/api/v1/decisions?decision_type=RESTRICTION&decided_after=yesterday")
    assert set(response.json()["errors"]) == {"decision_type", "decided_after"}
    assert response.json()["errors"]["decided_after"] == [
        "Must be an ISO 8601 time with its offset, like 2026-11-01T00:00:00Z."
    ]


def test_good_filters_still_filter(api):
    post(api, "/api/v1/decisions", decision_payload())
    removal = post(api, "/api/v1/decisions", human_payload()).json()

    response = api.get("/api/v1/decisions?action=REMOVAL&decision_type=DECISION_TYPE_RESTRICTION")

    assert response.status_code == 200
    assert [d["id"] for d in response.json()["results"]] == [removal["id"]]


@pytest.mark.parametrize("url", ["/api/v1/models", "/api/v1/policies"])
def test_a_list_without_filters_refuses_a_parameter_instead_of_ignoring_it(api, url):
    response = api.get(f"{url}?name=hate-speech")

    assert response.status_code == 400
    assert response.json()["errors"] == {"name": ["Unknown parameter; this one takes format."]}
    assert api.get(url).status_code == 200


def test_a_bad_body_on_a_change_says_nothing_was_changed(api):
    response = post(api, "/api/v1/webhooks", {"url": 5}, method="put")

    assert response.status_code == 400
    assert response.json()["detail"] == "Invalid input; nothing was changed."
    assert not WebhookEndpoint.objects.exists() and not EuForwarding.objects.exists()


# --- the log's entries: a documented cap and a next link -----------------------------------


def test_a_range_beyond_the_cap_says_so_and_links_the_rest(client, api, monkeypatch):
    from ledger import api as log_api

    monkeypatch.setattr(log_api, "MAX_PAGE", 4)
    post(api, "/api/v1/decisions/batch", {"decisions": [decision_payload() for _ in range(9)]})
    size = log.size()
    assert size == 10  # the model version and nine decisions

    pages = [client.get("/api/v1/log/entries?start=0&end=100000")]
    while pages[-1].json()["next"]:
        pages.append(client.get(pages[-1].json()["next"]))

    first = pages[0].json()
    assert (first["start"], first["end"], first["size"], first["limit"]) == (0, 4, 10, 4)
    assert first["next"] == "http://testserver/api/v1/log/entries?start=4&end=100000"
    assert pages[0]["Link"] == f'<{first["next"]}>; rel="next"'
    assert [[e["index"] for e in p.json()["entries"]] for p in pages] == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9],
    ]
    assert pages[-1].json()["next"] is None and "Link" not in pages[-1]


def test_a_range_within_the_log_stops_where_it_was_asked_to(client, api, monkeypatch):
    from ledger import api as log_api

    monkeypatch.setattr(log_api, "MAX_PAGE", 4)
    post(api, "/api/v1/decisions/batch", {"decisions": [decision_payload() for _ in range(9)]})

    first = client.get("/api/v1/log/entries?start=1&end=7").json()
    second = client.get(first["next"]).json()

    assert [e["index"] for e in first["entries"]] == [1, 2, 3, 4]
    assert first["next"].endswith("?start=5&end=7")
    assert [e["index"] for e in second["entries"]] == [5, 6]
    assert (second["end"], second["next"]) == (7, None)


def test_the_real_cap_is_documented_in_the_schema():
    from ledger import api as log_api

    document = schema()
    operation = document["paths"]["/api/v1/log/entries"]["get"]
    page = document["components"]["schemas"]["EntriesOut"]

    assert log_api.MAX_PAGE == 1000
    assert "at most 1000" in operation["summary"]
    assert {"entries", "start", "end", "size", "limit", "next"} <= set(page["required"])
    assert "Link header" in page["properties"]["next"]["description"]


def test_an_unknown_log_parameter_is_named(client, api):
    response = client.get("/api/v1/log/entries?start=0&ned=5")

    assert response.status_code == 400
    assert response.json()["errors"] == {"ned": ["Unknown parameter; this one takes start, end."]}


# --- issue_api_key --name ---------------------------------------------------------------------


def issue(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("issue_api_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_issue_api_key_names_the_key(platform):
    out, err = issue("vidshare", "--name", "CI pipeline")

    key = out.strip().splitlines()[-1]
    api_key = ApiKey.objects.get(platform=platform)
    assert api_key.name == "CI pipeline"
    assert key.split("_")[1] == api_key.prefix
    assert f"Issued key {api_key.prefix} ('CI pipeline') for vidshare." in err
    audit = AuditEvent.objects.get(action="api_key.issued")
    assert audit.details == {"name": "CI pipeline"}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/decisions").status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("vidshare", "--name", "k" * 101), "--name is 101 characters long; at most 100."),
        (("vidshare", "--name", "a\x00b"), "--name must not contain NUL characters."),
        (("new one", "--create"), "'new one' cannot be a platform slug"),
    ],
)
def test_issue_api_key_refuses_what_it_cannot_store_and_writes_nothing(platform, args, message):
    before = written()

    with pytest.raises(CommandError, match=message):
        issue(*args)

    assert written() == before
