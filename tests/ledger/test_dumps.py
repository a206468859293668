"""Daily dumps (ledger.public.dumps, /data/, export_dumps, the beat task): a day's file holds
exactly that UTC day's public records, read from the log, in CSV and Parquet alike; cutting it
again gives the same bytes; and `python -m ledger.verify URL --dump FILE` passes a good dump
and names the record of a tampered one."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from appeals.payloads import appeal_reviewed_payload
from appeals.services import claim_next_review, file_appeal, resolve_appeal
from ledger import log, verify
from ledger.models import Checkpoint
from ledger.public import LICENCE, dumps
from ledger.public import tasks as public_tasks
from moderation import services
from moderation.models import Decision, Platform
from moderation.payloads import DECISION_PAYLOAD_KEYS
from tests.concurrency import at_once, failures
from tests.factories import as_input, decision_payload, human_payload, make_reviewer

DAY = dt.date(2026, 12, 5)
NOTES = "internal: escalated by trust and safety lead Jo"
STATEMENT = "My post quoted the hateful text in order to condemn it, please look again."
REASON = "Reviewed the context: the quote condemns the speech it cites."


def at(day: dt.date, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def dump_dir(settings: Any, tmp_path: Path) -> Path:
    settings.LEDGER_DUMP_DIR = tmp_path / "dumps"
    return Path(settings.LEDGER_DUMP_DIR)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[dt.datetime], None]:
    """Sets what timezone.now() answers everywhere (the services stamp rows with it)."""

    def set_to(moment: dt.datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_to


def record(platform: Platform, count: int = 1, **overrides: Any) -> list[Decision]:
    recorded = services.record_decisions(
        platform=platform,
        decisions=[as_input(decision_payload(**overrides)) for _ in range(count)],
    )
    return list(
        Decision.objects.filter(public_id__in=[r.public_id for r in recorded]).order_by(
            "log_entry_id"
        )
    )


def uphold(
    platform: Platform, decision: Decision, clock: Callable[[dt.datetime], None], when: dt.datetime
) -> None:
    clock(when - dt.timedelta(hours=2))
    file_appeal(decision=decision, appellant="subject", statement=STATEMENT)
    reviewer = make_reviewer(platform, f"rev-{decision.pk}")
    clock(when)
    item = claim_next_review(reviewer=reviewer)
    assert item is not None
    resolve_appeal(
        reviewer=reviewer, item=item, version=item.version, outcome="upheld", reason=REASON
    )


def csv_rows(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def all_bytes(directory: Path) -> bytes:
    """Every file of a dump, the compressed ones unpacked, for searching."""
    parts = []
    for path in sorted(directory.iterdir()):
        data = path.read_bytes()
        parts.append(gzip.decompress(data) if path.name.endswith(".gz") else data)
        if path.name.endswith(".parquet"):
            parts.append(json.dumps(pq.read_table(path).to_pylist()).encode())
    return b"\n".join(parts)


@pytest.fixture
def busy_days(
    platform: Platform, model_v1: Any, clock: Callable[[dt.datetime], None]
) -> dict[str, list[Decision]]:
    """Decisions on both sides of DAY's UTC midnights, and one appeal decided on DAY."""
    before = DAY - dt.timedelta(days=1)
    after = DAY + dt.timedelta(days=1)
    clock(at(before, 23, 59, 59, 999_999))
    late = record(platform, 2)
    clock(at(DAY, 0))
    first = record(platform, 1, internal_notes=NOTES)
    clock(at(DAY, 13, 30))
    middle = record(platform, 3)
    middle += services_human(platform)
    clock(at(DAY, 23, 59, 59, 999_999))
    last = record(platform, 1)
    clock(at(after, 0))
    next_day = record(platform, 2)
    uphold(platform, late[0], clock, at(DAY, 9))
    clock(at(after, 12))
    return {
        "before": late,
        "day": first + middle + last,
        "after": next_day,
    }


def services_human(platform: Platform) -> list[Decision]:
    recorded = services.record_decisions(platform=platform, decisions=[as_input(human_payload())])
    return [Decision.objects.get(public_id=recorded[0].public_id)]


