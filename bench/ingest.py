"""Ingestion benchmark: decisions per second through the batch API on PostgreSQL.

    .venv/bin/python bench/ingest.py

Every method writes the same DSA-shaped decisions, in the same batches, into the same freshly
reset ledger, and is reported as a ratio to a raw `COPY` of the rows the service would have
written (decisions and their log entries), measured in the same run (DESIGN.md, "Speed we aim
for"). Machines are shared and noisy, so each method runs several times, interleaved, and the
medians are compared. See bench/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import http.client
import io
import json
import os
import pstats
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ledger_bench"
BATCH_PATH = "/api/v1/decisions/batch"
PLATFORM_SLUG = "bench"
DEFAULT_PROFILE = str(Path(tempfile.gettempdir()) / "bench-ingest-profile.txt")

# Names of the methods, in the order the table prints them. `copy` is the baseline.
COPY = "copy"
BARE = "copy-bare"
METHODS = {
    COPY: "raw COPY of prepared rows",
    "api-http": "batch API over HTTP",
    "api-inproc": "batch API in-process",
    "orm": "ORM bulk_create",
    BARE: "raw COPY, no indexes/FKs",
}
# `copy-bare` writes into copies of the tables' columns without their indexes and constraints:
# how fast COPY is before the schema's own costs, to compare with DESIGN.md's figure.
BARE_PREFIX = "bench_bare_"


# --- setup ----------------------------------------------------------------------------------


def configure_environment(database_url: str) -> None:
    """Settings as in production: DEBUG off (DEBUG keeps every SQL query in memory)."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "ledger.settings"
    os.environ["DATABASE_URL"] = database_url
    os.environ["DEBUG"] = "0"
    os.environ["LOG_LEVEL"] = "WARNING"
    # The server is reached over plain HTTP on the loopback, as behind a TLS-terminating proxy:
    # production's redirect to HTTPS would answer every request with a 301.
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    # Production refuses the development secrets. These only have to be valid and the same in
    # the HTTP server, which inherits this environment.
    for name in ("SECRET_KEY", "LEDGER_PSEUDONYM_SECRET"):
        if len(os.environ.get(name, "")) < 32 or "dev-only" in os.environ[name]:
            os.environ[name] = secrets.token_urlsafe(48)
    if not os.environ.get("LEDGER_LOG_SIGNING_KEY"):
        from ledger import note

        os.environ["LEDGER_LOG_SIGNING_KEY"] = note.generate_skey("bench.invalid/ledger")[0]


def recreate_database(database_url: str) -> None:
    """Drop and create the benchmark's database, so that it always has the current schema
    (migrations are still rewritten in place before the first release)."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict

    name = str(conninfo_to_dict(database_url).get("dbname") or "")
    if not name:
        raise SystemExit(f"--database-url names no database: {database_url}")
    with psycopg.connect(database_url, dbname="postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            refuse_foreign_data(database_url)
            conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def refuse_foreign_data(database_url: str) -> None:
    """The benchmark drops its database: refuse one that holds any platform but its own."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        if not conn.execute("SELECT to_regclass('moderation_platform')").fetchone()[0]:
            return
        others = conn.execute(
            "SELECT count(*) FROM moderation_platform WHERE slug <> %s", (PLATFORM_SLUG,)
        ).fetchone()[0]
    if others:
        raise SystemExit(
            f"{database_url} holds {others} other platform(s); the benchmark drops its "
            "database, so give it one of its own with --database-url"
        )


def setup_django() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


MODELS = (
    ("hate-speech", "v1", 0.8),
    ("hate-speech", "v2", 0.75),
    ("spam-detector", "2026.10", 0.9),
    ("nudity", "v3", 0.85),
)
POLICIES = (
    ("hateful-conduct", 1, "Hateful conduct", "ILLEGAL_OR_HARMFUL_SPEECH", "INCOMPATIBLE"),
    ("hateful-conduct", 2, "Hateful conduct (2026)", "ILLEGAL_OR_HARMFUL_SPEECH", "ILLEGAL"),
    ("spam", 1, "Spam and platform manipulation", "SCAMS_AND_FRAUD", "INCOMPATIBLE"),
    ("adult-content", 1, "Adult nudity", "PROTECTION_OF_MINORS", "INCOMPATIBLE"),
    ("counterfeits", 1, "Counterfeit goods", "UNSAFE_AND_PROHIBITED_PRODUCTS", "ILLEGAL"),
)


def create_platform() -> tuple[Any, str]:
    from moderation import services

    platform = services.create_platform(slug=PLATFORM_SLUG, name="Benchmark platform")
    _, plaintext = services.issue_api_key(platform=platform, name="bench/ingest.py")
    return platform, plaintext


def register_references(platform: Any) -> list[tuple[str, int]]:
    """Register the models and policies the workload names; returns their names and ids."""
    from moderation import services

    ids = []
    for name, version, threshold in MODELS:
        model_version, _ = services.register_model_version(
            platform=platform,
            name=name,
            version=version,
            released_at=dt.date(2026, 1, 15),
            threshold=threshold,
            card_url=f"https://models.example.org/{name}/{version}",
        )
        ids.append((f"model {name} {version}", model_version.pk))
    for key, version, title, category, ground in POLICIES:
        policy, _ = services.register_policy(
            platform=platform,
            key=key,
            version=version,
            title=title,
            category=f"STATEMENT_CATEGORY_{category}",
            ground=f"DECISION_GROUND_{ground}_CONTENT",
            clause=f"Community guidelines: {title}",
            url=f"https://bench.example.org/rules/{key}/v{version}",
        )
        ids.append((f"policy {key} v{version}", policy.pk))
    return ids


