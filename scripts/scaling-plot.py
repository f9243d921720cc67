#!/usr/bin/env python3
"""Draws docs/scaling.svg from the scaling section of docs/benchmarks-latest.json
(written by scripts/bench-report.py):
durable ingest through the batch endpoint and verified reads per second,
against the tree size the log started the run at (log scale). Each point is
the median of the runs at that size; the bar spans min to max.

    scripts/scaling-plot.py [BENCHMARKS_JSON] [OUT_SVG]

Python standard library only.
"""
import json
import math
import statistics
import sys
from xml.sax.saxutils import escape

W, H = 760, 430
LEFT, RIGHT, TOP, BOTTOM = 80, 200, 50, 70
SERIES = [
    # (runs of a size, key in a hammer report, label, colour)
    ("runs", "events_per_second", "durable ingest, batch endpoint (events/s)", "#1f6feb"),
    ("runs", "reads_per_second", "verified reads during ingest (/s)", "#d97706"),
    ("proof_runs", "proofs_per_second", "verified inclusion proofs, read-only run (/s)", "#16a34a"),
]


def fmt(v):
    if v >= 1e6:
        return f"{v / 1e6:g} M"
    if v >= 1e3:
        return f"{v / 1e3:g} k"
    return f"{v:g}"


def nice_max(v):
    if v <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if m * exp >= v:
            return m * exp
    return 10 * exp


def points(sizes, runs_key, key):
    out = []
    for size, rec in sizes:
        runs = [r.get(key) for r in rec.get(runs_key) or []]
        runs = [r for r in runs if r is not None]
        if runs:
            out.append((size, statistics.median(runs), min(runs), max(runs)))
    return out


def plot(doc):
    data = doc.get("sections", {}).get("scaling", {})
    sizes = sorted((int(s), rec) for s, rec in data.get("sizes", {}).items())
    series = [(label, colour, points(sizes, runs_key, key)) for runs_key, key, label, colour in SERIES]
    series = [s for s in series if s[2]]
    skipped = sorted((int(s), why["why"]) for s, why in data.get("skipped", {}).items())
    all_x = [s for s, _ in sizes] + [s for s, _ in skipped] or [1e5, 1e6]
    lo = 10 ** math.floor(math.log10(min(all_x)))
    hi = 10 ** math.ceil(math.log10(max(all_x)))
    if hi == lo:
        hi = lo * 10
    ymax = nice_max(max([p[3] for _, _, ps in series for p in ps] or [1.0]) * 1.1)
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(v):
        return LEFT + pw * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    def y(v):
        return TOP + ph * (1 - v / ymax)

    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{LEFT}" y="24" font-size="15" font-weight="bold">'
        "gatelog: throughput against tree size</text>",
        f'<text x="{LEFT}" y="40" fill="#555" font-size="11">{escape(doc.get("machine") or "")}; '
        "point: median of the runs, bar: min to max</text>",
    ]
    for i in range(6):  # horizontal grid and y labels
        v = ymax * i / 5
        svg.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e5e5e5"/>')
        svg.append(f'<text x="{LEFT - 8}" y="{y(v) + 4:.1f}" text-anchor="end">{fmt(v)}</text>')
    decade = lo
    while decade <= hi:  # vertical grid and x labels
        svg.append(f'<line x1="{x(decade):.1f}" x2="{x(decade):.1f}" y1="{TOP}" y2="{TOP + ph}" stroke="#e5e5e5"/>')
        svg.append(f'<text x="{x(decade):.1f}" y="{TOP + ph + 18}" text-anchor="middle">{fmt(decade)}</text>')
        decade *= 10
    svg.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>')
    svg.append(
        f'<text x="{LEFT + pw / 2}" y="{H - 28}" text-anchor="middle">'
        "entries in the log when the run started (log scale)</text>"
    )
    svg.append(
        f'<text transform="translate(20 {TOP + ph / 2}) rotate(-90)" text-anchor="middle">per second</text>'
    )
    for n, (label, colour, ps) in enumerate(series):
        path = " ".join(f"{'M' if i == 0 else 'L'}{x(s):.1f},{y(m):.1f}" for i, (s, m, _, _) in enumerate(ps))
        svg.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for s, m, a, b in ps:
            svg.append(f'<line x1="{x(s):.1f}" x2="{x(s):.1f}" y1="{y(a):.1f}" y2="{y(b):.1f}" stroke="{colour}" stroke-width="2"/>')
            svg.append(f'<circle cx="{x(s):.1f}" cy="{y(m):.1f}" r="4" fill="{colour}"/>')
            svg.append(f'<text x="{x(s) + 7:.1f}" y="{y(m) - 6:.1f}" fill="{colour}">{round(m):,}</text>')
        ly = TOP + 10 + n * 36
        svg.append(f'<rect x="{LEFT + pw + 12}" y="{ly}" width="14" height="4" fill="{colour}"/>')
        words, line = label.split(), ""
        lines = []
        for w in words:  # wrap the legend at ~24 characters
            if len(line) + len(w) > 24:
                lines.append(line)
                line = w
            else:
                line = f"{line} {w}".strip()
        lines.append(line)
        for j, t in enumerate(lines):
            svg.append(f'<text x="{LEFT + pw + 32}" y="{ly + 6 + 14 * j}">{escape(t)}</text>')
    notes = [f"{fmt(s)} entries not measured: {why}" for s, why in skipped]
    for j, note in enumerate(notes[:3]):
        svg.append(f'<text x="{LEFT}" y="{H - 10 - 14 * (len(notes[:3]) - 1 - j)}" fill="#555" font-size="11">{escape(note)}</text>')
    svg.append("</svg>")
    return "\n".join(svg) + "\n"


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "docs/benchmarks-latest.json"
    out = sys.argv[2] if len(sys.argv) > 2 else "docs/scaling.svg"
    with open(src) as f:
        data = json.load(f)
    with open(out, "w") as f:
        f.write(plot(data))


if __name__ == "__main__":
    main()
