"""The DSA transparency report (GET /api/v1/reports/dsa and /reports/dsa/): the Commission
template's figures counted from the roll-ups for a platform and period, as RFC 4180 CSV that
names the log checkpoint it was counted at, small counts suppressed, bad parameters refused."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appeals import disputes
from appeals.services import claim_next_review, file_appeal, resolve_appeal
from ledger.models import Checkpoint
from ledger.public import LICENCE, rollups
from moderation import services
from moderation.models import Decision, Platform
from moderation.services import Measure
from moderation.vocabulary import Category, Visibility
from tests.factories import as_input, decision_payload, human_payload, make_reviewer

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/dsa"
PAGE = "/reports/dsa/"
SPEECH = Category.ILLEGAL_OR_HARMFUL_SPEECH.value
VIOLENCE = Category.VIOLENCE.value
STATEMENT = "My post quotes a chess book; nothing in it is hateful."
# Hours from filing to decision of the eight appeals decided: the (lower) median is 4, as on
# /stats/ (queries.median_hours).
HOURS = {"upheld": [1, 2, 3, 30], "overturned": [4, 5, 6], "modified": [7]}


def record(platform: Platform, count: int, body: Any, **overrides: Any) -> list[Decision]:
    recorded = services.record_decisions(
        platform=platform, decisions=[as_input(body(**overrides)) for _ in range(count)]
    )
    return list(Decision.objects.filter(public_id__in=[r.public_id for r in recorded]))


def human(**overrides: Any) -> dict[str, Any]:
    return human_payload(**overrides)


def suspension(**overrides: Any) -> dict[str, Any]:
    """A moderator's own-initiative account suspension for violence (no model)."""
    return decision_payload(
        **{
            "decision_visibility": None,
            "decision_account": "DECISION_ACCOUNT_SUSPENDED",
            "category": VIOLENCE,
            "category_specification": None,
            "automated_detection": "No",
            "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
            "model": None,
            "model_version": None,
            "score": None,
            "moderator": "mod-7",
            **overrides,
        }
    )


def decide_in(reviewer: Any, outcome: str, at: dt.datetime) -> None:
    item = claim_next_review(reviewer=reviewer, now=at)
    assert item is not None
    resolve_appeal(
        reviewer=reviewer,
        item=item,
        version=item.version,
        outcome=outcome,
        reason="Looked at it again.",
        measure=(
            Measure(decision_visibility=(Visibility.CONTENT_DEMOTED,))
            if outcome == "modified"
            else None
        ),
        now=at,
    )


@pytest.fixture
def recorded(platform: Platform, model_v1: Any) -> dict[str, list[Decision]]:
    """A month of one platform's moderation, every kind of source and outcome, counted."""
    from tests.appeals.test_quality import make_plan, sampled

    # Decided two days ago, so that appeals can be filed and decided in the past (the ledger
    # refuses a decision time in the future); the roll-ups count them by the day received.
    filed = timezone.now() - dt.timedelta(days=2)
    made = {
        # Own initiative: a classifier's search exclusions, a moderator's suspensions.
        "shadowbans": record(
            platform, 12, decision_payload, decided_at=(filed - dt.timedelta(hours=1)).isoformat()
        ),
        "suspensions": record(platform, 4, suspension),
        # Notices: Art. 16 notices acted on and rejected, trusted flaggers', and legal orders.
        "art16": record(platform, 5, human),
        "trusted": record(platform, 3, human, source_type="SOURCE_TRUSTED_FLAGGER"),
        "rejected": record(
            platform,
            3,
            human,
            decision_type="DECISION_TYPE_NO_ACTION",
            decision_visibility=None,
            notifier="reporter-42",
        ),
        "orders": record(platform, 4, human, source_type="SOURCE_LEGAL_ORDER"),
    }
    # Ten appeals against shadowbans: eight decided, two waiting.
    for decision in made["shadowbans"][:10]:
        file_appeal(decision=decision, appellant="subject", statement=STATEMENT, now=filed)
    reviewer = make_reviewer(platform, "rita")
    for outcome, hours in HOURS.items():
        for h in hours:
            decide_in(reviewer, outcome, filed + dt.timedelta(hours=h, minutes=1))
    # Four out-of-court disputes: three overturned and implemented, one upheld.
    now = timezone.now()
    for n, decision in enumerate(made["art16"][:4]):
        dispute = disputes.refer_dispute(
            decision=decision,
            complainant="subject",
            body="Appeals Centre Europe",
            referred_at=now,
            actor="tests",
        )
        outcome = "upheld" if n == 3 else "overturned"
        disputes.record_ruling(dispute=dispute, outcome=outcome, decided_at=now, actor="tests")
        if outcome == "overturned":
            disputes.record_implementation(
                dispute=dispute, implemented=True, implemented_at=now, actor="tests"
            )
    # Ten shadowbans sampled for a blind audit: eight labelled correct.
    sampled(made["shadowbans"][:10], make_plan(platform), reviewer, "ccicccciccc"[:10])
    rollups.refresh()
    return made


