"""ledger.public.queries: the public statistics' totals and tables, counted from the roll-ups
of decisions, appeals, audit labels and disputes recorded through the services, checked against
numbers worked out by hand; suppression, every filter, and the filters' parser."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.http import QueryDict
from django.utils import timezone

from appeals.disputes import record_ruling, refer_dispute
from appeals.services import claim_next_review, file_appeal, resolve_appeal
from ledger import log
from ledger.public import queries, rollups
from ledger.public.queries import Filters
from ledger.public.tasks import catch_up_rollups
from moderation import services
from moderation.models import Decision, Platform
from moderation.services import Measure
from moderation.vocabulary import Visibility
from tests.factories import as_input, decision_payload, human_payload, make_reviewer

pytestmark = pytest.mark.django_db

REASON = "A news report quoting the speech it reports on."
# Hours from filing to decision of the eleven appeals against removals, by outcome (each
# decided ten minutes past the hour, so the whole hours are exactly these).
DECIDED_AFTER = {
    "upheld": [1, 2, 3, 5, 8],
    "overturned": [2, 4, 30, 40],
    "modified": [3, 50],
}
CONTRACT_COLUMNS = {
    "decisions_by_day": ["day", "action", "decisions"],
    "decisions_by_action": ["action", "decisions"],
    "decisions_by_category": ["category", "decisions"],
    "decisions_by_ground": ["ground", "decisions"],
    "decisions_by_source": ["source", "decisions"],
    "automation": ["automated_detection", "automated_decision", "decisions"],
    "visibility_by_kind": ["kind", "decisions"],
    "visibility_by_day": ["day", "kind", "decisions"],
    "territories": ["territory", "decisions"],
    "appeals_by_day": ["day", "filed", "upheld", "overturned", "modified"],
    "appeals_by_action": [
        "action",
        "filed",
        "decided",
        "upheld",
        "overturned",
        "modified",
        "overturn_rate",
        "median_hours",
    ],
    "models": [
        "platform",
        "model",
        "version",
        "decisions",
        "appeals",
        "appeals_decided",
        "overturned",
        "overturn_rate",
        "audit_reviewed",
        "audit_correct",
        "precision",
        "precision_low",
        "precision_high",
        "below_min_precision",
    ],
    "disputes": ["event", "disputes"],
}


def recorded(platform: Platform, bodies: list[dict[str, Any]]) -> list[Decision]:
    done = services.record_decisions(platform=platform, decisions=[as_input(b) for b in bodies])
    return list(Decision.objects.filter(public_id__in=[r.public_id for r in done]))


@dataclass
class World:
    platform: Platform
    other: Platform
    received: dt.date  # the UTC day every decision was received (recorded)
    filed: dt.date  # the UTC day every appeal was filed
    decided: dict[dt.date, dict[str, int]]  # day -> outcome -> appeals decided that day
    labelled: dt.date  # the day of the audit labels
    referred: dt.date  # the day of the dispute referrals


@pytest.fixture
def world(platform: Platform, model_v1: Any) -> World:
    """On vidshare: 12 human removals on user notices and 3 automated search exclusions by
    hate-speech v1 (a visibility restriction each). 11 removals appealed and decided: 5 upheld,
    4 overturned (each a REVERSAL decision), 2 modified to a demotion (each a new
    VISIBILITY_RESTRICTION decision); 2 exclusions appealed, waiting. 12 decisions sampled for
    a blind audit (9 removals, the 3 exclusions), 10 labelled correct (2 of the exclusions).
    10 removals taken to an out-of-court body, one ruled. On tubely: 10 removals of violence,
    nothing else."""
    now = timezone.now()
    earlier = (now - dt.timedelta(days=4)).isoformat()
    removals = recorded(platform, [human_payload(decided_at=earlier) for _ in range(12)])
    exclusions = recorded(platform, [decision_payload(decided_at=earlier) for _ in range(3)])
    other = services.create_platform(slug="tubely", name="Tubely")
    recorded(
        other,
        [
            human_payload(decided_at=earlier, category="STATEMENT_CATEGORY_VIOLENCE")
            for _ in range(10)
        ],
    )

    filed_at = now - dt.timedelta(hours=72)
    for decision in removals[:11]:
        file_appeal(decision=decision, appellant="subject", statement="News.", now=filed_at)
    rita = make_reviewer(platform, "rita")
    decided: dict[dt.date, dict[str, int]] = {}
    for outcome, hours in DECIDED_AFTER.items():
        for h in hours:
            at = filed_at + dt.timedelta(hours=h, minutes=10)
            item = claim_next_review(reviewer=rita, now=at)
            assert item is not None
            resolve_appeal(
                reviewer=rita,
                item=item,
                version=item.version,
                outcome=outcome,
                reason=REASON,
                now=at,
                measure=(
                    Measure(decision_visibility=(Visibility.CONTENT_DEMOTED,))
                    if outcome == "modified"
                    else None
                ),
            )
            day = decided.setdefault(at.astimezone(dt.UTC).date(), {})
            day[outcome] = day.get(outcome, 0) + 1
    for decision in exclusions[:2]:
        file_appeal(decision=decision, appellant="subject", statement="Chess.", now=now)

    from tests.appeals.test_quality import T0, make_plan, sampled

    # 8 of 9 removals labelled correct, 2 of 3 exclusions: 10 of 12.
    sampled([*removals[:9], *exclusions], make_plan(platform), rita, "ccccicccc" + "cic")

    for decision in removals[:10]:
        dispute = refer_dispute(
            decision=decision,
            complainant="subject",
            body="Appeals Centre Europe",
            referred_at=decision.decided_at,
            actor="test",
        )
    record_ruling(dispute=dispute, outcome="overturned", decided_at=now, actor="test")

    rollups.refresh()
    received = {d.created_at.astimezone(dt.UTC).date() for d in Decision.objects.all()}
    assert len(received) == 1, "the test ran across midnight UTC"
    return World(
        platform=platform,
        other=other,
        received=received.pop(),
        filed=filed_at.astimezone(dt.UTC).date(),
        decided=decided,
        labelled=T0.date(),
        referred=removals[0].decided_at.astimezone(dt.UTC).date(),
    )


def totals(min_cell: int | None = None, **filters: Any) -> dict[str, Any]:
    return queries.summary(Filters(**filters), min_cell=min_cell).totals


def rows(name: str, min_cell: int | None = None, **filters: Any) -> list[list[Any]]:
    return queries.table(name, Filters(**filters), min_cell=min_cell).rows


# --- the numbers --------------------------------------------------------------------------------


def test_the_totals_are_the_hand_counted_ones_with_small_counts_suppressed(world):
    assert totals() == {
        # 21 on vidshare (12 removals, 3 exclusions, 4 reversals, 2 demotions) + 10 on tubely
        "decisions": 31,
        "visibility_restrictions": "<10",  # 3 exclusions + 2 demotions
        "automated_detection": "<10",  # the 3 exclusions
        "fully_automated": "<10",
        "appeals_filed": 13,
        "appeals_decided": 11,
        "upheld": "<10",
        "overturned": "<10",
        "modified": "<10",
        # 4 + 2 overturned or modified: a small count, so no rate that would give it back.
        "overturn_rate": None,
        # Hours sorted: 1 2 2 3 3 4 5 8 30 40 50; the 6th of 11 reaches half.
        "median_hours_to_decide": 4,
        "audit_reviewed": 12,
        "audit_correct": 10,
        # 10 of 12: Wilson 95% from 0.5520 to 0.9530.
        "precision": pytest.approx(10 / 12),
        "precision_low": pytest.approx(0.5520, abs=1e-4),
        "precision_high": pytest.approx(0.9530, abs=1e-4),
        "disputes_referred": 10,
    }


def test_with_a_smaller_minimum_cell_every_count_shows_and_the_rate_appears(world):
    counted = totals(min_cell=1)
    assert (counted["visibility_restrictions"], counted["automated_detection"]) == (5, 3)
    assert (counted["upheld"], counted["overturned"], counted["modified"]) == (5, 4, 2)
    assert counted["overturn_rate"] == pytest.approx(6 / 11)
    # At 6, the 6 overturned or modified are shown, though the 4 overturned alone are not.
    counted = totals(min_cell=6)
    assert counted["overturned"] == "<6"
    assert counted["overturn_rate"] == pytest.approx(6 / 11)
    counted = totals(min_cell=7)
    assert counted["overturn_rate"] is None


def test_the_median_waits_for_the_minimum_cell_of_decided_appeals(world):
    assert totals(min_cell=11)["median_hours_to_decide"] == 4
    assert totals(min_cell=12)["median_hours_to_decide"] is None
    assert totals(min_cell=12)["appeals_decided"] == "<12"


def test_the_precision_is_null_below_the_minimum_cell_reviewed(world):
    counted = totals(min_cell=13)
    assert counted["audit_reviewed"] == "<13"
    assert counted["precision"] is counted["precision_low"] is counted["precision_high"] is None


def test_the_minimum_cell_defaults_to_the_setting(world, settings):
    settings.LEDGER_MIN_CELL = 4
    result = queries.summary(Filters())
    assert result.min_cell == 4
    assert result.totals["overturned"] == 4
    assert result.totals["fully_automated"] == "<4"


def test_the_decision_tables(world):
    day = world.received
    assert rows("decisions_by_day", min_cell=1) == [
        [day, "VISIBILITY_RESTRICTION", 5],
        [day, "REMOVAL", 22],
        [day, "REVERSAL", 4],
    ]
    assert rows("decisions_by_action") == [
        ["VISIBILITY_RESTRICTION", "<10"],
        ["REMOVAL", 22],
        ["REVERSAL", "<10"],
    ]
    assert rows("decisions_by_category") == [
        ["STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", 21],
        ["STATEMENT_CATEGORY_VIOLENCE", 10],
    ]
    # The reversals and the demotions take the original's ground and source.
    assert rows("decisions_by_ground") == [
        ["DECISION_GROUND_ILLEGAL_CONTENT", 28],
        ["DECISION_GROUND_INCOMPATIBLE_CONTENT", "<10"],
    ]
    assert rows("decisions_by_source", min_cell=1) == [
        ["SOURCE_ARTICLE_16", 28],
        ["SOURCE_VOLUNTARY", 3],
    ]
    assert rows("automation", min_cell=1) == [
        [True, "AUTOMATED_DECISION_FULLY", 3],
        [False, "AUTOMATED_DECISION_NOT_AUTOMATED", 28],
    ]


def test_the_visibility_and_territory_tables_count_a_decision_under_each_value(world):
    # Removals are a visibility kind too (content removed); the reversals have none.
    assert rows("visibility_by_kind", min_cell=1) == [
        ["DECISION_VISIBILITY_CONTENT_REMOVED", 22],
        ["DECISION_VISIBILITY_CONTENT_DEMOTED", 2],
        ["DECISION_VISIBILITY_SEARCH_EXCLUDED", 3],
    ]
    assert rows("visibility_by_day") == [
        [world.received, "DECISION_VISIBILITY_CONTENT_REMOVED", 22],
        [world.received, "DECISION_VISIBILITY_CONTENT_DEMOTED", "<10"],
        [world.received, "DECISION_VISIBILITY_SEARCH_EXCLUDED", "<10"],
    ]
    # Every decision applies to DE and FR, so each counts twice in all.
    assert rows("territories") == [["DE", 31], ["FR", 31]]


def test_the_appeal_tables(world):
    expected: dict[dt.date, list[int]] = {}
    expected[world.filed] = [13 - 2, 0, 0, 0]  # the two waiting ones were filed today
    today = world.received
    expected.setdefault(today, [0, 0, 0, 0])[0] += 2
    for day, outcomes in world.decided.items():
        counts = expected.setdefault(day, [0, 0, 0, 0])
        for i, outcome in enumerate(("upheld", "overturned", "modified"), start=1):
            counts[i] += outcomes.get(outcome, 0)
    assert rows("appeals_by_day", min_cell=1) == [
        [day, *(c if c >= 1 else "<1" for c in counts)] for day, counts in sorted(expected.items())
    ]
    assert rows("appeals_by_action") == [
        ["VISIBILITY_RESTRICTION", "<10", "<10", "<10", "<10", "<10", None, None],
        ["REMOVAL", 11, 11, "<10", "<10", "<10", None, 4],
    ]
    assert rows("appeals_by_action", min_cell=2)[1] == [
        "REMOVAL",
        11,
        11,
        5,
        4,
        2,
        pytest.approx(6 / 11),
        4,
    ]


def test_the_models_table_counts_the_models_own_decisions_and_its_audit(world, settings):
    (row,) = rows("models", min_cell=1)
    # The 3 exclusions, 2 appealed and waiting; all 3 audited, 2 labelled correct.
    assert row == [
        "vidshare",
        "hate-speech",
        "v1",
        3,
        2,
        "<1",
        "<1",
        None,
        3,
        2,
        pytest.approx(2 / 3),
        # Wilson 95%: centre (2/3 + z^2/6) / (1 + z^2/3) = 0.5731, half-width 0.3654.
        pytest.approx(0.2077, abs=1e-4),
        pytest.approx(0.9385, abs=1e-4),
        False,  # 0.9385 is not below LEDGER_MIN_PRECISION (0.5)
    ]
    settings.LEDGER_MIN_PRECISION = 0.95
    assert rows("models", min_cell=1)[0][-1] is True
    assert rows("models")[0][3:] == ["<10", "<10", "<10", "<10", None] + ["<10"] * 2 + [None] * 4


def test_the_disputes_table(world):
    assert rows("disputes", min_cell=1) == [["referred", 10], ["overturned", 1]]
    assert rows("disputes") == [["referred", 10], ["overturned", "<10"]]


# --- filters ------------------------------------------------------------------------------------


def test_the_platform_filter(world):
    assert totals(platform="tubely", min_cell=1)["decisions"] == 10
    assert totals(platform="tubely", min_cell=1)["appeals_filed"] == "<1"
    assert totals(platform="vidshare")["decisions"] == 21
    assert rows("models", platform="tubely") == []


def test_the_period_filters_on_each_counts_own_day(world):
    day = world.received
    assert totals(start=day, end=day)["decisions"] == 31
    assert totals(start=day + dt.timedelta(days=1))["decisions"] == "<10"
    assert rows("decisions_by_day", start=day + dt.timedelta(days=1)) == []
    assert rows("decisions_by_day", end=day - dt.timedelta(days=1)) == []
    # Appeals by the day filed or decided, audits by the day labelled, disputes by referral.
    filed = totals(start=world.filed, end=world.filed, min_cell=1)
    assert filed["appeals_filed"] == 11
    decided_that_day = sum(world.decided.get(world.filed, {}).values())
    assert filed["appeals_decided"] == (decided_that_day if decided_that_day >= 1 else "<1")
    labelled = totals(start=world.labelled, end=world.labelled)
    assert (labelled["decisions"], labelled["audit_reviewed"]) == ("<10", 12)
    referred = totals(start=world.referred, end=world.referred)
    assert referred["disputes_referred"] == 10
    assert totals(end=world.referred - dt.timedelta(days=1))["disputes_referred"] == "<10"


def test_the_action_category_and_source_filters(world):
    removals = totals(action="REMOVAL", min_cell=1)
    assert (removals["decisions"], removals["appeals_filed"], removals["appeals_decided"]) == (
        22,
        11,
        11,
    )
    assert totals(category="STATEMENT_CATEGORY_VIOLENCE")["decisions"] == 10
    assert totals(category="STATEMENT_CATEGORY_VIOLENCE")["audit_reviewed"] == "<10"
    assert totals(category="STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH")["audit_reviewed"] == 12
    voluntary = totals(source="SOURCE_VOLUNTARY", min_cell=1)
    assert (voluntary["decisions"], voluntary["appeals_filed"]) == (3, 2)


def test_the_model_and_version_filters(world):
    assert totals(model="hate-speech", min_cell=1)["decisions"] == 3
    assert totals(version="v1", min_cell=1)["decisions"] == 3
    assert totals(model="hate-speech", version="v1", min_cell=1)["audit_reviewed"] == 3
    assert totals(version="v2", min_cell=1)["decisions"] == "<1"
    assert rows("models", version="v2") == []
    assert totals(model="spam", min_cell=1)["decisions"] == "<1"


def test_what_a_roll_up_cannot_be_split_by_is_left_out_and_named(world):
    """Audit labels have no action or source; dispute steps have only platform and day."""
    by_action = queries.summary(Filters(action="REMOVAL"))
    assert by_action.totals["audit_reviewed"] is None
    assert by_action.totals["precision"] is None
    assert by_action.totals["disputes_referred"] is None
    assert by_action.tables["disputes"].rows == []
    assert "not counted by action" in by_action.tables["disputes"].title
    models = queries.summary(Filters(source="SOURCE_VOLUNTARY"), min_cell=1).tables["models"]
    assert models.rows[0][3:8] == [3, 2, "<1", "<1", None]
    assert models.rows[0][8:] == [None] * 6
    assert "audits not counted by source" in models.title

    by_model = queries.summary(Filters(model="hate-speech"))
    assert by_model.totals["audit_reviewed"] == "<10"
    assert by_model.totals["disputes_referred"] is None
    assert by_model.tables["models"].title == queries.TABLES["models"]
    assert "not counted by model" in by_model.tables["disputes"].title

    everything = queries.summary(Filters())
    assert [t.title for t in everything.tables.values()] == list(queries.TABLES.values())


def test_the_summary_names_the_checkpoint_it_counts(world):
    from ledger.models import Checkpoint

    result = queries.summary(Filters())
    latest = Checkpoint.objects.order_by("-size").first()
    assert latest is not None
    assert result.counted_upto == latest.size == rollups.counted_upto()
    assert result.checkpoint is not None
    assert result.checkpoint["size"] == latest.size
    assert base64.b64decode(result.checkpoint["root_hash"]) == bytes(latest.root)
    assert dt.datetime.fromisoformat(result.checkpoint["signed_at"]) == latest.created_at


def test_what_is_recorded_after_the_checkpoint_is_not_counted_until_the_next(world, platform):
    recorded(platform, [decision_payload() for _ in range(5)])
    assert totals(min_cell=1)["decisions"] == 31
    rollups.refresh()
    assert totals(min_cell=1)["decisions"] == 36


def test_with_nothing_counted_there_is_no_checkpoint_and_every_table_is_empty(db):
    result = queries.summary(Filters())
    assert (result.counted_upto, result.checkpoint) == (0, None)
    assert all(t.rows == [] for t in result.tables.values())
    assert result.totals["decisions"] == "<10"


# --- the tables' shapes -------------------------------------------------------------------------


def test_the_tables_are_the_contracts_in_page_order():
    assert list(queries.TABLES) == list(CONTRACT_COLUMNS)
    for name, columns in CONTRACT_COLUMNS.items():
        blank = queries.blank(name)
        assert blank.columns == columns
        assert len(blank.labels) == len(columns)
        assert blank.title == queries.TABLES[name]


def test_every_row_has_a_cell_per_column(world):
    for t in queries.summary(Filters(), min_cell=1).tables.values():
        assert t.rows, t.name
        assert {len(row) for row in t.rows} == {len(t.columns)}, t.name


def test_an_unknown_table_is_a_key_error(db):
    with pytest.raises(KeyError):
        queries.table("decisions", Filters())


# --- the median ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("histogram", "median"),
    [
        ({}, None),
        ({7: 1}, 7),
        ({1: 1, 2: 1}, 1),  # even: the lower median (1 of 2 reaches half)
        ({1: 1, 2: 1, 3: 1}, 2),  # 2 of 3 is the first past half
        ({0: 5, 10: 5}, 0),
        ({0: 4, 10: 6}, 10),
        ({48: 1, 0: 2, 5: 3}, 5),  # unordered keys: 0 0 5 5 5 48, the 3rd reaches half
        ({3: 0, 9: 2}, 9),  # an empty bar changes nothing
    ],
)
def test_the_median_of_an_hours_histogram(histogram, median):
    assert queries.median_hours(histogram) == median


# --- the filters' parser ------------------------------------------------------------------------


def parse(query: str, **kwargs: Any) -> tuple[Filters, dict[str, list[str]]]:
    return queries.parse_filters(QueryDict(query), **kwargs)


def test_every_filter_parses_and_gives_its_query_back(platform):
    query = (
        "platform=vidshare&from=2026-11-01&to=2026-11-30&action=REMOVAL"
        "&category=STATEMENT_CATEGORY_VIOLENCE&source=SOURCE_ARTICLE_16&model=hate-speech"
        "&version=2026.1+beta"
    )
    filters, errors = parse(query)
    assert errors == {}
    assert filters == Filters(
        platform="vidshare",
        start=dt.date(2026, 11, 1),
        end=dt.date(2026, 11, 30),
        action="REMOVAL",
        category="STATEMENT_CATEGORY_VIOLENCE",
        source="SOURCE_ARTICLE_16",
        model="hate-speech",
        version="2026.1 beta",
    )
    assert filters.query() == {
        "platform": "vidshare",
        "from": "2026-11-01",
        "to": "2026-11-30",
        "action": "REMOVAL",
        "category": "STATEMENT_CATEGORY_VIOLENCE",
        "source": "SOURCE_ARTICLE_16",
        "model": "hate-speech",
        "version": "2026.1 beta",
    }
    assert parse(urlencode(filters.query())) == (filters, {})


def test_no_parameters_and_empty_ones_are_no_filter(db):
    assert parse("") == (Filters(), {})
    assert parse("platform=&from=&action=") == (Filters(), {})
    assert Filters().query() == {}


def test_a_plain_mapping_of_lists_parses_too(platform):
    filters, errors = queries.parse_filters({"platform": ["vidshare"], "from": ["2026-01-02"]})
    assert errors == {}
    assert (filters.platform, filters.start) == ("vidshare", dt.date(2026, 1, 2))


def test_every_problem_is_named_at_once(db):
    filters, errors = parse(
        "colour=red&platform=nobody&from=2026-02-30&to=yesterday&action=BAN"
        "&category=VIOLENCE&source=a&source=b&model=a%00b&version=" + "v" * 65
    )
    assert filters == Filters()
    assert sorted(errors) == [
        "action",
        "category",
        "colour",
        "from",
        "model",
        "platform",
        "source",
        "to",
        "version",
    ]
    assert errors["platform"] == ["No such platform: 'nobody'."]
    assert errors["source"] == ["Give it at most once."]
    assert "REMOVAL" in errors["action"][0] and "VISIBILITY_RESTRICTION" in errors["action"][0]
    assert "STATEMENT_CATEGORY_VIOLENCE" in errors["category"][0]
    assert "Unknown parameter" in errors["colour"][0]


@pytest.mark.parametrize(
    "value",
    [
        "2026-1-01",
        "26-01-01",
        "2026/01/01",
        "2026-01-01T00:00",
        "20260101",
        "\uff12\uff10\uff12\uff16-01-01",
    ],
)
def test_dates_are_yyyy_mm_dd_only(db, value):
    _, errors = queries.parse_filters({"from": [value]})
    assert errors == {"from": ["Must be a date, YYYY-MM-DD."]}


def test_a_period_that_ends_before_it_starts_is_refused(db):
    _, errors = parse("from=2026-11-02&to=2026-11-01")
    assert list(errors) == ["to"]
    assert parse("from=2026-11-02&to=2026-11-02")[1] == {}


def test_the_allowed_parameters_can_be_narrowed(platform):
    _, errors = parse("platform=vidshare&action=REMOVAL", allowed=("platform", "from", "to"))
    assert list(errors) == ["action"]
    assert "use platform, from, to." in errors["action"][0]


def test_an_overlong_unknown_parameter_name_is_not_echoed_whole(db):
    _, errors = parse("x" * 5000 + "=1")
    (name,) = errors
    assert len(name) == 100


# --- the cache: one computation per view and checkpoint counted ------------------------------


def test_a_summary_is_computed_once_per_view_until_the_next_catch_up(
    world, platform, django_assert_max_num_queries
):
    first = queries.summary(Filters(platform="vidshare"))
    with django_assert_max_num_queries(1):  # the roll-ups' generation; the rest is cached
        assert queries.summary(Filters(platform="vidshare")) == first
    services.record_decisions(
        platform=platform, decisions=[as_input(decision_payload()) for _ in range(10)]
    )
    assert rollups.refresh() > 0
    again = queries.summary(Filters(platform="vidshare"))
    assert again.counted_upto > first.counted_upto
    assert again.totals["decisions"] != first.totals["decisions"]


def test_a_rebuild_is_a_new_generation_even_at_the_same_size(world):
    before = rollups.generation()
    queries.summary(Filters())
    rollups.rebuild()
    assert rollups.generation()[0] == before[0]
    assert rollups.generation() != before


def test_beat_warms_the_opening_views_after_counting(
    client, world, platform, django_assert_max_num_queries
):
    services.record_decisions(
        platform=platform, decisions=[as_input(decision_payload()) for _ in range(2)]
    )
    log.seal_checkpoint()
    assert catch_up_rollups() > 0
    for path in ["/stats/", "/stats/?platform=vidshare", "/api/v1/stats/summary"]:
        with django_assert_max_num_queries(1):  # the generation: the answer is cached
            assert client.get(path, HTTP_HOST="localhost").status_code == 200
    with django_assert_max_num_queries(1):
        client.get("/api/v1/stats/models", HTTP_HOST="localhost")


def test_public_answers_are_served_whole_from_the_cache_until_the_next_catch_up(
    client, world, platform, django_assert_max_num_queries
):
    urls = [
        "/stats/?platform=vidshare",
        "/api/v1/stats/summary?platform=vidshare",
        "/stats/decisions_by_action.csv?platform=vidshare",
        "/api/v1/stats/models",
        "/reports/dsa/?platform=vidshare&from=2026-01-01&to=2026-12-31",
        "/api/v1/reports/dsa?platform=vidshare&from=2026-01-01&to=2026-12-31",
    ]
    first = {url: client.get(url) for url in urls}
    assert all(r.status_code == 200 for r in first.values()), {
        u: r.status_code for u, r in first.items()
    }
    for url, answer in first.items():
        with django_assert_max_num_queries(1):  # the roll-ups' generation
            again = client.get(url)
        assert again.content == answer.content, url
        for header in ("Content-Type", "Cache-Control", "Ledger-Checkpoint"):
            assert again.get(header) == answer.get(header), (url, header)
    services.record_decisions(
        platform=platform, decisions=[as_input(decision_payload()) for _ in range(10)]
    )
    rollups.refresh()
    for url, answer in first.items():
        assert client.get(url).content != answer.content, url


def test_refusals_are_not_cached(client, world):
    assert client.get("/api/v1/stats/summary?platform=nope").status_code == 400
    assert client.get("/api/v1/stats/summary?platform=vidshare").status_code == 200
    assert client.get("/api/v1/stats/summary?platform=nope").status_code == 400
