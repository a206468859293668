"""The EU-compatible endpoints in the OpenAPI schema: their bodies are described as they are
checked, their examples are accepted as sent, and a fuzzer generating from the schema gets no
5xx, no answer outside the schema, and no valid body refused or invalid body accepted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from moderation import dsa
from moderation.vocabulary import Keyword, Source, Visibility
from tests import schemathesis_hooks  # registers the hook: unique puids for statements

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    cache.clear()


def openapi(client: Any) -> dict[str, Any]:
    response = client.get("/api/v1/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return json.loads(response.content)


def component(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return schema["components"]["schemas"][name]


def body_schema(schema: dict[str, Any], path: str) -> dict[str, Any]:
    body = schema["paths"][path]["post"]["requestBody"]
    assert body["required"] is True
    return body["content"]["application/json"]["schema"]


def test_the_statement_bodies_are_described_not_bare_objects(client):
    schema = openapi(client)

    assert body_schema(schema, "/api/v1/statement") == {"$ref": "#/components/schemas/DsaStatement"}
    assert body_schema(schema, "/api/v1/statements") == {
        "$ref": "#/components/schemas/DsaStatementBatch"
    }
    statement = component(schema, "DsaStatement")
    assert set(statement["required"]) == {
        "puid",
        "decision_ground",
        "category",
        "content_type",
        "content_date",
        "application_date",
        "decision_facts",
        "source_type",
        "automated_detection",
        "automated_decision",
    }
    assert statement["properties"]["puid"]["maxLength"] == 500
    assert statement["properties"]["decision_facts"]["maxLength"] == 5000


def test_the_statement_enums_are_the_eus_keys_only(client):
    properties = component(openapi(client), "DsaStatement")["properties"]

    visibility = properties["decision_visibility"]["items"]["enum"]
    assert set(visibility) == {v.value for v in dsa.EU_VISIBILITY}
    assert Visibility.SEARCH_EXCLUDED.value not in visibility
    sources = properties["source_type"]["enum"]
    assert set(sources) == {s.value for s in dsa.EU_SOURCES}
    assert Source.LEGAL_ORDER.value not in sources
    assert len(properties["category_specification"]["items"]["enum"]) == len(Keyword)
    assert "KEYWORD_DANGEROUS_TOYS" not in properties["category_specification"]["items"]["enum"]
    assert "GR" in properties["territorial_scope"]["items"]["enum"]
    assert "EL" not in properties["territorial_scope"]["items"]["enum"]


def test_the_batch_is_one_to_the_configured_limit(client, settings):
    settings.LEDGER_DSA_MAX_BATCH = 250

    statements = component(openapi(client), "DsaStatementBatch")["properties"]["statements"]

    assert (statements["minItems"], statements["maxItems"]) == (1, 250)


def test_every_answer_is_described(client):
    paths = openapi(client)["paths"]

    for path in ("/api/v1/statement", "/api/v1/statements"):
        responses = paths[path]["post"]["responses"]
        assert {"201", "400", "401", "413", "422", "429"} <= set(responses)
        assert "text/plain" in responses["429"]["content"]
    detail = paths["/api/v1/statement/{public_id}"]["get"]["responses"]
    assert {"200", "401", "404", "429"} <= set(detail)
    assert {"302", "404"} <= set(
        paths["/api/v1/statement/existing-puid/{puid}"]["get"]["responses"]
    )


def validator(schema: dict[str, Any], name: str) -> Any:
    """A validator for one component, its references resolved in the document. Patterns follow
    ECMA-262, as JSON Schema says (Python's `re` would let `$` match before a final newline)."""
    return jsonschema_rs.Draft4Validator(
        {"$ref": f"#/components/schemas/{name}", "components": schema["components"]}
    )


@pytest.mark.parametrize(
    ("path", "name"),
    [("/api/v1/statement", "DsaStatement"), ("/api/v1/statements", "DsaStatementBatch")],
)
def test_the_examples_are_valid_and_accepted_as_sent(api, client, path, name):
    schema = openapi(client)
    example = component(schema, name)["example"]

    validator(schema, name).validate(example)
    response = api.post(path, data=json.dumps(example), content_type="application/json")

    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(
    "overrides",
    [
        {"decision_visibility": ["DECISION_VISIBILITY_OTHER"]},
        {"decision_visibility": None},
        {"decision_monetary": "DECISION_MONETARY_OTHER"},
        {"content_type": ["CONTENT_TYPE_OTHER"]},
        {"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT"},
        {"incompatible_content_explanation": None},
        {"decision_facts": "nul \x00"},
        {"decision_ground_reference_url": "notvalidurl"},
        {"content_date": "1999-12-31"},
        {"application_date": "2038-01-02"},
        {"puid": "abc\n"},
    ],
)
def test_what_the_schema_refuses_the_endpoint_refuses(api, client, overrides):
    schema = openapi(client)
    body = {**dsa_example(schema), **overrides}
    body = {k: v for k, v in body.items() if v is not None}

    assert not validator(schema, "DsaStatement").is_valid(body)
    response = api.post("/api/v1/statement", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 422


def dsa_example(schema: dict[str, Any]) -> dict[str, Any]:
    return dict(component(schema, "DsaStatement")["example"])


@pytest.mark.parametrize("puid", ["abc", "a-b_C9", "a" * 500, "a" * 501, "abc\n", "", "a.b", 5])
def test_the_fuzzing_hooks_know_a_puid_as_the_endpoint_does(puid):
    assert schemathesis_hooks.is_puid(puid) == dsa.is_puid(puid)
    assert schemathesis_hooks.PUID_MAX_LENGTH == dsa.PUID_MAX_LENGTH


# A bounded fuzz of the four operations with every schemathesis check: no 5xx, every answer
# documented and matching its schema, valid bodies accepted and invalid ones refused.
fuzzed = schemathesis.openapi.from_wsgi("/api/v1/schema", get_wsgi_application()).include(
    path_regex="^/api/v1/statement"
)


@pytest.fixture
def keep_the_test_connection() -> Iterator[None]:
    """Requests go through the WSGI handler, which closes the database connection around each
    one; the test's transaction lives on it, so keep it, as Django's test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@fuzzed.parametrize()
@hypothesis_settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_eu_compatible_api_conforms_to_its_schema(case, api_key, keep_the_test_connection):
    cache.clear()
    case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"})
