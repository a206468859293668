"""Charts for the public pages, drawn on the server as inline SVG.

Why by hand rather than with a library: a few dozen lines of SVG beat shipping a JavaScript
charting library, the pages must be readable with JavaScript switched off (the SVG in the HTML
is the chart), and matplotlib would add a heavy dependency for the few kinds of chart drawn here
(horizontal bars by category, stacked columns over time).

Accessibility: every chart is `role="img"`, labelled by its own <title> and <desc>, and has a
viewBox so it shrinks to a phone's width. Colours are the Okabe-Ito palette (Okabe & Ito 2008,
"Color Universal Design"), chosen to stay distinguishable with deuteranopia and protanopia;
each series of a stacked chart also has its own fill pattern and every bar its value written
beside it, so colour is never the only cue. Text is dark on white (WCAG contrast at least
4.5:1, tested). The table next to every chart gives each number.

Privacy: a suppressed count ("<10") is not a number and is never drawn to scale. A bar shows a
short hatched stub labelled "fewer than 10"; a column with suppressed parts gets a hatched cap
of fixed height; the legend says what the hatching means.

All text comes from the database (platform slugs, model names) or the vocabulary, and is
escaped here: a chart is returned as safe HTML.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.utils.safestring import SafeString, mark_safe

# Okabe & Ito (2008), in their order minus black, which comes last: orange, sky blue, bluish
# green, yellow, blue, vermillion, reddish purple, black.
OKABE_ITO: tuple[str, ...] = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#000000",
)
BACKGROUND = "#FFFFFF"
TEXT = "#1D2330"
MUTED = "#4A5468"
GRID = "#D5DAE2"
# One-series bars: the palette's blue, which also reads against white (contrast 5:1), and its
# vermillion for bars set apart (contrast 3.7:1, above WCAG's 3:1 for graphics).
BAR = "#0072B2"
HIGHLIGHT = "#D55E00"
# Patterns drawn over a series' colour (index = series index mod 8). Diagonal hatching is kept
# for suppressed counts and used by no series.
PATTERNS = ("solid", "dots", "hlines", "vlines", "grid", "checks", "rings", "plus")

# Days longer than this are drawn a week (Monday to Sunday) per column: 90 columns still fit a
# phone's width, 365 do not.
MAX_DAILY_COLUMNS = 92

FONT = 14
SMALL = 12
WIDTH = 360
# Average advance of a system-ui character, in ems: enough to fit labels without measuring.
_EM_ADVANCE = 0.56
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Cell = int | str


def esc(text: object) -> str:
    """Text for SVG (XML) content or an attribute: escaped, control characters XML forbids
    dropped."""
    return html.escape(_CONTROL.sub("", str(text)), quote=True)


def number(value: int) -> str:
    return f"{value:,}"


def fit(text: str, width: float, size: float = FONT) -> str:
    """`text` cut with an ellipsis to about `width` units at font `size`."""
    most = max(int(width / (size * _EM_ADVANCE)), 1)
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


def luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of a #RRGGBB colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2.x contrast ratio of two colours (1 to 21)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _ink(colour: str) -> str:
    """The pattern's marks: whichever of black and white stands out more on the colour."""
    return "#000000" if contrast(colour, "#000000") >= contrast(colour, "#FFFFFF") else "#FFFFFF"


