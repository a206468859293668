"""Log benchmark: appends per second with checkpointing, and proof latency at a million entries.

    .venv/bin/python bench/log_bench.py            # about 6 minutes on a busy 2-core machine
    .venv/bin/python bench/log_bench.py --entries 100000 --runs 3   # a quicker look

Options: `--entries 1000000` (log size for proofs), `--append-entries 50000` (per run),
`--batch 1000`, `--runs 5`, `--proofs 2000` and `--consistency-proofs 500` (per run),
`--skip-appends`, `--skip-proofs`, `--profile` (cProfile the proofs even when the 1 ms target
is met), `--database-url postgres://postgres@127.0.0.1:5432/ledger_logbench`.

Two measurements, each beside pymerkle (a benchmark-only dependency: `.venv/bin/pip install
pymerkle`) doing the same work in the same run, and reported as a ratio to it:

1. Appends: the same canonical-JSON decision payloads (1 to 1.5 KB, shaped like the public
   payload moderation.services writes) appended in batches, one transaction per batch through
   `ledger.log.append_entries`, with a signed checkpoint (`ledger.log.seal_checkpoint`) after
   every batch. pymerkle's baseline is its persistent
   `SqliteTree`: the same payloads appended in the same batches (one SQLite transaction each,
   its bulk `append_entries`), the root computed after every batch. For context the table also
   shows the log without per-batch checkpoints, pymerkle's `InmemoryTree`, and the raw floor:
   a `COPY` of the same entry rows with no hashing.
2. Proofs at `--entries` (one million): the log is built with `append_entries` in batches of
   10,000, and the same leaves go into pymerkle's `SqliteTree` and `InmemoryTree`. Each run
   asks all three for inclusion proofs of the same random indices and consistency proofs of the
   same random size pairs; samples are verified with `ledger.merkle`, and pymerkle's proofs are
   checked to hold the same hashes.

The machines are shared, noisy and have two cores, so every figure is the median over
`--runs` runs (methods interleaved, their order rotated each run), never one timing. The log
tables of the benchmark database are emptied (TRUNCATE) before each append run; give it a
database of its own (the default, created if missing).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import io
import os
import pstats
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ledger_logbench"
LOG_TABLES = ("ledger_logentry", "ledger_lognode", "ledger_checkpoint", "ledger_loghead")
ENTRY_COLUMNS = ("index", "entry_type", "payload", "leaf_hash", "created_at")
BUILD_BATCH = 10_000
TARGET_MS = 1.0  # DESIGN.md, "Speed we aim for": proofs at most 1 ms at a million entries.

try:
    import pymerkle
except ImportError:
    raise SystemExit(
        "pymerkle is missing: it is the baseline of this benchmark (and needed by nothing else).\n"
        "Install it with: .venv/bin/pip install pymerkle"
    ) from None


# --- setup ----------------------------------------------------------------------------------


def configure_environment(database_url: str) -> None:
    """Settings as in production: DEBUG off, so Django keeps no list of executed queries."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "ledger.settings"
    os.environ["DATABASE_URL"] = database_url
    os.environ["DEBUG"] = "0"
    os.environ["LOG_LEVEL"] = "WARNING"
    # Production refuses the development secrets; these only have to be long.
    for name in ("SECRET_KEY", "LEDGER_PSEUDONYM_SECRET"):
        if len(os.environ.get(name, "")) < 32 or "dev-only" in os.environ[name]:
            os.environ[name] = secrets.token_urlsafe(48)
    if not os.environ.get("LEDGER_LOG_SIGNING_KEY"):
        # ledger.note is floor 1 (no Django), so it can make the checkpoint key before setup.
        from ledger import note

        origin = os.environ.get("LEDGER_LOG_ORIGIN", "bench.example.org/log")
        os.environ["LEDGER_LOG_ORIGIN"] = origin
        os.environ["LEDGER_LOG_SIGNING_KEY"] = note.generate_skey(origin)[0]