def test_a_day_holds_exactly_its_utc_days_decisions_and_appeal_outcomes(
    busy_days: dict[str, list[Decision]], dump_dir: Path
) -> None:
    done = dumps.cut(DAY)

    assert done is not None and done.complete
    directory = dump_dir / DAY.isoformat()
    assert sorted(p.name for p in directory.iterdir()) == sorted(dumps.file_names(DAY))
    decisions = csv_rows(directory / "decisions-2026-12-05.csv.gz")
    assert [r["id"] for r in decisions] == [str(d.public_id) for d in busy_days["day"]]
    assert [int(r["log_index"]) for r in decisions] == [d.log_entry_id for d in busy_days["day"]]
    appeals = csv_rows(directory / "appeals-2026-12-05.csv.gz")
    assert [(r["decision"], r["outcome"]) for r in appeals] == [
        (str(busy_days["before"][0].public_id), "upheld")
    ]
    assert appeals[0]["decided_at"].startswith("2026-12-05T09:00:00")
    # The day before has its two late decisions and no appeal outcome.
    dumps.cut(DAY - dt.timedelta(days=1))
    before = dump_dir / (DAY - dt.timedelta(days=1)).isoformat()
    assert len(csv_rows(before / "decisions-2026-12-04.csv.gz")) == 2
    assert csv_rows(before / "appeals-2026-12-04.csv.gz") == []


def test_each_record_is_its_log_entry_and_csv_and_parquet_agree(
    busy_days: dict[str, list[Decision]], dump_dir: Path
) -> None:
    dumps.cut(DAY)
    directory = dump_dir / DAY.isoformat()

    for kind in dumps.KINDS:
        rows = csv_rows(directory / f"{kind}-2026-12-05.csv.gz")
        table = pq.read_table(directory / f"{kind}-2026-12-05.parquet")
        assert table.column_names == [c.name for c in dumps.COLUMNS[kind]]
        assert [r["payload"] for r in rows] == table.column("payload").to_pylist()
        for row, typed in zip(rows, table.to_pylist(), strict=True):
            payload = json.loads(row["payload"])
            assert row["leaf_hash"] == hashlib.sha256(b"\x00" + row["payload"].encode()).hexdigest()
            assert typed["log_index"] == int(row["log_index"])
            for name, cell in row.items():
                if name not in ("log_index", "leaf_hash", "payload"):
                    assert cell == verify.dump_cell(payload.get(name)), name
    metadata = pq.read_schema(directory / "decisions-2026-12-05.parquet").metadata
    assert metadata[b"licence"] == LICENCE.encode()
    assert b"log checkpoint of size" in metadata[b"citation"]


def test_the_payload_and_leaf_hash_are_the_logs_own(
    busy_days: dict[str, list[Decision]], dump_dir: Path
) -> None:
    from ledger.models import LogEntry

    dumps.cut(DAY)
    rows = csv_rows(dump_dir / DAY.isoformat() / "decisions-2026-12-05.csv.gz")
    entries = LogEntry.objects.in_bulk([int(r["log_index"]) for r in rows])
    for row in rows:
        entry = entries[int(row["log_index"])]
        assert (row["payload"], row["leaf_hash"]) == (entry.payload, bytes(entry.leaf_hash).hex())


def test_the_columns_are_the_payloads_public_keys() -> None:
    names = {c.name for c in dumps.DECISION_COLUMNS}
    assert names - {"log_index", "leaf_hash", "payload"} == DECISION_PAYLOAD_KEYS - {"type"}
    _, body = appeal_reviewed_payload(
        appeal=Decision().public_id,
        decision=Decision().public_id,
        platform="p",
        outcome="upheld",
        reviewer_id=1,
        decided_at=at(DAY, 1),
        reason_sha256="0" * 64,
        reversal=None,
        proposal=7,
        approval_reason_sha256="1" * 64,
    )
    keys = set(json.loads(body)) - {"type"}
    assert {c.name for c in dumps.APPEAL_COLUMNS} - {"log_index", "leaf_hash", "payload"} == keys


def test_no_private_field_reaches_a_dump(
    busy_days: dict[str, list[Decision]], dump_dir: Path
) -> None:
    dumps.cut(DAY)
    found = all_bytes(dump_dir / DAY.isoformat())

    for private in (NOTES, STATEMENT, REASON, "mod-7", "notice-77", "user-", "post-"):
        assert private.encode() not in found, private
    for decision in busy_days["day"]:
        assert decision.notice_token.encode() not in found
    # The subjects are there, as the log's pseudonyms.
    assert busy_days["day"][0].subject_account.encode() in found


