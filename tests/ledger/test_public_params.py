"""The public log endpoints and notice pages answer a bad parameter with a 4xx, never a 500."""

from __future__ import annotations

import pytest

from moderation import services
from tests.factories import as_input, decision_payload

pytestmark = pytest.mark.django_db

HUGE = str(10**30)
BIGINT_MAX = str(2**63 - 1)


@pytest.fixture
def recorded(platform, model_v1):
    return services.record_decision(platform=platform, decision=as_input(decision_payload()))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=²", "start"),
        ("start=0&end=²", "end"),
        ("start=%D9%A1", "start"),  # an Arabic-Indic one: isdigit() says yes
        ("start=-1", "start"),
        ("start=+1", "start"),
        ("start=%201", "start"),
        ("start=1.0", "start"),
        (f"start={HUGE}", "start"),
        (f"start=0&end={HUGE}", "end"),
        ("start=a%00b", "start"),
        ("", "start"),
    ],
)
def test_a_bad_entries_range_is_refused_naming_the_parameter(client, recorded, query, field):
    response = client.get(f"/api/v1/log/entries?{query}")

    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert field in response.json()["errors"]


@pytest.mark.parametrize("start", [BIGINT_MAX, str(2**63 - 500), "1000000"])
def test_a_range_past_the_end_of_the_log_is_empty(client, recorded, start):
    response = client.get(f"/api/v1/log/entries?start={start}")

    assert response.status_code == 200, response.content[:300]
    assert response.json()["entries"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("index=²&tree_size=1", "index"),
        ("index=0&tree_size=²", "tree_size"),
        (f"index={HUGE}&tree_size=1", "index"),
        (f"index=0&tree_size={HUGE}", "tree_size"),
        (f"index=0&tree_size={BIGINT_MAX}", "tree_size"),
        ("index=a%00b&tree_size=1", "index"),
    ],
)
def test_a_bad_inclusion_proof_request_is_refused(client, recorded, query, field):
    response = client.get(f"/api/v1/log/proof/inclusion?{query}")

    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert field in response.json()["errors"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("first=²&second=1", "first"),
        ("first=1&second=²", "second"),
        (f"first={HUGE}&second=1", "first"),
        (f"first=1&second={HUGE}", "second"),
        (f"first=1&second={BIGINT_MAX}", "second"),
    ],
)
def test_a_bad_consistency_proof_request_is_refused(client, recorded, query, field):
    response = client.get(f"/api/v1/log/proof/consistency?{query}")

    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert field in response.json()["errors"]


def test_every_bad_parameter_is_named_at_once(client, recorded):
    response = client.get("/api/v1/log/proof/inclusion?index=²&tree_size=-1")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"index", "tree_size"}


def test_good_parameters_still_answer(client, recorded):
    assert client.get("/api/v1/log/entries?start=0").json()["entries"]
    assert client.get("/api/v1/log/proof/inclusion?index=0&tree_size=2").status_code == 200
    assert client.get("/api/v1/log/proof/consistency?first=1&second=2").status_code == 200


@pytest.mark.parametrize("index", [HUGE, BIGINT_MAX, str(2**63)])
def test_an_entry_beyond_the_log_is_not_found(client, recorded, index):
    assert client.get(f"/api/v1/log/entries/{index}").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/x999999999999999999999999999",
        f"tile/0/{HUGE}",
        "tile/entries/x001/x002/003",
        "tile/0/a%00b",
        "tile/99999999999999/000",
        "tile/0/000.p/²",
        "tile/0/000.p/0",
        "tile/0/000.p/999",
    ],
)
def test_an_odd_tile_path_is_not_found(client, recorded, path):
    response = client.get(f"/log/{path}")

    assert response.status_code == 404, (response.status_code, response.content[:300])


@pytest.mark.parametrize("token", ["a%00b", "%00", "x" * 65, "%C2%B2", "a%0A", "..%2F..%2Fetc"])
def test_a_malformed_notice_token_is_not_found(client, recorded, token):
    assert client.get(f"/notice/{token}").status_code == 404
    assert client.get(f"/notice/{token}/receipt.tlog-proof").status_code == 404


def test_a_real_notice_token_still_opens_its_notice(client, recorded):
    assert client.get(f"/notice/{recorded.notice_token}").status_code == 200
