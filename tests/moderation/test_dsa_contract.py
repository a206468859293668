"""The EU-compatible API against the EU's own contract (digital-services-act/transparency-database:
StatementStoreRequest, the Statement model, its API controllers and their feature tests), and
the malformed input an EU client or an attacker may send: always a 4xx naming the problem, never
a 500, and nothing written."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from moderation.models import Decision
from tests.factories import statement_payload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    """The EU's per-key rate limits count in the cache; these tests send hundreds a second."""
    cache.clear()


def post(client: APIClient, url: str, body: Any) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json")


def rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM moderation_decision")
        return int(cursor.fetchone()[0])


# --- what the EU answers ----------------------------------------------------------------------


def test_the_201_of_a_statement_carries_its_integer_id_and_its_puid(api):
    response = post(api, "/api/v1/statement", statement_payload(puid="TK421"))

    assert response.status_code == 201
    body = response.json()
    stored = Decision.objects.get(public_id=body["uuid"])
    assert type(body["id"]) is int and body["id"] == stored.pk
    assert body["puid"] == "TK421"


def test_reading_a_statement_shows_neither_its_puid_nor_its_id(api):
    created = post(api, "/api/v1/statement", statement_payload(puid="TK421")).json()

    response = api.get(f"/api/v1/statement/{created['uuid']}")

    assert response.status_code == 200
    assert b'"puid":' not in response.content
    assert b'"id":' not in response.content
    assert response.json()["uuid"] == created["uuid"]


def test_a_batch_answer_names_each_puid_and_no_id_as_the_eus_does(api):
    statements = [statement_payload(), statement_payload()]

    response = post(api, "/api/v1/statements", {"statements": statements})

    assert response.status_code == 201
    answered = response.json()["statements"]
    assert [s["puid"] for s in answered] == [s["puid"] for s in statements]
    assert all("id" not in s for s in answered)


@pytest.mark.parametrize("url", ["notvalidurl", "www.example.com", "https://exa mple.com", "x:y"])
def test_a_decision_ground_reference_url_that_is_no_url_gets_the_eus_422(api, url):
    response = post(api, "/api/v1/statement", statement_payload(decision_ground_reference_url=url))

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "decision_ground_reference_url": [
            "The decision ground reference url field must be a valid URL."
        ]
    }
    assert rows() == 0


def test_a_url_ending_in_a_newline_is_no_url(api):
    body = statement_payload(decision_ground_reference_url="https://vidshare.example/terms\n")

    response = post(api, "/api/v1/statement", body)

    assert response.status_code == 422
    assert "decision_ground_reference_url" in response.json()["errors"]


@pytest.mark.parametrize(
    "url",
    [
        "https://www.goodurl.com",
        "http://localhost",
        "https://vidshare.example/terms?lang=de#section-4.2",
        "https://bücher.example/agb",
        "ftp://files.example.org/terms.pdf",
        "https://[2001:db8::1]:8443/terms",
    ],
)
def test_urls_the_eu_accepts_are_accepted(api, url):
    response = post(api, "/api/v1/statement", statement_payload(decision_ground_reference_url=url))

    assert response.status_code == 201, response.json()
    assert response.json()["decision_ground_reference_url"] == url


@pytest.mark.parametrize(
    "url",
    [
        "http://" + "a-" * 245 + "!",
        "http://" + "a_" * 245 + "!",
        "http://" + "a." * 246 + "!",
        "http://" + "a" * 240 + "@" + "b" * 240 + "!",
        "http://x." + "a-." * 160 + "!",
        "http://a/" + "/" * 480 + " ",
        "http://[" + ":" * 480 + "]",
    ],
    ids=["hyphens", "underscores", "labels", "user", "hyphen-labels", "slashes", "ipv6"],
)
def test_checking_a_url_takes_linear_time_on_hostile_input(api, url):
    started = time.perf_counter()
    response = post(api, "/api/v1/statement", statement_payload(decision_ground_reference_url=url))

    assert response.status_code == 422
    assert time.perf_counter() - started < 1.0


