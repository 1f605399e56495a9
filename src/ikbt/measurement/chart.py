"""A patient's scores over time as an SVG drawn on the server: no script, works everywhere.

The chart is a list of shapes computed here and written out by
``measurement/chart.svg``; the same numbers are shown in a table beside it for screen readers.
"""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from ikbt.measurement.definitions import Definition, in_language

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 12, 36
BAND_SHADES = ("#e8f3ec", "#f6f1dc", "#f9e6d3", "#f6dcdc", "#efd3e4", "#e6d9f0")


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    total: int
    day: datetime.date


@dataclass(frozen=True)
class Shade:
    y: float
    height: float
    fill: str
    label: str
    label_y: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    points: list[Point]
    shades: list[Shade]
    start_x: float | None
    y_ticks: list[tuple[float, int]]
    plot_left: int
    plot_right: int
    plot_bottom: int

    @property
    def plot_width(self) -> int:
        return self.plot_right - self.plot_left

    @property
    def polyline(self) -> str:
        return " ".join(f"{point.x:.1f},{point.y:.1f}" for point in self.points)


def build_chart(
    definition: Definition,
    scores: list[tuple[datetime.datetime, int]],
    language: str,
    treatment_start: datetime.datetime | None = None,
) -> Chart:
    """``scores`` are (time, total) in time order."""
    low, high = definition.minimum, definition.maximum
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM

    def y_for(value: float) -> float:
        return TOP + plot_height * (1 - (value - low) / (high - low))

    times = [moment for moment, _ in scores]
    if treatment_start is not None:
        times.append(treatment_start)
    first = min(times, default=timezone.now())
    last = max(times, default=timezone.now())
    span = max((last - first).total_seconds(), 1)

    def x_for(moment: datetime.datetime) -> float:
        if len(times) == 1:
            return LEFT + plot_width / 2
        return LEFT + plot_width * (moment - first).total_seconds() / span

    shades = []
    for index, band in enumerate(definition.bands):
        top = y_for(min(band.max + 0.5, high))
        bottom = y_for(max(band.min - 0.5, low))
        shades.append(
            Shade(
                y=top,
                height=bottom - top,
                fill=BAND_SHADES[index % len(BAND_SHADES)],
                label=in_language(band.label, language),
                label_y=(top + bottom) / 2 + 4,
            )
        )
    step = max(1, round((high - low) / 5))
    ticks = [(y_for(value), int(value)) for value in range(int(low), int(high) + 1, step)]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        points=[
            Point(x_for(moment), y_for(total), total, timezone.localdate(moment))
            for moment, total in scores
        ],
        shades=shades,
        start_x=x_for(treatment_start) if treatment_start is not None else None,
        y_ticks=ticks,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        plot_bottom=HEIGHT - BOTTOM,
    )


def charts_for(responses, language: str, start, *, for_patient: bool = False) -> list[dict]:
    """One chart per instrument from submitted responses, with their rows for the table.
    ``for_patient``: her own pages, without the screens whose score is not shown to her
    (ASQ)."""
    by_code: dict[str, list] = {}
    for response in responses:
        shown = not for_patient or response.instrument_version.parsed.score_shown_to_patient
        if response.total is not None and shown:
            by_code.setdefault(response.instrument_version.instrument.code, []).append(response)
    charts = []
    for code, rows in sorted(by_code.items()):
        rows.sort(key=lambda row: row.submitted_at)
        definition = rows[-1].instrument_version.parsed
        scores = [(row.submitted_at, row.total) for row in rows]
        charts.append(
            {
                "code": code,
                "name": in_language(definition.name, language) or code,
                "chart": build_chart(definition, scores, language, start),
                "rows": rows,
            }
        )
    return charts
