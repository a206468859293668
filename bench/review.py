"""Review benchmark: concurrent reviewers claiming and deciding appeals on PostgreSQL.

    .venv/bin/python bench/review.py            # 10,000 appeals, 20 reviewers: long (see below)
    .venv/bin/python bench/review.py --appeals 200 --reviewers 8 --runs 1 --warmup 0  # a minute

20 reviewers (threads, each with its own database connection) claim and decide 10,000 appeals
through `appeals.services.claim_next_review` and `resolve_appeal` (upheld, or overturned for
`--overturn` of them, 10% by default: an overturn also records a reversal decision). The
baseline, measured in the same run on the same server, is the same work with nothing but the
lock: as many threads, each on its own psycopg connection, take one row of a plain table with
`SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1` and mark it claimed in one short transaction, then
mark it done (holder and version checked) in a second, as the services do.

Printed: claims per second (one claim and its decision each), the median, min and max over
`--runs`, the ratio to the baseline (of the medians, and the median of each run's own ratio),
and double claims, which must be 0: items decided twice in the Review table, appeals decided
twice in the transparency log (APPEAL_DECIDED entries), items claimed twice in the audit trail
(`review.claimed`), and claims whose hold overlapped another's on the same item in the
benchmark's own log of every claim (claimed at, decided at, by whom). The baseline's are
counted from its table (a claim counter per row) and its own claim log.

Setup, once: the database is dropped and created and migrated, then the appeals are made
through the services, `record_decisions` in batches of 1,000 (one in ten an account
suspension, claimed first) and `file_appeal` one by one; that database is then kept as a
template, and every measurement starts from a fresh copy of it (`CREATE DATABASE ... TEMPLATE`),
so every run decides the same open appeals from the same state. Methods alternate within each
run, in an order rotated every run, after `--warmup` uncounted runs. Settings are production's
(DEBUG off); Celery's broker for the webhook kicks is the default filesystem one, in a
temporary directory removed at the end.

Options: `--appeals 10000 --reviewers 20 --runs 3 --warmup 1 --overturn 0.1`,
`--database-url postgres://postgres@127.0.0.1:5432/ledger_bench_review` (or
`BENCH_REVIEW_DATABASE_URL`; the database and `<name>_seed` next to it are dropped and made).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ledger_bench_review"
PLATFORM_SLUG = "bench-review"
BATCH = 1000
REASON = {
    "upheld": "Reviewed against the policy: the decision stands.",
    "overturned": "Reviewed against the policy: the content does not break it.",
}

SERVICES = "services"
BARE = "bare"
METHODS = {
    BARE: "bare SKIP LOCKED claim+update",
    SERVICES: "claim_next_review+resolve_appeal",
}
BARE_TABLE = "bench_bare_review_item"


# --- setup ----------------------------------------------------------------------------------


def configure_environment(database_url: str, var_dir: str) -> None:
    """Production settings (DEBUG off keeps queries out of memory), and no connection pool:
    every reviewer thread keeps a connection of its own, as a reviewer's process would."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "ledger.settings"
    os.environ["DATABASE_URL"] = database_url
    os.environ["DATABASE_POOL_MAX"] = "0"
    os.environ["DEBUG"] = "0"
    os.environ["LOG_LEVEL"] = "WARNING"
    # The webhook kick after each outcome goes to Celery's filesystem broker under here.
    os.environ["LEDGER_VAR_DIR"] = var_dir
    for name in ("SECRET_KEY", "LEDGER_PSEUDONYM_SECRET"):
        if len(os.environ.get(name, "")) < 32 or "dev-only" in os.environ[name]:
            os.environ[name] = secrets.token_urlsafe(48)
    if not os.environ.get("LEDGER_LOG_SIGNING_KEY"):
        from ledger import note

        os.environ["LEDGER_LOG_SIGNING_KEY"] = note.generate_skey("bench.invalid/ledger")[0]


