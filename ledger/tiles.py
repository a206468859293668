"""C2SP tlog-tiles: tile paths, which tiles a tree size has, tile contents, entry bundles.

Floor 1 of DESIGN.md: standard library only. Section names are those of tlog-tiles
("Merkle Tree", "Partial Tiles", "Log entries").

A tile at tile level ``L`` holds hashes of perfect subtrees of height ``8 * L`` in the
vocabulary of `ledger.merkle`: the ``i``-th hash of tile ``N`` at level ``L`` is the perfect
subtree ``(8 * L, N * 256 + i)``. So a store that can answer `merkle.PerfectHash` can serve
tiles, and a client holding tiles can answer `merkle.PerfectHash` (`perfect_hash_from_tiles`)
and therefore compute every proof with `merkle.subtree_hasher`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ledger import merkle

__all__ = [
    "ENTRIES_LEVEL",
    "MAX_ENTRY_SIZE",
    "MAX_LEVEL",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "LevelTiles",
    "Tile",
    "decode_entry_bundle",
    "encode_entry_bundle",
    "entries_path",
    "new_tiles",
    "parse_tile_path",
    "perfect_hash_from_tiles",
    "tile_for",
    "tile_hashes",
    "tile_layout",
    "tile_path",
    "tiles_for_size",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
"""A full tile holds 256 hashes (8,192 bytes): a whole height-8 subtree's leaves."""

MAX_LEVEL = 63
"""tlog-tiles: ``<L>`` is a decimal between 0 and 63."""

ENTRIES_LEVEL = -1
"""`Tile.level` of an entry bundle (``tile/entries/<N>``), as golang.org/x/mod/sumdb/tlog uses."""

MAX_ENTRY_SIZE = 0xFFFF
"""Entries in a bundle carry a big-endian uint16 length, which caps one entry at 64 KiB - 1."""

_LEVEL_RE = re.compile(r"0|[1-9][0-9]?")
_WIDTH_RE = re.compile(r"[1-9][0-9]{0,2}")
_GROUP_RE = re.compile(r"[0-9]{3}")


@dataclass(frozen=True, slots=True, order=True)
class Tile:
    """A hash tile (level 0 to 63) or entry bundle (level `ENTRIES_LEVEL`) of width 1 to 256."""

    level: int
    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        if not (self.level == ENTRIES_LEVEL or 0 <= self.level <= MAX_LEVEL):
            raise ValueError(f"invalid tile level {self.level}")
        if self.index < 0:
            raise ValueError(f"invalid tile index {self.index}")
        if not 1 <= self.width <= TILE_WIDTH:
            raise ValueError(f"invalid tile width {self.width}")

    @property
    def is_partial(self) -> bool:
        return self.width < TILE_WIDTH

    @property
    def path(self) -> str:
        width = self.width if self.is_partial else None
        if self.level == ENTRIES_LEVEL:
            return entries_path(self.index, width)
        return tile_path(self.level, self.index, width)


@dataclass(frozen=True, slots=True)
class LevelTiles:
    """The tiles one level has at some tree size: ``full`` full ones, then maybe a partial."""

    level: int
    full: int
    partial_width: int


def _encode_index(index: int) -> str:
    # tlog-tiles "Merkle Tree": zero-padded 3-digit elements, all but the last prefixed
    # with "x", so a directory and a file never share a name on disk.
    if type(index) is not int or index < 0:
        raise ValueError(f"invalid tile index {index!r}")
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def _width_suffix(width: int | None) -> str:
    if width is None or width == TILE_WIDTH:
        return ""
    if type(width) is not int or not 1 <= width < TILE_WIDTH:
        raise ValueError(f"invalid partial tile width {width!r}")
    return f".p/{width}"


def tile_path(level: int, index: int, width: int | None = None) -> str:
    """``tile/<L>/<N>[.p/<W>]``; ``width`` None or 256 means a full tile."""
    if type(level) is not int or not 0 <= level <= MAX_LEVEL:
        raise ValueError(f"invalid tile level {level!r}")
    return f"tile/{level}/{_encode_index(index)}{_width_suffix(width)}"


def entries_path(index: int, width: int | None = None) -> str:
    """``tile/entries/<N>[.p/<W>]``, the entry bundle beside level 0 tile ``index``."""
    return f"tile/entries/{_encode_index(index)}{_width_suffix(width)}"