def test_cutting_a_day_again_writes_the_same_bytes_and_correct_sums(
    busy_days: dict[str, list[Decision]], dump_dir: Path, platform: Platform
) -> None:
    dumps.cut(DAY)
    directory = dump_dir / DAY.isoformat()
    first = {p.name: p.read_bytes() for p in directory.iterdir()}
    # The log grows meanwhile (another day's decisions, a newer checkpoint): no matter.
    record(platform, 2)
    log.seal_checkpoint()
    dumps.cut(DAY)
    again = {p.name: p.read_bytes() for p in directory.iterdir()}

    assert again == first
    sums = dict(
        (name, digest)
        for digest, name in (line.split("  ") for line in first["SHA256SUMS"].decode().splitlines())
    )
    assert set(sums) == set(dumps.file_names(DAY)) - {"SHA256SUMS"}
    for name, digest in sums.items():
        assert hashlib.sha256(first[name]).hexdigest() == digest
    checkpoint = Checkpoint.objects.get(note=first["checkpoint-2026-12-05.txt"].decode())
    # The earliest checkpoint that holds every record of the day.
    last = max(int(r["log_index"]) for r in csv_rows(directory / "decisions-2026-12-05.csv.gz"))
    assert checkpoint.size > last
    assert not Checkpoint.objects.filter(size__gt=last, size__lt=checkpoint.size).exists()
    readme = first["README-2026-12-05.txt"].decode()
    assert "Status: complete" in readme and LICENCE in readme
    assert f"log checkpoint of size {checkpoint.size}" in readme


def test_todays_dump_is_partial_and_gains_the_days_new_records(
    platform: Platform, model_v1: Any, clock: Callable[[dt.datetime], None], dump_dir: Path
) -> None:
    clock(at(DAY, 8))
    record(platform, 2)
    clock(at(DAY, 9))
    morning = dumps.cut(DAY)
    record(platform, 1)
    afternoon = dumps.cut(DAY)

    assert morning is not None and afternoon is not None
    assert not morning.complete and not afternoon.complete
    assert [w.records for w in morning.written] == [2, 0]
    assert [w.records for w in afternoon.written] == [3, 0]
    assert "Status: partial" in (dump_dir / DAY.isoformat() / "README-2026-12-05.txt").read_text()


def test_a_day_without_records_has_no_dump(
    busy_days: dict[str, list[Decision]], dump_dir: Path
) -> None:
    assert dumps.cut(DAY - dt.timedelta(days=3)) is None
    assert not (dump_dir / (DAY - dt.timedelta(days=3)).isoformat()).exists()