def period(days_after: int = 3) -> dict[str, str]:
    """From before the audit labels (20 November 2026) to a few days past the decisions."""
    end = timezone.now().date() + dt.timedelta(days=days_after)
    return {"platform": "vidshare", "from": "2026-11-01", "to": end.isoformat()}


def fetch(client: Any, query: dict[str, str] | None = None) -> tuple[Any, list[list[str]]]:
    response = client.get(URL, query or period())
    assert response.status_code == 200, response.content[:500]
    return response, list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


def figures(rows: list[list[str]]) -> dict[tuple[str, str, str], str]:
    header, *data = rows
    assert header == ["section", "item", "dimension", "value"]
    keys = [(s, i, d) for s, i, d, _ in data]
    assert len(keys) == len(set(keys)), "every figure appears once"
    return {(s, i, d): v for s, i, d, v in data}


def test_the_report_counts_every_section_as_computed_by_hand(client, settings, platform, recorded):
    settings.LEDGER_MIN_CELL = 3
    _, rows = fetch(client)
    got = figures(rows)

    def value(section: str, item: str, dimension: str = "") -> str:
        return got[(section, item, dimension)]

    # 1.2.1: four removals upon legal orders.
    assert value("1.2.1", "orders") == "4"
    assert value("1.2.1", "orders", f"category={SPEECH}") == "4"
    assert value("1.2.1", "orders", f"category={VIOLENCE}") == "<3"
    assert value("1.2.1", "orders", "action=REMOVAL") == "4"
    # 1.3: 5 + 3 acted on (by law), 3 rejected; the trusted flaggers' apart.
    assert value("1.3", "notices") == "11"
    assert value("1.3", "notices", "source=SOURCE_ARTICLE_16") == "8"
    assert value("1.3", "notices", "source=SOURCE_TRUSTED_FLAGGER") == "3"
    assert value("1.3", "notices", "source=SOURCE_COMMUNITY_REPORT") == "<3"
    assert value("1.3", "notices", "action=REMOVAL") == "8"
    assert value("1.3", "notices", "action=NO_ACTION") == "3"
    assert value("1.3", "notices_actioned") == "8"
    assert value("1.3", "notices_actioned", "ground=DECISION_GROUND_ILLEGAL_CONTENT") == "8"
    assert value("1.3", "notices_actioned", "ground=DECISION_GROUND_INCOMPATIBLE_CONTENT") == "<3"
    assert value("1.3", "notices_no_action") == "3"
    assert value("1.3", "notices_automated") == "<3"
    # 1.4: 12 automated shadowbans and 4 human suspensions, and the demotion a reviewer put in
    # place of one shadowban on appeal (a new, lighter restriction decided by a person, with
    # the original's source); the three reversals change decisions and are not counted.
    assert value("1.4", "own_initiative") == "17"
    assert value("1.4", "own_initiative", "action=VISIBILITY_RESTRICTION") == "13"
    assert value("1.4", "own_initiative", "action=ACCOUNT_SUSPENSION") == "4"
    assert value("1.4", "own_initiative", "action=REMOVAL") == "<3"
    search = "visibility=DECISION_VISIBILITY_SEARCH_EXCLUDED"
    assert value("1.4", "own_initiative_measures", search) == "12"
    assert value("1.4", "own_initiative_measures", "account=DECISION_ACCOUNT_SUSPENDED") == "4"
    demoted = "visibility=DECISION_VISIBILITY_CONTENT_DEMOTED"
    assert value("1.4", "own_initiative_measures", demoted) == "<3"
    assert value("1.4", "own_initiative", "automated_detection=true") == "12"
    assert value("1.4", "own_initiative", "automated_detection=false") == "5"
    assert value("1.4", "own_initiative", f"category={SPEECH};automated_detection=true") == "12"
    assert value("1.4", "own_initiative", f"category={VIOLENCE};automated_detection=false") == "4"
    assert value("1.4", "own_initiative", f"category={VIOLENCE};automated_detection=true") == "<3"
    # 1.5.1: ten complaints, eight decided: 4 upheld, 3 reversed, 1 modified.
    assert value("1.5.1", "complaints_received") == "10"
    assert value("1.5.1", "complaints_received", "action=VISIBILITY_RESTRICTION") == "10"
    assert value("1.5.1", "complaints_decided") == "8"
    assert value("1.5.1", "complaints_upheld") == "4"
    assert value("1.5.1", "complaints_reversed") == "3"
    assert value("1.5.1", "complaints_modified") == "<3"
    assert value("1.5.1", "complaints_reversal_rate") == "0.5000"
    assert value("1.5.1", "complaints_median_hours") == "4"
    assert value("1.5.1", "disputes_referred") == "4"
    assert value("1.5.1", "disputes_outcome", "outcome=overturned") == "3"
    assert value("1.5.1", "disputes_outcome", "outcome=upheld") == "<3"
    assert value("1.5.1", "disputes_implemented") == "3"
    assert value("1.5.1", "disputes_not_implemented") == "<3"
    # Both counts of the share are shown (3 of 3 recorded implementation steps).
    assert value("1.5.1", "disputes_implemented_share") == "1.0000"
    assert value("1.5.1", "suspensions", "account=DECISION_ACCOUNT_SUSPENDED") == "4"
    incompatible = "account=DECISION_ACCOUNT_SUSPENDED;ground=DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert value("1.5.1", "suspensions", incompatible) == "4"
    # 1.6: 12 of 32 decisions detected and taken by a machine.
    assert value("1.6", "decisions") == "32"
    assert value("1.6", "automated_detection") == "12"
    assert value("1.6", "automated_detection_share") == "0.3750"
    assert value("1.6", "automated_decision", "automated_decision=AUTOMATED_DECISION_FULLY") == (
        "12"
    )
    not_automated = "automated_decision=AUTOMATED_DECISION_NOT_AUTOMATED"
    assert value("1.6", "automated_decision", not_automated) == "20"
    assert value("1.6", "automated_decision_share", not_automated) == "0.6250"
    assert value("1.6", "overturn_rate", "automated_detection=true") == "0.5000"
    assert value("1.6", "overturn_rate", "automated_detection=false") == ""
    v1 = "model=hate-speech;version=v1"
    assert value("1.6", "model_decisions", v1) == "12"
    assert value("1.6", "model_complaints_decided", v1) == "8"
    assert value("1.6", "model_complaints_reversed", v1) == "4"
    assert value("1.6", "model_overturn_rate", v1) == "0.5000"
    assert value("1.6", "model_audit_reviewed", v1) == "10"
    assert value("1.6", "model_audit_correct", v1) == "8"
    assert value("1.6", "model_precision", v1) == "0.8000"
    assert value("1.6", "model_precision_low", v1) == "0.4902"
    assert value("1.6", "model_precision_high", v1) == "0.9433"


