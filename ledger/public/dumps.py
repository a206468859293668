"""Daily dumps (issue 10): each UTC day's public records as gzipped CSV and Parquet, checkable
against the log.

A day's dump holds every decision RECEIVED that day (the UTC date of `Decision.created_at`, the
day the public statistics count it under) and every appeal outcome DECIDED that day (the
APPEAL_DECIDED reviews). Each record is its log entry and nothing else: its columns are read
from the entry's payload (the canonical JSON whose leaf hash is in the Merkle tree), never from
the rows' private columns, and the payload itself is a column, so anyone can recompute the
`leaf_hash` from the dump alone and check it is the log's entry at `log_index` under the
signed checkpoint shipped beside it (`python -m ledger.verify URL --dump FILE`).

Files of a day, in LEDGER_DUMP_DIR/YYYY-MM-DD/ (served at /data/YYYY-MM-DD/<name>):
decisions-D.csv.gz, decisions-D.parquet, appeals-D.csv.gz, appeals-D.parquet,
checkpoint-D.txt (the signed note), README-D.txt (status, counts, licence, citation, how to
verify) and SHA256SUMS (``sha256sum -c`` format) over the others.

Decisions taken here:
- The checkpoint of a dump is the EARLIEST signed checkpoint covering every record of the day
  (one is sealed when none does yet), and the records are those below its size. So cutting the
  same day again finds the same checkpoint and the same records, and writes the same bytes
  (gzip without a name or time, Parquet without timestamps): a re-cut is idempotent.
- A day with no records gets no dump (an empty file would still need a checkpoint, and none
  describes "nothing happened" better than the absence of the day on /data/).
- A day is "complete" once it ended SETTLE ago (room for the transactions in flight at
  midnight, whose rows carry the day's time but commit just after); a cut before that is
  "partial: everything recorded so far" and says so in its README. Today's dump is re-cut on
  demand (`manage.py export_dumps`); beat cuts each day once it is complete and then leaves it
  alone: the tables are append-only, so a complete day's records never change.
- Each file is written to a temporary file in the same directory and renamed over the old one,
  so a reader sees the old file or the new, never half of one; SHA256SUMS is written last.
  Several servers must share LEDGER_DUMP_DIR (shared storage) or leave the exporting to one.
- Rows stream from the database in batches (`iterator`) into both files at once: a day of a
  million decisions is never all in memory.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import filecmp
import gzip
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import msgspec
from django.conf import settings
from django.db import connection
from django.db.models import Max, QuerySet
from django.utils import timezone

from appeals.models import Review
from ledger import log
from ledger.models import Checkpoint, EntryType
from ledger.public import LICENCE, LICENCE_URL, citation
from ledger.verify import dump_cell
from moderation.models import Decision
from moderation.payloads import DECISION_FIELDS, Shown

KINDS = ("decisions", "appeals")
FORMATS = ("csv.gz", "parquet")
SUMS = "SHA256SUMS"
SETTLE = dt.timedelta(minutes=2)
# Rows per database round trip and per Parquet record batch.
BATCH = 5000
# pg_advisory_lock key of the exporter ("dumps" in ASCII); any constant no one else uses.
LOCK_KEY = 0x64756D7073
_DAY_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_COMPLETE = "Status: complete"
# The payloads are the log's canonical JSON; msgspec reads them to the same values json does,
# several times faster.
_decode = msgspec.json.Decoder().decode


@dataclass(frozen=True, slots=True)
class Column:
    """A dump column: a payload key (or log_index, leaf_hash, payload) and its Parquet type,
    one of "text", "bool", "float", "int". Lists and objects are canonical JSON text."""

    name: str
    kind: str = "text"


HEAD = (Column("log_index", "int"), Column("leaf_hash"))
TAIL = (Column("payload"),)


def _decision_columns() -> tuple[Column, ...]:
    """The decision payload's keys in DECISION_FIELDS order ("type" left out: the file says
    it), typed by the model field they come from."""
    kinds = {"BooleanField": "bool", "FloatField": "float"}
    columns: dict[str, Column] = {}
    for field in DECISION_FIELDS:
        if field.shown is Shown.PRIVATE or field.payload_key in columns:
            continue
        model_field = Decision._meta.get_field(field.column)
        kind = "text" if field.shown is Shown.COMPOSED else kinds.get(type(model_field).__name__)
        columns[field.payload_key] = Column(field.payload_key, kind or "text")
    return tuple(columns.values())


DECISION_COLUMNS = (*HEAD, *_decision_columns(), *TAIL)
# The keys of an APPEAL_DECIDED payload (appeals.payloads.appeal_reviewed_payload); the last two
# appear only for an approved proposal.
APPEAL_COLUMNS = (
    *HEAD,
    Column("appeal"),
    Column("decision"),
    Column("platform"),
    Column("outcome"),
    Column("decided_at"),
    Column("reviewer"),
    Column("reason_sha256"),
    Column("reversal"),
    Column("proposal", "int"),
    Column("approval_reason_sha256"),
    *TAIL,
)
COLUMNS = {"decisions": DECISION_COLUMNS, "appeals": APPEAL_COLUMNS}


def dump_dir() -> Path:
    return Path(settings.LEDGER_DUMP_DIR)


def day_dir(day: dt.date) -> Path:
    return dump_dir() / day.isoformat()


def data_name(kind: str, day: dt.date, fmt: str) -> str:
    return f"{kind}-{day.isoformat()}.{fmt}"


def checkpoint_name(day: dt.date) -> str:
    return f"checkpoint-{day.isoformat()}.txt"


def readme_name(day: dt.date) -> str:
    return f"README-{day.isoformat()}.txt"


def file_names(day: dt.date) -> list[str]:
    """Every file a day's dump has, in listing order: the only names /data/ serves."""
    data = [data_name(kind, day, fmt) for kind in KINDS for fmt in FORMATS]
    return [*data, checkpoint_name(day), readme_name(day), SUMS]


