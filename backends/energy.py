"""Pricing event counters with a target's per-operation figures: the one energy record.

A family's energy model lists its :class:`Operation`s (which counter, which
energy and time entries of its target file) and calls :func:`price`. The
record it returns is the ``energy`` part of every report, whatever the family:

``energy_per_inference_pj`` / ``_uj``, ``energy_bound``, ``time_per_inference_ns``,
``time_bound``, ``breakdown`` (per operation: ``counter``, ``count_per_inference``,
``energy_per_op_pj``, ``energy_pj``, ``energy_figure`` {source, bound, status},
``time_per_op_ns``, ``time_ns``, ``time_figure``), ``missing_counters`` and
``notes`` (every figure the file marks assumed, derived, single-source or
not published). A figure the source states as a minimum makes the total a
lower bound, a maximum an upper bound; the record says which operations did it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from neurocc.backends.targets import TargetSpec
from neurocc.compiler.errors import SimulationError

PJ_PER_UJ = 1e6
Count = Callable[[Mapping[str, float]], float]


@dataclass(frozen=True)
class Operation:
    """One priced operation: its count (a counter, or derived from counters) and figures.

    ``time_ns`` overrides the time entry with a computed figure (for example a
    barrier time that depends on the tiles used); ``time_key`` then names the
    entry whose provenance it carries.
    """

    name: str
    counter: str
    energy_key: str
    time_key: str
    count: Count | None = None
    time_ns: float | None = None

    def count_of(self, counters: Mapping[str, float]) -> float:
        return float(self.count(counters) if self.count else counters.get(self.counter, 0))


def _term(spec: TargetSpec, op: Operation, counters: Mapping[str, float],
          n_inferences: int) -> dict[str, Any]:
    per_inference = op.count_of(counters) / n_inferences
    energy_pj = float(getattr(spec, op.energy_key))
    time_ns = float(getattr(spec, op.time_key)) if op.time_ns is None else op.time_ns
    return {"counter": op.counter, "count_per_inference": per_inference,
            "energy_per_op_pj": energy_pj, "energy_pj": per_inference * energy_pj,
            "energy_figure": spec.entries[op.energy_key].provenance(),
            "time_per_op_ns": time_ns, "time_ns": per_inference * time_ns,
            "time_figure": spec.entries[op.time_key].provenance()}


def _bound(terms: Mapping[str, dict[str, Any]], figure: str, kind: str) -> str:
    bounded = [op for op, t in terms.items()
               if t[figure].get("bound") == kind and t["count_per_inference"] > 0]
    if not bounded:
        return "estimate"
    side = "lower" if kind == "minimum" else "upper"
    return f"{side} bound ({', '.join(bounded)}: the source gives a {kind})"


def figure_notes(spec: TargetSpec) -> list[str]:
    """Every energy or time figure with a status, as ``key: status (source)``."""
    return [f"{key}: {entry.status} ({entry.source})" for key, entry in spec.entries.items()
            if key.startswith(("energy_", "time_")) and entry.status is not None]


def price(spec: TargetSpec, operations: tuple[Operation, ...], counters: Mapping[str, float],
          n_inferences: int, time_note: str = "") -> dict[str, Any]:
    """The energy record of ``counters`` (totals over ``n_inferences`` inferences)."""
    if n_inferences < 1:
        raise SimulationError("energy report", f"n_inferences = {n_inferences}.",
                              "Give the number of inferences (batch size) the counters cover.")
    terms = {op.name: _term(spec, op, counters, n_inferences) for op in operations}
    energy_pj = sum(t["energy_pj"] for t in terms.values())
    time_bound = _bound(terms, "time_figure", "maximum")
    return {
        "target": spec.name, "n_inferences": n_inferences,
        "energy_per_inference_pj": energy_pj, "energy_per_inference_uj": energy_pj / PJ_PER_UJ,
        "energy_bound": _bound(terms, "energy_figure", "minimum"),
        "time_per_inference_ns": sum(t["time_ns"] for t in terms.values()),
        "time_bound": f"{time_note}; {time_bound}" if time_note else time_bound,
        "breakdown": terms,
        "missing_counters": sorted({op.counter for op in operations} - set(counters)),
        "notes": figure_notes(spec),
    }