def test_counts_below_the_minimum_cell_read_suppressed_and_their_rates_are_empty(client, recorded):
    got = figures(fetch(client)[1])

    assert got[("1.3", "notices", "")] == "11"
    assert got[("1.4", "own_initiative", "")] == "17"
    assert got[("1.2.1", "orders", "")] == "<10"
    assert got[("1.5.1", "complaints_received", "")] == "10"
    assert got[("1.5.1", "complaints_decided", "")] == "<10"
    # Neither the rate nor the median of eight decided complaints is published.
    assert got[("1.5.1", "complaints_reversal_rate", "")] == ""
    assert got[("1.5.1", "complaints_median_hours", "")] == ""
    assert got[("1.6", "automated_detection", "")] == "12"
    # 12 of 32: both shown.
    assert got[("1.6", "automated_detection_share", "")] == "0.3750"
    partly = "automated_decision=AUTOMATED_DECISION_PARTIALLY"
    assert got[("1.6", "automated_decision", partly)] == "<10"
    assert got[("1.6", "automated_decision_share", partly)] == ""
    v1 = "model=hate-speech;version=v1"
    assert got[("1.6", "model_complaints_reversed", v1)] == "<10"
    assert got[("1.6", "model_overturn_rate", v1)] == ""
    # Ten reviewed is enough for a precision, though the eight correct are a small cell.
    assert got[("1.6", "model_audit_correct", v1)] == "<10"
    assert got[("1.6", "model_precision", v1)] == "0.8000"
    small = [v for (s, _, _), v in got.items() if s != "metadata" and v.isdigit()]
    assert small and all(int(v) >= 10 for v in small)