def parse_day(text: str) -> dt.date:
    """A YYYY-MM-DD date; ValueError naming the text otherwise."""
    if not _DAY_RE.fullmatch(text):
        raise ValueError(f"{text!r} is not a date as YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a date as YYYY-MM-DD ({exc})") from exc


def _bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)


def is_settled(day: dt.date, now: dt.datetime | None = None) -> bool:
    """Whether the day ended long enough ago that no record of it can still commit."""
    return (now or timezone.now()) >= _bounds(day)[1] + SETTLE


# --- the records ----------------------------------------------------------------------------


def _decisions(day: dt.date) -> QuerySet[Decision]:
    # No index serves created_at: a cut scans the decisions once per day cut (beat cuts each
    # day once).
    start, end = _bounds(day)
    return Decision.objects.filter(created_at__gte=start, created_at__lt=end)


def _appeal_outcomes(day: dt.date) -> QuerySet[Review]:
    start, end = _bounds(day)
    return Review.objects.filter(
        decided_at__gte=start,
        decided_at__lt=end,
        appeal__isnull=False,
        log_entry__entry_type=EntryType.APPEAL_DECIDED,
    )


def _records(kind: str, day: dt.date, size: int) -> Iterator[tuple[int, str, bytes]]:
    """(log index, payload, leaf hash) of the day's records below tree `size`, by index."""
    rows = _decisions(day) if kind == "decisions" else _appeal_outcomes(day)
    yield from (
        (index, payload, bytes(leaf))
        for index, payload, leaf in rows.filter(log_entry_id__lt=size)
        .order_by("log_entry_id")
        .values_list("log_entry_id", "log_entry__payload", "log_entry__leaf_hash")
        .iterator(chunk_size=BATCH)
    )


def _last_index(day: dt.date) -> int | None:
    last = [
        qs.aggregate(last=Max("log_entry_id"))["last"]
        for qs in (_decisions(day), _appeal_outcomes(day))
    ]
    found = [index for index in last if index is not None]
    return max(found) if found else None