def log_tables() -> list[str]:
    from ledger import models as ledger_models

    return [
        m._meta.db_table
        for m in (
            ledger_models.LogEntry,
            ledger_models.LogNode,
            ledger_models.LogHead,
            ledger_models.Checkpoint,
        )
    ]


def reset(
    platform: Any, expected_ids: list[tuple[str, int]] | None = None
) -> list[tuple[str, int]]:
    """Empty the ledger and the decisions, then register the models and policies again, so
    every measurement starts from the same state: the same ids and the same log size.

    The guards that refuse TRUNCATE are dropped for it and installed again after it
    (ledger.db.drop_emptying_guards); UPDATE and DELETE stay refused throughout. CASCADE takes
    every table that points at the log (decisions, policies, model versions, outbox rows);
    RESTART IDENTITY makes the re-registered rows get their ids again, which the prepared rows
    name. The CHECKPOINT keeps one measurement's dirty pages from being flushed in the next.
    """
    from django.db import connection

    from ledger.db import drop_emptying_guards, install_append_only_triggers

    tables = [*log_tables(), "moderation_decision"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename LIKE %s",
            [BARE_PREFIX + "%"],
        )
        tables += [row[0] for row in cursor.fetchall()]
        drop_emptying_guards()
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        install_append_only_triggers()
    ids = register_references(platform)
    if expected_ids is not None and ids != expected_ids:
        raise RuntimeError(f"after a reset the references have other ids: {ids}")
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    return ids


def drop_bare_tables() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename LIKE %s",
            [BARE_PREFIX + "%"],
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f'DROP TABLE "{table}"')


