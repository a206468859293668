"""RFC 9162 Merkle tree hashing, proof generation and proof verification.

Floor 1 of DESIGN.md: standard library only, so `python -m ledger.verify` can use it with
nothing else installed. Section numbers are those of RFC 9162 (§2.1); C2SP tlog-checkpoint and
tlog-tiles use exactly these hashes ("RFC 6962 Merkle tree"), with SHA-256.

Vocabulary used throughout:

- ``MTH(D[a:b])``: the Merkle Tree Hash (§2.1.1) of leaves ``a`` to ``b - 1`` treated as a
  tree on their own.
- A *perfect subtree* ``(level, index)`` is the aligned subtree covering leaves
  ``[index * 2**level, (index + 1) * 2**level)``. Every node of every tree of every size is
  either such a perfect subtree or lies on the right edge of the tree, which is why a store
  that keeps only perfect subtree hashes (one row per node, or tlog tiles) can answer any
  proof for any size with O(log n) reads: see `range_hash`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "MemoryTree",
    "PerfectHash",
    "PerfectNode",
    "SubtreeHash",
    "consistency_proof",
    "consistency_proof_from_leaves",
    "consistency_proof_nodes",
    "inclusion_proof",
    "inclusion_proof_from_leaves",
    "inclusion_proof_nodes",
    "leaf_hash",
    "node_hash",
    "range_hash",
    "root",
    "split_point",
    "subtree_hasher",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""SHA-256 output size. Every hash this module accepts or returns has exactly this length."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256 of the empty string (§2.1.1)."""

# RFC 9162 sizes and indices are uint64; anything larger cannot come from a real log.
_MAX_SIZE = (1 << 64) - 1

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class SubtreeHash(Protocol):
    """Returns MTH(D[start:end]) for 0 <= start < end."""

    def __call__(self, start: int, end: int, /) -> bytes: ...


class PerfectHash(Protocol):
    """Returns the hash of perfect subtree (level, index), at level 0 the leaf hash of ``index``.

    It covers leaves [index * 2**level, (index + 1) * 2**level).
    """

    def __call__(self, level: int, index: int, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class PerfectNode:
    """A completed perfect subtree: its hash never changes again, so a store may persist it."""

    level: int
    index: int
    hash: bytes


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d) (§2.1.1); the prefix keeps leaves and nodes apart."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right) (§2.1.1)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2): k in §2.1.1.

    Splitting at n/2 instead gives the same tree only when n is a power of two.
    """
    if n < 2:
        raise ValueError(f"no split point for a tree of size {n}")
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a whole list of leaf hashes (§2.1.1), for any size including 0.

    Computed level by level: pairing neighbours and carrying an odd last node up unchanged
    builds exactly the §2.1.1 tree, because every left child in it is a perfect subtree.
    """
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def range_hash(start: int, end: int, perfect_hash: PerfectHash) -> bytes:
    """MTH(D[start:end]) built from perfect subtree hashes.

    The range is split as in §2.1.1 (at the largest power of two below its size) until each
    part is an aligned perfect subtree. For the ranges proofs ask for (aligned perfect subtrees
    and right-edge ranges whose start is aligned to a power of two at least their size) this
    reads one perfect hash per set bit of ``end - start``: O(log n). Any other range is still
    answered correctly, but may cost up to O(end - start) reads.
    """
    if not 0 <= start <= end:
        raise ValueError(f"invalid range [{start}, {end})")
    if start == end:
        return EMPTY_ROOT
    return _range_hash(start, end, perfect_hash)


def _range_hash(start: int, end: int, perfect_hash: PerfectHash) -> bytes:
    n = end - start
    if n & (n - 1) == 0 and start % n == 0:
        level = n.bit_length() - 1
        return perfect_hash(level, start >> level)
    k = split_point(n)
    return node_hash(
        _range_hash(start, start + k, perfect_hash), _range_hash(start + k, end, perfect_hash)
    )


def subtree_hasher(perfect_hash: PerfectHash) -> SubtreeHash:
    """Adapts a perfect-subtree lookup (a store, tiles) to the range lookup proofs need."""

    def subtree_hash(start: int, end: int) -> bytes:
        return range_hash(start, end, perfect_hash)

    return subtree_hash