def _covering_checkpoint(last_index: int) -> Checkpoint:
    """The earliest signed checkpoint holding entry `last_index`, sealed now if none does."""
    covering = Checkpoint.objects.filter(size__gt=last_index).order_by("size")
    found = covering.first()
    if found is None:
        log.seal_checkpoint()  # None if another process sealed it meanwhile: found below
        found = covering.first()
    if found is None:
        raise RuntimeError(f"no checkpoint covers log entry {last_index} after sealing")
    return found


# --- writing --------------------------------------------------------------------------------


def _parquet_columns(
    columns: Sequence[Column], rows: list[list[Any]], cells: list[list[str]]
) -> list[list[Any]]:
    """The batch column by column as Parquet holds it: null stays null, lists and objects are
    their CSV cell (JSON text), floats are floats even when the JSON wrote an integer."""
    arrays: list[list[Any]] = []
    for position, column in enumerate(columns):
        values = [row[position] for row in rows]
        if column.kind == "text":
            values = [
                None if v is None else c[position] for v, c in zip(values, cells, strict=True)
            ]
        elif column.kind == "float":
            values = [None if v is None else float(v) for v in values]
        arrays.append(values)
    return arrays


@dataclass(frozen=True, slots=True)
class Written:
    kind: str
    records: int


class _Atomic:
    """A file written under a temporary name beside `path`, renamed over it on success; left
    as it was when the new bytes equal the old (no new mtime, no cache invalidated)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        self.tmp = Path(name)

    def commit(self) -> None:
        with open(self.tmp, "rb") as file:
            os.fsync(file.fileno())
        if self.path.exists() and filecmp.cmp(self.tmp, self.path, shallow=False):
            self.tmp.unlink()
            return
        os.chmod(self.tmp, 0o644)
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.tmp.unlink()


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    target = _Atomic(path)
    try:
        yield target.tmp
        target.commit()
    except BaseException:
        target.discard()
        raise


def _write_text(path: Path, text: str) -> None:
    with _atomic(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _metadata(kind: str, day: dt.date, checkpoint: Checkpoint) -> dict[str, str]:
    return {
        "dump": kind,
        "day": day.isoformat(),
        "checkpoint_size": str(checkpoint.size),
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "citation": citation(settings.PUBLIC_BASE_URL, checkpoint.size),
    }


def _write_kind(kind: str, day: dt.date, checkpoint: Checkpoint, directory: Path) -> Written:
    """Both files of one kind in one pass over its records."""
    # Here, not at the top: /data/ and the beat task import this module, and only a cut needs
    # pyarrow (some 100 MB once loaded).
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = COLUMNS[kind]
    types = {"text": pa.string(), "bool": pa.bool_(), "float": pa.float64(), "int": pa.int64()}
    schema = pa.schema([pa.field(c.name, types[c.kind]) for c in columns]).with_metadata(
        _metadata(kind, day, checkpoint)
    )
    count = 0
    with (
        _atomic(directory / data_name(kind, day, "csv.gz")) as csv_tmp,
        _atomic(directory / data_name(kind, day, "parquet")) as parquet_tmp,
        open(csv_tmp, "wb") as raw,
        # No file name and mtime 0 in the gzip header: the same rows give the same bytes.
        # Level 6 (zlib's default): level 9 takes twice as long for a few per cent.
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as zipped,
        io.TextIOWrapper(zipped, encoding="utf-8", newline="") as text,
        pq.ParquetWriter(parquet_tmp, schema, compression="zstd") as parquet,
    ):
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow([c.name for c in columns])
        fields = [c.name for c in columns[len(HEAD) : -len(TAIL)]]
        for batch in _batches(_records(kind, day, checkpoint.size)):
            rows = [
                [index, leaf.hex(), *map(_decode(payload).get, fields), payload]
                for index, payload, leaf in batch
            ]
            cells = [[dump_cell(value) for value in row] for row in rows]
            writer.writerows(cells)
            arrays = _parquet_columns(columns, rows, cells)
            parquet.write_batch(pa.record_batch(arrays, schema=schema))
            count += len(batch)
    return Written(kind, count)


def _batches(records: Iterable[tuple[int, str, bytes]]) -> Iterator[list[tuple[int, str, bytes]]]:
    batch: list[tuple[int, str, bytes]] = []
    for record in records:
        batch.append(record)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _readme(day: dt.date, checkpoint: Checkpoint, written: list[Written], complete: bool) -> str:
    counts = {w.kind: w.records for w in written}
    base = settings.PUBLIC_BASE_URL or "URL"
    status = (
        f"{_COMPLETE} (cut after the day ended; it will not change)"
        if complete
        else "Status: partial (everything recorded so far; cut again until the day has ended)"
    )
    columns = "\n".join(f"  {kind}: {', '.join(c.name for c in COLUMNS[kind])}" for kind in KINDS)
    return (
        f"Moderation-decision transparency ledger: public records of {day.isoformat()} (UTC)\n"
        f"{status}\n"
        f"Decisions received that day: {counts['decisions']}\n"
        f"Appeal outcomes decided that day: {counts['appeals']}\n"
        f"Log checkpoint: size {checkpoint.size} ({checkpoint_name(day)}, signed by the log)\n"
        f"Licence: {LICENCE} ({LICENCE_URL})\n"
        f"Cite as: {citation(settings.PUBLIC_BASE_URL, checkpoint.size)}\n"
        "\n"
        "Each record is one log entry: `payload` is the entry's canonical JSON, `leaf_hash` is\n"
        "hex SHA-256(0x00 || payload) (RFC 9162), `log_index` its place in the log; the other\n"
        "columns are the payload's fields (lists and objects as JSON, null as empty in CSV).\n"
        f"Columns:\n{columns}\n"
        "\n"
        "Check the files and every record against the signed log:\n"
        "  sha256sum -c SHA256SUMS\n"
        f"  python -m ledger.verify {base} --dump {data_name('decisions', day, 'csv.gz')}\n"
    )


@dataclass(frozen=True, slots=True)
class Cut:
    day: dt.date
    directory: Path
    checkpoint_size: int
    written: list[Written]
    complete: bool

    @property
    def files(self) -> list[Path]:
        return [self.directory / name for name in file_names(self.day)]


def cut(day: dt.date, *, now: dt.datetime | None = None) -> Cut | None:
    """Write the day's dump (again); None when the day has no records (nothing written)."""
    now = now or timezone.now()
    if day > now.astimezone(dt.UTC).date():
        raise ValueError(f"{day.isoformat()} is in the future")
    last = _last_index(day)
    if last is None:
        return None
    checkpoint = _covering_checkpoint(last)
    complete = is_settled(day, now)
    directory = day_dir(day)
    directory.mkdir(parents=True, exist_ok=True)
    written = [_write_kind(kind, day, checkpoint, directory) for kind in KINDS]
    _write_text(directory / checkpoint_name(day), checkpoint.note)
    _write_text(directory / readme_name(day), _readme(day, checkpoint, written, complete))
    sums = "".join(f"{sha256_file(directory / name)}  {name}\n" for name in file_names(day)[:-1])
    _write_text(directory / SUMS, sums)
    return Cut(day, directory, checkpoint.size, written, complete)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- beat: each day once it is complete -----------------------------------------------------