def test_a_batch_refuses_a_reference_url_that_is_no_url_naming_the_statement(api):
    statements = [
        statement_payload(),
        statement_payload(decision_ground_reference_url="notvalidurl"),
    ]

    response = post(api, "/api/v1/statements", {"statements": statements})

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"statement_1"}
    assert "decision_ground_reference_url" in response.json()["errors"]["statement_1"]
    assert rows() == 0


def test_an_account_only_statement_has_an_empty_visibility_list_not_null(api):
    body = statement_payload(
        decision_visibility=None,
        decision_account="DECISION_ACCOUNT_SUSPENDED",
        category_specification=None,
        category_specification_other=None,
        territorial_scope=None,
    )

    created = post(api, "/api/v1/statement", body).json()
    read = api.get(f"/api/v1/statement/{created['uuid']}").json()
    exported = api.get(f"/api/v1/decisions/{created['uuid']}/dsa").json()

    for statement in (created, read, exported):
        for field in (
            "decision_visibility",
            "category_addition",
            "category_specification",
            "territorial_scope",
        ):
            assert statement[field] == [], (field, statement[field])
        assert statement["decision_monetary"] is None
        assert statement["decision_provision"] is None


def test_a_batch_keeps_category_specification_other_only_with_keyword_other(api):
    # The EU's test_store_multiple_with_different_category_specifications.
    other = "category specification other field value"
    statements = [
        statement_payload(
            puid="testA",
            category_specification=["KEYWORD_OTHER"],
            category_specification_other=other,
        ),
        statement_payload(
            puid="testB",
            category_specification=["KEYWORD_BIOMETRIC_DATA_BREACH"],
            category_specification_other=other,
        ),
        statement_payload(
            puid="testC",
            category_specification=["KEYWORD_BIOMETRIC_DATA_BREACH"],
            category_specification_other=None,
        ),
    ]

    response = post(api, "/api/v1/statements", {"statements": statements})

    assert response.status_code == 201
    stored = {d.puid: d for d in Decision.objects.all()}
    assert stored["testA"].category_specification_other == other
    assert not stored["testB"].category_specification_other
    assert not stored["testC"].category_specification_other
    answered = {s["puid"]: s for s in response.json()["statements"]}
    assert answered["testB"]["category_specification_other"] is None


def test_a_single_statement_keeps_category_specification_other_as_the_eus_does(api):
    # The EU's single endpoint has no exclusion rule for it (StatementStoreRequest: max:500).
    body = statement_payload(
        category_specification=["KEYWORD_NUDITY"], category_specification_other="kept"
    )

    response = post(api, "/api/v1/statement", body)

    assert response.status_code == 201
    assert response.json()["category_specification_other"] == "kept"


def test_a_batch_still_checks_the_length_of_a_dropped_category_specification_other(api):
    statement = statement_payload(
        category_specification=["KEYWORD_NUDITY"], category_specification_other="x" * 501
    )

    response = post(api, "/api/v1/statements", {"statements": [statement]})

    assert response.status_code == 422
    assert "category_specification_other" in response.json()["errors"]["statement_0"]


def test_a_source_identity_is_checked_for_any_source_and_dropped_for_own_initiative(api):
    # The EU's batch endpoint checks it whatever the source (its single one skips it for
    # SOURCE_VOLUNTARY); both of ours check it, so that one schema describes both.
    too_long = statement_payload(source_type="SOURCE_VOLUNTARY", source_identity="x" * 501)
    dropped = statement_payload(source_type="SOURCE_VOLUNTARY", source_identity="Notice 1")

    single = post(api, "/api/v1/statement", too_long)
    batch = post(api, "/api/v1/statements", {"statements": [too_long]})
    kept = post(api, "/api/v1/statement", dropped)

    assert single.status_code == 422
    assert "source_identity" in single.json()["errors"]
    assert "source_identity" in batch.json()["errors"]["statement_0"]
    assert kept.status_code == 201
    assert kept.json()["source_identity"] is None


