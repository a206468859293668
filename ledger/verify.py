"""An auditor's monitor for the moderation ledger: ``python -m ledger.verify URL``.

Floor 1 of DESIGN.md: standard library and `cryptography` only (through `ledger.merkle` and
`ledger.note`), so anyone can audit a ledger without installing the server's dependencies.

One run performs these checks, printing one ``OK <check>: ...`` or ``FAIL <check>: ...`` line
each, and remembers what it verified in a JSON state file for the next run:

- ``key``: the log's verifier key (``/log/key``) is the trusted one. The first run trusts the
  served key (trust on first use) unless ``--key`` names it; a different key later is refused.
- ``checkpoint``: the latest checkpoint (``/log/checkpoint``) is signed by the trusted key and
  names the pinned origin.
- ``consistency``: the last verified tree is a prefix of the new one (RFC 9162 §2.1.4), so the
  log neither rewrote nor dropped anything it had signed.
- ``entries`` (or ``entry N``): every entry added since the last run hashes to its served leaf
  hash and, all together, to the checkpoint root. This catches a payload edited in the
  database after it was signed, naming the first bad index. Entries verified by an earlier
  run are not fetched again, so an old entry edited after this monitor saw it goes unnoticed
  unless ``--full`` is given: it re-fetches and re-hashes every entry from index 0.
- ``receipt FILE``: a C2SP tlog-proof a creator was given is signed by the log, its inclusion
  proof holds, its checkpoint is consistent with the current one, and the log still serves
  the same payload.
- ``dump FILE``: a daily dump from ``/data/`` (``decisions-D.csv.gz``, ``appeals-D.parquet``,
  ...). Its SHA-256 is the one its day's ``SHA256SUMS`` lists, its ``checkpoint-D.txt`` is
  signed by the log and consistent with the current checkpoint, and every record's
  ``leaf_hash`` is SHA-256(0x00 || payload), its columns are its payload's fields, and it is the
  log's entry at its ``log_index`` under that checkpoint. ``SHA256SUMS`` and the checkpoint are
  read beside FILE when they are there (the day downloaded whole), else fetched from
  ``URL/data/D/``. The inclusion of all records is proven from the log's tiles
  (``/log/tile/``), each tile fetched once. Reading ``.csv.gz`` needs nothing more; reading
  ``.parquet`` needs ``pyarrow``, imported only then.

Exit status: 0 when every check passed (the state file is then updated), 1 when any check
failed (the state file is left as it was), 2 for usage, network and server errors.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import datetime as dt
import gzip
import hashlib
import http.client
import itertools
import json
import os
import re
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ledger import merkle, note, tiles

__all__ = [
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_OK",
    "CheckFailed",
    "CheckResult",
    "Fetch",
    "LogUnavailable",
    "Monitor",
    "Receipt",
    "State",
    "UsageError",
    "dump_cell",
    "http_fetcher",
    "load_state",
    "main",
    "prepare_state",
    "save_state",
]

Fetch = Callable[[str], tuple[int, bytes]]
"""GETs a path below the log's URL (``/log/checkpoint``) and returns (HTTP status, body).

Raises `LogUnavailable` when no HTTP answer came back at all.
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ERROR = 2

DEFAULT_STATE = "ledger-monitor.json"
DEFAULT_TIMEOUT = 30.0
STATE_VERSION = 1

KEY_PATH = "/log/key"
CHECKPOINT_PATH = "/log/checkpoint"
ENTRIES_PATH = "/api/v1/log/entries"
CONSISTENCY_PATH = "/api/v1/log/proof/consistency"

PAGE_SIZE = 1000
"""The entries API serves at most this many entries per request."""

# Bounds what one response may make us hold in memory: a page of 1,000 entries stays far below.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024

USER_AGENT = "ledger-verify/1"

DATA_PATH = "/data"
TILE_PATH = "/log"
DUMP_NAME = re.compile(r"(decisions|appeals)-([0-9]{4}-[0-9]{2}-[0-9]{2})\.(csv\.gz|parquet)")
# Per dump kind: the entry type of its records and the payload time that names their day.
DUMP_KINDS = {"decisions": ("decision", "recorded_at"), "appeals": ("appeal_decided", "decided_at")}
DUMP_FIXED = ("log_index", "leaf_hash", "payload")
# A bad dump can be bad in every record: name this many, then count the rest.
DUMP_FAILURES_SHOWN = 10
DUMP_BATCH = 5000


class LogUnavailable(Exception):
    """No usable answer from the log (network, timeout, 5xx, nothing sealed yet).

    Nothing can be concluded about the log's honesty, so this ends the run with exit status 2.
    """


class UsageError(Exception):
    """Bad arguments, an unreadable receipt, or a state file that does not fit this run."""


class CheckFailed(Exception):
    """The evidence for a check does not hold. ``check`` overrides the check's name in the
    FAIL line, so that a bad entry is reported as ``entry N`` rather than ``entries``."""

    def __init__(self, message: str, check: str | None = None) -> None:
        super().__init__(message)
        self.check = check


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    check: str
    detail: str

    def line(self) -> str:
        return f"{'OK' if self.ok else 'FAIL'} {self.check}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Receipt:
    """A tlog-proof file's name (for the report) and its bytes."""

    name: str
    data: bytes


