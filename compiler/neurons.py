"""The closed vocabulary of neuron models the graph knows.

Each model names its per-neuron parameters (all float arrays of the
population's size), its state variables, whether it emits spikes, and which
reset modes it accepts. The equations are those of NIR (``lif_cur_exp``: PyNN's
IF_curr_exp), discretised by the
reference simulator with forward Euler at the graph's ``dt_s`` (see
``sim/reference``). Time constants are in seconds; voltages and currents are
in the model's own (dimensionless) units.

Receptors are a model's input ports: every projection feeds one receptor of
its target, and ``I_<receptor>`` is the weighted sum of the spikes arriving
on that receptor's projections in the step. Every current-driven model has
the single receptor :data:`DEFAULT_RECEPTOR` (``"current"``), and its ``I``
in the equations is ``I_current + bias``. ``lif_cur_exp`` has two,
``excitatory`` and ``inhibitory`` (PyNN's ``receptor_type`` names), and adds
``bias`` in the membrane equation. Weights are signed on every receptor:
inhibitory weights are normally negative, as everywhere in the graph.
``input`` has no receptor (it receives nothing).

``egru`` (the Event-based Gated Recurrent Unit of Subramoney et al., ICLR 2023)
is a discrete-time model: one update per step, independent of ``dt_s``. Its
receptors are its gates; per step::

    u = sigmoid(I_update + bias_update)                  # weights the candidate
    r = sigmoid(I_reset + bias_reset)
    z = tanh(I_candidate + bias_candidate
             + r * (I_candidate_recurrent + bias_candidate_recurrent))
    c = u * z + (1 - u) * c                              # the cell
    e = c > c_threshold                                  # the event (strict)
    y = c where e, else 0                                # what the event carries
    c = c - c_threshold where e                          # reset: subtract

Its events are *graded*: an event carries ``y`` instead of 1
(:attr:`NeuronModel.event_value` names it), and every projection leaving the
population delivers ``W @ y``. A recurrent EGRU feeds ``y`` back to each gate
through an ``egru -> egru`` projection with ``delay_steps = 1``.

The support matrix in ``docs/support.md`` is generated from this registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RESET_SUBTRACT = "subtract"  # v <- v - v_threshold on a spike (NIR <= 1.0.5, sinabs, snnTorch)
RESET_TO_VALUE = "to_value"  # v <- v_reset on a spike (NIR >= 1.0.6)
RESET_NONE = "none"  # non-spiking models
RESET_MODES = (RESET_SUBTRACT, RESET_TO_VALUE, RESET_NONE)
SPIKING_RESETS = (RESET_SUBTRACT, RESET_TO_VALUE)
DEFAULT_RECEPTOR = "current"  # the one input of every single-receptor model: I = I_current + bias
EXCITATORY = "excitatory"  # PyNN's receptor_type names, which the SpiNNaker export will write
INHIBITORY = "inhibitory"


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
    receptors: tuple[str, ...] = (DEFAULT_RECEPTOR,)  # input ports a projection may target
    # Graded events: the name of the value an event carries (its projections deliver that
    # value, W @ value); "" for 0/1 spikes, which deliver W @ spikes.
    event_value: str = ""
    reset_modes: tuple[str, ...] | None = None  # None: derived from spiking and state
    nonnegative: tuple[str, ...] = ()  # parameters that must be >= 0

    @property
    def resets(self) -> tuple[str, ...]:
        """The reset modes this model accepts."""
        if self.reset_modes is not None:
            return self.reset_modes
        return SPIKING_RESETS if self.spiking and self.state else (RESET_NONE,)


_LIF_EQ = "v += dt/tau_s * (v_leak - v + r*I); spike if v > v_threshold; then reset"
_CUBA_EQ = (
    "i_syn += dt/tau_syn_s * (-i_syn + w_in*I); "
    "v += dt/tau_mem_s * (v_leak - v + r*i_syn); spike if v > v_threshold; then reset"
)
_CUR_EXP_EQ = (
    "i_exc += dt/tau_syn_exc_s * (-i_exc + I_excitatory); "
    "i_inh += dt/tau_syn_inh_s * (-i_inh + I_inhibitory); "
    "v += dt/tau_mem_s * (v_leak - v + r*(i_exc + i_inh + bias)) with the new currents; "
    "spike if v > v_threshold; then reset, and v stays frozen for ceil(tau_refrac_s/dt) "
    "steps (PyNN IF_curr_exp, forward Euler)"
)

# EGRU: the gates are receptors; the reset gate multiplies only the recurrent candidate input.
EGRU_UPDATE = "update"
EGRU_RESET = "reset"
EGRU_CANDIDATE = "candidate"
EGRU_CANDIDATE_RECURRENT = "candidate_recurrent"
EGRU_RECEPTORS = (EGRU_UPDATE, EGRU_RESET, EGRU_CANDIDATE, EGRU_CANDIDATE_RECURRENT)
_EGRU_EQ = (
    "u = sigmoid(I_update + bias_update); r = sigmoid(I_reset + bias_reset); "
    "z = tanh(I_candidate + bias_candidate + r*(I_candidate_recurrent + "
    "bias_candidate_recurrent)); c = u*z + (1 - u)*c; event if c > c_threshold, carrying "
    "y = c; then c -= c_threshold (EGRU, Subramoney et al. 2023; one update per step)"
)

NEURON_MODELS: dict[str, NeuronModel] = {
    m.name: m
    for m in (
        NeuronModel("input", "spike source: emits the input spikes of the step", (), (), True,
                    receptors=()),
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
            "lif_cur_exp", _CUR_EXP_EQ,
            ("tau_mem_s", "tau_syn_exc_s", "tau_syn_inh_s", "r", "v_leak", "v_threshold",
             "v_reset", "bias", "tau_refrac_s"),
            ("i_exc", "i_inh", "v"), True,
            {"r": 1.0, "v_leak": 0.0, "v_reset": 0.0, "bias": 0.0, "tau_refrac_s": 0.0},
            ("tau_mem_s", "tau_syn_exc_s", "tau_syn_inh_s"), (EXCITATORY, INHIBITORY),
            nonnegative=("tau_refrac_s",),
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
        NeuronModel(
            "egru", _EGRU_EQ,
            ("bias_update", "bias_reset", "bias_candidate", "bias_candidate_recurrent",
             "c_threshold"), ("c",), True,
            {"bias_update": 0.0, "bias_reset": 0.0, "bias_candidate": 0.0,
             "bias_candidate_recurrent": 0.0},
            receptors=EGRU_RECEPTORS, event_value="y", reset_modes=(RESET_SUBTRACT,),
        ),
    )
}

