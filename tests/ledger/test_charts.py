"""The server-drawn SVG charts (ledger.public.charts): well-formed XML, one bar per count, sizes
proportional to the counts, suppressed counts never drawn to scale, text escaped, and colours
that stay apart for colour-blind readers and text that meets WCAG contrast."""

from __future__ import annotations

import datetime as dt
import itertools
import xml.etree.ElementTree as ET

import pytest

from ledger.public import charts
from ledger.public.charts import Bar, Series

SVG = "{http://www.w3.org/2000/svg}"
DAY = dt.date(2026, 11, 2)  # a Monday


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 (our own output, parsed to check it)


def rects(root: ET.Element, kind: str) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == kind]


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def bar_chart(items: list[Bar], min_cell: int = 10) -> ET.Element:
    return parse(
        charts.bars(chart_id="by-category", title="By category", desc="", items=items, min_cell=10)
    )


def test_a_bar_chart_is_an_accessible_image_labelled_by_its_title_and_description() -> None:
    root = bar_chart([Bar("Removal", 40)])
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "by-category-title by-category-desc"
    assert root.find(f"{SVG}title").get("id") == "by-category-title"  # type: ignore[union-attr]
    assert root.find(f"{SVG}title").text == "By category"  # type: ignore[union-attr]
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.get("id") == "by-category-desc"
    assert "Removal: 40." in (desc.text or "")
    assert root.get("viewBox") == f"0 0 {charts.WIDTH} {root.get('height')}"


def test_bar_lengths_are_proportional_to_the_counts_with_each_value_written_beside_it() -> None:
    root = bar_chart([Bar("Removal", 400), Bar("Flag", 100), Bar("Demoted", 25)])
    widths = [float(r.get("width", "")) for r in rects(root, "bar")]
    assert len(widths) == 3
    assert widths[0] == pytest.approx(charts.WIDTH)
    assert widths[1] / widths[0] == pytest.approx(0.25, abs=1e-3)
    assert widths[2] / widths[0] == pytest.approx(0.0625, abs=1e-3)
    assert {"400", "100", "25", "Removal", "Flag", "Demoted"} <= set(texts(root))


def test_a_suppressed_count_is_a_hatched_stub_not_a_bar_and_the_legend_says_why() -> None:
    root = bar_chart([Bar("Removal", 400), Bar("Self-harm", "<10"), Bar("Flag", 12)])
    assert len(rects(root, "bar")) == 2
    stubs = rects(root, "suppressed")
    assert len(stubs) == 1
    assert stubs[0].get("fill") == "url(#by-category-hatch)"
    assert float(stubs[0].get("width", "")) == charts.STUB
    shown = texts(root)
    assert "fewer than 10" in shown
    assert "<10" not in " ".join(shown)
    assert any("Hatched: fewer than 10" in t for t in shown)


def test_no_legend_for_suppression_when_nothing_is_suppressed() -> None:
    root = bar_chart([Bar("Removal", 400)])
    assert rects(root, "legend-suppressed") == []
    assert not any("Hatched" in t for t in texts(root))


def test_text_from_the_database_is_escaped() -> None:
    hostile = '<script>alert("x")</script> & co'
    svg = charts.bars(
        chart_id='x"><script>',
        title=hostile,
        desc=hostile,
        items=[Bar(hostile, 12)],
        min_cell=10,
    )
    assert "<script>" not in svg
    root = parse(svg)  # still well-formed
    assert root.find(f"{SVG}title").text == hostile  # type: ignore[union-attr]
    assert hostile in texts(root)
    stacked = charts.columns(
        chart_id="c",
        title=hostile,
        desc=hostile,
        series=[Series("k", hostile)],
        cells={(DAY, "k"): 12},
        min_cell=10,
    )
    assert "<script>" not in stacked
    parse(stacked)


def test_control_characters_are_dropped_so_the_xml_stays_well_formed() -> None:
    parse(
        charts.bars(chart_id="c", title="a\x00b\x1b", desc="", items=[Bar("x\x08", 1)], min_cell=1)
    )


def test_long_labels_are_cut_to_fit_and_kept_whole_in_the_tooltip() -> None:
    label = "Negative effects on civic discourse or elections " * 3
    root = bar_chart([Bar(label, 10_000_000)])
    drawn = texts(root)[0]
    assert drawn.endswith("…") and len(drawn) < len(label)
    assert "10,000,000" in texts(root)
    tooltip = next(root.iter(f"{SVG}g")).find(f"{SVG}title")
    assert tooltip is not None and label in (tooltip.text or "")


def test_an_empty_bar_chart_says_there_is_nothing_to_show() -> None:
    root = bar_chart([])
    assert rects(root, "bar") == []
    assert "Nothing to show for these filters." in texts(root)