@pytest.mark.parametrize("blank", [" ", "\t\n", "\r\n  ", "\ufeff", "\u200b "])
@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("decision_facts", {}),
        ("incompatible_content_ground", {}),
        ("decision_visibility_other", {"decision_visibility": ["DECISION_VISIBILITY_OTHER"]}),
        ("content_type_other", {"content_type": ["CONTENT_TYPE_OTHER"]}),
    ],
)
def test_a_required_text_of_white_space_only_is_missing_as_the_eu_trims_it(
    api, field, overrides, blank
):
    body = statement_payload(**overrides, **{field: blank})

    response = post(api, "/api/v1/statement", body)

    assert response.status_code == 422
    [message] = response.json()["errors"][field]
    assert message.startswith(f"The {field.replace('_', ' ')} field is required")
    assert rows() == 0


def test_an_optional_text_of_white_space_only_is_stored_as_absent(api):
    body = statement_payload(source_identity="  ", decision_ground_reference_url="\t")

    response = post(api, "/api/v1/statement", body)

    assert response.status_code == 201
    assert response.json()["source_identity"] is None
    assert response.json()["decision_ground_reference_url"] is None


def test_other_texts_are_kept_exactly_as_sent(api):
    facts = "  Two spaces before, a newline after.\n"

    response = post(api, "/api/v1/statement", statement_payload(decision_facts=facts))

    assert response.status_code == 201
    assert response.json()["decision_facts"] == facts


# --- dates: the EU's own bounds ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "accepted"),
    [
        ("content_date", "2000-01-01", True),
        ("content_date", "1999-12-31", False),
        ("content_date", "2038-01-01", True),
        ("content_date", "2038-01-02", False),
        ("application_date", "2020-01-01", True),
        ("application_date", "2019-12-31", False),
        ("application_date", "2038-01-01", True),
        ("application_date", "2038-01-02", False),
        ("end_date_visibility_restriction", "2038-01-01", True),
        ("end_date_visibility_restriction", "2038-01-02", False),
        # The EU sets no lower bound on end dates; such a statement must still read back.
        ("end_date_visibility_restriction", "0001-01-01", True),
        ("content_date", "2026-W44-5", False),
        ("content_date", "20261030", False),
        ("content_date", "2026-10-30T00:00:00", False),
        ("content_date", "\uff12\uff10\uff12\uff16-10-30", False),
        ("content_date", "2026-02-30", False),
        ("application_date", "2026-11-01\n", False),
    ],
)
def test_dates_keep_the_eus_bounds_and_format(api, field, value, accepted):
    response = post(api, "/api/v1/statement", statement_payload(**{field: value}))

    if accepted:
        assert response.status_code == 201, response.json()
        read = api.get(f"/api/v1/statement/{response.json()['uuid']}")
        assert read.status_code == 200
        assert read.json()[field] == value
    else:
        assert response.status_code == 422
        assert field in response.json()["errors"]
        assert rows() == 0


def test_a_date_in_the_wrong_format_gets_the_eus_own_message(api):
    response = post(api, "/api/v1/statement", statement_payload(application_date="2023-4-4-4"))

    assert response.json()["message"] == (
        "The application date does not match the format YYYY-MM-DD."
    )


# --- puids --------------------------------------------------------------------------------------


@pytest.mark.parametrize("puid", ["abc\n", "abc\r\n", "\nabc", "very bad é + pu.id", "a" * 501])
def test_a_puid_outside_the_eus_pattern_is_refused_single_and_batch(api, puid):
    single = post(api, "/api/v1/statement", statement_payload(puid=puid))
    batch = post(api, "/api/v1/statements", {"statements": [statement_payload(puid=puid)]})

    assert single.status_code == 422
    assert "puid" in single.json()["errors"]
    assert batch.status_code == 422
    assert "puid" in batch.json()["errors"]["statement_0"]
    assert rows() == 0


def test_a_puid_in_the_wrong_format_gets_the_eus_own_message(api):
    response = post(api, "/api/v1/statement", statement_payload(puid="very bad é + pu.id"))

    assert response.json()["message"] == "The puid format is invalid."


