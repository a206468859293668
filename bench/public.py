"""Public statistics benchmark: latency of the public statistics over roll-ups of ten million
decisions, against the same numbers scanned from a table of one million decisions.

    .venv/bin/python bench/public.py

On its own PostgreSQL database (dropped and created at the start, dropped at the end), it:

1. measures bench/ingest.py's batch API over HTTP as it is, with a checkpoint sealed every
   second, and with `ledger.public.rollups.refresh()` (seal, then `catch_up`) every second as
   beat would: the cost of keeping the roll-ups current;
2. writes roll-ups for ten million decisions straight into the roll-up tables with COPY (three
   platforms, a year of days, every action, category and source, twenty model versions,
   visibility kinds, territories, languages, content types, appeals with hours to decision,
   audit labels and disputes), seals a real checkpoint over the (small) log and marks it
   counted;
3. times GET /stats/, /api/v1/stats/summary (no filter, one platform, 30 days) and
   /api/v1/stats/models over HTTP (Django's threaded WSGI server in a subprocess, one
   keep-alive client): p50 and p95 per run, medians over runs;
4. times `catch_up` for batches of 1,000 decisions recorded on top of the ten million, and
   `rebuild`;
5. writes one million decision rows (the ingest workload's rows, varied) with COPY and times
   the GROUP BY queries a statistics page would run over them without roll-ups: the baseline.

See bench/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import datetime as dt
import faulthandler
import http.client
import os
import random
import secrets
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest  # bench/ingest.py: the workload, the HTTP server, the resets

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ledger_bench_public"
# The database is dropped at the start and the end: only names of this benchmark's own.
DATABASE_PREFIX = "ledger_bench_public"
TARGET_P95_MS = 50.0
EXPLAIN_PATH = Path(tempfile.gettempdir()) / "bench-public-explain.txt"

# --- the roll-ups' shape --------------------------------------------------------------------

PLATFORMS = (  # slug, share of the decisions; the first is bench/ingest.py's platform
    (ingest.PLATFORM_SLUG, 0.5),
    ("clipshare", 0.35),
    ("marketly", 0.15),
)
# Model versions per platform: (model, version, released days before today, audited
# precision). bench/ingest.py registers the first platform's first four; one version is below
# LEDGER_MIN_PRECISION on purpose.
MODEL_VERSIONS: dict[str, tuple[tuple[str, str, int, float], ...]] = {
    ingest.PLATFORM_SLUG: (
        ("hate-speech", "v1", 400, 0.81),
        ("hate-speech", "v2", 200, 0.86),
        ("spam-detector", "2026.10", 60, 0.95),
        ("nudity", "v3", 400, 0.9),
        ("hate-speech", "v3", 60, 0.88),
        ("spam-detector", "2026.04", 250, 0.93),
        ("spam-detector", "2026.07", 150, 0.94),
    ),
    "clipshare": (
        ("toxicity", "v1", 400, 0.7),
        ("toxicity", "v2", 280, 0.74),
        ("toxicity", "v3", 160, 0.45),
        ("toxicity", "v4", 40, 0.83),
        ("nsfw-vision", "2026.1", 400, 0.91),
        ("nsfw-vision", "2026.2", 120, 0.93),
        ("copyright-match", "v7", 400, 0.97),
    ),
    "marketly": (
        ("counterfeit", "v1", 400, 0.78),
        ("counterfeit", "v2", 220, 0.84),
        ("counterfeit", "v3", 70, 0.87),
        ("listing-fraud", "a", 400, 0.66),
        ("listing-fraud", "b", 180, 0.72),
        ("prohibited-items", "v1", 400, 0.9),
    ),
}
_CAT = "STATEMENT_CATEGORY_"
_VIS = "DECISION_VISIBILITY_"
SILENT = tuple(
    _VIS + k
    for k in (
        "SEARCH_EXCLUDED",
        "RECOMMENDATIONS_EXCLUDED",
        "CONTENT_DEMOTED",
        "HIDDEN_FROM_NON_FOLLOWERS",
        "CONTENT_LABELLED",
        "CONTENT_AGE_RESTRICTED",
    )
)
LANGUAGES: dict[str, float] = {
    "EN": 30, "DE": 15, "FR": 12, "ES": 10, "IT": 8, "PL": 6,
    "NL": 5, "PT": 4, "SV": 3, "RO": 3, "EL": 2, "CS": 2,
}  # fmt: skip
# Rough shares of the EEA's population, for territorial scopes narrower than the EEA.
COUNTRIES: dict[str, float] = {
    "DE": 84, "FR": 68, "IT": 59, "ES": 48, "PL": 37, "RO": 19, "NL": 18, "BE": 12, "CZ": 11,
    "SE": 10, "PT": 10, "GR": 10, "HU": 10, "AT": 9, "BG": 6, "DK": 6, "FI": 6, "SK": 5,
    "NO": 5, "IE": 5, "HR": 4, "LT": 3, "SI": 2, "LV": 2, "EE": 1, "CY": 1, "LU": 1, "MT": 1,
    "IS": 0.4, "LI": 0.1,
}  # fmt: skip


@dataclass(frozen=True)
class Kind:
    """One kind of decision (bench/ingest.py's Workload has the same kinds and shares)."""

    share: float
    action: str
    ground: str
    sources: dict[str, float]
    automated_decision: str
    automated: bool  # detected by a model (and so counted under a model version)
    categories: dict[str, float]
    content_types: dict[str, float]
    content_picks: float = 1.0  # content types per decision, on average
    visibility: dict[str, float] = field(default_factory=dict)
    visibility_picks: float = 1.0
    monetary: dict[str, float] = field(default_factory=dict)
    provision: dict[str, float] = field(default_factory=dict)
    account: str = ""
    appeal_rate: float = 0.01
    overturn: float = 0.2  # share of decided appeals overturned (as many again modified / 2)


_ALL_CATEGORIES: dict[str, float] = {}  # filled from moderation.vocabulary at setup
_ILLEGAL = "DECISION_GROUND_ILLEGAL_CONTENT"
_INCOMPATIBLE = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
_FULLY, _PARTLY, _HUMAN = (
    f"AUTOMATED_DECISION_{k}" for k in ("FULLY", "PARTIALLY", "NOT_AUTOMATED")
)


def kinds() -> tuple[Kind, ...]:
    def cats(main: dict[str, float], *, tail: bool = False) -> dict[str, float]:
        """The kind's own categories; with `tail`, every other one too, rarely (notices are
        about anything)."""
        others = {c: 0.01 for c in _ALL_CATEGORIES} if tail else {}
        return {**others, **{_CAT + k: w for k, w in main.items()}}

    text_video: dict[str, float] = {"CONTENT_TYPE_TEXT": 1, "CONTENT_TYPE_VIDEO": 1}
    mixed: dict[str, float] = {
        "CONTENT_TYPE_TEXT": 2,
        "CONTENT_TYPE_IMAGE": 1,
        "CONTENT_TYPE_VIDEO": 1,
    }
    return (
        Kind(
            0.40, "VISIBILITY_RESTRICTION", _INCOMPATIBLE, {"SOURCE_VOLUNTARY": 1}, _FULLY,
            True,
            cats({"ILLEGAL_OR_HARMFUL_SPEECH": 1, "SCAMS_AND_FRAUD": 0.6,
                  "NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS": 0.4, "VIOLENCE": 0.2}),
            text_video, visibility={k: 1 for k in SILENT}, visibility_picks=4 / 3,
            appeal_rate=0.012, overturn=0.3,
        ),
        Kind(
            0.20, "REMOVAL", _ILLEGAL,
            {"SOURCE_ARTICLE_16": 4, "SOURCE_TRUSTED_FLAGGER": 2, "SOURCE_LEGAL_ORDER": 1,
             "SOURCE_VOLUNTARY": 2, "SOURCE_COMMUNITY_REPORT": 1,
             "SOURCE_TYPE_OTHER_NOTIFICATION": 0.3},
            _HUMAN, False,
            cats({"ILLEGAL_OR_HARMFUL_SPEECH": 1, "VIOLENCE": 1, "CYBER_VIOLENCE": 1,
                  "PROTECTION_OF_MINORS": 1}, tail=True),
            {"CONTENT_TYPE_IMAGE": 1, "CONTENT_TYPE_VIDEO": 1, "CONTENT_TYPE_TEXT": 1,
             "CONTENT_TYPE_AUDIO": 1}, content_picks=1.5,
            visibility={_VIS + "CONTENT_REMOVED": 1, _VIS + "CONTENT_DISABLED": 1},
            appeal_rate=0.04, overturn=0.15,
        ),
        Kind(
            0.10, "ACCOUNT_SUSPENSION", _INCOMPATIBLE, {"SOURCE_VOLUNTARY": 1}, _PARTLY, True,
            cats({"SCAMS_AND_FRAUD": 3}), mixed, account="DECISION_ACCOUNT_SUSPENDED",
            appeal_rate=0.06, overturn=0.25,
        ),
        Kind(
            0.04, "ACCOUNT_TERMINATION", _ILLEGAL, {"SOURCE_LEGAL_ORDER": 1}, _HUMAN, False,
            cats({"RISK_FOR_PUBLIC_SECURITY": 1, "SCAMS_AND_FRAUD": 1}), mixed,
            account="DECISION_ACCOUNT_TERMINATED", appeal_rate=0.1, overturn=0.1,
        ),
        Kind(
            0.05, "MONETARY_RESTRICTION", _INCOMPATIBLE, {"SOURCE_VOLUNTARY": 1}, _FULLY, True,
            cats({"NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS": 3}),
            {"CONTENT_TYPE_VIDEO": 1},
            monetary={"DECISION_MONETARY_SUSPENSION": 3, "DECISION_MONETARY_TERMINATION": 1,
                      "DECISION_MONETARY_OTHER": 1},
            appeal_rate=0.03, overturn=0.35,
        ),
        Kind(
            0.06, "SERVICE_RESTRICTION", _ILLEGAL, {"SOURCE_ARTICLE_16": 2,
                                                    "SOURCE_TRUSTED_FLAGGER": 1}, _HUMAN,
            False, cats({"UNSAFE_AND_PROHIBITED_PRODUCTS": 2,
                         "INTELLECTUAL_PROPERTY_INFRINGEMENTS": 1}),
            {"CONTENT_TYPE_PRODUCT": 1},
            provision={"DECISION_PROVISION_PARTIAL_SUSPENSION": 1,
                       "DECISION_PROVISION_TOTAL_SUSPENSION": 1},
            appeal_rate=0.03, overturn=0.12,
        ),
        Kind(
            0.10, "FLAG", _INCOMPATIBLE, {"SOURCE_VOLUNTARY": 1}, _HUMAN, True,
            cats({"ILLEGAL_OR_HARMFUL_SPEECH": 1, "SCAMS_AND_FRAUD": 1}), text_video,
            appeal_rate=0.001,
        ),
        Kind(
            0.05, "NO_ACTION", _INCOMPATIBLE, {"SOURCE_ARTICLE_16": 3,
                                               "SOURCE_COMMUNITY_REPORT": 1}, _HUMAN, False,
            cats({"OTHER_VIOLATION_TC": 2, "CYBER_VIOLENCE": 1}, tail=True), mixed,
            appeal_rate=0.01,
        ),
    )  # fmt: skip


def split(total: int, weights: Sequence[float], rng: random.Random) -> list[int]:
    """`total` shared out in proportion to `weights`, in whole numbers that sum to it exactly:
    the floors of the exact shares, the remainder drawn at random by weight."""
    whole = sum(weights)
    shares = [int(total * w / whole) for w in weights]
    rest = total - sum(shares)
    if rest:
        for i in rng.choices(range(len(weights)), weights, k=rest):
            shares[i] += 1
    return shares


def noisy(weights: Sequence[float], rng: random.Random, sigma: float = 0.4) -> list[float]:
    return [w * rng.lognormvariate(0, sigma) for w in weights]


def rounded(x: float, rng: random.Random) -> int:
    """x rounded up with probability its fractional part: unbiased whole counts."""
    return int(x + rng.random())


@dataclass
class Shape:
    """Ids the roll-ups point at, and each model version's release and precision."""

    today: dt.date
    days: int
    platforms: dict[str, int]  # slug -> id
    versions: dict[str, list[tuple[int, str, int, float]]]  # slug -> (id, model, released, p)

    def active(self, slug: str, day: dt.date) -> list[tuple[int, float]]:
        """(version id, weight) of a platform's versions in use on `day`: each model's latest
        released version, and the one before it for 30 days after its successor's release."""
        age = (self.today - day).days
        by_model: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for version_id, model, released, _ in self.versions[slug]:
            if released >= age:
                by_model[model].append((released, version_id))
        out = []
        for items in by_model.values():
            items.sort()  # most recent release first (fewest days before today)
            out.append((items[0][1], 1.0))
            if len(items) > 1 and items[0][0] - age < 30:
                out.append((items[1][1], 0.4))
        return out


@dataclass
class Generated:
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    decisions: int = 0
    appeals_filed: int = 0
    appeals_decided: int = 0
    audit_reviewed: int = 0
    disputes: int = 0
    seconds: float = 0.0


class CopyOut:
    """One COPY ... FROM STDIN per roll-up table, each on its own connection, fed text rows."""

    def __init__(self, stack: ExitStack, database_url: str, tables: dict[str, Any]) -> None:
        import psycopg

        self.copies: dict[str, Any] = {}
        self.buffers: dict[str, list[str]] = {}
        self.generated = Generated()
        for key, model in tables.items():
            conn = stack.enter_context(psycopg.connect(database_url))
            columns = [f.column for f in model._meta.concrete_fields if f.column != "id"]
            statement = f'COPY "{model._meta.db_table}" ({ingest._quoted(columns)}) FROM STDIN'
            # Each connection commits when its context exits, after its COPY has ended.
            cursor = stack.enter_context(conn.cursor())
            self.copies[key] = stack.enter_context(cursor.copy(statement))
            self.buffers[key] = []

    def add(self, table: str, *values: Any) -> None:
        self.buffers[table].append("\t".join(_text(v) for v in values))
        self.generated.rows[table] += 1
        if len(self.buffers[table]) >= 20_000:
            self.flush(table)

    def flush(self, table: str) -> None:
        if self.buffers[table]:
            self.copies[table].write("\n".join(self.buffers[table]) + "\n")
            self.buffers[table] = []

    def close(self) -> None:
        for table in self.buffers:
            self.flush(table)


def _text(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


def generate_rollups(database_url: str, shape: Shape, decisions: int, seed: int) -> Generated:
    """Roll-ups for `decisions` decisions over `shape.days` days ending today, written with
    COPY straight into the six roll-up tables; the DecisionCount rows sum to `decisions`."""
    from ledger.public.models import (
        AppealCount,
        AuditCount,
        DecisionCount,
        DecisionFacetCount,
        DisputeCount,
        FacetDayCount,
    )

    rng = random.Random(seed)
    started = time.perf_counter()
    days = [shape.today - dt.timedelta(days=n) for n in range(shape.days)]
    # A year's growth from 0.7 to 1.3, weekends at 80%, and day-to-day noise.
    day_weights = [
        (1.3 - 0.6 * n / max(1, shape.days - 1)) * (0.8 if day.weekday() >= 5 else 1.0)
        for n, day in enumerate(days)
    ]
    cells = [(slug, day) for slug, _ in PLATFORMS for day in days]
    weights = noisy([share * w for _, share in PLATFORMS for w in day_weights], rng, 0.15)
    totals = split(decisions, weights, rng)
    tables = {
        "decision": DecisionCount,
        "facet": DecisionFacetCount,
        "facetday": FacetDayCount,
        "appeal": AppealCount,
        "audit": AuditCount,
        "dispute": DisputeCount,
    }
    kinds_ = kinds()
    precision = {vid: p for vs in shape.versions.values() for vid, _, _, p in vs}
    country_names = list(COUNTRIES)
    country_weights = [float(w) for w in COUNTRIES.values()]
    language_names = list(LANGUAGES)
    language_weights = [float(w) for w in LANGUAGES.values()]
    appeals: dict[tuple[Any, ...], int] = defaultdict(int)
    audits: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
    # The narrow facet table: (day, platform, facet, value) -> decisions, as rollups sums it.
    facet_days: dict[tuple[Any, ...], int] = defaultdict(int)
    with ExitStack() as stack:
        out = CopyOut(stack, database_url, tables)
        for (slug, day), total in zip(cells, totals, strict=True):
            platform = shape.platforms[slug]
            active = shape.active(slug, day)
            catalogue: list[tuple[Kind, str, str, int | None]] = []
            key_weights: list[float] = []
            for kind in kinds_:
                versions: list[tuple[int | None, float]] = (
                    list(active) if kind.automated else [(None, 1.0)]
                )
                version_total = sum(w for _, w in versions)
                source_total = sum(kind.sources.values())
                category_total = sum(kind.categories.values())
                for category, cw in kind.categories.items():
                    for source, sw in kind.sources.items():
                        for version, vw in versions:
                            catalogue.append((kind, category, source, version))
                            key_weights.append(
                                kind.share * cw / category_total * sw / source_total
                                * vw / version_total
                            )  # fmt: skip
            for (kind, category, source, version), n in zip(
                catalogue, split(total, noisy(key_weights, rng), rng), strict=True
            ):
                if not n:
                    continue
                dims = (
                    day, platform, kind.action, category, kind.ground, source, kind.automated,
                    kind.automated_decision, version,
                )  # fmt: skip
                out.add("decision", *dims, n)
                out.generated.decisions += n
                for facet, value, count in facets(kind, n, rng, country_names, country_weights,
                                                  language_names, language_weights):  # fmt: skip
                    out.add("facet", *dims, facet, value, count)
                    facet_days[(day, platform, facet, value)] += count
                filed = rounded(n * kind.appeal_rate, rng)
                appeal_key = (platform, kind.action, category, source, kind.automated, version)
                for _ in range(filed):
                    appeals[(day, *appeal_key, "filed", None)] += 1
                    hours = min(24 * 21, int(rng.expovariate(1 / 30)))
                    decided_day = day + dt.timedelta(days=(hours + rng.randrange(24)) // 24)
                    if decided_day > shape.today or rng.random() < 0.03:
                        continue  # not decided yet
                    draw = rng.random()
                    event = (
                        "overturned" if draw < kind.overturn
                        else "modified" if draw < kind.overturn * 1.5 else "upheld"
                    )  # fmt: skip
                    appeals[(decided_day, *appeal_key, event, hours)] += 1
                if version is not None:
                    reviewed = rounded(n * 0.002, rng)
                    if reviewed:
                        label_day = min(shape.today, day + dt.timedelta(days=rng.randrange(3)))
                        cell = audits[(label_day, platform, category, version)]
                        cell[0] += reviewed
                        cell[1] += sum(rng.random() < precision[version] for _ in range(reviewed))
            for event, count in disputes(rng):
                out.add("dispute", day, platform, event, count)
                out.generated.disputes += count if event == "referred" else 0
        for key, count in facet_days.items():
            out.add("facetday", *key, count)
        for key, count in appeals.items():
            out.add("appeal", *key, count)
            if key[-2] == "filed":
                out.generated.appeals_filed += count
            else:
                out.generated.appeals_decided += count
        for key, (reviewed, correct) in audits.items():
            out.add("audit", *key, reviewed, correct)
            out.generated.audit_reviewed += reviewed
        out.close()
    out.generated.seconds = time.perf_counter() - started
    return out.generated


def facets(
    kind: Kind,
    n: int,
    rng: random.Random,
    country_names: list[str],
    country_weights: list[float],
    language_names: list[str],
    language_weights: list[float],
) -> Iterator[tuple[str, str, int]]:
    """(facet, value, decisions) of `n` decisions of one kind and key, as ledger.public.rollups
    counts them: a decision counts once under each of its values."""

    def spread(values: dict[str, float], picks: float) -> Iterator[tuple[str, int]]:
        names = list(values)
        for name, count in zip(names, split(rounded(n * picks, rng), list(values.values()), rng),
                               strict=True):  # fmt: skip
            if count:
                yield name, min(n, count)

    for value, count in spread(kind.visibility, kind.visibility_picks) if kind.visibility else ():
        yield "visibility", value, count
    for value, count in spread(kind.monetary, 1.0) if kind.monetary else ():
        yield "monetary", value, count
    for value, count in spread(kind.provision, 1.0) if kind.provision else ():
        yield "provision", value, count
    if kind.account:
        yield "account", kind.account, n
    for value, count in zip(language_names, split(n, language_weights, rng), strict=True):
        if count:
            yield "language", value, count
    # bench/ingest.py's scopes: 1, 2, 5 or all 30 countries, equally often.
    everywhere = rounded(n / 4, rng)
    narrow = split(rounded((n - everywhere) * 8 / 3, rng), country_weights, rng)
    for value, count in zip(country_names, narrow, strict=True):
        if everywhere + count:
            yield "territory", value, min(n, everywhere + count)
    for value, count in spread(kind.content_types, kind.content_picks):
        yield "content_type", value, count


def disputes(rng: random.Random) -> Iterator[tuple[str, int]]:
    """One platform's out-of-court dispute steps on one day."""
    referred = int(rng.expovariate(1 / 3))
    if referred:
        yield "referred", referred
    steps = {"upheld": 1.2, "overturned": 0.8, "settled": 0.4, "withdrawn": 0.3}
    steps |= {"implemented": 0.7, "not_implemented": 0.1}
    for event, mean in steps.items():
        count = int(rng.expovariate(1 / mean))
        if count:
            yield event, count


# --- setup ----------------------------------------------------------------------------------


def recreate_database(database_url: str) -> None:
    """Drop and create the benchmark's own database (only a name of this benchmark's)."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict

    name = str(conninfo_to_dict(database_url).get("dbname") or "")
    if not name.startswith(DATABASE_PREFIX):
        raise SystemExit(f"the database's name must start with {DATABASE_PREFIX}: {name!r}")
    with psycopg.connect(database_url, dbname="postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(database_url: str) -> None:
    import psycopg
    from django.db import connections
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict

    connections.close_all()
    name = str(conninfo_to_dict(database_url).get("dbname") or "")
    with psycopg.connect(database_url, dbname="postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def register_shape(today: dt.date, days: int) -> Shape:
    """The three platforms and twenty model versions the roll-ups count under."""
    from moderation import services
    from moderation.models import ModelVersion, Platform
    from moderation.vocabulary import Category

    _ALL_CATEGORIES.update({c.value: 1.0 for c in Category})
    platforms: dict[str, int] = {}
    versions: dict[str, list[tuple[int, str, int, float]]] = {}
    for slug, _ in PLATFORMS:
        platform = Platform.objects.filter(slug=slug).first()
        if platform is None:
            platform = services.create_platform(slug=slug, name=slug.title())
        platforms[slug] = platform.pk
        versions[slug] = []
        for model, version, released, precision in MODEL_VERSIONS[slug]:
            found = ModelVersion.objects.filter(
                model__platform=platform, model__name=model, version=version
            ).first()
            if found is None:
                found, _ = services.register_model_version(
                    platform=platform,
                    name=model,
                    version=version,
                    released_at=today - dt.timedelta(days=released),
                    threshold=0.8,
                    card_url=f"https://models.example.org/{slug}/{model}/{version}",
                )
            versions[slug].append((found.pk, model, released, precision))
    return Shape(today, days, platforms, versions)


def empty_rollups() -> None:
    from django.db import connection

    from ledger.public.models import RollupMark
    from ledger.public.rollups import ROLLUP_MODELS

    models: list[Any] = [*ROLLUP_MODELS, RollupMark]
    tables = [m._meta.db_table for m in models]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")


def reset(bench: ingest.Bench) -> None:
    """bench/ingest.py's reset (an empty ledger), the log's in-process cache of the old log's
    subtree hashes forgotten (sealing checks against it), and empty roll-ups."""
    from ledger.log import forget_cached_nodes

    bench.reset()
    forget_cached_nodes()
    empty_rollups()


def seal_and_mark() -> int:
    """Sign a real checkpoint over the log as it is (the registrations: a few dozen entries)
    and mark the roll-ups counted up to it, so the pages show a verifiable checkpoint."""
    from django.db import transaction

    from ledger.log import seal_checkpoint
    from ledger.public.models import RollupMark
    from ledger.public.rollups import signed_size

    with transaction.atomic():
        seal_checkpoint()
    size = signed_size()
    RollupMark.objects.update_or_create(pk=1, defaults={"upto": size})
    return size


def vacuum(tables: Sequence[str]) -> None:
    """VACUUM ANALYZE: statistics for the planner and an all-visible map, as autovacuum would
    leave tables that are read far more than written."""
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        for table in tables:
            conn.execute(f'VACUUM ANALYZE "{table}"')


def table_sizes(tables: Sequence[str]) -> dict[str, tuple[int, str]]:
    from django.db import connection

    sizes = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f'SELECT count(*), pg_size_pretty(pg_total_relation_size(%s)) FROM "{table}"',
                [table],
            )
            count, size = cursor.fetchone()
            sizes[table] = (int(count), str(size))
    return sizes


# --- 1. the cost of keeping roll-ups current --------------------------------------------------

INGEST_MODES = {
    "as-is": "batch API over HTTP, as is",
    "seal": "+ checkpoint sealed every 1 s",
    "rollups": "+ refresh() (seal + catch_up) every 1 s",
}


class Ticker(threading.Thread):
    """Calls `work` every `every` seconds until stopped, on its own database connection (a
    beat-scheduled worker, in this process)."""

    def __init__(self, work: Callable[[], Any], every: float) -> None:
        super().__init__(daemon=True)
        self.work, self.every = work, every
        self.stopped = threading.Event()
        self.calls = 0
        self.busy = 0.0
        self.error: BaseException | None = None

    def run(self) -> None:
        from django.db import connection

        try:
            while not self.stopped.wait(self.every):
                started = time.perf_counter()
                self.work()
                self.busy += time.perf_counter() - started
                self.calls += 1
        except BaseException as exc:  # reported by stop()
            self.error = exc
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join()
        if self.error is not None:
            raise RuntimeError("the roll-up ticker failed") from self.error


def seal() -> None:
    from django.db import transaction

    from ledger.log import seal_checkpoint

    with transaction.atomic():
        seal_checkpoint()


@dataclass
class IngestCost:
    rates: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in INGEST_MODES})
    # For "rollups": seconds after the last batch until refresh() had counted everything.
    drains: list[float] = field(default_factory=list)
    ticks: list[float] = field(default_factory=list)  # seconds per refresh() during a run


def ingest_cost(bench: ingest.Bench, runs: int, every: float) -> IngestCost:
    """bench/ingest.py's HTTP measurement in three modes, alternating in a rotating order;
    each from an empty ledger and empty roll-ups. In "rollups", the roll-ups are then checked to
    count every decision written."""
    from ledger.public.models import DecisionCount
    from ledger.public.rollups import refresh

    post = ingest.post_http(bench)
    work: dict[str, Callable[[], Any] | None] = {"as-is": None, "seal": seal, "rollups": refresh}
    result = IngestCost()
    modes = list(INGEST_MODES)
    for round_ in range(-1, runs):  # round -1 warms up, unrecorded
        shift = max(round_, 0) % len(modes)
        for mode in [*modes[shift:], *modes[:shift]]:
            reset(bench)
            job = work[mode]
            ticker = Ticker(job, every) if job else None
            if ticker:
                ticker.start()
            started = time.perf_counter()
            post()
            elapsed = time.perf_counter() - started
            if ticker:
                ticker.stop()
            ingest.check_counts(bench, "api-http")
            if mode == "rollups":
                drain_started = time.perf_counter()
                refresh()
                drain = time.perf_counter() - drain_started
                counted = sum(DecisionCount.objects.values_list("decisions", flat=True))
                if counted != bench.decisions:
                    raise RuntimeError(f"roll-ups count {counted} of {bench.decisions} decisions")
            if round_ < 0:
                continue
            result.rates[mode].append(bench.decisions / elapsed)
            if mode == "rollups" and ticker:
                result.drains.append(drain)
                if ticker.calls:
                    result.ticks.append(ticker.busy / ticker.calls)
        if round_ >= 0:
            line = "  ".join(f"{m} {result.rates[m][-1]:,.0f}/s" for m in modes)
            print(f"ingest run {round_ + 1}/{runs}: {line}", flush=True)
    reset(bench)
    return result


# --- 2. the endpoints over roll-ups -----------------------------------------------------------


def endpoints(today: dt.date) -> dict[str, str]:
    start = today - dt.timedelta(days=29)
    return {
        "GET /stats/": "/stats/",
        "GET /api/v1/stats/summary": "/api/v1/stats/summary",
        "  ?platform=clipshare": "/api/v1/stats/summary?platform=clipshare",
        "  ?from=…&to=… (30 days)": f"/api/v1/stats/summary?from={start}&to={today}",
        "GET /api/v1/stats/models": "/api/v1/stats/models",
    }


def fetch(conn: http.client.HTTPConnection, path: str) -> tuple[int, float, int]:
    started = time.perf_counter()
    conn.request("GET", path, headers={"Accept": "application/json, text/html"})
    response = conn.getresponse()
    body = response.read()
    return response.status, time.perf_counter() - started, len(body)


@dataclass
class Latency:
    """Per endpoint: (p50, p95) in ms of each run; the status and size of its answer."""

    runs: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    size: dict[str, int] = field(default_factory=dict)

    def median(self, name: str) -> tuple[float, float]:
        p50s, p95s = zip(*self.runs[name], strict=True)
        return statistics.median(p50s), statistics.median(p95s)


def percentiles(samples: Sequence[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    ms = sorted(s * 1000 for s in samples)
    if len(ms) < 2:
        return ms[0], ms[0]
    return statistics.median(ms), statistics.quantiles(ms, n=20, method="inclusive")[18]


def measure_endpoints(
    port: int, paths: dict[str, str], requests: int, runs: int, warmup: int
) -> Latency:
    """Requests round-robin over the endpoints (so a slow phase of the machine falls on all of
    them), `requests` per endpoint and run, after 1 + `warmup` unrecorded each; one that does
    not answer 200 is reported and left out."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    latency = Latency()
    live = {}
    for name, path in paths.items():
        status, _, size = fetch(conn, path)
        latency.status[name], latency.size[name] = status, size
        if status == 200:
            print(f"{name}: {size:,} bytes", flush=True)
            live[name] = path
            latency.runs[name] = []
            for _ in range(warmup):
                fetch(conn, path)
        else:
            print(f"{name}: {path} answered {status}; not measured", flush=True)
    for run in range(runs):
        samples: dict[str, list[float]] = {name: [] for name in live}
        for _ in range(requests):
            for name, path in live.items():
                status, seconds, _ = fetch(conn, path)
                if status != 200:
                    raise RuntimeError(f"{path} answered {status} during the run")
                samples[name].append(seconds)
        for name in live:
            latency.runs[name].append(percentiles(samples[name]))
        line = "  ".join(
            f"{path.split('?')[0].rsplit('/', 2)[-2] or 'stats'}{'?' if '?' in path else ''} "
            f"{latency.runs[name][-1][1]:.1f}"
            for name, path in live.items()
        )
        print(f"endpoints run {run + 1}/{runs}, p95 ms: {line}", flush=True)
    conn.close()
    return latency


def explain_slow(paths: dict[str, str], latency: Latency, limit: int = 3) -> str:
    """For each endpoint over the target: one request in-process with an empty cache (the
    summaries are cached per roll-up generation, so the HTTP runs measure cache hits after the
    first), its time and SQL time, and its slowest statements with EXPLAIN (ANALYZE, BUFFERS)."""
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    out = []
    for name, path in paths.items():
        if name not in latency.runs or latency.median(name)[1] <= TARGET_P95_MS:
            continue
        cache.clear()
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            client.get(path)
        cold = time.perf_counter() - started
        queries = sorted(
            (q for q in captured.captured_queries if q["sql"].lstrip().startswith("SELECT")),
            key=lambda q: -float(q["time"]),
        )
        in_sql = sum(float(q["time"]) for q in queries)
        summary = (
            f"{name}: uncached, in-process: {cold * 1000:.0f} ms, "
            f"{len(queries)} queries taking {in_sql * 1000:.0f} ms"
        )
        print(summary, flush=True)
        out.append(f"=== {summary} ({path}), slowest {limit}:")
        for query in queries[:limit]:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                plan = "\n".join(row[0] for row in cursor.fetchall())
            out.append(f"--- {float(query['time']) * 1000:.1f} ms: {query['sql']}\n{plan}\n")
    return "\n".join(out)


# --- 3. catch_up and rebuild ------------------------------------------------------------------


def time_catch_up(bench: ingest.Bench) -> list[tuple[float, float, int]]:
    """Record the workload's batches one by one over HTTP on top of the ten million; after each,
    seal a checkpoint and time catch_up: (seal s, catch_up s, entries counted) per batch."""
    from ledger.public.rollups import catch_up

    conn = http.client.HTTPConnection("127.0.0.1", bench.port, timeout=300)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {bench.api_key}"}
    timings = []
    for body in bench.bodies:
        conn.request("POST", ingest.BATCH_PATH, body=body, headers=headers)
        response = conn.getresponse()
        content = response.read()
        if response.status != 201:
            raise RuntimeError(f"{response.status}: {content[:500]!r}")
        started = time.perf_counter()
        seal()
        sealed = time.perf_counter()
        counted = catch_up()
        timings.append((sealed - started, time.perf_counter() - sealed, counted))
    conn.close()
    return timings


def time_rebuild() -> tuple[float, int]:
    from ledger.public.rollups import rebuild

    started = time.perf_counter()
    counted = rebuild()
    return time.perf_counter() - started, counted


# --- 4. the baseline: scanning a decision table -----------------------------------------------


def write_decisions(
    database_url: str, bench: ingest.Bench, shape: Shape, count: int, seed: int
) -> float:
    """`count` decision rows with COPY: bench/ingest.py's prepared rows (55 realistic columns,
    explanations of 30 to 600 characters), cycled, each with its own ids, tokens, platform,
    model version and a received time spread over the year as the roll-ups' are.

    Their log entries are not written: the foreign key to the log is dropped in this database
    (reading the table does not touch it), and their log indices lie far above the log,
    so catch_up never counts them."""
    import psycopg

    templates: list[tuple[Any, ...]] = []
    columns: tuple[str, ...] = ()
    for batch in bench.writes:
        for write in batch:
            if write.table == "moderation_decision":
                columns, templates = write.columns, templates + write.rows
    at = {name: columns.index(name) for name in columns}
    rng = random.Random(seed)
    slugs = [slug for slug, _ in PLATFORMS]
    shares = [share for _, share in PLATFORMS]
    started = time.perf_counter()
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "DO $$ DECLARE c text; BEGIN FOR c IN SELECT conname FROM pg_constraint "
            "WHERE conrelid = 'moderation_decision'::regclass "
            "AND confrelid = 'ledger_logentry'::regclass LOOP "
            "EXECUTE format('ALTER TABLE moderation_decision DROP CONSTRAINT %I', c); "
            "END LOOP; END $$"
        )
        statement = f"COPY moderation_decision ({ingest._quoted(columns)}) FROM STDIN"
        with conn.cursor() as cursor, cursor.copy(statement) as copy:
            for i in range(count):
                row = list(templates[i % len(templates)])
                slug = rng.choices(slugs, shares)[0]
                # Later days a little busier, as in the roll-ups.
                age = min(shape.days - 1, int(rng.triangular(0, shape.days, 0)))
                received = dt.datetime.combine(
                    shape.today - dt.timedelta(days=age), dt.time(), tzinfo=dt.UTC
                ) + dt.timedelta(seconds=rng.randrange(86_400))
                row[at["public_id"]] = uuid.UUID(int=rng.getrandbits(128), version=4)
                row[at["puid"]] = f"scan-{i:09d}"
                row[at["notice_token"]] = secrets.token_urlsafe(16)
                if row[at["notifier_token"]]:
                    row[at["notifier_token"]] = secrets.token_urlsafe(16)
                row[at["log_index"]] = 10**12 + i
                row[at["platform_id"]] = shape.platforms[slug]
                if row[at["model_version_id"]] is not None:
                    row[at["model_version_id"]] = rng.choice(shape.versions[slug])[0]
                row[at["created_at"]] = received
                row[at["decided_at"]] = received - dt.timedelta(minutes=rng.randrange(600))
                copy.write_row(row)
        conn.commit()
    vacuum(["moderation_decision"])
    return time.perf_counter() - started


_DAY = "(created_at AT TIME ZONE 'UTC')::date"


def scan_queries(where: str) -> list[str]:
    """What a statistics page computes without roll-ups, one GROUP BY per table, over the
    decision table (appeals, audits and disputes left out: the baseline only gets cheaper)."""
    d = f"moderation_decision WHERE {where}"
    vis = "jsonb_array_elements_text(decision_visibility) AS kind"
    return [
        "SELECT count(*), count(*) FILTER (WHERE decision_visibility <> '[]'::jsonb), "
        "count(*) FILTER (WHERE automated_detection), "
        f"count(*) FILTER (WHERE automated_decision = '{_FULLY}') FROM {d}",
        f"SELECT {_DAY}, action, count(*) FROM {d} GROUP BY 1, 2",
        f"SELECT action, count(*) FROM {d} GROUP BY 1",
        f"SELECT category, count(*) FROM {d} GROUP BY 1",
        f"SELECT decision_ground, count(*) FROM {d} GROUP BY 1",
        f"SELECT source_type, count(*) FROM {d} GROUP BY 1",
        f"SELECT automated_detection, automated_decision, count(*) FROM {d} GROUP BY 1, 2",
        f"SELECT kind, count(*) FROM moderation_decision, {vis} WHERE {where} GROUP BY 1",
        f"SELECT {_DAY}, kind, count(*) FROM moderation_decision, {vis} WHERE {where} "
        "GROUP BY 1, 2",
        "SELECT t, count(*) FROM moderation_decision, "
        f"jsonb_array_elements_text(territorial_scope) AS t WHERE {where} GROUP BY 1",
        MODELS_SCAN.format(where=where),
    ]


# stats.py's live query before the roll-ups: decisions per model version, changes left out.
MODELS_SCAN = (
    "SELECT model_version_id, count(*) FROM moderation_decision WHERE {where} "
    "AND model_version_id IS NOT NULL AND action NOT IN ('REVERSAL', 'EXPIRY') GROUP BY 1"
)


def scan_sets(shape: Shape, today: dt.date) -> dict[str, list[str]]:
    start = today - dt.timedelta(days=29)
    period = (
        f"created_at >= '{start}T00:00:00+00:00' "
        f"AND created_at < '{today + dt.timedelta(days=1)}T00:00:00+00:00'"
    )
    summary = scan_queries("true")
    return {
        "GET /stats/": summary,
        "GET /api/v1/stats/summary": summary,
        "  ?platform=clipshare": scan_queries(f"platform_id = {shape.platforms['clipshare']}"),
        "  ?from=…&to=… (30 days)": scan_queries(period),
        "GET /api/v1/stats/models": [MODELS_SCAN.format(where="true")],
    }


def measure_scans(
    database_url: str, sets: dict[str, list[str]], requests: int, runs: int
) -> Latency:
    """Each set's statements run one after another on a psycopg connection (no HTTP, no
    rendering: the baseline is flattered), `requests` times per run, sets round-robin. The
    page and the unfiltered summary run the same statements, so they are timed once."""
    import psycopg

    latency = Latency()
    unique: dict[tuple[str, ...], list[str]] = {}
    for name, listed in sets.items():
        unique.setdefault(tuple(listed), []).append(name)
    with psycopg.connect(database_url, autocommit=True) as conn:
        for warm in unique:  # warm-up: the table's pages into the cache
            for statement in warm:
                conn.execute(statement).fetchall()
        for run in range(runs):
            samples: dict[tuple[str, ...], list[float]] = {s: [] for s in unique}
            for _ in range(requests):
                for statements in unique:
                    started = time.perf_counter()
                    for statement in statements:
                        conn.execute(statement).fetchall()
                    samples[statements].append(time.perf_counter() - started)
            for statements, names in unique.items():
                for name in names:
                    latency.runs.setdefault(name, []).append(percentiles(samples[statements]))
            line = "  ".join(
                f"{names[0].strip()[:24]} {statistics.median(samples[s]) * 1000:.0f}"
                for s, names in unique.items()
            )
            print(f"scan run {run + 1}/{runs}, p50 ms: {line}", flush=True)
    return latency


# --- reporting --------------------------------------------------------------------------------


def report_latency(
    rollups: Latency, scans: Latency, paths: dict[str, str], decisions: int, scanned: int
) -> None:
    print()
    print(
        f"p50/p95 ms, medians over runs: roll-ups of {decisions:,} decisions over HTTP; "
        f"scan of {scanned:,} decision rows in SQL"
    )
    header = (
        f"{'endpoint':<28} {'p50':>7} {'p95':>7} {'p95<=50?':>9} "
        f"{'scan p50':>9} {'scan p95':>9} {'ratio p50':>10} {'ratio p95':>10}"
    )
    print(header)
    print("-" * len(header))
    for name in paths:
        scan = scans.median(name) if name in scans.runs else None
        if name not in rollups.runs:
            status = rollups.status.get(name)
            cells = f"{'-':>7} {'-':>7} {f'({status})':>9}"
            ratio = f"{'-':>10} {'-':>10}"
        else:
            p50, p95 = rollups.median(name)
            met = "yes" if p95 <= TARGET_P95_MS else "NO"
            cells = f"{p50:>7.1f} {p95:>7.1f} {met:>9}"
            ratio = (
                f"{scan[0] / p50:>9.1f}x {scan[1] / p95:>9.1f}x" if scan else f"{'-':>10} {'-':>10}"
            )
        scanned_cells = f"{scan[0]:>9.0f} {scan[1]:>9.0f}" if scan else f"{'-':>9} {'-':>9}"
        print(f"{name:<28} {cells} {scanned_cells} {ratio}")
    print("ratio: scan time over roll-up time (how many times faster the roll-ups answer)")


def report_ingest(cost: IngestCost, decisions: int, runs: int, every: float) -> None:
    base = cost.rates["as-is"]
    print()
    print(f"cost of keeping roll-ups current: {decisions:,} decisions, {runs} runs, decisions/s")
    header = f"{'mode':<44} {'median':>8} {'min':>8} {'max':>8} {'vs as is':>9} {'paired':>7}"
    print(header)
    print("-" * len(header))
    for mode, label in INGEST_MODES.items():
        values = cost.rates[mode]
        paired = statistics.median(v / b for v, b in zip(values, base, strict=True))
        print(
            f"{label:<44} {statistics.median(values):>8,.0f} {min(values):>8,.0f} "
            f"{max(values):>8,.0f} {statistics.median(values) / statistics.median(base):>9.1%} "
            f"{paired:>7.1%}"
        )
    if cost.ticks:
        print(
            f"refresh() every {every:g} s took {statistics.median(cost.ticks) * 1000:.0f} ms "
            f"(median over runs of each run's mean); after the last batch, everything was "
            f"counted in {statistics.median(cost.drains) * 1000:.0f} ms (median)"
        )


def report_catch_up(
    timings: list[tuple[float, float, int]], rebuilds: list[tuple[float, int]]
) -> None:
    seals = [s for s, _, _ in timings]
    counts = [c for _, c, _ in timings]
    entries = [n for _, _, n in timings]
    print()
    print(
        f"catch_up after each of {len(timings)} batches of ~{statistics.median(entries):,.0f} "
        "log entries, on top of the ten million:"
    )
    print(
        f"  catch_up: median {statistics.median(counts) * 1000:.0f} ms, "
        f"min {min(counts) * 1000:.0f}, max {max(counts) * 1000:.0f}; "
        f"{statistics.median(c / n for c, n in zip(counts, entries, strict=True)) * 1e6:.0f} µs "
        f"per entry; seal_checkpoint: median {statistics.median(seals) * 1000:.0f} ms"
    )
    for label, (seconds, counted) in zip(("first", "second"), rebuilds, strict=False):
        print(
            f"  rebuild ({label}): {seconds:.1f} s for {counted:,} log entries "
            f"= {seconds / max(counted, 1) * 1e6:.0f} s per million"
        )


# --- entry point ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=10_000_000, help="counted by roll-ups")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--scan-decisions", type=int, default=1_000_000, help="baseline rows")
    parser.add_argument("--requests", type=int, default=200, help="per endpoint and run")
    parser.add_argument("--warmup", type=int, default=9, help="unrecorded requests each")
    parser.add_argument("--scan-requests", type=int, default=5, help="per query set and run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ingest-decisions", type=int, default=20_000)
    parser.add_argument("--ingest-runs", type=int, default=3)
    parser.add_argument("--every", type=float, default=1.0, help="seconds between refreshes")
    parser.add_argument("--skip-ingest", action="store_true", help="leave out the ingest cost")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_PUBLIC_DATABASE_URL", DEFAULT_DATABASE_URL),
        help=f"dropped and created at the start, dropped at the end ({DEFAULT_DATABASE_URL})",
    )
    args = parser.parse_args(argv)
    if min(args.runs, args.requests, args.scan_requests, args.ingest_runs) < 1:
        parser.error("--runs, --requests, --scan-requests and --ingest-runs must be at least 1")
    if args.ingest_decisions < 1_000 or args.ingest_decisions % 1_000:
        parser.error("--ingest-decisions must be a multiple of 1,000 (batches of 1,000)")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    # A TERM stops the benchmark like Ctrl-C: through the `finally` that drops the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # kill -USR1: where is it stuck?
    ingest.configure_environment(args.database_url)
    recreate_database(args.database_url)
    servers: list[Any] = []
    try:
        ingest.setup_django()
        run(args, servers)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        drop_database(args.database_url)


def run(args: argparse.Namespace, servers: list[Any]) -> None:
    """Everything between creating and dropping the database; the HTTP server it starts goes
    into `servers`, for the caller to stop."""
    from django.utils import timezone

    from ledger.public.rollups import ROLLUP_MODELS

    today = timezone.now().date()
    platform, api_key = ingest.create_platform()
    reference_ids = ingest.reset(platform)
    print(f"preparing {args.ingest_decisions:,} decisions (bench/ingest.py's workload) ...")
    bodies = ingest.encode_batches(
        ingest.Workload(args.seed).payloads(args.ingest_decisions), 1_000
    )
    writes = ingest.capture_writes(platform, bodies)
    bench = ingest.Bench(args.database_url, platform, api_key, bodies, writes, reference_ids)
    bench.reset()
    bench.expected = ingest.expected_counts(bench)
    server, bench.port = ingest.start_server(args.database_url)
    servers.append(server)

    cost = None
    if not args.skip_ingest:
        print(f"\n1. ingest with and without roll-ups kept current ({args.ingest_runs} runs)")
        cost = ingest_cost(bench, args.ingest_runs, args.every)
        report_ingest(cost, bench.decisions, args.ingest_runs, args.every)

    print(f"\n2. roll-ups for {args.decisions:,} decisions over {args.days} days ...", flush=True)
    reset(bench)
    shape = register_shape(today, args.days)
    generated = generate_rollups(args.database_url, shape, args.decisions, args.seed)
    rollup_tables = [m._meta.db_table for m in ROLLUP_MODELS]
    started = time.perf_counter()
    vacuum(rollup_tables)
    size = seal_and_mark()
    print(
        f"written in {generated.seconds:.0f} s (+ {time.perf_counter() - started:.0f} s VACUUM "
        f"ANALYZE): {generated.decisions:,} decisions, {generated.appeals_filed:,} appeals "
        f"filed, {generated.appeals_decided:,} decided, {generated.audit_reviewed:,} audit "
        f"labels, {generated.disputes:,} disputes referred; checkpoint of size {size} signed"
    )
    for table, (count, pretty) in table_sizes(rollup_tables).items():
        print(f"  {table}: {count:,} rows, {pretty}")

    paths = endpoints(today)
    print(f"\n3. endpoints over HTTP, {args.requests} requests each per run, {args.runs} runs")
    latency = measure_endpoints(bench.port, paths, args.requests, args.runs, args.warmup)
    report_latency(latency, Latency(), paths, generated.decisions, 0)
    plans = explain_slow(paths, latency)
    if plans:
        EXPLAIN_PATH.write_text(plans)
        print(f"EXPLAIN (ANALYZE, BUFFERS) of the endpoints over the target: {EXPLAIN_PATH}")

    print("\n4. catch_up per batch of 1,000 on top of the roll-ups", flush=True)
    timings = time_catch_up(bench)
    report_catch_up(timings, [])

    print(f"\n5. baseline: {args.scan_decisions:,} decision rows by COPY ...", flush=True)
    seconds = write_decisions(args.database_url, bench, shape, args.scan_decisions, args.seed)
    rows, pretty = table_sizes(["moderation_decision"])["moderation_decision"]
    print(f"written in {seconds:.0f} s (with VACUUM ANALYZE): {rows:,} rows, {pretty}")
    scans = measure_scans(args.database_url, scan_sets(shape, today), args.scan_requests, args.runs)

    print("\n6. rebuild (twice: the first also deletes the generated roll-ups)", flush=True)
    rebuilds = [time_rebuild(), time_rebuild()]

    print(f"\n=== results ({os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}) ===")
    if cost is not None:
        report_ingest(cost, bench.decisions, args.ingest_runs, args.every)
    report_latency(latency, scans, paths, generated.decisions, rows)
    report_catch_up(timings, rebuilds)


if __name__ == "__main__":
    main()
