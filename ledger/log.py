"""The append service and the reads of the log (floor 2).

Appends happen inside the caller's transaction (a decision and its entry commit together or not
at all), under a row lock on `LogHead`, which makes indices gapless and ordered under
concurrent writers. Reads of roots and proofs fetch the O(log n) stored subtree hashes they
need in one query (ledger.merkle tells which), never rebuilding the tree.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import msgspec
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ledger import merkle, note
from ledger.db import insert_rows
from ledger.models import Checkpoint, EntryType, LogEntry, LogHead, LogNode

_canonical = msgspec.json.Encoder(order="sorted").encode


def canonical_json(payload: Any) -> bytes:
    """Sorted keys, UTF-8, no insignificant whitespace: the bytes a leaf hash is taken over."""
    return _canonical(payload)


@dataclass(frozen=True, slots=True)
class Appended:
    index: int
    leaf_hash: bytes


class LogError(Exception):
    """A read or append the log cannot do; `field` names the request parameter at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def append_entries(entries: Sequence[tuple[EntryType | str, bytes]]) -> list[Appended]:
    """Append (type, canonical payload) entries; returns their indices and leaf hashes.

    Must run inside the transaction that writes the facts the entries record.
    """
    if not entries:
        return []
    if not connection.in_atomic_block:
        raise LogError("append_entries must run inside the transaction of what it records")
    head = _lock_head()
    frontier = merkle.CompactRange(
        (level, bytes.fromhex(digest)) for level, digest in head.frontier
    )
    if frontier.size != head.size:
        raise LogError(f"log head is corrupt: size {head.size}, frontier {frontier.size}")
    now = timezone.now()
    appended: list[Appended] = []
    entry_rows = []
    node_rows = []
    for entry_type, payload in entries:
        leaf = merkle.leaf_hash(payload)
        index = frontier.size
        for node in frontier.append(leaf):
            if node.level > 0:
                node_rows.append((node.level, node.index, node.hash))
        entry_rows.append((index, str(entry_type), payload.decode(), leaf, now))
        appended.append(Appended(index, leaf))
    insert_rows(LogEntry, ("index", "entry_type", "payload", "leaf_hash", "created_at"), entry_rows)
    if node_rows:
        insert_rows(LogNode, ("level", "index", "hash"), node_rows)
    head.size = frontier.size
    head.frontier = [[level, digest.hex()] for level, digest in frontier.state]
    head.save(update_fields=["size", "frontier", "updated_at"])
    return appended


def _lock_head() -> LogHead:
    # The head row is created on first use; two first writers race to create it, and the loser
    # finds the winner's row once the winner commits.
    head = LogHead.objects.select_for_update().filter(pk=1).first()
    if head is not None:
        return head
    try:
        with transaction.atomic():
            LogHead.objects.create(pk=1, size=0, frontier=[])
    except IntegrityError:
        pass
    return LogHead.objects.select_for_update().get(pk=1)


def size() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT size FROM ledger_loghead WHERE id = 1")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


# --- reads: hashes, roots, proofs -----------------------------------------------------------


# A stored perfect subtree never changes (the table is append-only), and the high ones are on
# the path of most proofs: keeping those in memory shortens every proof's query. At a million
# entries there are about 4,000 nodes at level 8 and above (~0.5 MB).
CACHED_LEVEL = 8
CACHE_LIMIT = 200_000
_upper_nodes: dict[tuple[int, int], bytes] = {}


def forget_cached_nodes(**_: Any) -> None:
    """Empty the node cache: only needed when a log is thrown away (a test database flush)."""
    _upper_nodes.clear()


def _fetch(
    nodes: Sequence[tuple[int, int]], tree_size: int | None = None, size_name: str = "tree_size"
) -> dict[tuple[int, int], bytes]:
    """The stored hashes of these perfect subtrees, in one round trip.

    With `tree_size`, the same statement reads the log's size and refuses a tree larger than
    the log: a proof is one query, which is most of what it costs (bench/log_bench.py).
    """
    found: dict[tuple[int, int], bytes] = {}
    wanted = []
    for node in nodes:
        cached = _upper_nodes.get(node)
        if cached is None:
            wanted.append(node)
        else:
            found[node] = cached
    leaves = [index for level, index in wanted if level == 0]
    inner = [(level, index) for level, index in wanted if level > 0]
    parts: list[str] = []
    params: list[int] = []
    if leaves:
        parts.append(
            f'SELECT 0, "index", leaf_hash FROM ledger_logentry '
            f'WHERE "index" IN ({", ".join(["%s"] * len(leaves))})'
        )
        params.extend(leaves)
    if inner:
        where = " OR ".join(['(level = %s AND "index" = %s)'] * len(inner))
        parts.append(f'SELECT level, "index", hash FROM ledger_lognode WHERE {where}')
        params.extend(v for pair in inner for v in pair)
    if tree_size is not None:
        parts.append("SELECT -1, size, NULL FROM ledger_loghead WHERE id = 1")
    size = 0
    if parts:
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            for level, index, digest in cursor.fetchall():
                if level == -1:
                    size = int(index)
                else:
                    node = (int(level), int(index))
                    found[node] = bytes(digest)
                    if node[0] >= CACHED_LEVEL and len(_upper_nodes) < CACHE_LIMIT:
                        _upper_nodes[node] = found[node]
    if tree_size is not None and not 0 < tree_size <= size:
        raise LogError(f"{size_name} must be between 1 and the log's size ({size})", size_name)
    missing = [n for n in nodes if n not in found]
    if missing:
        raise LogError(f"stored subtree hashes missing: {missing[:5]}")
    return found


