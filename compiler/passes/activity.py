"""Activity statistics from a calibration run, and per-neuron threshold matching.

The passes that need data (``prune.activity``, ``prune.neurons`` by activity,
``prune.schedule`` with re-calibration, ``reset.convert``) run the float
reference engine (``sim/reference``, the ground truth every engine is checked
against) on sample input spikes ``data`` of shape (batch, T, n_in).

**Spike-count agreement** of two runs, over the spiking populations ``P``, the
samples ``b`` and the neurons ``i`` (the weighted Jaccard or Ruzicka index of
the count vectors)::

    agreement = sum_{P,b,i} min(n_{P,b,i}, m_{P,b,i}) / sum_{P,b,i} max(n_{P,b,i}, m_{P,b,i})

1 when every neuron fires as often on every sample, lower for lost or extra
spikes alike (losing a quarter of the spikes gives 0.75); 1 when neither fires.

**Threshold matching** (:func:`match_thresholds`): for each chosen population,
in update order, every neuron's threshold ``v_threshold`` is multiplied by a
factor ``f_i`` found by a geometric bisection in ``[FACTOR_MIN, FACTOR_MAX]``
so that its total spike count over the samples comes closest to a wanted
count (the count is non-increasing in the threshold for a neuron with fixed
input). Populations are matched one after the other, so each sees the spikes
of the already matched populations before it. With ``v_leak = v_reset = 0``
and no bias, a threshold factor ``f`` is the same as scaling the neuron's
input weights by ``1/f``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from neurocc.compiler.errors import NeuroccError
from neurocc.compiler.graph import Graph, Population

FACTOR_MIN, FACTOR_MAX = 1.0 / 16, 4.0  # the threshold factors the search may choose
BISECTION_STEPS = 14  # (log2 64) / 2^14: factors found to about 0.03 % of their value
SPIKE_ARRAY_NDIM = 3  # (batch, T, n_inputs)


def check_data(graph: Graph, data: np.ndarray | None, owner: str) -> np.ndarray:
    """``data`` as float 0/1 spikes of shape (batch, T, n_in), or an error naming ``owner``."""
    if data is None:
        raise NeuroccError(f"{owner}: option 'data'", "is missing; this pass needs sample "
                           "input spikes.", "Give data=FILE.npz (an array 'spikes' of shape "
                           f"(batch, T, {graph.n_inputs})) or an array in the API.")
    array = np.asarray(data)
    if array.ndim != SPIKE_ARRAY_NDIM or array.shape[2] != graph.n_inputs or 0 in array.shape:
        raise NeuroccError(f"{owner}: option 'data'", f"has shape {array.shape}; expected "
                           f"(batch, T, {graph.n_inputs}).", "Pass sample input spikes.")
    return array


def spike_counts(graph: Graph, data: np.ndarray) -> dict[str, np.ndarray]:
    """Per spiking non-input population: spike counts (batch, size) of a reference run."""
    from neurocc.sim.reference import run_graph  # the engine imports the graph, not passes

    result = run_graph(graph, data)
    return {name: spikes.sum(axis=1, dtype=np.int64) for name, spikes in result.spikes.items()
            if name not in graph.inputs}


def agreement(counts: Mapping[str, np.ndarray], wanted: Mapping[str, np.ndarray],
              names: Iterable[str] | None = None) -> float:
    """Spike-count agreement (module docstring) over ``names`` (default: all of ``wanted``)."""
    chosen = list(wanted if names is None else names)
    low = sum(float(np.minimum(counts[n], wanted[n]).sum()) for n in chosen)
    high = sum(float(np.maximum(counts[n], wanted[n]).sum()) for n in chosen)
    return 1.0 if high == 0 else low / high


def with_thresholds(pop: Population, threshold: np.ndarray, reset: str | None = None,
                    v_reset: float | None = None) -> Population:
    """``pop`` with new per-neuron thresholds (and optionally a new reset)."""
    params = dict(pop.params)
    params["v_threshold"] = threshold
    if v_reset is not None:
        params["v_reset"] = np.full(pop.size, v_reset)
    return Population(pop.name, pop.model, pop.shape, params, reset or pop.reset, pop.metadata)


def _evaluate(graph: Graph, name: str, base: np.ndarray, factor: np.ndarray,
              data: np.ndarray) -> np.ndarray:
    """Total spike count per neuron of ``name`` with thresholds ``base * factor``."""
    pop = with_thresholds(graph.populations[name], base * factor)
    trial = graph.replace(populations={**graph.populations, name: pop})
    return spike_counts(trial, data)[name].sum(axis=0)


def match_thresholds(graph: Graph, data: np.ndarray, wanted: Mapping[str, np.ndarray],
                     names: Iterable[str]) -> tuple[Graph, dict[str, np.ndarray]]:
    """Scale the thresholds of ``names`` so each neuron's total count approaches ``wanted``.

    ``wanted[name]`` holds counts (batch, size). Returns the graph and the factor
    per neuron. A neuron keeps factor 1 unless another factor tried comes closer.
    """
    factors: dict[str, np.ndarray] = {}
    for name in [n for n in graph.step_order() if n in set(names)]:
        pop = graph.populations[name]
        base = pop.params["v_threshold"]
        target = np.asarray(wanted[name]).sum(axis=0)
        best = np.ones(pop.size)
        best_miss = np.abs(_evaluate(graph, name, base, best, data) - target)
        low, high = np.full(pop.size, FACTOR_MIN), np.full(pop.size, FACTOR_MAX)
        for _ in range(BISECTION_STEPS):
            middle = np.sqrt(low * high)
            count = _evaluate(graph, name, base, middle, data)
            miss = np.abs(count - target)
            better = miss < best_miss
            best, best_miss = np.where(better, middle, best), np.where(better, miss, best_miss)
            too_many = count > target  # a higher threshold gives fewer spikes
            low, high = np.where(too_many, middle, low), np.where(too_many, high, middle)
        factors[name] = best
        graph = graph.replace(populations={**graph.populations,
                                           name: with_thresholds(pop, base * best)})
    return graph, factors