@pytest.mark.parametrize(
    "path",
    ["a%00b", "%00", "abc%0A", "abc%0D%0A", "a.b", "a%20b", "x" * 501, "%C3%A9", "%E2%80%8B"],
)
def test_existing_puid_answers_404_for_anything_that_is_no_puid(api, path):
    post(api, "/api/v1/statement", statement_payload(puid="abc"))

    response = api.get(f"/api/v1/statement/existing-puid/{path}")

    assert response.status_code == 404
    assert response.json()["message"] == "statement of reason not found"


def test_existing_puid_still_finds_a_recorded_puid(api):
    post(api, "/api/v1/statement", statement_payload(puid="abc"))

    assert api.get("/api/v1/statement/existing-puid/abc").status_code == 302


# --- NUL characters and broken bodies -------------------------------------------------------

NUL_FIELDS = {
    "decision_facts": {},
    "incompatible_content_ground": {},
    "incompatible_content_explanation": {},
    "illegal_content_legal_ground": {
        "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
        "illegal_content_explanation": "Incitement to hatred.",
    },
    "illegal_content_explanation": {
        "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
        "illegal_content_legal_ground": "Section 130 StGB",
    },
    "decision_visibility_other": {"decision_visibility": ["DECISION_VISIBILITY_OTHER"]},
    "decision_monetary_other": {"decision_monetary": "DECISION_MONETARY_OTHER"},
    "decision_ground_reference_url": {},
    "category_specification_other": {},
    "content_type_other": {"content_type": ["CONTENT_TYPE_OTHER"]},
    "source_identity": {},
    "model": {"model_version": "v1"},
    "model_version": {"model": "hate-speech"},
    "subject": {},
}


@pytest.mark.parametrize("field", sorted(NUL_FIELDS))
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_a_nul_character_in_any_text_field_is_refused_naming_it(api, field, where):
    value = {"start": "\x00text", "middle": "te\x00xt", "end": "text\x00"}[where]
    body = statement_payload(**NUL_FIELDS[field], **{field: value})

    single = post(api, "/api/v1/statement", body)
    batch = post(api, "/api/v1/statements", {"statements": [statement_payload(), body]})

    assert single.status_code == 422, single.content
    assert field in single.json()["errors"]
    assert batch.status_code == 422, batch.content
    assert set(batch.json()["errors"]) == {"statement_1"}
    assert field in batch.json()["errors"]["statement_1"]
    assert rows() == 0


@pytest.mark.parametrize(
    "subject", [{"account": "u\x00"}, {"content": "\x00"}, {"account": "a", "content": "b\x00"}]
)
def test_a_nul_character_in_a_subject_object_is_refused(api, subject):
    response = post(api, "/api/v1/statement", statement_payload(subject=subject))

    assert response.status_code == 422
    assert "subject" in response.json()["errors"]
    assert rows() == 0


def test_a_nul_character_in_the_puid_is_refused(api):
    response = post(api, "/api/v1/statement", statement_payload(puid="abc\x00"))

    assert response.status_code == 422
    assert "puid" in response.json()["errors"]


@pytest.mark.parametrize("url", ["/api/v1/statement", "/api/v1/statements"])
@pytest.mark.parametrize(
    "body",
    [
        b'{"puid": "\xff\xfe"}',
        b'{"statements": [{"decision_facts": "caf\xe9"}]}',
        b'{"puid": "\xed\xa0\x80"}',
        b"\xef\xbb\xbf{}",
        '{"puid": "abc"}'.encode("utf-16"),
    ],
    ids=["invalid-byte", "latin-1", "encoded-surrogate", "byte-order-mark", "utf-16"],
)
def test_a_body_that_is_not_utf8_json_is_a_400_naming_the_body(api, url, body):
    response = post(api, url, body)

    assert response.status_code == 400
    assert response.json()["errors"] == {"body": ["Malformed JSON."]}
    assert rows() == 0


