"""The console's charts: SVG from pygal, inlined in the page, in one look.

`js=[]` keeps pygal from adding its tooltip script (fetched from a CDN by default), so
the SVG references nothing outside the page; the numbers are in the table under it.
pygal still writes its configuration as an inline script for that tooltip script to
read: with nothing to read it, it is cut out, as the page's CSP would refuse to run it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import pygal
from markupsafe import Markup
from pygal.style import Style

from services.api.console.words import CATEGORY_LABELS
from shared.domain.reports.schemas import ForecastMonth
from shared.rules.forecast import ForecastCategory

CATEGORY_COLOURS = {
    ForecastCategory.COMMIT: "#1b7f4b",
    ForecastCategory.PROBABLE: "#3d7fd6",
    ForecastCategory.AT_RISK: "#d08a00",
    ForecastCategory.LOST: "#b3261e",
    ForecastCategory.RENEWED: "#6b4fa3",
}
"""The same colours as the swatches of console.css, in the order of ForecastCategory."""

_UNUSED = re.compile(r"<script\b[^>]*>.*?</script>|<!--.*?-->", re.DOTALL)
"""pygal's configuration script and its credit comments."""


def console_style(colors: tuple[str, ...], **overrides: str) -> Style:
    """The console's look for a chart drawn in `colors`; `overrides` sets other pygal
    style fields (guide lines, say)."""
    return Style(
        background="transparent",
        plot_background="transparent",
        foreground="#1d2330",
        foreground_strong="#1d2330",
        foreground_subtle="#566074",
        font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        colors=colors,
        opacity="1",
        opacity_hover=".8",
        **overrides,
    )


def render(chart: pygal.Graph) -> Markup:
    """The chart's SVG without pygal's unused script and comments; pygal builds it with
    an XML tree, which escapes every text it holds."""
    svg: str = chart.render(is_unicode=True)
    return Markup(_UNUSED.sub("", svg))


def radar_chart(
    months: list[ForecastMonth], currency: str, month_link: Callable[[str], str]
) -> Markup:
    chart = pygal.StackedBar(
        js=[],
        style=console_style(tuple(CATEGORY_COLOURS[c] for c in ForecastCategory)),
        width=960,
        height=360,
        legend_at_bottom=True,
        legend_at_bottom_columns=len(ForecastCategory),
        disable_xml_declaration=True,
        x_label_rotation=0,
        y_title=f"ARR ({currency})",
        print_values=False,
        truncate_legend=-1,
    )
    chart.x_labels = [month.month for month in months]
    for category in ForecastCategory:
        field = f"{category.value}_arr"
        chart.add(
            CATEGORY_LABELS[category],
            [
                {
                    "value": float(Decimal(getattr(month, field))),
                    "xlink": {"href": month_link(month.month), "target": "_self"},
                    "label": f"{month.month}: {getattr(month, field)} {currency}",
                }
                for month in months
            ],
        )
    return render(chart)