def test_the_checkpoint_is_named_in_the_headers_and_the_first_rows(client, platform, recorded):
    response, rows = fetch(client)
    latest = Checkpoint.objects.order_by("-size").first()
    root = base64.b64encode(bytes(latest.root)).decode()

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Ledger-Checkpoint"] == str(latest.size) == str(rollups.counted_upto())
    assert response["Ledger-Checkpoint-Root"] == root
    assert response["Link"] == '<https://creativecommons.org/licenses/by/4.0/>; rel="license"'
    assert response["Access-Control-Allow-Origin"] == "*"
    assert 'filename="dsa-report-vidshare-2026-11-01-' in response["Content-Disposition"]
    metadata = [row for row in rows[1:] if row[0] == "metadata"]
    assert rows[1 : len(metadata) + 1] == metadata, "the metadata rows come first"
    meta = {item: value for _, item, _, value in metadata}
    assert meta["platform"] == "vidshare"
    assert meta["platform_name"] == "VidShare"
    assert meta["period_from"] == "2026-11-01"
    assert meta["period_to"] == period()["to"]
    assert meta["checkpoint_size"] == str(latest.size)
    assert meta["checkpoint_root_hash"] == root
    assert meta["licence"] == LICENCE
    assert f"log checkpoint of size {latest.size}" in meta["citation"]
    assert meta["citation"].startswith("Moderation-decision transparency ledger, http://testserver")
    assert dt.datetime.fromisoformat(meta["generated_at"]) <= timezone.now()


def test_the_citation_names_the_ledgers_public_address_when_set(
    client, settings, platform, recorded
):
    settings.PUBLIC_BASE_URL = "https://ledger.example"
    meta = {row[1]: row[3] for row in fetch(client)[1] if row[0] == "metadata"}
    assert meta["citation"].startswith(
        "Moderation-decision transparency ledger, https://ledger.example,"
    )


def test_decisions_recorded_after_the_checkpoint_counted_wait_for_the_next(
    client, settings, platform, recorded
):
    settings.LEDGER_MIN_CELL = 1
    before = fetch(client)[0]["Ledger-Checkpoint"]
    record(platform, 2, decision_payload)

    response, rows = fetch(client)
    assert response["Ledger-Checkpoint"] == before
    assert figures(rows)[("1.4", "own_initiative", "")] == "17"

    rollups.refresh()
    response, rows = fetch(client)
    assert int(response["Ledger-Checkpoint"]) > int(before)
    assert figures(rows)[("1.4", "own_initiative", "")] == "19"


def test_the_period_and_platform_bound_what_is_counted(client, settings, platform, recorded):
    settings.LEDGER_MIN_CELL = 1
    other = services.create_platform(slug="tubely", name="Tubely")
    today = timezone.now().date()
    yesterday = (today - dt.timedelta(days=1)).isoformat()

    before = figures(fetch(client, {**period(), "to": yesterday})[1])
    assert before[("1.6", "decisions", "")] == "<1"
    # The audit labels were made on 20 November 2026; they stay within this earlier period.
    assert before[("1.6", "model_audit_reviewed", "model=hate-speech;version=v1")] == "10"
    assert (
        figures(fetch(client, {**period(), "platform": other.slug})[1])[("1.6", "decisions", "")]
        == "<1"
    )


def test_the_csv_is_rfc_4180_crlf_quoted_utf8(client, settings, platform, recorded):
    platform.name = 'Vid"Share, Ünïcode'
    platform.save(update_fields=["name"])
    response, rows = fetch(client)
    body = response.content

    text = body.decode("utf-8")
    assert text.startswith("section,item,dimension,value\r\n")
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert '"Vid""Share, Ünïcode"' in text
    meta = {row[1]: row[3] for row in rows if row[0] == "metadata"}
    assert meta["platform_name"] == 'Vid"Share, Ünïcode'
    assert all(len(row) == 4 for row in rows)