def ensure_database(database_url: str) -> None:
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict

    name = str(conninfo_to_dict(database_url).get("dbname") or "")
    if not name:
        raise SystemExit(f"--database-url names no database: {database_url}")
    with psycopg.connect(database_url, dbname="postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"created database {name}")


def setup_django() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


def refuse_foreign_data() -> None:
    """Emptying the log cascades to the tables that reference it: they must hold nothing."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT conrelid::regclass::text FROM pg_constraint "
            "WHERE contype = 'f' AND confrelid = 'ledger_logentry'::regclass"
        )
        referencing = [row[0] for row in cursor.fetchall()]
        for table in referencing:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
            if cursor.fetchone()[0]:
                raise SystemExit(
                    f"{table} holds rows; this benchmark empties the log tables, so give it a "
                    "database of its own with --database-url"
                )


def reset_log() -> None:
    """Empty the log so every run starts from the same state.

    The log tables refuse TRUNCATE; those guards are dropped for it and installed again after
    it (ledger.db.drop_emptying_guards). The CHECKPOINT keeps the previous run's dirty pages
    from being flushed during the next.
    """
    from django.db import connection

    from ledger.db import drop_emptying_guards, install_append_only_triggers

    with connection.cursor() as cursor:
        drop_emptying_guards()
        cursor.execute(f"TRUNCATE {', '.join(LOG_TABLES)} CASCADE")
        install_append_only_triggers()
        cursor.execute("CHECKPOINT")


def server_note() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        names = ("shared_buffers", "synchronous_commit", "fsync")
        values = []
        for name in names:
            cursor.execute(f"SHOW {name}")
            values.append(f"{name}={cursor.fetchone()[0]}")
    return f"PostgreSQL {version} ({', '.join(values)})"


def machine_note() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({model}), load average {load}; "
        f"Python {sys.version.split()[0]}, pymerkle {pymerkle.__version__}"
    )


# --- workload -------------------------------------------------------------------------------

_SENTENCES = (
    "The classifier scored the text above the model's threshold for hateful conduct.",
    "Three users reported the content within an hour of publication.",
    "The image matches a hash of previously removed material.",
    "The account posted the same link in forty threads in ten minutes.",
    "A court order named the content and required its removal.",
    "The listing offers goods that imitate a registered trademark.",
    "The reviewer confirmed the automated flag after watching the full video.",
    "The content was shown to non-followers before the restriction.",
)
_ACTIONS = (
    ("visibility_restriction", "DECISION_VISIBILITY_SEARCH_EXCLUDED", 40),
    ("visibility_restriction", "DECISION_VISIBILITY_RECOMMENDATIONS_EXCLUDED", 15),
    ("removal", "DECISION_VISIBILITY_CONTENT_REMOVED", 20),
    ("flag", "DECISION_VISIBILITY_CONTENT_LABELLED", 10),
    ("suspension", None, 10),
    ("ban", None, 5),
)
_MODELS = (("hate-speech", "v2", 0.75), ("spam-detector", "2026.10", 0.9), ("nudity", "v3", 0.85))
_COUNTRIES = ("AT", "BE", "DE", "ES", "FI", "FR", "IE", "IT", "NL", "PL", "PT", "SE")


def make_payloads(count: int, seed: int) -> list[bytes]:
    """Canonical JSON of public decision payloads shaped like moderation.services writes them
    (about 1 KB each), deterministic for a seed so every method appends the same bytes."""
    from ledger.log import canonical_json

    rng = random.Random(seed)
    actions = [a[:2] for a in _ACTIONS]
    weights = [a[2] for a in _ACTIONS]
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    payloads = []
    for n in range(count):
        action, visibility = rng.choices(actions, weights)[0]
        automated = rng.random() < 0.7
        name, version, threshold = rng.choice(_MODELS)
        decided = start + dt.timedelta(seconds=n * 3 + rng.randrange(3))
        facts = " ".join(rng.sample(_SENTENCES, 3))
        payload = {
            "type": "decision",
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "platform": "logbench",
            "puid": f"logbench-{n:09d}",
            "decision_type": "automated" if automated else "human",
            "action": action,
            "supersedes": None,
            "decision_visibility": [visibility] if visibility else None,
            "end_date_visibility_restriction": None,
            "decision_account": None if visibility else "DECISION_ACCOUNT_SUSPENDED",
            "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
            "decision_ground_reference_url": "https://bench.example.org/rules/hateful-conduct/v2",
            "incompatible_content_ground": f"Community guidelines, section {rng.randint(1, 9)}",
            "incompatible_content_explanation": facts,
            "incompatible_content_illegal": rng.random() < 0.1,
            "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
            "policy": {"key": "hateful-conduct", "version": 2},
            "source_type": "SOURCE_VOLUNTARY",
            "automated_detection": automated,
            "automated_decision": "AUTOMATED_DECISION_FULLY" if automated else "NOT_AUTOMATED",
            "model": {"name": name, "version": version} if automated else None,
            "score": round(rng.uniform(threshold, 1.0), 4) if automated else None,
            "threshold": threshold if automated else None,
            "subject": {"account": f"{rng.getrandbits(256):064x}", "content": f"{n:016x}"},
            "content_type": ["CONTENT_TYPE_TEXT"],
            "content_language": "EN",
            "territorial_scope": sorted(rng.sample(_COUNTRIES, rng.choice((1, 2, 5)))),
            "application_date": decided.date().isoformat(),
            "decided_at": decided.isoformat(),
            "notified_at": (decided + dt.timedelta(minutes=5)).isoformat(),
            "recorded_at": (decided + dt.timedelta(seconds=1)).isoformat(),
        }
        payloads.append(canonical_json(payload))
    return payloads


def batches(items: Sequence[bytes], size: int) -> list[Sequence[bytes]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# --- appends --------------------------------------------------------------------------------


def append_log(payloads: Sequence[bytes], batch: int, seal_every: int) -> None:
    """The service path: one transaction per batch, a checkpoint every `seal_every` batches
    (0: one checkpoint at the end), as the Celery beat task would seal it."""
    from django.db import transaction

    from ledger.log import append_entries, seal_checkpoint
    from ledger.models import EntryType

    for n, chunk in enumerate(batches(payloads, batch), start=1):
        with transaction.atomic():
            append_entries([(EntryType.DECISION, p) for p in chunk])
        if seal_every and n % seal_every == 0:
            seal_checkpoint()
    seal_checkpoint()


def append_pymerkle_sqlite(payloads: Sequence[bytes], batch: int, workdir: Path) -> None:
    """pymerkle's persistent tree: one SQLite transaction per batch, then the root."""
    path = workdir / f"pymerkle-{time.monotonic_ns()}.db"
    tree = pymerkle.SqliteTree(str(path))
    try:
        for chunk in batches(payloads, batch):
            tree.append_entries(chunk)
            tree.get_root()
    finally:
        tree.close()
        path.unlink()


def append_pymerkle_memory(payloads: Sequence[bytes], batch: int) -> None:
    tree = pymerkle.InmemoryTree()
    for chunk in batches(payloads, batch):
        tree.append_entries(chunk)
        tree.get_root()


def copy_floor(rows: Sequence[Sequence[Any]], batch: int) -> None:
    """The same entry rows, prepared beforehand with a placeholder hash: COPY and commit only."""
    from django.db import transaction

    from ledger.db import insert_rows
    from ledger.models import LogEntry

    for i in range(0, len(rows), batch):
        with transaction.atomic():
            insert_rows(LogEntry, ENTRY_COLUMNS, rows[i : i + batch])


@dataclass(frozen=True)
class AppendMethod:
    label: str
    short: str
    run: Callable[[], None]
    uses_log: bool


def measure_appends(
    payloads: Sequence[bytes], batch: int, runs: int, workdir: Path
) -> dict[str, list[float]]:
    now = dt.datetime.now(dt.UTC)
    placeholder = bytes(32)
    rows = [(i, "decision", p.decode(), placeholder, now) for i, p in enumerate(payloads)]
    methods = [
        AppendMethod(
            "pymerkle SqliteTree, root per batch",
            "pymerkle-sqlite",
            lambda: append_pymerkle_sqlite(payloads, batch, workdir),
            False,
        ),
        AppendMethod(
            "ledger.log, checkpoint per batch",
            "log",
            lambda: append_log(payloads, batch, 1),
            True,
        ),
        AppendMethod(
            "ledger.log, one checkpoint at end",
            "log-1-seal",
            lambda: append_log(payloads, batch, 0),
            True,
        ),
        AppendMethod(
            "pymerkle InmemoryTree, root per batch",
            "pymerkle-memory",
            lambda: append_pymerkle_memory(payloads, batch),
            False,
        ),
        AppendMethod(
            "raw COPY of entry rows, no hashing", "copy", lambda: copy_floor(rows, batch), True
        ),
    ]
    rates: dict[str, list[float]] = {m.label: [] for m in methods}
    for run in range(runs):
        shift = run % len(methods)
        for method in methods[shift:] + methods[:shift]:
            if method.uses_log:
                reset_log()
            gc.collect()
            started = time.perf_counter()
            method.run()
            elapsed = time.perf_counter() - started
            rates[method.label].append(len(payloads) / elapsed)
        summary = ", ".join(f"{m.short} {rates[m.label][-1]:,.0f}/s" for m in methods)
        print(f"  append run {run + 1}/{runs}: {summary}", flush=True)
    reset_log()
    return rates


def report_appends(
    rates: dict[str, list[float]], payloads: Sequence[bytes], batch: int, runs: int
) -> None:
    baseline_label = next(iter(rates))
    baseline = statistics.median(rates[baseline_label])
    average = sum(len(p) for p in payloads) / len(payloads)
    print()
    print(
        f"Appends: {len(payloads):,} payloads ({average:,.0f} bytes of canonical JSON on "
        f"average) in batches of {batch:,}, median of {runs} runs"
    )
    print(f"{'method':<40} {'entries/s':>10} {'min..max':>17} {'vs pymerkle':>12}")
    for label, values in rates.items():
        median = statistics.median(values)
        spread = f"{min(values):,.0f}..{max(values):,.0f}"
        ratio = "baseline" if label == baseline_label else f"{median / baseline:.2f}x"
        print(f"{label:<40} {median:>10,.0f} {spread:>17} {ratio:>12}")


# --- the million-entry log ------------------------------------------------------------------


def build_log(payloads: Sequence[bytes]) -> float:
    """Through the service, in batches of BUILD_BATCH, so the stored state is exactly what
    production stores; one checkpoint at the end. Returns entries per second."""
    from django.db import connection

    reset_log()
    started = time.perf_counter()
    append_log(payloads, BUILD_BATCH, 0)
    rate = len(payloads) / (time.perf_counter() - started)
    # What autovacuum would do shortly after a bulk load: planner statistics and a visibility
    # map, so that proofs are timed against a settled table rather than a fresh one.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) ledger_logentry, ledger_lognode")
    return rate


def build_pymerkle_sqlite(payloads: Sequence[bytes], workdir: Path) -> tuple[Any, float]:
    """Its bulk path (one transaction, chunks of 100,000), then the root, which fills its
    subroot cache for the largest perfect subtrees as a long-running server's would be."""
    started = time.perf_counter()
    tree = pymerkle.SqliteTree(str(workdir / "pymerkle-million.db"))
    tree.append_entries(payloads)
    tree.get_root()
    return tree, len(payloads) / (time.perf_counter() - started)


def build_pymerkle_memory(payloads: Sequence[bytes]) -> tuple[Any, float]:
    started = time.perf_counter()
    tree = pymerkle.InmemoryTree.init_from_entries(payloads)
    return tree, len(payloads) / (time.perf_counter() - started)


# --- proofs ---------------------------------------------------------------------------------


@dataclass
class Latencies:
    """Per-run latency percentiles in milliseconds."""

    p50: list[float]
    p95: list[float]
    p99: list[float]

    @classmethod
    def empty(cls) -> Latencies:
        return cls([], [], [])

    def add(self, samples_ns: list[int]) -> None:
        ordered = sorted(samples_ns)

        def pct(q: float) -> float:
            return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] / 1e6

        self.p50.append(pct(0.50))
        self.p95.append(pct(0.95))
        self.p99.append(pct(0.99))

    def medians(self) -> tuple[float, float, float]:
        return (
            statistics.median(self.p50),
            statistics.median(self.p95),
            statistics.median(self.p99),
        )


