"""A small SVG bar chart of the measurement: three panels (latency on a
log scale with mean and p99, requests per event, bytes per event)."""

import math
from xml.sax.saxutils import escape

COLORS = {"polling": "#d9822b", "long polling": "#8e5ad0", "SSE streaming": "#1f9d72",
          "WebSocket": "#2f74d0"}
PANEL_W, PANEL_H, TOP, BOTTOM, LEFT = 300, 230, 48, 46, 48


def _fmt(value):
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


class Panel:
    def __init__(self, x, title, maximum, log=False, minimum=0.1):
        self.x, self.title, self.log = x, title, log
        if log:
            self.lo = 10 ** math.floor(math.log10(max(minimum, 1e-3)))
            self.hi = 10 ** math.ceil(math.log10(max(maximum, self.lo * 10)))
        else:
            self.lo, self.hi = 0.0, _nice_ceiling(maximum)
        self.parts = []

    def y(self, value):
        plot_h = PANEL_H - TOP - BOTTOM
        if self.log:
            value = max(value, self.lo)
            share = (math.log10(value) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        else:
            share = value / self.hi if self.hi else 0
        return TOP + plot_h * (1 - share)

    def ticks(self):
        if self.log:
            exp_lo, exp_hi = round(math.log10(self.lo)), round(math.log10(self.hi))
            return [10.0 ** e for e in range(exp_lo, exp_hi + 1)]
        return [self.hi * i / 4 for i in range(5)]

    def axes(self):
        right = self.x + PANEL_W - 10
        out = [f'<text x="{self.x + PANEL_W / 2}" y="20" class="title">{escape(self.title)}</text>']
        for tick in self.ticks():
            y = self.y(tick)
            out.append(f'<line x1="{self.x + LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" class="grid"/>')
            out.append(f'<text x="{self.x + LEFT - 4}" y="{y + 4:.1f}" class="tick">{tick:g}</text>')
        return out

    def bar(self, slot, slots, value, color, label, opacity=1.0):
        plot_w = PANEL_W - LEFT - 10
        width = plot_w / slots * 0.8
        x = self.x + LEFT + plot_w / slots * (slot + 0.1)
        y = self.y(value)
        bottom = self.y(self.lo) if self.log else self.y(0)
        return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{max(bottom - y, 0.5):.1f}" '
                f'fill="{color}" fill-opacity="{opacity}"><title>{escape(label)}</title></rect>'
                f'<text x="{x + width / 2:.1f}" y="{y - 3:.1f}" class="value">{_fmt(value)}</text>')


def _nice_ceiling(value):
    if value <= 0:
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def render(rows, subtitle=""):
    """rows: dicts with technique, mean_ms, p99_ms, requests_per_event, bytes_per_event."""
    names = [r["technique"] for r in rows]
    latency = Panel(0, "delivery latency, ms (log; solid mean, light p99)",
                    max(r["p99_ms"] for r in rows), log=True,
                    minimum=min(r["mean_ms"] for r in rows))
    requests = Panel(PANEL_W, "HTTP requests per event", max(r["requests_per_event"] for r in rows))
    bytes_ = Panel(2 * PANEL_W, "bytes on the wire per event", max(r["bytes_per_event"] for r in rows))
    parts = []
    for panel in (latency, requests, bytes_):
        parts += panel.axes()
    for i, r in enumerate(rows):
        color = COLORS.get(r["technique"], "#777")
        parts.append(latency.bar(2 * i, 2 * len(rows), r["mean_ms"], color, f'{r["technique"]} mean'))
        parts.append(latency.bar(2 * i + 1, 2 * len(rows), r["p99_ms"], color, f'{r["technique"]} p99', 0.45))
        parts.append(requests.bar(i, len(rows), r["requests_per_event"], color, r["technique"]))
        parts.append(bytes_.bar(i, len(rows), r["bytes_per_event"], color, r["technique"]))
    legend_y = PANEL_H - 14
    for i, name in enumerate(names):
        x = 60 + i * 200
        color = COLORS.get(name, "#777")
        parts.append(f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" fill="{color}"/>'
                     f'<text x="{x + 18}" y="{legend_y}" class="legend">{escape(name)}</text>')
    width, height = 3 * PANEL_W, PANEL_H + (16 if subtitle else 0)
    if subtitle:
        parts.append(f'<text x="{width / 2}" y="{height - 4}" class="subtitle">{escape(subtitle)}</text>')
    style = ("text{font-family:sans-serif;fill:#222}"
             ".title{font-size:12px;text-anchor:middle;font-weight:bold}"
             ".tick{font-size:10px;text-anchor:end;fill:#666}.value{font-size:9px;text-anchor:middle}"
             ".legend{font-size:12px}.subtitle{font-size:10px;text-anchor:middle;fill:#666}"
             ".grid{stroke:#ddd;stroke-width:1}")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}"><style>{style}</style>'
            f'<rect width="100%" height="100%" fill="#fff"/>' + "".join(parts) + "</svg>\n")
