"""A ministry's progress drawn as inline SVG (no JavaScript), with the same numbers as a table beside it.

Two small line charts over the crawl days of index.history: repositories (listed, under an approved licence,
active in the last 365 days, with a publiccode.yml) and accounts (listed, configured). Each series has its own
colour and its own dash pattern and marker, so that it reads without colour too; the SVG carries a text
alternative (`role="img"`, a title and a description with the latest values) and the table gives every value to
screen readers and to whoever prefers numbers. Text is escaped; nothing comes from a forge but numbers and dates.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from index.history import LABELS

WIDTH, HEIGHT = 560, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 64  # room for the y labels, and for the x labels and legend below
# (key, colour, dash pattern, marker): colours from a colour-blind-safe palette, dashes and markers tell them apart
REPOSITORY_SERIES = (
    ("repositories", "#1f4e99", "", "circle"),
    ("approved_licence", "#18753c", "6 3", "square"),
    ("active_365d", "#b34000", "2 3", "triangle"),
    ("publiccode", "#6e445a", "10 3 2 3", "diamond"),
)
ACCOUNT_SERIES = (
    ("accounts_listed", "#1f4e99", "", "circle"),
    ("accounts_configured", "#666666", "6 3", "square"),
)
STYLE = """
.progress{display:flex;gap:1.5rem;flex-wrap:wrap;align-items:flex-start}
.progress figure{margin:0}.progress figcaption{font-weight:600;margin-bottom:.25rem}
.progress svg{border:1px solid #ccc;background:#fff;max-width:100%;height:auto}
.progress .days{max-height:32rem;overflow:auto}.progress table{width:auto}.progress th[scope=row]{white-space:nowrap}
"""


def _tick_step(value: int) -> int:
    """The y axis step: 1, 2 or 5 times a power of ten, so that four steps reach `value`."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if 4 * factor * magnitude >= value:
                return factor * magnitude
        magnitude *= 10


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "square":
        return f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{colour}"/>'
    if kind == "triangle":
        return f'<path d="M{x:.1f} {y - 4:.1f}L{x + 4:.1f} {y + 3:.1f}L{x - 4:.1f} {y + 3:.1f}Z" fill="{colour}"/>'
    if kind == "diamond":
        return f'<path d="M{x:.1f} {y - 4:.1f}L{x + 4:.1f} {y:.1f}L{x:.1f} {y + 4:.1f}L{x - 4:.1f} {y:.1f}Z" fill="{colour}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>'


def line_chart(days: Sequence[dict[str, Any]], series: Sequence[tuple[str, str, str, str]], title: str,
               chart_id: str) -> str:
    """One SVG line chart of `series` (key, colour, dash, marker) over `days`."""
    esc = html.escape
    width_in, height_in = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step_value = _tick_step(max((int(d[key]) for d in days for key, *_ in series), default=0))
    top = 4 * step_value
    count = len(days)

    def x_at(i: int) -> float:
        return LEFT + (width_in / 2 if count == 1 else width_in * i / (count - 1))

    def y_at(value: int) -> float:
        return TOP + height_in * (1 - value / top)

    latest = days[-1] if days else None
    description = (f"On {latest['day']}: " + "; ".join(f"{LABELS[k]} {latest[k]}" for k, *_ in series)
                   if latest else "No crawl day yet.")
    if count > 1:
        description = f"{count} crawl days from {days[0]['day']} to {days[-1]['day']}. " + description
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-labelledby="{chart_id}-t {chart_id}-d" font-family="system-ui,sans-serif" font-size="11">',
        f'<title id="{chart_id}-t">{esc(title)}</title><desc id="{chart_id}-d">{esc(description)}</desc>',
    ]
    for step in range(5):  # horizontal grid and y labels at 0, 1/4 ... top
        value = step_value * step
        y = y_at(value)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#333">{value}</text>')
    parts.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + height_in}" stroke="#888"/>')
    label_at = sorted({0, count // 2, count - 1}) if count else []
    for i in label_at:
        anchor = "start" if count > 1 and i == 0 else "end" if count > 1 and i == count - 1 else "middle"
        parts.append(f'<text x="{x_at(i):.1f}" y="{TOP + height_in + 16}" text-anchor="{anchor}" fill="#333">'
                     f'{esc(str(days[i]["day"]))}</text>')
    for key, colour, dash, marker in series:
        points = [(x_at(i), y_at(int(d[key]))) for i, d in enumerate(days)]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            dashes = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dashes}/>')
        if len(points) <= 31:  # markers while they stay apart
            parts += [_marker(marker, x, y, colour) for x, y in points]
    for n, (key, colour, dash, marker) in enumerate(series):  # the legend, two entries per row
        lx, ly = LEFT + (n % 2) * (width_in / 2), TOP + height_in + 34 + (n // 2) * 15
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<line x1="{lx:.1f}" x2="{lx + 22:.1f}" y1="{ly - 4:.1f}" y2="{ly - 4:.1f}" stroke="{colour}" '
                     f'stroke-width="2"{dashes}/>{_marker(marker, lx + 11, ly - 4, colour)}'
                     f'<text x="{lx + 28:.1f}" y="{ly:.1f}" fill="#161616">{esc(LABELS[key])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def progress_section(days: Sequence[dict[str, Any]], name: str, slug: str) -> str:
    """The "Progress over time" part of a ministry's page: both charts, and the table of every day."""
    esc = html.escape
    if not days:
        return ('<h2 id="progress">Progress over time</h2>\n<p>No crawl day yet: the chart appears after the first '
                "crawl of this ministry's accounts.</p>")
    keys = [k for k, *_ in REPOSITORY_SERIES] + [k for k, *_ in ACCOUNT_SERIES]
    head = "".join(f'<th scope="col">{esc(LABELS[k])}</th>' for k in keys)
    rows = "\n".join(
        f'<tr><th scope="row">{esc(str(d["day"]))}</th>' + "".join(f'<td class="n">{int(d[k])}</td>' for k in keys)
        + "</tr>" for d in reversed(days))
    return (
        '<h2 id="progress">Progress over time</h2>\n'
        f"<p>Per crawl day, the last {len(days)} on record (newest first in the table). The same series are in "
        f'<code>stats/ministries/{esc(slug)}.json</code> of the export.</p>\n<div class="progress">\n'
        f"<figure>{line_chart(days, REPOSITORY_SERIES, f'{name}: repositories per crawl day', 'chart-repos')}"
        "<figcaption>Repositories</figcaption></figure>\n"
        f"<figure>{line_chart(days, ACCOUNT_SERIES, f'{name}: accounts per crawl day', 'chart-accounts')}"
        "<figcaption>Accounts</figcaption></figure>\n"
        f'<div class="days"><table><caption>{esc(name)}: progress per crawl day</caption>'
        f'<thead><tr><th scope="col">day</th>{head}</tr></thead><tbody>\n{rows}\n</tbody></table></div>\n</div>'
    )