def stacked(cells: dict[tuple[dt.date, str], int | str], **kwargs: object) -> ET.Element:
    return parse(
        charts.columns(
            chart_id="by-day",
            title="Decisions per day",
            desc="By action.",
            series=[Series("REMOVAL", "Removal"), Series("FLAG", "Flag")],
            cells=cells,
            min_cell=10,
            **kwargs,  # type: ignore[arg-type]
        )
    )


def test_stacked_columns_draw_one_part_per_nonzero_count_with_heights_proportional() -> None:
    root = stacked(
        {
            (DAY, "REMOVAL"): 100,
            (DAY, "FLAG"): 50,
            (DAY + dt.timedelta(days=1), "FLAG"): 160,
            (DAY + dt.timedelta(days=2), "REMOVAL"): 30,
        }
    )
    parts = rects(root, "bar")
    assert len(parts) == 4
    assert len([g for g in root.iter(f"{SVG}g") if g.get("class") == "column"]) == 3
    heights = {
        (r.get("data-series"), r.get("data-value")): float(r.get("height", "")) for r in parts
    }
    removal, flag, later = (
        heights[("REMOVAL", "100")],
        heights[("FLAG", "50")],
        heights[("REMOVAL", "30")],
    )
    assert flag / removal == pytest.approx(0.5, abs=1e-3)
    assert later / removal == pytest.approx(0.3, abs=1e-3)
    # The axis tops out at a round number at or above the highest column (160 -> 200).
    assert (removal + flag) / charts.PLOT_HEIGHT == pytest.approx(150 / 200, abs=1e-3)
    # Each series has its own pattern over its colour, and the legend shows both.
    fills = {r.get("data-series"): r.get("fill") for r in parts}
    assert fills == {"REMOVAL": "url(#by-day-p0)", "FLAG": "url(#by-day-p1)"}
    assert len(rects(root, "swatch")) == 2


def test_a_column_with_suppressed_counts_gets_a_hatched_cap_and_no_height_for_them() -> None:
    root = stacked({(DAY, "REMOVAL"): 100, (DAY, "FLAG"): "<10"})
    assert [r.get("data-series") for r in rects(root, "bar")] == ["REMOVAL"]
    caps = rects(root, "suppressed")
    assert len(caps) == 1 and float(caps[0].get("height", "")) == charts.CAP
    assert len(rects(root, "legend-suppressed")) == 1
    tooltip = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "column")
    assert "Flag fewer than 10" in (tooltip.findtext(f"{SVG}title") or "")


def test_the_period_runs_from_start_to_end_with_empty_days_as_empty_columns() -> None:
    root = stacked(
        {(DAY, "REMOVAL"): 20}, start=DAY - dt.timedelta(days=3), end=DAY + dt.timedelta(days=3)
    )
    assert len([g for g in root.iter(f"{SVG}g") if g.get("class") == "column"]) == 7
    assert "7 columns, one per day" in (root.findtext(f"{SVG}desc") or "")


def test_more_than_92_days_are_drawn_a_week_a_column() -> None:
    start = DAY
    cells: dict[tuple[dt.date, str], int | str] = {
        (start + dt.timedelta(days=n), "REMOVAL"): 10 for n in range(140)
    }
    cells[(start + dt.timedelta(days=8), "FLAG")] = "<10"
    columns, weekly = charts.columns_of(cells)
    assert weekly and len(columns) == 20
    assert columns[0].start == DAY and columns[0].counts == {"REMOVAL": 70}
    assert columns[1].suppressed == {"FLAG"} and columns[1].counts == {"REMOVAL": 70}
    root = stacked(cells)
    assert "one per week (Monday to Sunday)" in (root.findtext(f"{SVG}desc") or "")
    assert len(rects(root, "suppressed")) == 1


def test_92_days_stay_daily() -> None:
    cells = {(DAY + dt.timedelta(days=n), "REMOVAL"): 10 for n in range(92)}
    columns, weekly = charts.columns_of(cells)
    assert not weekly and len(columns) == 92


@pytest.mark.parametrize(
    ("value", "top", "step"),
    [
        (0, 1, 1),
        (1, 1, 1),
        (7, 8, 2),
        (150, 150, 50),
        (9_999, 10_000, 5_000),
        (123_456, 150_000, 50_000),
    ],
)
def test_the_axis_tops_out_at_a_round_number(value: int, top: int, step: int) -> None:
    assert charts.nice_top(value) == (top, step)


# --- colours --------------------------------------------------------------------------------

# Okabe & Ito (2008), "Color Universal Design": the eight colours, here black last.
OKABE_ITO = {
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#000000",  # black
}


def test_the_palette_is_exactly_okabe_ito() -> None:
    assert len(charts.OKABE_ITO) == 8
    assert set(charts.OKABE_ITO) == OKABE_ITO
    assert charts.BAR in OKABE_ITO


def _linear(colour: str) -> list[float]:
    c = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    return [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in c]