def timed(calls: Sequence[Callable[[], object]]) -> list[int]:
    samples = []
    for call in calls:
        started = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - started)
    return samples


def proof_calls(
    kind: str, impl: str, pairs: Sequence[tuple[int, int]], trees: dict[str, Any]
) -> list[Callable[[], object]]:
    """(index, size) pairs for inclusion, (size1, size2) for consistency; pymerkle counts
    leaf indices from one."""
    from ledger import log

    if impl == SKETCH:
        return [partial(sketched_inclusion_proof, a, b) for a, b in pairs]
    if impl == "ledger.log":
        if kind == "inclusion":
            return [partial(log.inclusion_proof, a, b) for a, b in pairs]
        return [partial(log.consistency_proof, a, b) for a, b in pairs]
    tree = trees[impl]
    if kind == "inclusion":
        return [partial(tree.prove_inclusion, a + 1, b) for a, b in pairs]
    return [partial(tree.prove_consistency, a, b) for a, b in pairs]


def check_proofs(
    payloads: Sequence[bytes],
    size: int,
    inclusion: Sequence[tuple[int, int]],
    consistency: Sequence[tuple[int, int]],
    trees: dict[str, Any],
) -> None:
    """Every implementation proves the same thing: same roots, same proof hashes, and our
    proofs verify against the stored root by the RFC 9162 algorithms."""
    from ledger import log, merkle

    root = log.root(size)
    for name, tree in trees.items():
        if tree.get_root(size) != root:
            raise SystemExit(f"{name} disagrees with ledger.log on the root at {size}")
    for index, tree_size in inclusion:
        proof = log.inclusion_proof(index, tree_size)
        leaf = merkle.leaf_hash(payloads[index])
        if not merkle.verify_inclusion(leaf, index, tree_size, proof, root):
            raise SystemExit(f"inclusion proof of {index} does not verify")
        for name, tree in trees.items():
            theirs = tree.prove_inclusion(index + 1, tree_size)
            if theirs.path[0] != leaf or theirs.path[1:] != proof:
                raise SystemExit(f"{name} proves inclusion of {index} with other hashes")
    for first, second in consistency:
        proof = log.consistency_proof(first, second)
        if not merkle.verify_consistency(first, second, proof, log.root(first), log.root(second)):
            raise SystemExit(f"consistency proof {first} -> {second} does not verify")


