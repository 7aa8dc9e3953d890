"""``reset.convert``: subtract-reset neurons as reset-to-zero neurons with calibrated thresholds.

sinabs and snnTorch default to the subtract reset (``v -= v_threshold`` on a
spike, the overshoot kept); a chip whose neurons reset ``v`` to 0 (Lava's
LIF) loses the overshoot at every spike and fires less. This pass rewrites
every spiking population with ``reset: subtract`` (or those named in
``populations``) as ``reset: to_value`` with ``v_reset = 0``, which such a
chip runs exactly, and then restores the reference firing rates on sample
inputs ``data``: each neuron's threshold is scaled by the factor that brings
its total spike count on ``data`` closest to the subtract-reset model's
(``compiler/passes/activity.py``: per-neuron geometric bisection, populations
in update order, each seeing its already converted sources).

The history record gives the spike-count agreement with the subtract-reset
reference on ``data``, for the plain conversion (reset to 0, thresholds
unchanged: what ``--reset-policy approximate`` does) and after calibration,
in total and per population, with the spike totals and the factor range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurocc.compiler.errors import NeuroccError
from neurocc.compiler.graph import Graph
from neurocc.compiler.neurons import RESET_SUBTRACT, RESET_TO_VALUE
from neurocc.compiler.passes import register_pass
from neurocc.compiler.passes.activity import (
    agreement,
    check_data,
    match_thresholds,
    spike_counts,
    with_thresholds,
)

OWNER = "pass 'reset.convert'"


@dataclass(frozen=True)
class ResetConvertOptions:
    """Options of ``reset.convert``."""

    data: np.ndarray | None = field(default=None, metadata={
        "help": "sample input spikes (batch, T, n_in), or an .npz file with an array 'spikes'"})
    populations: str = field(default="", metadata={
        "help": "comma-separated populations to convert (default: every subtract-reset one)"})
    calibrate: bool = field(default=True, metadata={
        "help": "search the thresholds that restore the firing rates (false: reset to 0 only)"})


def _chosen(graph: Graph, text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        return [n for n, p in graph.populations.items() if p.reset == RESET_SUBTRACT]
    for name in names:
        pop = graph.populations.get(name)
        if pop is None or pop.reset != RESET_SUBTRACT:
            what = "is not a population" if pop is None else f"has reset '{pop.reset}'"
            raise NeuroccError(f"{OWNER}: option 'populations'", f"'{name}' {what}; only "
                               "subtract-reset populations are converted.",
                               "Name subtract-reset populations, or leave the option out.")
    return names


def _zero_reset(graph: Graph, names: list[str]) -> Graph:
    pops = dict(graph.populations)
    for name in names:
        pop = pops[name]
        if np.any(pop.params["v_threshold"] <= 0):
            raise NeuroccError(f"{OWNER}: population '{name}'", "has a threshold <= 0, which a "
                               "reset to 0 cannot represent as a rate.",
                               "Convert only populations with positive thresholds.")
        pops[name] = with_thresholds(pop, pop.params["v_threshold"], RESET_TO_VALUE, 0.0)
    return graph.replace(populations=pops)


def _totals(counts: dict[str, np.ndarray], names: list[str]) -> dict[str, int]:
    return {n: int(counts[n].sum()) for n in names}


@register_pass("reset.convert", ResetConvertOptions,
               "rewrite subtract-reset neurons as reset-to-zero with thresholds calibrated on "
               "sample inputs to keep their firing rates", provides=("reset_to_zero",))
def reset_convert(graph: Graph, options: ResetConvertOptions) -> tuple[Graph, dict[str, Any]]:
    names = _chosen(graph, options.populations)
    if not names:
        return graph, {"converted": [], "note": "no subtract-reset population"}
    data = check_data(graph, options.data, OWNER)
    wanted = spike_counts(graph, data)
    plain = _zero_reset(graph, names)
    before = spike_counts(plain, data)
    result, factors = plain, {n: np.ones(graph.populations[n].size) for n in names}
    if options.calibrate:
        result, factors = match_thresholds(plain, data, wanted, names)
    after = spike_counts(result, data) if options.calibrate else before
    effect = {
        "converted": names,
        "samples": int(data.shape[0]),
        "agreement_before": agreement(before, wanted),
        "agreement_after": agreement(after, wanted),
        "spikes_reference": sum(_totals(wanted, list(wanted)).values()),
        "spikes_before": sum(_totals(before, list(before)).values()),
        "spikes_after": sum(_totals(after, list(after)).values()),
        "populations": {n: {"agreement_before": agreement(before, wanted, [n]),
                            "agreement_after": agreement(after, wanted, [n]),
                            "threshold_factor_min": float(factors[n].min()),
                            "threshold_factor_max": float(factors[n].max())}
                        for n in names},
    }
    return result, effect
