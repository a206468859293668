"""Recompute the whole log from what is stored, and say where it first goes wrong (floor 2).

Unlike the outside monitor (ledger.verify), this reads the database directly, so it also checks
the stored subtree hashes and the head that answer proofs, not only what the API serves, and
that every row the public sees is bound to its entry: for each entry type with a registered
binding (decisions, policies and model versions, registered by `moderation`, which this floor
must not import), the payload is rebuilt from the row and the rows it names and compared byte
for byte with the entry.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from django.db import connection

from ledger import merkle, note
from ledger.log import signer
from ledger.models import Checkpoint, LogHead

CHUNK = 5000
# Rows pointing beyond the end of the log are listed up to this many.
BEYOND_LIMIT = 20

# A binding checker gets the entries of its type whose indices lie in [first, last] (their
# payloads by index; `last` None means "to the end", with no entries) and yields a problem
# (index, message) for every entry whose row is missing or rebuilds to other bytes, and for
# every row in that range that points at no entry of its type.
BindingChecker = Callable[[Mapping[int, str], int, "int | None"], Iterable[tuple[int, str]]]
_bindings: dict[str, BindingChecker] = {}


def register_binding(entry_type: str, checker: BindingChecker) -> None:
    """Bind the rows behind `entry_type`'s entries to them (called from an AppConfig.ready)."""
    _bindings[str(entry_type)] = checker


@dataclass
class AuditReport:
    entries: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_index: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, message: str, index: int | None = None) -> None:
        self.problems.append(message)
        # Entries are read in order and each leaf's own check comes before the nodes it
        # completes, so the first problem found is the most precise one.
        if index is not None and self.first_bad_index is None:
            self.first_bad_index = index


def _chunks() -> Iterator[list[tuple[int, str, str, bytes]]]:
    """The entries in order, a chunk at a time, so memory stays flat however long the log."""
    last = -1
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                'SELECT "index", entry_type, payload, leaf_hash FROM ledger_logentry '
                'WHERE "index" > %s ORDER BY "index" LIMIT %s',
                [last, CHUNK],
            )
            rows = [(int(i), t, p, bytes(h)) for i, t, p, h in cursor.fetchall()]
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _nodes_completed_by(first: int, last: int) -> dict[tuple[int, int], bytes]:
    """The stored nodes that leaves first..last complete: node (L, i) is completed by leaf
    (i + 1) * 2^L - 1, so each level contributes one index range."""
    terms: list[str] = []
    params: list[int] = []
    for level in range(1, (last + 1).bit_length() + 1):
        low = -(-(first + 1) // (1 << level)) - 1
        high = (last + 1) // (1 << level) - 1
        if low <= high:
            terms.append('(level = %s AND "index" BETWEEN %s AND %s)')
            params.extend((level, low, high))
    if not terms:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT level, "index", hash FROM ledger_lognode WHERE {" OR ".join(terms)}', params
        )
        return {(int(lv), int(i)): bytes(h) for lv, i, h in cursor.fetchall()}


def audit_log() -> AuditReport:
    """Recompute every leaf from its payload, every stored node, and the root at every
    checkpoint; verify every checkpoint's signature and the head; rebuild every bound row's
    payload. Stops at the first gap."""
    report = AuditReport()
    checkpoints = {c.size: c for c in Checkpoint.objects.order_by("size")}
    verifier = signer().verifier
    tree = merkle.CompactRange()
    for chunk in _chunks():
        nodes = _nodes_completed_by(chunk[0][0], chunk[-1][0])
        unbound = _binding_problems(chunk)
        for index, _, payload, stored_leaf in chunk:
            if index != tree.size:
                # A gap: nothing after it can be placed in the tree.
                report.fail(
                    f"entry {tree.size} is missing (next stored index is {index})", tree.size
                )
                return _finish(report, checkpoints, tree)
            _check_entry(report, tree, nodes, index, payload, stored_leaf, unbound.get(index, []))
            checkpoint = checkpoints.get(tree.size)
            if checkpoint is not None:
                _check_checkpoint(report, checkpoint, tree.root(), verifier)
    # Rows that point past the last entry (the log was cut short behind the triggers' back).
    # Each checker yields in index order, so its first few are enough to find the lowest.
    beyond = [
        problem
        for checker in _bindings.values()
        for problem in itertools.islice(checker({}, tree.size, None), BEYOND_LIMIT)
    ]
    for index, message in sorted(beyond)[:BEYOND_LIMIT]:
        report.fail(message, index)
    return _finish(report, checkpoints, tree)


def _binding_problems(chunk: list[tuple[int, str, str, bytes]]) -> dict[int, list[str]]:
    """Every bound row of the chunk's index range checked against its entry, by index."""
    by_type: dict[str, dict[int, str]] = {t: {} for t in _bindings}
    for index, entry_type, payload, _ in chunk:
        if entry_type in by_type:
            by_type[entry_type][index] = payload
    problems: dict[int, list[str]] = {}
    for entry_type, checker in _bindings.items():
        for index, message in checker(by_type[entry_type], chunk[0][0], chunk[-1][0]):
            problems.setdefault(index, []).append(message)
    return problems


def _finish(
    report: AuditReport, checkpoints: dict[int, Checkpoint], tree: merkle.CompactRange
) -> AuditReport:
    expected = tree.size
    report.entries = expected
    report.checkpoints = len(checkpoints)
    for size in checkpoints:
        if size > expected:
            report.fail(f"checkpoint at size {size} is beyond the {expected} stored entries")
    head = LogHead.objects.filter(pk=1).first()
    if head is None:
        if expected or checkpoints:
            report.fail(f"the log head is missing; {expected} entries are stored")
        return report
    if head.size != expected:
        report.fail(f"the log head says {head.size} entries; {expected} are stored")
    elif [[level, digest.hex()] for level, digest in tree.state] != head.frontier:
        report.fail("the log head's frontier does not match the stored entries")
    return report


def _check_entry(
    report: AuditReport,
    tree: merkle.CompactRange,
    nodes: dict[tuple[int, int], bytes],
    index: int,
    payload: str,
    stored_leaf: bytes,
    unbound: list[str],
) -> None:
    leaf = merkle.leaf_hash(payload.encode())
    if leaf != stored_leaf:
        report.fail(f"entry {index}: leaf hash does not match its payload", index)
    for message in unbound:
        report.fail(message, index)
    for node in tree.append(leaf):
        if node.level > 0 and nodes.get((node.level, node.index)) != node.hash:
            first_leaf = node.index << node.level
            report.fail(
                f"stored node {node.level}/{node.index} (entries {first_leaf} to "
                f"{first_leaf + (1 << node.level) - 1}) does not match the entries",
                first_leaf,
            )


def _check_checkpoint(
    report: AuditReport, checkpoint: Checkpoint, root: bytes, verifier: note.Verifier
) -> None:
    try:
        body = note.parse_checkpoint(note.verify_note(checkpoint.note, [verifier]))
    except note.NoteError as exc:
        report.fail(f"checkpoint at size {checkpoint.size}: bad signed note ({exc})")
        return
    if body.size != checkpoint.size or body.root != bytes(checkpoint.root):
        report.fail(f"checkpoint at size {checkpoint.size}: note and row disagree")
    if body.root != root:
        report.fail(
            f"checkpoint at size {checkpoint.size}: signed root does not match the entries",
        )