# The first is the baseline the ratios are taken against.
IMPLS = ("pymerkle SqliteTree", "ledger.log", "pymerkle InmemoryTree")
# Not an implementation of the project: the fix the profile points at, timed on the same
# indices so that the table shows what it would buy (inclusion proofs only).
SKETCH = "sketch: 1 prepared query"
KINDS = {"inclusion": (*IMPLS, SKETCH), "consistency": IMPLS}


def measure_proofs(
    payloads: Sequence[bytes], trees: dict[str, Any], args: argparse.Namespace
) -> dict[tuple[str, str], Latencies]:
    size = len(payloads)
    rng = random.Random(args.seed + 1)
    results = {(k, i): Latencies.empty() for k, impls in KINDS.items() for i in impls}
    for run in range(args.runs):
        inclusion = [(rng.randrange(size), size) for _ in range(args.proofs)]
        consistency = []
        for _ in range(args.consistency_proofs):
            a, b = sorted(rng.sample(range(1, size + 1), 2))
            consistency.append((a, b))
        check_proofs(payloads, size, inclusion[:20], consistency[:10], trees)
        work = {"inclusion": inclusion, "consistency": consistency}
        jobs = [(kind, impl) for kind, impls in KINDS.items() for impl in impls]
        shift = run * 3 % len(jobs)
        for kind, impl in jobs[shift:] + jobs[:shift]:
            calls = proof_calls(kind, impl, work[kind], trees)
            gc.collect()
            results[(kind, impl)].add(timed(calls))
        summary = ", ".join(
            f"{i.split(':')[0].split()[-1]} {results[('inclusion', i)].p95[-1]:.3f}"
            for i in KINDS["inclusion"]
        )
        print(f"  proof run {run + 1}/{args.runs}: inclusion p95 ms: {summary}", flush=True)
    return results


