"""Per-model update rules of the float reference engine (the registry table).

Each neuron model of ``compiler.neurons.NEURON_MODELS`` that the engine can
update has one :class:`ModelRule` in :data:`MODEL_RULES`: ``integrate`` maps the
state before the step and the step's input current to the state after
forward Euler, and ``fire`` (``None`` for non-spiking models) says which
neurons spike. The reset of spiking neurons is a second table,
:data:`RESETS`, keyed by the population's reset mode. ``input`` has no rule:
the engine copies its spikes from the input array.

States are dicts of float64 arrays of shape ``(batch, size)``; parameters are
float64 arrays of shape ``(size,)`` that broadcast over the batch. Every
function returns new arrays and never mutates its arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from neurocc.compiler.neurons import RESET_NONE, RESET_SUBTRACT, RESET_TO_VALUE

State = dict[str, np.ndarray]
Params = Mapping[str, np.ndarray]
Integrate = Callable[[State, Params, np.ndarray, float], State]
Fire = Callable[[State, Params, np.ndarray], np.ndarray]
Reset = Callable[[State, np.ndarray, Params], State]


@dataclass(frozen=True)
class ModelRule:
    """How one neuron model steps: Euler update, then (if spiking) the spike condition."""

    integrate: Integrate
    fire: Fire | None  # None: the model never spikes


def _leaky(v: np.ndarray, tau_s: np.ndarray, p: Params, drive: np.ndarray, dt_s: float
           ) -> np.ndarray:
    """One Euler step of ``tau dv/dt = v_leak - v + r*drive`` (shared by LIF, LI, CubaLIF)."""
    return v + dt_s / tau_s * (p["v_leak"] - v + p["r"] * drive)


def _integrate_lif(state: State, p: Params, current: np.ndarray, dt_s: float) -> State:
    return {"v": _leaky(state["v"], p["tau_s"], p, current, dt_s)}


def _integrate_cubalif(state: State, p: Params, current: np.ndarray, dt_s: float) -> State:
    # The membrane sees the synaptic current of this step (updated first), as in NIR's CubaLIF.
    i_syn = state["i_syn"] + dt_s / p["tau_syn_s"] * (-state["i_syn"] + p["w_in"] * current)
    return {"i_syn": i_syn, "v": _leaky(state["v"], p["tau_mem_s"], p, i_syn, dt_s)}


def _integrate_perfect(state: State, p: Params, current: np.ndarray, dt_s: float) -> State:
    """IF and integrator: ``dv/dt = r*I`` with no leak."""
    return {"v": state["v"] + dt_s * p["r"] * current}


def _integrate_stateless(state: State, p: Params, current: np.ndarray, dt_s: float) -> State:
    return {}


def _integrate_readout(state: State, p: Params, current: np.ndarray, dt_s: float) -> State:
    # The output model has no dynamics; its "v" is the current so that it can be read out.
    return {"v": current}


def _fire_on_v(state: State, p: Params, current: np.ndarray) -> np.ndarray:
    return state["v"] > p["v_threshold"]  # strict: v == v_threshold does not spike


def _fire_on_current(state: State, p: Params, current: np.ndarray) -> np.ndarray:
    return current > p["v_threshold"]


MODEL_RULES: dict[str, ModelRule] = {
    "lif": ModelRule(_integrate_lif, _fire_on_v),
    "cubalif": ModelRule(_integrate_cubalif, _fire_on_v),
    "if": ModelRule(_integrate_perfect, _fire_on_v),
    "li": ModelRule(_integrate_lif, None),
    "integrator": ModelRule(_integrate_perfect, None),
    "threshold": ModelRule(_integrate_stateless, _fire_on_current),
    "output": ModelRule(_integrate_readout, None),
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


def initial_state(state_names: tuple[str, ...], batch: int, size: int) -> State:
    """All state variables at zero: ``(batch, size)`` float64 each."""
    return {name: np.zeros((batch, size)) for name in state_names}


def step_population(rule: ModelRule, reset: str, state: State, p: Params,
                    current: np.ndarray, dt_s: float) -> tuple[State, np.ndarray | None]:
    """One step of one population: new state (after reset) and spikes (None if non-spiking)."""
    state = rule.integrate(state, p, current, dt_s)
    if rule.fire is None:
        return state, None
    spiked = rule.fire(state, p, current)
    return RESETS[reset](state, spiked, p), spiked