def test_export_dumps_cuts_the_day_asked_or_today(
    busy_days: dict[str, list[Decision]], dump_dir: Path, clock: Callable[[dt.datetime], None]
) -> None:
    out = io.StringIO()
    call_command("export_dumps", "--date", "2026-12-05", stdout=out)
    assert "Cut 2026-12-05: 6 decisions, 1 appeals" in out.getvalue()
    assert "complete" in out.getvalue()
    assert "decisions-2026-12-05.parquet" in out.getvalue()

    out = io.StringIO()
    call_command("export_dumps", stdout=out)  # today: 2026-12-06 at noon, two so far
    assert "Cut 2026-12-06: 2 decisions, 0 appeals" in out.getvalue()
    assert "partial" in out.getvalue()

    out = io.StringIO()
    call_command("export_dumps", "--date", "2026-11-01", stdout=out)
    assert "No records on 2026-11-01" in out.getvalue()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("5.12.2026", "'5.12.2026' is not a date as YYYY-MM-DD"),
        ("2026-02-30", "'2026-02-30' is not a date as YYYY-MM-DD"),
        ("2999-01-01", "2999-01-01 is in the future"),
    ],
)
def test_export_dumps_refuses_a_bad_date_naming_it(db: None, value: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("export_dumps", "--date", value)


def test_beat_cuts_each_complete_day_once(
    busy_days: dict[str, list[Decision]], dump_dir: Path, clock: Callable[[dt.datetime], None]
) -> None:
    clock(at(DAY + dt.timedelta(days=2), 0, 5))
    assert public_tasks.export_daily_dumps() == ["2026-12-04", "2026-12-05", "2026-12-06"]
    assert public_tasks.export_daily_dumps() == []
    clock(at(DAY + dt.timedelta(days=3), 0, 5))
    assert public_tasks.export_daily_dumps() == []  # the 7th had no records
    assert (dump_dir / ".complete-upto").read_text().strip() == "2026-12-07"


def test_beat_leaves_today_and_a_just_ended_day_alone(
    busy_days: dict[str, list[Decision]], dump_dir: Path, clock: Callable[[dt.datetime], None]
) -> None:
    # At 00:00:30 on the 7th, the 6th's last transactions may still be committing.
    clock(at(DAY + dt.timedelta(days=2), 0, 0, 30))
    assert public_tasks.export_daily_dumps() == ["2026-12-04", "2026-12-05"]


# --- /data/ ---------------------------------------------------------------------------------


def test_the_data_page_lists_each_days_files_sums_and_checkpoint(
    busy_days: dict[str, list[Decision]], client: Any
) -> None:
    done = dumps.cut(DAY)
    assert done is not None
    response = client.get("/data/")

    assert response.status_code == 200
    html = response.content.decode()
    sums = (done.directory / "SHA256SUMS").read_text()
    for line in sums.splitlines():
        digest, name = line.split("  ")
        assert f'href="/data/2026-12-05/{name}"' in html
        assert digest in html
    assert f"checkpoint of size {done.checkpoint_size}" in html
    assert "CC BY 4.0" in html
    assert "python -m ledger.verify http://testserver --dump decisions-2026-12-05.csv.gz" in html


def test_the_data_page_without_dumps(db: None, client: Any) -> None:
    response = client.get("/data/")
    assert response.status_code == 200
    assert "No dumps have been cut yet." in response.content.decode()


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("decisions-2026-12-05.csv.gz", "application/gzip"),
        ("appeals-2026-12-05.parquet", "application/vnd.apache.parquet"),
        ("checkpoint-2026-12-05.txt", "text/plain; charset=utf-8"),
        ("README-2026-12-05.txt", "text/plain; charset=utf-8"),
        ("SHA256SUMS", "text/plain; charset=utf-8"),
    ],
)
def test_each_file_is_served_as_written_with_its_type_and_a_long_cache(
    busy_days: dict[str, list[Decision]], client: Any, name: str, content_type: str
) -> None:
    done = dumps.cut(DAY)
    assert done is not None
    response = client.get(f"/data/2026-12-05/{name}")

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert b"".join(response.streaming_content) == (done.directory / name).read_bytes()
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.has_header("Content-Length")


def test_todays_files_are_cached_briefly(
    platform: Platform, model_v1: Any, clock: Callable[[dt.datetime], None], client: Any
) -> None:
    clock(at(DAY, 8))
    record(platform, 1)
    dumps.cut(DAY)
    response = client.get("/data/2026-12-05/SHA256SUMS")
    assert response["Cache-Control"] == "public, max-age=60"


@pytest.mark.parametrize(
    "path",
    [
        "/data/2026-12-05/decisions-2026-12-04.csv.gz",  # another day's name
        "/data/2026-12-04/decisions-2026-12-04.csv.gz",  # a day not cut
        "/data/2026-12-05/..%2F..%2Fsettings.py",
        "/data/2026-12-05/.complete-upto",
        "/data/..%2F/SHA256SUMS",
        "/data/2026-13-05/SHA256SUMS",
        "/data/2026-12-05/decisions-2026-12-05.csv",
        "/data/2026-12-05/",
    ],
)
def test_anything_but_a_cut_days_exact_file_names_is_a_404(
    busy_days: dict[str, list[Decision]], client: Any, path: str, dump_dir: Path
) -> None:
    dumps.cut(DAY)
    (dump_dir / "2026-12-05" / ".complete-upto").write_text("x")
    assert client.get(path).status_code == 404


