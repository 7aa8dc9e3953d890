"""Energy and time per inference from the exact engine's event counters.

Each counter of ``docs/loihi-artifact.md`` is priced with the target file's figure:
``synops x energy_per_synop_pj``, active and inactive neuron updates, ``spike_messages x
energy_per_spike_within_tile_pj`` (every message enters the mesh once), ``hops_ew`` /
``hops_ns`` times the per-hop figures, and one barrier synchronisation per step.

Bounds are reported as the source states them: an energy figure marked ``bound: minimum``
(Loihi 1's 23.6 pJ per synop) makes the total a lower bound; a time figure marked
``maximum`` (3.5 ns per synop) makes the time an upper bound. Time is the serialized sum of
every operation's time plus the barrier per step (an upper bound: cores work in parallel);
with ``cores_used`` a parallel estimate (operation time spread evenly over the cores) is
added. The barrier time per step is interpolated linearly in the number of tiles used
between the file's fewest-tiles and most-tiles figures (the most-tiles figure when
``tiles_used`` is not given).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from neurocc.backends.artifact import Artifact
from neurocc.backends.loihi.spec import LoihiSpec, spec_from_mapping
from neurocc.compiler.errors import SimulationError

PJ_PER_UJ = 1e6
BARRIER = "barrier_sync"
# operation -> (counter name, energy key, time key; None: the barrier, computed)
OPERATIONS: dict[str, tuple[str, str, str | None]] = {
    "synops": ("synops", "energy_per_synop_pj", "time_per_synop_ns"),
    "neuron_updates_active": ("neuron_updates_active", "energy_per_neuron_update_active_pj",
                              "time_per_neuron_update_active_ns"),
    "neuron_updates_inactive": ("neuron_updates_inactive",
                                "energy_per_neuron_update_inactive_pj",
                                "time_per_neuron_update_inactive_ns"),
    "spike_messages": ("spike_messages", "energy_per_spike_within_tile_pj",
                       "time_per_spike_within_tile_ns"),
    "hops_eastwest": ("hops_ew", "energy_per_hop_eastwest_pj", "time_per_hop_eastwest_ns"),
    "hops_northsouth": ("hops_ns", "energy_per_hop_northsouth_pj",
                        "time_per_hop_northsouth_ns"),
    BARRIER: ("steps", "energy_per_barrier_sync_pj", None),
}


def barrier_time_ns(spec: LoihiSpec, tiles_used: int | None) -> float:
    """Barrier time per step, linear in tiles between the file's two figures."""
    low, high = spec.barrier_fewest_tiles, spec.barrier_most_tiles
    if tiles_used is None or high == low:
        return float(spec.time_per_barrier_sync_most_tiles_ns)
    fraction = (np.clip(tiles_used, low, high) - low) / (high - low)
    return float(spec.time_per_barrier_sync_fewest_tiles_ns + fraction * (
        spec.time_per_barrier_sync_most_tiles_ns - spec.time_per_barrier_sync_fewest_tiles_ns))


def _label(spec: LoihiSpec, key: str) -> dict[str, Any]:
    entry = spec.entries[key]
    return {k: v for k, v in (("bound", entry.bound), ("status", entry.status),
                              ("source", entry.source)) if v is not None}


def _term(spec: LoihiSpec, counters: Mapping[str, float], n_inferences: int, op: str,
          tiles_used: int | None) -> dict[str, Any]:
    counter, energy_key, time_key = OPERATIONS[op]
    per_inference = float(counters.get(counter, 0)) / n_inferences
    energy_pj = float(getattr(spec, energy_key))
    time_ns = (barrier_time_ns(spec, tiles_used) if time_key is None
               else float(getattr(spec, time_key)))
    time_label = ({"source": spec.entries["time_per_barrier_sync_most_tiles_ns"].source}
                  if time_key is None else _label(spec, time_key))
    return {"counter": counter, "count_per_inference": per_inference,
            "energy_per_op_pj": energy_pj, "energy_pj": per_inference * energy_pj,
            "energy_figure": _label(spec, energy_key),
            "time_per_op_ns": time_ns, "time_ns": per_inference * time_ns,
            "time_figure": time_label}


def _bound(terms: Mapping[str, dict[str, Any]], figure: str, kind: str) -> str:
    bounded = [op for op, t in terms.items()
               if t[figure].get("bound") == kind and t["count_per_inference"] > 0]
    if not bounded:
        return "estimate"
    side = "lower" if kind == "minimum" else "upper"
    return f"{side} bound ({', '.join(bounded)}: the source gives a {kind})"


def energy_report(counters: Mapping[str, float], spec: LoihiSpec, n_inferences: int, *,
                  tiles_used: int | None = None, cores_used: int | None = None
                  ) -> dict[str, Any]:
    """Energy (pJ, µJ) and time (ns) per inference with a per-operation breakdown."""
    if n_inferences < 1:
        raise SimulationError("energy report", f"n_inferences = {n_inferences}.",
                              "Give the number of inferences (batch size) the counters cover.")
    terms = {op: _term(spec, counters, n_inferences, op, tiles_used) for op in OPERATIONS}
    energy_pj = sum(t["energy_pj"] for t in terms.values())
    work_ns = sum(t["time_ns"] for op, t in terms.items() if op != BARRIER)
    report: dict[str, Any] = {
        "target": spec.name, "n_inferences": n_inferences,
        "energy_per_inference_pj": energy_pj, "energy_per_inference_uj": energy_pj / PJ_PER_UJ,
        "energy_bound": _bound(terms, "energy_figure", "minimum"),
        "time_per_inference_ns": work_ns + terms[BARRIER]["time_ns"],
        "time_bound": "upper bound (operations serialized); "
                      + _bound(terms, "time_figure", "maximum"),
        "breakdown": terms,
        "missing_counters": sorted({c for c, _, _ in OPERATIONS.values()} - set(counters)),
        "notes": _notes(spec),
    }
    if cores_used:
        report["time_per_inference_parallel_estimate_ns"] = (
            work_ns / cores_used + terms[BARRIER]["time_ns"])
    return report


def _notes(spec: LoihiSpec) -> list[str]:
    notes = [f"{key}: {entry.status} ({entry.source})" for key, entry in spec.entries.items()
             if (key.startswith(("energy_", "time_"))) and entry.status is not None]
    return notes


def energy_for_artifact(artifact: Artifact, counters: Mapping[str, float],
                        n_inferences: int) -> dict[str, Any]:
    """:func:`energy_report` with the spec and resources stored in ``artifact``'s layout."""
    spec = spec_from_mapping(artifact.layout["target"], f"artifact '{artifact.target}' target")
    used = artifact.layout.get("resources", {})
    return energy_report(counters, spec, n_inferences, tiles_used=used["tiles"]["used"],
                         cores_used=used["cores"]["used"])