def database_name(database_url: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    name = str(conninfo_to_dict(database_url).get("dbname") or "")
    if not name:
        raise SystemExit(f"--database-url names no database: {database_url}")
    return name


def admin_execute(database_url: str, *statements: Any) -> None:
    import psycopg

    with psycopg.connect(database_url, dbname="postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def refuse_foreign_data(database_url: str) -> None:
    """The benchmark drops its database: refuse one that holds any platform but its own."""
    import psycopg

    try:
        conn = psycopg.connect(database_url, autocommit=True)
    except psycopg.OperationalError:
        return  # no such database yet
    with conn:
        if not conn.execute("SELECT to_regclass('moderation_platform')").fetchone()[0]:  # type: ignore[index]
            return
        row = conn.execute(
            "SELECT count(*) FROM moderation_platform WHERE slug <> %s", (PLATFORM_SLUG,)
        ).fetchone()
    if row and row[0]:
        raise SystemExit(
            f"{database_url} holds {row[0]} other platform(s); the benchmark drops its "
            "database, so give it one of its own with --database-url"
        )


def drop_and_create(database_url: str, name: str, template: str | None = None) -> None:
    from psycopg import sql

    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        create = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
    admin_execute(
        database_url,
        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)),
        create,
    )


def decision_bodies(count: int) -> list[Any]:
    """Automated shadowbans, and one in ten an account suspension (claimed first)."""
    from tests.factories import as_input, decision_payload

    bodies = []
    for n in range(count):
        overrides: dict[str, Any] = {
            "puid": f"bench-{n}",
            "subject": {"account": f"account-{n}", "content": f"post-{n}"},
        }
        if n % 10 == 3:
            overrides |= {
                "decision_visibility": None,
                "decision_account": "DECISION_ACCOUNT_SUSPENDED",
                "end_date_account_restriction": "2027-06-30",
            }
        bodies.append(as_input(decision_payload(**overrides)))
    return bodies


def seed(appeals: int, reviewers: int) -> float:
    """Migrate, then make the platform, its reviewers and the open appeals through the
    services. Returns the seconds it took."""
    import django
    from django.core.management import call_command

    django.setup()
    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)

    from appeals.services import file_appeal
    from moderation import services
    from moderation.models import Decision
    from tests.factories import make_reviewer, register_model

    platform = services.create_platform(slug=PLATFORM_SLUG, name="Review benchmark")
    register_model(platform)
    for n in range(reviewers):
        make_reviewer(platform, f"reviewer-{n:02d}")
    bodies = decision_bodies(appeals)
    for start in range(0, appeals, BATCH):
        services.record_decisions(platform=platform, decisions=bodies[start : start + BATCH])
        print(f"  recorded {min(start + BATCH, appeals):,} decisions", flush=True)
    for n, decision in enumerate(Decision.objects.filter(platform=platform).order_by("id")):
        file_appeal(
            decision=decision,
            appellant="subject",
            statement="The classifier got this wrong; please look again.",
        )
        if (n + 1) % 2000 == 0:
            print(f"  filed {n + 1:,} appeals", flush=True)
    create_bare_table(appeals)
    return time.perf_counter() - started


def create_bare_table(count: int) -> None:
    """The baseline's queue: the claim's own columns, the same partial index, nothing else."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE TABLE {BARE_TABLE} (
                id bigserial PRIMARY KEY,
                priority smallint NOT NULL,
                state varchar(16) NOT NULL DEFAULT 'open',
                version integer NOT NULL DEFAULT 1,
                claimed_by integer,
                claimed_at timestamptz,
                lease_expires_at timestamptz,
                created_at timestamptz NOT NULL,
                closed_at timestamptz,
                outcome varchar(16),
                claims integer NOT NULL DEFAULT 0
            )
            """
        )
        cursor.execute(
            f"CREATE INDEX {BARE_TABLE}_claimable ON {BARE_TABLE} (priority, created_at) "
            "WHERE state <> 'done'"
        )
        cursor.execute(
            f"INSERT INTO {BARE_TABLE} (priority, created_at) "
            "SELECT CASE WHEN n %% 10 = 3 THEN 0 ELSE 1 END, now() + n * interval '1 ms' "
            "FROM generate_series(0, %s - 1) AS n",
            [count],
        )


# --- the two methods ------------------------------------------------------------------------


@dataclass
class Claim:
    item: int
    reviewer: int
    claimed: float  # perf_counter when the claim committed
    decided: float  # perf_counter when the decision committed


@dataclass
class Result:
    seconds: float
    claims: list[Claim]
    errors: list[str] = field(default_factory=list)


def overturns(item_id: int, share: float) -> bool:
    # Spread evenly over the items, and the same items in every run and method.
    return (item_id * 7919) % 1000 < share * 1000