def parse_tile_path(path: str) -> Tile:
    """Parses a tile or entry bundle path (without the log prefix), accepting only the
    canonical encoding, so each tile has exactly one URL (and one cache entry)."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise ValueError(f"not a tile path: {path!r}")
    if parts[1] == "entries":
        level = ENTRIES_LEVEL
    elif _LEVEL_RE.fullmatch(parts[1]) and int(parts[1]) <= MAX_LEVEL:
        level = int(parts[1])
    else:
        raise ValueError(f"invalid tile level in {path!r}")
    rest = parts[2:]
    width = TILE_WIDTH
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        if not _WIDTH_RE.fullmatch(rest[-1]) or int(rest[-1]) >= TILE_WIDTH:
            raise ValueError(f"invalid partial tile width in {path!r}")
        width = int(rest[-1])
        rest = [*rest[:-2], rest[-2][: -len(".p")]]
    *upper, last = rest
    if not _GROUP_RE.fullmatch(last) or not all(
        g.startswith("x") and _GROUP_RE.fullmatch(g[1:]) for g in upper
    ):
        raise ValueError(f"invalid tile index in {path!r}")
    index = 0
    for group in [*(g[1:] for g in upper), last]:
        index = index * 1000 + int(group)
    if _encode_index(index) != "/".join(rest):
        # e.g. "x000/123" for 123: a second name for the same tile.
        raise ValueError(f"non-canonical tile index in {path!r}")
    return Tile(level, index, width)


def tile_layout(size: int) -> list[LevelTiles]:
    """Per level, the full tiles and the partial tile width (0 for none) of a tree of ``size``.

    tlog-tiles "Partial Tiles": level l has floor(size / 256**(l+1)) full tiles and a partial
    tile of width floor(size / 256**l) mod 256. Levels with no tile at all are left out.
    """
    if type(size) is not int or size < 0:
        raise ValueError(f"invalid tree size {size!r}")
    layout = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        hashes = size >> (TILE_HEIGHT * level)
        layout.append(LevelTiles(level, hashes // TILE_WIDTH, hashes % TILE_WIDTH))
        level += 1
    return layout


def tiles_for_size(size: int) -> Iterator[Tile]:
    """Every hash tile a tree of ``size`` has, level by level, full ones before the partial."""
    for level in tile_layout(size):
        for index in range(level.full):
            yield Tile(level.level, index)
        if level.partial_width:
            yield Tile(level.level, level.full, level.partial_width)


def new_tiles(old_size: int, new_size: int) -> list[Tile]:
    """The hash tiles that exist at ``new_size`` but not at ``old_size``.

    These are what a log publishes when it grows: the full tiles completed since, and the
    partial tiles of the new size (a partial tile changes width, so it is a new object).
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(f"cannot grow from {old_size} to {new_size}")
    tiles: list[Tile] = []
    old = {lt.level: lt for lt in tile_layout(old_size)}
    for lt in tile_layout(new_size):
        before = old.get(lt.level, LevelTiles(lt.level, 0, 0))
        tiles.extend(Tile(lt.level, index) for index in range(before.full, lt.full))
        if lt.partial_width and (lt.full, lt.partial_width) != (before.full, before.partial_width):
            tiles.append(Tile(lt.level, lt.full, lt.partial_width))
    return tiles


def tile_for(level: int, index: int, size: int) -> Tile:
    """The tile at tree ``size`` holding perfect subtree (level, index), level a multiple of 8.

    Gives the partial tile when that is the only one holding it at this size.
    """
    if level < 0 or level % TILE_HEIGHT:
        raise ValueError("tiles only hold subtrees whose level is a multiple of 8")
    tile_level = level // TILE_HEIGHT
    hashes = size >> level
    if not 0 <= index < hashes:
        raise ValueError(f"subtree ({level}, {index}) is not complete at size {size}")
    tile_index = index // TILE_WIDTH
    width = min(TILE_WIDTH, hashes - tile_index * TILE_WIDTH)
    return Tile(tile_level, tile_index, width)


def tile_hashes(tile: Tile, perfect_hash: merkle.PerfectHash) -> bytes:
    """The bytes of a hash tile: its ``width`` hashes, concatenated.

    tlog-tiles "Merkle Tree": hash i of tile n at level l is
    MTH(D[(n * 256 + i) * 256**l : (n * 256 + i + 1) * 256**l]), i.e. perfect subtree
    (8 * l, n * 256 + i).
    """
    if tile.level == ENTRIES_LEVEL:
        raise ValueError("an entry bundle is not a hash tile")
    level = TILE_HEIGHT * tile.level
    first = tile.index * TILE_WIDTH
    return b"".join(perfect_hash(level, first + i) for i in range(tile.width))


def perfect_hash_from_tiles(
    level: int, index: int, read_tile: Callable[[int, int], bytes]
) -> bytes:
    """Perfect subtree (level, index) from tiles, as a client computes it from fetched tiles.

    ``read_tile(tile_level, tile_index)`` returns the tile's bytes (a full tile, or a partial
    one wide enough). A subtree whose level is not a multiple of 8 lies inside one tile: its
    2**(level % 8) hashes at tile level level // 8 are hashed up, since tlog-tiles leaves the
    levels between tile levels for the client to recompute.
    """
    if level < 0 or index < 0:
        raise ValueError(f"invalid subtree ({level}, {index})")
    tile_level, height = divmod(level, TILE_HEIGHT)
    first = index << height
    tile_index, offset = divmod(first, TILE_WIDTH)
    data = read_tile(tile_level, tile_index)
    size = merkle.HASH_SIZE
    end = (offset + (1 << height)) * size
    if len(data) % size or len(data) < end:
        raise ValueError(f"tile {tile_level}/{tile_index} too short for subtree ({level}, {index})")
    hashes = [data[i : i + size] for i in range(offset * size, end, size)]
    while len(hashes) > 1:
        hashes = [merkle.node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
    return hashes[0]


def encode_entry_bundle(entries: Iterable[bytes]) -> bytes:
    """tlog-tiles "Log entries": each entry as a big-endian uint16 length, then its bytes."""
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_SIZE:
            raise ValueError(f"entry of {len(entry)} bytes exceeds {MAX_ENTRY_SIZE}")
        out += len(entry).to_bytes(2, "big")
        out += entry
    return bytes(out)


def decode_entry_bundle(data: bytes, width: int | None = None) -> list[bytes]:
    """Splits an entry bundle; with ``width``, also checks it holds exactly that many entries."""
    entries = []
    position = 0
    while position < len(data):
        if position + 2 > len(data):
            raise ValueError("entry bundle truncated in a length prefix")
        length = int.from_bytes(data[position : position + 2], "big")
        position += 2
        if position + length > len(data):
            raise ValueError("entry bundle truncated in an entry")
        entries.append(bytes(data[position : position + length]))
        position += length
    if len(entries) > TILE_WIDTH or (width is not None and len(entries) != width):
        raise ValueError(f"entry bundle holds {len(entries)} entries")
    return entries