def report_proofs(
    results: dict[tuple[str, str], Latencies], size: int, args: argparse.Namespace
) -> float:
    """Prints the table; returns our inclusion p95 in ms."""
    baseline = IMPLS[0]
    print()
    print(
        f"Proofs at {size:,} entries: per run {args.proofs:,} inclusion proofs (random index, "
        f"tree size {size:,})"
    )
    print(
        f"and {args.consistency_proofs:,} consistency proofs (random size pairs); "
        f"percentiles per run, median of {args.runs} runs, in ms"
    )
    print(
        f"{'proof':<12} {'implementation':<25} {'p50':>8} {'p95':>8} {'p99':>8} "
        f"{'speed vs pymerkle (p50, p95)':>30}"
    )
    for kind, impls in KINDS.items():
        base50, base95, _ = results[(kind, baseline)].medians()
        for impl in impls:
            p50, p95, p99 = results[(kind, impl)].medians()
            ratio = "baseline" if impl == baseline else f"{base50 / p50:.1f}x, {base95 / p95:.1f}x"
            print(f"{kind:<12} {impl:<25} {p50:>8.3f} {p95:>8.3f} {p99:>8.3f} {ratio:>30}")
    ours = results[("inclusion", "ledger.log")].medians()[1]
    verdict = "met" if ours <= TARGET_MS else "MISSED"
    print(f"target (DESIGN.md): inclusion proof at most {TARGET_MS:g} ms at p95: {verdict}")
    return ours