# --- state ----------------------------------------------------------------------------------


@dataclass
class State:
    """What earlier runs verified about one log.

    ``size``/``root``/``checkpoint`` are the last verified checkpoint. ``compact_range`` covers
    the entries verified one by one, which is fewer than ``size`` after ``--no-entries`` runs;
    its size is implied by its levels. Only a fresh state (no run succeeded yet) has ``None``
    in ``size``, and possibly in ``vkey`` and ``origin``.
    """

    url: str
    vkey: str | None = None
    origin: str | None = None
    size: int | None = None
    root: bytes | None = None
    checkpoint: str | None = None
    compact_range: list[tuple[int, bytes]] = field(default_factory=list)
    updated_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        entries = merkle.CompactRange(self.compact_range)
        return {
            "version": STATE_VERSION,
            "url": self.url,
            "vkey": self.vkey,
            "origin": self.origin,
            "size": self.size,
            "root": self.root.hex() if self.root is not None else None,
            "checkpoint": self.checkpoint,
            # Redundant with compact_range, kept so that a person reading the file sees it.
            "entries_verified": entries.size,
            "compact_range": [[level, digest.hex()] for level, digest in entries.state],
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_json(cls, data: object) -> State:
        """Parses a saved state strictly; raises ValueError, TypeError or KeyError."""
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unknown version {data.get('version')!r}")
        size = data["size"]
        if type(size) is not int or size < 0:
            raise ValueError(f"invalid size {size!r}")
        root = bytes.fromhex(_text(data, "root"))
        if len(root) != merkle.HASH_SIZE:
            raise ValueError("root is not a 32-byte hash")
        entries = merkle.CompactRange(
            (level, bytes.fromhex(digest)) for level, digest in data["compact_range"]
        )
        if data.get("entries_verified") != entries.size:
            raise ValueError("entries_verified does not match compact_range")
        if entries.size > size:
            raise ValueError("more entries verified than the verified tree holds")
        return cls(
            url=_text(data, "url"),
            vkey=note.Verifier.from_vkey(_text(data, "vkey")).vkey,
            origin=_text(data, "origin"),
            size=size,
            root=root,
            checkpoint=_text(data, "checkpoint"),
            compact_range=entries.state,
            updated_at=data["updated_at"] if isinstance(data.get("updated_at"), str) else None,
        )


def _text(data: dict[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string")
    return value


def load_state(path: Path) -> State | None:
    """The saved state, or None when the file does not exist (a first run).

    A state file that exists but does not parse is an error, never a fresh start: silently
    starting over would re-trust whatever key the log serves today.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot read state file {path}: {exc}") from exc
    try:
        return State.from_json(json.loads(raw))
    except (ValueError, TypeError, KeyError) as exc:
        raise UsageError(f"state file {path} is corrupt ({exc}); fix or move it away") from exc


def save_state(path: Path, state: State) -> None:
    """Writes the state atomically: a crash leaves the old file or the new one, never half."""
    text = json.dumps(state.to_json(), indent=2, sort_keys=True) + "\n"
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def prepare_state(
    loaded: State | None, *, url: str, key: str | None = None, origin: str | None = None
) -> State:
    """The state to start this run from, with ``--key`` and ``--origin`` reconciled.

    A state file belongs to one log under one key and origin: a run that names another is a
    usage error rather than a silent switch of trust.
    """
    vkey = _normalize_vkey(key) if key else None
    if loaded is None:
        return State(url=url, vkey=vkey, origin=origin)
    if loaded.url != url:
        raise UsageError(f"the state file is for {loaded.url}, not {url}; use another --state")
    if vkey is not None and vkey != loaded.vkey:
        raise UsageError(
            f"the state file trusts {loaded.vkey}, not --key {vkey}; a new key needs a new --state"
        )
    if origin is not None and origin != loaded.origin:
        raise UsageError(f"the state file pins origin {loaded.origin!r}, not --origin {origin!r}")
    return loaded


def _normalize_vkey(text: str) -> str:
    try:
        return note.Verifier.from_vkey(text.strip()).vkey
    except note.NoteError as exc:
        raise UsageError(f"--key: {exc}") from exc


# --- the monitor ----------------------------------------------------------------------------


class Monitor:
    """Runs the checks against one log through ``fetch`` and collects their results.

    ``state`` is what earlier runs verified; it is never modified. After a `run` that returns
    True, `verified_state` is the state to save.
    """

    def __init__(
        self,
        fetch: Fetch,
        state: State,
        *,
        check_entries: bool = True,
        full: bool = False,
        out: TextIO | None = None,
    ) -> None:
        self._fetch = fetch
        self.previous = state
        self.check_entries = check_entries
        self.full = full
        self._out = out
        self.results: list[CheckResult] = []
        self.verified_state: State | None = None
        self._vkey = state.vkey
        self._origin = state.origin
        self._checkpoint_note: str | None = None

    @property
    def failed(self) -> bool:
        return any(not result.ok for result in self.results)

    def run(self, receipts: Sequence[Receipt] = (), dumps: Sequence[Path] = ()) -> bool:
        """Runs every check; True when all passed. Raises `LogUnavailable`."""
        verifier = self._check_key()
        checkpoint = self._check_checkpoint(verifier) if verifier is not None else None
        # A checkpoint that is not consistent with what we verified before must not become the
        # reference that entries and receipts are compared against.
        current = None
        if checkpoint is not None and self._check_consistency(checkpoint):
            current = checkpoint
        entries: list[tuple[int, bytes]] | None = self.previous.compact_range
        if current is not None and self.check_entries:
            entries = self._check_entries(current)
        for receipt in receipts:
            self._check_receipt(receipt, verifier, current)
        for dump in dumps:
            self._check_dump(dump, verifier, current)
        if current is None or entries is None or self.failed:
            return False
        self.verified_state = State(
            url=self.previous.url,
            vkey=self._vkey,
            origin=self._origin,
            size=current.size,
            root=current.root,
            checkpoint=self._checkpoint_note,
            compact_range=entries,
            updated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        return True

    # --- reporting

    def _report(self, ok: bool, check: str, detail: str) -> None:
        result = CheckResult(ok, check, detail)
        self.results.append(result)
        print(result.line(), file=self._out or sys.stdout, flush=True)

    def _ok(self, check: str, detail: str) -> None:
        self._report(True, check, detail)

    def _fail(self, check: str, error: CheckFailed | str) -> None:
        if isinstance(error, CheckFailed):
            self._report(False, error.check or check, str(error))
        else:
            self._report(False, check, error)

    # --- HTTP

    def _request(self, path: str) -> tuple[int, bytes]:
        status, body = self._fetch(path)
        # Server errors and rate limiting say nothing about the log's honesty; retry later.
        if status >= 500 or status == 429:
            raise LogUnavailable(f"GET {path}: the server answered {status}")
        return status, body

    def _get(self, path: str) -> bytes:
        status, body = self._request(path)
        if status != 200:
            # The log must be able to serve what it signed: a 4xx for it is a failed check.
            raise CheckFailed(f"GET {path}: the server answered {status}")
        return body

    def _get_json(self, path: str) -> dict[str, Any]:
        try:
            data = json.loads(self._get(path))
        except ValueError as exc:
            raise CheckFailed(f"GET {path}: not JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise CheckFailed(f"GET {path}: not a JSON object")
        return data

    # --- key

    def _check_key(self) -> note.Verifier | None:
        trusted = note.Verifier.from_vkey(self._vkey) if self._vkey else None
        try:
            served = note.Verifier.from_vkey(self._get(KEY_PATH).decode("utf-8").strip())
        except (CheckFailed, ValueError) as exc:
            # NoteError and UnicodeDecodeError are ValueErrors: a malformed key.
            self._fail("key", f"the log serves no usable key: {exc}")
            return trusted
        if trusted is None:
            self._vkey = served.vkey
            self._ok(
                "key",
                f"trusting {served.vkey} on first use; compare it with the key the operator "
                "publishes elsewhere",
            )
            return served
        if served.vkey != trusted.vkey:
            self._fail(
                "key",
                f"the log now serves {served.vkey}, not the trusted {trusted.vkey}; "
                "refusing the new key",
            )
        else:
            self._ok("key", f"the log serves the trusted key {trusted.vkey}")
        # Go on with the trusted key even after a change: whatever the log signed with the new
        # key then fails too, which is exactly what an auditor should see.
        return trusted

    # --- checkpoint

    def _check_checkpoint(self, verifier: note.Verifier) -> note.Checkpoint | None:
        status, body = self._request(CHECKPOINT_PATH)
        if status == 404 and self.previous.size is None:
            raise LogUnavailable("the log has not published a checkpoint yet")
        if status != 200:
            self._fail("checkpoint", f"GET {CHECKPOINT_PATH}: the server answered {status}")
            return None
        try:
            checkpoint = note.parse_checkpoint(note.verify_note(body, [verifier]))
        except note.NoteError as exc:
            self._fail("checkpoint", f"not signed by the trusted key as a checkpoint: {exc}")
            return None
        pinned = ""
        if self._origin is None:
            self._origin = checkpoint.origin
            pinned = " (pinned from now on)"
        elif checkpoint.origin != self._origin:
            self._fail("checkpoint", f"origin {checkpoint.origin!r} is not {self._origin!r}")
            return None
        self._checkpoint_note = body.decode("utf-8")
        self._ok(
            "checkpoint",
            f"origin {checkpoint.origin}{pinned}, size {checkpoint.size}, "
            f"root {base64.b64encode(checkpoint.root).decode()}, signed by {verifier.name}",
        )
        return checkpoint

    # --- consistency

    def _check_consistency(self, checkpoint: note.Checkpoint) -> bool:
        old_size, old_root = self.previous.size, self.previous.root
        if old_size is None or old_root is None:
            return True
        try:
            how = self._prove_consistent(old_size, old_root, checkpoint.size, checkpoint.root)
        except CheckFailed as exc:
            self._fail("consistency", exc)
            return False
        self._ok("consistency", how)
        return True

    def _prove_consistent(self, size1: int, root1: bytes, size2: int, root2: bytes) -> str:
        """Proves the tree (size1, root1) a prefix of (size2, root2), or raises CheckFailed."""
        if size1 > size2:
            raise CheckFailed(f"size {size2} is smaller than the verified size {size1}")
        if size1 == size2:
            if root1 != root2:
                raise CheckFailed(f"two different roots are signed for size {size1}: a fork")
            return f"size {size1} unchanged, same root"
        if size1 == 0:
            # The empty tree is a prefix of every tree (as C2SP tlog-witness has it), while
            # merkle.verify_consistency rejects size 0 as the transparency-dev vectors do.
            if root1 != merkle.EMPTY_ROOT:
                raise CheckFailed("the verified empty tree has a root other than the empty hash")
            return f"size 0 -> {size2}: the empty tree is a prefix of every tree"
        proof = self._consistency_proof(size1, size2)
        if not merkle.verify_consistency(size1, size2, proof, root1, root2):
            raise CheckFailed(
                f"the proof that size {size1} is a prefix of size {size2} does not verify: "
                "the log changed entries it had signed, or serves a broken proof"
            )
        return f"size {size1} -> {size2}: the verified tree is a prefix of the new one"

    def _consistency_proof(self, first: int, second: int) -> list[bytes]:
        path = f"{CONSISTENCY_PATH}?first={first}&second={second}"
        data = self._get_json(path)
        if data.get("first") != first or data.get("second") != second:
            raise CheckFailed(f"GET {path}: the proof is for other sizes")
        return _hashes(data.get("consistency"), path)

    # --- entries

    def _check_entries(self, checkpoint: note.Checkpoint) -> list[tuple[int, bytes]] | None:
        """Verifies the entries not yet verified (all of them when ``full``); the new compact
        range state, or None."""
        # The stored compact range stands for the entries as they were served when verified;
        # only fetching them again shows whether the log serves them the same today.
        base = [] if self.full else self.previous.compact_range
        verified = merkle.CompactRange(base)
        start = verified.size
        leaves: list[bytes] = []
        try:
            for leaf in self._new_entries(start, checkpoint.size):
                leaves.append(leaf)
                verified.append(leaf)
        except CheckFailed as exc:
            self._fail("entries", exc)
            return None
        if verified.root() != checkpoint.root:
            check, detail = self._locate_mismatch(base, leaves, checkpoint)
            self._fail(check, detail)
            return None
        if self.full and leaves:
            self._ok(
                "entries",
                f"all {len(leaves)} entries (0..{checkpoint.size - 1}) fetched again: each "
                "matches its leaf hash and together they match the checkpoint root",
            )
        elif leaves:
            self._ok(
                "entries",
                f"{len(leaves)} new entries ({start}..{checkpoint.size - 1}) match their leaf "
                f"hashes and, with the {start} verified before, the checkpoint root",
            )
        else:
            self._ok("entries", f"no new entries; the {start} verified ones match the root")
        return verified.state

    def _new_entries(self, start: int, end: int) -> Iterator[bytes]:
        """The leaf hashes of entries [start, end), each checked against its payload.

        Pages are asked for by explicit ranges rather than by following ``next``: a short page
        is then harmless, and the server cannot steer the monitor to another URL.
        """
        index = start
        while index < end:
            stop = min(index + PAGE_SIZE, end)
            page = self._get_json(f"{ENTRIES_PATH}?start={index}&end={stop}").get("entries")
            if not isinstance(page, list) or not page:
                raise CheckFailed(
                    f"the log serves no entry {index} below its checkpoint size {end}",
                    check=f"entry {index}",
                )
            for item in page[: stop - index]:
                yield _entry_leaf(item, index)
                index += 1

    def _locate_mismatch(
        self, base: list[tuple[int, bytes]], leaves: list[bytes], checkpoint: note.Checkpoint
    ) -> tuple[str, str]:
        """Names the first entry from which the served entries stop matching the signed tree.

        Each served leaf hash matched its payload, so the payload and the leaf hash were both
        changed (or entries were swapped). ``base`` is the compact range of the entries before
        ``leaves``. Bisect with consistency proofs: the prefix [0, start) is known good, the
        whole of [0, size) bad, and a prefix is good exactly when a proof shows its root is a
        prefix of the checkpoint's. A proof cannot be forged, so "good" is certain; "bad"
        means the prefix differs or the log could not prove it.
        """
        start = merkle.CompactRange(base).size
        low, high = start, checkpoint.size
        if low == high:
            return ("entries", f"the {start} verified entries do not hash to the checkpoint root")
        try:
            while high - low > 1:
                middle = (low + high) // 2
                prefix = merkle.CompactRange(base)
                prefix.extend(leaves[: middle - start])
                proof = self._consistency_proof(middle, checkpoint.size)
                if merkle.verify_consistency(
                    middle, checkpoint.size, proof, prefix.root(), checkpoint.root
                ):
                    low = middle
                else:
                    high = middle
        except (CheckFailed, LogUnavailable):
            return (
                "entries",
                f"entries 0..{checkpoint.size - 1} as served do not hash to the checkpoint "
                "root, and the log gave no proofs to locate the first bad one",
            )
        return (
            f"entry {high - 1}",
            "payload and leaf hash as served are not the signed ones: the entries before it "
            "are proven to match the checkpoint, the tree including it is not",
        )

    # --- receipts

    def _check_receipt(
        self,
        receipt: Receipt,
        verifier: note.Verifier | None,
        current: note.Checkpoint | None,
    ) -> None:
        check = f"receipt {receipt.name}"
        try:
            detail = self._verify_receipt(receipt, verifier, current)
        except CheckFailed as exc:
            self._fail(check, str(exc))
        else:
            self._ok(check, detail)

    def _verify_receipt(
        self,
        receipt: Receipt,
        verifier: note.Verifier | None,
        current: note.Checkpoint | None,
    ) -> str:
        if verifier is None or self._origin is None:
            raise CheckFailed("no trusted key and origin to check it against")
        try:
            proof = note.parse_tlog_proof(receipt.data)
            signed = note.verify_checkpoint(proof.checkpoint, [verifier], self._origin)
        except note.NoteError as exc:
            raise CheckFailed(f"not a receipt signed by this log: {exc}") from exc
        if proof.extra is None:
            raise CheckFailed("it carries no payload (extra), so its leaf hash is unknown")
        leaf = merkle.leaf_hash(proof.extra)
        what = f"entry {proof.index}{_describe(proof.extra)}"
        if not merkle.verify_inclusion(leaf, proof.index, signed.size, proof.proof, signed.root):
            raise CheckFailed(f"the inclusion proof of {what} does not lead to its checkpoint")
        if current is None:
            raise CheckFailed(
                f"{what} is included at size {signed.size}, but with no verified current "
                "checkpoint its consistency is unchecked"
            )
        # A receipt may be newer than the checkpoint fetched a moment ago; prove either way.
        if signed.size <= current.size:
            self._prove_consistent(signed.size, signed.root, current.size, current.root)
        else:
            self._prove_consistent(current.size, current.root, signed.size, signed.root)
        item = self._get_json(f"{ENTRIES_PATH}/{proof.index}")
        try:
            served = _entry_leaf(item, proof.index)
        except CheckFailed as exc:
            raise CheckFailed(f"the log now serves {what} wrongly: {exc}") from exc
        if served != leaf:
            raise CheckFailed(f"the log now serves another payload for {what}")
        return (
            f"{what} is included at size {signed.size}, consistent with the current size "
            f"{current.size}, and still served unchanged"
        )

    # --- dumps

    def _check_dump(
        self, path: Path, verifier: note.Verifier | None, current: note.Checkpoint | None
    ) -> None:
        check = f"dump {path.name}"
        try:
            detail = self._verify_dump(path, verifier, current, check)
        except CheckFailed as exc:
            self._fail(check, exc)
        else:
            if detail is not None:
                self._ok(check, detail)

    def _dump_sibling(self, path: Path, day: str, name: str) -> bytes:
        """A file of the dump's day: beside the dump if downloaded with it, else from /data/."""
        beside = path.parent / name
        if beside.is_file():
            return beside.read_bytes()
        return self._get(f"{DATA_PATH}/{day}/{name}")

    def _verify_dump(
        self,
        path: Path,
        verifier: note.Verifier | None,
        current: note.Checkpoint | None,
        check: str,
    ) -> str | None:
        """Checks one dump; the OK detail, or None when its records failed (reported here)."""
        found = DUMP_NAME.fullmatch(path.name)
        if found is None:
            raise CheckFailed("not a dump's file name (decisions-YYYY-MM-DD.csv.gz, ...)")
        kind, day, _ = found.groups()
        # A bad checksum is reported, and the records are still checked: an edited file is
        # then named down to its edited records.
        problems: list[str] = []
        sums = _parse_sums(self._dump_sibling(path, day, "SHA256SUMS"))
        digest = _sha256_file(path)
        if sums.get(path.name) != digest:
            problems.append(
                f"checksum: its SHA-256 {digest} is not the {sums.get(path.name) or 'none'} "
                f"that SHA256SUMS of {day} lists"
            )
        checkpoint_name = f"checkpoint-{day}.txt"
        raw = self._dump_sibling(path, day, checkpoint_name)
        if sums.get(checkpoint_name) != hashlib.sha256(raw).hexdigest():
            problems.append(f"checksum: {checkpoint_name} is not the one SHA256SUMS lists")
        if verifier is None or self._origin is None:
            raise CheckFailed("no trusted key and origin to check its checkpoint against")
        try:
            signed = note.verify_checkpoint(raw, [verifier], self._origin)
        except note.NoteError as exc:
            raise CheckFailed(f"{checkpoint_name} is not signed by this log: {exc}") from exc
        if current is None:
            raise CheckFailed("no verified current checkpoint to prove its checkpoint against")
        if signed.size <= current.size:
            self._prove_consistent(signed.size, signed.root, current.size, current.root)
        else:
            self._prove_consistent(current.size, current.root, signed.size, signed.root)
        tree = _TreeFromTiles(self._get, signed.size)
        count = 0
        last = -1
        for number, (index, data, problem) in enumerate(_dump_records(path, kind, day), 1):
            count = number
            if problem is None:
                if index <= last:
                    problem = "log_index is not above the previous record's: out of order"
                else:
                    problem = _included(tree, index, data, signed)
                last = max(last, index)
            if problem is not None:
                problems.append(f"record {number} (log index {index}{_name(data)}): {problem}")
        if problems:
            for problem in problems[:DUMP_FAILURES_SHOWN]:
                self._fail(check, problem)
            if len(problems) > DUMP_FAILURES_SHOWN:
                self._fail(check, f"and {len(problems) - DUMP_FAILURES_SHOWN} more bad records")
            return None
        return (
            f"{count} {kind} records of {day}: the SHA-256 SHA256SUMS lists, each leaf hash "
            f"its payload's, each the log's entry at its index under the signed checkpoint of "
            f"size {signed.size}"
        )


class _TreeFromTiles:
    """The log's perfect subtree hashes at one tree size, read from its tlog tiles.

    Each tile is fetched once. The levels between tile levels are hashed up and remembered;
    what lies inside one full leaf tile is forgotten when the records (in index order) move to
    the next, while the right edge of the tree, on every proof's path, is kept. Nothing
    fetched is trusted: the inclusion proofs built from it are checked against the signed root.
    """

    def __init__(self, get: Callable[[str], bytes], size: int) -> None:
        self._get = get
        self._layout = {lt.level: lt for lt in tiles.tile_layout(size)}
        # Leaf tiles from this one on are the right edge: a partial tile, or none.
        self._edge = size >> tiles.TILE_HEIGHT
        self._tiles: dict[tuple[int, int], bytes] = {}
        self._memo: dict[tuple[int, int], bytes] = {}
        self._leaf_tile = -1

    def enter(self, index: int) -> None:
        """The next record is at `index`: forget the previous full leaf tile's hashes."""
        tile = index >> tiles.TILE_HEIGHT
        if tile == self._leaf_tile:
            return
        self._leaf_tile = tile
        self._tiles = {k: v for k, v in self._tiles.items() if k[0] > 0 or k[1] >= self._edge}
        self._memo = {
            (level, i): v
            for (level, i), v in self._memo.items()
            if level >= tiles.TILE_HEIGHT or (i << level) >> tiles.TILE_HEIGHT >= self._edge
        }

    def _tile(self, tile_level: int, tile_index: int) -> bytes:
        key = (tile_level, tile_index)
        if key not in self._tiles:
            layout = self._layout[tile_level]
            width = tiles.TILE_WIDTH if tile_index < layout.full else layout.partial_width
            data = self._get(f"{TILE_PATH}/{tiles.tile_path(tile_level, tile_index, width)}")
            if len(data) != width * merkle.HASH_SIZE:
                raise CheckFailed(f"tile {tile_level}/{tile_index} is not {width} hashes")
            self._tiles[key] = data
        return self._tiles[key]

    def perfect(self, level: int, index: int) -> bytes:
        if level % tiles.TILE_HEIGHT == 0:
            position, offset = divmod(index, tiles.TILE_WIDTH)
            data = self._tile(level // tiles.TILE_HEIGHT, position)
            return data[offset * merkle.HASH_SIZE : (offset + 1) * merkle.HASH_SIZE]
        key = (level, index)
        found = self._memo.get(key)
        if found is None:
            left = self.perfect(level - 1, 2 * index)
            found = merkle.node_hash(left, self.perfect(level - 1, 2 * index + 1))
            self._memo[key] = found
        return found


def _included(
    tree: _TreeFromTiles, index: int, data: dict[str, Any], signed: note.Checkpoint
) -> str | None:
    """Why the record is not the log's entry at `index` under `signed`, or None if it is."""
    if index >= signed.size:
        return f"log_index is beyond the checkpoint's size {signed.size}"
    tree.enter(index)
    leaf = bytes.fromhex(data["leaf_hash"])
    proof = merkle.inclusion_proof(index, signed.size, merkle.subtree_hasher(tree.perfect))
    if not merkle.verify_inclusion(leaf, index, signed.size, proof, signed.root):
        return "its leaf hash is not the log's entry at its log_index under the checkpoint"
    return None


def dump_cell(value: object) -> str:
    """How a dump's CSV shows a payload value: text as it is, null as empty, anything else
    (numbers, booleans, lists, objects) as JSON. `ledger.public.dumps` writes with this."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return _cell_json(value)


# One encoder for every cell: json.dumps with options builds a new one per call.
_cell_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def _parse_sums(body: bytes) -> dict[str, str]:
    sums = {}
    for line in body.decode("utf-8", "replace").splitlines():
        digest, _, name = line.partition("  ")
        sums[name.lstrip("*")] = digest.lower()
    return sums


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _name(data: dict[str, Any]) -> str:
    """`, decision <id>` or `, appeal <id>` from a parsed payload, for the FAIL line."""
    payload = data.get("_payload")
    for key, label in (("id", "decision"), ("appeal", "appeal")):
        if isinstance(payload, dict) and isinstance(payload.get(key), str):
            text = f", {label} {payload[key]}"
            return text if text.isprintable() else f", {label} {payload[key]!r}"
    return ""


DumpRecord = tuple[int, dict[str, Any], str | None]


def _dump_records(path: Path, kind: str, day: str) -> Iterator[DumpRecord]:
    """Each record as (log index, its cells with the parsed payload under "_payload", the
    first problem found in it alone or None)."""
    rows = _parquet_rows(path) if path.name.endswith(".parquet") else _csv_rows(path)
    first = next(rows, None)
    if first is None:
        return  # a header and no records: nothing of this kind that day (an empty file fails)
    missing = [name for name in DUMP_FIXED if name not in first]
    if missing:
        raise CheckFailed(f"no {', '.join(missing)} column")
    for row in itertools.chain([first], rows):
        yield _check_record(row, kind, day, parquet=path.name.endswith(".parquet"))


def _check_record(row: dict[str, Any], kind: str, day: str, *, parquet: bool) -> DumpRecord:
    index = row["log_index"]
    if isinstance(index, str):
        index = int(index) if index.isdigit() and index.isascii() else -1
    if type(index) is not int or index < 0:
        return -1, row, f"log_index {row['log_index']!r} is not an index"
    payload = row["payload"]
    if not isinstance(payload, str):
        return index, row, "payload is not text"
    try:
        data = json.loads(payload)
    except ValueError:
        data = None
    # Parsed first so that even a record whose hash fails is named by its id.
    row["_payload"] = data
    if merkle.leaf_hash(payload.encode("utf-8")).hex() != row["leaf_hash"]:
        return index, row, "leaf_hash is not SHA-256(0x00 || payload)"
    if not isinstance(data, dict):
        return index, row, "payload is not a JSON object"
    entry_type, time_key = DUMP_KINDS[kind]
    if data.get("type") != entry_type:
        return index, row, f"payload is a {data.get('type')!r} entry, not {entry_type!r}"
    try:
        moment = dt.datetime.fromisoformat(str(data.get(time_key)))
        on = moment.astimezone(dt.UTC).date().isoformat()
    except ValueError:
        return index, row, f"payload has no {time_key} time"
    if on != day:
        return index, row, f"{time_key} is on {on}, not on the dump's day {day}"
    for name, cell in row.items():
        if name in DUMP_FIXED or name == "_payload":
            continue
        expected = data.get(name)
        if parquet and not (isinstance(cell, str) and expected is not None):
            same = cell == expected and isinstance(cell, bool) == isinstance(expected, bool)
        else:
            same = cell == dump_cell(expected)
        if not same:
            return index, row, f"column {name} is not the payload's {name}"
    return index, row, None


def _csv_rows(path: Path) -> Iterator[dict[str, Any]]:
    try:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as file:
            reader = csv.reader(file)
            header = next(reader, None)
            if header is None:
                raise CheckFailed("the file is empty")
            for line, cells in enumerate(reader, 2):
                if len(cells) != len(header):
                    raise CheckFailed(f"CSV line {line} has {len(cells)} cells, not {len(header)}")
                yield dict(zip(header, cells, strict=True))
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise CheckFailed(f"not a readable gzipped UTF-8 CSV: {exc}") from exc


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq  # only for Parquet dumps: see `pyarrow_missing`

    try:
        file = pq.ParquetFile(path)
        for batch in file.iter_batches(batch_size=DUMP_BATCH):
            yield from batch.to_pylist()
    except (OSError, ValueError) as exc:  # pyarrow.ArrowInvalid is a ValueError
        raise CheckFailed(f"not a readable Parquet file: {exc}") from exc


def pyarrow_missing() -> bool:
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return True
    return False


def _entry_leaf(item: object, index: int) -> bytes:
    """The leaf hash of one served entry, after checking its index and served leaf hash."""
    check = f"entry {index}"
    if not isinstance(item, dict):
        raise CheckFailed("not a JSON object", check)
    served_index = item.get("index")
    if type(served_index) is not int or served_index != index:
        raise CheckFailed(f"the log serves index {served_index!r} where {index} is next", check)
    payload = item.get("payload")
    if not isinstance(payload, str):
        raise CheckFailed("payload is not a string", check)
    try:
        data = payload.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate escaped in the JSON
        raise CheckFailed("payload is not valid UTF-8", check) from exc
    leaf = merkle.leaf_hash(data)
    if item.get("leaf_hash") != leaf.hex():
        raise CheckFailed("leaf hash does not match its payload", check)
    return leaf


def _hashes(value: object, path: str) -> list[bytes]:
    if not isinstance(value, list):
        raise CheckFailed(f"GET {path}: the proof is not a list")
    try:
        return [note._b64decode(item) for item in value]
    except (note.NoteError, TypeError) as exc:
        raise CheckFailed(f"GET {path}: a proof hash is not canonical base64") from exc


def _describe(payload: bytes) -> str:
    """`` (decision <id>)`` when the payload is a JSON object with an id, else nothing."""
    try:
        data = json.loads(payload)
    except ValueError:
        return ""
    if not isinstance(data, dict) or "id" not in data:
        return ""
    kind = data.get("type") if isinstance(data.get("type"), str) else "id"
    text = f"{kind} {data['id']}"
    # The payload is authenticated but written by the platform: keep terminals safe.
    return f" ({text})" if text.isprintable() else f" ({text!r})"


# --- command line ---------------------------------------------------------------------------


def http_fetcher(base_url: str, timeout: float) -> Fetch:
    """A `Fetch` over urllib for the log at ``base_url`` (http or https, no trailing slash)."""

    def fetch(path: str) -> tuple[int, bytes]:
        url = base_url + path
        # S310 warns about file: and custom schemes; `_check_url` allows http(s) only.
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.status, _read(response, url)
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, _read(exc, url)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise LogUnavailable(f"GET {url}: {reason}") from exc

    return fetch


def _read(response: Any, url: str) -> bytes:
    body: bytes = response.read(MAX_RESPONSE_BYTES + 1)
    if len(body) > MAX_RESPONSE_BYTES:
        raise LogUnavailable(f"GET {url}: response larger than {MAX_RESPONSE_BYTES} bytes")
    return body


def _check_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"URL must be http:// or https:// with a host, not {url!r}")
    if parts.query or parts.fragment:
        raise UsageError("URL must not have a query or fragment")
    return url.rstrip("/")


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ledger.verify",
        description=(
            "Audit a moderation ledger: verify its signed checkpoint, that it only grew since "
            "the last run, that every entry hashes to the signed root, and any receipts."
        ),
        epilog=(
            "Prints one 'OK <check>: ...' or 'FAIL <check>: ...' line per check. Exit status: "
            "0 all checks passed and the state was saved; 1 a check failed (state unchanged); "
            "2 usage, network or server error."
        ),
    )
    parser.add_argument(
        "url", metavar="URL", help="the ledger's base URL, e.g. https://ledger.example"
    )
    parser.add_argument(
        "--state",
        type=Path,
        default=Path(DEFAULT_STATE),
        metavar="PATH",
        help=f"state file kept between runs (default: ./{DEFAULT_STATE})",
    )
    parser.add_argument(
        "--key",
        metavar="VKEY",
        help="the log's verifier key (name+keyid+key); default: trust /log/key on first use",
    )
    parser.add_argument(
        "--origin",
        help="the log's checkpoint origin; default: the first checkpoint's, then pinned",
    )
    entries = parser.add_mutually_exclusive_group()
    entries.add_argument(
        "--no-entries",
        dest="entries",
        action="store_false",
        help="skip downloading and hashing the new entries (signature and proofs only)",
    )
    entries.add_argument(
        "--full",
        action="store_true",
        help=(
            "download and hash every entry from index 0, not only those added since the last "
            "run: catches an old entry edited after it was verified (run it periodically)"
        ),
    )
    parser.add_argument(
        "--receipt",
        action="append",
        default=[],
        metavar="FILE",
        help="also verify this tlog-proof receipt (repeatable)",
    )
    parser.add_argument(
        "--dump",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help=(
            "also verify this daily dump from /data/ (repeatable): checksum, signed checkpoint, "
            "and every record against the log; .parquet needs pyarrow"
        ),
    )
    parser.add_argument(
        "--timeout",
        type=_positive,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"timeout of each HTTP request (default: {DEFAULT_TIMEOUT:g})",
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    fetch: Fetch | None = None,
    out: TextIO | None = None,
) -> int:
    """Runs the monitor as the command line does; ``fetch`` replaces HTTP (for tests)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help, or argparse's own usage error
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    try:
        url = _check_url(args.url)
        state = prepare_state(load_state(args.state), url=url, key=args.key, origin=args.origin)
        receipts = [Receipt(name, _read_receipt(name)) for name in args.receipt]
        _check_dump_files(args.dump)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    monitor = Monitor(
        fetch or http_fetcher(url, args.timeout),
        state,
        check_entries=args.entries,
        full=args.full,
        out=out,
    )
    try:
        passed = monitor.run(receipts, args.dump)
    except LogUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        # A failure already seen is evidence against the log and outranks a later outage.
        return EXIT_FAILED if monitor.failed else EXIT_ERROR
    if not passed or monitor.verified_state is None:
        print(f"state not updated: a check failed ({args.state})", file=sys.stderr)
        return EXIT_FAILED
    try:
        save_state(args.state, monitor.verified_state)
    except OSError as exc:
        print(f"error: cannot save state to {args.state}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _check_dump_files(paths: Sequence[Path]) -> None:
    for path in paths:
        if not path.is_file():
            raise UsageError(f"cannot read dump {path}")
        if path.name.endswith(".parquet") and pyarrow_missing():
            raise UsageError(
                f"reading {path.name} needs pyarrow (pip install pyarrow); the .csv.gz of the "
                "same day holds the same records and needs nothing more"
            )


def _read_receipt(name: str) -> bytes:
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read receipt {name}: {exc}") from exc


if __name__ == "__main__":
    sys.exit(main())