@pytest.mark.parametrize("url", ["/api/v1/statement", "/api/v1/statements"])
@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b'{"statements": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"statements": [' + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"]}",
    ],
    ids=["arrays", "objects", "statements-arrays", "statement-objects"],
)
def test_json_nested_100000_deep_is_a_400(api, url, body):
    response = post(api, url, body)

    assert response.status_code == 400
    assert response.json()["errors"] == {"body": ["Malformed JSON."]}
    assert rows() == 0


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b'{"puid": "\\ud800"}',
        b"nul\x00",
        b'{"score": 1e400, "decision_facts": NaN}',
        b'{"score": 1e400, "x": -Infinity}',
    ],
)
def test_malformed_json_is_a_400(api, body):
    response = post(api, "/api/v1/statement", body)

    assert response.status_code == 400
    assert rows() == 0


@pytest.mark.parametrize("score", ["1e400", "-1e400", "1" * 5000, "-" + "9" * 5000])
def test_a_number_no_type_can_hold_is_a_422_naming_its_field(api, score):
    body = json.dumps(statement_payload(model="hate-speech", model_version="v1", score=0.5))
    body = body.replace('"score": 0.5', f'"score": {score}')

    single = post(api, "/api/v1/statement", body.encode())
    batch = post(api, "/api/v1/statements", f'{{"statements": [{body}]}}'.encode())

    assert single.status_code == 422
    assert "score" in single.json()["errors"]
    assert batch.status_code == 422
    assert batch.json()["errors"] == {
        "statement_0": {"score": ["The score field must be a number between 0 and 1."]}
    }
    assert rows() == 0


def test_a_lone_surrogate_next_to_a_number_out_of_range_is_still_malformed(api):
    body = b'{"decision_facts": "\\ud800", "score": 1e400}'

    response = post(api, "/api/v1/statement", body)

    assert response.status_code == 400
    assert rows() == 0


# --- anything else malformed: a 4xx, never a 500 ------------------------------------------------

WRONG_VALUES: list[tuple[str, Any]] = [
    ("puid", 123),
    ("puid", ["a"]),
    ("puid", {"a": "b"}),
    ("puid", True),
    ("decision_visibility", [1, 2]),
    ("decision_visibility", [["DECISION_VISIBILITY_CONTENT_REMOVED"]]),
    ("decision_visibility", [{"a": 1}]),
    ("decision_visibility", [None]),
    ("decision_visibility", {"DECISION_VISIBILITY_CONTENT_REMOVED": True}),
    ("decision_visibility", 7),
    ("decision_monetary", ["DECISION_MONETARY_SUSPENSION"]),
    ("decision_monetary", {"a": 1}),
    ("decision_account", 1),
    ("account_type", []),
    ("decision_ground", ["DECISION_GROUND_INCOMPATIBLE_CONTENT"]),
    ("decision_ground", {"a": 1}),
    ("decision_ground_reference_url", 5),
    ("decision_ground_reference_url", ["https://a.example"]),
    ("incompatible_content_ground", 5),
    ("incompatible_content_ground", {"a": "b"}),
    ("incompatible_content_explanation", ["x"]),
    ("incompatible_content_illegal", True),
    ("category", ["STATEMENT_CATEGORY_VIOLENCE"]),
    ("category", 3.5),
    ("category_addition", "STATEMENT_CATEGORY_VIOLENCE"),
    ("category_addition", [1]),
    ("category_specification", [{"KEYWORD_OTHER": 1}]),
    ("category_specification", "KEYWORD_OTHER"),
    ("category_specification_other", ["x"]),
    ("content_type", "CONTENT_TYPE_VIDEO"),
    ("content_type", [None]),
    ("content_type", [1.5]),
    ("content_type", {"CONTENT_TYPE_VIDEO": 1}),
    ("content_language", ["DE"]),
    ("content_language", 49),
    ("content_date", 20261030),
    ("content_date", ["2026-10-30"]),
    ("content_date", {"date": "2026-10-30"}),
    ("content_date", True),
    ("application_date", 1.0e300),
    ("end_date_account_restriction", []),
    ("content_id", "4006381333931"),
    ("content_id", {"EAN-13": 4006381333931}),
    ("content_id", {"EAN-13": ["4006381333931"]}),
    ("content_id", {"EAN-13": "4006381333931", "ISBN": "1"}),
    ("content_id", []),
    ("territorial_scope", "DE"),
    ("territorial_scope", [["DE"]]),
    ("territorial_scope", [None]),
    ("decision_facts", 42),
    ("decision_facts", ["facts"]),
    ("decision_facts", {"facts": "x"}),
    ("decision_facts", False),
    ("source_type", ["SOURCE_ARTICLE_16"]),
    ("source_identity", 12),
    ("source_identity", {"who": "x"}),
    ("automated_detection", ["Yes"]),
    ("automated_detection", 1),
    ("automated_decision", {"a": 1}),
    ("score", "0.5"),
    ("score", True),
    ("score", [0.5]),
    ("score", {"value": 0.5}),
    ("score", -0.1),
    ("score", 10**30),
    ("score", 1.7976931348623157e308),
    ("model", 5),
    ("model", ["hate-speech"]),
    ("model_version", {"v": 1}),
    ("subject", ""),
    ("subject", "x" * 501),
    ("subject", ["user-1"]),
    ("subject", {"account": 5}),
    ("subject", {"account": ""}),
    ("subject", {"user": "x"}),
]


