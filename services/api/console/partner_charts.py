"""The partners page's charts: retention per partner against the tier lines, and the
renewal rate by channel. SVG from pygal without its CDN script, like the radar's."""

from __future__ import annotations

import pygal
from markupsafe import Markup
from pygal.style import Style

from services.api.console.charts import console_style, render
from shared.domain.reports.retention import TIER_TARGET_PERCENT
from shared.domain.reports.schemas import RetentionItem

GUIDE = "#8d97a8"
TIER_LINE = "#b3261e"
PARTNER_BAR = "#1f5fbf"
DIRECT_BAR = "#566074"


def _style(major_guides: str) -> Style:
    """The console's look; `major_guides` colours the major lines (the tier targets)."""
    return console_style(
        (PARTNER_BAR,), guide_stroke_color=GUIDE, major_guide_stroke_color=major_guides
    )


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def retention_chart(items: list[RetentionItem]) -> Markup:
    """One bar per partner (the direct channel beside them for comparison), with the
    silver and gold targets drawn as labelled horizontal lines across the plot."""
    chart = pygal.Bar(
        js=[],
        style=_style(TIER_LINE),
        width=960,
        height=360,
        range=(0, 100),
        show_legend=False,
        disable_xml_declaration=True,
        y_title="Retention (%)",
        y_labels=[
            0,
            20,
            40,
            60,
            *(
                {"label": f"{tier} {target} %", "value": target}
                for tier, target in TIER_TARGET_PERCENT.items()
            ),
            100,
        ],
        y_labels_major=list(TIER_TARGET_PERCENT.values()),
        show_minor_y_labels=True,
        print_values=True,
        value_formatter=lambda value: f"{value:g} %",
        truncate_label=-1,
    )
    chart.x_labels = [item.partner_name or "Direct" for item in items]
    chart.add(
        "Retention",
        [
            {
                "value": _percent(item.retention_rate),
                "color": PARTNER_BAR if item.partner_id is not None else DIRECT_BAR,
            }
            for item in items
        ],
    )
    return render(chart)


def renewal_rate_chart(rates: list[tuple[str, float | None]]) -> Markup:
    """The renewal rate of each channel as a horizontal bar."""
    chart = pygal.HorizontalBar(
        js=[],
        style=_style(GUIDE),
        width=960,
        height=200,
        range=(0, 100),
        show_legend=False,
        disable_xml_declaration=True,
        x_title="Renewal rate (%)",
        print_values=True,
        value_formatter=lambda value: f"{value:g} %",
    )
    chart.x_labels = [label for label, _ in rates]
    chart.add("Renewal rate", [_percent(rate) for _, rate in rates])
    return render(chart)
