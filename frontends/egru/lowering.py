"""EgruWeights -> Graph: input spikes, one ``egru`` population, an optional readout."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.compiler.neurons import (
    EGRU_CANDIDATE,
    EGRU_CANDIDATE_RECURRENT,
    EGRU_RESET,
    EGRU_UPDATE,
    RESET_SUBTRACT,
)
from neurocc.frontends.egru.weights import EgruWeights

INPUT = "input"
EGRU = "egru"
READOUT = "readout"
DEFAULT_DT_S = 1e-3  # EGRU is discrete: dt_s only names the step length
FEEDBACK_DELAY_STEPS = 1  # the gates see y of the previous step

# Projections into the egru population: (weights field = projection name, source, receptor,
# delay_steps). The recurrent candidate feeds its own receptor: the reset gate scales it.
GATE_PROJECTIONS = (
    ("input_update", INPUT, EGRU_UPDATE, 0),
    ("input_reset", INPUT, EGRU_RESET, 0),
    ("input_candidate", INPUT, EGRU_CANDIDATE, 0),
    ("recurrent_update", EGRU, EGRU_UPDATE, FEEDBACK_DELAY_STEPS),
    ("recurrent_reset", EGRU, EGRU_RESET, FEEDBACK_DELAY_STEPS),
    ("recurrent_candidate", EGRU, EGRU_CANDIDATE_RECURRENT, FEEDBACK_DELAY_STEPS),
)
EGRU_PARAMS = ("bias_update", "bias_reset", "bias_candidate", "bias_candidate_recurrent",
               "c_threshold")
READOUT_PROJECTION = "readout_weight"


def egru_graph(weights: EgruWeights, *, dt_s: float = DEFAULT_DT_S,
               metadata: Mapping[str, Any] | None = None) -> Graph:
    """The verified graph of ``weights``: ``input`` (C spike sources) -> ``egru`` (H units,
    recurrent through delay-1 projections) -> ``readout`` (K integrators, when the weights
    have a readout; else ``egru`` is the output). Projections are named after the
    :class:`EgruWeights` field holding their weight."""
    populations = [Population(INPUT, "input", (weights.n_inputs,)), _egru_population(weights)]
    projections = [Projection(name, source, EGRU, getattr(weights, name),
                              np.array(delay, dtype=np.int64), receptor=receptor)
                   for name, source, receptor, delay in GATE_PROJECTIONS]
    if weights.readout_weight is not None and weights.readout_bias is not None:
        populations.append(_readout_population(weights.readout_bias, dt_s))
        projections.append(Projection(READOUT_PROJECTION, EGRU, READOUT,
                                      weights.readout_weight))
    return Graph(dt_s, {p.name: p for p in populations}, {p.name: p for p in projections},
                 (INPUT,), (READOUT if weights.n_outputs else EGRU,),
                 {"frontend": "egru", **dict(metadata or {})})


def _egru_population(weights: EgruWeights) -> Population:
    params = {name: getattr(weights, name) for name in EGRU_PARAMS}
    return Population(EGRU, "egru", (weights.n_units,), params, reset=RESET_SUBTRACT)


def _readout_population(bias: np.ndarray, dt_s: float) -> Population:
    """Integrators with ``dt*r = 1``: ``v_t = sum over s <= t of (W y_s + b)``, the summed
    logits, so the class is the argmax of ``v`` at the last step."""
    params = {"r": np.full(bias.shape, 1.0 / dt_s), "bias": bias}
    return Population(READOUT, "integrator", bias.shape, params)