def row_count(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        return int(cursor.fetchone()[0])


# --- workload -------------------------------------------------------------------------------

_SENTENCES = (
    "The post repeats a slur against a protected group.",
    "The classifier scored the text above the model's threshold.",
    "Three users reported the content within an hour of publication.",
    "The image matches a hash of previously removed material.",
    "The account posted the same link in forty threads in ten minutes.",
    "A court order named the content and required its removal.",
    "The listing offers goods that imitate a registered trademark.",
    "The video shows a dangerous challenge likely to be copied by minors.",
    "The comment targets a named person with threats of violence.",
    "The reviewer confirmed the automated flag after watching the full video.",
    "The content was shown to non-followers before the restriction.",
    "The seller did not provide the trader information the law requires.",
)
_SILENT = (
    "DECISION_VISIBILITY_SEARCH_EXCLUDED",
    "DECISION_VISIBILITY_RECOMMENDATIONS_EXCLUDED",
    "DECISION_VISIBILITY_CONTENT_DEMOTED",
    "DECISION_VISIBILITY_HIDDEN_FROM_NON_FOLLOWERS",
    "DECISION_VISIBILITY_CONTENT_LABELLED",
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
)
_LANGUAGES = ("EN", "DE", "FR", "ES", "IT", "PL", "NL", "PT", "SV", "RO", "EL", "CS")
_KEYWORDS = (
    "KEYWORD_HATE_SPEECH",
    "KEYWORD_INCITEMENT_VIOLENCE_HATRED",
    "KEYWORD_DISCRIMINATION",
    "KEYWORD_DEFAMATION",
    "KEYWORD_CYBER_HARASSMENT",
    "KEYWORD_MISINFORMATION_DISINFORMATION",
    "KEYWORD_INAUTHENTIC_ACCOUNTS",
    "KEYWORD_NUDITY",
    "KEYWORD_PHISHING",
)
_LAWS = (
    "Section 130 StGB (incitement to hatred)",
    "Article R625-7 Code pénal",
    "Regulation (EU) 2017/1001, Article 9 (trade marks)",
    "Directive 2011/93/EU, Article 5",
)


class Workload:
    """Realistic, varied, valid decisions: the shapes and proportions a platform sends."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.today = dt.date.today()
        from moderation.vocabulary import Country

        self.countries = sorted(c.value for c in Country)

    def payloads(self, count: int) -> list[dict[str, Any]]:
        kinds: list[tuple[Callable[[int], dict[str, Any]], int]] = [
            (self.shadowban, 40),
            (self.removal, 20),
            (self.suspension, 10),
            (self.termination, 4),
            (self.monetary, 5),
            (self.service, 6),
            (self.flag, 10),
            (self.no_action, 5),
        ]
        makers = [k for k, _ in kinds]
        weights = [w for _, w in kinds]
        return [self.rng.choices(makers, weights)[0](n) for n in range(count)]

    def text(self, low: int, high: int) -> str:
        size = self.rng.randint(low, high)
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < size:
            words.append(self.rng.choice(_SENTENCES))
        return " ".join(words)[:size].rstrip() or _SENTENCES[0]

    def common(self, n: int, *, account_only: bool = False) -> dict[str, Any]:
        rng = self.rng
        applied = self.today - dt.timedelta(days=rng.randint(3, 330))
        decided = dt.datetime.combine(applied, dt.time(rng.randrange(24), rng.randrange(60)))
        subject = {"account": f"acct-{rng.randrange(2_000_000)}"}
        if not account_only:
            subject["content"] = f"{rng.choice(('post', 'video', 'img'))}-{n}-{rng.getrandbits(40)}"
        body: dict[str, Any] = {
            "puid": f"bench-{n:08d}",
            "subject": subject,
            "content_language": rng.choice(_LANGUAGES),
            "territorial_scope": sorted(rng.sample(self.countries, rng.choice((1, 2, 5, 30)))),
            "content_date": str(applied - dt.timedelta(days=rng.randint(0, 60))),
            "application_date": str(applied),
            "decided_at": decided.isoformat() + "Z",
            "decision_facts": self.text(40, 400),
        }
        if rng.random() < 0.5:
            body["notified_at"] = (decided + dt.timedelta(minutes=rng.randint(1, 90))).isoformat()
            body["notified_at"] += "+00:00"
        return body

    def automated(self) -> dict[str, Any]:
        name, version, threshold = self.rng.choice(MODELS)
        score = round(self.rng.uniform(threshold, 1.0), 4)
        return {"model": name, "model_version": version, "score": score}

    def incompatible(self) -> dict[str, Any]:
        return {
            "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
            "incompatible_content_ground": "Community guidelines, section "
            f"{self.rng.randint(1, 9)}.{self.rng.randint(1, 9)}",
            "incompatible_content_explanation": self.text(30, 600),
            "incompatible_content_illegal": self.rng.choice(("Yes", "No", None)),
            "illegal_content_legal_ground": None,
            "illegal_content_explanation": None,
        }

    def illegal(self) -> dict[str, Any]:
        return {
            "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
            "illegal_content_legal_ground": self.rng.choice(_LAWS),
            "illegal_content_explanation": self.text(30, 600),
            "incompatible_content_ground": None,
            "incompatible_content_explanation": None,
        }

    def policy(self) -> dict[str, Any]:
        key, version, *_ = self.rng.choice(POLICIES)
        if self.rng.random() < 0.5:
            return {"policy": key}
        return {"policy": key, "policy_version": version}

    def end_date(self, body: dict[str, Any]) -> str:
        applied = dt.date.fromisoformat(body["application_date"])
        return str(applied + dt.timedelta(days=self.rng.choice((1, 7, 30, 90, 365))))

    def shadowban(self, n: int) -> dict[str, Any]:
        """An automated, silent visibility restriction: what creators call a shadowban."""
        from tests.factories import decision_payload

        body = decision_payload(**self.common(n), **self.automated(), **self.incompatible())
        body["decision_visibility"] = sorted(self.rng.sample(_SILENT, self.rng.choice((1, 1, 2))))
        body["category_specification"] = self.rng.sample(_KEYWORDS, self.rng.randint(0, 3))
        body["content_type"] = [self.rng.choice(("CONTENT_TYPE_TEXT", "CONTENT_TYPE_VIDEO"))]
        if self.rng.random() < 0.4:
            body.update(self.policy())
        if self.rng.random() < 0.3:
            body["end_date_visibility_restriction"] = self.end_date(body)
        return body

    def removal(self, n: int) -> dict[str, Any]:
        """A human removal of illegal content after a notice, sometimes under a named policy."""
        from tests.factories import human_payload

        body = human_payload(**self.common(n), **self.illegal())
        source = self.rng.choice(
            (
                "SOURCE_ARTICLE_16",
                "SOURCE_TRUSTED_FLAGGER",
                "SOURCE_LEGAL_ORDER",
                "SOURCE_VOLUNTARY",
            )
        )
        body["source_type"] = source
        body["source_identity"] = f"notice-{self.rng.getrandbits(32)}"
        body["moderator"] = f"mod-{self.rng.randrange(300)}"
        body["decision_visibility"] = [
            self.rng.choice(
                ("DECISION_VISIBILITY_CONTENT_REMOVED", "DECISION_VISIBILITY_CONTENT_DISABLED")
            )
        ]
        body["category"] = self.rng.choice(
            (
                "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
                "STATEMENT_CATEGORY_VIOLENCE",
                "STATEMENT_CATEGORY_CYBER_VIOLENCE",
                "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
            )
        )
        body["category_addition"] = ["STATEMENT_CATEGORY_CYBER_VIOLENCE"]
        body["content_type"] = self.rng.sample(
            ("CONTENT_TYPE_IMAGE", "CONTENT_TYPE_VIDEO", "CONTENT_TYPE_TEXT", "CONTENT_TYPE_AUDIO"),
            self.rng.randint(1, 2),
        )
        if self.rng.random() < 0.5:
            body.update(self.policy())
        if self.rng.random() < 0.3:
            body["internal_notes"] = self.text(20, 300)
        return body

    def suspension(self, n: int) -> dict[str, Any]:
        from tests.factories import decision_payload

        body = decision_payload(
            **self.common(n, account_only=True), **self.automated(), **self.incompatible()
        )
        del body["decision_visibility"]
        body["decision_account"] = "DECISION_ACCOUNT_SUSPENDED"
        body["end_date_account_restriction"] = self.end_date(body)
        body["account_type"] = self.rng.choice(("ACCOUNT_TYPE_PRIVATE", "ACCOUNT_TYPE_BUSINESS"))
        body["automated_decision"] = "AUTOMATED_DECISION_PARTIALLY"
        body["category"] = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
        body["category_specification"] = ["KEYWORD_INAUTHENTIC_ACCOUNTS"]
        return body

    def termination(self, n: int) -> dict[str, Any]:
        from tests.factories import human_payload

        body = human_payload(**self.common(n, account_only=True), **self.illegal())
        del body["decision_visibility"]
        body["decision_account"] = "DECISION_ACCOUNT_TERMINATED"
        body["account_type"] = "ACCOUNT_TYPE_PRIVATE"
        body["source_type"] = "SOURCE_LEGAL_ORDER"
        body["source_identity"] = f"order-{self.rng.getrandbits(24)}"
        body["internal_notes"] = self.text(20, 300)
        return body

    def monetary(self, n: int) -> dict[str, Any]:
        from tests.factories import decision_payload

        body = decision_payload(**self.common(n), **self.automated(), **self.incompatible())
        body["decision_monetary"] = self.rng.choice(
            (
                "DECISION_MONETARY_SUSPENSION",
                "DECISION_MONETARY_TERMINATION",
                "DECISION_MONETARY_OTHER",
            )
        )
        if body["decision_monetary"] == "DECISION_MONETARY_OTHER":
            body["decision_monetary_other"] = "Ads removed from the video"
        body["end_date_monetary_restriction"] = self.end_date(body)
        body["content_type"] = ["CONTENT_TYPE_VIDEO"]
        body["category"] = "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS"
        body["category_specification"] = ["KEYWORD_MISINFORMATION_DISINFORMATION"]
        return body

    def service(self, n: int) -> dict[str, Any]:
        """A marketplace listing suspended: a product with its EAN-13."""
        from tests.factories import human_payload

        body = human_payload(**self.common(n), **self.illegal(), **self.policy())
        del body["decision_visibility"]
        body["decision_provision"] = self.rng.choice(
            ("DECISION_PROVISION_PARTIAL_SUSPENSION", "DECISION_PROVISION_TOTAL_SUSPENSION")
        )
        body["end_date_service_restriction"] = self.end_date(body)
        body["account_type"] = "ACCOUNT_TYPE_BUSINESS"
        body["content_type"] = ["CONTENT_TYPE_PRODUCT"]
        body["content_id"] = {"EAN-13": f"{self.rng.randrange(10**13):013d}"}
        body["category"] = "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS"
        body["category_specification"] = ["KEYWORD_UNSAFE_PRODUCTS"]
        return body

    def flag(self, n: int) -> dict[str, Any]:
        """A classifier's flag sent for review: no restriction yet."""
        from tests.factories import decision_payload

        body = decision_payload(**self.common(n), **self.automated(), **self.incompatible())
        del body["decision_visibility"]
        body["decision_type"] = "DECISION_TYPE_FLAG"
        body["automated_decision"] = "AUTOMATED_DECISION_NOT_AUTOMATED"
        return body

    def no_action(self, n: int) -> dict[str, Any]:
        """A user notice that a moderator rejected."""
        from tests.factories import human_payload

        body = human_payload(**self.common(n), **self.incompatible())
        del body["decision_visibility"]
        body["decision_type"] = "DECISION_TYPE_NO_ACTION"
        body["source_type"] = "SOURCE_ARTICLE_16"
        body["moderator"] = f"mod-{self.rng.randrange(300)}"
        return body


def encode_batches(payloads: Sequence[dict[str, Any]], size: int) -> list[bytes]:
    return [
        json.dumps({"decisions": payloads[i : i + size]}).encode()
        for i in range(0, len(payloads), size)
    ]


@dataclass(frozen=True)
class Write:
    """One `insert_rows` call of the service: the rows it COPYs into one table."""

    model: Any
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    @property
    def table(self) -> str:
        return str(self.model._meta.db_table)


def capture_writes(platform: Any, bodies: Sequence[bytes]) -> list[list[Write]]:
    """Every row `record_decisions` inserts for each body (decisions, log entries, Merkle
    nodes, outbox rows, whatever it writes), captured instead of written, in one transaction
    that is rolled back (the log head it updates included).

    This also proves the workload valid: an invalid decision raises here, before any timing.
    """
    from django.conf import settings
    from django.db import transaction

    from ledger import db
    from moderation import services
    from moderation.schemas import decode_batch

    real = db.insert_rows
    # Every module that imported `insert_rows` by name calls it through its own attribute.
    users = [m for m in list(sys.modules.values()) if _attribute(m, "insert_rows") is real]
    batches: list[list[Write]] = []

    def capture(model: Any, columns: Sequence[str], rows: Any, **_: Any) -> None:
        batches[-1].append(Write(model, tuple(columns), [tuple(row) for row in rows]))

    for module in users:
        module.insert_rows = capture  # type: ignore[attr-defined]
    try:
        with transaction.atomic():
            for index, body in enumerate(bodies):
                batches.append([])
                items = decode_batch(body, max_items=settings.LEDGER_MAX_BATCH)
                try:
                    services.record_decisions(platform=platform, decisions=items)
                except services.DecisionsRejected as exc:
                    raise SystemExit(f"batch {index} is invalid: {exc.errors}") from exc
            transaction.set_rollback(True)
    finally:
        for module in users:
            module.insert_rows = real  # type: ignore[attr-defined]
    return batches


def _attribute(module: ModuleType, name: str) -> Any:
    try:
        return module.__dict__.get(name)
    except AttributeError:  # a stand-in module without a namespace
        return None


# --- the methods measured ---------------------------------------------------------------------


@dataclass
class Bench:
    database_url: str
    platform: Any
    api_key: str
    bodies: list[bytes]
    writes: list[list[Write]]
    reference_ids: list[tuple[str, int]]
    port: int = 0
    # Row counts each table must have after a method ran, and after a reset.
    expected: dict[str, int] = field(default_factory=dict)

    @property
    def decisions(self) -> int:
        return sum(
            len(w.rows) for batch in self.writes for w in batch if w.table == "moderation_decision"
        )

    def reset(self) -> None:
        reset(self.platform, self.reference_ids)


def copy_rows(bench: Bench, prefix: str = "") -> Callable[[], None]:
    """The baseline: psycopg 3 `COPY ... FROM STDIN` of the prepared rows, table by table in
    the service's order, one commit a batch, as `ledger.db.insert_rows` does."""
    import psycopg

    conn = psycopg.connect(bench.database_url)
    statements = {
        (w.table, w.columns): f'COPY "{prefix}{w.table}" ({_quoted(w.columns)}) FROM STDIN'
        for batch in bench.writes
        for w in batch
    }

    def run() -> None:
        for batch in bench.writes:
            for write in batch:
                statement = statements[(write.table, write.columns)]
                with conn.cursor() as cursor, cursor.copy(statement) as copy:
                    for row in write.rows:
                        copy.write_row(row)
            conn.commit()

    return run


def _quoted(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def copy_bare(bench: Bench) -> Callable[[], None]:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in {w.table for batch in bench.writes for w in batch}:
            cursor.execute(
                f'CREATE TABLE IF NOT EXISTS "{BARE_PREFIX}{table}" '
                f'(LIKE "{table}" INCLUDING DEFAULTS INCLUDING IDENTITY)'
            )
    return copy_rows(bench, BARE_PREFIX)


def post_in_process(bench: Bench) -> Callable[[], None]:
    """Django's full request handling (middleware, DRF, auth) without a socket."""
    from django.test import Client

    client = Client(raise_request_exception=True)
    authorization = f"Bearer {bench.api_key}"

    def run() -> None:
        for body in bench.bodies:
            response = client.post(
                BATCH_PATH,
                data=body,
                content_type="application/json",
                HTTP_AUTHORIZATION=authorization,
            )
            if response.status_code != 201:
                raise RuntimeError(f"{response.status_code}: {response.content[:500]!r}")

    return run


def post_http(bench: Bench) -> Callable[[], None]:
    """A platform's client: one keep-alive connection to a real WSGI server in its own process."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {bench.api_key}"}

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", bench.port, timeout=300)
        try:
            for body in bench.bodies:
                conn.request("POST", BATCH_PATH, body=body, headers=headers)
                response = conn.getresponse()
                content = response.read()
                if response.status != 201:
                    raise RuntimeError(f"{response.status}: {content[:500]!r}")
        finally:
            conn.close()

    return run


def bulk_create(bench: Bench) -> Callable[[], None]:
    """The ORM way for the same rows: model instances, `bulk_create`, one transaction a batch."""
    from django.db import transaction

    prepared: list[list[tuple[Any, list[dict[str, Any]]]]] = []
    for batch in bench.writes:
        prepared.append([])
        for write in batch:
            fields = {f.column: f for f in write.model._meta.concrete_fields}
            names = [fields[c].attname for c in write.columns]
            json_at = {
                i
                for i, c in enumerate(write.columns)
                if fields[c].get_internal_type() == "JSONField"
            }
            values = [
                {
                    n: json.loads(v) if i in json_at else v
                    for i, (n, v) in enumerate(zip(names, row, strict=True))
                }
                for row in write.rows
            ]
            prepared[-1].append((write.model, values))

    def run() -> None:
        for batch in prepared:
            with transaction.atomic():
                for model, values in batch:
                    model.objects.bulk_create([model(**v) for v in values])

    return run


MAKERS: dict[str, Callable[[Bench], Callable[[], None]]] = {
    COPY: copy_rows,
    "api-http": post_http,
    "api-inproc": post_in_process,
    "orm": bulk_create,
    BARE: copy_bare,
}


# --- the HTTP server --------------------------------------------------------------------------


def serve() -> None:
    """Run Django's threaded WSGI server (what `runserver` runs, without the autoreloader).

    Prints the port it bound to on stdout. A single keep-alive client connection is served by
    one thread, so the database connection persists between requests as in a worker process.
    """
    import logging

    from django.core.servers.basehttp import run
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    # After setup, which configures logging: one access-log line per request is not measured.
    logging.getLogger("django.server").setLevel(logging.WARNING)

    def on_bind(port: int) -> None:
        print(port, flush=True)

    run("127.0.0.1", 0, application, threading=True, on_bind=on_bind)


def start_server(database_url: str) -> tuple[subprocess.Popen[str], int]:
    command = [sys.executable, __file__, "--serve", "--database-url", database_url]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)  # noqa: S603
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.isdigit():
        process.kill()
        raise SystemExit(f"the HTTP server did not start (printed {line!r})")
    return process, int(line)


# --- measuring and reporting ------------------------------------------------------------------


def expected_counts(bench: Bench) -> dict[str, int]:
    """Rows each table holds after a reset plus every row the workload writes."""
    tables = {w.table for batch in bench.writes for w in batch}
    counts = {table: row_count(table) for table in tables}
    for batch in bench.writes:
        for write in batch:
            counts[write.table] += len(write.rows)
    return counts


def check_counts(bench: Bench, name: str) -> None:
    prefix = BARE_PREFIX if name == BARE else ""
    for table, expected in bench.expected.items():
        if name == BARE:  # the bare tables start empty: no registrations in them
            expected = sum(len(w.rows) for b in bench.writes for w in b if w.table == table)
        count = row_count(prefix + table)
        if count != expected:
            raise RuntimeError(f"{name} left {count} rows in {prefix}{table}, expected {expected}")


def check_same_decisions(bench: Bench, name: str) -> None:
    """The method wrote what the service would write: compare the decision columns that do
    not depend on when a row was written (ids, tokens and created_at do)."""
    from django.db import connection

    columns = ("puid", "submission_digest", "log_index", "action", "subject_account")
    expected = []
    for batch in bench.writes:
        for write in batch:
            if write.table == "moderation_decision":
                at = [write.columns.index(c) for c in columns]
                expected += [tuple(row[i] for i in at) for row in write.rows]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM moderation_decision")
        written = sorted(tuple(row) for row in cursor.fetchall())
    if written != sorted(expected):
        raise RuntimeError(f"{name} wrote other decisions than the service would")


def measure(bench: Bench, methods: Sequence[str], runs: int) -> dict[str, list[float]]:
    """Rates (decisions/s) per method, one per run. Methods alternate within each run, in a
    rotating order, so slow phases of a shared machine fall on all of them alike."""
    runners = {name: MAKERS[name](bench) for name in methods}
    for name, run in runners.items():  # warm-up: imports, URL resolver, connections
        bench.reset()
        run()
        check_counts(bench, name)
        if name != BARE:
            check_same_decisions(bench, name)
    rates: dict[str, list[float]] = {name: [] for name in methods}
    for round_ in range(runs):
        shift = round_ % len(methods)
        for name in [*methods[shift:], *methods[:shift]]:
            bench.reset()
            started = time.perf_counter()
            runners[name]()
            elapsed = time.perf_counter() - started
            check_counts(bench, name)
            rates[name].append(bench.decisions / elapsed)
        summary = "  ".join(f"{name} {rates[name][-1]:,.0f}/s" for name in methods)
        print(f"run {round_ + 1}/{runs}: {summary}", flush=True)
    return rates


# DESIGN.md, "Speed we aim for": the batch API end to end at least this share of raw COPY.
TARGET = 0.25


def report(rates: dict[str, list[float]], bench: Bench, runs: int, batch: int) -> None:
    """The table: decisions/s (median, min, max over runs) and two ratios to raw COPY: of the
    medians, and the median of each run's own ratio (paired, so slow phases cancel out)."""
    baseline = statistics.median(rates[COPY])
    print()
    print(f"{bench.decisions:,} decisions in batches of {batch:,}, {runs} runs, decisions/s")
    header = f"{'method':<28} {'median':>8} {'min':>8} {'max':>8} {'vs COPY':>8} {'paired':>7}"
    print(header)
    print("-" * len(header))
    for name, values in rates.items():
        median = statistics.median(values)
        paired = statistics.median(v / c for v, c in zip(values, rates[COPY], strict=True))
        print(
            f"{METHODS[name]:<28} {median:>8,.0f} {min(values):>8,.0f} {max(values):>8,.0f}"
            f" {median / baseline:>8.1%} {paired:>7.1%}"
        )
    print()
    for name in rates:
        if name != COPY:
            median = statistics.median(rates[name])
            print(
                f"{METHODS[name]}: {median:,.0f} decisions/s = {median / baseline:.0%} of raw COPY"
            )
    headline = "api-http" if "api-http" in rates else "api-inproc" if "api-inproc" in rates else ""
    if headline:
        share = statistics.median(rates[headline]) / baseline
        verdict = "met" if share >= TARGET else "NOT met"
        print(f"target {TARGET:.0%} of raw COPY end to end ({METHODS[headline]}): {verdict}")


# --- profile ----------------------------------------------------------------------------------


def profile_api(bench: Bench, path: Path) -> None:
    """Where the in-process API's time goes: wall-clock stage timings, then cProfile (top 25
    and a per-stage summary) written to `path`, and the raw profile to `path` + ".prof"."""
    timings = stage_timings(bench)
    print(f"\nstages of the in-process API, wall clock:\n{timings}")
    bench.reset()
    run = post_in_process(bench)
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    check_counts(bench, "profile")
    bench.reset()
    summary = stage_summary(pstats.Stats(profiler), batches=len(bench.bodies))
    out = io.StringIO()
    out.write(f"Wall clock, unprofiled:\n{timings}\ncProfile:\n{summary}\n")
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    path.write_text(out.getvalue())
    profiler.dump_stats(str(path) + ".prof")
    print(f"profile of the in-process API: {path} (raw: {path}.prof)")
    print(summary)


_SQL_STAGES = (
    ('"moderation_decision"."puid" IN', "existing-puid query"),
    ("ledger_loghead", "log head lock + update"),
    ("FOR UPDATE", "platform row lock"),
    ("moderation_apikey", "API key query"),
)


def stage_timings(bench: Bench) -> str:
    """Wall-clock time per batch of each stage of the in-process API, without a profiler.

    The app's functions are wrapped in timers where the request path looks them up (a module
    or class attribute), and SQL statements are timed with Django's execute wrapper.
    """
    from django.db import connection
    from rest_framework.renderers import JSONRenderer

    from ledger import log, merkle
    from moderation import api, services
    from moderation.auth import ApiKeyAuthentication

    targets = [
        (ApiKeyAuthentication, "authenticate"),
        (api, "decode_batch"),
        (services, "record_decisions"),
        (services, "check_decision"),
        (services, "_resolve_references"),
        (services, "_row"),
        (services, "pseudonym"),
        (services, "append_entries"),
        (merkle, "leaf_hash"),
        (merkle.CompactRange, "append"),
        (log, "insert_rows"),
        (services, "insert_rows"),
        (services, "enqueue_statements"),
        (api, "receipt"),
        (JSONRenderer, "render"),
    ]
    targets = [(owner, name) for owner, name in targets if name in owner.__dict__]
    spent: dict[str, float] = {}

    def timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - started

        return wrapper

    def timed_sql(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, *args)
        finally:
            label = next((label for mark, label in _SQL_STAGES if mark in sql), "other SQL")
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - started

    def label(owner: Any, name: str) -> str:
        return f"{getattr(owner, '__name__', '')}.{name}"

    originals = [(owner, name, owner.__dict__[name]) for owner, name in targets]
    bench.reset()
    run = post_in_process(bench)
    connection.ensure_connection()
    commit = connection.commit
    try:
        for owner, name, original in originals:
            setattr(owner, name, timed(label(owner, name), original))
        connection.commit = timed("commit", commit)  # type: ignore[method-assign]
        with connection.execute_wrapper(timed_sql):
            started = time.perf_counter()
            run()
            spent["request"] = time.perf_counter() - started
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
        del connection.commit
    check_counts(bench, "stage timings")
    bench.reset()

    def get(key: str) -> float:
        return spent.get(key, 0.0)

    record = get("moderation.services.record_decisions")
    inside = (
        "moderation.services.check_decision",
        "moderation.services._resolve_references",
        "platform row lock",
        "existing-puid query",
        "moderation.services._row",
        "moderation.services.append_entries",
        "moderation.services.insert_rows",
        "moderation.services.enqueue_statements",
        "commit",
    )
    outside = (
        "ApiKeyAuthentication.authenticate",
        "moderation.api.decode_batch",
        "moderation.api.receipt",
        "JSONRenderer.render",
    )
    rows = [
        ("whole request, client side (test Client.post)", get("request")),
        ("  API key authentication (incl. its query)", get(outside[0])),
        ("  decode_batch (msgspec)", get(outside[1])),
        ("  record_decisions (incl. commit)", record),
        ("    check_decision", get(inside[0])),
        ("    _resolve_references (model/policy lookups)", get(inside[1])),
        ("    platform row lock (SQL)", get(inside[2])),
        ("    existing-puid query (SQL execute only)", get(inside[3])),
        ("    _row (row + log payload)", get(inside[4])),
        ("      of which pseudonym (HMAC-SHA256)", get("moderation.services.pseudonym")),
        ("    append_entries (transparency log)", get(inside[5])),
        ("      of which leaf hashes", get("ledger.merkle.leaf_hash")),
        ("      of which Merkle frontier (CompactRange.append)", get("CompactRange.append")),
        ("      of which COPY of entries and nodes", get("ledger.log.insert_rows")),
        ("      of which log head lock + update (SQL)", get("log head lock + update")),
        ("    insert_rows of decisions (COPY)", get(inside[6])),
        ("    enqueue_statements (EU outbox)", get(inside[7])),
        ("    commit (WAL flush, deferred FK checks)", get(inside[8])),
        ("    rest: digests, ids, tokens, ORM query building", record - sum(map(get, inside))),
        ("  receipts (receipt + notice_url)", get(outside[2])),
        ("  JSON rendering (JSONRenderer.render)", get(outside[3])),
        (
            "  rest: Django/DRF request handling, test client",
            get("request") - record - sum(map(get, outside)),
        ),
    ]
    return _stage_table("stage (wall clock)", rows, get("request"), len(bench.bodies))


def _stage_table(title: str, rows: list[tuple[str, float]], total: float, batches: int) -> str:
    lines = [f"{title:<52} {'ms/batch':>9} {'share':>6}"]
    for label, seconds in rows:
        share = seconds / total if total else 0.0
        lines.append(f"{label:<52} {seconds * 1000 / batches:>9.1f} {share:>6.1%}")
    return "\n".join(lines) + "\n"


def stage_summary(stats: pstats.Stats, *, batches: int) -> str:
    """Where a batch's time goes, from the profile's cumulative times (wall clock, inflated
    by profiling, so read the shares rather than the absolute figures)."""
    from django.core.handlers.base import BaseHandler
    from django.db.models.query import QuerySet
    from django.db.transaction import Atomic
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from ledger import db, log, merkle
    from moderation import api, auth, pseudonyms, rules, schemas, services

    record = services.record_decisions.__wrapped__
    digests = next(
        c
        for c in record.__code__.co_consts
        if isinstance(c, CodeType) and c.co_name == "<listcomp>"
    )
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]

    def key(code: CodeType) -> tuple[str, int, str]:
        return (code.co_filename, code.co_firstlineno, code.co_name)

    def cumulative(function: Any, caller: Any = None) -> float:
        code = getattr(function, "__code__", function)
        entry = table.get(key(code))
        if entry is None:
            return 0.0
        if caller is None:
            return float(entry[3])
        from_caller = entry[4].get(key(getattr(caller, "__code__", caller)))
        return float(from_caller[3]) if from_caller else 0.0

    total = cumulative(BaseHandler.get_response)
    rows = [
        ("whole request (BaseHandler.get_response)", total),
        ("  DRF dispatch (APIView.dispatch)", cumulative(APIView.dispatch)),
        ("    API key authentication", cumulative(auth.ApiKeyAuthentication.authenticate)),
        ("    decode_batch (msgspec)", cumulative(schemas.decode_batch)),
        ("    record_decisions", cumulative(record)),
        ("      check_decision", cumulative(rules.check_decision)),
        ("      submission digests", cumulative(digests)),
        ("      _resolve_references", cumulative(services._resolve_references)),
        ("      platform row lock", cumulative(QuerySet.exists, record)),
        ("      existing-puid query", cumulative(QuerySet.__iter__, record)),
        ("      public ids (uuid4)", cumulative(uuid.uuid4, record)),
        ("      notice tokens (token_urlsafe)", cumulative(secrets.token_urlsafe, record)),
        ("      _row", cumulative(services._row)),
        ("        pseudonym (HMAC)", cumulative(pseudonyms.pseudonym)),
        ("        summarize_action", cumulative(rules.summarize_action)),
        ("      append_entries", cumulative(log.append_entries)),
        ("        leaf hashes", cumulative(merkle.leaf_hash)),
        ("        Merkle frontier", cumulative(merkle.CompactRange.append)),
        ("        COPY of entries and nodes", cumulative(db.insert_rows, log.append_entries)),
        ("      insert_rows of decisions (COPY)", cumulative(db.insert_rows, record)),
        ("      commit (Atomic.__exit__)", cumulative(Atomic.__exit__)),
        ("    receipts (receipt + notice_url)", cumulative(api.receipt)),
        (
            "  rendering JSON (Response.rendered_content)",
            cumulative(Response.rendered_content.fget),
        ),
    ]
    return _stage_table("stage (cProfile)", rows, total, batches)


# --- entry point ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="a PostgreSQL database of the benchmark's own, dropped and created at every start "
        f"(default {DEFAULT_DATABASE_URL})",
    )
    parser.add_argument(
        "--methods",
        default=",".join(METHODS),
        help=f"comma-separated subset of {', '.join(METHODS)} (copy is always measured)",
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        const=DEFAULT_PROFILE,
        help=f"also time the stages of the in-process API and cProfile it (to {DEFAULT_PROFILE})",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = set(methods) - set(METHODS)
    if unknown:
        parser.error(f"unknown methods: {', '.join(sorted(unknown))}")
    args.methods = [COPY, *[m for m in METHODS if m in methods and m != COPY]]
    if args.runs < 1 or args.batch < 1 or args.decisions < args.batch:
        parser.error("need --runs >= 1 and --decisions >= --batch >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    configure_environment(args.database_url)
    if args.serve:
        serve()
        return
    recreate_database(args.database_url)
    setup_django()

    from django.conf import settings

    if args.batch > settings.LEDGER_MAX_BATCH:
        raise SystemExit(f"--batch is above LEDGER_MAX_BATCH ({settings.LEDGER_MAX_BATCH})")
    platform, api_key = create_platform()
    reference_ids = reset(platform)
    print(f"preparing {args.decisions:,} decisions ...", flush=True)
    bodies = encode_batches(Workload(args.seed).payloads(args.decisions), args.batch)
    writes = capture_writes(platform, bodies)
    bench = Bench(args.database_url, platform, api_key, bodies, writes, reference_ids)
    bench.reset()
    bench.expected = expected_counts(bench)
    megabytes = sum(len(b) for b in bodies) / 1e6
    tables = ", ".join(sorted({w.table for batch in writes for w in batch}))
    print(f"{len(bodies)} request bodies, {megabytes:.1f} MB of JSON; rows go to {tables}")

    server = None
    try:
        if "api-http" in args.methods:
            server, bench.port = start_server(args.database_url)
        rates = measure(bench, args.methods, args.runs)
        report(rates, bench, args.runs, args.batch)
        if args.profile:
            profile_api(bench, Path(args.profile))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        bench.reset()
        drop_bare_tables()


if __name__ == "__main__":
    main()