# Machado, Oliveira & Fernandes (2009), severity 1.0, applied to linear RGB.
_DEUTERANOPIA = (
    (0.367322, 0.860646, -0.227968),
    (0.280085, 0.672501, 0.047413),
    (-0.011820, 0.042940, 0.968881),
)
_PROTANOPIA = (
    (0.152286, 1.052583, -0.204868),
    (0.114503, 0.786281, 0.099216),
    (-0.003882, -0.048116, 1.051998),
)


def _lab(linear: list[float]) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of a linear sRGB colour."""
    r, g, b = (min(max(v, 0.0), 1.0) for v in linear)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def _seen(colour: str, matrix: tuple[tuple[float, ...], ...]) -> tuple[float, float, float]:
    linear = _linear(colour)
    return _lab([sum(m * c for m, c in zip(row, linear, strict=True)) for row in matrix])


@pytest.mark.parametrize("matrix", [_DEUTERANOPIA, _PROTANOPIA], ids=["deuteranopia", "protanopia"])
def test_colours_stacked_next_to_each_other_stay_apart_for_colour_blind_readers(
    matrix: tuple[tuple[float, ...], ...],
) -> None:
    """Series i and i+1 share an edge in every column (and the last and first when colours
    repeat): under simulated deuteranopia and protanopia each such pair stays at least 30 CIE76
    units apart (about 2.3 is a just-noticeable difference)."""
    palette = charts.OKABE_ITO
    for a, b in itertools.pairwise([*palette, palette[0]]):
        distance = (
            sum((p - q) ** 2 for p, q in zip(_seen(a, matrix), _seen(b, matrix), strict=True))
            ** 0.5
        )
        assert distance >= 30, (a, b, distance)


def test_every_series_has_its_own_pattern_so_colour_is_not_the_only_cue() -> None:
    assert len(set(charts.PATTERNS)) == len(charts.PATTERNS) == len(charts.OKABE_ITO)


def test_text_meets_wcag_contrast_against_the_background() -> None:
    assert charts.contrast("#FFFFFF", "#000000") == pytest.approx(21)
    assert charts.contrast(charts.TEXT, charts.BACKGROUND) >= 4.5
    assert charts.contrast(charts.MUTED, charts.BACKGROUND) >= 4.5
    # The single-series bar reads against white too (WCAG 1.4.11 asks 3:1 of graphics).
    assert charts.contrast(charts.BAR, charts.BACKGROUND) >= 3


def test_past_eight_series_no_two_share_both_colour_and_pattern() -> None:
    svg = charts.columns(
        chart_id="many",
        title="t",
        desc="",
        series=[Series(f"s{i}", f"S{i}") for i in range(16)],
        cells={(DAY, f"s{i}"): 10 for i in range(16)},
        min_cell=10,
    )
    looks = set()
    for pattern in parse(svg).iter(f"{SVG}pattern"):
        if pattern.get("id", "").startswith("many-p"):
            background, *marks = list(pattern)
            looks.add((background.get("fill"), b"".join(ET.tostring(m) for m in marks)))
    assert len(looks) == 16


def test_highlighted_bars_read_against_the_background_too() -> None:
    root = bar_chart([Bar("Excluded from search (silent)", 10, highlight=True), Bar("Removed", 5)])
    fills = [r.get("fill") for r in rects(root, "bar")]
    assert fills == [charts.HIGHLIGHT, charts.BAR]
    assert charts.contrast(charts.HIGHLIGHT, charts.BACKGROUND) >= 3


def test_an_interval_chart_places_each_share_and_its_interval_on_a_0_to_100_scale() -> None:
    root = parse(
        charts.intervals(
            chart_id="precision",
            title="Audited precision",
            desc="",
            items=[
                charts.Interval("v1 <script>", 0.15, 0.05, 0.36, flagged=True),
                charts.Interval("v2", 0.9, 0.8, 0.95),
                charts.Interval("v3", None, None, None),
            ],
            line=0.5,
        )
    )
    dots = list(root.iter(f"{SVG}circle"))
    assert [float(d.get("cx", "")) / charts.WIDTH for d in dots] == pytest.approx([0.15, 0.9])
    bars = rects(root, "interval")
    assert [float(b.get("x", "")) / charts.WIDTH for b in bars] == pytest.approx([0.05, 0.8])
    assert [float(b.get("width", "")) / charts.WIDTH for b in bars] == pytest.approx([0.31, 0.15])
    assert [b.get("fill") for b in bars] == [charts.HIGHLIGHT, charts.BAR]
    shown = texts(root)
    assert {"v1 <script>", "15.0%", "90.0%", "not published", "minimum 50%"} <= set(shown)
    desc = root.findtext(f"{SVG}desc") or ""
    assert "v1 <script>: 15.0% (95% interval 5.0% to 36.0%)." in desc
    assert "v3: not published." in desc
