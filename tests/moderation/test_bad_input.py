"""The native API refuses bad input with a 4xx naming every problem, writes nothing, never
answers a 500, and never accepts a value that would make a later read fail."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import pytest
from rest_framework.test import APIClient

from ledger.models import LogEntry
from moderation.models import Decision, EuForwarding, ModelVersion, Policy
from moderation.schemas import DecisionIn
from tests.factories import decision_payload, human_payload

pytestmark = pytest.mark.django_db

YEAR_ONE = "0001-01-01T00:00:00+14:00"


def post(api: APIClient, url: str, body: Any) -> Any:
    return api.post(url, data=json.dumps(body), content_type="application/json")


def post_raw(api: APIClient, url: str, body: bytes, method: str = "post") -> Any:
    return getattr(api, method)(url, data=body, content_type="application/json")


def written() -> dict[str, int]:
    return {
        "decisions": Decision.objects.count(),
        "log": LogEntry.objects.count(),
        "models": ModelVersion.objects.count(),
        "policies": Policy.objects.count(),
        "forwarding": EuForwarding.objects.count(),
    }


@pytest.fixture
def before(api: APIClient) -> dict[str, int]:
    return written()


def assert_refused(response: Any, *fields: str, before: dict[str, int]) -> dict[str, Any]:
    assert response.status_code == 400, (response.status_code, response.content[:500])
    body = response.json()
    assert body["detail"]
    for field in fields:
        assert field in body["errors"], body["errors"]
    assert written() == before
    return body


def policy_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "key": "spam",
        "title": "Spam",
        "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        "ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "clause": "Terms 7.1",
    }
    body.update(overrides)
    return body


def model_body(**overrides: Any) -> dict[str, Any]:
    body = {"name": "nudity", "version": "2.1", "released_at": "2026-03-01", "threshold": 0.7}
    body.update(overrides)
    return body


# --- dates and times ----------------------------------------------------------------------


@pytest.mark.parametrize("field", ["decided_at", "notified_at"])
@pytest.mark.parametrize(
    "value",
    [
        YEAR_ONE,
        "0001-01-01T00:00:00+01:00",
        "0001-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        # 2000-01-01 in Paris is still 1999 in UTC: the bound is checked after conversion.
        "2000-01-01T00:30:00+01:00",
        "9999-12-31T23:59:59-14:00",
        "9999-12-31T23:59:59Z",
        "2099-01-01T00:00:00-20:25",
    ],
)
def test_a_decision_or_notification_time_out_of_bounds_is_refused_and_nothing_is_written(
    api, before, field, value
):
    response = post(api, "/api/v1/decisions", decision_payload(**{field: value}))

    assert_refused(response, field, before=before)
    assert api.get("/api/v1/decisions").status_code == 200


def test_the_earliest_decision_time_is_accepted_and_reads_back(api, client):
    response = post(
        api,
        "/api/v1/decisions",
        decision_payload(decided_at="2000-01-01T00:00:00Z", notified_at="2000-01-02T00:00:00Z"),
    )

    assert response.status_code == 201, response.json()
    data = response.json()
    assert api.get("/api/v1/decisions").status_code == 200
    assert api.get(f"/api/v1/decisions/{data['id']}").status_code == 200
    assert client.get(data["notice_url"]).status_code == 200


@pytest.mark.parametrize("offset", ["-20:25", "+23:59", "-23:59"])
def test_a_time_with_an_offset_postgresql_cannot_store_is_recorded_and_reads_back(
    api, client, offset
):
    response = post(
        api,
        "/api/v1/decisions",
        decision_payload(
            decided_at=f"2026-11-01T10:00:00{offset}", notified_at=f"2026-11-02T10:00:00{offset}"
        ),
    )

    assert response.status_code == 201, response.json()
    data = response.json()
    assert api.get("/api/v1/decisions").status_code == 200
    assert api.get(f"/api/v1/decisions/{data['id']}").status_code == 200
    assert client.get(data["notice_url"]).status_code == 200


def test_a_notification_before_the_decision_is_refused(api, before):
    response = post(
        api,
        "/api/v1/decisions",
        decision_payload(decided_at="2026-11-02T10:00:00Z", notified_at="2026-11-02T09:59:59Z"),
    )

    assert_refused(response, "notified_at", before=before)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"content_date": "0001-01-01"}, "content_date"),
        ({"application_date": "0001-01-01"}, "application_date"),
        ({"application_date": "2019-12-31"}, "application_date"),
        ({"end_date_visibility_restriction": "0001-01-01"}, "end_date_visibility_restriction"),
        ({"end_date_visibility_restriction": "9999-12-31"}, "end_date_visibility_restriction"),
    ],
)
def test_a_date_out_of_bounds_is_refused(api, before, overrides, field):
    response = post(api, "/api/v1/decisions", decision_payload(**overrides))

    assert_refused(response, field, before=before)


def test_every_date_problem_is_named_at_once(api, before):
    response = post(
        api,
        "/api/v1/decisions",
        decision_payload(content_date="1999-01-01", decided_at=YEAR_ONE, notified_at=YEAR_ONE),
    )

    assert_refused(response, "content_date", "decided_at", "notified_at", before=before)


def test_a_batch_of_a_thousand_with_a_year_one_time_at_the_end_names_it_and_writes_nothing(
    api, before
):
    decisions = [decision_payload() for _ in range(1000)]
    decisions[999]["decided_at"] = YEAR_ONE

    response = post(api, "/api/v1/decisions/batch", {"decisions": decisions})

    body = assert_refused(response, "999", before=before)
    assert set(body["errors"]) == {"999"}
    assert "decided_at" in body["errors"]["999"]
    assert api.get("/api/v1/decisions").status_code == 200


@pytest.mark.parametrize("released_at", ["0001-01-01", "1999-12-31", "2038-01-02", "9999-12-31"])
def test_a_model_version_released_out_of_bounds_is_refused(api, before, released_at):
    response = post(api, "/api/v1/models", model_body(released_at=released_at))

    assert_refused(response, "released_at", before=before)


# --- NUL characters -----------------------------------------------------------------------

NUL = "a\u0000b"
OTHER_VISIBILITY = {"decision_visibility": ["DECISION_VISIBILITY_OTHER"]}
OTHER_CONTENT = {"content_type": ["CONTENT_TYPE_OTHER"]}
OTHER_KEYWORD = {"category_specification": ["KEYWORD_OTHER"]}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"decision_facts": NUL}, "decision_facts"),
        ({"internal_notes": NUL}, "internal_notes"),
        ({"incompatible_content_ground": NUL}, "incompatible_content_ground"),
        ({"incompatible_content_explanation": NUL}, "incompatible_content_explanation"),
        ({**OTHER_CONTENT, "content_type_other": NUL}, "content_type_other"),
        ({**OTHER_VISIBILITY, "decision_visibility_other": NUL}, "decision_visibility_other"),
        ({**OTHER_KEYWORD, "category_specification_other": NUL}, "category_specification_other"),
        ({"decision_ground_reference_url": NUL}, "decision_ground_reference_url"),
        ({"subject": {"account": NUL}}, "subject.account"),
        ({"subject": {"account": "u", "content": NUL}}, "subject.content"),
        ({"model_version": NUL}, "model_version"),
        ({"moderator": NUL}, "moderator"),
        (
            {"source_type": "SOURCE_ARTICLE_16", "source_identity": NUL},
            "source_identity",
        ),
    ],
)
def test_a_nul_character_in_a_text_field_is_refused_naming_it(api, before, overrides, field):
    response = post(api, "/api/v1/decisions", decision_payload(**overrides))

    body = assert_refused(response, field, before=before)
    assert "NUL" in " ".join(body["errors"][field])


def test_nul_characters_in_the_grounds_of_illegal_content_are_named_together(api, before):
    response = post(
        api,
        "/api/v1/decisions",
        human_payload(illegal_content_legal_ground=NUL, illegal_content_explanation=NUL),
    )

    assert_refused(
        response, "illegal_content_legal_ground", "illegal_content_explanation", before=before
    )


def test_nul_characters_in_a_batch_are_named_by_item_and_field(api, before):
    decisions = [decision_payload() for _ in range(6)]
    decisions[2]["decision_facts"] = NUL
    decisions[5]["internal_notes"] = NUL
    decisions[5]["subject"] = {"account": NUL}

    response = post(api, "/api/v1/decisions/batch", {"decisions": decisions})

    body = assert_refused(response, "2", "5", before=before)
    assert set(body["errors"]) == {"2", "5"}
    assert set(body["errors"]["2"]) == {"decision_facts"}
    assert set(body["errors"]["5"]) == {"internal_notes", "subject.account"}


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(api):
    response = post(api, "/api/v1/decisions", decision_payload(decision_facts="C:\\u0000 path"))

    assert response.status_code == 201, response.json()
    assert response.json()["decision_facts"] == "C:\\u0000 path"


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/policies", policy_body(title=NUL), "title"),
        ("/api/v1/policies", policy_body(summary=NUL), "summary"),
        ("/api/v1/models", model_body(version=NUL), "version"),
    ],
)
def test_a_nul_character_in_a_registration_is_refused(api, before, url, body, field):
    assert_refused(post(api, url, body), field, before=before)


# --- bodies that are not JSON we can parse ------------------------------------------------

DEEP = b"[" * 100_000 + b"]" * 100_000
BODY_URLS = [
    ("/api/v1/decisions", "post"),
    ("/api/v1/decisions/batch", "post"),
    ("/api/v1/models", "post"),
    ("/api/v1/policies", "post"),
    ("/api/v1/forwarding/eu", "put"),
]


@pytest.mark.parametrize(("url", "method"), BODY_URLS)
@pytest.mark.parametrize(
    "body",
    [
        b'{"puid": "\xff\xfe"}',
        b"\xc3\x28",
        DEEP,
        b'{"decisions": [' + DEEP + b"]}",
        b'{"name": ' + DEEP + b"}",
        b'{"title": "\\ud800"}',
        b'{"threshold": 1e400}',
    ],
    ids=["latin1", "bad-utf8", "deep", "deep-item", "deep-field", "lone-surrogate", "huge-float"],
)
def test_a_body_that_cannot_be_parsed_is_refused_with_a_400(api, before, url, method, body):
    response = post_raw(api, url, body, method)

    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert response.json()["detail"]
    assert written() == before


@pytest.mark.parametrize(("url", "method"), BODY_URLS[2:])
@pytest.mark.parametrize("body", [b"null", b"[]", b'"text"', b"3"])
def test_a_body_that_is_not_an_object_is_refused(api, before, url, method, body):
    response = post_raw(api, url, body, method)

    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert written() == before


# --- query parameters of the decision list ------------------------------------------------


def cursor(raw: str) -> str:
    return quote(base64.b64encode(raw.encode()).decode())


@pytest.mark.parametrize(
    "query",
    [
        f"cursor={cursor('p=abc')}",
        f"cursor={cursor('p=a%00b')}",
        f"cursor={cursor('p=1.5')}",
        f"cursor={cursor('p=' + '9' * 30)}",
        f"cursor={cursor('p=+1')}",
        f"cursor={cursor('p= 1')}",
        f"cursor={cursor('o=abc')}",
        f"cursor={cursor('r=x&p=1')}",
        "cursor=not-base64!",
        "cursor=wrI%3D",  # base64 of "²" in UTF-8
    ],
)
def test_a_forged_cursor_is_refused_without_a_500(api, query):
    post(api, "/api/v1/decisions", decision_payload())

    response = api.get(f"/api/v1/decisions?{query}")

    assert response.status_code in (400, 404), (response.status_code, response.content[:300])


@pytest.mark.parametrize(
    "query",
    # A NUL is not base64: the decoder skips it and reads the first page.
    ["cursor=%00", f"cursor={cursor('p=-1')}", f"cursor={cursor('o=' + '9' * 30 + '&p=1')}"],
)
def test_an_odd_but_well_formed_cursor_reads_a_page(api, query):
    post(api, "/api/v1/decisions", decision_payload())

    assert api.get(f"/api/v1/decisions?{query}").status_code == 200


def test_a_real_cursor_still_pages_through_the_decisions(api):
    for _ in range(3):
        post(api, "/api/v1/decisions", decision_payload())

    first = api.get("/api/v1/decisions?page_size=2").json()
    second = api.get(first["next"]).json()

    assert len(first["results"]) == 2 and len(second["results"]) == 1
    assert api.get(second["previous"]).json()["results"] == first["results"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("action=bogus", "action"),
        ("decision_type=bogus", "decision_type"),
        ("decided_after=0001-01-01T00:00:00%2B14:00", "decided_after"),
        ("decided_before=0001-01-01T00:00:00%2B01:00", "decided_before"),
        ("decided_before=9999-12-31T23:59:59-14:00", "decided_before"),
        ("decided_after=yesterday", "decided_after"),
        ("puid=a%00b", "puid"),
    ],
)
def test_a_bad_filter_value_is_refused_naming_it(api, query, field):
    post(api, "/api/v1/decisions", decision_payload())

    response = api.get(f"/api/v1/decisions?{query}")

    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert field in response.json()["errors"]


@pytest.mark.parametrize(
    "query",
    ["decided_after=0309-01-30T15:26:59.316-20:25", "decided_before=2026-01-01T00:00-23:59"],
)
def test_a_filter_time_with_an_offset_postgresql_refuses_is_read_in_utc(api, query):
    post(api, "/api/v1/decisions", decision_payload())

    assert api.get(f"/api/v1/decisions?{query}").status_code == 200


@pytest.mark.parametrize("query", ["page_size=²", "page_size=" + "9" * 30, "page_size=-1"])
def test_an_odd_page_size_falls_back_without_a_500(api, query):
    assert api.get(f"/api/v1/decisions?{query}").status_code == 200


# --- patterns match the whole value -------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"puid": "abc\n"}, "puid"),
        ({"supersedes_puid": "abc\n"}, "supersedes_puid"),
        ({"policy": "hate\n"}, "policy"),
        ({"model": "hate-speech\n"}, "model"),
        ({"content_id": {"EAN-13": "4006381333931\n"}}, "content_id.EAN-13"),
    ],
)
def test_a_value_ending_in_a_newline_does_not_match_a_pattern(api, before, overrides, field):
    response = post(api, "/api/v1/decisions", decision_payload(**overrides))

    assert_refused(response, field, before=before)


def test_a_puid_ending_in_a_newline_is_refused_in_a_batch(api, before):
    decisions = [decision_payload() for _ in range(3)]
    decisions[1]["puid"] = "abc\n"

    response = post(api, "/api/v1/decisions/batch", {"decisions": decisions})

    body = assert_refused(response, "1", before=before)
    assert "puid" in body["errors"]["1"]


def test_a_pattern_error_shows_the_pattern_as_the_schema_does(api, before):
    response = post(api, "/api/v1/decisions", decision_payload(puid="abc\n"))

    body = assert_refused(response, "puid", before=before)
    assert body["errors"]["puid"] == ["Expected `str` matching regex '^[a-zA-Z0-9_-]+$'"]


def test_the_openapi_schema_keeps_portable_anchors(client):
    schema = client.get("/api/v1/schema?format=json").json()
    puid = schema["components"]["schemas"]["DecisionIn"]["properties"]["puid"]

    assert puid["pattern"] == "^[a-zA-Z0-9_-]+$"


# --- strict types on registrations --------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"threshold": True}, "threshold"),
        ({"threshold": "0.5"}, "threshold"),
        ({"threshold": None}, "threshold"),
        ({"threshold": 1.5}, "threshold"),
        ({"name": 5}, "name"),
        ({"version": 2.1}, "version"),
        ({"version": True}, "version"),
        ({"released_at": 20260301}, "released_at"),
        ({"card_url": 5}, "card_url"),
        ({"name": "nudity\n"}, "name"),
    ],
)
def test_a_model_version_of_the_wrong_type_is_refused(api, before, overrides, field):
    assert_refused(post(api, "/api/v1/models", model_body(**overrides)), field, before=before)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"version": "3"}, "version"),
        ({"version": True}, "version"),
        ({"version": 2.0}, "version"),
        ({"version": 0}, "version"),
        ({"version": 2**31}, "version"),
        ({"version": 10**30}, "version"),
        ({"title": 5}, "title"),
        ({"clause": ["a"]}, "clause"),
        ({"key": "spam\n"}, "key"),
    ],
)
def test_a_policy_of_the_wrong_type_is_refused(api, before, overrides, field):
    assert_refused(post(api, "/api/v1/policies", policy_body(**overrides)), field, before=before)


def test_the_largest_policy_version_is_accepted(api):
    response = post(api, "/api/v1/policies", policy_body(version=2**31 - 1))

    assert response.status_code == 201, response.json()
    assert response.json()["version"] == 2**31 - 1
    assert api.get("/api/v1/policies").status_code == 200


def test_every_problem_of_a_registration_is_named_at_once(api, before):
    response = post(
        api,
        "/api/v1/models",
        {"name": 5, "released_at": "0001-01-01", "threshold": "0.5", "colour": "red"},
    )

    body = assert_refused(response, "name", "version", "released_at", "threshold", before=before)
    assert "colour" in body["errors"]


def test_an_unknown_field_is_named_with_the_other_problems(api, before):
    response = post(api, "/api/v1/policies", policy_body(version="3", colour="red"))

    assert_refused(response, "version", "colour", before=before)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"api_token": 5}, "api_token"),
        ({"api_token": NUL}, "api_token"),
        ({"enabled": "yes"}, "enabled"),
        ({"enabled": 1}, "enabled"),
    ],
)
def test_eu_forwarding_settings_of_the_wrong_type_are_refused(api, before, overrides, field):
    body = {"api_token": "secret-token", **overrides}

    response = api.put(
        "/api/v1/forwarding/eu", data=json.dumps(body), content_type="application/json"
    )

    assert_refused(response, field, before=before)


# --- a sweep of hostile values through every field ----------------------------------------

HOSTILE: list[Any] = [
    None,
    True,
    0,
    -1,
    2**31,
    10**30,
    1e308,
    -0.0,
    "",
    " ",
    "\u0000",
    "\ud800",
    "abc\n",
    "x" * 6000,
    "²",
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "2026-02-30",
    "DECISION_VISIBILITY_OTHER",
    "https://127.0.0.1/",
    [],
    [None],
    ["\u0000"],
    {},
    {"account": "\u0000"},
    {"EAN-13": "\u0000"},
]


def test_no_value_in_any_decision_field_gets_a_500_or_breaks_a_later_read(api, client):
    problems = []
    for field in DecisionIn.__struct_encode_fields__:
        for value in HOSTILE:
            body = decision_payload()
            body[field] = value
            response = post(api, "/api/v1/decisions", body)
            if response.status_code not in (200, 201, 400, 409):
                problems.append((field, value, response.status_code))
            elif response.status_code == 201:
                data = response.json()
                reads = [
                    api.get(f"/api/v1/decisions/{data['id']}"),
                    api.get(f"/api/v1/decisions/{data['id']}/dsa"),
                    client.get(data["notice_url"]),
                ]
                if any(r.status_code != 200 for r in reads):
                    problems.append((field, value, [r.status_code for r in reads]))
    assert api.get("/api/v1/decisions?page_size=1000").status_code == 200
    assert problems == []


def test_no_value_in_any_registration_field_gets_a_500(api):
    problems = []
    for url, make in (("/api/v1/models", model_body), ("/api/v1/policies", policy_body)):
        for field in [*make(), "version", "card_url", "url", "summary"]:
            for value in HOSTILE:
                response = post(api, url, make(**{field: value}))
                if response.status_code >= 500:
                    problems.append((url, field, value, response.status_code))
                elif response.status_code < 300 and api.get(url).status_code != 200:
                    problems.append((url, field, value, "later read failed"))
    for field in ("api_token", "enabled"):
        for value in HOSTILE:
            response = api.put(
                "/api/v1/forwarding/eu",
                data=json.dumps({"api_token": "t", field: value}),
                content_type="application/json",
            )
            if response.status_code >= 500 or api.get("/api/v1/forwarding/eu").status_code != 200:
                problems.append(("forwarding", field, value, response.status_code))
    assert problems == []


def test_the_schema_says_which_outputs_may_be_null_or_empty(client):
    schemas = client.get("/api/v1/schema?format=json").json()["components"]["schemas"]

    decision = schemas["DecisionOut"]["properties"]
    assert decision["internal_notes"]["nullable"] and decision["decision_account"]["nullable"]
    assert "format" not in schemas["PolicyOut"]["properties"]["url"]
    assert "format" not in schemas["ModelVersionOut"]["properties"]["card_url"]