# --- where the time of one proof goes -------------------------------------------------------

# One round trip for the leaf and the nodes, matched on the primary keys. The parameters are
# three arrays written as text ('{1,2,3}'): the statement text, and with it a prepared plan,
# is then the same for every proof, and psycopg's Python list adapter (about 0.2 ms for three
# short lists on this machine) is skipped.
ONE_QUERY = (
    'SELECT n.level, n."index", n.hash FROM unnest(%s::text::smallint[], %s::text::bigint[]) '
    'AS k(level, "index") JOIN ledger_lognode n USING (level, "index") '
    'UNION ALL SELECT 0, e."index", e.leaf_hash FROM ledger_logentry e '
    'WHERE e."index" = ANY(%s::text::bigint[])'
)


def one_query_params(nodes: Sequence[tuple[int, int]]) -> list[str]:
    inner = [(level, index) for level, index in nodes if level > 0]
    leaves = [index for level, index in nodes if level == 0]
    columns = ([lv for lv, _ in inner], [i for _, i in inner], leaves)
    return ["{" + ",".join(map(str, column)) + "}" for column in columns]


def sketched_inclusion_proof(index: int, size: int) -> list[bytes]:
    """What `ledger.log.inclusion_proof` could do instead, measured here and not used
    anywhere else: no separate size query (a node beyond the log is simply missing), and one
    prepared query on Django's own psycopg connection instead of two ad hoc ones."""
    from ledger import merkle

    nodes = merkle.inclusion_proof_nodes(index, size)
    rows = server_cursor().execute(ONE_QUERY, one_query_params(nodes), prepare=True).fetchall()
    hashes = {(int(lv), int(i)): bytes(h) for lv, i, h in rows}
    if len(hashes) != len(nodes):
        raise SystemExit(f"sketched proof of {index} at {size}: stored hashes missing")
    return merkle.inclusion_proof(index, size, merkle.subtree_hasher(lambda lv, i: hashes[(lv, i)]))


_server_cursors: dict[int, Any] = {}


def server_cursor() -> Any:
    """A server-side-binding cursor on Django's connection. Django's own cursors bind on the
    client (psycopg's ClientCursor), which inlines the values and never prepares."""
    import psycopg
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    if id(raw) not in _server_cursors:
        _server_cursors[id(raw)] = psycopg.Cursor(raw)
    return _server_cursors[id(raw)]


