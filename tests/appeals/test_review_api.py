"""The reviewer API: claim, heartbeat, decide, escalate and release over HTTP with a reviewer
token, with the lease, the version and the no-self-review rule enforced, and every bad input
refused by name with nothing written."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient
from schemathesis.specs.openapi.checks import positive_data_acceptance

from appeals import review_api, services
from appeals.models import Appeal, AppealStatus, ItemState, Review, ReviewItem, ReviewQueue
from ledger.models import LogEntry
from moderation import services as moderation
from moderation.models import AuditEvent, Decision, Platform
from tests.factories import as_input, decision_payload, human_payload

pytestmark = pytest.mark.django_db

STATEMENT = "My video teaches chess; 'white attacks black' is about the pieces."
REASON = "The video is a chess lesson; the classifier misread chess terms as hate speech."
CLAIM = "/api/v1/review/claim"


def record(platform: Platform, body: dict[str, Any]) -> Decision:
    recorded = moderation.record_decision(platform=platform, decision=as_input(body))
    return Decision.objects.get(public_id=recorded.public_id)


def appeal_of(decision: Decision) -> Appeal:
    return services.file_appeal(decision=decision, appellant="subject", statement=STATEMENT)


def url(item_id: int, action: str) -> str:
    return f"/api/v1/review/items/{item_id}/{action}"


@pytest.fixture
def shadowban(platform: Platform, model_v1: Any) -> Decision:
    return record(platform, decision_payload())


@pytest.fixture
def appeal(shadowban: Decision) -> Appeal:
    return appeal_of(shadowban)


@pytest.fixture
def reviewer_client(platform: Platform) -> Callable[..., APIClient]:
    """A client with the token of a new reviewer of the platform (made as the command does)."""

    def make(username: str, **kwargs: Any) -> APIClient:
        _, token = services.create_reviewer(
            username=username, platform=platform, actor="tests", **kwargs
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make


@pytest.fixture
def rita(reviewer_client: Callable[..., APIClient]) -> APIClient:
    return reviewer_client("rita")


def post(client: APIClient, path: str, body: Any = None) -> Any:
    if body is None:
        return client.post(path)
    return client.post(path, data=json.dumps(body), content_type="application/json")


def claimed(client: APIClient, **body: Any) -> dict[str, Any]:
    response = post(client, CLAIM, body)
    assert response.status_code == 200, response.content
    return response.json()


def written() -> tuple[int, int, int, list[tuple[Any, ...]]]:
    items = list(ReviewItem.objects.values_list("id", "state", "version", "claimed_by_id"))
    return LogEntry.objects.count(), Review.objects.count(), Decision.objects.count(), items


def refused(client: APIClient, path: str, body: Any, status: int) -> dict[str, Any]:
    before = written()
    response = post(client, path, body)
    assert response.status_code == status, response.content
    assert written() == before
    return response.json()


# --- claiming -----------------------------------------------------------------------------


def test_claim_gives_the_item_with_the_decision_its_history_and_the_statement(
    rita, appeal, shadowban
):
    item = claimed(rita)

    assert item["kind"] == "appeal"
    assert item["state"] == "claimed"
    assert item["queue"] == "default"
    assert item["version"] == ReviewItem.objects.get(pk=item["id"]).version
    assert item["lease_expires_at"] is not None
    assert item["appeal"]["id"] == str(appeal.public_id)
    assert item["appeal"]["statement"] == STATEMENT
    assert item["appeal"]["status"] == AppealStatus.IN_REVIEW
    assert item["appeal"]["deadline"]
    assert item["decision"]["id"] == str(shadowban.public_id)
    assert item["decision"]["decision_visibility"] == ["DECISION_VISIBILITY_SEARCH_EXCLUDED"]
    assert [d["id"] for d in item["history"]] == [str(shadowban.public_id)]


def test_claim_answers_204_when_there_is_nothing_to_claim(rita, appeal):
    claimed(rita)

    response = post(rita, CLAIM)
    assert response.status_code == 204
    assert response.content == b""


def test_claim_takes_a_queue_by_slug_and_refuses_an_unknown_one(rita, appeal, platform):
    assert refused(rita, CLAIM, {"queue": "nosuch"}, 400)["errors"]["queue"]
    assert refused(rita, CLAIM, {"queue": 5}, 400)["errors"]["queue"]
    assert refused(rita, CLAIM, {"queue": "default", "extra": 1}, 400)["errors"]["extra"]

    assert claimed(rita, queue="vidshare/default")["appeal"]["id"] == str(appeal.public_id)


def test_claim_from_another_platforms_queue_is_refused(rita, appeal):
    other = moderation.create_platform(slug="chessclub")
    ReviewQueue.objects.create(platform=other, slug="urgent", name="Urgent", deadline_hours=24)

    assert refused(rita, CLAIM, {"queue": "urgent"}, 400)["errors"]["queue"]


def test_a_second_reviewer_cannot_claim_the_held_item(rita, reviewer_client, appeal):
    item = claimed(rita)
    omar = reviewer_client("omar")

    assert post(omar, CLAIM).status_code == 204
    body = refused(
        omar, url(item["id"], "decide"), {"outcome": "upheld", "reason": REASON, "version": 2}, 409
    )
    assert body["code"] == "not_held"


# --- deciding -----------------------------------------------------------------------------


def test_decide_overturns_with_the_lease_and_version(rita, appeal, shadowban):
    item = claimed(rita)

    response = post(
        rita,
        url(item["id"], "decide"),
        {"outcome": "overturned", "reason": REASON, "version": item["version"]},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["review"]["outcome"] == "overturned"
    assert body["review"]["reason"] == REASON
    assert body["item"]["state"] == ItemState.DONE
    reversal = Decision.objects.get(public_id=body["review"]["reversal"])
    assert reversal.supersedes == shadowban
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.OVERTURNED
    assert AuditEvent.objects.filter(action="appeal.decided", actor_user__username="rita").exists()


def test_decide_modifies_to_a_lighter_measure(rita, platform):
    removal = record(platform, human_payload())
    appeal_of(removal)
    item = claimed(rita)

    response = post(
        rita,
        url(item["id"], "decide"),
        {
            "outcome": "modified",
            "reason": "Demoting is enough: the image is news reporting.",
            "version": item["version"],
            "decision_visibility": ["DECISION_VISIBILITY_CONTENT_DEMOTED"],
        },
    )

    assert response.status_code == 200, response.content
    modification = Decision.objects.get(public_id=response.json()["review"]["reversal"])
    assert modification.decision_visibility == ["DECISION_VISIBILITY_CONTENT_DEMOTED"]
    assert modification.supersedes == removal


def test_decide_with_a_stale_version_is_409(rita, appeal):
    item = claimed(rita)

    body = refused(
        rita,
        url(item["id"], "decide"),
        {"outcome": "upheld", "reason": REASON, "version": item["version"] - 1},
        409,
    )
    assert body["code"] == "stale_version"


def test_decide_without_holding_the_item_is_409(rita, appeal):
    item = claimed(rita)
    assert post(rita, url(item["id"], "release")).status_code == 200

    body = refused(
        rita,
        url(item["id"], "decide"),
        {"outcome": "upheld", "reason": REASON, "version": item["version"] + 1},
        409,
    )
    assert body["code"] == "not_held"


def test_decide_after_the_lease_ran_out_is_409(rita, appeal, settings):
    settings.LEDGER_REVIEW_LEASE_SECONDS = 0  # every lease has run out by the next request
    item = claimed(rita)

    for path, body in (
        ("decide", {"outcome": "upheld", "reason": REASON, "version": item["version"]}),
        ("escalate", {"reason": REASON, "version": item["version"]}),
        ("heartbeat", None),
    ):
        assert refused(rita, url(item["id"], path), body, 409)["code"] == "lease_expired"


def test_decide_with_an_empty_reason_is_400(rita, appeal):
    item = claimed(rita)

    for reason in ("", "   \n"):
        body = refused(
            rita,
            url(item["id"], "decide"),
            {"outcome": "upheld", "reason": reason, "version": item["version"]},
            400,
        )
        assert list(body["errors"]) == ["reason"]


def test_every_problem_of_a_decision_is_named_at_once(rita, appeal):
    item = claimed(rita)

    body = refused(
        rita,
        url(item["id"], "decide"),
        {"outcome": "escalated", "reason": "a\x00b", "decision_account": "closed", "x": 1},
        400,
    )
    assert set(body["errors"]) == {"outcome", "reason", "version", "decision_account", "x"}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"outcome": "upheld", "reason": REASON, "version": "3"}, {"version"}),
        ({"outcome": "upheld", "reason": REASON, "version": True}, {"version"}),
        ({"outcome": "upheld", "reason": REASON, "version": 0}, {"version"}),
        ({"outcome": "upheld", "reason": REASON, "version": 2**31}, {"version"}),
        ({"outcome": 1, "reason": 5, "version": 3}, {"outcome", "reason"}),
        ({"outcome": "upheld", "reason": "x" * 5001, "version": 3}, {"reason"}),
        ({"outcome": "modified", "reason": REASON, "version": 3}, {"measure"}),
        (
            {
                "outcome": "upheld",
                "reason": REASON,
                "version": 3,
                "decision_visibility": ["DECISION_VISIBILITY_CONTENT_DEMOTED"],
            },
            {"decision_visibility"},
        ),
        (
            {
                "outcome": "modified",
                "reason": REASON,
                "version": 3,
                "decision_visibility": "DECISION_VISIBILITY_CONTENT_DEMOTED",
                "end_date_visibility_restriction": "someday",
            },
            {"decision_visibility", "end_date_visibility_restriction"},
        ),
        (
            {
                "outcome": "upheld",
                "reason": REASON,
                "version": 3,
                "decision_visibility": ["DECISION_VISIBILITY_CONTENT_DEMOTED", "AAA", 0],
            },
            {"decision_visibility"},
        ),
        ([], {"non_field_errors"}),
        ("upheld", {"non_field_errors"}),
    ],
)
def test_wrong_types_and_values_are_refused_by_field(rita, appeal, body, fields):
    item = claimed(rita)

    assert set(refused(rita, url(item["id"], "decide"), body, 400)["errors"]) == fields


@pytest.mark.parametrize(
    "raw", [b"{", b'{"outcome": "upheld",}', b"\xff\xfe", b"[" * 100_000, b"1e400"]
)
def test_malformed_json_is_400(rita, appeal, raw):
    item = claimed(rita)
    before = written()

    response = rita.post(url(item["id"], "decide"), data=raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"]
    assert written() == before


def test_a_modification_that_is_not_lighter_is_400(rita, appeal):
    item = claimed(rita)

    body = refused(
        rita,
        url(item["id"], "decide"),
        {
            "outcome": "modified",
            "reason": REASON,
            "version": item["version"],
            "decision_account": "DECISION_ACCOUNT_TERMINATED",
        },
        400,
    )
    assert body["code"] == "invalid"


# --- one's own decision -------------------------------------------------------------------


def test_a_reviewer_never_claims_a_decision_made_under_their_moderator_id(
    reviewer_client, platform
):
    # The platform sent the decision over the API with "moderator": "mod-7".
    own = record(platform, human_payload(moderator="mod-7"))
    appeal_of(own)
    mona = reviewer_client("mona", moderator_id="mod-7")

    assert post(mona, CLAIM).status_code == 204
    assert claimed(reviewer_client("omar"))["decision"]["id"] == str(own.public_id)


def test_deciding_ones_own_decision_is_403(rita, platform):
    own = record(platform, human_payload(moderator="mod-7"))
    appeal_of(own)
    item = claimed(rita)
    # The platform tells us afterwards that rita is its moderator "mod-7".
    _, token = services.create_reviewer(
        username="rita", platform=platform, moderator_id="mod-7", actor="tests"
    )
    rita.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")  # the token was replaced

    for path, body in (
        ("decide", {"outcome": "overturned", "reason": REASON, "version": item["version"]}),
        ("escalate", {"reason": REASON, "version": item["version"]}),
    ):
        assert refused(rita, url(item["id"], path), body, 403)["code"] == "own_decision"


# --- escalation, heartbeat, release ---------------------------------------------------------


def test_after_escalating_the_reviewer_cannot_claim_it_but_a_senior_can(
    rita, reviewer_client, appeal
):
    item = claimed(rita)

    response = post(
        rita,
        url(item["id"], "escalate"),
        {"reason": "A policy question for a senior.", "version": item["version"]},
    )
    assert response.status_code == 200, response.content
    assert response.json()["review"]["outcome"] == "escalated"
    assert response.json()["item"]["senior_only"] is True

    assert post(rita, CLAIM).status_code == 204
    assert post(reviewer_client("omar"), CLAIM).status_code == 204  # not senior
    senior = reviewer_client("sara", senior=True)
    taken = claimed(senior)
    assert taken["id"] == item["id"]
    decided = post(
        senior,
        url(taken["id"], "decide"),
        {"outcome": "upheld", "reason": "The post is hate speech.", "version": taken["version"]},
    )
    assert decided.status_code == 200, decided.content


def test_escalate_needs_a_reason_and_the_version(rita, appeal):
    item = claimed(rita)

    body = refused(rita, url(item["id"], "escalate"), {"reason": ""}, 400)
    assert set(body["errors"]) == {"reason", "version"}


def test_heartbeat_extends_the_lease_and_keeps_the_version(rita, appeal):
    item = claimed(rita)

    response = post(rita, url(item["id"], "heartbeat"))

    assert response.status_code == 200
    assert response.json()["version"] == item["version"]
    assert response.json()["lease_expires_at"] >= item["lease_expires_at"]


def test_release_gives_the_item_back_and_only_its_holder_may(rita, reviewer_client, appeal):
    item = claimed(rita)
    omar = reviewer_client("omar")

    assert refused(omar, url(item["id"], "release"), None, 409)["code"] == "not_held"
    assert refused(omar, url(item["id"], "heartbeat"), None, 409)["code"] == "not_held"
    released = post(rita, url(item["id"], "release"))
    assert released.status_code == 200
    assert released.json()["state"] == ItemState.OPEN
    assert claimed(omar)["id"] == item["id"]


@pytest.mark.parametrize("item_id", [999_999, 2**63, 10**30])
def test_an_unknown_item_is_404(rita, appeal, item_id):
    for action in ("decide", "escalate", "heartbeat", "release"):
        body = {"outcome": "upheld", "reason": REASON, "version": 1}
        if action == "escalate":
            body = {"reason": REASON, "version": 1}
        assert refused(rita, url(item_id, action), body, 404)["code"] == "not_found"


def test_another_platforms_item_does_not_exist_for_the_reviewer(rita, model_v1):
    other = moderation.create_platform(slug="chessclub")
    theirs = appeal_of(record(other, human_payload()))

    item_id = theirs.review_item.pk
    assert refused(rita, url(item_id, "heartbeat"), None, 404)["code"] == "not_found"
    assert post(rita, CLAIM).status_code == 204


def test_decide_takes_exactly_the_fields_of_a_lighter_measure():
    fields = set(review_api.DecideIn().fields) - {"outcome", "reason", "version"}

    assert fields == set(review_api.MEASURE_FIELDS)
    assert set(review_api.RESTRICTIONS) <= fields


def test_the_schema_documents_the_reviewer_api():
    schema = APIClient().get("/api/v1/schema", HTTP_ACCEPT="application/json").json()

    paths = schema["paths"]
    assert {"/api/v1/review/claim", "/api/v1/review/items/{item_id}/decide"} <= set(paths)
    decide = paths["/api/v1/review/items/{item_id}/decide"]["post"]
    assert {"200", "400", "401", "403", "404", "409"} <= set(decide["responses"])


# --- concurrency (PostgreSQL) ----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_reviewers_claiming_over_http_at_once_never_share_an_item(platform, model_v1):
    for n in range(5):
        appeal_of(record(platform, decision_payload(puid=f"race-{n}")))
    tokens = [
        services.create_reviewer(username=f"r{n}", platform=platform, actor="tests")[1]
        for n in range(8)
    ]
    barrier = threading.Barrier(len(tokens))
    answers: list[tuple[int, int | None]] = []
    failures: list[BaseException] = []

    def work(token: str) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            barrier.wait(timeout=10)
            response = post(client, CLAIM)
            item = response.json() if response.status_code == 200 else None
            answers.append((response.status_code, item and item["id"]))
            if item is not None:
                decided = post(
                    client,
                    url(item["id"], "decide"),
                    {"outcome": "upheld", "reason": REASON, "version": item["version"]},
                )
                answers.append((decided.status_code, None))
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    claims = [item for status, item in answers if item is not None]
    assert len(claims) == len(set(claims)) == 5
    assert sorted(status for status, _ in answers) == [200] * 10 + [204] * 3
    assert Review.objects.count() == 5


# --- fuzzing from the schema ----------------------------------------------------------------

# A bounded fuzz of the reviewer operations, as CI fuzzes the whole API: no 5xx, every answer
# documented and matching its schema, valid bodies accepted and invalid ones refused.
fuzzed = schemathesis.openapi.from_wsgi("/api/v1/schema", get_wsgi_application()).include(
    path_regex="^/api/v1/review/"
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


@pytest.fixture
def fuzz_token(platform: Platform, model_v1: Any) -> str:
    for _ in range(3):
        appeal_of(record(platform, decision_payload()))
    _, token = services.create_reviewer(username="fuzz", platform=platform, actor="tests")
    return token


@fuzzed.parametrize()
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_reviewer_api_conforms_to_its_schema(case, fuzz_token, keep_the_test_connection):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {fuzz_token}"},
        # A schema cannot say which queues and items exist or which version an item is at: a
        # schema-valid body naming none of them is rightly refused (400, 404, 409).
        excluded_checks=[positive_data_acceptance],
    )