def _decomposition(tree_size: int) -> list[tuple[int, int]]:
    """The perfect subtrees whose roots, folded right to left, give MTH(D[0:tree_size])."""
    nodes = []
    start = 0
    for level in range(tree_size.bit_length() - 1, -1, -1):
        if tree_size & (1 << level):
            nodes.append((level, start >> level))
            start += 1 << level
    return nodes


def root(tree_size: int) -> bytes:
    if tree_size == 0:
        return merkle.EMPTY_ROOT
    nodes = _decomposition(tree_size)
    hashes = _fetch(nodes)
    result = hashes[nodes[-1]]
    for node in reversed(nodes[:-1]):
        result = merkle.node_hash(hashes[node], result)
    return result


def inclusion_proof(index: int, tree_size: int) -> list[bytes]:
    if not 0 <= index < tree_size:
        raise LogError(f"index must be between 0 and tree_size - 1 ({tree_size - 1})", "index")
    hashes = _fetch(merkle.inclusion_proof_nodes(index, tree_size), tree_size)
    return merkle.inclusion_proof(
        index, tree_size, merkle.subtree_hasher(lambda lv, i: hashes[(lv, i)])
    )


def consistency_proof(first: int, second: int) -> list[bytes]:
    if not 0 < first <= second:
        raise LogError("first must be between 1 and second", "first")
    hashes = _fetch(merkle.consistency_proof_nodes(first, second), second, "second")
    return merkle.consistency_proof(
        first, second, merkle.subtree_hasher(lambda lv, i: hashes[(lv, i)])
    )


def level_hashes(level: int, start: int, count: int) -> list[bytes]:
    """Hashes of `count` consecutive perfect subtrees at `level` (tlog tiles are made of these)."""
    with connection.cursor() as cursor:
        if level == 0:
            cursor.execute(
                'SELECT leaf_hash FROM ledger_logentry WHERE "index" >= %s AND "index" < %s '
                'ORDER BY "index"',
                [start, start + count],
            )
        else:
            cursor.execute(
                'SELECT hash FROM ledger_lognode WHERE level = %s AND "index" >= %s '
                'AND "index" < %s ORDER BY "index"',
                [level, start, start + count],
            )
        hashes = [bytes(row[0]) for row in cursor.fetchall()]
    if len(hashes) != count:
        raise LogError(f"level {level} has only {len(hashes)} of {count} hashes from {start}")
    return hashes


# --- checkpoints ----------------------------------------------------------------------------


def origin() -> str:
    return settings.LEDGER_LOG_ORIGIN


@lru_cache(maxsize=2)
def _signer_for(skey: str) -> note.Signer:
    return note.Signer.from_skey(skey)


def signer() -> note.Signer:
    """The log's Ed25519 key: LEDGER_LOG_SIGNING_KEY, or in development a key generated on
    first use and kept in var/ (never in git)."""
    if settings.LEDGER_LOG_SIGNING_KEY:
        return _signer_for(settings.LEDGER_LOG_SIGNING_KEY)
    if not settings.DEBUG:
        raise ImproperlyConfigured("LEDGER_LOG_SIGNING_KEY must be set when DEBUG is off")
    path = Path(settings.LEDGER_LOG_KEY_FILE)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        skey, _ = note.generate_skey(origin())
        path.touch(mode=0o600)
        path.write_text(skey + "\n")
    return _signer_for(path.read_text().strip())


def latest_checkpoint() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-size").first()


@transaction.atomic
def seal_checkpoint() -> Checkpoint | None:
    """Sign a checkpoint of the whole log if it grew since the last one; None if it did not.

    Under the head lock, so no entry is appended meanwhile. Before signing, the new root is
    proven consistent with the last signed one from the stored hashes: a log must never sign
    two inconsistent checkpoints (C2SP tlog-checkpoint), so a corrupt store stops here.
    """
    head = _lock_head()
    last = latest_checkpoint()
    if head.size == 0 or (last is not None and last.size >= head.size):
        return None
    frontier = merkle.CompactRange(
        (level, bytes.fromhex(digest)) for level, digest in head.frontier
    )
    new_root = root(head.size)
    if new_root != frontier.root():
        raise LogError("stored subtree hashes disagree with the log head; refusing to sign")
    if last is not None:
        proof = consistency_proof(last.size, head.size)
        if not merkle.verify_consistency(last.size, head.size, proof, bytes(last.root), new_root):
            raise LogError(f"tree at {head.size} is not consistent with checkpoint {last.size}")
    body = note.format_checkpoint(origin(), head.size, new_root)
    signed = note.sign_note(body, [signer()])
    return Checkpoint.objects.create(
        size=head.size, root=new_root, note=signed, created_at=timezone.now()
    )


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def receipt(index: int, checkpoint: Checkpoint, payload: str) -> str:
    """A C2SP tlog-proof for entry `index` under `checkpoint`, with the entry's payload as its
    `extra` so that a creator can recompute the leaf hash offline."""
    proof = inclusion_proof(index, checkpoint.size)
    return note.format_tlog_proof(index, proof, checkpoint.note, extra=payload.encode())
