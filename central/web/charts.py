"""Charts as server-rendered SVG (no JavaScript library): redemptions over time, channels side by side.

Each chart is an <svg role="img"> with a title and a description for screen readers; every bar
carries its figures in a <title> (the tooltip) and in data- attributes.
"""

from __future__ import annotations

import math
from datetime import date

from markupsafe import Markup, escape

from central.services.reports import ChannelFigures
from central.web import phrases
from words import Words


def _nice_max(value: float) -> float:
    """A round top for an axis: 1, 2, 5 × 10^n at or above value."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _count_step(value: float) -> int:
    """A whole, round step at or above value: 1, 2, 3, 5, then 1, 2, 2.5, 5 × 10^n."""
    if value <= 3:
        return max(1, math.ceil(value))
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power and float(step * power).is_integer():
            return int(step * power)
    return 10 * power


def _fmt(words: Words, v: float) -> str:
    return words.number(v, 0 if float(v).is_integer() else 1)


def _counted(words: Words, n: int, refused: bool) -> str:
    """'3 redemptions', '1 refused scan'."""
    if refused:
        return words.ngettext("{n} refused scan", "{n} refused scans", n)
    return words.ngettext("{n} redemption", "{n} redemptions", n)


def redemptions_chart(
    words: Words,
    days: list[tuple[date, int]],
    *,
    title: str,
    chart_id: str = "redemptions-chart",
    refused: bool = False,
) -> Markup:
    """Columns of redemptions (or, `refused`, of refused scans) per day (or per week), with a y axis
    in whole numbers, worded in the page's language."""
    if not days:
        return Markup("")
    width, height, left, right, top, bottom = 640, 240, 44, 12, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    step = _count_step(max(n for _, n in days) / 4)  # four whole-number steps up the y axis
    top_value = step * 4
    band = plot_w / len(days)
    bar_w = max(1.0, band * 0.72)
    weekly = len(days) > 1 and (days[1][0] - days[0][0]).days == 7
    total = sum(n for _, n in days)
    # TRANSLATORS: a CLDR date pattern for a chart's description (dd day, MMM month's short name, yyyy year)
    long_day = words.pgettext("chart", "dd MMM yyyy")
    # TRANSLATORS: a CLDR date pattern for a chart's axis (dd day, MMM month's short name)
    short_day = words.pgettext("chart", "dd MMM")
    facts = {
        "counted": _counted(words, total, refused),
        "first": words.date(days[0][0], long_day),
        "last": words.date(days[-1][0], long_day),
        "most": words.number(max(n for _, n in days)),
    }
    if weekly:
        desc = words.gettext(
            "{counted} from {first} to {last}, per week; the most in one week was {most}.", **facts
        )
    else:
        desc = words.gettext(
            "{counted} from {first} to {last}, per day; the most in one day was {most}.", **facts
        )
    parts = [
        (
            f'<svg class="chart" id="{chart_id}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-labelledby="{chart_id}-title {chart_id}-desc" preserveAspectRatio="xMidYMid meet">'
        ),
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    for i in range(5):  # grid lines and y labels
        value = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(words, value)}</text>'
        )
    every = max(1, math.ceil(len(days) / 8))
    for i, (d, n) in enumerate(days):
        x = left + band * i + (band - bar_w) / 2
        h = plot_h * n / top_value
        y = top + plot_h - h
        counted = _counted(words, n, refused)
        if weekly:
            label = words.gettext("Week of {day}: {counted}", day=words.date(d, long_day), counted=counted)
        else:
            label = words.gettext("{day}: {counted}", day=words.date(d, long_day), counted=counted)
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
            f'data-day="{d.isoformat()}" data-count="{n}"><title>{escape(label)}</title></rect>'
        )
        if i % every == 0:
            parts.append(
                f'<text class="axis" x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" '
                f'text-anchor="middle">{escape(words.date(d, short_day))}</text>'
            )
    parts.append(
        f'<line class="axis-line" x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def channels_chart(words: Words, rows: list[ChannelFigures], *, chart_id: str = "channels-chart") -> Markup:
    """One row per channel: its redemption rate as a bar, over the channel's typical range (band)
    and its great rate (dashed line)."""
    shown = [r for r in rows if r.batches]
    if not shown:
        return Markup("")
    width, row_h, left, right, top, bottom = 640, 46, 120, 56, 14, 30
    height = top + bottom + row_h * len(shown)
    plot_w = width - left - right
    highest = max(
        [r.metrics.redemption_rate for r in shown] + [r.benchmark.great for r in shown if r.benchmark] + [10]
    )
    top_value = _nice_max(highest * 1.1)

    def x_of(rate: float) -> float:
        return left + plot_w * rate / top_value

    def label(r: ChannelFigures) -> str:
        return phrases.channel(words, r.channel) if r.channel else words.gettext("No channel")

    def rate(value: float) -> str:
        return phrases.percent(words, value)

    title = words.gettext("Redemption rate by channel")
    summary = "; ".join(
        words.gettext(
            "{channel}: {rate} (typical {typical}, great {great})",
            channel=label(r),
            rate=rate(r.metrics.redemption_rate),
            typical=phrases.typical(words, r.benchmark),
            great=phrases.great(words, r.benchmark),
        )
        if r.benchmark
        else words.gettext("{channel}: {rate}", channel=label(r), rate=rate(r.metrics.redemption_rate))
        for r in shown
    )
    parts = [
        (
            f'<svg class="chart" id="{chart_id}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-labelledby="{chart_id}-title {chart_id}-desc" preserveAspectRatio="xMidYMid meet">'
        ),
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(summary)}</desc>',
    ]
    for i in range(5):
        value = top_value * i / 4
        x = x_of(value)
        parts.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{height - bottom}"/>')
        parts.append(
            f'<text class="axis" x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle">{escape(rate(value))}</text>'
        )
    for i, r in enumerate(shown):
        y = top + row_h * i
        m, bench = r.metrics, r.benchmark
        parts.append(
            f'<g class="channel-row" data-channel="{escape(r.channel or "none")}" data-rate="{m.redemption_rate:g}">'
        )
        parts.append(
            f'<text class="label" x="{left - 8}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end">{escape(label(r))}</text>'
        )
        bar_title = words.gettext(
            "{channel}: {rate} ({redeemed} redeemed of {claimed} claimed)",
            channel=label(r),
            rate=rate(m.redemption_rate),
            redeemed=words.number(m.redeemed),
            claimed=words.number(m.claimed),
        )
        if bench:
            typical_title = words.gettext(
                "Typical for {channel}: {typical}", channel=label(r), typical=phrases.typical(words, bench)
            )
            great_title = words.gettext(
                "Great for {channel}: {great}", channel=label(r), great=phrases.great(words, bench)
            )
            parts.append(
                f'<rect class="typical" x="{x_of(bench.typical_low):.1f}" y="{y + 6}" '
                f'width="{x_of(bench.typical_high) - x_of(bench.typical_low):.1f}" height="{row_h - 12}">'
                f"<title>{escape(typical_title)}</title></rect>"
            )
            parts.append(
                f'<line class="great" x1="{x_of(bench.great):.1f}" x2="{x_of(bench.great):.1f}" y1="{y + 3}" '
                f'y2="{y + row_h - 3}"><title>{escape(great_title)}</title></line>'
            )
        bar_w = max(0.0, x_of(m.redemption_rate) - left)
        parts.append(
            f'<rect class="bar" x="{left}" y="{y + row_h / 2 - 7:.1f}" width="{bar_w:.1f}" height="14">'
            f"<title>{escape(bar_title)}</title></rect>"
        )
        parts.append(
            f'<text class="value" x="{left + bar_w + 6:.1f}" y="{y + row_h / 2 + 4:.1f}">'
            f"{escape(rate(m.redemption_rate))}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
