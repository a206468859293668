"""C2SP tlog-tiles: paths, tile layout per tree size, tile contents, entry bundles."""

from __future__ import annotations

import random

import pytest

from ledger import merkle
from ledger.tiles import (
    ENTRIES_LEVEL,
    LevelTiles,
    Tile,
    decode_entry_bundle,
    encode_entry_bundle,
    entries_path,
    new_tiles,
    parse_tile_path,
    perfect_hash_from_tiles,
    tile_for,
    tile_hashes,
    tile_layout,
    tile_path,
    tiles_for_size,
)


@pytest.mark.parametrize(
    ("level", "index", "width", "path"),
    [
        (0, 1234067, None, "tile/0/x001/x234/067"),
        (0, 0, None, "tile/0/000"),
        (1, 999, None, "tile/1/999"),
        (2, 1000, None, "tile/2/x001/000"),
        (3, 1_000_000, 17, "tile/3/x001/x000/000.p/17"),
        (0, 273, 112, "tile/0/273.p/112"),
        (63, 5, 255, "tile/63/005.p/255"),
        (0, 7, 256, "tile/0/007"),
    ],
)
def test_tile_paths_encode_and_parse_back(
    level: int, index: int, width: int | None, path: str
) -> None:
    assert tile_path(level, index, width) == path
    tile = parse_tile_path(path)
    assert tile == Tile(level, index, width or 256)
    assert tile.path == path


def test_entry_bundle_paths() -> None:
    assert entries_path(1234067) == "tile/entries/x001/x234/067"
    assert entries_path(273, 112) == "tile/entries/273.p/112"
    assert parse_tile_path("tile/entries/273.p/112") == Tile(ENTRIES_LEVEL, 273, 112)
    assert Tile(ENTRIES_LEVEL, 5).path == "tile/entries/005"


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/x001/x234/67",
        "tile/0/x001/234/067",
        "tile/0/001/x234",
        "tile/0/x000/123",  # a second name for tile 123
        "tile/00/000",
        "tile/64/000",
        "tile/-1/000",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/012",
        "tile/0/000.p/",
        "tile/0/000.p",
        "tile/0/",
        "tile/0",
        "tiles/0/000",
        "/tile/0/000",
        "tile/0/000/",
        "tile/data/000",
        "tile/0/abc",
    ],
)
def test_malformed_tile_paths_are_rejected(path: str) -> None:
    with pytest.raises(ValueError):
        parse_tile_path(path)


@pytest.mark.parametrize(
    ("level", "index", "width"),
    [(-1, 0, None), (64, 0, None), (0, -1, None), (0, 0, 0), (0, 0, 257)],
)
def test_invalid_tile_coordinates_are_refused(level: int, index: int, width: int | None) -> None:
    with pytest.raises(ValueError):
        tile_path(level, index, width)


def test_layout_of_the_spec_example_size_70000() -> None:
    assert tile_layout(70_000) == [
        LevelTiles(0, 273, 112),
        LevelTiles(1, 1, 17),
        LevelTiles(2, 0, 1),
    ]
    tiles = list(tiles_for_size(70_000))
    assert len(tiles) == 273 + 1 + 1 + 1 + 1
    assert tiles[272:] == [
        Tile(0, 272),
        Tile(0, 273, 112),
        Tile(1, 0),
        Tile(1, 1, 17),
        Tile(2, 0, 1),
    ]


def test_layout_of_the_spec_example_size_256() -> None:
    # "a tree of size 256 will be represented by a full level 0 tile and a partial level 1
    # tile of width 1"
    assert list(tiles_for_size(256)) == [Tile(0, 0), Tile(1, 0, 1)]
    assert list(tiles_for_size(0)) == []
    assert list(tiles_for_size(1)) == [Tile(0, 0, 1)]


def test_new_tiles_are_what_growing_the_tree_adds() -> None:
    assert new_tiles(0, 70_000) == list(tiles_for_size(70_000))
    assert new_tiles(70_000, 70_000) == []
    assert new_tiles(255, 256) == [Tile(0, 0), Tile(1, 0, 1)]
    assert new_tiles(256, 300) == [Tile(0, 1, 44)]
    assert new_tiles(65_535, 65_536) == [Tile(0, 255), Tile(1, 0), Tile(2, 0, 1)]
    rng = random.Random(70_000)
    for _ in range(50):
        old = rng.randrange(200_000)
        new = old + rng.randrange(3_000)
        before, after = set(tiles_for_size(old)), set(tiles_for_size(new))
        assert set(new_tiles(old, new)) == after - before


