"""``prune.schedule``: magnitude pruning in steps, re-calibrating thresholds in between.

Step ``k`` of ``steps`` prunes (globally, by |w|, as ``prune.magnitude``) to
the sparsity ``s_k = fraction * k / steps`` (``shape: linear``) or ``s_k =
fraction * (1 - (1 - k/steps)^3)`` (``shape: cubic``, Zhu and Gupta's gradual
schedule: large steps first, small ones near the end). Without ``data`` the
steps end where one-shot pruning to ``fraction`` ends (the smallest weights
are the same at every step). With ``data`` (sample input spikes), after each
step every spiking population's thresholds are re-calibrated on the
reference engine so each neuron's spike count on ``data`` returns to that of
the unpruned model (``compiler/passes/activity.py``): the pruned network is
pulled back towards the rates the following layers were trained on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from neurocc.compiler.errors import NeuroccError
from neurocc.compiler.graph import Graph
from neurocc.compiler.passes import register_pass
from neurocc.compiler.passes.activity import agreement, check_data, match_thresholds, spike_counts
from neurocc.compiler.passes.prune import MagnitudeOptions, prune_magnitude

OWNER = "pass 'prune.schedule'"


@dataclass(frozen=True)
class ScheduleOptions:
    """Options of ``prune.schedule``."""

    fraction: float = field(default=0.0, metadata={
        "help": "final share of the nonzero synapses to remove, 0..1"})
    steps: int = field(default=4, metadata={"help": "number of pruning steps"})
    shape: Literal["linear", "cubic"] = field(default="linear", metadata={
        "help": "how the sparsity grows over the steps"})
    data: np.ndarray | None = field(default=None, metadata={
        "help": "sample input spikes: re-calibrate thresholds after each step (optional)"})


def sparsity_steps(fraction: float, steps: int, shape: str) -> list[float]:
    """The sparsity after each step (the last is ``fraction``)."""
    ks = np.arange(1, steps + 1) / steps
    values = ks if shape == "linear" else 1 - (1 - ks) ** 3
    return [float(fraction * v) for v in values]


@register_pass("prune.schedule", ScheduleOptions,
               "magnitude pruning in steps of growing sparsity, with threshold "
               "re-calibration on sample inputs between steps", provides=("pruned",))
def prune_schedule(graph: Graph, options: ScheduleOptions) -> tuple[Graph, dict[str, Any]]:
    if options.steps < 1:
        raise NeuroccError(f"{OWNER}: option 'steps'", f"is {options.steps}; expected >= 1.",
                           "Give the number of pruning steps.")
    if not 0 <= options.fraction <= 1:
        raise NeuroccError(f"{OWNER}: option 'fraction'", f"is {options.fraction}; expected "
                           "a value in 0..1.", "Give the final share of synapses to remove.")
    data = None if options.data is None else check_data(graph, options.data, OWNER)
    wanted = None if data is None else spike_counts(graph, data)
    names = [] if wanted is None else [n for n in wanted
                                       if "v_threshold" in graph.populations[n].params]
    before = sum(p.synapse_count() for p in graph.projections.values())
    result, records = graph, []
    for sparsity in sparsity_steps(options.fraction, options.steps, options.shape):
        # the share of the remaining synapses that brings the whole to `sparsity`
        remaining = sum(p.synapse_count() for p in result.projections.values())
        share = 0.0 if remaining == 0 else max(0.0, 1 - before * (1 - sparsity) / remaining)
        result, effect = prune_magnitude(result, MagnitudeOptions(fraction=min(share, 1.0)))
        record: dict[str, Any] = {"sparsity": 1 - effect["synapses_after"] / max(before, 1)}
        if data is not None and wanted is not None:
            record["agreement_pruned"] = agreement(spike_counts(result, data), wanted)
            result, _ = match_thresholds(result, data, wanted, names)
            record["agreement_recalibrated"] = agreement(spike_counts(result, data), wanted)
        records.append(record)
    after = sum(p.synapse_count() for p in result.projections.values())
    return result, {"synapses_before": before, "synapses_after": after,
                    "removed_fraction": 0.0 if before == 0 else 1 - after / before,
                    "recalibrated": data is not None, "steps": records}
