"""Server-rendered SVG charts for the daily summary page (no script, no CDN; the CSP allows
neither). Every bar and point is a link to the events behind it."""

from collections.abc import Callable, Sequence
from html import escape

from markupsafe import Markup

# One colour per detection type (colour-blind-safe Okabe-Ito palette), also in the legend.
TYPE_COLOURS = {
    "ppe_violation": "#E69F00",
    "zone_breach": "#D55E00",
    "fall": "#CC79A7",
    "proximity": "#0072B2",
    "near_miss": "#56B4E9",
    "self_report": "#009E73",
    "custom": "#999999",
}
SHIFT_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
W, H, LEFT, BOTTOM, TOP = 720, 260, 44, 36, 12


def _frame(body: list[str], label: str, y_max: float, y_fmt: Callable[[float], str]) -> Markup:
    plot_h = H - BOTTOM - TOP
    grid = []
    for k in range(5):
        value = y_max * k / 4
        y = TOP + plot_h - plot_h * k / 4
        grid.append(f'<line x1="{LEFT}" x2="{W}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e7ec"/>')
        grid.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#5b6472">'
            f"{y_fmt(value)}</text>"
        )
    svg = (
        f'<svg viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>{"".join(grid)}{"".join(body)}</svg>'
    )
    return Markup(svg)  # noqa: S704 - every text and link in it was escaped above


def _day_labels(days: Sequence[str], step: float) -> list[str]:
    out = []
    for i, day in enumerate(days):
        x = LEFT + step * i + step / 2
        out.append(
            f'<text x="{x:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle" font-size="11" fill="#5b6472">'
            f"{escape(day[5:])}</text>"
        )
    return out


def alerts_by_type(
    days: Sequence[str], counts: dict[str, list[int]], link: Callable[[str, str], str]
) -> Markup:
    """Stacked bars: alerts per day by type (false positives excluded)."""
    totals = [sum(series[i] for series in counts.values()) for i in range(len(days))]
    y_max = max([4, *totals])
    plot_h = H - BOTTOM - TOP
    step = (W - LEFT) / max(1, len(days))
    body: list[str] = []
    for i, day in enumerate(days):
        y = float(TOP + plot_h)
        for kind, series in counts.items():
            n = series[i]
            if not n:
                continue
            h = plot_h * n / y_max
            y -= h
            colour = TYPE_COLOURS.get(kind, "#999999")
            title = f"{day}: {n} {kind.replace('_', ' ')}"
            body.append(
                f'<a href="{escape(link(day, kind))}">'
                f'<rect x="{LEFT + step * i + step * 0.15:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{escape(title)}</title></rect></a>'
            )
    body += _day_labels(days, step)
    return _frame(body, "Alerts by type per day", y_max, lambda v: f"{v:.0f}")


def _line(points: list[str], colour: str) -> str:
    return f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}"/>'


def compliance_by_shift(
    days: Sequence[str], rates: dict[str, list[float | None]], link: Callable[[str], str]
) -> Markup:
    """Lines: PPE compliance per shift per day (gaps where there is no rate)."""
    plot_h = H - BOTTOM - TOP
    step = (W - LEFT) / max(1, len(days))
    body: list[str] = []
    for n, (name, series) in enumerate(rates.items()):
        colour = SHIFT_COLOURS[n % len(SHIFT_COLOURS)]
        points: list[str] = []
        for i, rate in enumerate(series):
            if rate is None:
                if len(points) > 1:
                    body.append(_line(points, colour))
                points = []
                continue
            x = LEFT + step * i + step / 2
            y = TOP + plot_h - plot_h * rate
            points.append(f"{x:.1f},{y:.1f}")
            title = f"{days[i]} {name}: {rate:.0%}"
            body.append(
                f'<a href="{escape(link(days[i]))}"><circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}">'
                f"<title>{escape(title)}</title></circle></a>"
            )
        if len(points) > 1:
            body.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}"/>'
            )
    body += _day_labels(days, step)
    return _frame(body, "PPE compliance by shift", 1.0, lambda v: f"{v:.0%}")