# --- two exporters at once (PostgreSQL) -----------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_beats_cut_each_day_once(
    platform: Platform,
    model_v1: Any,
    dump_dir: Path,
    clock: Callable[[dt.datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for day in (DAY - dt.timedelta(days=1), DAY):
        clock(at(day, 10))
        record(platform, 3)
    clock(at(DAY + dt.timedelta(days=1), 0, 5))
    cuts: list[dt.date] = []
    real_cut = dumps.cut

    def counted(day: dt.date, **kwargs: Any) -> Any:
        cuts.append(day)
        return real_cut(day, **kwargs)

    monkeypatch.setattr(dumps, "cut", counted)
    outcomes = at_once([public_tasks.export_daily_dumps, public_tasks.export_daily_dumps])

    assert failures(outcomes) == []
    assert sorted(cuts) == [DAY - dt.timedelta(days=1), DAY]
    assert sorted(outcomes, key=len) == [[], ["2026-12-04", "2026-12-05"]]
    assert len(csv_rows(dump_dir / "2026-12-05" / "decisions-2026-12-05.csv.gz")) == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_exporter_lock_is_one_across_connections(dump_dir: Path) -> None:
    def hold() -> bool:
        with dumps.exporter_lock(wait=False) as held:
            if held:
                time.sleep(0.5)  # still held when the other thread asks
            return held

    outcomes = at_once([hold, hold])
    assert failures(outcomes) == []
    assert sorted(outcomes) == [False, True]


# --- the verifier against a live server -----------------------------------------------------


def run_verify(
    url: str, tmp_path: Path, *dumped: Path, fetched: list[str] | None = None
) -> tuple[int, str]:
    """The verifier's run and output; `fetched` collects the paths it asked the server for."""
    out = io.StringIO()
    args = [url, "--state", str(tmp_path / "state.json"), "--no-entries"]
    for path in dumped:
        args += ["--dump", str(path)]
    http = verify.http_fetcher(url, 30)

    def fetch(path: str) -> tuple[int, bytes]:
        if fetched is not None:
            fetched.append(path)
        return http(path)

    code = verify.main(args, out=out, fetch=fetch)
    return code, out.getvalue()


@pytest.fixture
def live_dump(
    live_server: Any, platform: Platform, model_v1: Any, clock: Callable[[dt.datetime], None]
) -> Iterator[dict[str, Any]]:
    clock(at(DAY, 10))
    earlier = record(platform, 300)  # beyond one tile of 256 leaves
    clock(at(DAY, 11))
    decisions = earlier + record(platform, 20)
    clock(at(DAY, 12))
    uphold(platform, decisions[5], clock, at(DAY, 12))
    clock(at(DAY + dt.timedelta(days=1), 1))
    record(platform, 3)  # the log goes on past the dump's checkpoint
    done = dumps.cut(DAY)
    log.seal_checkpoint()
    assert done is not None
    yield {"url": live_server.url, "dir": done.directory, "decisions": decisions}


def rewrite_csv(path: Path, change: Callable[[list[dict[str, str]]], None], sums: bool) -> None:
    rows = csv_rows(path)
    header = list(rows[0])
    change(rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(gzip.compress(buffer.getvalue().encode(), mtime=0))
    if sums:
        sums_path = path.parent / "SHA256SUMS"
        lines = sums_path.read_text().splitlines()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        sums_path.write_text(
            "".join(
                f"{digest}  {path.name}\n" if line.endswith(f"  {path.name}") else line + "\n"
                for line in lines
            )
        )


def test_verify_passes_a_good_dump_in_csv_and_parquet(
    live_dump: dict[str, Any], tmp_path: Path
) -> None:
    directory = live_dump["dir"]
    fetched: list[str] = []
    code, out = run_verify(
        live_dump["url"],
        tmp_path,
        directory / "decisions-2026-12-05.csv.gz",
        directory / "decisions-2026-12-05.parquet",
        directory / "appeals-2026-12-05.csv.gz",
        directory / "appeals-2026-12-05.parquet",
        fetched=fetched,
    )
    assert code == 0, out
    assert "OK dump decisions-2026-12-05.csv.gz: 320 decisions records of 2026-12-05" in out
    assert "OK dump appeals-2026-12-05.parquet: 1 appeals records" in out
    # 320 records over a full leaf tile and the partial one at the right edge, whose proofs
    # also need the level-1 tile: three tiles, each fetched at most once for each dump.
    tiles = Counter(path for path in fetched if path.startswith("/log/tile/"))
    assert len(tiles) == 3
    assert max(tiles.values()) <= 4


def test_verify_passes_a_day_without_appeal_outcomes_and_fails_an_empty_file(
    live_server: Any,
    platform: Platform,
    model_v1: Any,
    clock: Callable[[dt.datetime], None],
    tmp_path: Path,
) -> None:
    """A day with decisions but no appeal decided has an appeals file of a header alone: zero
    records, which is a good dump; a file of no bytes at all is not one."""
    clock(at(DAY, 10))
    record(platform, 3)
    done = dumps.cut(DAY)
    assert done is not None
    appeals = done.directory / "appeals-2026-12-05.csv.gz"
    code, out = run_verify(live_server.url, tmp_path, appeals)
    assert code == 0, out
    assert "OK dump appeals-2026-12-05.csv.gz: 0 appeals records" in out

    appeals.write_bytes(gzip.compress(b"", mtime=0))
    code, out = run_verify(live_server.url, tmp_path, appeals)
    assert code == 1
    assert "the file is empty" in out


def test_verify_fetches_the_sums_and_checkpoint_when_not_beside_the_file(
    live_dump: dict[str, Any], tmp_path: Path
) -> None:
    lone = tmp_path / "downloads"
    lone.mkdir()
    copy = lone / "decisions-2026-12-05.csv.gz"
    copy.write_bytes((live_dump["dir"] / copy.name).read_bytes())
    # /data/ serves the dump directory of the live server's settings.
    code, out = run_verify(live_dump["url"], tmp_path, copy)
    assert code == 0, out


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (
            lambda rows: rows.__setitem__(
                7, {**rows[7], "payload": rows[7]["payload"].replace("0.93", "0.94")}
            ),
            "record 8 (log index {index7}, decision {id7}): leaf_hash is not SHA-256",
        ),
        (
            lambda rows: rows.__setitem__(
                9, {**rows[9], "log_index": str(int(rows[9]["log_index"]) + 400)}
            ),
            "record 10 (log index {index9plus}, decision {id9}): log_index is beyond",
        ),
        (
            lambda rows: rows.__setitem__(3, {**rows[3], "log_index": rows[4]["log_index"]}),
            "record 4 (log index {index4}, decision {id3}): its leaf hash is not the log's entry",
        ),
        (
            lambda rows: rows.__setitem__(2, {**rows[2], "leaf_hash": rows[1]["leaf_hash"]}),
            "record 3 (log index {index2}, decision {id2}): leaf_hash is not SHA-256",
        ),
        (
            lambda rows: rows.__setitem__(11, {**rows[11], "action": "SOMETHING_ELSE"}),
            "record 12 (log index {index11}, decision {id11}): column action is not the payload's",
        ),
    ],
    ids=["payload byte", "index beyond", "wrong index", "swapped leaf hash", "column"],
)
def test_verify_names_the_record_of_a_tampered_dump(
    live_dump: dict[str, Any], tmp_path: Path, tamper: Callable[..., None], expected: str
) -> None:
    path = live_dump["dir"] / "decisions-2026-12-05.csv.gz"
    rows = csv_rows(path)
    values = {f"index{n}": rows[n]["log_index"] for n in range(12)} | {
        f"id{n}": rows[n]["id"] for n in range(12)
    }
    values["index9plus"] = str(int(rows[9]["log_index"]) + 400)
    rewrite_csv(path, tamper, sums=True)

    code, out = run_verify(live_dump["url"], tmp_path, path)

    assert code == 1, out
    assert f"FAIL dump decisions-2026-12-05.csv.gz: {expected.format(**values)}" in out


def test_verify_fails_a_dump_whose_checksum_is_not_the_listed_one(
    live_dump: dict[str, Any], tmp_path: Path
) -> None:
    path = live_dump["dir"] / "decisions-2026-12-05.csv.gz"
    rows = csv_rows(path)
    rewrite_csv(path, lambda r: r.__setitem__(0, {**r[0], "action": "X"}), sums=False)

    code, out = run_verify(live_dump["url"], tmp_path, path)

    assert code == 1, out
    assert "FAIL dump decisions-2026-12-05.csv.gz: checksum: its SHA-256" in out
    assert f"record 1 (log index {rows[0]['log_index']}, decision {rows[0]['id']})" in out


def test_verify_fails_a_checkpoint_not_signed_by_the_log(
    live_dump: dict[str, Any], tmp_path: Path
) -> None:
    directory = live_dump["dir"]
    note_path = directory / "checkpoint-2026-12-05.txt"
    note_path.write_text(note_path.read_text().replace("\n\n", "\n\n\n", 1))
    sums = directory / "SHA256SUMS"
    digest = hashlib.sha256(note_path.read_bytes()).hexdigest()
    sums.write_text(
        "".join(
            f"{digest}  {note_path.name}\n" if line.endswith(note_path.name) else line + "\n"
            for line in sums.read_text().splitlines()
        )
    )
    code, out = run_verify(live_dump["url"], tmp_path, directory / "appeals-2026-12-05.csv.gz")
    assert code == 1, out
    assert "FAIL dump appeals-2026-12-05.csv.gz: checkpoint-2026-12-05.txt is not signed" in out


def test_verify_refuses_a_dump_it_cannot_read_before_fetching_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run_verify("http://127.0.0.1:9", tmp_path, tmp_path / "decisions-2026-12-05.csv.gz")
    assert code == 2
    assert "cannot read dump" in capsys.readouterr().err