def _pattern(pattern_id: str, index: int) -> str:
    colour = OKABE_ITO[index % len(OKABE_ITO)]
    ink = _ink(colour)
    # Past eight series the colours come round again; the pattern moves on by one each time
    # round, so no two series share both.
    kind = PATTERNS[(index + index // len(OKABE_ITO)) % len(PATTERNS)]
    marks = {
        "solid": "",
        "dots": f'<circle cx="3" cy="3" r="1.1" fill="{ink}"/>',
        "hlines": f'<path d="M0 3H6" stroke="{ink}" stroke-width="1.2"/>',
        "vlines": f'<path d="M3 0V6" stroke="{ink}" stroke-width="1.2"/>',
        "grid": f'<path d="M0 3H6M3 0V6" stroke="{ink}" stroke-width="0.9"/>',
        "checks": f'<rect width="3" height="3" fill="{ink}" opacity="0.6"/>',
        "rings": f'<circle cx="3" cy="3" r="1.6" fill="none" stroke="{ink}" stroke-width="0.8"/>',
        "plus": f'<path d="M1.5 3H4.5M3 1.5V4.5" stroke="{ink}" stroke-width="0.9"/>',
    }[kind]
    return (
        f'<pattern id="{pattern_id}" width="6" height="6" patternUnits="userSpaceOnUse">'
        f'<rect width="6" height="6" fill="{colour}"/>{marks}</pattern>'
    )


def _hatch(pattern_id: str) -> str:
    return (
        f'<pattern id="{pattern_id}" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{BACKGROUND}"/>'
        f'<path d="M0 0V6" stroke="{MUTED}" stroke-width="2"/></pattern>'
    )


def _open(chart_id: str, title: str, desc: str, width: float, height: float) -> str:
    cid = esc(chart_id)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{cid}" role="img" '
        f'aria-labelledby="{cid}-title {cid}-desc" viewBox="0 0 {width:g} {height:g}" '
        f'width="{width:g}" height="{height:g}" font-family="system-ui, sans-serif" '
        f'font-size="{FONT}" fill="{TEXT}">'
        f'<title id="{cid}-title">{esc(title)}</title><desc id="{cid}-desc">{esc(desc)}</desc>'
    )


def _suppressed_note(min_cell: int) -> str:
    return f"Hatched: fewer than {min_cell}, not drawn to scale."


# --- horizontal bars ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: Cell
    # Drawn in HIGHLIGHT (the caller's label says why, e.g. "(silent)": not colour alone).
    highlight: bool = False


ROW = 42
STUB = 24


def bars(
    *, chart_id: str, title: str, desc: str, items: Sequence[Bar], min_cell: int, unit: str = ""
) -> SafeString:
    """One horizontal bar per item, its label above it and its value at the right: labels of
    any length fit a phone's width this way. Bar lengths are proportional to the values."""
    known = [item.value for item in items if isinstance(item.value, int)]
    top = max(known, default=0)
    suppressed = any(not isinstance(item.value, int) for item in items)
    height = max(len(items), 1) * ROW + (ROW if suppressed else 0) + 4
    cid = esc(chart_id)
    summary = " ".join(
        f"{item.label}: {_say(item.value, min_cell)}{' ' + unit if unit else ''}." for item in items
    )
    parts = [
        _open(chart_id, title, f"{desc} {summary}".strip(), WIDTH, height),
        f"<defs>{_hatch(f'{cid}-hatch')}</defs>",
    ]
    if not items:
        parts.append(f'<text x="0" y="24" fill="{MUTED}">Nothing to show for these filters.</text>')
    for row, item in enumerate(items):
        y = row * ROW
        shown = _say(item.value, min_cell)
        value_width = len(shown) * FONT * _EM_ADVANCE + 8
        parts.append(f'<g class="item"><title>{esc(item.label)}: {esc(shown)}</title>')
        parts.append(f'<text x="0" y="{y + 15}">{esc(fit(item.label, WIDTH - value_width))}</text>')
        parts.append(f'<text x="{WIDTH}" y="{y + 15}" text-anchor="end">{esc(shown)}</text>')
        if isinstance(item.value, int):
            length = WIDTH * item.value / top if top else 0
            if item.value and length < 1:
                length = 1
            parts.append(
                f'<rect class="bar" x="0" y="{y + 21}" width="{length:.2f}" height="14" '
                f'fill="{HIGHLIGHT if item.highlight else BAR}" data-value="{item.value}"/>'
            )
        else:
            parts.append(_stub(cid, 0, y + 21, STUB, 14))
        parts.append("</g>")
    if suppressed:
        y = len(items) * ROW + 8
        parts.append(_stub(cid, 0, y, 14, 14, legend=True))
        parts.append(
            f'<text x="20" y="{y + 12}" font-size="{SMALL}" fill="{MUTED}">'
            f"{esc(_suppressed_note(min_cell))}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every piece of text above is escaped)


def _say(value: Cell, min_cell: int) -> str:
    return number(value) if isinstance(value, int) else f"fewer than {min_cell}"


def _stub(cid: str, x: float, y: float, width: float, height: float, legend: bool = False) -> str:
    kind = "legend-suppressed" if legend else "suppressed"
    return (
        f'<rect class="{kind}" x="{x:g}" y="{y:g}" width="{width:g}" height="{height:g}" '
        f'fill="url(#{cid}-hatch)" stroke="{MUTED}" stroke-dasharray="2 2"/>'
    )


# --- shares with their intervals ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Interval:
    """A share (0 to 1) with its confidence interval; None when not published."""

    label: str
    value: float | None
    low: float | None
    high: float | None
    # Drawn in HIGHLIGHT; the caller's label says why (e.g. "below the minimum").
    flagged: bool = False


def intervals(
    *, chart_id: str, title: str, desc: str, items: Sequence[Interval], line: float | None = None
) -> SafeString:
    """One row per item on a 0 to 100% scale: a dot at the share and a bar over its interval,
    the share written at the right; `line` (e.g. the minimum precision) as a dashed rule."""
    top = 24 if line is not None else 4
    height = top + max(len(items), 1) * ROW + 22
    said = " ".join(
        f"{item.label}: "
        + (
            f"{item.value:.1%} (95% interval {item.low:.1%} to {item.high:.1%})."
            if item.value is not None and item.low is not None and item.high is not None
            else "not published."
        )
        for item in items
    )
    parts = [_open(chart_id, title, f"{desc} {said}".strip(), WIDTH, height)]
    if line is not None:
        parts.append(
            f'<text x="{WIDTH * line:.2f}" y="14" text-anchor="middle" font-size="{SMALL}">'
            f"minimum {line:.0%}</text>"
        )
    for row, item in enumerate(items):
        y = top + row * ROW
        colour = HIGHLIGHT if item.flagged else BAR
        shown = f"{item.value:.1%}" if item.value is not None else "not published"
        width = len(shown) * FONT * _EM_ADVANCE + 8
        parts.append(f'<g class="item"><title>{esc(item.label)}: {esc(shown)}</title>')
        parts.append(f'<text x="0" y="{y + 15}">{esc(fit(item.label, WIDTH - width))}</text>')
        parts.append(f'<text x="{WIDTH}" y="{y + 15}" text-anchor="end">{esc(shown)}</text>')
        parts.append(f'<path d="M0 {y + 28}H{WIDTH}" stroke="{GRID}" stroke-width="1"/>')
        if line is not None:
            # The minimum as a dashed tick across each row's track, clear of the labels.
            parts.append(
                f'<path class="minimum" d="M{WIDTH * line:.2f} {y + 19}V{y + 37}" '
                f'stroke="{TEXT}" stroke-width="1.5" stroke-dasharray="3 2"/>'
            )
        if item.value is not None and item.low is not None and item.high is not None:
            parts.append(
                f'<rect class="interval" x="{WIDTH * item.low:.2f}" y="{y + 24}" '
                f'width="{WIDTH * (item.high - item.low):.2f}" height="8" fill="{colour}" '
                f'opacity="0.45"/><circle class="share" cx="{WIDTH * item.value:.2f}" '
                f'cy="{y + 28}" r="5" fill="{colour}" stroke="{TEXT}"/>'
            )
        parts.append("</g>")
    axis = height - 6
    for tick in (0, 0.25, 0.5, 0.75, 1):
        anchor = "start" if tick == 0 else "end" if tick == 1 else "middle"
        parts.append(
            f'<text x="{WIDTH * tick:g}" y="{axis}" text-anchor="{anchor}" font-size="{SMALL}" '
            f'fill="{MUTED}">{tick:.0%}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every piece of text above is escaped)


# --- stacked columns over time --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    label: str


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its first day, the known counts by series, the series with suppressed
    counts in it."""

    start: dt.date
    counts: dict[str, int]
    suppressed: frozenset[str]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def columns_of(
    cells: Mapping[tuple[dt.date, str], Cell],
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    weekly: bool | None = None,
) -> tuple[list[Column], bool]:
    """The columns from `start` to `end` (default: the first and last day with counts), one per
    day, or per week (Monday to Sunday) when there are more than MAX_DAILY_COLUMNS days; days
    with no count are columns of zero. A week's known counts are summed and its suppressed
    ones only marked: they cannot be added without publishing them. Returns (columns, weekly)."""
    days = [day for day, _ in cells]
    first = start or min(days, default=None)
    last = end or max(days, default=None)
    if first is None or last is None or first > last:
        return [], False
    if weekly is None:
        weekly = (last - first).days + 1 > MAX_DAILY_COLUMNS

    def key(day: dt.date) -> dt.date:
        return day - dt.timedelta(days=day.weekday()) if weekly else day

    step = dt.timedelta(days=7 if weekly else 1)
    counts: dict[dt.date, dict[str, int]] = {}
    suppressed: dict[dt.date, set[str]] = {}
    day = key(first)
    while day <= last:
        counts[day], suppressed[day] = {}, set()
        day += step
    for (day, series), cell in cells.items():
        if not first <= day <= last:
            continue
        if isinstance(cell, int):
            counts[key(day)][series] = counts[key(day)].get(series, 0) + cell
        else:
            suppressed[key(day)].add(series)
    columns = [Column(day, counts[day], frozenset(suppressed[day])) for day in counts]
    return columns, weekly


def nice_top(value: int) -> tuple[int, int]:
    """A round axis maximum at or above `value` and its tick step (1, 2 or 5 times a power of
    ten, four or five ticks)."""
    if value <= 0:
        return 1, 1
    raw = value / 4
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(int(step), 1)
    return step * math.ceil(value / step), step


PLOT_LEFT = 52
PLOT_TOP = 8
PLOT_HEIGHT = 200
CAP = 5


def columns(
    *,
    chart_id: str,
    title: str,
    desc: str,
    series: Sequence[Series],
    cells: Mapping[tuple[dt.date, str], Cell],
    min_cell: int,
    start: dt.date | None = None,
    end: dt.date | None = None,
    unit: str = "decisions",
) -> SafeString:
    """Stacked columns over time: a column per day (or per week over long periods), its parts
    the series in the legend's order, bottom first. Column heights are proportional to the
    known counts; a hatched cap of fixed height marks a column with suppressed counts in it."""
    cols, weekly = columns_of(cells, start=start, end=end)
    cid = esc(chart_id)
    plot_width = WIDTH - PLOT_LEFT - 4
    top, step = nice_top(max((c.total for c in cols), default=0))
    any_suppressed = any(c.suppressed for c in cols)
    # Two legend entries a row when every label fits half the width, else one a row.
    per_row = 2 if all(fit(x.label, WIDTH / 2 - 24, SMALL) == x.label for x in series) else 1
    legend_rows = math.ceil(len(series) / per_row) + any_suppressed
    axis_bottom = PLOT_TOP + PLOT_HEIGHT
    height = axis_bottom + 30 + legend_rows * 22 + 4
    period = "week (Monday to Sunday)" if weekly else "day"
    span = (
        f" {len(cols)} columns, one per {period}, from {cols[0].start:%-d %B %Y} to "
        f"{(cols[-1].start + dt.timedelta(days=6 if weekly else 0)):%-d %B %Y}; stacked bottom "
        f"to top: {', '.join(s.label for s in series)}."
        if cols
        else " No counts for these filters."
    )
    if cols:
        busiest = max(cols, key=lambda c: c.total)
        span += f" The highest column, {busiest.start:%-d %B %Y}, counts {number(busiest.total)}."
    parts = [
        _open(chart_id, title, f"{desc}{span}", WIDTH, height),
        "<defs>",
        *(_pattern(f"{cid}-p{i}", i) for i in range(len(series))),
        _hatch(f"{cid}-hatch"),
        "</defs>",
    ]
    # Grid lines and the y axis's labels.
    for tick in range(0, top + 1, step):
        y = axis_bottom - PLOT_HEIGHT * tick / top
        parts.append(
            f'<path d="M{PLOT_LEFT} {y:.2f}H{WIDTH - 4}" stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{PLOT_LEFT - 6}" y="{y + 4:.2f}" text-anchor="end" font-size="{SMALL}" '
            f'fill="{MUTED}">{number(tick)}</text>'
        )
    slot = plot_width / len(cols) if cols else plot_width
    width = slot * 0.8 if slot >= 4 else slot
    for n, column in enumerate(cols):
        x = PLOT_LEFT + n * slot + (slot - width) / 2
        y = float(axis_bottom)
        said = "; ".join(
            f"{s.label} {number(column.counts[s.key])}"
            if s.key in column.counts and s.key not in column.suppressed
            else f"{s.label} "
            + (f"{number(column.counts[s.key])} + " if s.key in column.counts else "")
            + f"fewer than {min_cell}"
            for s in series
            if s.key in column.counts or s.key in column.suppressed
        )
        when = f"Week of {column.start:%-d %B %Y}" if weekly else f"{column.start:%-d %B %Y}"
        parts.append(f'<g class="column"><title>{esc(when)}: {esc(said or "none")}</title>')
        for i, s in enumerate(series):
            value = column.counts.get(s.key, 0)
            if not value:
                continue
            h = PLOT_HEIGHT * value / top
            y -= h
            parts.append(
                f'<rect class="bar" x="{x:.2f}" y="{y:.2f}" width="{width:.2f}" '
                f'height="{h:.2f}" fill="url(#{cid}-p{i})" data-series="{esc(s.key)}" '
                f'data-value="{value}"/>'
            )
        if column.suppressed:
            parts.append(_stub(cid, round(x, 2), round(y - CAP, 2), round(width, 2), CAP))
        parts.append("</g>")
    parts.append(
        f'<path d="M{PLOT_LEFT} {axis_bottom}H{WIDTH - 4}" stroke="{MUTED}" stroke-width="1"/>'
    )
    parts.extend(_x_ticks(cols, slot, axis_bottom, weekly))
    # The legend in stacking order (bottom first), then what hatching means.
    y0 = axis_bottom + 30
    for n, s in enumerate(series):
        x = (n % per_row) * WIDTH / 2
        y = y0 + (n // per_row) * 22
        parts.append(
            f'<rect class="swatch" x="{x:g}" y="{y}" width="14" height="14" '
            f'fill="url(#{cid}-p{n})" stroke="{TEXT}"/><text x="{x + 20:g}" y="{y + 12}" '
            f'font-size="{SMALL}">{esc(fit(s.label, WIDTH / per_row - 24, SMALL))}</text>'
        )
    if any_suppressed:
        y = y0 + math.ceil(len(series) / per_row) * 22
        parts.append(_stub(cid, 0, y, 14, 14, legend=True))
        parts.append(
            f'<text x="20" y="{y + 12}" font-size="{SMALL}">'
            f"{esc(_suppressed_note(min_cell))}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every piece of text above is escaped)


def _x_ticks(cols: Sequence[Column], slot: float, axis_bottom: float, weekly: bool) -> list[str]:
    """Up to five date labels along the x axis, evenly spaced, never overlapping."""
    if not cols:
        return []
    count = min(len(cols), 5)
    picks = sorted({round(i * (len(cols) - 1) / max(count - 1, 1)) for i in range(count)})
    out = []
    for n in picks:
        x = PLOT_LEFT + (n + 0.5) * slot
        anchor = "middle"
        if n == picks[0] and len(picks) > 1:
            anchor, x = "start", PLOT_LEFT + n * slot
        elif n == picks[-1] and len(picks) > 1:
            anchor, x = "end", PLOT_LEFT + (n + 1) * slot
        label = f"{cols[n].start:%-d %b}"
        out.append(
            f'<path d="M{PLOT_LEFT + (n + 0.5) * slot:.2f} {axis_bottom}v4" stroke="{MUTED}"/>'
            f'<text x="{x:.2f}" y="{axis_bottom + 18}" text-anchor="{anchor}" '
            f'font-size="{SMALL}" fill="{MUTED}">{esc(label)}</text>'
        )
    return out