def test_tile_contents_are_the_perfect_subtrees_at_eight_times_the_tile_level() -> None:
    data = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(70_000)]
    tree = merkle.MemoryTree(data)
    level0 = tile_hashes(Tile(0, 3), tree.perfect_hash)
    assert level0 == b"".join(data[768:1024])
    level1 = tile_hashes(Tile(1, 1, 17), tree.perfect_hash)
    assert len(level1) == 17 * 32
    for i in range(17):
        start = (256 + i) * 256
        assert level1[i * 32 : (i + 1) * 32] == merkle.root(data[start : start + 256])
    assert tile_hashes(Tile(2, 0, 1), tree.perfect_hash) == merkle.root(data[:65_536])
    with pytest.raises(ValueError):
        tile_hashes(Tile(ENTRIES_LEVEL, 0), tree.perfect_hash)

    # A client holding only the tiles of size 70,000 can recompute every proof.
    size = 70_000
    served = {(t.level, t.index): tile_hashes(t, tree.perfect_hash) for t in tiles_for_size(size)}

    def from_tiles(level: int, index: int) -> bytes:
        return perfect_hash_from_tiles(level, index, lambda tl, ti: served[(tl, ti)])

    subtree_hash = merkle.subtree_hasher(from_tiles)
    rng = random.Random(size)
    for i in [0, 65_535, 65_536, size - 1, *rng.sample(range(size), 10)]:
        proof = merkle.inclusion_proof(i, size, subtree_hash)
        assert proof == tree.inclusion_proof(i, size)
        assert merkle.verify_inclusion(data[i], i, size, proof, tree.root(size))
    for m in [1, 256, 65_536, 69_999, *rng.sample(range(1, size), 10)]:
        assert merkle.consistency_proof(m, size, subtree_hash) == tree.consistency_proof(m, size)


def test_tile_for_names_the_tile_that_holds_a_subtree() -> None:
    assert tile_for(0, 5, 70_000) == Tile(0, 0)
    assert tile_for(0, 69_999, 70_000) == Tile(0, 273, 112)
    assert tile_for(8, 256, 70_000) == Tile(1, 1, 17)
    assert tile_for(16, 0, 70_000) == Tile(2, 0, 1)
    with pytest.raises(ValueError):
        tile_for(3, 0, 70_000)
    with pytest.raises(ValueError):
        tile_for(0, 70_000, 70_000)


def test_perfect_hash_from_a_too_short_tile_is_refused() -> None:
    with pytest.raises(ValueError):
        perfect_hash_from_tiles(1, 1, lambda tl, ti: b"\x00" * 64)


def test_entry_bundles_are_uint16_length_prefixed() -> None:
    entries = [b"", b"a", b"\x00" * 300, b"x" * 0xFFFF]
    bundle = encode_entry_bundle(entries)
    assert bundle[:5] == b"\x00\x00\x00\x01a"
    assert bundle[5:7] == (300).to_bytes(2, "big")
    assert decode_entry_bundle(bundle) == entries
    assert decode_entry_bundle(bundle, width=4) == entries
    assert decode_entry_bundle(b"") == []


def test_oversized_and_truncated_entry_bundles_are_refused() -> None:
    with pytest.raises(ValueError):
        encode_entry_bundle([b"x" * 0x10000])
    bundle = encode_entry_bundle([b"abc", b"de"])
    for cut in range(1, len(bundle)):
        if cut == 5:  # the end of the first entry is a valid one-entry bundle
            assert decode_entry_bundle(bundle[:cut]) == [b"abc"]
            continue
        with pytest.raises(ValueError):
            decode_entry_bundle(bundle[:cut])
    with pytest.raises(ValueError):
        decode_entry_bundle(bundle, width=3)
    with pytest.raises(ValueError):
        decode_entry_bundle(encode_entry_bundle([b""] * 257))