def breakdown(size: int, repeat: int, seed: int) -> None:
    """Times each step of `ledger.log.inclusion_proof` alone, and the alternatives a fix would
    use, on one random index. Steps are interleaved (one call of each per round) so that the
    load of the shared machine weighs on all of them alike."""
    from django.db import connection

    from ledger import log, merkle

    index = random.Random(seed + 2).randrange(size)
    nodes = merkle.inclusion_proof_nodes(index, size)
    leaves = [i for lv, i in nodes if lv == 0]
    inner = [(lv, i) for lv, i in nodes if lv > 0]
    hashes = log._fetch(nodes)
    # The two statements `ledger.log._fetch` sends, verbatim.
    leaf_sql = 'SELECT "index", leaf_hash FROM ledger_logentry WHERE "index" IN ({})'.format(
        ", ".join(["%s"] * len(leaves))
    )
    or_sql = 'SELECT level, "index", hash FROM ledger_lognode WHERE ' + " OR ".join(
        ['(level = %s AND "index" = %s)'] * len(inner)
    )
    or_params = [v for pair in inner for v in pair]
    connection.ensure_connection()
    raw = connection.connection

    def django_query(sql: str, params: Sequence[Any]) -> Callable[[], object]:
        def run() -> object:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()

        return run

    def raw_query(sql: str, params: Sequence[Any], prepare: bool) -> Callable[[], object]:
        def run() -> object:
            return server_cursor().execute(sql, params, prepare=prepare).fetchall()

        return run

    steps: list[tuple[str, Callable[[], object]]] = [
        ("ledger.log.inclusion_proof, whole", lambda: log.inclusion_proof(index, size)),
        ("1 log.size(): LogHead through the ORM", log.size),
        (
            "  the same as one raw SQL query, Django cursor",
            django_query("SELECT size FROM ledger_loghead WHERE id = 1", []),
        ),
        ("2 merkle.inclusion_proof_nodes", lambda: merkle.inclusion_proof_nodes(index, size)),
        ("3 log._fetch, both queries", lambda: log._fetch(nodes)),
        ("  leaf IN query, Django cursor", django_query(leaf_sql, leaves)),
        (f"  OR-chained node query ({len(inner)} terms), Django", django_query(or_sql, or_params)),
        ("  OR-chained node query, psycopg, unprepared", raw_query(or_sql, or_params, False)),
        ("  OR-chained node query, psycopg, prepared", raw_query(or_sql, or_params, True)),
        ("  SELECT 1, psycopg, prepared (a bare round trip)", raw_query("SELECT 1", [], True)),
        (
            "4 merkle.inclusion_proof from the fetched hashes",
            lambda: merkle.inclusion_proof(
                index, size, merkle.subtree_hasher(lambda lv, i: hashes[(lv, i)])
            ),
        ),
        (
            "alt: one unnest/ANY query, psycopg, prepared",
            raw_query(ONE_QUERY, one_query_params(nodes), True),
        ),
        (
            "alt: whole sketched proof (one prepared query)",
            lambda: sketched_inclusion_proof(index, size),
        ),
    ]
    samples: dict[str, list[int]] = {label: [] for label, _ in steps}
    for _label, call in steps:
        for _ in range(5):  # warm up: prepared statements, Django's query caches, buffers
            call()
    gc.collect()
    for _ in range(repeat):
        for label, call in steps:
            started = time.perf_counter_ns()
            call()
            samples[label].append(time.perf_counter_ns() - started)
    print()
    print(
        f"Where one inclusion proof's time goes (index {index:,} at size {size:,}: {len(nodes)} "
        f"hashes, {len(leaves)} leaf and {len(inner)} nodes); median of {repeat} interleaved calls"
    )
    print(f"{'step':<52} {'p50 us':>9} {'p95 us':>9}")
    for label, _ in steps:
        ordered = sorted(samples[label])
        p95 = ordered[round(0.95 * (len(ordered) - 1))]
        print(f"{label:<52} {ordered[len(ordered) // 2] / 1e3:>9.1f} {p95 / 1e3:>9.1f}")
    for label, sql, params in (
        ("OR-chained node query", or_sql, or_params),
        ("unnest/ANY query", ONE_QUERY, one_query_params(nodes)),
    ):
        plan = [row[0] for row in raw.execute("EXPLAIN (ANALYZE) " + sql, params).fetchall()]
        top = plan[0].split("  (")[0].strip()
        timing = [ln.strip() for ln in plan if ln.startswith(("Planning Time", "Execution Time"))]
        print(f"plan of the {label}: {top}; {'; '.join(timing)}")


_CATEGORIES = (
    # libpq runs in C under these two, so their own time is the send and the wait for the
    # server: the round trips.
    (
        "libpq send + wait for PostgreSQL (round trips)",
        ("psycopg/waiting", "connection.py:wait", "_execute_send"),
    ),
    ("Django ORM: building and compiling the LogHead query", ("django/db/models",)),
    ("Django cursor wrapper and connection", ("django/",)),
    ("psycopg client: sending, adapting, fetching", ("psycopg",)),
    ("ledger.merkle (Python)", ("ledger/merkle.py",)),
    ("ledger.log (Python)", ("ledger/log.py",)),
)


def categorise(filename: str, name: str) -> str:
    where = f"{filename}:{name}"
    for label, needles in _CATEGORIES:
        if any(n in where for n in needles):
            return label
    return "other (built-ins: hashing, dicts, ...)"


