"""Dataset evaluation on Dask: one artifact over a large input batch, split across workers.

The artifact travels once per worker; each task carries one slice of the batch. The slices'
results are joined in batch order: spikes and state traces concatenated along the batch axis,
counters (totals over the batch) added. Every engine runs each sample independently of the
others in its batch, so the joined result equals a run of the whole batch in one process,
bit for bit (tested).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm import tqdm

from neurocc.backends.artifact import Artifact
from neurocc.compiler.errors import SimulationError
from neurocc.sim.result import SimResult
from neurocc.sweep.cluster import open_executor, worker_count

SLICES_PER_WORKER = 4  # a few slices each keep workers busy when one is slower


@dataclasses.dataclass(frozen=True, eq=False)
class _Run:
    artifact: Artifact
    options: dict[str, Any]


def _simulate_slice(spikes: np.ndarray, run: _Run) -> SimResult:
    from neurocc.api import simulate

    return simulate(run.artifact, spikes, **run.options)


def simulate_on_cluster(artifact: Artifact, spikes: np.ndarray, scheduler: str, *,
                        slices: int | None = None, progress: bool = False,
                        **options: Any) -> SimResult:
    """:func:`neurocc.simulate` of ``spikes`` split over the Dask cluster ``scheduler``
    (``local``, ``none`` or an address; see :mod:`neurocc.sweep.cluster`)."""
    from neurocc.backends.family import get_family

    if options.get("engine", "exact") == "exact" and get_family(artifact.family).seeded_engine:
        raise SimulationError(f"family '{artifact.family}'", "its exact engine draws device "
                              "noise over the whole batch, so slices run apart would not "
                              "equal one run.", "Run it without --scheduler, or sweep its "
                              "device seeds with `neurocc sweep`.")
    count = slices or SLICES_PER_WORKER * worker_count()
    parts = [p for p in np.array_split(np.asarray(spikes), min(count, len(spikes))) if len(p)]
    results: list[SimResult | None] = [None] * len(parts)
    with open_executor(scheduler) as executor, \
            tqdm(total=len(parts), desc="simulate", unit="slice", disable=not progress) as bar:
        for index, result in executor.run(_simulate_slice, parts, _Run(artifact, options)):
            if isinstance(result, BaseException):
                raise SimulationError(f"slice {index} of the batch", f"failed on the cluster "
                                      f"({type(result).__name__}: {result}).",
                                      "Nothing was written; run again.") from result
            results[index] = result
            bar.update()
    return join_results([r for r in results if r is not None])


def join_results(parts: Sequence[SimResult]) -> SimResult:
    """The results of consecutive batch slices as one result."""
    first = parts[0]
    counters: dict[str, float] = {}
    for part in parts:
        for name, value in part.counters.items():
            counters[name] = counters.get(name, 0) + value
    return dataclasses.replace(
        first,
        spikes={k: np.concatenate([p.spikes[k] for p in parts]) for k in first.spikes},
        states={k: np.concatenate([p.states[k] for p in parts]) for k in first.states},
        counters=counters)