def run_threads(count: int, work: Callable[[int, list[Claim], list[str]], None]) -> Result:
    """`count` threads start together at a barrier; the time is from then to the last one."""
    barrier = threading.Barrier(count + 1)
    logs: list[list[Claim]] = [[] for _ in range(count)]
    errors: list[str] = []

    def body(n: int) -> None:
        try:
            barrier.wait(timeout=60)
            work(n, logs[n], errors)
        except Exception:  # reported; the run then fails its checks
            errors.append(traceback.format_exc(limit=5))

    threads = [threading.Thread(target=body, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=60)
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return Result(time.perf_counter() - started, [c for log in logs for c in log], errors)


DEADLOCK = "deadlock detected"


def retried(call: Callable[[], Any], errors: list[str], attempts: int = 5) -> Any:
    """Call again after a deadlock, as a reviewer's client would after a 500: the transaction
    rolled back whole, so the lease and the version are as they were. Each deadlock is kept
    in `errors`: there should be none, and the report counts them."""
    from django.db import OperationalError

    for attempt in range(attempts):
        try:
            return call()
        except OperationalError as exc:
            if DEADLOCK not in str(exc) or attempt == attempts - 1:
                raise
            errors.append(f"{DEADLOCK} (retried): {str(exc).splitlines()[0]}")
    raise AssertionError("unreachable")


def run_services(reviewers: int, share: float) -> Result:
    from django.db import connection

    from appeals.models import Reviewer
    from appeals.services import claim_next_review, resolve_appeal

    people = list(Reviewer.objects.order_by("id")[:reviewers])
    connection.close()

    def work(n: int, log: list[Claim], errors: list[str]) -> None:
        reviewer = people[n]
        try:
            while (
                item := retried(lambda: claim_next_review(reviewer=reviewer), errors)
            ) is not None:
                claimed = time.perf_counter()
                outcome = "overturned" if overturns(item.pk, share) else "upheld"
                decide = functools.partial(
                    resolve_appeal,
                    reviewer=reviewer,
                    item=item,
                    version=item.version,
                    outcome=outcome,
                    reason=REASON[outcome],
                )
                retried(decide, errors)
                log.append(Claim(item.pk, reviewer.pk, claimed, time.perf_counter()))
        finally:
            connection.close()  # this thread's own connection

    return run_threads(reviewers, work)


def run_bare(database_url: str, reviewers: int, share: float) -> Result:
    import psycopg

    claim_sql = (
        f"SELECT id, version FROM {BARE_TABLE} "
        "WHERE state = 'open' OR (state = 'claimed' AND lease_expires_at <= now()) "
        "ORDER BY priority, created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"
    )
    take_sql = (
        f"UPDATE {BARE_TABLE} SET state = 'claimed', claimed_by = %s, claimed_at = now(), "
        "lease_expires_at = now() + interval '300 seconds', version = version + 1, "
        "claims = claims + 1 WHERE id = %s"
    )
    decide_sql = (
        f"UPDATE {BARE_TABLE} SET state = 'done', claimed_by = NULL, claimed_at = NULL, "
        "lease_expires_at = NULL, version = version + 1, closed_at = now(), outcome = %s "
        "WHERE id = %s AND state = 'claimed' AND claimed_by = %s AND version = %s "
        "AND lease_expires_at > now()"
    )

    def work(n: int, log: list[Claim], errors: list[str]) -> None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            while True:
                with conn.transaction():
                    row = conn.execute(claim_sql).fetchone()
                    if row is None:
                        return
                    item, version = row
                    conn.execute(take_sql, (n, item))
                claimed = time.perf_counter()
                outcome = "overturned" if overturns(item, share) else "upheld"
                with conn.transaction():
                    done = conn.execute(decide_sql, (outcome, item, n, version + 1)).rowcount
                if done != 1:
                    errors.append(f"bare: item {item} was not held by {n} at its decision")
                log.append(Claim(item, n, claimed, time.perf_counter()))

    return run_threads(reviewers, work)


# --- checks ---------------------------------------------------------------------------------


def overlapping(claims: Sequence[Claim]) -> tuple[int, int]:
    """Items claimed more than once in the claim log, and claims whose hold (claim committed
    to decision committed) overlapped another hold of the same item."""
    by_item: dict[int, list[Claim]] = defaultdict(list)
    for claim in claims:
        by_item[claim.item].append(claim)
    twice = sum(1 for held in by_item.values() if len(held) > 1)
    overlaps = 0
    for held in by_item.values():
        held.sort(key=lambda c: c.claimed)
        overlaps += sum(1 for a, b in itertools.pairwise(held) if b.claimed < a.decided)
    return twice, overlaps


def one_value(sql: str, params: Sequence[Any] = ()) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def check_services(result: Result, appeals: int, share: float) -> dict[str, int]:
    """Double claims by every record the services keep, and that every appeal was decided
    once with the outcome asked for."""
    from django.db import connection

    twice, overlaps = overlapping(result.claims)
    found = {
        "review table": one_value(
            "SELECT count(*) FROM (SELECT item_id FROM appeals_review "
            "WHERE outcome <> 'escalated' GROUP BY item_id HAVING count(*) > 1) AS d"
        ),
        "transparency log": one_value(
            "SELECT count(*) FROM (SELECT payload::jsonb->>'appeal' FROM ledger_logentry "
            "WHERE entry_type = 'appeal_decided' GROUP BY 1 HAVING count(*) > 1) AS d"
        ),
        "audit trail": one_value(
            "SELECT count(*) FROM (SELECT object_id FROM moderation_auditevent "
            "WHERE action = 'review.claimed' GROUP BY object_id HAVING count(*) > 1) AS d"
        ),
        "claim log (twice)": twice,
        "claim log (overlap)": overlaps,
    }
    decided = one_value("SELECT count(*) FROM appeals_review WHERE outcome <> 'escalated'")
    entries = one_value("SELECT count(*) FROM ledger_logentry WHERE entry_type = 'appeal_decided'")
    done = one_value("SELECT count(*) FROM appeals_reviewitem WHERE state = 'done'")
    overturned = one_value("SELECT count(*) FROM appeals_appeal WHERE status = 'overturned'")
    reversals = one_value(
        "SELECT count(*) FROM moderation_decision WHERE decision_type = 'DECISION_TYPE_REVERSAL'"
    )
    expected_overturns = sum(
        1 for c in result.claims if overturns(c.item, share)
    )  # items are decided once, so this is per item
    problems = []
    if not decided == entries == done == len(result.claims) == appeals:
        problems.append(
            f"decided {decided}, log entries {entries}, items done {done}, claims logged "
            f"{len(result.claims)}, appeals {appeals}"
        )
    if not overturned == reversals == expected_overturns:
        problems.append(
            f"overturned {overturned}, reversals {reversals}, expected {expected_overturns}"
        )
    if problems:
        result.errors.append("services: " + "; ".join(problems))
    connection.close()
    return found


def check_bare(result: Result, appeals: int) -> dict[str, int]:
    from django.db import connection

    twice, overlaps = overlapping(result.claims)
    found = {
        "table (claims > 1)": one_value(f"SELECT count(*) FROM {BARE_TABLE} WHERE claims > 1"),
        "claim log (twice)": twice,
        "claim log (overlap)": overlaps,
    }
    done = one_value(f"SELECT count(*) FROM {BARE_TABLE} WHERE state = 'done'")
    if not done == len(result.claims) == appeals:
        result.errors.append(f"bare: done {done}, claims logged {len(result.claims)}")
    connection.close()
    return found


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Bench:
    database_url: str
    name: str
    template: str
    appeals: int
    reviewers: int
    overturn: float

    def restore(self) -> None:
        """A fresh copy of the seeded database; the log's cached nodes go with the old one."""
        from django.db import connections

        from ledger import log

        connections.close_all()
        drop_and_create(self.database_url, self.name, template=self.template)
        log.forget_cached_nodes()
        # Start from the same cold-ish state: nothing of the previous copy left to flush.
        admin_execute(self.database_url, "CHECKPOINT")

    def run(self, method: str) -> tuple[Result, dict[str, int]]:
        self.restore()
        if method == SERVICES:
            result = run_services(self.reviewers, self.overturn)
            return result, check_services(result, self.appeals, self.overturn)
        result = run_bare(self.database_url, self.reviewers, self.overturn)
        return result, check_bare(result, self.appeals)


def measure(bench: Bench, runs: int, warmup: int) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Claims per second per method, one per run, and the worst double-claim counts seen."""
    methods = list(METHODS)
    rates: dict[str, list[float]] = {m: [] for m in methods}
    doubles: dict[str, dict[str, int]] = {m: defaultdict(int) for m in methods}
    errors: list[str] = []
    for round_ in range(warmup + runs):
        shift = round_ % len(methods)
        counted = round_ >= warmup
        line = []
        for method in [*methods[shift:], *methods[:shift]]:
            result, found = bench.run(method)
            errors += result.errors
            for check, value in found.items():
                doubles[method][check] = max(doubles[method][check], value)
            rate = len(result.claims) / result.seconds
            if counted:
                rates[method].append(rate)
            line.append(f"{method} {rate:,.1f}/s ({result.seconds:.1f} s)")
        label = f"run {round_ - warmup + 1}/{runs}" if counted else f"warm-up {round_ + 1}"
        print(f"{label}: {'  '.join(line)}", flush=True)
    return rates, {"doubles": doubles, "errors": errors}


def report(rates: dict[str, list[float]], checks: dict[str, Any], bench: Bench, runs: int) -> int:
    baseline = statistics.median(rates[BARE])
    print()
    print(
        f"{bench.appeals:,} appeals, {bench.reviewers} reviewers, {runs} runs, "
        f"{bench.overturn:.0%} overturned; claims per second (each claim then its decision)"
    )
    header = f"{'method':<36} {'median':>8} {'min':>8} {'max':>8} {'vs bare':>8} {'paired':>7}"
    print(header)
    print("-" * len(header))
    for method in (BARE, SERVICES):
        values = rates[method]
        median = statistics.median(values)
        paired = statistics.median(v / b for v, b in zip(values, rates[BARE], strict=True))
        print(
            f"{METHODS[method]:<36} {median:>8,.1f} {min(values):>8,.1f} {max(values):>8,.1f}"
            f" {median / baseline:>8.1%} {paired:>7.1%}"
        )
    print()
    total = 0
    for method in (SERVICES, BARE):
        found = checks["doubles"][method]
        total += sum(found.values())
        detail = ", ".join(f"{name} {value}" for name, value in found.items())
        print(f"double claims, {METHODS[method]}: {sum(found.values())} ({detail})")
    deadlocks = [e for e in checks["errors"] if e.startswith(DEADLOCK)]
    errors = [e for e in checks["errors"] if not e.startswith(DEADLOCK)]
    if deadlocks:
        print(
            f"deadlocks, retried (every run, warm-ups included): {len(deadlocks)}; "
            "should be 0: PostgreSQL chose a victim among the reviewers' transactions"
        )
    if errors:
        print(f"\n{len(errors)} error(s); the first:\n{errors[0]}")
    verdict = "OK" if total == 0 and not errors else "FAILED"
    print(f"\n{verdict}: double claims must be 0 and every appeal decided exactly once")
    return 0 if verdict == "OK" else 1


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--appeals", type=int, default=10_000)
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="uncounted runs first")
    parser.add_argument("--overturn", type=float, default=0.1, help="share overturned, 0 to 1")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_REVIEW_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="a PostgreSQL database of the benchmark's own, dropped and made at every start, "
        f"with <name>_seed next to it (default {DEFAULT_DATABASE_URL})",
    )
    args = parser.parse_args(argv)
    if args.appeals < 1 or args.runs < 1 or args.warmup < 0:
        parser.error("need --appeals >= 1, --runs >= 1, --warmup >= 0")
    if not 1 <= args.reviewers <= 80:
        parser.error("--reviewers from 1 to 80 (each holds a connection; the server has 100)")
    if not 0 <= args.overturn <= 1:
        parser.error("--overturn is a share from 0 to 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    var_dir = tempfile.mkdtemp(prefix="bench-review-")
    configure_environment(args.database_url, var_dir)
    name = database_name(args.database_url)
    bench = Bench(
        args.database_url, name, f"{name}_seed", args.appeals, args.reviewers, args.overturn
    )
    try:
        refuse_foreign_data(args.database_url)
        drop_and_create(args.database_url, name)
        print(f"seeding {args.appeals:,} open appeals through the services ...", flush=True)
        seconds = seed(args.appeals, args.reviewers)
        print(f"seeded in {seconds:.0f} s", flush=True)
        from django.db import connections

        connections.close_all()
        drop_and_create(args.database_url, bench.template, template=name)
        rates, checks = measure(bench, args.runs, args.warmup)
        status = report(rates, checks, bench, args.runs)
    finally:
        from django.db import connections

        connections.close_all()
        from psycopg import sql

        for database in (name, f"{name}_seed"):
            admin_execute(
                args.database_url,
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)),
            )
        shutil.rmtree(var_dir, ignore_errors=True)
    raise SystemExit(status)


if __name__ == "__main__":
    main()