def inclusion_proof(index: int, size: int, subtree_hash: SubtreeHash) -> list[bytes]:
    """PATH(index, D[0:size]) (§2.1.3.1), ordered from the leaf's sibling up to the root's child.

    The recursion is unrolled top-down over ranges of the tree. Only the sibling taken at the
    first step into a left half can be a right-edge range [start + k, size); every other range
    asked for is an aligned perfect subtree. So with `subtree_hasher` over stored perfect
    hashes a proof costs O(log n) reads.
    """
    if not 0 <= index < size:
        raise ValueError(f"no inclusion proof for index {index} in a tree of size {size}")
    proof: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            proof.append(subtree_hash(start + k, end))
            end = start + k
        else:
            proof.append(subtree_hash(start, start + k))
            start += k
    # Built root-side first; the RFC's ":" appends the sibling of the larger subtree last.
    proof.reverse()
    return proof


def consistency_proof(size1: int, size2: int, subtree_hash: SubtreeHash) -> list[bytes]:
    """PROOF(size1, D[0:size2]) = SUBPROOF(size1, D[0:size2], true) (§2.1.4.1).

    Requires 0 < size1 <= size2; equal sizes give the empty proof. The unrolled recursion asks
    for ranges of the same two kinds as `inclusion_proof`, so it is O(log n) reads too.
    """
    if not 0 < size1 <= size2:
        raise ValueError(f"no consistency proof from size {size1} to size {size2}")
    proof: list[bytes] = []
    start, end = 0, size2
    # `complete` is the RFC's b: true while the old tree's root is still the whole subtree
    # under consideration, i.e. while the verifier already knows that hash.
    complete = True
    # The old tree is D[start:size1] within the current range D[start:end], so the RFC's
    # "m == n" is size1 == end and "m <= k" is size1 <= start + k.
    while size1 != end:
        k = split_point(end - start)
        if size1 <= start + k:
            proof.append(subtree_hash(start + k, end))
            end = start + k
        else:
            proof.append(subtree_hash(start, start + k))
            start += k
            complete = False
    if not complete:
        proof.append(subtree_hash(start, end))
    proof.reverse()
    return proof


class _Recorder:
    """A perfect-hash lookup that records what it is asked for and answers with placeholders.

    Proof generation only branches on sizes and indices, never on hash values, so running it
    once against this tells a store every hash it will need, which it can then fetch in one
    query instead of one round trip per level.
    """

    def __init__(self) -> None:
        self.nodes: dict[tuple[int, int], None] = {}

    def __call__(self, level: int, index: int, /) -> bytes:
        self.nodes[(level, index)] = None
        return EMPTY_ROOT


def inclusion_proof_nodes(index: int, size: int) -> list[tuple[int, int]]:
    """The (level, index) perfect subtrees `inclusion_proof` reads through `subtree_hasher`."""
    recorder = _Recorder()
    inclusion_proof(index, size, subtree_hasher(recorder))
    return list(recorder.nodes)


def consistency_proof_nodes(size1: int, size2: int) -> list[tuple[int, int]]:
    """The (level, index) perfect subtrees `consistency_proof` reads through `subtree_hasher`."""
    recorder = _Recorder()
    consistency_proof(size1, size2, subtree_hasher(recorder))
    return list(recorder.nodes)


def inclusion_proof_from_leaves(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D_n) over an in-memory list, written as the literal §2.1.3.1 recursion.

    O(n log n); meant for small trees and as an independent cross-check of `inclusion_proof`.
    Use `MemoryTree` for repeated proofs over one list.
    """
    if not 0 <= index < len(leaf_hashes):
        raise ValueError(f"no inclusion proof for index {index} in {len(leaf_hashes)} leaves")
    return _path(index, leaf_hashes)


def _path(m: int, d: Sequence[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = split_point(n)
    if m < k:
        return [*_path(m, d[:k]), root(d[k:])]
    return [*_path(m - k, d[k:]), root(d[:k])]


def consistency_proof_from_leaves(size1: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(size1, D_n) over an in-memory list, written as the literal §2.1.4.1 recursion."""
    if not 0 < size1 <= len(leaf_hashes):
        raise ValueError(f"no consistency proof from size {size1} to {len(leaf_hashes)}")
    return _subproof(size1, leaf_hashes, True)


def _subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [root(d)]
    k = split_point(n)
    if m <= k:
        return [*_subproof(m, d[:k], b), root(d[k:])]
    return [*_subproof(m - k, d[k:], False), root(d[:k])]