@pytest.mark.parametrize(("field", "value"), WRONG_VALUES)
def test_a_wrong_type_anywhere_is_a_422_naming_the_field(api, field, value):
    body = statement_payload()
    if field in {"score", "model", "model_version"}:
        body.update(model="hate-speech", model_version="v1", score=0.5)
    body[field] = value

    single = post(api, "/api/v1/statement", body)
    batch = post(api, "/api/v1/statements", {"statements": [statement_payload(), body]})

    assert single.status_code == 422, single.content
    errors = single.json()["errors"]
    assert any(key == field or key.startswith(f"{field}.") for key in errors), errors
    assert batch.status_code == 422, batch.content
    assert set(batch.json()["errors"]) == {"statement_1"}
    assert rows() == 0


@pytest.mark.parametrize(
    "body",
    [
        [],
        [statement_payload()],
        "statement",
        42,
        None,
        True,
        {},
        {"statements": [statement_payload()]},
    ],
    ids=["empty-list", "list", "string", "number", "null", "true", "empty-object", "batch-shape"],
)
def test_a_single_statement_that_is_not_one_is_a_422(api, body):
    response = post(api, "/api/v1/statement", body)

    assert response.status_code == 422
    assert response.json()["errors"]
    assert rows() == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "The statements field is required."),
        ({"statements": None}, "The statements field is required."),
        ({"statements": []}, "The statements field is required."),
        ({"statements": {"0": statement_payload()}}, "The statements field must be an array."),
        ({"statements": "all of them"}, "The statements field must be an array."),
        ({"statements": 3}, "The statements field must be an array."),
        ([statement_payload()], "The statements field is required."),
        ("statements", "The statements field is required."),
        (None, "The statements field is required."),
    ],
    ids=["empty", "null", "empty-list", "object", "string", "number", "bare-list", "str", "none"],
)
def test_a_batch_whose_statements_are_not_a_list_gets_laravels_message(api, body, message):
    response = post(api, "/api/v1/statements", body)

    assert response.status_code == 422
    assert response.json()["errors"] == {"statements": [message]}
    assert rows() == 0


def test_a_batch_past_the_limit_gets_laravels_between_message(api):
    statements = [statement_payload() for _ in range(101)]

    response = post(api, "/api/v1/statements", {"statements": statements})

    assert response.json()["errors"] == {
        "statements": ["The statements field must have between 1 and 100 items."]
    }


@pytest.mark.parametrize("item", ["x", 1, None, [statement_payload()], True, []])
def test_a_batch_item_that_is_not_an_object_is_named_by_position(api, item):
    response = post(api, "/api/v1/statements", {"statements": [statement_payload(), item]})

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"statement_1"}
    assert rows() == 0


@pytest.mark.parametrize("url", ["/api/v1/statement", "/api/v1/statements"])
def test_a_body_over_the_size_limit_is_a_413(api, settings, url):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    body = {"statements": [statement_payload(decision_facts="x" * 2_000)]}

    response = post(api, url, body if url.endswith("s") else body["statements"][0])

    assert response.status_code == 413
    assert rows() == 0
