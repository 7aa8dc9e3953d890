"""Helpers of the sweep tests: write a sweep file, read a results table."""

from __future__ import annotations

import csv
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits"
# Columns that depend on when and where a task ran, not on what it computed.
RUN_COLUMNS = ("compile_s", "simulate_s", "worker")


def write_sweep(directory: Path, body: str) -> Path:
    path = directory / "sweep.yaml"
    path.write_text("kind: sweep\n" + body)
    return path


def computed_table(path: Path) -> list[dict[str, str]]:
    """The rows of a results.csv without the columns that depend on the run."""
    with path.open() as handle:
        return [{k: v for k, v in row.items() if k not in RUN_COLUMNS}
                for row in csv.DictReader(handle)]