_MARK = ".complete-upto"


def _first_day() -> dt.date | None:
    first = Decision.objects.order_by("log_entry_id").values_list("created_at", flat=True)
    moment = first.first()
    return None if moment is None else moment.astimezone(dt.UTC).date()


def _mark() -> dt.date | None:
    try:
        return dt.date.fromisoformat((dump_dir() / _MARK).read_text().strip())
    except FileNotFoundError:
        return None


def export_due(*, now: dt.datetime | None = None, wait: bool = False) -> list[Cut]:
    """Cut every complete day not cut complete yet, from the first decision's day; remember
    the last one in LEDGER_DUMP_DIR/.complete-upto, so each day is cut once. Under the
    exporter lock: a second exporter at the same moment cuts nothing (`wait` False) or finds
    the days done."""
    now = now or timezone.now()
    with exporter_lock(wait=wait) as held:
        if not held:
            return []
        first = _first_day()
        if first is None:
            return []
        mark = _mark()
        day = first if mark is None else max(first, mark + dt.timedelta(days=1))
        cuts = []
        while is_settled(day, now):
            done = cut(day, now=now)
            if done is not None:
                cuts.append(done)
            dump_dir().mkdir(parents=True, exist_ok=True)
            _write_text(dump_dir() / _MARK, day.isoformat() + "\n")
            day += dt.timedelta(days=1)
        return cuts