class MemoryTree:
    """All perfect subtree hashes of an in-memory list of leaves, for repeated proofs.

    Holds what a database store would hold (one hash per perfect subtree), and answers through
    the same `range_hash` path, so tests of this class exercise the store's proof code.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append(h)

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def append(self, leaf: bytes) -> None:
        _check_hash(leaf)
        self._levels[0].append(leaf)
        level = 0
        # A new node at level l + 1 completes each time level l reaches an even length.
        while len(self._levels[level]) % 2 == 0:
            if len(self._levels) == level + 1:
                self._levels.append([])
            pair = self._levels[level][-2:]
            self._levels[level + 1].append(node_hash(pair[0], pair[1]))
            level += 1

    def perfect_hash(self, level: int, index: int) -> bytes:
        if 0 <= level < len(self._levels) and 0 <= index < len(self._levels[level]):
            return self._levels[level][index]
        raise KeyError((level, index))

    def subtree_hash(self, start: int, end: int) -> bytes:
        if end > self.size:
            raise ValueError(f"range [{start}, {end}) beyond tree size {self.size}")
        return range_hash(start, end, self.perfect_hash)

    def root(self, size: int | None = None) -> bytes:
        return self.subtree_hash(0, self.size if size is None else size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        tree_size = self.size if size is None else size
        if tree_size > self.size:
            raise ValueError(f"tree size {tree_size} beyond {self.size} leaves")
        return inclusion_proof(index, tree_size, self.subtree_hash)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        tree_size = self.size if size2 is None else size2
        if tree_size > self.size:
            raise ValueError(f"tree size {tree_size} beyond {self.size} leaves")
        return consistency_proof(size1, tree_size, self.subtree_hash)


class CompactRange:
    """The §2.1.2 stack ("compact range" of [0, size)): O(log n) state to append and get roots.

    The state is one perfect subtree per set bit of ``size``, largest (leftmost) first, as
    ``(level, hash)`` pairs. Appending leaf i pushes it and merges equal levels, which happens
    once per trailing one bit of i; folding the stack right to left gives MTH(D[0:size]).
    Every merge completes a perfect subtree that will never change, and `append` reports
    those (the leaf itself included, at level 0) so a store can persist them for proofs.
    """

    def __init__(self, state: Iterable[tuple[int, bytes]] = ()) -> None:
        self._stack: list[tuple[int, bytes]] = []
        self._size = 0
        for level, h in state:
            if type(level) is not int or level < 0:
                raise ValueError(f"invalid level {level!r} in compact range state")
            _check_hash(h)
            if self._stack and self._stack[-1][0] <= level:
                raise ValueError("compact range state levels must strictly decrease")
            self._stack.append((level, bytes(h)))
            self._size += 1 << level
        if self._size > _MAX_SIZE:
            raise ValueError("compact range state exceeds 2**64 - 1 leaves")

    @property
    def size(self) -> int:
        return self._size

    @property
    def state(self) -> list[tuple[int, bytes]]:
        """Serialisable state; `CompactRange(state)` resumes appending where this one is."""
        return list(self._stack)

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        r = self._stack[-1][1]
        for _, h in reversed(self._stack[:-1]):
            r = node_hash(h, r)
        return r

    def append(self, leaf: bytes) -> list[PerfectNode]:
        """Appends one leaf hash; returns the perfect subtrees it completed, bottom up."""
        _check_hash(leaf)
        if self._size == _MAX_SIZE:
            raise OverflowError("tree is full")
        new_size = self._size + 1
        completed = [PerfectNode(0, self._size, bytes(leaf))]
        level, h = 0, bytes(leaf)
        while self._stack and self._stack[-1][0] == level:
            _, left = self._stack.pop()
            h = node_hash(left, h)
            level += 1
            # The new node ends at new_size, so it is the (new_size >> level) - 1-th of its level.
            completed.append(PerfectNode(level, (new_size >> level) - 1, h))
        self._stack.append((level, h))
        self._size = new_size
        return completed

    def extend(self, leaves: Iterable[bytes]) -> list[PerfectNode]:
        completed: list[PerfectNode] = []
        for leaf in leaves:
            completed.extend(self.append(leaf))
        return completed


def _check_hash(h: object) -> None:
    if not _is_hash(h):
        raise ValueError(f"expected a {HASH_SIZE}-byte hash")


def _is_hash(h: object) -> bool:
    return isinstance(h, bytes | bytearray) and len(h) == HASH_SIZE


def _is_size(n: object) -> bool:
    # bool is an int subclass; True is not a tree size.
    return type(n) is int and 0 <= n <= _MAX_SIZE


def _is_proof(proof: object) -> bool:
    return isinstance(proof, Sequence) and not isinstance(proof, bytes | bytearray | str)


def _decomp_incl_proof(index: int, size: int) -> tuple[int, int]:
    """Lengths of the inner and border parts of PATH(index, D[0:size]).

    As transparency-dev/merkle's decompInclProof: the paths to `index` and to `size - 1`
    diverge at height bitlen(index ^ (size - 1)) ("inner"); above that the proof holds one
    left sibling per set bit of the remaining index bits ("border").
    """
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Checks an inclusion proof by the §2.1.3.2 algorithm. Never raises.

    Returns False for any malformed input, before hashing anything: hashes that are not
    exactly 32 bytes (leaf, root or proof element), ``index >= tree_size``, and a proof whose
    length is not exactly the inner + border length of PATH(index, D[0:tree_size]). The RFC
    loop would reject most wrong lengths by itself, but checking up front (as transparency-dev
    does) also rules out proofs with extra elements that happen to be skipped.
    """
    if not (_is_size(index) and _is_size(tree_size) and index < tree_size):
        return False
    if not (_is_hash(leaf_hash) and _is_hash(root) and _is_proof(proof)):
        return False
    if not all(_is_hash(p) for p in proof):
        return False
    inner, border = _decomp_incl_proof(index, tree_size)
    if len(proof) != inner + border:
        return False

    fn, sn = index, tree_size - 1
    r = bytes(leaf_hash)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # §2.1.3.2 step 4.b.ii: on the right edge, skip the levels where this node has no
            # right sibling. The loop must also stop at fn == 0, or it never ends.
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> bool:
    """Checks a consistency proof by the §2.1.4.2 algorithm. Never raises.

    Edge cases the RFC leaves open, decided as transparency-dev/merkle (proof/verify.go) does:

    - every hash (both roots, each proof element) must be exactly 32 bytes. This rejects the
      golden vector ``consistency/additional/sizes-are-equal-one-and-proof-is-empty.json``,
      which expects success for 12-byte "roots"; the tests special-case it;
    - ``size1 > size2``: rejected;
    - ``size1 == size2``: the proof must be empty and the roots equal; at size 0 both roots
      must also be EMPTY_ROOT, the only root an empty tree has;
    - ``size1 == 0 < size2``: **rejected**, whatever the proof and roots. A consistency proof
      from the empty tree proves nothing (the empty tree is a prefix of every tree), and the
      golden vectors expect rejection ("size1 is zero and size2 is not zero", "consistency
      check on empty tree is useless"). C2SP tlog-witness instead accepts ``old 0`` with an
      empty proof; a witness endpoint implementing that must handle old size 0 itself (check
      the proof is empty) before calling this;
    - the proof length must be exactly what §2.1.4.1 produces for (size1, size2).
    """
    if not (_is_size(size1) and _is_size(size2) and size1 <= size2):
        return False
    if not (_is_hash(root1) and _is_hash(root2) and _is_proof(proof)):
        return False
    if not all(_is_hash(p) for p in proof):
        return False
    if size1 == size2:
        if size1 == 0:
            return len(proof) == 0 and root1 == EMPTY_ROOT and root2 == EMPTY_ROOT
        return len(proof) == 0 and root1 == root2
    if size1 == 0:
        return False

    # The proof is a suffix of PATH(size1 - 1, D[0:size2]) starting at the level of the
    # largest perfect subtree ending at size1, plus that subtree's hash first unless it is the
    # whole old tree (size1 a power of two), whose hash the verifier already has as root1.
    inner, border = _decomp_incl_proof(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1
    seeded = size1 & (size1 - 1) == 0
    if len(proof) != (inner - shift) + border + (0 if seeded else 1):
        return False

    # §2.1.4.2 steps 2 to 7.
    path = [bytes(root1), *proof] if seeded else list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = bytes(path[0])
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == root1 and sr == root2 and sn == 0
