"""The closed vocabulary of neuron models the graph knows.

Each model names its per-neuron parameters (all float arrays of the
population's size), its state variables, whether it emits spikes, and which
reset modes it accepts. The equations are those of NIR, discretised by the
reference simulator with forward Euler at the graph's ``dt_s`` (see
``sim/reference``). ``I`` is the input current of the step: the weighted sum
of the spikes arriving on all projections plus the population's ``bias``.
Time constants are in seconds; voltages and currents are in the model's own
(dimensionless) units.

The support matrix in ``docs/support.md`` is generated from this registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RESET_SUBTRACT = "subtract"  # v <- v - v_threshold on a spike (NIR <= 1.0.5, sinabs, snnTorch)
RESET_TO_VALUE = "to_value"  # v <- v_reset on a spike (NIR >= 1.0.6)
RESET_NONE = "none"  # non-spiking models
RESET_MODES = (RESET_SUBTRACT, RESET_TO_VALUE, RESET_NONE)
SPIKING_RESETS = (RESET_SUBTRACT, RESET_TO_VALUE)


@dataclass(frozen=True)
class NeuronModel:
    """One neuron model: its parameters, state, and equation (in ``equation``)."""

    name: str
    equation: str
    params: tuple[str, ...]
    state: tuple[str, ...]
    spiking: bool
    defaults: dict[str, float] = field(default_factory=dict)
    positive: tuple[str, ...] = ()  # parameters that must be > 0

    @property
    def resets(self) -> tuple[str, ...]:
        """The reset modes this model accepts."""
        return SPIKING_RESETS if self.spiking and self.state else (RESET_NONE,)


_LIF_EQ = "v += dt/tau_s * (v_leak - v + r*I); spike if v > v_threshold; then reset"
_CUBA_EQ = (
    "i_syn += dt/tau_syn_s * (-i_syn + w_in*I); "
    "v += dt/tau_mem_s * (v_leak - v + r*i_syn); spike if v > v_threshold; then reset"
)

NEURON_MODELS: dict[str, NeuronModel] = {
    m.name: m
    for m in (
        NeuronModel("input", "spike source: emits the input spikes of the step", (), (), True),
        NeuronModel(
            "lif", _LIF_EQ, ("tau_s", "r", "v_leak", "v_threshold", "v_reset", "bias"), ("v",),
            True, {"r": 1.0, "v_leak": 0.0, "v_reset": 0.0, "bias": 0.0}, ("tau_s",),
        ),
        NeuronModel(
            "cubalif", _CUBA_EQ,
            ("tau_syn_s", "tau_mem_s", "r", "v_leak", "v_threshold", "v_reset", "w_in", "bias"),
            ("i_syn", "v"), True,
            {"r": 1.0, "v_leak": 0.0, "v_reset": 0.0, "w_in": 1.0, "bias": 0.0},
            ("tau_syn_s", "tau_mem_s"),
        ),
        NeuronModel(
            "if", "v += dt * r*I; spike if v > v_threshold; then reset",
            ("r", "v_threshold", "v_reset", "bias"), ("v",), True,
            {"r": 1.0, "v_reset": 0.0, "bias": 0.0},
        ),
        NeuronModel(
            "li", "v += dt/tau_s * (v_leak - v + r*I) (no spikes)",
            ("tau_s", "r", "v_leak", "bias"), ("v",), False,
            {"r": 1.0, "v_leak": 0.0, "bias": 0.0}, ("tau_s",),
        ),
        NeuronModel(
            "integrator", "v += dt * r*I (NIR I; no spikes)", ("r", "bias"), ("v",), False,
            {"r": 1.0, "bias": 0.0},
        ),
        NeuronModel(
            "threshold", "spike if I > v_threshold (stateless, NIR Threshold)",
            ("v_threshold", "bias"), (), True, {"bias": 0.0},
        ),
        NeuronModel(
            "output", "v = I (stateless read-out of a current that reaches a NIR Output)",
            ("bias",), (), False, {"bias": 0.0},
        ),
    )
}

