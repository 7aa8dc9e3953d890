"""Energy and time per inference from the exact engine's event counters.

Each counter of ``docs/loihi-artifact.md`` is priced with the target file's figure:
``synops x energy_per_synop_pj``, active and inactive (``neuron_updates`` minus active)
neuron updates, ``spike_messages x energy_per_spike_within_tile_pj`` (every message enters
the mesh once), ``hops_eastwest`` / ``hops_northsouth`` times the per-hop figures, and one
barrier synchronisation per step (priced by :func:`neurocc.backends.energy.price`).

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
from neurocc.backends.energy import Operation, price
from neurocc.backends.loihi.spec import LoihiSpec, spec_from_mapping

BARRIER = "barrier_sync"


def _inactive(counters: Mapping[str, float]) -> float:
    return counters.get("neuron_updates", 0) - counters.get("neuron_updates_active", 0)


def operations(spec: LoihiSpec, tiles_used: int | None) -> tuple[Operation, ...]:
    """The priced operations: each counter with its energy and time entries."""
    return (
        Operation("synops", "synops", "energy_per_synop_pj", "time_per_synop_ns"),
        Operation("neuron_updates_active", "neuron_updates_active",
                  "energy_per_neuron_update_active_pj", "time_per_neuron_update_active_ns"),
        Operation("neuron_updates_inactive", "neuron_updates",
                  "energy_per_neuron_update_inactive_pj", "time_per_neuron_update_inactive_ns",
                  count=_inactive),
        Operation("spike_messages", "spike_messages", "energy_per_spike_within_tile_pj",
                  "time_per_spike_within_tile_ns"),
        Operation("hops_eastwest", "hops_eastwest", "energy_per_hop_eastwest_pj",
                  "time_per_hop_eastwest_ns"),
        Operation("hops_northsouth", "hops_northsouth", "energy_per_hop_northsouth_pj",
                  "time_per_hop_northsouth_ns"),
        Operation(BARRIER, "steps", "energy_per_barrier_sync_pj",
                  "time_per_barrier_sync_most_tiles_ns",
                  time_ns=barrier_time_ns(spec, tiles_used)),
    )


def barrier_time_ns(spec: LoihiSpec, tiles_used: int | None) -> float:
    """Barrier time per step, linear in tiles between the file's two figures."""
    low, high = spec.barrier_fewest_tiles, spec.barrier_most_tiles
    if tiles_used is None or high == low:
        return float(spec.time_per_barrier_sync_most_tiles_ns)
    fraction = (np.clip(tiles_used, low, high) - low) / (high - low)
    return float(spec.time_per_barrier_sync_fewest_tiles_ns + fraction * (
        spec.time_per_barrier_sync_most_tiles_ns - spec.time_per_barrier_sync_fewest_tiles_ns))


def energy_report(counters: Mapping[str, float], spec: LoihiSpec, n_inferences: int, *,
                  tiles_used: int | None = None, cores_used: int | None = None
                  ) -> dict[str, Any]:
    """Energy (pJ, µJ) and time (ns) per inference with a per-operation breakdown."""
    report = price(spec, operations(spec, tiles_used), counters, n_inferences,
                   "upper bound (operations serialized)")
    if cores_used:
        terms = report["breakdown"]
        work_ns = sum(t["time_ns"] for op, t in terms.items() if op != BARRIER)
        report["time_per_inference_parallel_estimate_ns"] = (
            work_ns / cores_used + terms[BARRIER]["time_ns"])
    return report


def energy_for_artifact(artifact: Artifact, counters: Mapping[str, float],
                        n_inferences: int) -> dict[str, Any]:
    """:func:`energy_report` with the spec and resources stored in ``artifact``'s layout."""
    spec = spec_from_mapping(artifact.layout["target"], f"artifact '{artifact.target}' target")
    used = artifact.layout.get("resources", {})
    return energy_report(counters, spec, n_inferences, tiles_used=used["tiles"]["used"],
                         cores_used=used["cores"]["used"])