def test_the_report_reads_only_roll_ups_and_the_small_tables(client, platform, recorded):
    with CaptureQueriesContext(connection) as queries:
        fetch(client)
    sql = " ".join(q["sql"] for q in queries).lower()
    assert '"moderation_decision"' not in sql and '"appeals_' not in sql
    for rollup in ("decisioncount", "decisionfacetcount", "appealcount", "auditcount"):
        assert f'"public_{rollup}"' in sql
    # The platform (checked, then loaded), the mark, six grouped sums, the model versions and
    # the checkpoint, and the snapshot's savepoint: a fixed number, whatever was recorded.
    assert len(queries) <= 14


@pytest.mark.parametrize(
    ("query", "problems"),
    [
        ({}, {"platform", "from", "to"}),
        ({"platform": "nobody", "from": "2026-01-01", "to": "2026-01-31"}, {"platform"}),
        ({"platform": "a%00b", "from": "2026-1-1", "to": "soon"}, {"platform", "from", "to"}),
        ({"platform": "vidshare", "from": "2026-02-01", "to": "2026-01-31"}, {"to"}),
        ({"platform": "vidshare", "from": "2000-01-01", "to": "2026-01-31"}, {"to"}),
        ({"platform": "nobody", "from": "2000-01-01", "to": "2026-01-31"}, {"platform", "to"}),
        (
            {"platform": "vidshare", "from": "2026-02-30", "to": "\uff12\uff10\uff12\uff16-03-01"},
            {"from", "to"},
        ),
        (
            {"platform": "vidshare", "from": "2026-01-01", "to": "2026-01-31", "action": "X"},
            {"action"},
        ),
    ],
)
def test_bad_parameters_are_refused_naming_every_problem(client, platform, query, problems):
    response = client.get(URL, query)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["detail"] == "Invalid parameters."
    assert set(body["errors"]) == problems

    page = client.get(PAGE, query or {"platform": ""})
    assert page.status_code == 400
    for name in problems:
        assert f"<strong>{name}</strong>" in page.content.decode()


def test_a_parameter_given_twice_is_refused(client, platform):
    response = client.get(
        f"{URL}?platform=vidshare&platform=vidshare&from=2026-01-01&to=2026-01-02"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"platform"}


def test_ten_years_is_the_longest_period(client, platform):
    ok = client.get(URL, {"platform": "vidshare", "from": "2016-01-01", "to": "2025-12-31"})
    assert ok.status_code == 200
    assert (
        client.get(
            URL, {"platform": "vidshare", "from": "2016-01-01", "to": "2026-01-01"}
        ).status_code
        == 400
    )


def test_the_report_is_csv_whatever_the_client_accepts(client, platform):
    response = client.get(
        URL,
        {"platform": "vidshare", "from": "2026-01-01", "to": "2026-01-31"},
        HTTP_ACCEPT="text/html",
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    refused = client.get(URL, {"platform": "vidshare"}, HTTP_ACCEPT="text/csv")
    assert refused.status_code == 400
    assert refused.json()["errors"].keys() == {"from", "to"}


def test_the_page_shows_the_report_in_the_santa_clara_shape(client, settings, platform, recorded):
    settings.LEDGER_MIN_CELL = 3
    response = client.get(PAGE, period())
    assert response.status_code == 200
    html = response.content.decode()
    latest = Checkpoint.objects.order_by("-size").first()

    assert response["Ledger-Checkpoint"] == str(latest.size)
    assert f'<strong id="checkpoint-size">{latest.size}</strong>' in html
    assert base64.b64encode(bytes(latest.root)).decode() in html
    for heading in (
        "Decisions, and who raised them",
        "What was done",
        "By category of the rule or law at issue",
        "Appeals (complaints) and their outcomes",
        "Out-of-court disputes",
        "Accuracy of each model version",
    ):
        assert heading in html
    assert '<th scope="row">Trusted flagger</th><td data-label="Decisions">3</td>' in html
    assert "80.0% (49.0% to 94.3%)" in html
    assert "CC BY 4.0" in html
    assert 'href="/api/v1/reports/dsa?platform=vidshare&amp;from=2026-11-01' in html


def test_the_page_without_parameters_shows_the_form(client, platform):
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="report-form"' in html
    assert '<option value="vidshare">VidShare (vidshare)</option>' in html
    assert "checkpoint-size" not in html


def test_the_schema_documents_the_report_as_csv(client):
    schema = client.get("/api/v1/schema", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/reports/dsa"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {"text/csv"}
    assert set(operation["responses"]["400"]["content"]) == {"application/json"}
    required = {p["name"] for p in operation["parameters"] if p.get("required")}
    assert required == {"platform", "from", "to"}
