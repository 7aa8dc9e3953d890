"""A sweep's results directory: one record per finished task, the table, the plots.

``records/<key>.json`` is written (atomically) the moment a task's result arrives, so an
interrupted sweep keeps every finished task and never a torn one; ``results.csv`` and the
plots are rebuilt from the records, in the sweep's task order, whenever a sweep ends (also
when it is interrupted).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from neurocc.files import write_atomic
from neurocc.sweep.task import Task

COLUMNS = ("key", "model", "target", "family", "pipeline", "weight_bits", "device_seed",
           "status", "accuracy", "energy_per_inference_uj", "spikes_per_inference",
           "synops_per_inference", "synapses", "sparsity", "cores_used", "compile_s",
           "simulate_s", "worker", "error")
TABLE_NAME = "results.csv"


class ResultStore:
    """The records of a results directory, by task key."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.records_dir = self.directory / "records"

    def load(self) -> dict[str, dict[str, Any]]:
        """Every readable record (a damaged one counts as missing: its task runs again)."""
        found = {}
        for path in sorted(self.records_dir.glob("*.json")):
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(record, dict) and record.get("key") == path.stem:
                found[path.stem] = record
        return found

    def save(self, record: Mapping[str, Any]) -> None:
        text = json.dumps(record, indent=1, sort_keys=True, default=_plain) + "\n"
        write_atomic(self.records_dir / f"{record['key']}.json", text.encode())

    def write_table(self, tasks: Sequence[Task], extra: Mapping[str, Mapping[str, Any]]
                    ) -> Path:
        """``results.csv``: one row per task that has a record, in task order."""
        records = self.load()
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in table_rows(tasks, records, extra):
            writer.writerow({k: _cell(row.get(k)) for k in COLUMNS})
        return write_atomic(self.directory / TABLE_NAME, buffer.getvalue().encode())


def table_rows(tasks: Iterable[Task], records: Mapping[str, Mapping[str, Any]],
               extra: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The table's rows as dicts (``extra[key]`` adds columns the client knows: the family,
    the model's synapse count before passes)."""
    rows = []
    for task in tasks:
        record = records.get(task.key)
        if record is None:
            continue
        row: dict[str, Any] = {**task.describe(), **record.get("row", {}), **extra[task.key]}
        row.update(pipeline=" | ".join(task.pipeline) or "(none)", status=record["status"],
                   worker=record.get("worker"), error=record.get("error"))
        base = row.pop("synapses_before_passes", None)
        if base and row.get("synapses") is not None:
            row["sparsity"] = 1.0 - row["synapses"] / base
        rows.append(row)
    return rows


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-able")
