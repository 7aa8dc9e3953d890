"""Magnitude pruning: remove the synapses with the smallest |weight|.

``prune.magnitude`` keeps every projection's form (dense stays dense with
zeros, which are no synapses for any family; CSR drops the entries) and
records what it removed and what it cost: synapses before and after, and the
relative Frobenius error of the weights, per projection and in total.
``fraction`` removes that share of the nonzero synapses, globally (one
threshold for all projections) or per projection; ``threshold`` removes every
|w| below it. Ties at the cut are kept, so a fraction is an upper bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurocc.compiler.errors import NeuroccError
from neurocc.compiler.graph import Graph, Projection
from neurocc.compiler.passes import register_alias, register_pass


@dataclass(frozen=True)
class MagnitudeOptions:
    """Options of ``prune.magnitude``: give ``fraction`` or ``threshold``."""

    fraction: float | None = field(default=None, metadata={
        "help": "share of the nonzero synapses to remove, 0..1 (the smallest |w|)"})
    threshold: float | None = field(default=None, metadata={
        "help": "remove every synapse with |w| below this value"})
    per_projection: bool = field(default=False, metadata={
        "help": "apply the fraction within each projection instead of over the whole graph"})


def _values(proj: Projection) -> np.ndarray:
    values = proj.weight.data if proj.is_sparse else np.asarray(proj.weight).reshape(-1)
    return np.abs(values[values != 0])


def _cut(magnitudes: np.ndarray, fraction: float) -> float:
    """The |w| below which the ``floor(fraction * n)`` smallest of ``magnitudes`` lie."""
    count = int(np.floor(fraction * magnitudes.size))
    if count == 0:
        return 0.0
    if count >= magnitudes.size:
        return float(np.inf)
    return float(np.partition(magnitudes, count)[count])


def _thresholds(graph: Graph, options: MagnitudeOptions) -> dict[str, float]:
    if (options.fraction is None) == (options.threshold is None):
        raise NeuroccError("pass 'prune.magnitude'", "needs exactly one of 'fraction' and "
                           "'threshold'.", "For example --pass prune.magnitude:fraction=0.5.")
    if options.threshold is not None:
        return dict.fromkeys(graph.projections, options.threshold)
    fraction = float(options.fraction or 0.0)
    if not 0 <= fraction <= 1:
        raise NeuroccError("pass 'prune.magnitude': option 'fraction'",
                           f"is {fraction}; expected a value in 0..1.",
                           "Give the share of synapses to remove.")
    if options.per_projection:
        return {n: _cut(_values(p), fraction) for n, p in graph.projections.items()}
    every = np.concatenate([_values(p) for p in graph.projections.values()] or [np.zeros(0)])
    return dict.fromkeys(graph.projections, _cut(every, fraction))


def _pruned(proj: Projection, cut: float) -> Projection:
    if proj.is_sparse:
        weight = sp.csr_array(proj.weight, copy=True)
        keep = np.abs(weight.data) >= cut
        delays = proj.delay_steps if proj.delay_steps.ndim == 0 else proj.delay_steps[keep]
        weight.data = np.where(keep, weight.data, 0.0)
        weight.eliminate_zeros()
        return Projection(proj.name, proj.source, proj.target, weight, delays, proj.metadata)
    dense: np.ndarray = np.asarray(proj.weight)
    kept = np.where(np.abs(dense) >= cut, dense, 0.0)
    return Projection(proj.name, proj.source, proj.target, kept, proj.delay_steps, proj.metadata)


@register_pass("prune.magnitude", MagnitudeOptions,
               "remove the synapses with the smallest |weight| (global or per projection)",
               provides=("pruned",))
def prune_magnitude(graph: Graph, options: MagnitudeOptions) -> tuple[Graph, dict[str, Any]]:
    cuts = _thresholds(graph, options)
    projections, effect = {}, {}
    removed_sq = total_sq = 0.0
    for name, proj in graph.projections.items():
        values = _values(proj)
        projections[name] = _pruned(proj, cuts[name])
        lost, whole = _sum_sq(values[values < cuts[name]]), _sum_sq(values)
        removed_sq, total_sq = removed_sq + lost, total_sq + whole
        effect[name] = {"threshold": cuts[name], "synapses_before": int(values.size),
                        "synapses_after": int(np.count_nonzero(values >= cuts[name])),
                        "weight_rel_error": _ratio(lost, whole)}
    before = sum(e["synapses_before"] for e in effect.values())
    after = sum(e["synapses_after"] for e in effect.values())
    summary = {"synapses_before": before, "synapses_after": after,
               "removed_fraction": 0.0 if before == 0 else 1 - after / before,
               "weight_rel_error": _ratio(removed_sq, total_sq), "projections": effect}
    return graph.replace(projections=projections), summary


def _sum_sq(values: np.ndarray) -> float:
    return float(np.dot(values, values))


def _ratio(removed_sq: float, total_sq: float) -> float:
    """``||W - W_pruned|| / ||W||`` (Frobenius) from sums of squares, never densified."""
    return 0.0 if total_sq == 0 else float(np.sqrt(removed_sq / total_sq))


# -- the short spelling: prune:method=NAME,sparsity=X ---------------------------------------
PRUNE_METHODS = ("magnitude", "activity", "neurons", "schedule")


def expand_prune(options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``prune:method=M,sparsity=X,...`` as ``prune.M:fraction=X,...`` (magnitude default)."""
    rest = dict(options)
    method = str(rest.pop("method", "magnitude"))
    if method not in PRUNE_METHODS:
        raise NeuroccError("pass 'prune': option 'method'", f"is {method!r}; expected one of "
                           f"{list(PRUNE_METHODS)}.", "For example prune:method=magnitude,"
                           "sparsity=0.8.")
    if "sparsity" in rest:
        if "fraction" in rest:
            raise NeuroccError("pass 'prune'", "gives both 'sparsity' and 'fraction'.",
                               "They mean the same share; give one.")
        rest["fraction"] = rest.pop("sparsity")
    return f"prune.{method}", rest


register_alias("prune", expand_prune, "short form: prune:method=magnitude|activity|neurons|"
               "schedule,sparsity=X,... runs prune.METHOD with fraction=X and the other options")