def profile_proofs(size: int, count: int, seed: int, path: Path) -> None:
    """cProfile over many proofs (one proof is too short to sample), own time grouped by
    layer; the full listing goes to `path`."""
    from ledger import log

    rng = random.Random(seed + 3)
    indices = [rng.randrange(size) for _ in range(count)]
    profiler = cProfile.Profile()
    profiler.enable()
    for index in indices:
        log.inclusion_proof(index, size)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("tottime")
    stats.print_stats(40)
    path.write_text(out.getvalue())
    raw_stats: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw_stats.values())
    groups: dict[str, float] = {}
    for (filename, _, name), (_, _, tottime, _, _) in raw_stats.items():
        label = categorise(filename, name)
        groups[label] = groups.get(label, 0.0) + tottime
    print()
    print(
        f"cProfile of {count} ledger.log.inclusion_proof calls: {total / count * 1e3:.3f} ms "
        f"per proof under the profiler, own time by layer (listing in {path}):"
    )
    for label, seconds in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds / total:>6.1%}  {seconds / count * 1e6:>7.1f} us/proof  {label}")
    trips = sum(entry[1] for key, entry in raw_stats.items() if key[2] == "_execute_send")
    print(f"  queries sent per proof: {trips / count:.1f}")


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--entries", type=int, default=1_000_000, help="log size for proofs")
    parser.add_argument("--append-entries", type=int, default=50_000, help="entries per run")
    parser.add_argument("--batch", type=int, default=1_000, help="entries per append batch")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--proofs", type=int, default=2_000, help="inclusion proofs per run")
    parser.add_argument("--consistency-proofs", type=int, default=500, help="per run")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--skip-appends", action="store_true")
    parser.add_argument("--skip-proofs", action="store_true")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile proofs even if the p95 target is met (always done when it is missed)",
    )
    parser.add_argument(
        "--profile-output", default=str(Path(tempfile.gettempdir()) / "log-bench-profile.txt")
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.entries < 2 or args.append_entries < 1 or args.batch < 1:
        parser.error("--runs, --entries, --append-entries and --batch must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    configure_environment(args.database_url)
    ensure_database(args.database_url)
    setup_django()
    refuse_foreign_data()
    print(machine_note())
    print(server_note())
    count = max(args.append_entries, 0 if args.skip_proofs else args.entries)
    started = time.perf_counter()
    payloads = make_payloads(count, args.seed)
    megabytes = sum(len(p) for p in payloads) / 1e6
    print(
        f"{count:,} payloads, {megabytes * 1e6 / count:,.0f} bytes on average, made in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="log-bench-"))
    try:
        if not args.skip_appends:
            rates = measure_appends(payloads[: args.append_entries], args.batch, args.runs, workdir)
            report_appends(rates, payloads[: args.append_entries], args.batch, args.runs)
        if not args.skip_proofs:
            run_proofs(payloads[: args.entries], args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_proofs(payloads: Sequence[bytes], args: argparse.Namespace, workdir: Path) -> None:
    size = len(payloads)
    print(f"\nbuilding the {size:,}-entry log and pymerkle's trees ...", flush=True)
    log_rate = build_log(payloads)
    sqlite_tree, sqlite_rate = build_pymerkle_sqlite(payloads, workdir)
    memory_tree, memory_rate = build_pymerkle_memory(payloads)
    print(
        f"built at: ledger.log append_entries (batches of {BUILD_BATCH:,}) {log_rate:,.0f}/s, "
        f"pymerkle SqliteTree bulk {sqlite_rate:,.0f}/s, InmemoryTree {memory_rate:,.0f}/s",
        flush=True,
    )
    trees = {IMPLS[0]: sqlite_tree, IMPLS[2]: memory_tree}
    # A million payloads and pymerkle's nodes are long-lived: keep the collector from
    # rescanning them during timed calls, for every implementation alike.
    gc.collect()
    gc.freeze()
    try:
        results = measure_proofs(payloads, trees, args)
        p95 = report_proofs(results, size, args)
        breakdown(size, 300, args.seed)
        if p95 > TARGET_MS or args.profile:
            profile_proofs(size, 500, args.seed, Path(args.profile_output))
    finally:
        gc.unfreeze()
        sqlite_tree.close()


if __name__ == "__main__":
    main()
