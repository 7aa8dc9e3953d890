"""Per-model update rules of the float reference engine (the registry table).

Each neuron model of ``compiler.neurons.NEURON_MODELS`` that the engine can
update has one :class:`ModelRule` in :data:`MODEL_RULES`: ``integrate`` maps the
state before the step and the step's synaptic input to the state after
forward Euler, and ``fire`` (``None`` for non-spiking models) says which
neurons spike. The synaptic input is a dict receptor -> ``(batch, size)``
array, the weighted spikes of the step on that receptor without ``bias``;
single-receptor models form ``I = I_current + bias`` themselves
(:func:`current`), so the bias is added last, after every projection. The
reset of spiking neurons is a second table, :data:`RESETS`, keyed by the
population's reset mode; a model whose spiking variable is not ``v`` brings its
own table (``ModelRule.resets``). ``input`` has no rule:
the engine copies its spikes from the input array.

Graded events (``egru``): the rule's ``emit`` gives the value each event
carries, taken after ``fire`` and before the reset; the engine delivers those
values instead of the 0/1 spikes.

States are dicts of float64 arrays of shape ``(batch, size)``; parameters are
float64 arrays of shape ``(size,)`` that broadcast over the batch. Every
function returns new arrays and never mutates its arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from neurocc.compiler.neurons import (
    DEFAULT_RECEPTOR,
    EGRU_CANDIDATE,
    EGRU_CANDIDATE_RECURRENT,
    EGRU_RESET,
    EGRU_UPDATE,
    EXCITATORY,
    INHIBITORY,
    RESET_NONE,
    RESET_SUBTRACT,
    RESET_TO_VALUE,
)

REFRACTORY = "refractory_steps"  # hidden state of refractory models: steps left frozen
REFRACTORY_DECIMALS = 9

State = dict[str, np.ndarray]
Params = Mapping[str, np.ndarray]
Synaptic = Mapping[str, np.ndarray]  # receptor -> (batch, size) weighted spikes, bias excluded
Integrate = Callable[[State, Params, Synaptic, float], State]
Fire = Callable[[State, Params, Synaptic], np.ndarray]
Reset = Callable[[State, np.ndarray, Params], State]
Emit = Callable[[State, np.ndarray, Params], np.ndarray]


@dataclass(frozen=True)
class ModelRule:
    """How one neuron model steps: Euler update, then (if spiking) the spike condition."""

    integrate: Integrate
    fire: Fire | None  # None: the model never spikes
    emit: Emit | None = None  # graded events: the value each event carries; None: 0/1 spikes
    resets: Mapping[str, Reset] | None = None  # the model's own reset table; None: RESETS
    refractory: bool = False  # keeps REFRACTORY, the steps left with v frozen (not recorded)


def current(p: Params, synaptic: Synaptic) -> np.ndarray:
    """``I`` of a single-receptor model: its synaptic input plus ``bias``, added last."""
    return synaptic[DEFAULT_RECEPTOR] + p["bias"]


def _leaky(v: np.ndarray, tau_s: np.ndarray, p: Params, drive: np.ndarray, dt_s: float
           ) -> np.ndarray:
    """One Euler step of ``tau dv/dt = v_leak - v + r*drive`` (shared by the leaky models)."""
    return v + dt_s / tau_s * (p["v_leak"] - v + p["r"] * drive)


def _synaptic_decay(i_syn: np.ndarray, tau_s: np.ndarray, drive: np.ndarray, dt_s: float
                    ) -> np.ndarray:
    """One Euler step of ``tau di/dt = -i + drive`` (the exponential synapses)."""
    return i_syn + dt_s / tau_s * (-i_syn + drive)


def _integrate_lif(state: State, p: Params, synaptic: Synaptic, dt_s: float) -> State:
    return {"v": _leaky(state["v"], p["tau_s"], p, current(p, synaptic), dt_s)}


def _integrate_cubalif(state: State, p: Params, synaptic: Synaptic, dt_s: float) -> State:
    # The membrane sees the synaptic current of this step (updated first), as in NIR's CubaLIF.
    i_syn = _synaptic_decay(state["i_syn"], p["tau_syn_s"], p["w_in"] * current(p, synaptic),
                            dt_s)
    return {"i_syn": i_syn, "v": _leaky(state["v"], p["tau_mem_s"], p, i_syn, dt_s)}


def _integrate_lif_cur_exp(state: State, p: Params, synaptic: Synaptic, dt_s: float) -> State:
    # Both synaptic currents update first and the membrane sees the new ones (as cubalif);
    # bias is a membrane current (PyNN's i_offset), never filtered by a synapse. A neuron in
    # its refractory period keeps v and counts down (sPyNNaker's LIF); the currents go on.
    i_exc = _synaptic_decay(state["i_exc"], p["tau_syn_exc_s"], synaptic[EXCITATORY], dt_s)
    i_inh = _synaptic_decay(state["i_inh"], p["tau_syn_inh_s"], synaptic[INHIBITORY], dt_s)
    v = _leaky(state["v"], p["tau_mem_s"], p, i_exc + i_inh + p["bias"], dt_s)
    counter = state.get(REFRACTORY, np.zeros_like(v))
    frozen = counter > 0
    return {"i_exc": i_exc, "i_inh": i_inh, "v": np.where(frozen, state["v"], v),
            REFRACTORY: counter - frozen}


def refractory_steps(p: Params, dt_s: float) -> np.ndarray:
    """``ceil(tau_refrac_s / dt)`` steps; the ratio is rounded to 9 decimals first so that
    2e-3 / 1e-3 is 2 steps, not 3 (float division gives 2.0000000000000004)."""
    return np.ceil(np.round(p["tau_refrac_s"] / dt_s, REFRACTORY_DECIMALS))


def _integrate_perfect(state: State, p: Params, synaptic: Synaptic, dt_s: float) -> State:
    """IF and integrator: ``dv/dt = r*I`` with no leak."""
    return {"v": state["v"] + dt_s * p["r"] * current(p, synaptic)}


def _integrate_stateless(state: State, p: Params, synaptic: Synaptic, dt_s: float) -> State:
    return {}


def _integrate_readout(state: State, p: Params, synaptic: Synaptic, dt_s: float) -> State:
    # The output model has no dynamics; its "v" is the current so that it can be read out.
    return {"v": current(p, synaptic)}


def _integrate_egru(state: State, p: Params, synaptic: Synaptic, dt_s: float) -> State:
    """One EGRU step (discrete: ``dt_s`` plays no part); ``c`` is the cell before the event.

    The reset gate multiplies the whole recurrent candidate input, its bias included, after
    the weighted sum (EvNN's form), so that input has its own receptor.
    """
    u = expit(synaptic[EGRU_UPDATE] + p["bias_update"])
    r = expit(synaptic[EGRU_RESET] + p["bias_reset"])
    z = np.tanh(synaptic[EGRU_CANDIDATE] + p["bias_candidate"]
                + r * (synaptic[EGRU_CANDIDATE_RECURRENT] + p["bias_candidate_recurrent"]))
    return {"c": u * z + (1.0 - u) * state["c"]}


def _fire_on_v(state: State, p: Params, synaptic: Synaptic) -> np.ndarray:
    return state["v"] > p["v_threshold"]  # strict: v == v_threshold does not spike


def _fire_on_current(state: State, p: Params, synaptic: Synaptic) -> np.ndarray:
    return current(p, synaptic) > p["v_threshold"]


def _fire_on_c(state: State, p: Params, synaptic: Synaptic) -> np.ndarray:
    return state["c"] > p["c_threshold"]  # strict, as for v


def _emit_cell_value(state: State, spiked: np.ndarray, p: Params) -> np.ndarray:
    """EGRU's ``y = c * e``: the cell's value before the reset where an event fired, else 0."""
    return np.where(spiked, state["c"], 0.0)


def _reset_c_subtract(state: State, spiked: np.ndarray, p: Params) -> State:
    return {**state, "c": np.where(spiked, state["c"] - p["c_threshold"], state["c"])}


# EGRU subtracts its threshold from the cell (EvNN: h = c - e*thr); no other reset is defined.
_EGRU_RESETS: dict[str, Reset] = {RESET_SUBTRACT: _reset_c_subtract}


MODEL_RULES: dict[str, ModelRule] = {
    "lif": ModelRule(_integrate_lif, _fire_on_v),
    "cubalif": ModelRule(_integrate_cubalif, _fire_on_v),
    "lif_cur_exp": ModelRule(_integrate_lif_cur_exp, _fire_on_v, refractory=True),
    "if": ModelRule(_integrate_perfect, _fire_on_v),
    "li": ModelRule(_integrate_lif, None),
    "integrator": ModelRule(_integrate_perfect, None),
    "threshold": ModelRule(_integrate_stateless, _fire_on_current),
    "output": ModelRule(_integrate_readout, None),
    "egru": ModelRule(_integrate_egru, _fire_on_c, _emit_cell_value, _EGRU_RESETS),
}


def _reset_subtract(state: State, spiked: np.ndarray, p: Params) -> State:
    return {**state, "v": np.where(spiked, state["v"] - p["v_threshold"], state["v"])}


def _reset_to_value(state: State, spiked: np.ndarray, p: Params) -> State:
    return {**state, "v": np.where(spiked, p["v_reset"], state["v"])}


def _reset_none(state: State, spiked: np.ndarray, p: Params) -> State:
    return state


RESETS: dict[str, Reset] = {
    RESET_SUBTRACT: _reset_subtract,
    RESET_TO_VALUE: _reset_to_value,
    RESET_NONE: _reset_none,
}


def initial_state(state_names: tuple[str, ...], batch: int, size: int,
                  rule: ModelRule | None = None) -> State:
    """All state variables at zero: ``(batch, size)`` float64 each (with the rule's hidden
    refractory counter)."""
    hidden = (REFRACTORY,) if rule is not None and rule.refractory else ()
    return {name: np.zeros((batch, size)) for name in (*state_names, *hidden)}


def step_population(rule: ModelRule, reset: str, state: State, p: Params,
                    synaptic: Synaptic, dt_s: float
                    ) -> tuple[State, np.ndarray | None, np.ndarray | None]:
    """One step of one population: new state (after reset), spikes (None if non-spiking)
    and what its projections deliver: the spikes, or the values of graded events."""
    state = rule.integrate(state, p, synaptic, dt_s)
    if rule.fire is None:
        return state, None, None
    spiked = rule.fire(state, p, synaptic)
    sent = spiked if rule.emit is None else rule.emit(state, spiked, p)
    resets = RESETS if rule.resets is None else rule.resets
    state = resets[reset](state, spiked, p)
    if rule.refractory:
        state = {**state, REFRACTORY: np.where(spiked, refractory_steps(p, dt_s),
                                               state[REFRACTORY])}
    return state, spiked, sent
