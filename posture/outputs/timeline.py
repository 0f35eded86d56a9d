"""Small writers for the analysis outputs; each takes a path or an open text file.

``timeline.csv``: one row per analysed frame with the reading's public fields. ``summary.json`` and
``events.json``: plain data built by :mod:`posture.summary`.

Every CSV posture writes passes its text cells through :func:`csv_cell`, so a name such as
``=HYPERLINK(...)`` is shown by a spreadsheet as text, never run as a formula.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from posture.atomic import atomic_write
from posture.findings import FINDING_CODES
from posture.metric_registry import METRIC_NAMES
from posture.reading import Reading

__all__ = ["TimelineWriter", "csv_cell", "open_text", "timeline_columns", "write_json", "write_timeline"]

PathOrFile = str | Path | IO[str]


def timeline_columns() -> tuple[str, ...]:
    """``timeline.csv``'s columns: the reading's fields, every metric and every finding of the
    registries (:mod:`posture.metric_registry`, :mod:`posture.findings`) in their order."""
    return ("t_s", "person", "view", "posture", "alert", *METRIC_NAMES, *FINDING_CODES, "estimated", "reason")


# OWASP's CSV injection rule: a cell that starts with one of these is a formula to a spreadsheet.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def csv_cell(value: Any) -> Any:
    """A cell for a CSV file: text that a spreadsheet would run as a formula gets a leading ``'``
    (OWASP's advice); numbers, and text that is a plain number such as ``-3.20``, stay as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


@contextmanager
def open_text(target: PathOrFile) -> Iterator[IO[str]]:
    """Yield a writable text file; a path is written atomically (a crash leaves the old file)."""
    if not isinstance(target, (str, Path)):
        yield target
        return
    with atomic_write(Path(target)) as fh:
        yield fh


def _row(reading: Reading) -> dict[str, Any]:
    row: dict[str, Any] = {
        "t_s": f"{reading.t_s:.3f}",
        "person": int(reading.person),
        "view": reading.view.value,
        "posture": csv_cell(reading.posture.value),
        "alert": int(reading.alert),
        "estimated": csv_cell(";".join(sorted(reading.estimated))),
        # the worst finding and why: "forward_head: neck_inclination_deg 33.2 >= 31.0 (everyone's limit)"
        "reason": csv_cell(reading.explain()),
    }
    for name in METRIC_NAMES:
        value = reading.metrics.get(name)
        row[name] = "" if value is None else f"{value:.2f}"
    for code in FINDING_CODES:
        row[code] = f"{reading.findings.get(code, 0.0):.3f}"
    return row


class TimelineWriter:
    """Streams readings to CSV as they come (the live monitor flushes it as it goes)."""

    def __init__(self, fh: IO[str]) -> None:
        self._fh = fh
        # The columns as the registries are when the file starts: it keeps them to its end.
        self._writer = csv.DictWriter(fh, fieldnames=timeline_columns(), extrasaction="ignore")
        self._writer.writeheader()

    def write(self, reading: Reading) -> None:
        self._writer.writerow(_row(reading))


def write_timeline(readings: Iterable[Reading], target: PathOrFile) -> None:
    with open_text(target) as fh:
        writer = TimelineWriter(fh)
        for reading in readings:
            writer.write(reading)


def write_json(data: Any, target: PathOrFile) -> None:
    with open_text(target) as fh:
        json.dump(data, fh, indent=2, allow_nan=False)
        fh.write("\n")
