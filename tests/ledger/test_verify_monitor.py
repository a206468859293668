"""The auditor's monitor (`python -m ledger.verify`) against an in-memory log, no database.

`FakeLog` serves the public log API from ledger.merkle.MemoryTree and signs checkpoints with
ledger.note.Signer, so a test can grow it, fork it, swap its key or tamper with what it serves
after sealing, the way a compromised server or database would.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import merkle
from ledger.note import Signer, format_checkpoint, format_tlog_proof, sign_note
from ledger.verify import EXIT_ERROR, EXIT_FAILED, EXIT_OK, Monitor, State, main

ROOT = Path(__file__).resolve().parents[2]
URL = "https://ledger.example"
ORIGIN = "localhost/moderation-ledger"


def log_key(seed: int = 1) -> Signer:
    return Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def decision(i: int, tag: str = "") -> str:
    return json.dumps(
        {"id": f"d-{i}{tag}", "type": "decision"}, sort_keys=True, separators=(",", ":")
    )


class FakeLog:
    """The public log API over a MemoryTree, answering `Fetch` calls like ledger/api.py."""

    def __init__(self, signer: Signer | None = None, origin: str = ORIGIN) -> None:
        self.signer = signer or log_key()
        self.origin = origin
        self.tree = merkle.MemoryTree()
        self.payloads: list[str] = []
        self.checkpoint: str | None = None
        # What a tampered database serves instead of the sealed payload or leaf hash.
        self.served_payloads: dict[int, str] = {}
        self.served_leaf_hashes: dict[int, str] = {}
        self.served_key: str | None = None
        self.broken: int | None = None
        self.requests: list[str] = []

    def append(self, *payloads: str) -> None:
        for payload in payloads:
            self.payloads.append(payload)
            self.tree.append(merkle.leaf_hash(payload.encode()))

    def grow(self, size: int, tag: str = "") -> FakeLog:
        self.append(*(decision(i, tag) for i in range(self.tree.size, size)))
        return self

    def seal(self) -> str:
        body = format_checkpoint(self.origin, self.tree.size, self.tree.root())
        self.checkpoint = sign_note(body, [self.signer])
        return self.checkpoint

    def receipt(self, index: int) -> bytes:
        assert self.checkpoint is not None
        size = int(self.checkpoint.split("\n")[1])
        proof = self.tree.inclusion_proof(index, size)
        extra = self.payloads[index].encode()
        return format_tlog_proof(index, proof, self.checkpoint, extra=extra).encode()

    def entry(self, index: int) -> dict[str, Any]:
        payload = self.payloads[index]
        leaf = merkle.leaf_hash(payload.encode()).hex()
        return {
            "index": index,
            "type": "decision",
            "payload": self.served_payloads.get(index, payload),
            "leaf_hash": self.served_leaf_hashes.get(index, leaf),
        }

    def fetch(self, path: str) -> tuple[int, bytes]:
        self.requests.append(path)
        if self.broken is not None:
            return self.broken, b"broken"
        url = urllib.parse.urlsplit(path)
        query = {k: int(v[0]) for k, v in urllib.parse.parse_qs(url.query).items()}
        if url.path == "/log/key":
            return 200, (self.served_key or self.signer.vkey).encode() + b"\n"
        if url.path == "/log/checkpoint":
            return (404, b"") if self.checkpoint is None else (200, self.checkpoint.encode())
        if url.path == "/api/v1/log/entries":
            end = min(query["end"], query["start"] + 1000, self.tree.size)
            entries = [self.entry(i) for i in range(query["start"], end)]
            return _json({"entries": entries, "next": None})
        if url.path.startswith("/api/v1/log/entries/"):
            index = int(url.path.rsplit("/", 1)[1])
            return _json(self.entry(index)) if index < self.tree.size else (404, b"")
        if url.path == "/api/v1/log/proof/consistency":
            first, second = query["first"], query["second"]
            if not 0 < first <= second <= self.tree.size:
                return 400, b"{}"
            proof = self.tree.consistency_proof(first, second)
            return _json({"first": first, "second": second, "consistency": _b64(proof)})
        return 404, b""


def _json(data: object) -> tuple[int, bytes]:
    return 200, json.dumps(data).encode()


def _b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def run(log: FakeLog, state: Path, *args: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = main([URL, "--state", str(state), *args], fetch=log.fetch, out=out)
    return code, out.getvalue().splitlines()


def fails(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("FAIL")]


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "monitor.json"


# Happy paths.


def test_first_run_trusts_the_served_key_pins_the_origin_and_verifies_every_entry(
    state: Path,
) -> None:
    log = FakeLog().grow(7)
    log.seal()

    code, lines = run(log, state)

    assert code == EXIT_OK
    assert [line.split(":")[0] for line in lines] == ["OK key", "OK checkpoint", "OK entries"]
    assert "trusting " + log.signer.vkey + " on first use" in lines[0]
    assert "(pinned from now on), size 7" in lines[1]
    saved = json.loads(state.read_text())
    expected_range = merkle.CompactRange()
    expected_range.extend(merkle.leaf_hash(p.encode()) for p in log.payloads)
    assert saved == {
        "version": 1,
        "url": URL,
        "vkey": log.signer.vkey,
        "origin": ORIGIN,
        "size": 7,
        "root": log.tree.root().hex(),
        "checkpoint": log.checkpoint,
        "entries_verified": 7,
        "compact_range": [[level, h.hex()] for level, h in expected_range.state],
        "updated_at": saved["updated_at"],
    }


def test_later_runs_prove_consistency_and_fetch_only_the_new_entries_page_by_page(
    state: Path,
) -> None:
    log = FakeLog().grow(5)
    log.seal()
    assert run(log, state)[0] == EXIT_OK

    previous = 5
    for size in (6, 13, 2100):
        log.grow(size).seal()
        log.requests.clear()
        code, lines = run(log, state)
        assert code == EXIT_OK, lines
        consistent = f"OK consistency: size {previous} -> {size}: the verified tree is a prefix"
        assert any(line.startswith(consistent) for line in lines)
        entry_requests = [r for r in log.requests if r.startswith("/api/v1/log/entries?")]
        assert entry_requests[0].startswith(f"/api/v1/log/entries?start={previous}&")
        previous = size

    assert entry_requests == [
        "/api/v1/log/entries?start=13&end=1013",
        "/api/v1/log/entries?start=1013&end=2013",
        "/api/v1/log/entries?start=2013&end=2100",
    ]
    assert json.loads(state.read_text())["entries_verified"] == 2100


def test_the_monitor_can_be_driven_directly_with_any_fetch() -> None:
    log = FakeLog().grow(3)
    log.seal()
    monitor = Monitor(log.fetch, State(url=URL), out=io.StringIO())

    assert monitor.run() is True
    assert [(r.ok, r.check) for r in monitor.results] == [
        (True, "key"),
        (True, "checkpoint"),
        (True, "entries"),
    ]
    assert monitor.verified_state is not None
    assert (monitor.verified_state.size, monitor.verified_state.root) == (3, log.tree.root())


def test_an_unchanged_log_passes_again(state: Path) -> None:
    log = FakeLog().grow(3)
    log.seal()
    assert run(log, state)[0] == EXIT_OK

    code, lines = run(log, state)

    assert code == EXIT_OK
    assert "OK consistency: size 3 unchanged, same root" in lines
    assert "OK entries: no new entries; the 3 verified ones match the root" in lines


def test_a_given_key_is_trusted_from_the_first_run(state: Path) -> None:
    log = FakeLog().grow(2)
    log.seal()

    code, lines = run(log, state, "--key", log.signer.vkey, "--origin", ORIGIN)

    assert code == EXIT_OK
    assert lines[0] == f"OK key: the log serves the trusted key {log.signer.vkey}"


def test_no_entries_checks_proofs_only_and_a_later_run_catches_up(state: Path) -> None:
    log = FakeLog().grow(4)
    log.seal()
    assert run(log, state)[0] == EXIT_OK
    log.grow(9).seal()
    log.requests.clear()

    code, _ = run(log, state, "--no-entries")

    assert code == EXIT_OK
    assert not any(r.startswith("/api/v1/log/entries") for r in log.requests)
    saved = json.loads(state.read_text())
    assert (saved["size"], saved["entries_verified"]) == (9, 4)

    log.grow(11).seal()
    log.requests.clear()
    assert run(log, state)[0] == EXIT_OK
    assert "/api/v1/log/entries?start=4&end=11" in log.requests
    assert json.loads(state.read_text())["entries_verified"] == 11


# The log misbehaves.


def test_a_forked_tree_fails_consistency_and_the_state_is_not_saved(state: Path) -> None:
    honest = FakeLog().grow(5)
    honest.seal()
    assert run(honest, state)[0] == EXIT_OK
    before = state.read_bytes()
    # Same key, same first three entries, then history rewritten and the log grown.
    fork = FakeLog(honest.signer).grow(3).grow(8, tag="-rewritten")
    fork.seal()

    code, lines = run(fork, state)

    assert code == EXIT_FAILED
    assert fails(lines) == [
        "FAIL consistency: the proof that size 5 is a prefix of size 8 does not verify: the log "
        "changed entries it had signed, or serves a broken proof"
    ]
    assert state.read_bytes() == before


def test_a_second_root_for_the_same_size_is_a_fork(state: Path) -> None:
    honest = FakeLog().grow(5)
    honest.seal()
    assert run(honest, state)[0] == EXIT_OK
    fork = FakeLog(honest.signer).grow(5, tag="-other")
    fork.seal()

    code, lines = run(fork, state)

    assert code == EXIT_FAILED
    assert fails(lines) == ["FAIL consistency: two different roots are signed for size 5: a fork"]


def test_a_log_that_shrank_fails(state: Path) -> None:
    log = FakeLog().grow(6)
    log.seal()
    assert run(log, state)[0] == EXIT_OK
    smaller = FakeLog(log.signer).grow(4)
    smaller.seal()

    code, lines = run(smaller, state)

    assert code == EXIT_FAILED
    assert "FAIL consistency: size 4 is smaller than the verified size 6" in lines


def test_a_changed_key_is_refused(state: Path) -> None:
    log = FakeLog().grow(3)
    log.seal()
    assert run(log, state)[0] == EXIT_OK
    before = state.read_bytes()
    old_vkey = log.signer.vkey
    log.signer = log_key(seed=2)
    log.grow(5).seal()

    code, lines = run(log, state)

    assert code == EXIT_FAILED
    assert lines[0] == (
        f"FAIL key: the log now serves {log.signer.vkey}, not the trusted {old_vkey}; "
        "refusing the new key"
    )
    assert lines[1].startswith("FAIL checkpoint: not signed by the trusted key")
    assert state.read_bytes() == before


def test_a_given_key_the_log_does_not_serve_fails_the_first_run(state: Path) -> None:
    log = FakeLog().grow(3)
    log.seal()

    code, lines = run(log, state, "--key", log_key(seed=9).vkey)

    assert code == EXIT_FAILED
    assert lines[0].startswith("FAIL key: the log now serves")
    assert lines[1].startswith("FAIL checkpoint: not signed by the trusted key")
    assert not state.exists()


def test_a_bad_signature_is_refused(state: Path) -> None:
    log = FakeLog().grow(3)
    checkpoint = log.seal()
    assert run(log, state)[0] == EXIT_OK
    log.grow(4).seal()
    # The size line no longer matches what the key signed.
    log.checkpoint = checkpoint.replace("\n3\n", "\n4\n", 1)

    code, lines = run(log, state)

    assert code == EXIT_FAILED
    assert fails(lines) == [
        "FAIL checkpoint: not signed by the trusted key as a checkpoint: invalid signature by "
        f"known key {ORIGIN!r}"
    ]


def test_a_checkpoint_from_another_origin_is_refused(state: Path) -> None:
    log = FakeLog(origin="evil.example/log").grow(2)
    log.seal()

    code, lines = run(log, state, "--origin", ORIGIN)

    assert code == EXIT_FAILED
    assert fails(lines) == [f"FAIL checkpoint: origin 'evil.example/log' is not {ORIGIN!r}"]


def test_a_payload_tampered_after_sealing_names_the_first_bad_index(state: Path) -> None:
    log = FakeLog().grow(10)
    log.seal()
    assert run(log, state)[0] == EXIT_OK
    before = state.read_bytes()
    log.grow(30).seal()
    log.served_payloads[17] = decision(17, tag="-edited")
    log.served_payloads[20] = decision(20, tag="-edited")

    code, lines = run(log, state)

    assert code == EXIT_FAILED
    assert fails(lines) == ["FAIL entry 17: leaf hash does not match its payload"]
    assert state.read_bytes() == before


def test_a_payload_rewritten_with_its_leaf_hash_is_located_by_consistency_proofs(
    state: Path,
) -> None:
    log = FakeLog().grow(3)
    log.seal()
    assert run(log, state)[0] == EXIT_OK
    log.grow(40).seal()
    edited = decision(13, tag="-edited")
    log.served_payloads[13] = edited
    log.served_leaf_hashes[13] = merkle.leaf_hash(edited.encode()).hex()

    code, lines = run(log, state)

    assert code == EXIT_FAILED
    assert fails(lines) == [
        "FAIL entry 13: payload and leaf hash as served are not the signed ones: the entries "
        "before it are proven to match the checkpoint, the tree including it is not"
    ]


def test_entries_out_of_order_fail_at_the_first_wrong_index(state: Path) -> None:
    log = FakeLog().grow(6)
    log.seal()
    real_entry = log.entry
    log.entry = lambda index: real_entry(5 if index == 4 else index)  # type: ignore[method-assign]

    code, lines = run(log, state)

    assert code == EXIT_FAILED
    assert fails(lines) == ["FAIL entry 4: the log serves index 5 where 4 is next"]
    assert not state.exists()


def test_missing_entries_below_the_checkpoint_size_fail(state: Path) -> None:
    log = FakeLog().grow(4)
    log.seal()
    log.checkpoint = sign_note(format_checkpoint(ORIGIN, 6, log.tree.root()), [log.signer])

    code, lines = run(log, state)

    assert code == EXIT_FAILED
    assert fails(lines) == ["FAIL entry 4: the log serves no entry 4 below its checkpoint size 6"]


# --full: entries verified by an earlier run, fetched again.


def test_an_old_entry_edited_after_it_was_verified_passes_a_plain_run_and_fails_full(
    state: Path,
) -> None:
    log = FakeLog().grow(10)
    log.seal()
    assert run(log, state)[0] == EXIT_OK
    log.served_payloads[3] = decision(3, tag="-edited")
    log.grow(12).seal()
    log.requests.clear()

    plain_code, plain_lines = run(log, state)

    # The plain run only fetches what it has not seen: it cannot notice the edit.
    assert plain_code == EXIT_OK, plain_lines
    assert [r for r in log.requests if r.startswith("/api/v1/log/entries")] == [
        "/api/v1/log/entries?start=10&end=12"
    ]
    before = state.read_bytes()
    log.requests.clear()

    code, lines = run(log, state, "--full")

    assert code == EXIT_FAILED
    assert "/api/v1/log/entries?start=0&end=12" in log.requests
    assert "OK consistency: size 12 unchanged, same root" in lines
    assert fails(lines) == ["FAIL entry 3: leaf hash does not match its payload"]
    assert state.read_bytes() == before


def test_full_locates_an_old_entry_rewritten_with_its_leaf_hash(state: Path) -> None:
    log = FakeLog().grow(40)
    log.seal()
    assert run(log, state)[0] == EXIT_OK
    edited = decision(13, tag="-edited")
    log.served_payloads[13] = edited
    log.served_leaf_hashes[13] = merkle.leaf_hash(edited.encode()).hex()
    assert run(log, state)[0] == EXIT_OK

    code, lines = run(log, state, "--full")

    assert code == EXIT_FAILED
    assert fails(lines) == [
        "FAIL entry 13: payload and leaf hash as served are not the signed ones: the entries "
        "before it are proven to match the checkpoint, the tree including it is not"
    ]


def test_full_on_an_honest_log_fetches_every_page_again_and_saves_the_same_state(
    state: Path,
) -> None:
    log = FakeLog().grow(1500)
    log.seal()
    assert run(log, state)[0] == EXIT_OK
    log.grow(2100).seal()
    assert run(log, state, "--no-entries")[0] == EXIT_OK
    log.requests.clear()

    code, lines = run(log, state, "--full")

    assert code == EXIT_OK, lines
    assert [r for r in log.requests if r.startswith("/api/v1/log/entries")] == [
        "/api/v1/log/entries?start=0&end=1000",
        "/api/v1/log/entries?start=1000&end=2000",
        "/api/v1/log/entries?start=2000&end=2100",
    ]
    assert (
        "OK entries: all 2100 entries (0..2099) fetched again: each matches its leaf hash and "
        "together they match the checkpoint root"
    ) in lines
    saved = json.loads(state.read_text())
    assert (saved["size"], saved["entries_verified"]) == (2100, 2100)


def test_full_still_refuses_a_log_inconsistent_with_the_stored_checkpoint(state: Path) -> None:
    honest = FakeLog().grow(5)
    honest.seal()
    assert run(honest, state)[0] == EXIT_OK
    fork = FakeLog(honest.signer).grow(3).grow(8, tag="-rewritten")
    fork.seal()

    code, lines = run(fork, state, "--full")

    assert code == EXIT_FAILED
    assert [line.split(":")[0] for line in fails(lines)] == ["FAIL consistency"]
    assert not any(r.startswith("/api/v1/log/entries") for r in fork.requests)


def test_full_and_no_entries_together_are_a_usage_error(state: Path) -> None:
    log = FakeLog().grow(2)
    log.seal()

    assert run(log, state, "--full", "--no-entries")[0] == EXIT_ERROR
    assert not state.exists()


# Receipts.


def test_receipts_verify_against_a_grown_log_and_name_the_decision(
    state: Path, tmp_path: Path
) -> None:
    log = FakeLog().grow(5)
    log.seal()
    old = tmp_path / "d-3.tlog-proof"
    old.write_bytes(log.receipt(3))
    log.grow(9).seal()
    current = tmp_path / "d-8.tlog-proof"
    current.write_bytes(log.receipt(8))

    code, lines = run(log, state, "--receipt", str(old), "--receipt", str(current))

    assert code == EXIT_OK, lines
    assert lines[-2:] == [
        f"OK receipt {old}: entry 3 (decision d-3) is included at size 5, consistent with the "
        "current size 9, and still served unchanged",
        f"OK receipt {current}: entry 8 (decision d-8) is included at size 9, consistent with "
        "the current size 9, and still served unchanged",
    ]


def test_a_receipt_from_a_forked_tree_fails(state: Path, tmp_path: Path) -> None:
    log = FakeLog().grow(8)
    log.seal()
    # Signed by the same key over another history: a split view shown to one creator.
    fork = FakeLog(log.signer).grow(2).grow(6, tag="-hidden")
    fork.seal()
    receipt = tmp_path / "forked.tlog-proof"
    receipt.write_bytes(fork.receipt(4))

    code, lines = run(log, state, "--receipt", str(receipt))

    assert code == EXIT_FAILED
    assert fails(lines) == [
        f"FAIL receipt {receipt}: the proof that size 6 is a prefix of size 8 does not verify: "
        "the log changed entries it had signed, or serves a broken proof"
    ]
    assert not state.exists()


def test_a_receipt_with_an_edited_payload_fails_its_inclusion_proof(
    state: Path, tmp_path: Path
) -> None:
    log = FakeLog().grow(4)
    log.seal()
    good = log.receipt(2).decode()
    edited_extra = base64.b64encode(decision(2, tag="-edited").encode()).decode()
    receipt = tmp_path / "edited.tlog-proof"
    receipt.write_text(good.replace(good.split("\n")[1], f"extra {edited_extra}"))

    code, lines = run(log, state, "--receipt", str(receipt))

    assert code == EXIT_FAILED
    assert fails(lines) == [
        f"FAIL receipt {receipt}: the inclusion proof of entry 2 (decision d-2-edited) does not "
        "lead to its checkpoint"
    ]


def test_a_receipt_whose_entry_the_log_now_serves_differently_fails(
    state: Path, tmp_path: Path
) -> None:
    log = FakeLog().grow(4)
    log.seal()
    receipt = tmp_path / "d-1.tlog-proof"
    receipt.write_bytes(log.receipt(1))
    edited = decision(1, tag="-edited")
    log.served_payloads[1] = edited
    log.served_leaf_hashes[1] = merkle.leaf_hash(edited.encode()).hex()

    code, lines = run(log, state, "--no-entries", "--receipt", str(receipt))

    assert code == EXIT_FAILED
    assert fails(lines) == [
        f"FAIL receipt {receipt}: the log now serves another payload for entry 1 (decision d-1)"
    ]


def test_a_receipt_signed_by_another_key_fails(state: Path, tmp_path: Path) -> None:
    log = FakeLog().grow(4)
    log.seal()
    impostor = FakeLog(log_key(seed=7)).grow(4)
    impostor.seal()
    receipt = tmp_path / "impostor.tlog-proof"
    receipt.write_bytes(impostor.receipt(0))

    code, lines = run(log, state, "--receipt", str(receipt))

    assert code == EXIT_FAILED
    assert fails(lines) == [
        f"FAIL receipt {receipt}: not a receipt signed by this log: note is not signed by any "
        "known key"
    ]


# Errors that say nothing about the log's honesty: exit status 2, nothing saved.


def test_a_log_with_no_checkpoint_yet_is_an_error_not_a_failure(state: Path) -> None:
    code, _ = run(FakeLog(), state)

    assert code == EXIT_ERROR
    assert not state.exists()


def test_a_checkpoint_that_disappears_after_one_was_verified_fails(state: Path) -> None:
    log = FakeLog().grow(2)
    log.seal()
    assert run(log, state)[0] == EXIT_OK
    log.checkpoint = None

    code, lines = run(log, state)

    assert code == EXIT_FAILED
    assert "FAIL checkpoint: GET /log/checkpoint: the server answered 404" in lines


def test_server_errors_exit_2_without_saving(state: Path) -> None:
    log = FakeLog().grow(2)
    log.seal()
    log.broken = 503

    assert run(log, state)[0] == EXIT_ERROR
    assert not state.exists()


def test_a_corrupt_state_file_is_refused_rather_than_started_over(state: Path) -> None:
    log = FakeLog().grow(2)
    log.seal()
    state.write_text('{"version": 1, "url": "x"}')

    assert run(log, state)[0] == EXIT_ERROR
    assert state.read_text() == '{"version": 1, "url": "x"}'


def test_a_state_file_for_another_log_or_key_is_a_usage_error(state: Path) -> None:
    log = FakeLog().grow(2)
    log.seal()
    assert run(log, state)[0] == EXIT_OK
    out = io.StringIO()

    assert main(["https://other.example", "--state", str(state)], fetch=log.fetch, out=out) == 2
    assert run(log, state, "--key", log_key(seed=3).vkey)[0] == EXIT_ERROR
    assert run(log, state, "--origin", "elsewhere/log")[0] == EXIT_ERROR
    assert run(log, state, "--receipt", str(state.parent / "missing.tlog-proof"))[0] == 2


def test_saving_replaces_the_state_file_and_leaves_no_temporary_file(state: Path) -> None:
    log = FakeLog().grow(2)
    log.seal()
    assert run(log, state)[0] == EXIT_OK
    log.grow(3).seal()
    assert run(log, state)[0] == EXIT_OK

    assert [p.name for p in state.parent.iterdir()] == [state.name]
    assert json.loads(state.read_text())["size"] == 3


# Over real HTTP, and as a standalone program.


@pytest.fixture
def served_log() -> Iterator[tuple[FakeLog, str]]:
    log = FakeLog()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = log.fetch(self.path)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield log, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_the_monitor_talks_to_a_log_over_http(served_log: tuple[FakeLog, str], state: Path) -> None:
    log, url = served_log
    log.grow(3).seal()
    out = io.StringIO()

    assert main([url, "--state", str(state), "--timeout", "5"], out=out) == EXIT_OK
    assert json.loads(state.read_text())["url"] == url.rstrip("/")

    log.checkpoint = None
    assert main([url, "--state", str(state)], out=out) == EXIT_FAILED


def test_an_unreachable_log_exits_2(state: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more: the connection is refused.

    code = main([f"http://127.0.0.1:{port}", "--state", str(state), "--timeout", "2"])

    assert code == EXIT_ERROR


def test_a_non_http_url_is_a_usage_error(state: Path) -> None:
    assert main(["file:///etc/passwd", "--state", str(state)]) == EXIT_ERROR


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def test_importing_the_monitor_loads_no_django_msgspec_or_db_log() -> None:
    result = _python(
        "-c",
        "import sys, ledger.verify; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('django', 'rest_framework', 'msgspec', 'celery') "
        "or m in ('ledger.log', 'ledger.models', 'ledger.settings')); "
        "print(bad); sys.exit(1 if bad else 0)",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "[]"


def test_the_module_runs_as_a_program() -> None:
    result = _python("-X", "importtime", "-m", "ledger.verify", "--help")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m ledger.verify")
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()]
    assert not [m for m in imported if m.split(".")[0] in ("django", "msgspec")]
    assert "ledger.note" in imported