@contextlib.contextmanager
def exporter_lock(*, wait: bool) -> Iterator[bool]:
    """One exporter at a time: a session advisory lock on PostgreSQL (every server shares
    it), else an exclusive lock on a file in LEDGER_DUMP_DIR. Yields whether it is held; with
    `wait` it waits for it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            function = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
            cursor.execute(f"SELECT {function}(%s)", [LOCK_KEY])
            held = wait or bool(cursor.fetchone()[0])
        try:
            yield held
        finally:
            if held:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
        return
    import fcntl  # POSIX only, and only without PostgreSQL (development)

    dump_dir().mkdir(parents=True, exist_ok=True)
    with open(dump_dir() / ".lock", "a") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


# --- reading: what /data/ lists and serves --------------------------------------------------


@dataclass(frozen=True, slots=True)
class DumpFile:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Day:
    day: dt.date
    files: list[DumpFile]
    checkpoint_size: int | None
    complete: bool
    counts: dict[str, int]


def read_day(day: dt.date) -> Day | None:
    """A cut day's files with their sizes and checksums (from SHA256SUMS), or None."""
    directory = day_dir(day)
    try:
        sums = (directory / SUMS).read_text(encoding="utf-8")
        readme = (directory / readme_name(day)).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    known = set(file_names(day))
    digests = {}
    for line in sums.splitlines():
        digest, _, name = line.partition("  ")
        if name in known:
            digests[name] = digest
    files = []
    for name in file_names(day):
        path = directory / name
        with contextlib.suppress(FileNotFoundError):
            files.append(DumpFile(name, path.stat().st_size, digests.get(name, "")))
    size = re.search(r"^Log checkpoint: size ([0-9]+)", readme, re.MULTILINE)
    counts = {
        kind: int(found.group(1))
        for kind, label in (("decisions", "Decisions"), ("appeals", "Appeal outcomes"))
        if (found := re.search(rf"^{label}[^:]*: ([0-9]+)$", readme, re.MULTILINE))
    }
    return Day(
        day=day,
        files=files,
        checkpoint_size=int(size.group(1)) if size else None,
        complete=readme.splitlines()[1].startswith(_COMPLETE),
        counts=counts,
    )


def days() -> list[Day]:
    """Every cut day, newest first."""
    try:
        names = sorted((p.name for p in dump_dir().iterdir() if p.is_dir()), reverse=True)
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        with contextlib.suppress(ValueError):
            day = read_day(parse_day(name))
            if day is not None:
                found.append(day)
    return found


def open_file(day_text: str, name: str) -> tuple[IO[bytes], Day] | None:
    """The file `name` of day `day_text`, if it is one of that day's exact file names and has
    been cut; None otherwise (no path built from anything else)."""
    try:
        day = parse_day(day_text)
    except ValueError:
        return None
    if name not in file_names(day):
        return None
    listed = read_day(day)
    if listed is None:
        return None
    try:
        return open(day_dir(day) / name, "rb"), listed
    except FileNotFoundError:
        return None
